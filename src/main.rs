use clap::Parser;

fn main() -> std::process::ExitCode {
    lienthong::cli::run(lienthong::cli::Cli::parse())
}
