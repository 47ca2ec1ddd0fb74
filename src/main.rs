//! The `gridc` command line: a thin layer over the library (see src/cli/).

fn main() {
    std::process::exit(gridc::cli::main());
}
