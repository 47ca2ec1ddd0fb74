//! The one place diagnostics become text: miette's graphical report for humans,
//! a flat JSON record for machines.

use super::{Diagnostic, Severity};
use crate::source::{line_col, SourceId, Sources, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;
use std::fmt;

/// Render a diagnostic as miette's report. `color` only when writing to a terminal.
pub fn render(diag: &Diagnostic, sources: &Sources, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let report = MietteReport::new(diag, sources);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // Rendering into a String cannot fail in practice; keep a plain fallback anyway.
        out = format!(
            "{}[{}]: {}\n",
            severity_word(diag.severity),
            diag.code,
            diag.message
        );
    }
    out
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Clamp a span into the text and onto character boundaries (miette slices by bytes).
fn clamp(text: &str, span: Span) -> SourceSpan {
    let fix = |mut o: usize| {
        o = o.min(text.len());
        while !text.is_char_boundary(o) {
            o -= 1;
        }
        o
    };
    let start = fix(span.start);
    let end = fix(span.end.max(start));
    SourceSpan::from((start, end - start))
}

struct MietteReport {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteReport>,
}

impl MietteReport {
    fn new(diag: &Diagnostic, sources: &Sources) -> MietteReport {
        let severity = match diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        // Group labels by file: the primary file's labels stay on the report, labels in
        // other files (an import, a CSV) become related notes with their own snippet.
        let mut groups: Vec<(SourceId, Vec<&super::Label>)> = Vec::new();
        for l in &diag.labels {
            match groups.iter_mut().find(|(s, _)| *s == l.source) {
                Some((_, v)) => v.push(l),
                None => groups.push((l.source, vec![l])),
            }
        }
        let mut iter = groups.into_iter();
        let (source, labels) = match iter.next() {
            Some((sid, labels)) => {
                let (src, spans) = snippet(sources, sid, &labels, true);
                (Some(src), spans)
            }
            None => (None, Vec::new()),
        };
        let related = iter
            .map(|(sid, labels)| {
                let (src, spans) = snippet(sources, sid, &labels, false);
                MietteReport {
                    message: format!("see {}", sources.get(sid).name),
                    code: String::new(),
                    severity: miette::Severity::Advice,
                    help: None,
                    source: Some(src),
                    labels: spans,
                    related: Vec::new(),
                }
            })
            .collect();
        MietteReport {
            message: diag.message.clone(),
            code: diag.code.to_string(),
            severity,
            help: diag.help.clone(),
            source,
            labels,
            related,
        }
    }
}

fn snippet(
    sources: &Sources,
    sid: SourceId,
    labels: &[&super::Label],
    first_is_primary: bool,
) -> (NamedSource<String>, Vec<LabeledSpan>) {
    let file = sources.get(sid);
    let spans = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let msg = (!l.message.is_empty()).then(|| l.message.clone());
            let span = clamp(&file.text, l.span);
            if i == 0 && first_is_primary {
                LabeledSpan::new_primary_with_span(msg, span)
            } else {
                LabeledSpan::new_with_span(msg, span)
            }
        })
        .collect();
    (NamedSource::new(&file.name, file.text.clone()), spans)
}

impl fmt::Debug for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl fmt::Display for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for MietteReport {}

impl miette::Diagnostic for MietteReport {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty()).then(|| Box::new(self.labels.iter().cloned()) as Box<_>)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty())
            .then(|| Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)) as Box<_>)
    }
}

/// Machine-readable form (`--format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: String,
    pub severity: Severity,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub span: Option<Span>,
    pub message: String,
    pub help: Option<String>,
    pub labels: Vec<JsonLabel>,
}

#[derive(Debug, Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub span: Span,
    pub message: String,
}

pub fn to_json(diag: &Diagnostic, sources: &Sources) -> JsonDiagnostic {
    let labels: Vec<JsonLabel> = diag
        .labels
        .iter()
        .map(|l| {
            let file = sources.get(l.source);
            let (line, column) = line_col(&file.text, l.span.start);
            JsonLabel {
                file: file.name.clone(),
                line,
                column,
                span: l.span,
                message: l.message.clone(),
            }
        })
        .collect();
    let first = labels.first();
    JsonDiagnostic {
        code: diag.code.to_string(),
        severity: diag.severity,
        file: first.map(|l| l.file.clone()),
        line: first.map(|l| l.line),
        column: first.map(|l| l.column),
        span: first.map(|l| l.span),
        message: diag.message.clone(),
        help: diag.help.clone(),
        labels,
    }
}
