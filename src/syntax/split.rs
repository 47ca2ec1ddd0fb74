//! A lexical pre-pass over a whole file, linear in its length:
//! - cuts it into top-level items so each is parsed alone (error recovery per item);
//! - bounds nesting depth before the recursive-descent parser sees the text;
//! - collects comments for the formatter.

use crate::source::Span;

/// Deepest `(`/`[`/`{` nesting the parser is given.
pub const MAX_DEPTH: usize = 64;

pub const ITEM_KEYWORDS: &[&str] = &[
    "gridc",
    "import",
    "profile",
    "tariff",
    "template",
    "network",
    "agents",
    "reward",
    "experiment",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub span: Span,
    /// Position of the first bracket nested deeper than [`MAX_DEPTH`].
    pub too_deep_at: Option<usize>,
    /// True when the chunk does not start with an item keyword (stray text at the top).
    pub stray: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub chunks: Vec<Chunk>,
    pub comments: Vec<Span>,
}

pub fn split(text: &str) -> Split {
    let bytes = text.as_bytes();
    let mut out = Split::default();
    let mut depth: usize = 0;
    let mut i = 0;
    let mut line_start = true; // no token yet on this line
    let mut col0 = true; // the next token would be at column 0
    let mut current: Option<Chunk> = None;
    // Consecutive prefix minus signs nest like brackets in the expression parser.
    let mut minus_run: usize = 0;

    let close = |current: &mut Option<Chunk>, out: &mut Split, end: usize| {
        if let Some(mut c) = current.take() {
            c.span.end = end;
            out.chunks.push(c);
        }
    };

    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line_start = true;
                col0 = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                col0 = false;
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = memchr(b'\n', bytes, i).unwrap_or(bytes.len());
                out.comments.push(Span::new(i, end));
                i = end;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = find(bytes, i + 2, b"*/")
                    .map(|e| e + 2)
                    .unwrap_or(bytes.len());
                out.comments.push(Span::new(i, end));
                i = end;
                col0 = false;
                continue;
            }
            _ => {}
        }
        // A token starts here.
        if line_start {
            let word_end = bytes[i..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                .map(|p| i + p)
                .unwrap_or(bytes.len());
            let word = &text[i..word_end];
            let is_kw = ITEM_KEYWORDS.contains(&word);
            // A keyword at column 0 starts an item even inside unbalanced braces, so a
            // missing `}` costs one item, not the rest of the file. `import` is also a
            // tariff statement, so it only counts at depth 0.
            let starts = is_kw && (depth == 0 || (col0 && word != "import"));
            if starts {
                close(&mut current, &mut out, i);
                depth = 0;
                current = Some(Chunk {
                    span: Span::new(i, i),
                    too_deep_at: None,
                    stray: false,
                });
            } else if current.is_none() {
                current = Some(Chunk {
                    span: Span::new(i, i),
                    too_deep_at: None,
                    stray: true,
                });
            }
        }
        line_start = false;
        col0 = false;
        if b == b'-' {
            minus_run += 1;
            if minus_run > MAX_DEPTH {
                if let Some(c) = current.as_mut() {
                    c.too_deep_at.get_or_insert(i);
                }
            }
        } else {
            minus_run = 0;
        }
        match b {
            b'"' => {
                // Strings end at the closing quote or the end of the line.
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' && bytes[j] != b'\n' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                i = if j < bytes.len() && bytes[j] == b'"' {
                    j + 1
                } else {
                    j.min(bytes.len())
                };
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    if let Some(c) = current.as_mut() {
                        c.too_deep_at.get_or_insert(i);
                    }
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    close(&mut current, &mut out, bytes.len());
    out
}

fn memchr(needle: u8, hay: &[u8], from: usize) -> Option<usize> {
    hay[from..]
        .iter()
        .position(|&b| b == needle)
        .map(|p| from + p)
}

fn find(hay: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(src: &'a str, s: &Split) -> Vec<&'a str> {
        s.chunks
            .iter()
            .map(|c| src[c.span.start..c.span.end].trim())
            .collect()
    }

    #[test]
    fn cuts_at_item_keywords_outside_braces() {
        let src = "gridc 0.1\nprofile a = 1 kW\ntariff t {\n  import 1 $/kWh\n}\n";
        let s = split(src);
        assert_eq!(
            texts(src, &s),
            vec![
                "gridc 0.1",
                "profile a = 1 kW",
                "tariff t {\n  import 1 $/kWh\n}"
            ]
        );
    }

    #[test]
    fn a_missing_brace_costs_one_item() {
        let src = "tariff t {\n  import 1 $/kWh\nprofile a = 1 kW\n";
        let s = split(src);
        assert_eq!(s.chunks.len(), 2);
    }

    #[test]
    fn comments_and_strings_hide_keywords() {
        let src = "profile a = csv(\"x\n/* profile b */ // network\nreward {}\n";
        let s = split(src);
        assert_eq!(s.comments.len(), 2);
        assert_eq!(s.chunks.len(), 2);
    }

    #[test]
    fn deep_nesting_is_flagged() {
        let src = format!("profile a = {}1{}", "(".repeat(100), ")".repeat(100));
        let s = split(&src);
        assert_eq!(s.chunks[0].too_deep_at, Some(12 + MAX_DEPTH));
    }
}
