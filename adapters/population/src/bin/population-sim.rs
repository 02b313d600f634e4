//! `population-sim`: the population service simulator as its own process.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Simulator of the national population database's citizen lookup (037)")]
struct Cli {
    #[command(flatten)]
    args: lienthong_population::SimArgs,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    Cli::parse().args.run().await
}
