//! `gridc run` / `gridc merge` end to end on a tiny experiment (tests/run/tiny.grid):
//! resume after an interruption, shards + merge, refusal to mix scenarios, bad input
//! before any run starts; plan expansion snapshots for the examples; a report snapshot.

mod common;
use common::gridc;

use gridc::experiment::plan::{expand, PlanError, PlanRequest};
use serde_json::Value;
use std::path::{Path, PathBuf};

const TINY: &str = "tests/run/tiny.grid";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gridc-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(out: &Path, extra: &[&str]) -> (i32, String, String) {
    let o = out.to_str().expect("utf-8 path");
    let mut args = vec!["run", TINY, "--out", o, "--batch", "4", "--jobs", "2"];
    args.extend_from_slice(extra);
    gridc(&args)
}

/// Everything a run produced except wall-clock records: summaries without their timing
/// fields, references, curves, runs.csv and report.json.
fn results(dir: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let v = match name.as_str() {
                "summary.json" => {
                    let mut v: Value = serde_json::from_str(&text).expect("summary");
                    let o = v.as_object_mut().expect("object");
                    for k in ["wall_s", "env_steps_per_s", "timing"] {
                        o.remove(k);
                    }
                    v
                }
                "reference.json" | "report.json" | "point.json" => {
                    serde_json::from_str(&text).expect("json")
                }
                "curve.csv" | "runs.csv" | "checkpoint.json" => Value::String(text),
                _ => continue, // manifest (times), timing.json, plots, report.md
            };
            out.push((rel, v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn resumed_and_sharded_runs_equal_the_uninterrupted_run() {
    let a = tmp("a");
    let (code, _, err) = run(&a, &[]);
    assert_eq!(code, 0, "{err}");
    let reference = results(&a);
    assert!(reference.iter().any(|(p, _)| p.ends_with("summary.json")));
    assert!(reference.iter().any(|(p, _)| p == "report.json"));
    for f in [
        "report.md",
        "learning_curves.svg",
        "cost.svg",
        "manifest.json",
        "runs.csv",
    ] {
        assert!(a.join(f).exists(), "{f} missing");
    }
    let md = std::fs::read_to_string(a.join("report.md")).expect("report");
    for needle in [
        "## Headline",
        "## Significance",
        "Holm",
        "reward.mix = 0",
        "gap closed",
    ] {
        assert!(md.contains(needle), "report.md lacks `{needle}`");
    }
    // The whole report from fixed seeds, minus the wall-clock section that differs per run.
    let deterministic = md.split("## Compute").next().unwrap_or_default();
    insta::assert_snapshot!("report_tiny", deterministic);

    // Killed after 10 of 20 updates, then the same command again.
    let b = tmp("b");
    let (code, _, err) = run(&b, &["--interrupt-after-updates", "10"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(
        !b.join("report.md").exists(),
        "an interrupted run wrote a report"
    );
    let (code, _, err) = run(&b, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(results(&b), reference, "resumed run differs");
    // A third invocation has nothing left to do.
    let (code, _, err) = run(&b, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 runs finished, 8 already done"), "{err}");

    // Two shards, merged.
    let (s1, s2, m) = (tmp("s1"), tmp("s2"), tmp("m"));
    assert_eq!(run(&s1, &["--shard", "1/2"]).0, 0);
    assert_eq!(run(&s2, &["--shard", "2/2"]).0, 0);
    assert!(!s1.join("report.md").exists(), "a shard wrote a report");
    let (code, _, err) = gridc(&[
        "merge",
        s1.to_str().unwrap_or_default(),
        s2.to_str().unwrap_or_default(),
        "--out",
        m.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(results(&m), reference, "sharded + merged differs");

    // Another scenario into the same directory is refused, and --force starts over.
    let (code, _, err) = run(&a, &["--set", "lane.limit=9kW"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("different scenario"), "{err}");
    let (code, _, err) = run(&a, &["--set", "lane.limit=9kW", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(results(&a), reference);
    for d in [a, b, s1, s2, m] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn bad_requests_fail_before_any_run() {
    let out = tmp("bad");
    let o = out.to_str().unwrap_or_default().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--set", "nosuch.path=1"], "G0034"),
        (vec!["--seeds", "0"], "seeds"),
        (vec!["--shard", "3/2"], "shard"),
        (
            vec!["--algos", "maddpg"],
            "none of the requested algorithms",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["run", TINY, "--out", &o];
        args.extend(extra.iter());
        let (code, _, err) = gridc(&args);
        assert_eq!(code, 1, "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(!out.exists(), "{extra:?} created the output directory");
    }
    // The output is a file.
    let file = tmp("file");
    std::fs::write(&file, "x").expect("write");
    let (code, _, err) = gridc(&["run", TINY, "--out", file.to_str().unwrap_or_default()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a directory"), "{err}");
    // Not writable: below a file (a permission test would pass as root, as CI runs).
    let below = file.join("sub");
    let (code, _, err) = gridc(&["run", TINY, "--out", below.to_str().unwrap_or_default()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot create"), "{err}");
    let _ = std::fs::remove_file(file);
    // A sweep value that breaks the whole scenario is caught at plan time.
    let dir = tmp("sweep");
    std::fs::create_dir_all(&dir).expect("dir");
    let src = std::fs::read_to_string(TINY)
        .expect("tiny")
        .replace("reward.mix [0, 0.5]", "step [7 h]");
    let grid = dir.join("bad_sweep.grid");
    std::fs::write(&grid, src).expect("write");
    let (code, _, err) = gridc(&["run", grid.to_str().unwrap_or_default(), "--dry-run"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("step=7"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The plan of each example: points, algorithms, seeds, budget and run count.
#[test]
fn plan_snapshots() {
    for file in [
        "examples/quickstart.grid",
        "examples/community16.grid",
        TINY,
    ] {
        let req = PlanRequest {
            file: Path::new(file),
            experiment: None,
            overrides: &[],
            budget: None,
            seeds: None,
            batch: 32,
            no_sweeps: false,
            algorithms: vec![],
        };
        let plan = match expand(&req) {
            Ok((p, _)) => p,
            Err(PlanError::Message(m)) => panic!("{file}: {m}"),
            Err(PlanError::Diagnostics { point, .. }) => panic!("{file}: point {point} fails"),
        };
        let compact = serde_json::json!({
            "experiment": plan.experiment,
            "points": plan.points,
            "algorithms": plan.algorithms,
            "seeds": plan.seeds,
            "budget": plan.budget,
            "runs": plan.runs.len(),
            "first_runs": plan.runs.iter().take(3).map(|r| &r.id).collect::<Vec<_>>(),
        });
        let name = Path::new(file)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        insta::assert_json_snapshot!(format!("plan_{name}"), compact);
    }
}

/// Start `gridc run` and SIGKILL it (no chance to clean up) once `ready` holds for its
/// output directory. Panics if the run ended before it could be killed: then the test
/// would not test anything.
fn run_killed_when(out: &Path, extra: &[&str], ready: impl Fn(&Path) -> bool) {
    let o = out.to_str().expect("utf-8 path");
    let mut args = vec!["run", TINY, "--out", o, "--batch", "4", "--jobs", "2"];
    args.extend_from_slice(extra);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gridc"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn gridc");
    while !ready(out) {
        assert!(
            child.try_wait().expect("poll").is_none(),
            "gridc run finished before it could be killed: raise the budget"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the run was not killed: {status:?}");
}

fn count_files(dir: &Path, name: &str) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|f| f == name) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_run_killed_with_sigkill_and_rerun_equals_the_uninterrupted_run() {
    // Ten times the tiny budget, so that the runs take long enough to be killed mid-way.
    let longer = ["--set", "budget=19200"];
    let a = tmp("kill-a");
    let (code, _, err) = run(&a, &longer);
    assert_eq!(code, 0, "{err}");
    let reference = results(&a);

    let b = tmp("kill-b");
    // Killed while the first runs are between checkpoints …
    run_killed_when(&b, &longer, |d| count_files(d, "checkpoint.json") >= 1);
    assert!(!b.join("report.md").exists(), "a killed run wrote a report");
    // … and again, with some runs finished and others part-way, by the same command.
    run_killed_when(&b, &longer, |d| count_files(d, "summary.json") >= 3);
    assert!(!b.join("report.md").exists(), "a killed run wrote a report");
    let (code, _, err) = run(&b, &longer);
    assert_eq!(code, 0, "{err}");
    assert_eq!(results(&b), reference, "a killed and rerun run differs");
    for f in ["report.md", "runs.csv", "report.json"] {
        assert_eq!(
            std::fs::read(a.join(f)).ok().map(|t| !t.is_empty()),
            Some(true),
            "{f} missing"
        );
    }
    assert_eq!(
        std::fs::read(a.join("runs.csv")).ok(),
        std::fs::read(b.join("runs.csv")).ok(),
        "runs.csv bytes differ"
    );
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d);
    }
}
