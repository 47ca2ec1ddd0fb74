//! `gridc fmt` keeps meaning: on every example and valid test file the formatted text is
//! a fixed point and checks to the same Scenario as the original.

mod common;
use gridc::check::{check_source, Options};
use gridc::source::SourceId;
use gridc::syntax::{fmt::format_file, parse_file};

#[test]
fn formatting_is_idempotent_and_keeps_the_scenario() {
    let mut files = common::files_in("examples");
    files.extend(common::files_in("tests/valid"));
    files.push(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib/std.grid"));
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let (ast, diags) = parse_file(&text, SourceId(0));
        assert!(
            diags.iter().all(|d| !d.is_error()),
            "{} does not parse",
            path.display()
        );
        let once = format_file(&text, &ast);
        let (ast2, _) = parse_file(&once, SourceId(0));
        let twice = format_file(&once, &ast2);
        assert_eq!(once, twice, "{}: fmt is not idempotent", path.display());
        if path.ends_with("std.grid") {
            continue;
        }
        let dir = path.parent().map(|p| p.to_path_buf());
        let before = check_source(
            &gridc::files::Disk,
            "x.grid",
            &text,
            dir.clone(),
            &Options::default(),
        );
        let after = check_source(
            &gridc::files::Disk,
            "x.grid",
            &once,
            dir,
            &Options::default(),
        );
        assert!(
            !before.has_errors() && !after.has_errors(),
            "{}",
            path.display()
        );
        let a = serde_json::to_string(&before.scenario).expect("json");
        let b = serde_json::to_string(&after.scenario).expect("json");
        assert_eq!(a, b, "{}: formatting changed the scenario", path.display());
    }
}

#[test]
fn fmt_check_reports_unformatted_files_without_touching_them() {
    let dir = std::env::temp_dir().join(format!("gridc-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("messy.grid");
    let messy = "gridc 0.1\nreward {mix=0.5;individual=-bill(self)}\n";
    std::fs::write(&file, messy).expect("write");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gridc"))
            .args(args)
            .arg(&file)
            .output()
            .expect("run")
    };
    assert_eq!(run(&["fmt", "--check"]).status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), messy);
    assert_eq!(run(&["fmt"]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "gridc 0.1\n\nreward {\n  mix = 0.5\n  individual = -bill(self)\n}\n"
    );
    assert_eq!(run(&["fmt", "--check"]).status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
