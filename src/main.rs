/// glibc malloc spent a tenth of the request path in `_int_malloc`/`malloc_consolidate` (perf);
/// with mimalloc the server's CPU per accepted package is ≈ 11 % lower
/// (`cargo bench --bench edocs_throughput`: 952 → 846–854 µs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> std::process::ExitCode {
    lienthong::cli::run(lienthong::cli::Cli::parse())
}
