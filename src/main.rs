fn main() {
    std::process::exit(amap::cli::main());
}
