//! A pure (no file IO) reader for one numeric column of CSV text.
//!
//! Used for profile loading: the checker reads a file itself and hands the
//! text here, and turns a [`CsvError`] into a `file:line` diagnostic. Line
//! numbers and byte offsets always refer to the text as passed in (a UTF-8 BOM
//! counts as three bytes of line 1).
//!
//! The dialect is RFC 4180 with a few lenient rules:
//! * records end at `\n` or `\r\n`; a lone `\r` is ordinary (whitespace) text;
//! * a field may be quoted with `"`, with `""` as an escaped quote, and may then
//!   contain commas and line breaks; whitespace is allowed around the quotes;
//! * a `"` inside an unquoted field is taken literally;
//! * every cell and header name is trimmed of leading/trailing whitespace;
//! * rows may have more fields than the header; they only need to reach the column;
//! * blank (whitespace-only) lines at the end are ignored; a blank line followed
//!   by more data is an [`CsvError::EmptyCell`].
//!
//! The parser is a single forward pass over the bytes (linear time) and never
//! panics; it stops at the first error.

use std::borrow::Cow;
use std::fmt;

/// One numeric column read from CSV text with a header row.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvColumn {
    pub values: Vec<f64>,
    /// 1-based line number in the text of each value (same length as `values`).
    pub lines: Vec<u32>,
    /// Byte offset in the text where the line of each value starts (same length).
    pub line_starts: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CsvError {
    /// No header line at all (empty text).
    Empty,
    /// The header does not have this column; `available` lists the header names.
    MissingColumn {
        column: String,
        available: Vec<String>,
    },
    /// A row has fewer fields than needed to reach the column.
    ShortRow {
        line: u32,
        line_start: u32,
        fields: usize,
    },
    /// The cell is empty.
    EmptyCell { line: u32, line_start: u32 },
    /// The cell is not a finite number (text, NaN, inf). `text` is the cell.
    NotANumber {
        line: u32,
        line_start: u32,
        text: String,
    },
    /// Malformed CSV (e.g. unterminated quote) at this line.
    Malformed {
        line: u32,
        line_start: u32,
        message: String,
    },
}

impl CsvError {
    /// The 1-based line and the byte offset of its start, if the error has one.
    pub fn location(&self) -> Option<(u32, u32)> {
        match self {
            CsvError::Empty | CsvError::MissingColumn { .. } => None,
            CsvError::ShortRow {
                line, line_start, ..
            }
            | CsvError::EmptyCell { line, line_start }
            | CsvError::NotANumber {
                line, line_start, ..
            }
            | CsvError::Malformed {
                line, line_start, ..
            } => Some((*line, *line_start)),
        }
    }
}

/// Longest cell text shown by `Display` (in chars); the full text stays in the error.
const SHOW_MAX_CHARS: usize = 40;

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Empty => write!(f, "the csv text is empty (no header line)"),
            CsvError::MissingColumn { column, available } => {
                write!(f, "no column `{column}` in the header")?;
                if available.iter().all(|a| a.is_empty()) {
                    write!(f, " (the header line is blank)")
                } else {
                    write!(f, " (available: ")?;
                    for (i, a) in available.iter().enumerate() {
                        if i > 0 {
                            write!(f, ", ")?;
                        }
                        write!(f, "`{a}`")?;
                    }
                    write!(f, ")")
                }
            }
            CsvError::ShortRow { line, fields, .. } => {
                let s = if *fields == 1 { "" } else { "s" };
                write!(
                    f,
                    "line {line} has only {fields} field{s}, too few to reach the column"
                )
            }
            CsvError::EmptyCell { line, .. } => write!(f, "empty cell on line {line}"),
            CsvError::NotANumber { line, text, .. } => {
                let mut chars = text.chars();
                let shown: String = chars.by_ref().take(SHOW_MAX_CHARS).collect();
                let more = if chars.next().is_some() { "…" } else { "" };
                write!(
                    f,
                    "`{}{more}` on line {line} is not a finite number",
                    shown.escape_debug()
                )
            }
            CsvError::Malformed { line, message, .. } => {
                write!(f, "malformed csv on line {line}: {message}")
            }
        }
    }
}

impl std::error::Error for CsvError {}

/// Read `column` (matched after trimming whitespace, case-sensitive) from `text`.
/// Blank lines at the end are ignored; a blank line in the middle is an EmptyCell error.
/// Leading/trailing whitespace in cells is trimmed. A UTF-8 BOM is skipped.
///
/// # Errors
///
/// Returns the first problem found, in text order, as a [`CsvError`].
pub fn read_column(text: &str, column: &str) -> Result<CsvColumn, CsvError> {
    read_column_separated(text, column, b',')
}

/// [`read_column`] with another field separator (`;` in many European exports). The
/// separator is one ASCII punctuation byte other than `"`.
pub fn read_column_separated(
    text: &str,
    column: &str,
    separator: u8,
) -> Result<CsvColumn, CsvError> {
    debug_assert!(separator.is_ascii_punctuation() && separator != b'"');
    let start = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    if text[start..].trim().is_empty() {
        return Err(CsvError::Empty);
    }
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: start,
        line: 1,
        line_start: 0,
        separator,
    };

    // Header.
    let header = p.record(Want::All)?;
    let available: Vec<String> = if header.blank {
        Vec::new()
    } else {
        header.all.into_iter().map(|c| c.into_owned()).collect()
    };
    let wanted = column.trim();
    let Some(index) = available.iter().position(|name| name == wanted) else {
        return Err(CsvError::MissingColumn {
            column: column.to_string(),
            available,
        });
    };

    // Data rows.
    let mut out = CsvColumn {
        values: Vec::new(),
        lines: Vec::new(),
        line_starts: Vec::new(),
    };
    // First blank line seen since the last data row: an error only if data follows.
    let mut pending_blank: Option<(u32, u32)> = None;
    while p.pos < p.bytes.len() {
        let rec_line = sat_u32(p.line);
        let rec_start = sat_u32(p.line_start);
        let rec = p.record(Want::One(index));
        let rec = match (rec, pending_blank) {
            (Ok(r), _) if r.blank => {
                pending_blank.get_or_insert((rec_line, rec_start));
                continue;
            }
            (_, Some((line, line_start))) => return Err(CsvError::EmptyCell { line, line_start }),
            (Err(e), None) => return Err(e),
            (Ok(r), None) => r,
        };
        let Some(cell) = rec.cell else {
            return Err(CsvError::ShortRow {
                line: rec_line,
                line_start: rec_start,
                fields: rec.fields,
            });
        };
        if cell.is_empty() {
            return Err(CsvError::EmptyCell {
                line: rec_line,
                line_start: rec_start,
            });
        }
        match cell.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                out.values.push(v);
                out.lines.push(rec_line);
                out.line_starts.push(rec_start);
            }
            _ => {
                return Err(CsvError::NotANumber {
                    line: rec_line,
                    line_start: rec_start,
                    text: cell.into_owned(),
                })
            }
        }
    }
    Ok(out)
}

fn sat_u32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

#[derive(Clone, Copy)]
enum Want {
    /// Keep every field (the header).
    All,
    /// Keep only the field with this 0-based index.
    One(usize),
}

struct Record<'a> {
    /// Number of fields in the record.
    fields: usize,
    /// The wanted field (trimmed), if the record reaches it (`Want::One`).
    cell: Option<Cow<'a, str>>,
    /// All fields, trimmed (`Want::All`).
    all: Vec<Cow<'a, str>>,
    /// The record is a single unquoted whitespace-only field (a blank line).
    blank: bool,
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Current byte offset; always on a char boundary (only ASCII bytes are stepped over singly).
    pos: usize,
    /// 1-based number of the line containing `pos`.
    line: usize,
    /// Byte offset where that line starts.
    line_start: usize,
    /// The field separator byte (`,` unless the profile says otherwise).
    separator: u8,
}

fn is_blank_byte(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

impl<'a> Parser<'a> {
    fn malformed(&self, line: usize, line_start: usize, message: &str) -> CsvError {
        CsvError::Malformed {
            line: sat_u32(line),
            line_start: sat_u32(line_start),
            message: message.to_string(),
        }
    }

    /// Step over the `\n` at `self.pos` and start a new line.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// Parse one record starting at `self.pos` (which must be < len) and leave
    /// `self.pos` at the start of the next record (or at the end).
    fn record(&mut self, want: Want) -> Result<Record<'a>, CsvError> {
        let mut rec = Record {
            fields: 0,
            cell: None,
            all: Vec::new(),
            blank: false,
        };
        let mut any_quoted = false;
        let mut first_field_blank = false;
        loop {
            let index = rec.fields;
            let keep = match want {
                Want::All => true,
                Want::One(i) => i == index,
            };
            // Look past leading spaces/tabs for an opening quote.
            let field_start = self.pos;
            let mut q = self.pos;
            while q < self.bytes.len() && is_blank_byte(self.bytes[q]) {
                q += 1;
            }
            let value: Cow<'a, str>;
            if q < self.bytes.len() && self.bytes[q] == b'"' {
                any_quoted = true;
                let (open_line, open_line_start) = (self.line, self.line_start);
                self.pos = q + 1;
                let mut buf = String::new();
                let mut seg = self.pos;
                loop {
                    // Scan to the next quote, counting line breaks.
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'"' {
                        if self.bytes[self.pos] == b'\n' {
                            self.newline();
                        } else {
                            self.pos += 1;
                        }
                    }
                    if self.pos >= self.bytes.len() {
                        return Err(self.malformed(
                            open_line,
                            open_line_start,
                            "unterminated quoted field",
                        ));
                    }
                    // At a quote: escaped (`""`) or closing.
                    if keep {
                        buf.push_str(&self.text[seg..self.pos]);
                    }
                    if self.bytes.get(self.pos + 1) == Some(&b'"') {
                        if keep {
                            buf.push('"');
                        }
                        self.pos += 2;
                        seg = self.pos;
                    } else {
                        self.pos += 1;
                        break;
                    }
                }
                // After the closing quote: optional whitespace, then `,`, a line end or the end.
                while self.pos < self.bytes.len()
                    && (is_blank_byte(self.bytes[self.pos])
                        || (self.bytes[self.pos] == b'\r'
                            && matches!(self.bytes.get(self.pos + 1), None | Some(b'\n'))))
                {
                    self.pos += 1;
                }
                match self.bytes.get(self.pos) {
                    None | Some(b'\n') => {}
                    Some(&b) if b == self.separator => {}
                    Some(_) => {
                        return Err(self.malformed(
                            self.line,
                            self.line_start,
                            "unexpected text after a closing quote",
                        ))
                    }
                }
                value = if keep {
                    match buf.trim() {
                        t if t.len() == buf.len() => Cow::Owned(buf),
                        t => Cow::Owned(t.to_string()),
                    }
                } else {
                    Cow::Borrowed("")
                };
            } else {
                // Unquoted: up to the next `,` or `\n`.
                while self.pos < self.bytes.len()
                    && self.bytes[self.pos] != self.separator
                    && self.bytes[self.pos] != b'\n'
                {
                    self.pos += 1;
                }
                let raw = &self.text[field_start..self.pos];
                if index == 0 {
                    first_field_blank = raw.trim().is_empty();
                }
                value = Cow::Borrowed(raw.trim());
            }
            rec.fields += 1;
            if keep {
                match want {
                    Want::All => rec.all.push(value),
                    Want::One(_) => rec.cell = Some(value),
                }
            }
            match self.bytes.get(self.pos) {
                Some(&b) if b == self.separator => self.pos += 1,
                Some(b'\n') => {
                    self.newline();
                    break;
                }
                _ => break, // end of text
            }
        }
        rec.blank = rec.fields == 1 && !any_quoted && first_field_blank;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, col: &str) -> CsvColumn {
        match read_column(text, col) {
            Ok(c) => c,
            Err(e) => panic!("unexpected error {e:?} for {text:?}"),
        }
    }

    fn err(text: &str, col: &str) -> CsvError {
        match read_column(text, col) {
            Ok(c) => panic!("expected an error for {text:?}, got {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn reads_a_column_with_lines_and_offsets() {
        let t = "hour,kw\n0,0.5\n1,1.25\n2,-3e2\n";
        let c = ok(t, "kw");
        assert_eq!(c.values, vec![0.5, 1.25, -300.0]);
        assert_eq!(c.lines, vec![2, 3, 4]);
        assert_eq!(c.line_starts, vec![8, 14, 21]);
        assert_eq!(&t[14..20], "1,1.25");
        let h = ok(t, "hour");
        assert_eq!(h.values, vec![0.0, 1.0, 2.0]);
    }

    #[test]
    fn another_separator_reads_the_same_column_and_keeps_commas_in_quotes() {
        let semi = "hour;kw;note\n0;0.5;\"a;b\"\n1;1.25;x\n";
        let c = read_column_separated(semi, "kw", b';').unwrap();
        assert_eq!(c.values, vec![0.5, 1.25]);
        assert_eq!(c.lines, vec![2, 3]);
        // With the default separator the header is one column named `hour;kw;note`.
        match err(semi, "kw") {
            CsvError::MissingColumn { available, .. } => assert_eq!(available, ["hour;kw;note"]),
            e => panic!("{e:?}"),
        }
        let piped = read_column_separated("a|b\n1|\"2\"\n", "b", b'|').unwrap();
        assert_eq!(piped.values, vec![2.0]);
        // A comma is ordinary text when `;` separates: `0,5` is not a number.
        assert!(matches!(
            read_column_separated("a;b\n1;0,5\n", "b", b';'),
            Err(CsvError::NotANumber { text, .. }) if text == "0,5"
        ));
    }

    #[test]
    fn no_trailing_newline_and_header_only() {
        assert_eq!(ok("a,b\n1,2", "b").values, vec![2.0]);
        let c = ok("a,b", "a");
        assert!(c.values.is_empty() && c.lines.is_empty() && c.line_starts.is_empty());
        assert!(ok("a,b\n", "b").values.is_empty());
        assert!(ok("a,b\n\n  \n\t\n", "b").values.is_empty());
    }

    #[test]
    fn crlf() {
        let t = "hour,kw\r\n0,1.5\r\n1,2.5\r\n\r\n";
        let c = ok(t, "kw");
        assert_eq!(c.values, vec![1.5, 2.5]);
        assert_eq!(c.lines, vec![2, 3]);
        assert_eq!(c.line_starts, vec![9, 16]);
        assert_eq!(
            err("a,b\r\n1,\r\n", "b"),
            CsvError::EmptyCell {
                line: 2,
                line_start: 5
            }
        );
        // Quoted header names and values with CRLF.
        let c = ok("\"a\",\"b\"\r\n\"1\",\"2\"\r\n", "b");
        assert_eq!((c.values, c.lines), (vec![2.0], vec![2]));
    }

    #[test]
    fn bom_is_skipped_but_counted_in_offsets() {
        let t = "\u{feff}hour,kw\n0,7\n";
        let c = ok(t, "hour");
        assert_eq!(c.values, vec![0.0]);
        assert_eq!(c.line_starts, vec![3 + 8]);
        assert_eq!(&t[11..], "0,7\n");
        assert_eq!(
            ok("\u{feff}\"hour\",kw\r\n5,7\r\n", "hour").values,
            vec![5.0]
        );
        assert_eq!(err("\u{feff}", "kw"), CsvError::Empty);
    }

    #[test]
    fn quoted_header_names() {
        let t = "\"hour\", \"k,w\" ,\"say \"\"hi\"\"\"\n1,2,3\n";
        assert_eq!(ok(t, "k,w").values, vec![2.0]);
        assert_eq!(ok(t, "say \"hi\"").values, vec![3.0]);
        assert_eq!(ok("\" hour \",x\n4,5\n", "hour").values, vec![4.0]);
        // Column name is matched after trimming, case-sensitively.
        assert_eq!(ok("  hour\t, kw \n1,2\n", "kw").values, vec![2.0]);
        assert!(matches!(
            err("hour,kw\n1,2\n", "KW"),
            CsvError::MissingColumn { .. }
        ));
    }

    #[test]
    fn quoted_multiline_field_advances_lines() {
        let t = "note,kw\n\"two\nlines\",1\n\"x\",2\n";
        let c = ok(t, "kw");
        assert_eq!(c.values, vec![1.0, 2.0]);
        assert_eq!(c.lines, vec![2, 4]);
        assert_eq!(c.line_starts, vec![8, 22]);
        assert_eq!(&t[22..], "\"x\",2\n");
    }

    #[test]
    fn cells_are_trimmed_and_extra_fields_allowed() {
        let c = ok("a,b\n 1 , 2.5\t,x,y\n\"  3 \",\" 4\"\n", "b");
        assert_eq!(c.values, vec![2.5, 4.0]);
        // A quote inside an unquoted field is literal.
        assert_eq!(
            err("a\n1\"2\n", "a"),
            CsvError::NotANumber {
                line: 2,
                line_start: 2,
                text: "1\"2".into()
            }
        );
    }

    #[test]
    fn error_empty() {
        assert_eq!(err("", "kw"), CsvError::Empty);
        assert_eq!(err("\n\n  \r\n", "kw"), CsvError::Empty);
        assert_eq!(
            CsvError::Empty.to_string(),
            "the csv text is empty (no header line)"
        );
    }

    #[test]
    fn error_missing_column() {
        let e = err("hour, ac_kw_per_kwp ,temp\n1,2,3\n", "kw");
        assert_eq!(
            e,
            CsvError::MissingColumn {
                column: "kw".into(),
                available: vec!["hour".into(), "ac_kw_per_kwp".into(), "temp".into()],
            }
        );
        assert_eq!(
            e.to_string(),
            "no column `kw` in the header (available: `hour`, `ac_kw_per_kwp`, `temp`)"
        );
        assert_eq!(e.location(), None);
        // A blank header line followed by data.
        let e = err("\n1,2\n", "kw");
        assert_eq!(
            e,
            CsvError::MissingColumn {
                column: "kw".into(),
                available: vec![]
            }
        );
        assert_eq!(
            e.to_string(),
            "no column `kw` in the header (the header line is blank)"
        );
    }

    #[test]
    fn error_short_row() {
        let t = "a,b,c\n1,2,3\n4,5\n";
        let e = err(t, "c");
        assert_eq!(
            e,
            CsvError::ShortRow {
                line: 3,
                line_start: 12,
                fields: 2
            }
        );
        assert_eq!(
            e.to_string(),
            "line 3 has only 2 fields, too few to reach the column"
        );
        let e = err("a,b\n7\n", "b");
        assert_eq!(
            e,
            CsvError::ShortRow {
                line: 2,
                line_start: 4,
                fields: 1
            }
        );
        assert_eq!(
            e.to_string(),
            "line 2 has only 1 field, too few to reach the column"
        );
        assert_eq!(e.location(), Some((2, 4)));
    }

    #[test]
    fn error_empty_cell() {
        let e = err("a,b\n1,2\n3,\n", "b");
        assert_eq!(
            e,
            CsvError::EmptyCell {
                line: 3,
                line_start: 8
            }
        );
        assert_eq!(e.to_string(), "empty cell on line 3");
        assert_eq!(
            err("a,b\n1,  \t\n", "b"),
            CsvError::EmptyCell {
                line: 2,
                line_start: 4
            }
        );
        assert_eq!(
            err("a,b\n1,\"\"\n", "b"),
            CsvError::EmptyCell {
                line: 2,
                line_start: 4
            }
        );
        assert_eq!(
            err("a,b\n,5\n", "a"),
            CsvError::EmptyCell {
                line: 2,
                line_start: 4
            }
        );
        // A blank line in the middle, whatever the column index.
        assert_eq!(
            err("a,b\n1,2\n\n3,4\n", "b"),
            CsvError::EmptyCell {
                line: 3,
                line_start: 8
            }
        );
        assert_eq!(
            err("a,b\r\n1,2\r\n  \r\n\r\n3,4\r\n", "a"),
            CsvError::EmptyCell {
                line: 3,
                line_start: 10
            }
        );
        // The blank line comes before a later error on the following line.
        assert_eq!(
            err("a\n1\n\n\"x\n", "a"),
            CsvError::EmptyCell {
                line: 3,
                line_start: 4
            }
        );
        assert_eq!(
            err("a\n1\n\nzz\n", "a"),
            CsvError::EmptyCell {
                line: 3,
                line_start: 4
            }
        );
    }

    #[test]
    fn error_not_a_number() {
        for bad in [
            "abc", "NaN", "nan", "inf", "-inf", "infinity", "1e400", "-1e999", "1,5", "0x10",
            "1_0", "--1",
        ] {
            let t = format!("a,b\n1,2\n2,\"{bad}\"\n");
            assert_eq!(
                err(&t, "b"),
                CsvError::NotANumber {
                    line: 3,
                    line_start: 8,
                    text: bad.to_string()
                },
                "{bad}"
            );
        }
        let e = err("kw\n 1e309 \n", "kw");
        assert_eq!(
            e,
            CsvError::NotANumber {
                line: 2,
                line_start: 3,
                text: "1e309".into()
            }
        );
        assert_eq!(e.to_string(), "`1e309` on line 2 is not a finite number");
        // Long cells are shortened in the message only.
        let long = "x".repeat(100);
        let e = err(&format!("kw\n{long}\n"), "kw");
        assert!(matches!(&e, CsvError::NotANumber { text, .. } if text == &long));
        assert_eq!(
            e.to_string(),
            format!("`{}…` on line 2 is not a finite number", "x".repeat(40))
        );
        // Odd but finite numbers are accepted.
        let c = ok("kw\n+1\n.5\n5.\n1E3\n1e-320\n-0\n", "kw");
        assert_eq!(c.values[..4], [1.0, 0.5, 5.0, 1000.0]);
        assert_eq!(c.values.len(), 6);
    }

    #[test]
    fn error_malformed() {
        let e = err("a,b\n1,2\n3,\"4\n5,6\n", "b");
        assert_eq!(
            e,
            CsvError::Malformed {
                line: 3,
                line_start: 8,
                message: "unterminated quoted field".into(),
            }
        );
        assert_eq!(
            e.to_string(),
            "malformed csv on line 3: unterminated quoted field"
        );
        // Unterminated quote in the header.
        assert_eq!(err("\"a,b\n1,2\n", "a").location(), Some((1, 0)));
        // The quote opens on the second line of a multi-line record.
        assert_eq!(err("a,b,c\n\"x\ny\",\"2\n", "a").location(), Some((3, 9)));
        // Text after a closing quote.
        let e = err("a,b\n1,\"2\"x\n", "b");
        assert_eq!(
            e,
            CsvError::Malformed {
                line: 2,
                line_start: 4,
                message: "unexpected text after a closing quote".into(),
            }
        );
        // Whitespace after the closing quote is fine, before `,`, `\r\n` or the end.
        assert_eq!(
            ok("a,b\n\"1\" , \"2\" \r\n\"3\"\t,\"4\"\r", "b").values,
            vec![2.0, 4.0]
        );
        // A malformed record is reported even if the wanted cell came first.
        assert_eq!(err("a,b\n1,\"2\n", "a").location(), Some((2, 4)));
    }

    #[test]
    fn first_error_wins() {
        let t = "a,b\n1,2\nx,3\n4\n5,\n";
        assert_eq!(err(t, "a").location(), Some((3, 8)));
        assert_eq!(err(t, "b").location(), Some((4, 12)));
    }

    #[test]
    fn huge_line_and_offset_values_saturate() {
        assert_eq!(sat_u32(usize::MAX), u32::MAX);
        assert_eq!(sat_u32(7), 7);
    }

    #[test]
    fn large_and_pathological_inputs_are_fast() {
        // 200k rows.
        let mut t = String::from("hour,kw\n");
        for i in 0..200_000 {
            t.push_str(&format!("{i},{}.5\n", i % 10));
        }
        let c = ok(&t, "kw");
        assert_eq!(c.values.len(), 200_000);
        assert_eq!(*c.lines.last().unwrap(), 200_001);
        // One huge quoted field full of escaped quotes, and many empty fields.
        let q = format!("a,b\n\"{}\",1\n", "\"\"".repeat(500_000));
        assert_eq!(ok(&q, "b").values, vec![1.0]);
        let commas = format!("a\n{}\n", ",".repeat(1_000_000));
        assert_eq!(
            err(&commas, "a"),
            CsvError::EmptyCell {
                line: 2,
                line_start: 2
            }
        );
        let unterminated = format!("a\n\"{}", "x\n".repeat(300_000));
        assert_eq!(err(&unterminated, "a").location(), Some((2, 2)));
    }

    #[test]
    fn stdlib_profiles_read_cleanly() {
        let load = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/stdlib/data/load_h25.csv"
        ));
        let c = ok(load, "kw");
        assert_eq!(c.values.len(), 8760);
        assert_eq!(c.lines[0], 2);
        assert_eq!(c.lines[8759], 8761);
        assert!((c.values.iter().sum::<f64>() - 1000.0).abs() < 1e-6);
        let hours = ok(load, "hour");
        assert!(hours.values.iter().enumerate().all(|(i, h)| *h == i as f64));
        let pv = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/stdlib/data/pv_sand_point_ak.csv"
        ));
        let c = ok(pv, "ac_kw_per_kwp");
        assert_eq!(c.values.len(), 8760);
        assert!(c.values.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(c.values[89], 2.3e-5);
    }

    /// Small deterministic xorshift64* generator (no dependencies).
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
    }

    /// Check that a reported (line, line_start) is consistent with the text.
    fn check_location(text: &str, line: u32, line_start: u32) {
        let ls = line_start as usize;
        assert!(ls <= text.len(), "line_start {ls} past end of {text:?}");
        assert!(
            text.is_char_boundary(ls),
            "line_start {ls} not a char boundary in {text:?}"
        );
        assert!(
            ls == 0 || text.as_bytes()[ls - 1] == b'\n',
            "line_start {ls} not at a line start in {text:?}"
        );
        let expected = text[..ls].bytes().filter(|&b| b == b'\n').count() + 1;
        assert_eq!(
            line as usize, expected,
            "line number for offset {ls} in {text:?}"
        );
    }

    #[test]
    fn randomized_inputs_never_panic() {
        const SEEDS: &[&str] = &[
            "hour,kw\n0,0.5\n1,1.5\n",
            "\u{feff}\"hour\",\"kw\"\r\n0,\"1\"\r\n1, 2 \r\n\r\n",
            "a,b,c\n1,2,3\n\"x\ny\",5,6\n7,,9\n",
            "kw\nNaN\ninf\n1e400\n-0\n",
            "\"a\"\"b\",kw\n\"q\"\"\",3\n",
            "",
            "kw",
            "é,kw\nü,1\n",
        ];
        const PIECES: &[&str] = &[
            ",", "\"", "\n", "\r", "\r\n", " ", "\t", "0", "1", ".", "e", "-", "+", "a", "kw",
            "hour", "\u{feff}", "é", "€", "NaN", "inf", "\"\"", "9e999",
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut ok_count = 0;
        for round in 0..4000 {
            let mut s: String = SEEDS[round % SEEDS.len()].to_string();
            let mutations = 1 + rng.below(6);
            for _ in 0..mutations {
                let chars: Vec<char> = s.chars().collect();
                let at = rng.below(chars.len() + 1);
                let byte_at: usize = chars[..at].iter().map(|c| c.len_utf8()).sum();
                match rng.below(4) {
                    0 | 1 => s.insert_str(byte_at, PIECES[rng.below(PIECES.len())]),
                    2 => {
                        if at < chars.len() {
                            s.remove(byte_at);
                        }
                    }
                    _ => {
                        let end = at + rng.below(chars.len() - at + 1);
                        let piece: String = chars[at..end].iter().collect();
                        s.insert_str(byte_at, &piece);
                    }
                }
            }
            for col in ["kw", "hour", "a", "c", ""] {
                match read_column(&s, col) {
                    Ok(c) => {
                        ok_count += 1;
                        assert_eq!(c.values.len(), c.lines.len());
                        assert_eq!(c.values.len(), c.line_starts.len());
                        assert!(c.values.iter().all(|v| v.is_finite()));
                        assert!(c.lines.windows(2).all(|w| w[0] < w[1]));
                        for (&l, &ls) in c.lines.iter().zip(&c.line_starts) {
                            check_location(&s, l, ls);
                        }
                    }
                    Err(e) => {
                        if let Some((l, ls)) = e.location() {
                            check_location(&s, l, ls);
                        }
                        let msg = e.to_string();
                        assert!(!msg.is_empty() && !msg.ends_with('.'));
                        if let CsvError::NotANumber { text, .. } = &e {
                            assert!(!text.is_empty());
                            assert_ne!(text.trim().parse::<f64>().map(f64::is_finite), Ok(true));
                        }
                    }
                }
            }
        }
        // The mutations leave plenty of inputs readable, so both paths are exercised.
        assert!(ok_count > 500, "only {ok_count} successful reads");
    }
}
