//! Helpers shared by the integration tests.
#![allow(dead_code)]

use gridc::check::{check_file, Checked, Options};
use gridc::diag::render::render;
use std::path::{Path, PathBuf};

/// A path relative to the crate root, as users would type it (stable in snapshots).
pub fn relative(path: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

pub fn check(path: &Path) -> Checked {
    check_file(&gridc::files::Disk, &relative(path), &Options::default())
}

/// Every diagnostic rendered without colour, in order.
pub fn rendered(c: &Checked) -> String {
    c.diagnostics
        .iter()
        .map(|d| render(d, &c.sources, false))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "grid"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Run the gridc binary: (exit code, stdout, stderr).
pub fn gridc(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridc"))
        .args(args)
        .output()
        .expect("run gridc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One step of the xorshift64 generator the tests draw seeded random actions from.
pub fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
