use super::fail;
use crate::check::decode;
use crate::diag::render::render;
use crate::source::{SourceFile, SourceId, Sources};
use std::path::PathBuf;

/// Format each file; with `check`, only report which would change and how (a diff).
pub fn run(files: &[PathBuf], check: bool) -> i32 {
    let mut status = 0;
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                status = fail(format!(
                    "cannot read `{}`: {}",
                    path.display(),
                    crate::files::io_reason(&e)
                ));
                continue;
            }
        };
        let (text, bad) = decode(&bytes);
        let mut sources = Sources::new();
        let id = sources.add(SourceFile {
            name: path.display().to_string(),
            text: text.clone(),
            dir: None,
            embedded: false,
        });
        if bad.is_some() {
            status = fail(format!(
                "`{}` is not valid UTF-8; not formatted",
                path.display()
            ));
            continue;
        }
        let (file, diags) = crate::syntax::parse_file(&text, SourceId(id.0));
        if diags.iter().any(|d| d.is_error()) {
            for d in &diags {
                eprint!("{}", render(d, &sources, super::color()));
            }
            eprintln!("{}: not formatted (syntax errors)", path.display());
            status = 1;
            continue;
        }
        let formatted = crate::syntax::fmt::format_file(&text, &file);
        if formatted == text {
            continue;
        }
        if check {
            println!("{}: would reformat", path.display());
            print!(
                "{}",
                unified_diff(&path.display().to_string(), &text, &formatted)
            );
            status = 1;
        } else if let Err(e) = crate::files::write_atomic(path, formatted.as_bytes()) {
            status = fail(format!("cannot write `{}`: {e}", path.display()));
        } else {
            println!("{}: formatted", path.display());
        }
    }
    status
}

/// What `gridc fmt` would change, as a unified diff (3 lines of context) from the file as
/// it is to the file as formatted.
fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}
