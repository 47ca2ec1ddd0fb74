//! pest's errors → our diagnostics: name what was expected in words (`a number with a
//! unit`, not `quantity`), point at the real cause (`10 kwh` is an unknown unit, not a
//! missing operator).

use super::parse::Rule;
use super::UNIT_NAMES;
use crate::diag::{codes, Diagnostic};
use crate::source::{SourceId, Span};

fn describe(rule: Rule) -> Option<String> {
    use Rule::*;
    let s = match rule {
        EOI => "end of the item",
        ident | name | dotted => "a name",
        string | string_inner => "a string in double quotes",
        int => "a whole number",
        number | signed | quantity => "a number",
        date | date_range => "a date such as `2023-01-01`",
        clock => "a clock time such as `16:00`",
        unit | unit_term | unit_atom | unit_option => "a unit such as `kWh`",
        unit_pow => "a power such as `2`",
        unit_op => "`/`",
        version => "a version such as `0.1`",
        expr | call | paren | range | arg | neg => "an expression",
        add | sub | mul | div => "an operator",
        item => "an item such as `profile`, `tariff` or `network`",
        profile_item | csv_source | list_source => "a profile",
        list_values => "a list of numbers `[...]`",
        option => "an option such as `column: \"kw\"`",
        property => "a property such as `capacity 10 kWh`",
        param | param_type | plain_type => "a parameter such as `annual: kWh = 4500 kWh`",
        schedule | slot => "a schedule slot such as `00:00..16:00 => 0.15 $/kWh`",
        feature => "an observation such as `self.store.soc`",
        control => "a control such as `store.power in -1..1`",
        comm_value => "`none`, `broadcast(k)` or `neighbours(k)`",
        binding => "a binding such as `mix = 0.5`",
        sweep_axis => "a sweep axis such as `reward.mix [0, 0.5, 1]`",
        setting | list_setting | days => "an experiment setting",
        import_price | export_price | demand_charge | carbon => "a tariff statement",
        bus | feeder | peak_charge | net_tariff | instance => "a network statement",
        controls | observe | communicate | others => "an agents statement",
        load_asset | solar_asset | battery_asset => "an asset (`load`, `solar` or `battery`)",
        _ => {
            let rule_name = format!("{rule:?}");
            return rule_name.strip_prefix("kw_").map(|k| format!("`{k}`"));
        }
    };
    Some(s.to_string())
}

/// A literal pest tried (as pest displays it), if it is punctuation that separates or
/// closes something — what a user leaves out. Openers, unit names and keywords are
/// already named by the rules pest tried ("an expression", "a unit such as `kWh`").
fn describe_token(token: String) -> Option<String> {
    const CLOSERS: &[&str] = &[",", ";", "}", ")", "]", "=", "=>", "..", ":", "\"", "*/"];
    CLOSERS
        .contains(&token.as_str())
        .then(|| format!("`{token}`"))
}

fn join_alternatives(mut items: Vec<String>) -> String {
    items.dedup();
    match items.len() {
        0 => "something else".to_string(),
        1 => items.remove(0),
        _ => {
            let last = items.pop().unwrap_or_default();
            format!("{} or {}", items.join(", "), last)
        }
    }
}

fn found_token(text: &str, pos: usize) -> (String, usize) {
    let rest = &text[pos..];
    match rest.chars().next() {
        None => ("end of file".to_string(), 0),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(rest.len());
            (format!("`{}`", &rest[..len]), len)
        }
        Some('\n') | Some('\r') => ("end of line".to_string(), 1),
        Some(c) => (format!("`{c}`"), c.len_utf8()),
    }
}

pub(super) fn syntax_error(
    e: pest::error::Error<Rule>,
    text: &str,
    base: usize,
    source: SourceId,
    code: crate::diag::Code,
) -> Diagnostic {
    let rule_pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    // pest places the error at the furthest *rule* attempt; a literal (`,`, `;`, `}`) tried
    // further on is only in the parse attempts. The further position is the real cause:
    // `observe { a b }` fails at `b`, not at `observe`.
    let (token_pos, tokens) = match e.parse_attempts() {
        Some(a) => {
            let mut tokens: Vec<String> = a
                .expected_tokens()
                .iter()
                .filter_map(|t| describe_token(t.to_string()))
                .collect();
            tokens.dedup();
            (a.max_position.min(text.len()), tokens)
        }
        None => (rule_pos, Vec::new()),
    };
    if let Some(d) = unterminated(text, rule_pos, token_pos, &tokens, base, source, code) {
        return d;
    }
    let pos = if token_pos > rule_pos && !tokens.is_empty() {
        token_pos
    } else {
        rule_pos
    };
    if let Some(d) = unknown_unit_before(text, pos, base, source) {
        return d;
    }
    let mut expected = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } if pos == rule_pos => {
            positives.iter().filter_map(|r| describe(*r)).collect()
        }
        pest::error::ErrorVariant::ParsingError { .. } => Vec::new(),
        pest::error::ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    if pos == token_pos {
        expected.extend(tokens.iter().cloned());
    }
    expected.sort();
    let (found, len) = found_token(text, pos);
    let expected = join_alternatives(expected);
    let span = Span::new(base + pos, base + pos + len);
    let mut d = Diagnostic::error(code, format!("expected {expected}, found {found}")).label(
        source,
        span,
        format!("expected {expected}"),
    );
    let found_number = text[pos..].starts_with(|c: char| c.is_ascii_digit());
    let found_word = text[pos..].starts_with(|c: char| c.is_alphanumeric());
    // `capacity kWh 10`: a unit that follows a name (not a number or a `/`) before a number.
    let before = text[..pos].trim_end();
    let unit_before = before
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '$' || c == '%'))
        .next()
        .filter(|w| UNIT_NAMES.contains(w))
        .filter(|w| {
            let ahead = before[..before.len() - w.len()].trim_end();
            ahead.ends_with(|c: char| c.is_alphabetic())
        });
    if found == "end of file" || found.starts_with("`}`") && expected.contains("expression") {
        d = d.help("the item ends early: is a value or a closing bracket missing?");
    } else if let (Some(unit), true) = (unit_before, found_number) {
        let number: String = text[pos..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        d = d.help(format!(
            "a number comes before its unit: write `{number} {unit}`"
        ));
    } else if let Some(sep) = [",", ";"]
        .into_iter()
        .find(|s| expected.contains(&format!("`{s}`")))
    {
        if found_word {
            d = d.help(format!("is a `{sep}` missing before {found}?"));
        }
    }
    d
}

/// A string or a block comment that never closes: name the opening, not the place where
/// pest ran out of input. `rule_pos` is where pest's rules failed (at an opening `"`),
/// `token_pos` where its literals did (`"` or `*/` expected at the end of a line or file).
fn unterminated(
    text: &str,
    rule_pos: usize,
    token_pos: usize,
    tokens: &[String],
    base: usize,
    source: SourceId,
    code: crate::diag::Code,
) -> Option<Diagnostic> {
    let line_end = |at: usize| text[at..].find('\n').map(|i| at + i).unwrap_or(text.len());
    if tokens.iter().any(|t| t == "`*/`") {
        let open = text[..token_pos].rfind("/*")?;
        return Some(
            Diagnostic::error(code, "unterminated block comment")
                .label(
                    source,
                    Span::new(base + open, base + open + 2),
                    "this comment has no closing `*/`",
                )
                .help("close the comment with `*/`, or use `//` for a line comment"),
        );
    }
    // A quote at the rule position whose line has no closing quote, or a closing quote
    // expected at the end of a line.
    let rule_line_rest = &text[rule_pos..line_end(rule_pos)];
    let open = if rule_line_rest.starts_with('"') && !rule_line_rest[1..].contains('"') {
        rule_pos
    } else if tokens.iter().any(|t| t == "`\"`") && text[token_pos..].starts_with(['\n', '\r']) {
        let line_start = text[..token_pos].rfind('\n').map_or(0, |i| i + 1);
        line_start + text[line_start..token_pos].rfind('"')?
    } else {
        return None;
    };
    Some(
        Diagnostic::error(code, "unterminated string")
            .label(
                source,
                Span::new(base + open, base + line_end(open)),
                "this string has no closing `\"`",
            )
            .help("strings end on the same line with `\"`"),
    )
}

/// `10 kwh`, `24 hours`, `0.05 €/kWh`: a number followed by a word or symbol that is meant
/// as a unit but is not one. pest reports such errors later on the line (or at a word it
/// took for a name); name the real cause. Scans the item up to the end of the error's line.
fn unknown_unit_before(
    text: &str,
    pos: usize,
    base: usize,
    source: SourceId,
) -> Option<Diagnostic> {
    let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    let scan = &text[..end];
    let mut chars = scan.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        let starts_number = c.is_ascii_digit()
            && !prev.is_some_and(|p| p.is_alphanumeric() || matches!(p, '_' | '.' | ':' | '-'));
        prev = Some(c);
        if !starts_number {
            continue;
        }
        let mut j = i + 1;
        while let Some(&(k, d)) = chars.peek() {
            if !(d.is_ascii_digit() || d == '.') {
                break;
            }
            j = k + d.len_utf8();
            prev = Some(d);
            chars.next();
        }
        let number = &scan[i..j];
        // Dates (`2023-01-01`) and clocks (`16:00`) are not amounts.
        if scan[j..].starts_with([':', '-']) {
            continue;
        }
        let k = j + scan[j..].len() - scan[j..].trim_start_matches([' ', '\t']).len();
        let rest = &scan[k..];
        let word_len = match rest.chars().next() {
            Some(w) if w.is_ascii_alphabetic() => rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len()),
            Some(w) if !w.is_ascii() && !w.is_alphanumeric() || matches!(w, '€' | '£' | '¥') => {
                w.len_utf8()
            }
            _ => continue,
        };
        let word = &rest[..word_len];
        if k > pos || UNIT_NAMES.contains(&word) {
            continue;
        }
        let mut what = "unit";
        let help = if let Some(unit) = UNIT_NAMES.iter().find(|u| u.eq_ignore_ascii_case(word)) {
            format!("units are case-sensitive: did you mean `{unit}`?")
        } else if let Some((_, unit)) = UNIT_ALIASES
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(word))
        {
            if *unit == "$" {
                what = "currency";
                format!(
                    "money is written in `$` (or `ct`) whatever the currency, as in \
                     `{number} $/kWh`; the units are {}",
                    unit_list()
                )
            } else {
                format!("write `{number} {unit}`")
            }
        } else if k == pos && !word.is_ascii() {
            format!("the units are {}", unit_list())
        } else {
            continue;
        };
        let span = Span::new(base + k, base + k + word_len);
        return Some(
            Diagnostic::error(
                codes::UNKNOWN_UNIT,
                format!("unknown {what} `{word}` after `{number}`"),
            )
            .label(source, span, format!("not a {what} gridc knows"))
            .help(help),
        );
    }
    None
}

fn unit_list() -> String {
    UNIT_NAMES.map(|u| format!("`{u}`")).join(", ")
}

/// Words people write for a unit gridc spells differently, with gridc's spelling.
const UNIT_ALIASES: &[(&str, &str)] = &[
    ("hour", "h"),
    ("hours", "h"),
    ("hr", "h"),
    ("hrs", "h"),
    ("minute", "min"),
    ("minutes", "min"),
    ("mins", "min"),
    ("sec", "s"),
    ("secs", "s"),
    ("second", "s"),
    ("seconds", "s"),
    ("day", "d"),
    ("days", "d"),
    ("kWhs", "kWh"),
    ("kVA", "kW"),
    ("EUR", "$"),
    ("euro", "$"),
    ("euros", "$"),
    ("€", "$"),
    ("USD", "$"),
    ("GBP", "$"),
    ("£", "$"),
    ("¥", "$"),
    ("cent", "ct"),
    ("cents", "ct"),
];
