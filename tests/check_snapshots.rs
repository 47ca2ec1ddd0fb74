//! Gleam-style snapshots: every tests/check/*.grid file is an invalid scenario; its
//! snapshot is the source followed by the rendered diagnostics.

mod common;
use common::*;
use gridc::diag::codes::CODES;
use std::collections::BTreeSet;

#[test]
fn invalid_files_report_their_diagnostics() {
    insta::glob!("check/*.grid", |path| {
        let c = check(path);
        assert!(
            c.has_errors() || !c.diagnostics.is_empty(),
            "{} should produce a diagnostic",
            path.display()
        );
        let source = std::fs::read_to_string(path).unwrap_or_else(|_| String::from("<not UTF-8>"));
        insta::assert_snapshot!(format!(
            "{source}\n----- diagnostics -----\n{}",
            rendered(&c)
        ));
    });
}

#[test]
fn every_diagnostic_code_has_a_test_file() {
    let mut seen = BTreeSet::new();
    for path in files_in("tests/check") {
        for d in check(&path).diagnostics {
            seen.insert(d.code.to_string());
        }
    }
    // G0034 comes from `--set` (tests/cli.rs) and G0041 from `gridc sim` (tests/sim_cli.rs).
    let elsewhere = ["G0034", "G0041"];
    let missing: Vec<String> = CODES
        .iter()
        .map(|c| c.code.to_string())
        .filter(|c| !seen.contains(c) && !elsewhere.contains(&c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a tests/check case: {missing:?}"
    );
}

#[test]
fn every_span_lies_inside_its_file() {
    for path in files_in("tests/check") {
        let c = check(&path);
        for d in &c.diagnostics {
            for l in &d.labels {
                let len = c.sources.get(l.source).text.len();
                assert!(
                    l.span.start <= l.span.end && l.span.end <= len,
                    "{}: {:?} outside 0..{len}",
                    path.display(),
                    l.span
                );
            }
        }
    }
}
