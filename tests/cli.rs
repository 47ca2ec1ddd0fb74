//! CLI snapshots (Nickel/Typst style): `gridc check` and `gridc fmt --check` per file,
//! with exit codes; plus usage errors and `explain`.

mod common;
use common::*;
use std::process::Command;

fn gridc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gridc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run gridc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn transcript(args: &[&str]) -> String {
    let (code, out, err) = gridc(args);
    format!(
        "$ gridc {}\nexit: {code}\n--- stdout\n{out}--- stderr\n{err}",
        args.join(" ")
    )
}

#[test]
fn check_output_per_file() {
    for dir in ["examples", "tests/valid", "tests/check"] {
        for path in files_in(dir) {
            let rel = relative(&path).display().to_string();
            let name = format!("check_{}", rel.replace(['/', '.'], "_"));
            insta::assert_snapshot!(name, transcript(&["check", &rel]));
        }
    }
}

#[test]
fn valid_files_exit_0_and_invalid_files_exit_1() {
    for path in files_in("examples")
        .into_iter()
        .chain(files_in("tests/valid"))
    {
        let rel = relative(&path).display().to_string();
        assert_eq!(gridc(&["check", &rel]).0, 0, "{rel}");
        assert_eq!(
            gridc(&["fmt", "--check", &rel]).0,
            0,
            "{rel} is not formatted"
        );
    }
    for path in files_in("tests/check") {
        let rel = relative(&path).display().to_string();
        let (code, _, _) = gridc(&["check", &rel]);
        let warning_only = rel.contains("unused") || rel.contains("warning");
        assert_eq!(code, if warning_only { 0 } else { 1 }, "{rel}");
    }
}

#[test]
fn json_output_of_the_examples() {
    for path in files_in("examples") {
        let rel = relative(&path).display().to_string();
        let (code, out, _) = gridc(&["check", "--format", "json", &rel]);
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(v["files"][0]["ok"], true);
        insta::assert_snapshot!(format!("json_{}", rel.replace(['/', '.'], "_")), out);
    }
}

#[test]
fn json_diagnostics_carry_positions() {
    let (code, out, _) = gridc(&[
        "check",
        "--format",
        "json",
        "tests/check/g0037_module_only.grid",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let d = &v["files"][0]["diagnostics"][0];
    for key in [
        "code", "severity", "file", "line", "column", "span", "message",
    ] {
        assert!(!d[key].is_null(), "missing `{key}` in {d}");
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(gridc(&[]).0, 2);
    assert_eq!(gridc(&["check"]).0, 2);
    assert_eq!(gridc(&["frobnicate"]).0, 2);
    assert_eq!(gridc(&["check", "--format", "yaml", "x.grid"]).0, 2);
    assert_eq!(
        gridc(&["check", "--set", "novalue", "examples/quickstart.grid"]).0,
        2
    );
    assert_eq!(gridc(&["explain", "G9999"]).0, 2);
}

#[test]
fn hyper_parameters_out_of_range_are_usage_errors() {
    let dir = std::env::temp_dir().join(format!("gridc-hp-{}", std::process::id()));
    let out = dir.display().to_string();
    for (algo, hp, says) in [
        (
            "ippo",
            "lr=-1",
            "hyper-parameter `lr` must be positive, found `-1`",
        ),
        (
            "mappo",
            "gamma=2",
            "hyper-parameter `gamma` must lie in [0, 1], found `2`",
        ),
        (
            "maddpg",
            "tau=0",
            "hyper-parameter `tau` must lie in (0, 1], found `0`",
        ),
        ("maddpg", "batch_size=0", "must be at least 1"),
        ("ippo", "epochs=2.5", "expects a whole number, found `2.5`"),
        ("ippo", "tau=0.1", "unknown hyper-parameter `tau`"),
    ] {
        let q = "examples/quickstart.grid";
        let (code, _, err) = gridc(&["train", q, "--algo", algo, "--hp", hp, "--out", &out]);
        assert_eq!(code, 2, "{algo} --hp {hp}: {err}");
        assert!(err.contains(says), "{algo} --hp {hp}: {err}");
    }
    let (code, _, err) = gridc(&["run", "tests/slurm/tiny.grid", "--hp", "lr=-1", "--dry-run"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must be positive"), "{err}");
    assert!(
        !dir.exists(),
        "a refused run must not create its output directory"
    );
}

#[test]
fn train_prints_a_human_summary_and_json_on_request() {
    let dir = std::env::temp_dir().join(format!("gridc-train-out-{}", std::process::id()));
    let out = dir.display().to_string();
    let args = [
        "train",
        "examples/quickstart.grid",
        "--algo",
        "ippo",
        "--budget",
        "768",
    ];
    let (code, text, err) = gridc(&[&args[..], &["--out", &out]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        text.starts_with("ippo seed 0: 768 environment steps"),
        "{text}"
    );
    assert!(text.contains("gap closed") && !text.contains('{'), "{text}");
    let (code, json, err) = gridc(&[&args[..], &["--out", &out, "--format", "json"]].concat());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON on request");
    assert_eq!(v["env_steps"], 768);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fmt_check_shows_the_change_as_a_diff() {
    let dir = std::env::temp_dir().join(format!("gridc-fmt-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("f.grid");
    let original = "gridc 0.1\nprofile   p = csv(\"x.csv\",column:\"a\",unit:kW)\n";
    std::fs::write(&file, original).expect("write");
    let name = file.display().to_string();
    let (code, out, _) = gridc(&["fmt", "--check", &name]);
    assert_eq!(code, 1);
    let expected = format!(
        "{name}: would reformat\n--- {name}\n+++ {name} (formatted)\n@@ -1,2 +1,3 @@\n gridc 0.1\n-profile   p = csv(\"x.csv\",column:\"a\",unit:kW)\n+\n+profile p = csv(\"x.csv\", column: \"a\", unit: kW)\n"
    );
    assert_eq!(out, expected);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "--check writes nothing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn budgets_are_spelt_as_in_the_file() {
    // `--dry-run` prints the plan: the budget shows how the spelling was read.
    for (spelling, steps) in [
        ("20k", "20000"),
        ("20000", "20000"),
        ("200k steps", "200000"),
        ("1.5M", "1500000"),
        ("2e4", "20000"),
    ] {
        let (code, out, err) = gridc(&[
            "run",
            "tests/slurm/tiny.grid",
            "--budget",
            spelling,
            "--dry-run",
        ]);
        assert_eq!(code, 0, "--budget {spelling}: {err}");
        assert!(out.contains(steps), "--budget {spelling}: {out}");
    }
    for bad in ["0", "1.5", "abc", "20K", "20k kWh"] {
        let (code, _, err) = gridc(&["run", "tests/slurm/tiny.grid", "--budget", bad, "--dry-run"]);
        assert_eq!(code, 2, "--budget {bad}: {err}");
        assert!(err.contains("is not a budget"), "--budget {bad}: {err}");
    }
}

#[test]
fn a_missing_file_is_a_user_error() {
    let (code, _, err) = gridc(&["check", "no/such/file.grid"]);
    assert_eq!(code, 1);
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn overrides_are_checked_like_file_content() {
    let ok = gridc(&[
        "check",
        "examples/community16.grid",
        "--set",
        "reward.mix=0.25",
        "--set",
        "street.limit=30 kW",
        "--set",
        "households=8",
    ]);
    assert_eq!(ok.0, 0, "{}", ok.2);
    assert!(ok.1.contains("8 households"), "{}", ok.1);
    insta::assert_snapshot!(
        "override_wrong_unit",
        transcript(&[
            "check",
            "examples/community16.grid",
            "--set",
            "street.limit=30 kWh"
        ])
    );
    insta::assert_snapshot!(
        "override_unknown_path",
        transcript(&[
            "check",
            "examples/community16.grid",
            "--set",
            "street.limt=30 kW"
        ])
    );
    insta::assert_snapshot!(
        "override_out_of_range",
        transcript(&[
            "check",
            "examples/community16.grid",
            "--set",
            "reward.mix=2"
        ])
    );
    // A reward term's names are checked where they were typed.
    let term = gridc(&[
        "check",
        "examples/community16.grid",
        "--set",
        "reward.social=-marginal(town)",
        "--set",
        "reward.individual=-bill(self) / 2",
    ]);
    assert_eq!(term.0, 0, "{}", term.2);
    insta::assert_snapshot!(
        "override_unknown_reward_function",
        transcript(&[
            "check",
            "examples/community16.grid",
            "--set",
            "reward.social=-margnal(town) + cost(city)"
        ])
    );
}

#[test]
fn explain_prints_the_long_text() {
    let (code, out, _) = gridc(&["explain", "G0009"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("G0009: unit mismatch"), "{out}");
    assert!(out.contains("kW * h = kWh"));
}

#[test]
fn docs_list_every_diagnostic_code() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/diagnostics.md"))
        .expect("docs/diagnostics.md");
    for c in gridc::diag::codes::CODES {
        assert!(
            doc.contains(&format!("## {}\n\n**{}**", c.code, c.title)),
            "docs/diagnostics.md lacks {} ({})",
            c.code,
            c.title
        );
    }
    assert_eq!(
        doc,
        gridc::cli::explain::markdown_reference(),
        "regenerate: gridc explain --markdown > docs/diagnostics.md"
    );
}

#[test]
fn an_override_names_the_array_when_households_is_ambiguous() {
    let (code, _, err) = gridc(&[
        "check",
        "tests/check/g0033_households_with_two_arrays.grid",
        "--set",
        "households=40",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("`--set households=...` is ambiguous: the agents' template `household` has 2"),
        "{err}"
    );
    assert!(err.contains("`h.count`"), "{err}");
    let (code, out, err) = gridc(&[
        "check",
        "tests/check/g0033_households_with_two_arrays.grid",
        "--set",
        "h.count=40",
        "--set",
        "experiment.seeds=2",
    ]);
    // The sweep in the file is still ambiguous; the override itself is accepted.
    assert_eq!(code, 1, "{out}");
    assert!(!err.contains("--set"), "{err}");
}

#[test]
fn an_override_out_of_range_is_shown_in_the_unit_it_was_written_in() {
    let (code, _, err) = gridc(&[
        "check",
        "examples/quickstart.grid",
        "--set",
        "lane.limit=-3kW",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("a feeder limit must be positive, found -3 kW"),
        "{err}"
    );
    let (_, _, err) = gridc(&[
        "check",
        "examples/quickstart.grid",
        "--set",
        "lane.limit=-500 W",
    ]);
    assert!(err.contains("found -0.5 kW"), "{err}");
}
