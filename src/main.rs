//! The `gridc` command line: a thin layer over the library (see src/cli/).

fn main() {
    restore_sigpipe();
    keep_freed_memory();
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

/// Training allocates and frees buffers of megabytes every minibatch (network inputs,
/// activations, gradients). With glibc's defaults each such free hands the pages back to
/// the kernel (mmap/munmap, heap trimming) and the next allocation faults them in again:
/// 1.3 M page faults and ~12 % of the CPU time of a MAPPO run at N = 256
/// (docs/performance.md). Serving allocations up to 32 MiB from the heap and never
/// trimming it keeps freed pages in the process for the next minibatch.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called in main before any other thread exists; `mallopt` only sets two
    // allocator thresholds (a refused value leaves the default, which is fine).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
