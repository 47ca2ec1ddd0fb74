use super::fail;
use crate::check::decode;
use crate::diag::render::render;
use crate::source::{SourceFile, SourceId, Sources};
use std::path::PathBuf;

/// Format each file; with `check`, only report which would change.
pub fn run(files: &[PathBuf], check: bool) -> i32 {
    let mut status = 0;
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "error: cannot read `{}`: {}",
                    path.display(),
                    crate::files::io_reason(&e)
                );
                status = 1;
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
            eprintln!(
                "error: `{}` is not valid UTF-8; not formatted",
                path.display()
            );
            status = 1;
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
            status = 1;
        } else if let Err(e) = crate::files::write_atomic(path, formatted.as_bytes()) {
            status = fail(format!("cannot write `{}`: {e}", path.display()));
        } else {
            println!("{}: formatted", path.display());
        }
    }
    status
}
