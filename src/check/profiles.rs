//! Profiles: CSV columns and inline lists with unit, resolution, interpolation and wrap;
//! profile expressions (`std.load.h25 * 2`) resolve to signals over loaded profiles.

use super::eval::{profile_signal, Scope, Typed, Val};
use super::units::{self, Dim};
use super::{Ctx, DefKind};
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::model::csv_table::{read_column_separated, CsvError};
use crate::model::{Interpolation, Profile};
use crate::source::{SourceFile, SourceId, Span};
use crate::syntax::ast::{self, Expr, Item, OptionValue, ProfileOption, ProfileSource};

const OPTIONS: &[&str] = &[
    "column",
    "unit",
    "resolution",
    "interpolation",
    "wrap",
    "separator",
];

/// Field separators a CSV profile may declare with `separator: ";"`.
const SEPARATORS: &[char] = &[',', ';', '|'];

impl Ctx<'_> {
    /// Resolve every profile of a module (so errors in unused profiles show too).
    pub fn check_all_profiles(&mut self, m: usize) {
        let mut names: Vec<(String, super::Def)> = self.modules[m]
            .defs
            .iter()
            .filter(|(_, d)| d.kind == DefKind::Profile)
            .map(|(n, d)| (n.clone(), *d))
            .collect();
        names.sort_by_key(|(_, d)| d.item);
        for (name, def) in names {
            self.resolve_profile(m, &name, def);
        }
    }

    /// A path in an expression that is not a parameter: must name a profile.
    pub fn resolve_profile_path(&mut self, module: usize, p: &ast::Path) -> Option<Typed> {
        match self.lookup(module, p) {
            None => {
                self.undefined(module, p, "name");
                None
            }
            Some((m, d)) if d.kind != DefKind::Profile => {
                self.wrong_kind(
                    module,
                    p.span,
                    &p.dotted(),
                    d.kind,
                    (m, d),
                    "a profile or parameter",
                );
                None
            }
            Some((m, d)) => {
                let name = self.modules[m]
                    .defs
                    .iter()
                    .find(|(_, x)| x.item == d.item)
                    .map(|(n, _)| n.clone())?;
                self.resolve_profile(m, &name, d)
            }
        }
    }

    fn resolve_profile(&mut self, m: usize, name: &str, def: super::Def) -> Option<Typed> {
        let key = (m, name.to_string());
        if let Some(v) = self.profile_values.get(&key) {
            return v.clone();
        }
        let src = self.modules[m].source;
        if self.profile_in_progress.contains(&key) {
            self.diags.push(
                Diagnostic::error(
                    codes::UNSUPPORTED,
                    format!("profile `{name}` is defined in terms of itself"),
                )
                .label(src, def.name_span, "this profile refers back to itself")
                .help("a profile must end in data: a `csv(...)` or `list(...)`"),
            );
            self.profile_values.insert(key, None);
            return None;
        }
        self.profile_in_progress.push(key.clone());
        let Item::Profile(p) = self.modules[m].file.items[def.item].clone() else {
            unreachable!("profile defs point at profile items")
        };
        let value = match &p.source {
            ProfileSource::Expr(e) => self.eval(
                Scope {
                    module: m,
                    params: &[],
                },
                e,
            ),
            ProfileSource::Csv {
                path,
                options,
                span,
            } => self.load_csv(m, name, path, options, *span),
            ProfileSource::List {
                values,
                options,
                span,
                ..
            } => self.load_list(m, name, values, options, *span),
        };
        self.profile_in_progress.retain(|k| *k != key);
        self.profile_values.insert(key, value.clone());
        value
    }

    fn options(
        &mut self,
        m: usize,
        options: &[ProfileOption],
        span: Span,
    ) -> Option<ProfileOptions> {
        let src = self.modules[m].source;
        let mut out = ProfileOptions {
            column: None,
            unit: None,
            resolution_s: 3600.0,
            interpolation: Interpolation::Step,
            wrap: false,
            separator: b',',
        };
        let mut seen: Vec<(&str, Span)> = Vec::new();
        let mut ok = true;
        for o in options {
            let n = o.name.name.as_str();
            if let Some((_, prev)) = seen.iter().find(|(s, _)| *s == n) {
                self.diags.push(
                    Diagnostic::error(codes::DUPLICATE, format!("option `{n}` is given twice"))
                        .label(src, o.name.span, "second time")
                        .label(src, *prev, "first time"),
                );
                ok = false;
                continue;
            }
            seen.push((n, o.name.span));
            match (n, &o.value) {
                ("unit", OptionValue::Unit(u)) => {
                    out.unit = Some(units::unit_expr(u)).map(|(d, s)| (d, s, u.text()))
                }
                ("column", OptionValue::String(s)) => out.column = Some(s.value.clone()),
                ("separator", OptionValue::String(s))
                    if s.value.len() == 1 && s.value.starts_with(SEPARATORS) =>
                {
                    out.separator = s.value.as_bytes()[0]
                }
                ("resolution", OptionValue::Expr(e)) => match self.eval_const(
                    Scope {
                        module: m,
                        params: &[],
                    },
                    e,
                    Dim::TIME,
                    "the resolution",
                ) {
                    Some(r) if r > 0.0 && 86400.0 % r == 0.0 => out.resolution_s = r,
                    Some(_) => {
                        self.diags.push(
                            Diagnostic::error(
                                codes::PROFILE_LENGTH,
                                "the resolution must divide a day",
                            )
                            .label(src, e.span(), "not a divisor of 24 h")
                            .help("use e.g. 15 min, 30 min, 1 h or 24 h"),
                        );
                        ok = false;
                    }
                    None => ok = false,
                },
                ("interpolation", OptionValue::Expr(Expr::Path(p))) if p.dotted() == "step" => {
                    out.interpolation = Interpolation::Step
                }
                ("interpolation", OptionValue::Expr(Expr::Path(p))) if p.dotted() == "linear" => {
                    out.interpolation = Interpolation::Linear
                }
                ("wrap", OptionValue::Expr(Expr::Path(p))) if p.dotted() == "true" => {
                    out.wrap = true
                }
                ("wrap", OptionValue::Expr(Expr::Path(p))) if p.dotted() == "false" => {
                    out.wrap = false
                }
                ("unit" | "column" | "resolution" | "interpolation" | "wrap" | "separator", v) => {
                    let expected = match n {
                        "separator" => "one of `\",\"`, `\";\"` or `\"|\"`",
                        "unit" => "a unit such as `kW`",
                        "column" => "a column name in quotes",
                        "resolution" => "a duration such as `1 h`",
                        "interpolation" => "`step` or `linear`",
                        _ => "`true` or `false`",
                    };
                    let vspan = match v {
                        OptionValue::Unit(u) => u.span,
                        OptionValue::String(s) => s.span,
                        OptionValue::Expr(e) => e.span(),
                    };
                    self.diags.push(
                        Diagnostic::error(
                            codes::OUT_OF_RANGE,
                            format!("option `{n}` expects {expected}"),
                        )
                        .label(src, vspan, "not valid here"),
                    );
                    ok = false;
                }
                _ => {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_PROPERTY,
                        format!("unknown profile option `{n}`"),
                    )
                    .label(src, o.name.span, "not an option of a profile");
                    d = match did_you_mean(n, OPTIONS.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!("profile options: {}", OPTIONS.join(", "))),
                    };
                    self.diags.push(d);
                    ok = false;
                }
            }
        }
        if out.unit.is_none() {
            self.diags.push(
                Diagnostic::error(codes::MISSING_PROPERTY, "profile has no unit")
                    .label(src, span, "add `unit: ...` here")
                    .help("e.g. `unit: kW` for loads, `unit: kW/kWp` for PV per kWp, `unit: $/kWh` for prices"),
            );
            ok = false;
        }
        ok.then_some(out)
    }

    fn load_csv(
        &mut self,
        m: usize,
        name: &str,
        path: &ast::StringLit,
        options: &[ProfileOption],
        span: Span,
    ) -> Option<Typed> {
        let src = self.modules[m].source;
        let opts = self.options(m, options, span)?;
        let file = self.sources.get(src);
        let (shown, text) = if file.embedded {
            match crate::stdlib_files::stdlib_file(&path.value) {
                Some(t) => (
                    format!("<std>/{}", path.value.trim_start_matches("./")),
                    t.to_string(),
                ),
                None => {
                    self.diags.push(
                        Diagnostic::error(codes::IO, format!("no stdlib file `{}`", path.value))
                            .label(src, path.span, "not embedded"),
                    );
                    return None;
                }
            }
        } else {
            let full = file.dir.clone().unwrap_or_default().join(&path.value);
            match self.files.read(&full) {
                Ok(bytes) => {
                    let (text, bad) = super::decode(&bytes);
                    if let Some(at) = bad {
                        let id = self.sources.add(SourceFile {
                            name: full.display().to_string(),
                            text,
                            dir: None,
                            embedded: false,
                        });
                        self.diags.push(super::not_utf8(id, at).label(
                            src,
                            path.span,
                            "named here",
                        ));
                        return None;
                    }
                    (full.display().to_string(), text)
                }
                Err(e) => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::IO,
                            format!(
                                "cannot read `{}`: {}",
                                path.value,
                                crate::files::io_reason(&e)
                            ),
                        )
                        .label(src, path.span, format!("looked for {}", full.display()))
                        .help("CSV paths are relative to the file that names them"),
                    );
                    return None;
                }
            }
        };
        let csv_id = match self.sources.find(&shown) {
            Some(id) => id,
            None => self.sources.add(SourceFile {
                name: shown.clone(),
                text: text.clone(),
                dir: None,
                embedded: false,
            }),
        };
        // Without `column:`, a two-column file (`hour,value`) means its second column.
        let header: Vec<String> = text
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap_or("")
            .split(char::from(opts.separator))
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect();
        let column = match &opts.column {
            Some(c) => c.clone(),
            None if header.len() == 2 => header[1].clone(),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        codes::MISSING_PROPERTY,
                        format!("which column of `{}`?", path.value),
                    )
                    .label(src, span, "add `column: \"...\"`")
                    .help(format!("the file has columns {}", header.join(", "))),
                );
                return None;
            }
        };
        let col = match read_column_separated(&text, &column, opts.separator) {
            Ok(c) => c,
            Err(e) => {
                let csv = CsvFile {
                    id: csv_id,
                    shown: &shown,
                    text: &text,
                    separator: opts.separator,
                };
                self.csv_error(src, span, csv, e);
                return None;
            }
        };
        let (dim, scale, unit_text) = opts.unit.clone()?;
        if dim == Dim::POWER || dim == Dim::YIELD {
            if let Some(i) = col.values.iter().position(|v| *v < 0.0) {
                let ls = col.line_starts[i] as usize;
                self.diags.push(
                    Diagnostic::error(
                        codes::NEGATIVE_PV,
                        format!(
                            "negative value {} in {}:{}",
                            col.values[i], shown, col.lines[i]
                        ),
                    )
                    .label(
                        csv_id,
                        line_span(&text, ls),
                        format!("line {}", col.lines[i]),
                    )
                    .label(src, span, format!("profile `{name}` in {unit_text}"))
                    .help(negative_power_help(&column, &unit_text)),
                );
                return None;
            }
        }
        let values: Vec<f64> = col.values.iter().map(|v| v * scale).collect();
        if let Some(last) = col.line_starts.last() {
            if !whole_days(values.len(), opts.resolution_s) {
                self.length_error(
                    src,
                    span,
                    &opts,
                    values.len(),
                    Some((csv_id, line_span(&text, *last as usize))),
                );
                return None;
            }
        } else {
            self.diags.push(
                Diagnostic::error(codes::PROFILE_LENGTH, format!("`{shown}` has no data rows"))
                    .label(src, span, "empty profile"),
            );
            return None;
        }
        Some(self.add_profile(
            name,
            format!("csv {}", path.value),
            dim,
            values,
            &opts,
            src,
            span,
        ))
    }

    fn load_list(
        &mut self,
        m: usize,
        name: &str,
        values: &[(f64, Span)],
        options: &[ProfileOption],
        span: Span,
    ) -> Option<Typed> {
        let src = self.modules[m].source;
        let opts = self.options(m, options, span)?;
        let (dim, scale, _) = opts.unit.clone()?;
        if values.is_empty() || !whole_days(values.len(), opts.resolution_s) {
            self.length_error(src, span, &opts, values.len(), None);
            return None;
        }
        if dim == Dim::POWER || dim == Dim::YIELD {
            if let Some((v, s)) = values.iter().find(|(v, _)| *v < 0.0) {
                self.diags.push(
                    Diagnostic::error(
                        codes::NEGATIVE_PV,
                        format!("negative value {v} in a power profile"),
                    )
                    .label(src, *s, "negative")
                    .help("generation and load are non-negative powers"),
                );
                return None;
            }
        }
        let si: Vec<f64> = values.iter().map(|(v, _)| v * scale).collect();
        Some(self.add_profile(name, "list".to_string(), dim, si, &opts, src, span))
    }

    #[allow(clippy::too_many_arguments)]
    fn add_profile(
        &mut self,
        name: &str,
        origin: String,
        dim: Dim,
        values: Vec<f64>,
        o: &ProfileOptions,
        src: SourceId,
        span: Span,
    ) -> Typed {
        let len = values.len();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.iter().sum::<f64>() / len as f64;
        self.profiles.push(Profile {
            name: name.to_string(),
            origin,
            unit: si_unit(dim),
            resolution_s: o.resolution_s,
            interpolation: o.interpolation,
            wrap: o.wrap,
            len,
            min,
            max,
            mean,
            values,
        });
        self.profile_sites.push((src, span));
        Typed {
            dim,
            val: Val::Sig(profile_signal(self.profiles.len() - 1)),
        }
    }

    fn length_error(
        &mut self,
        src: SourceId,
        span: Span,
        o: &ProfileOptions,
        rows: usize,
        at: Option<(SourceId, Span)>,
    ) {
        let per_day = (86400.0 / o.resolution_s).round() as usize;
        let mut d = Diagnostic::error(
            codes::PROFILE_LENGTH,
            format!(
                "{rows} values at a resolution of {} do not make whole days",
                units::show(o.resolution_s, Dim::TIME)
            ),
        )
        .label(src, span, format!("{per_day} values make one day"));
        if let Some((id, s)) = at {
            d = d.label(id, s, "last row");
        }
        self.diags.push(d.help(format!("give a multiple of {per_day} values (8760 hourly values = 365 days), or change `resolution:`")));
    }

    fn csv_error(&mut self, src: SourceId, span: Span, csv: CsvFile, e: CsvError) {
        let CsvFile {
            id: csv_id,
            shown,
            text,
            separator,
        } = csv;
        let mut d = match &e {
            CsvError::MissingColumn { column, available } => {
                let mut d = Diagnostic::error(
                    codes::CSV_COLUMN,
                    format!("`{shown}` has no column `{column}`"),
                )
                .label(src, span, "column requested here")
                .label(csv_id, line_span(text, 0), "header");
                // `time;kw` read with `,` is one column whose name holds the separator.
                let other_separator = match available.as_slice() {
                    [only] => SEPARATORS
                        .iter()
                        .chain(['\t'].iter())
                        .find(|c| only.contains(**c) && **c != char::from(separator)),
                    _ => None,
                };
                if let Some(sep) = other_separator {
                    let fix = if *sep == '\t' {
                        "convert the tabs to commas".to_string()
                    } else {
                        format!("add `separator: \"{sep}\"` to the csv(...) options")
                    };
                    d = d.help(format!(
                        "the header `{}` is one column: the file looks `{}`-separated; {fix}",
                        available[0],
                        if *sep == '\t' {
                            "tab".to_string()
                        } else {
                            sep.to_string()
                        }
                    ));
                    return self.diags.push(d);
                }
                d = match did_you_mean(column, available.iter().map(String::as_str)) {
                    Some(s) => d.help(format!(
                        "did you mean `{s}`? the columns are {}",
                        available.join(", ")
                    )),
                    None => d.help(format!("the columns are {}", available.join(", "))),
                };
                return self.diags.push(d);
            }
            CsvError::Empty => Diagnostic::error(codes::CSV_VALUE, format!("`{shown}` is empty"))
                .label(src, span, "this profile"),
            _ => Diagnostic::error(codes::CSV_VALUE, format!("{shown}: {e}")),
        };
        if let Some((line, start)) = e.location() {
            d = d
                .label(
                    csv_id,
                    line_span(text, start as usize),
                    format!("line {line}"),
                )
                .label(src, span, "profile declared here");
        }
        let decimal_comma = match &e {
            CsvError::NotANumber { text, .. } => {
                text.contains(',') && text.replacen(',', ".", 1).parse::<f64>().is_ok()
            }
            _ => false,
        };
        self.diags.push(if decimal_comma {
            d.help("numbers are read with a decimal point (`0.5`, not `0,5`): convert the column")
        } else {
            d.help("every row needs a finite number in the profile's column")
        });
    }
}

/// A negative value in a power profile: a sign or column error for PV and load, or a
/// price column declared with a power unit (prices may be negative).
fn negative_power_help(column: &str, unit_text: &str) -> String {
    const PRICE_WORDS: &[&str] = &["price", "eur", "usd", "cost", "tariff", "spot", "lmp", "$"];
    let lower = column.to_lowercase();
    if PRICE_WORDS.iter().any(|w| lower.contains(w)) {
        format!(
            "column `{column}` looks like prices: declare it with `unit: $/kWh` (a price may be negative; a power in {unit_text} may not)"
        )
    } else {
        format!(
            "a profile in {unit_text} is a power (PV or load) and is never negative: check the sign and the column; a price column is declared with `unit: $/kWh`"
        )
    }
}

/// A CSV file being read as a profile, for its diagnostics.
struct CsvFile<'a> {
    id: SourceId,
    shown: &'a str,
    text: &'a str,
    separator: u8,
}

struct ProfileOptions {
    column: Option<String>,
    unit: Option<(Dim, f64, String)>,
    resolution_s: f64,
    interpolation: Interpolation,
    wrap: bool,
    /// CSV field separator byte (`,` unless `separator:` says otherwise).
    separator: u8,
}

fn whole_days(rows: usize, resolution_s: f64) -> bool {
    let per_day = (86400.0 / resolution_s).round() as usize;
    per_day > 0 && rows > 0 && rows.is_multiple_of(per_day)
}

fn line_span(text: &str, start: usize) -> Span {
    let start = start.min(text.len());
    let end = text[start..]
        .find('\n')
        .map(|i| start + i)
        .unwrap_or(text.len());
    Span::new(start, end.max(start))
}

fn si_unit(dim: Dim) -> String {
    let names = ["J", "s", "$", "Wp", "kg"];
    let mut num = Vec::new();
    let mut den = Vec::new();
    // Power reads better as W than J/s.
    let mut e = dim.0;
    if e[0] >= 1 && e[1] <= -1 {
        num.push("W".to_string());
        e[0] -= 1;
        e[1] += 1;
    }
    for (i, n) in names.iter().enumerate() {
        let p = e[i];
        let part = if p.abs() == 1 {
            n.to_string()
        } else {
            format!("{n}^{}", p.abs())
        };
        if p > 0 {
            num.push(part)
        } else if p < 0 {
            den.push(part)
        }
    }
    let n = if num.is_empty() {
        "1".to_string()
    } else {
        num.join("*")
    };
    if den.is_empty() {
        n
    } else {
        format!("{n}/{}", den.join("/"))
    }
}
