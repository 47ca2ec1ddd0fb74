//! `gridc slurm` without `--submit`: the job-array and merge scripts it writes, and its
//! exit codes. (tests/slurm/run.sh submits them to a real one-node cluster.)

mod common;
use common::gridc;

use std::path::{Path, PathBuf};
use std::process::Command;

const TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/slurm/tiny.grid");

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gridc-slurm-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn writes_a_job_array_and_a_merge_script() {
    let dir = temp_dir("write");
    let out = dir.join("exp");
    let o = out.to_str().expect("utf-8");
    let (code, stdout, stderr) = gridc(&[
        "slurm",
        TINY,
        "--out",
        o,
        "--shards",
        "3",
        "--cpus",
        "2",
        "--partition",
        "debug",
        "--set",
        "reward.mix=0.5",
        "--algos",
        "ippo,mappo",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let run = read(&out.join("slurm/run.sbatch"));
    let merge = read(&out.join("slurm/merge.sbatch"));
    assert!(run.starts_with("#!/bin/bash\n"), "{run}");
    assert!(run.contains("#SBATCH --array=1-3\n"), "{run}");
    assert!(run.contains("#SBATCH --cpus-per-task=2\n"), "{run}");
    assert!(run.contains("#SBATCH --partition=debug\n"), "{run}");
    assert!(run.contains("#SBATCH --time="), "{run}");
    assert!(run.contains("#SBATCH --job-name=gridc-tiny\n"), "{run}");
    let logs = out.join("slurm/logs");
    assert!(logs.is_dir());
    assert!(
        run.contains(&format!("#SBATCH --output={}/%A_%a.out\n", logs.display())),
        "{run}"
    );
    assert!(run.contains("--shard $SLURM_ARRAY_TASK_ID/3"), "{run}");
    assert!(run.contains("--jobs 2"), "{run}");
    assert!(
        run.contains(&format!(
            "--out {}/shards/$SLURM_ARRAY_TASK_ID",
            out.display()
        )),
        "{run}"
    );
    assert!(
        run.contains("--set reward.mix=0.5") && run.contains("--algos ippo,mappo"),
        "{run}"
    );
    // The binary and the scenario by absolute path.
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_gridc")).expect("exe");
    let grid = std::fs::canonicalize(TINY).expect("grid");
    assert!(exe.is_absolute() && grid.is_absolute());
    assert!(
        run.contains(&format!("exec {} run {} ", exe.display(), grid.display())),
        "{run}"
    );
    assert!(
        merge.contains(&format!(
            "exec {} merge {}/shards/* --out {}\n",
            exe.display(),
            out.display(),
            out.display()
        )),
        "{merge}"
    );
    assert!(!merge.contains("--array"), "{merge}");
    assert!(
        stdout.contains("sbatch --parsable") && stdout.contains("--dependency=afterok:"),
        "{stdout}"
    );
    // Same inputs, same bytes.
    let (code, _, _) = gridc(&[
        "slurm",
        TINY,
        "--out",
        o,
        "--shards",
        "3",
        "--cpus",
        "2",
        "--partition",
        "debug",
        "--set",
        "reward.mix=0.5",
        "--algos",
        "ippo,mappo",
    ]);
    assert_eq!(code, 0);
    assert_eq!(read(&out.join("slurm/run.sbatch")), run);
    assert_eq!(read(&out.join("slurm/merge.sbatch")), merge);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn relative_paths_become_absolute_and_shards_default_to_the_runs() {
    let dir = temp_dir("relative");
    let out = Command::new(env!("CARGO_BIN_EXE_gridc"))
        .current_dir(&dir)
        .args(["slurm", TINY, "--out", "rel"])
        .output()
        .expect("run gridc");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = read(&dir.join("rel/slurm/run.sbatch"));
    let abs = std::fs::canonicalize(&dir).expect("dir").join("rel");
    assert!(
        run.contains(&format!("--out {}/shards/", abs.display())),
        "{run}"
    );
    // tiny.grid: 3 points (base, reward.mix=0, reward.mix=1) × 2 algorithms × 2 seeds.
    assert!(run.contains("#SBATCH --array=1-12\n"), "{run}");
    assert!(run.contains("--shard $SLURM_ARRAY_TASK_ID/12"), "{run}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zero_shards_is_a_usage_error() {
    let dir = temp_dir("zero");
    let out = dir.join("exp");
    let (code, _, stderr) = gridc(&[
        "slurm",
        TINY,
        "--out",
        out.to_str().expect("utf-8"),
        "--shards",
        "0",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_scenario_exits_1_and_writes_nothing() {
    let dir = temp_dir("bad");
    let grid = dir.join("bad.grid");
    std::fs::write(
        &grid,
        read(Path::new(TINY)).replace("mix = 0.25", "mix = 2"),
    )
    .expect("write");
    let out = dir.join("exp");
    let (code, _, stderr) = gridc(&[
        "slurm",
        grid.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("G0010"), "{stderr}");
    assert!(!out.join("slurm/run.sbatch").exists() && !out.join("slurm/merge.sbatch").exists());
    // An unknown experiment is a plan error, also exit 1.
    let (code, _, stderr) = gridc(&[
        "slurm",
        TINY,
        "--out",
        out.to_str().expect("utf-8"),
        "--experiment",
        "nope",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
