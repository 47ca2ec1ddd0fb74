//! Text → [`ast::File`]. pest does the recognising (grammar/grid.pest); this module turns
//! pairs into AST nodes (build.rs) and pest's errors into our own diagnostics
//! (parse_errors.rs).

use super::ast::*;
use super::build::{Builder, Trivia};
use super::parse_errors::syntax_error;
use super::split::{self, Chunk};
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::source::{SourceId, Span};
use pest::iterators::Pair;
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/grid.pest"]
pub struct GridParser;

/// pest with error detail on (a process-wide switch, so every entry point sets it): the
/// literals it tried beyond its furthest rule are what parse_errors.rs points at.
fn parse_rule(
    rule: Rule,
    text: &str,
) -> Result<pest::iterators::Pairs<'_, Rule>, pest::error::Error<Rule>> {
    pest::set_error_detail(true);
    GridParser::parse(rule, text)
}

/// Language versions this gridc reads.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1"];

/// Parse a whole file. Returns every item that parsed and a diagnostic for every item
/// that did not.
pub fn parse_file(text: &str, source: SourceId) -> (File, Vec<Diagnostic>) {
    let split = split::split(text);
    let mut file = File {
        comments: split
            .comments
            .iter()
            .map(|s| Comment {
                text: text[s.start..s.end].trim_end().to_string(),
                span: *s,
            })
            .collect(),
        ..File::default()
    };
    let mut diags = Vec::new();
    let trivia = Trivia {
        text,
        comments: split.comments.iter().map(|c| (c.end, c.start)).collect(),
    };
    for (index, chunk) in split.chunks.iter().enumerate() {
        parse_chunk(text, chunk, index, source, &trivia, &mut file, &mut diags);
    }
    if file.header.is_none() && !diags.iter().any(|d| d.code == codes::VERSION) {
        let at = split.chunks.first().map(|c| c.span.start).unwrap_or(0);
        diags.insert(
            0,
            Diagnostic::error(codes::VERSION, "missing version header `gridc 0.1`")
                .label(
                    source,
                    Span::new(at, at),
                    "the file should start with `gridc 0.1`",
                )
                .help("add `gridc 0.1` as the first line"),
        );
    }
    (file, diags)
}

fn parse_chunk(
    text: &str,
    chunk: &Chunk,
    index: usize,
    source: SourceId,
    trivia: &Trivia,
    file: &mut File,
    diags: &mut Vec<Diagnostic>,
) {
    let base = chunk.span.start;
    let chunk_text = &text[chunk.span.start..chunk.span.end];
    if let Some(at) = chunk.too_deep_at {
        diags.push(
            Diagnostic::error(
                codes::TOO_DEEP,
                format!("nesting deeper than {} levels", split::MAX_DEPTH),
            )
            .label(source, Span::new(at, at + 1), "nested too deeply here")
            .help("flatten the expression, or name parts of it as separate profiles"),
        );
        return;
    }
    if chunk.stray {
        let word_end = chunk_text
            .find(|c: char| c.is_whitespace())
            .unwrap_or(chunk_text.len());
        diags.push(
            Diagnostic::error(
                codes::SYNTAX,
                format!("expected an item such as `profile`, `tariff` or `network`, found `{}`", &chunk_text[..word_end]),
            )
            .label(source, Span::new(base, base + word_end), "not the start of an item")
            .help("top-level items start with gridc, import, profile, tariff, template, network, agents, reward or experiment"),
        );
        return;
    }
    if chunk_text.starts_with("gridc") {
        match parse_rule(Rule::header_entry, chunk_text) {
            Ok(mut pairs) => {
                let header = pairs.next().and_then(|p| p.into_inner().next());
                if let Some(h) = header {
                    let version_pair = h.clone().into_inner().nth(1);
                    let version = version_pair
                        .as_ref()
                        .map(|v| v.as_str().to_string())
                        .unwrap_or_default();
                    let span = span_of(&h, base);
                    if index != 0 || file.header.is_some() {
                        diags.push(
                            Diagnostic::error(
                                codes::VERSION,
                                "the version header must be the first line of the file",
                            )
                            .label(source, span, "header here"),
                        );
                    } else if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
                        diags.push(
                            Diagnostic::error(
                                codes::VERSION,
                                format!("unsupported language version `{version}`"),
                            )
                            .label(
                                source,
                                version_pair.map(|v| span_of(&v, base)).unwrap_or(span),
                                "this gridc reads version 0.1",
                            )
                            .help("write `gridc 0.1`"),
                        );
                    }
                    file.header = Some(Header { version, span });
                }
            }
            Err(e) => diags.push(syntax_error(e, chunk_text, base, source, codes::VERSION)),
        }
        return;
    }
    match parse_rule(Rule::item_entry, chunk_text) {
        Ok(mut pairs) => {
            let entry = pairs.next().expect("item_entry has one pair");
            let item = entry.into_inner().next().expect("item_entry contains item");
            let inner = item.into_inner().next().expect("item has one alternative");
            let mut b = Builder {
                base,
                diags: Vec::new(),
                source,
                trivia,
            };
            let item = b.item(inner);
            diags.extend(b.diags);
            file.items.push(item);
        }
        Err(e) => diags.push(syntax_error(e, chunk_text, base, source, codes::SYNTAX)),
    }
}

/// Parse one expression (used by `--set path=value`).
pub fn parse_value(text: &str, source: SourceId) -> Result<Expr, Diagnostic> {
    if text
        .chars()
        .filter(|c| matches!(c, '(' | '[' | '{' | '-'))
        .count()
        > split::MAX_DEPTH
    {
        return Err(
            Diagnostic::error(codes::TOO_DEEP, "value nested too deeply").label(
                source,
                Span::new(0, text.len()),
                "",
            ),
        );
    }
    match parse_rule(Rule::value_entry, text) {
        Ok(mut pairs) => {
            let entry = pairs.next().expect("value_entry has one pair");
            let e = entry.into_inner().next().expect("value_entry has an expr");
            let trivia = &Trivia {
                text,
                comments: Default::default(),
            };
            let mut b = Builder {
                base: 0,
                diags: Vec::new(),
                source,
                trivia,
            };
            let expr = b.expr(e);
            match b.diags.into_iter().next() {
                Some(d) => Err(d),
                None => Ok(expr),
            }
        }
        Err(e) => Err(syntax_error(e, text, 0, source, codes::SYNTAX)),
    }
}

pub(super) fn span_of(p: &Pair<Rule>, base: usize) -> Span {
    let s = p.as_span();
    Span::new(base + s.start(), base + s.end())
}

/// The numeric value of a quantity's number text (`200k` = 200 000). `None` when it does
/// not fit an f64 (the parser has already reported that).
pub fn number_text_value(text: &str) -> Option<f64> {
    let (digits, scale) = match text.strip_suffix('k') {
        Some(d) => (d, 1e3),
        None => match text.strip_suffix('M') {
            Some(d) => (d, 1e6),
            None => (text, 1.0),
        },
    };
    let v = digits.parse::<f64>().ok()? * scale;
    v.is_finite().then_some(v)
}

/// For "did you mean": every unit atom the grammar knows.
pub fn suggest_unit(word: &str) -> Option<&'static str> {
    did_you_mean(
        word,
        [
            "kWh", "MWh", "GWh", "Wh", "kWp", "MWp", "Wp", "kW", "MW", "GW", "W", "$", "ct", "kg",
            "g", "min", "h", "steps", "s", "d", "%",
        ],
    )
}
