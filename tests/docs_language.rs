//! Every ```grid block of docs/language.md is valid: complete files check without errors,
//! fragments parse as items.

mod common;
use gridc::check::{check_source, Options};
use gridc::source::SourceId;

fn blocks(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match (&mut cur, line.trim_start()) {
            (None, "```grid") => cur = Some(String::new()),
            (Some(b), "```") => {
                out.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn language_reference_examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/language.md")).expect("docs/language.md");
    let blocks = blocks(&doc);
    assert!(blocks.len() >= 8, "expected examples in docs/language.md");
    let mut complete = 0;
    for (i, b) in blocks.iter().enumerate() {
        if b.starts_with("gridc 0.1") {
            complete += 1;
            let c = check_source(
                &format!("block{i}.grid"),
                b,
                Some(root.join("tests/valid")),
                &Options::default(),
            );
            assert!(
                !c.has_errors(),
                "block {i} does not check:\n{b}\n{}",
                common::rendered(&c)
            );
        } else {
            let text = format!("gridc 0.1\n{b}");
            let (_, diags) = gridc::syntax::parse_file(&text, SourceId(0));
            assert!(
                diags.iter().all(|d| !d.is_error()),
                "block {i} does not parse:\n{b}\n{diags:?}"
            );
        }
    }
    assert!(complete >= 1);
}
