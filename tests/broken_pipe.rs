//! A closed stdout pipe (`gridc … | head -1`) ends gridc quietly: exit 0 or death by
//! SIGPIPE (141 in the shell), never a panic (exit 101, "failed printing to stdout").
//! The read end is closed before gridc starts, so every write meets the closed pipe.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

fn assert_quiet_on_closed_stdout(args: &[&str]) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out_dir = tempdir(args);
    let out = Command::new(env!("CARGO_BIN_EXE_gridc"))
        .args(args)
        .args(out_dir.iter().flat_map(|d| ["--out", d.as_str()]))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run gridc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let quiet = out.status.success() || out.status.signal() == Some(libc_sigpipe());
    assert!(
        quiet && !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "gridc {}: {:?}\n{stderr}",
        args.join(" "),
        out.status
    );
}

/// SIGPIPE is 13 on every Unix gridc supports.
fn libc_sigpipe() -> i32 {
    13
}

/// Commands that write result files get a fresh `--out`.
fn tempdir(args: &[&str]) -> Option<String> {
    if !matches!(args[0], "train" | "run") {
        return None;
    }
    let dir = std::env::temp_dir().join(format!(
        "gridc-pipe-{}-{}",
        std::process::id(),
        args.join("_").replace(['/', '.', '='], "_")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    Some(dir.display().to_string())
}

#[test]
fn explain_into_a_closed_pipe() {
    assert_quiet_on_closed_stdout(&["explain"]);
    assert_quiet_on_closed_stdout(&["explain", "G0009"]);
    assert_quiet_on_closed_stdout(&["explain", "--markdown"]);
}

#[test]
fn check_and_fmt_into_a_closed_pipe() {
    assert_quiet_on_closed_stdout(&["check", "examples/quickstart.grid"]);
    assert_quiet_on_closed_stdout(&["check", "--format", "json", "examples/quickstart.grid"]);
    assert_quiet_on_closed_stdout(&["fmt", "--check", "examples/quickstart.grid"]);
    assert_quiet_on_closed_stdout(&["--help"]);
}

#[test]
fn sim_into_a_closed_pipe() {
    assert_quiet_on_closed_stdout(&["sim", "examples/quickstart.grid"]);
    assert_quiet_on_closed_stdout(&["sim", "examples/quickstart.grid", "--format", "json"]);
}

#[test]
fn train_and_run_into_a_closed_pipe() {
    assert_quiet_on_closed_stdout(&[
        "train",
        "examples/quickstart.grid",
        "--algo",
        "ippo",
        "--budget",
        "768",
    ]);
    assert_quiet_on_closed_stdout(&["run", "tests/slurm/tiny.grid", "--dry-run"]);
}
