/// glibc malloc spent a tenth of the request path consolidating free chunks (perf on
/// `cargo bench --bench citizen_lookup`); mimalloc keeps per-thread free lists.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> std::process::ExitCode {
    lienthong::cli::run(lienthong::cli::Cli::parse())
}
