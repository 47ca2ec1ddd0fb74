//! docs/algorithms.md lists every hyper-parameter with its default; these tests hold the
//! tables equal to the `Default` impls and the `BOUNDS` tables (names, values, valid
//! ranges, nothing missing or extra).

use gridc::experiment::session::RunConfig;
use gridc::train::hyper::Interval;
use gridc::train::maddpg::MaddpgConfig;
use gridc::train::ppo::PpoConfig;
use serde_json::Value;

const DOC: &str = include_str!("../docs/algorithms.md");

/// The `| `name` | default | valid | meaning |` rows of the table after the paragraph that starts
/// with `Defaults (`TYPE``.
fn table(type_name: &str) -> Vec<(String, String, String)> {
    let marker = format!("Defaults (`{type_name}`");
    let start = DOC
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/algorithms.md has no `{marker}` paragraph"));
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in DOC[start..].lines() {
        if line.starts_with("| `--hp` name") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        rows.push((
            cells[0].trim_matches('`').to_string(),
            cells[1].to_string(),
            cells[2].to_string(),
        ));
    }
    rows
}

fn assert_table_matches(type_name: &str, defaults: Value, bounds: &[(&str, Interval)]) {
    let Value::Object(fields) = defaults else {
        panic!("{type_name} serialises as a struct")
    };
    let rows = table(type_name);
    let documented: Vec<&str> = rows.iter().map(|(n, _, _)| n.as_str()).collect();
    let actual: Vec<&str> = fields.keys().map(String::as_str).collect();
    let mut sorted_doc = documented.clone();
    sorted_doc.sort();
    let mut sorted_actual = actual.clone();
    sorted_actual.sort();
    assert_eq!(
        sorted_doc, sorted_actual,
        "{type_name}: the documented names differ from the fields"
    );
    for (name, shown, valid) in &rows {
        let value = &fields[name];
        let rule = match (bounds.iter().find(|(n, _)| n == name), value) {
            (Some((_, interval)), _) => interval.text(),
            // A choice: the documented values must include the default (serde checks
            // the others when `--hp` sets them).
            (None, Value::String(v)) => {
                assert!(
                    valid.split(", ").any(|c| c == v),
                    "{type_name}.{name}: default `{v}` is not among the documented {valid}"
                );
                valid
            }
            (None, _) => "true, false",
        };
        assert_eq!(
            valid, rule,
            "{type_name}.{name}: docs say valid {valid}, BOUNDS say {rule}"
        );
        let ok = match value {
            Value::Bool(b) => shown == &b.to_string(),
            Value::String(v) => shown == v,
            Value::Number(n) => {
                let doc: f64 = shown
                    .parse()
                    .unwrap_or_else(|_| panic!("{type_name}.{name}: `{shown}` is not a number"));
                // f32 fields widen to f64 inexactly (0.003f32 = 0.0030000000260770321).
                let code = n.as_f64().expect("numbers are finite");
                (doc - code).abs() <= 1e-6 * code.abs().max(1.0)
            }
            other => panic!("{type_name}.{name}: unexpected {other}"),
        };
        assert!(
            ok,
            "{type_name}.{name}: docs say {shown}, Default says {value}"
        );
    }
}

#[test]
fn ppo_table_is_the_default_config() {
    assert_table_matches(
        "PpoConfig",
        serde_json::to_value(PpoConfig::default()).unwrap(),
        PpoConfig::BOUNDS,
    );
}

#[test]
fn maddpg_table_is_the_default_config() {
    assert_table_matches(
        "MaddpgConfig",
        serde_json::to_value(MaddpgConfig::default()).unwrap(),
        MaddpgConfig::BOUNDS,
    );
}

#[test]
fn documented_batch_is_the_run_default() {
    let text = format!(
        "The batch, {} environments per update",
        RunConfig::DEFAULT_BATCH
    );
    assert!(
        DOC.contains(&text),
        "docs/algorithms.md should say `{text}`"
    );
}
