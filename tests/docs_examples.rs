//! Every ```grid block of docs/language.md is valid: blocks that start with `gridc 0.1`
//! are complete scenarios and must check without errors; every other block must at least
//! parse as top-level items. Intentionally wrong examples are fenced as ```text.

use gridc::check::{check_source, Options};
use gridc::diag::render::render;
use gridc::source::SourceId;
use std::path::Path;

/// A fenced block: the line its opening fence is on (1-based) and its text.
struct Block {
    line: usize,
    text: String,
}

/// The contents of every ```grid fence, in order. Fences may be indented.
fn grid_blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut other_fence = false; // inside a non-grid fence
    for (i, line) in doc.lines().enumerate() {
        let t = line.trim_start();
        match current.as_mut() {
            Some(b) => {
                if t.trim_end() == "```" {
                    out.push(current.take().expect("inside a block"));
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                }
            }
            None if other_fence => {
                if t.trim_end() == "```" {
                    other_fence = false;
                }
            }
            None => {
                if t.trim_end() == "```grid" {
                    current = Some(Block {
                        line: i + 1,
                        text: String::new(),
                    });
                } else if t.starts_with("```") {
                    other_fence = true;
                }
            }
        }
    }
    assert!(
        current.is_none(),
        "docs/language.md: unterminated ```grid block"
    );
    out
}

fn is_complete(text: &str) -> bool {
    text.trim_start().starts_with("gridc 0.1")
}

#[test]
fn every_grid_block_of_the_language_reference_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/language.md")).expect("docs/language.md");
    let blocks = grid_blocks(&doc);
    assert!(
        blocks.len() >= 10,
        "expected an example for every construct, found {} ```grid blocks",
        blocks.len()
    );
    let mut failures = Vec::new();
    let mut complete = 0;
    for b in &blocks {
        if is_complete(&b.text) {
            complete += 1;
            let c = check_source(
                &gridc::files::Disk,
                &format!("docs/language.md:{}", b.line),
                &b.text,
                Some(root.join("docs")),
                &Options::default(),
            );
            if c.has_errors() {
                let rendered: Vec<String> = c
                    .diagnostics
                    .iter()
                    .map(|d| render(d, &c.sources, false))
                    .collect();
                failures.push(format!(
                    "block at docs/language.md:{} does not check:\n{}",
                    b.line,
                    rendered.join("\n")
                ));
            } else {
                assert!(c.scenario.is_some(), "a checked block yields a scenario");
            }
        } else {
            let text = format!("gridc 0.1\n{}", b.text);
            let (_, diags) = gridc::syntax::parse_file(&text, SourceId(0));
            let errors: Vec<String> = diags
                .iter()
                .filter(|d| d.is_error())
                .map(|d| format!("{d:?}"))
                .collect();
            if !errors.is_empty() {
                failures.push(format!(
                    "block at docs/language.md:{} does not parse:\n{}\n{}",
                    b.line,
                    b.text,
                    errors.join("\n")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} blocks fail:\n\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
    assert!(
        complete >= 3,
        "docs/language.md should contain at least 3 complete `gridc 0.1` scenarios, found {complete}"
    );
}

#[test]
fn block_extraction_skips_other_fences() {
    let doc = "text\n```grid\nprofile a = 1 kW\n```\n```text\n```grid\n```\n  ```grid\n  tariff t { import 1 $/kWh }\n  ```\n";
    let b = grid_blocks(doc);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].text, "profile a = 1 kW\n");
    assert_eq!(b[0].line, 2);
    assert_eq!(b[1].text, "  tariff t { import 1 $/kWh }\n");
}
