use super::usage;
use crate::diag::codes::{Code, CODES};

pub fn run(code: Option<&str>, markdown: bool) -> i32 {
    if markdown {
        print!("{}", markdown_reference());
        return 0;
    }
    match code {
        None => {
            for c in CODES {
                println!("{}  {}", c.code, c.title);
            }
            0
        }
        Some(text) => match Code::parse(text) {
            Some(c) => {
                let info = c.info();
                println!(
                    "{}: {}\n\n{}",
                    info.code,
                    info.title,
                    info.explanation.trim_end()
                );
                0
            }
            None => usage(format!(
                "`{text}` is not a gridc diagnostic code (try `gridc explain` for the list)"
            )),
        },
    }
}

/// docs/diagnostics.md, generated from the code table (a test keeps the file in sync).
pub fn markdown_reference() -> String {
    let mut out = String::from(
        "# Diagnostics\n\nEvery diagnostic gridc reports has a code. `gridc explain CODE` prints the same text in the terminal. \
Each code has at least one example under `tests/check/` whose snapshot (in `tests/snapshots/`) shows the rendered message. \
This file is generated: `gridc explain --markdown > docs/diagnostics.md`.\n\n| code | title |\n|---|---|\n",
    );
    for c in CODES {
        out.push_str(&format!(
            "| [{}](#{}) | {} |\n",
            c.code,
            c.code.to_string().to_lowercase(),
            c.title
        ));
    }
    for c in CODES {
        out.push_str(&format!("\n## {}\n\n**{}**\n\n", c.code, c.title));
        let mut in_code = false;
        for line in c.explanation.trim_end().lines() {
            match (line.strip_prefix("    "), in_code) {
                (Some(code), false) => {
                    out.push_str("```grid\n");
                    out.push_str(code);
                    out.push('\n');
                    in_code = true;
                }
                (Some(code), true) => {
                    out.push_str(code);
                    out.push('\n');
                }
                (None, true) => {
                    out.push_str("```\n");
                    out.push_str(line);
                    out.push('\n');
                    in_code = false;
                }
                (None, false) => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        if in_code {
            out.push_str("```\n");
        }
    }
    out
}
