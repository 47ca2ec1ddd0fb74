//! The resolved Scenario of every example and valid test file, as JSON snapshots: units
//! converted to SI, templates expanded, sampled values with their seed.

mod common;
use common::*;

#[test]
fn valid_files_resolve_to_their_scenario() {
    for dir in ["examples", "tests/valid"] {
        for path in files_in(dir) {
            let c = check(&path);
            assert!(
                !c.has_errors(),
                "{} should check:\n{}",
                path.display(),
                rendered(&c)
            );
            let scenario = c.scenario.expect("no errors means a scenario");
            let name = relative(&path)
                .display()
                .to_string()
                .replace(['/', '.'], "_");
            insta::assert_json_snapshot!(name, scenario);
        }
    }
}
