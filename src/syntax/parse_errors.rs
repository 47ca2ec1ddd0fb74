//! pest's errors → our diagnostics: name what was expected in words (`a number with a
//! unit`, not `quantity`), point at the real cause (`10 kwh` is an unknown unit, not a
//! missing operator).

use super::parse::Rule;
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
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    if let Some(d) = unknown_unit_before(text, pos, base, source) {
        return d;
    }
    let expected = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut v: Vec<String> = positives.iter().filter_map(|r| describe(*r)).collect();
            v.sort();
            v
        }
        pest::error::ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    let (found, len) = found_token(text, pos);
    // A quote that starts a string never closed on its line (a closed string at the error
    // position is an ordinary syntax error).
    let line_rest = text[pos..].split('\n').next().unwrap_or("");
    if found == "`\"`" && !line_rest[1..].contains('"') {
        let end = text[pos..]
            .find('\n')
            .map(|i| pos + i)
            .unwrap_or(text.len());
        return Diagnostic::error(code, "unterminated string")
            .label(
                source,
                Span::new(base + pos, base + end),
                "this string has no closing `\"`",
            )
            .help("strings end on the same line with `\"`");
    }
    let expected = join_alternatives(expected);
    let span = Span::new(base + pos, base + pos + len);
    let mut d = Diagnostic::error(code, format!("expected {expected}, found {found}")).label(
        source,
        span,
        format!("expected {expected}"),
    );
    if found == "end of file" || found.starts_with("`}`") && expected.contains("expression") {
        d = d.help("the item ends early: is a value or a closing bracket missing?");
    }
    d
}

/// `10 kwh`: a number followed on its line by a word that looks like a misspelt unit.
/// pest reports such errors later on the line; name the real cause.
fn unknown_unit_before(
    text: &str,
    pos: usize,
    base: usize,
    source: SourceId,
) -> Option<Diagnostic> {
    const UNITS: &[&str] = &[
        "kWh", "MWh", "GWh", "Wh", "kWp", "MWp", "Wp", "kW", "MW", "GW", "W", "ct", "kg", "g",
        "min", "h", "steps", "s", "d",
    ];
    let line_start = text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[pos..]
        .find('\n')
        .map(|i| pos + i)
        .unwrap_or(text.len());
    let line = &text[line_start..line_end];
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit()
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'.'))
        {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            let mut k = j;
            while k < bytes.len() && bytes[k] == b' ' {
                k += 1;
            }
            let w_end = bytes[k..]
                .iter()
                .position(|c| !c.is_ascii_alphabetic())
                .map(|p| k + p)
                .unwrap_or(bytes.len());
            let word = &line[k..w_end];
            if !word.is_empty() && !UNITS.contains(&word) && line_start + k <= pos {
                let close = UNITS.iter().find(|u| u.eq_ignore_ascii_case(word)).copied();
                if let Some(unit) = close {
                    let span = Span::new(base + line_start + k, base + line_start + w_end);
                    return Some(
                        Diagnostic::error(
                            codes::UNKNOWN_UNIT,
                            format!("unknown unit `{word}` after `{}`", &line[i..j]),
                        )
                        .label(source, span, "not a unit")
                        .help(format!("units are case-sensitive: did you mean `{unit}`?")),
                    );
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}
