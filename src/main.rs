/// The parser and checker allocate many small nodes; glibc's malloc spent a quarter of a
/// large project's check consolidating its free lists. The benchmarks use the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(amap::cli::main());
}
