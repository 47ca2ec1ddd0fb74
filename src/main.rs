//! The `gridc` command line: a thin layer over the library (see src/cli/).

fn main() {
    restore_sigpipe();
    std::process::exit(gridc::cli::main());
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`gridc sim F | head -1`) returns
/// an error and `println!` panics. Command-line tools end quietly instead: with the
/// default action the kernel ends the process (exit status 141 in the shell), as for
/// `cat` or `grep`. Output files are unaffected: they are written via temp file + rename.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; `signal` with
    // SIG_DFL installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
