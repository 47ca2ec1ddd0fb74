//! Experiments: step and episode, train/test day splits, algorithms, baselines, optimum,
//! seeds, budget and sweeps.

use super::eval::{whole, Scope};
use super::network::Built;
use super::overrides;
use super::units::{self, Dim};
use super::Ctx;
use crate::calendar::{civil_text, days_from_civil, days_in_month, year_of, year_start};
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::model::{Experiment, Settlement, SweepAxis};
use crate::source::{SourceId, Span};
use crate::syntax::ast::{self, ExpStmt, Expr};

pub const ALGORITHMS: &[&str] = &["mappo", "ippo", "maddpg"];
pub const BASELINES: &[&str] = &["no_battery", "greedy", "tou_rule"];
const SETTINGS: &[&str] = &[
    "step",
    "episode",
    "optimum",
    "seeds",
    "budget",
    "algorithms",
    "baselines",
    "train",
    "test",
    "sweep",
    "end_energy",
];
const MAX_SEEDS: f64 = 10_000.0;

/// The step of an experiment as written (default 1 h), for sizing forecasts before the
/// experiment itself is checked. Errors are reported by `check_experiment`.
pub fn step_of(ctx: &mut Ctx, m: usize, e: &ast::ExperimentDef) -> f64 {
    for s in &e.stmts {
        if let ExpStmt::Setting { name, value, .. } = s {
            if name.name == "step" {
                let before = ctx.diags.len();
                let v = ctx.eval_const(
                    Scope {
                        module: m,
                        params: &[],
                    },
                    value,
                    Dim::TIME,
                    "the step",
                );
                ctx.diags.truncate(before);
                if let Some(v) = v.filter(|v| *v > 0.0) {
                    return v;
                }
            }
        }
    }
    3600.0
}

pub fn check_experiment(
    ctx: &mut Ctx,
    m: usize,
    e: &ast::ExperimentDef,
    built: &Built,
    agents: Option<&ast::AgentsDef>,
) -> Option<Experiment> {
    let src = ctx.modules[m].source;
    let scope = Scope {
        module: m,
        params: &[],
    };
    let mut ok = true;
    let mut x = Experiment {
        name: e.name.name.clone(),
        step_s: 3600.0,
        episode_s: 86400.0,
        year: 2023,
        train_days: Vec::new(),
        test_days: Vec::new(),
        algorithms: vec!["mappo".into()],
        baselines: BASELINES.iter().map(|s| s.to_string()).collect(),
        optimum: Some("lp".into()),
        seeds: 10,
        budget_steps: 100_000,
        sweeps: Vec::new(),
        end_energy: None,
    };
    let mut seen: Vec<(String, Span)> = Vec::new();
    let mut train: Option<(Vec<(i64, i64, Span)>, Span)> = None;
    let mut test: Option<(Vec<(i64, i64, Span)>, Span)> = None;
    for s in &e.stmts {
        let key = match s {
            ExpStmt::Days { train: t, .. } => if *t { "train" } else { "test" }.to_string(),
            ExpStmt::Sweep(..) => "sweep".to_string(),
            ExpStmt::List { name, .. } | ExpStmt::Setting { name, .. } => name.name.clone(),
        };
        if let Some((_, prev)) = seen.iter().find(|(k, _)| *k == key) {
            ctx.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE,
                    format!("`{key}` is set twice in experiment `{}`", e.name.name),
                )
                .label(src, s.span(), "second")
                .label(src, *prev, "first"),
            );
            ok = false;
            continue;
        }
        seen.push((key.clone(), s.span()));
        match s {
            ExpStmt::Days {
                train: is_train,
                ranges,
                span,
                ..
            } => {
                let mut days = Vec::new();
                for r in ranges {
                    let a = date(ctx, src, &r.from);
                    let b = match &r.to {
                        Some(t) => date(ctx, src, t),
                        None => a,
                    };
                    match (a, b) {
                        (Some(a), Some(b)) if a <= b => days.push((a, b, r.span)),
                        (Some(_), Some(_)) => {
                            ctx.diags.push(
                                Diagnostic::error(
                                    codes::BAD_DATE,
                                    "the date range ends before it starts",
                                )
                                .label(src, r.span, "empty range"),
                            );
                            ok = false;
                        }
                        _ => ok = false,
                    }
                }
                if *is_train {
                    train = Some((days, *span))
                } else {
                    test = Some((days, *span))
                }
            }
            ExpStmt::Setting { name, value, .. } => ok &= setting(ctx, m, &mut x, name, value),
            ExpStmt::List { name, items, .. } => {
                let known = match name.name.as_str() {
                    "algorithms" => ALGORITHMS,
                    "baselines" => BASELINES,
                    _ => {
                        unknown_setting(ctx, src, name);
                        ok = false;
                        continue;
                    }
                };
                let mut list: Vec<String> = Vec::new();
                for it in items {
                    if !known.contains(&it.name.as_str()) {
                        let mut d = Diagnostic::error(
                            codes::EXPERIMENT,
                            format!("unknown {} `{}`", name.name.trim_end_matches('s'), it.name),
                        )
                        .label(src, it.span, "not known");
                        d = match did_you_mean(&it.name, known.iter().copied()) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help(format!("{}: {}", name.name, known.join(", "))),
                        };
                        ctx.diags.push(d);
                        ok = false;
                    } else if list.contains(&it.name) {
                        ctx.diags.push(
                            Diagnostic::error(
                                codes::DUPLICATE,
                                format!("`{}` is listed twice", it.name),
                            )
                            .label(src, it.span, "again"),
                        );
                        ok = false;
                    } else {
                        list.push(it.name.clone());
                    }
                }
                if name.name == "algorithms" {
                    x.algorithms = list
                } else {
                    x.baselines = list
                }
            }
            ExpStmt::Sweep(axes, _) => {
                let mut paths: Vec<(String, Span)> = Vec::new();
                for a in axes {
                    let p = a.path.dotted();
                    if let Some((_, prev)) = paths.iter().find(|(q, _)| *q == p) {
                        ctx.diags.push(
                            Diagnostic::error(
                                codes::DUPLICATE,
                                format!("sweep axis `{p}` appears twice"),
                            )
                            .label(src, a.path.span, "second")
                            .label(src, *prev, "first"),
                        );
                        ok = false;
                        continue;
                    }
                    paths.push((p.clone(), a.path.span));
                    let file = ctx.modules[m].file.clone();
                    match overrides::resolve_target(&file, &p, agents) {
                        Ok(target) => {
                            for v in &a.values {
                                ok &= overrides::check_value(ctx, m, &file, &target, v, built);
                            }
                            let text = &ctx.sources.get(src).text;
                            let values = a
                                .values
                                .iter()
                                .map(|v| {
                                    text.get(v.span().start..v.span().end)
                                        .unwrap_or("")
                                        .to_string()
                                })
                                .collect();
                            x.sweeps.push(SweepAxis { path: p, values });
                        }
                        Err(overrides::PathError::Ambiguous { why, help }) => {
                            ctx.diags.push(
                                Diagnostic::error(
                                    codes::SWEEP,
                                    format!("cannot sweep `{p}`: {why}"),
                                )
                                .label(src, a.path.span, "names more than one array")
                                .help(help),
                            );
                            ok = false;
                        }
                        Err(overrides::PathError::Unknown(help)) => {
                            let paths = overrides::candidate_paths(&file);
                            let help = match did_you_mean(&p, paths.iter().map(String::as_str)) {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => help,
                            };
                            ctx.diags.push(
                                Diagnostic::error(codes::SWEEP, format!("cannot sweep `{p}`"))
                                    .label(src, a.path.span, "not a sweepable path")
                                    .help(help),
                            );
                            ok = false;
                        }
                    }
                }
            }
        }
    }
    let _ = scope;
    // Step and episode fit together.
    if ok && (x.episode_s % x.step_s != 0.0 || 86400.0 % x.step_s != 0.0) {
        let span = seen
            .iter()
            .find(|(k, _)| k == "step" || k == "episode")
            .map(|s| s.1)
            .unwrap_or(e.name.span);
        ctx.diags.push(
            Diagnostic::error(
                codes::EXPERIMENT,
                format!(
                    "a step of {} does not divide the episode of {} and the day",
                    units::show_time(x.step_s),
                    units::show_time(x.episode_s)
                ),
            )
            .label(src, span, "step and episode do not fit")
            .help("use e.g. step 15 min, 30 min or 1 h with whole-hour episodes"),
        );
        ok = false;
    }
    // Days.
    for (what, d) in [("train", &train), ("test", &test)] {
        if d.is_none() {
            ctx.diags.push(
                Diagnostic::error(
                    codes::MISSING_PROPERTY,
                    format!("experiment `{}` has no {what} days", e.name.name),
                )
                .label(
                    src,
                    e.name.span,
                    format!("add `{what} days 2023-..-..2023-..-..`"),
                )
                .help("training and evaluation use disjoint day ranges"),
            );
            ok = false;
        }
    }
    let (Some((train, train_span)), Some((test, test_span))) = (train, test) else {
        return None;
    };
    if !ok {
        return None;
    }
    // One year for all days.
    let all: Vec<&(i64, i64, Span)> = train.iter().chain(test.iter()).collect();
    let year = year_of(all[0].0);
    if let Some(r) = all
        .iter()
        .find(|r| year_of(r.0) != year || year_of(r.1) != year)
    {
        ctx.diags.push(
            Diagnostic::error(
                codes::BAD_DATE,
                format!("all days of an experiment must lie in one year ({year})"),
            )
            .label(src, r.2, "another year")
            .help("profiles cover one year; choose days within it"),
        );
        return None;
    }
    x.year = year as i32;
    let to_index = |r: &(i64, i64, Span)| {
        (
            (r.0 - year_start(year)) as u32,
            (r.1 - year_start(year)) as u32,
        )
    };
    x.train_days = train.iter().map(to_index).collect();
    x.test_days = test.iter().map(to_index).collect();
    // No day twice within the train (or test) ranges.
    for (what, list) in [("train", &train), ("test", &test)] {
        for (i, a) in list.iter().enumerate() {
            if let Some(b) = list[..i].iter().find(|b| a.0 <= b.1 && b.0 <= a.1) {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::DAYS_OVERLAP,
                        format!(
                            "{} is listed twice in the {what} days",
                            civil_text(a.0.max(b.0))
                        ),
                    )
                    .label(src, a.2, "this range")
                    .label(src, b.2, "overlaps this one")
                    .help("list each day once"),
                );
                return None;
            }
        }
    }
    // Disjoint.
    for a in &train {
        for b in &test {
            if a.0 <= b.1 && b.0 <= a.1 {
                let first = a.0.max(b.0);
                ctx.diags.push(
                    Diagnostic::error(
                        codes::DAYS_OVERLAP,
                        format!("{} is both a train and a test day", civil_text(first)),
                    )
                    .label(src, a.2, "train days")
                    .label(src, b.2, "test days")
                    .help("evaluation must use held-out days: make the ranges disjoint"),
                );
                return None;
            }
        }
    }
    // No leakage: a training episode (and so a validation episode, whose days are training
    // days) starting on the last training days must not run into a test day.
    let episode_days = (x.episode_s / 86400.0).ceil().max(1.0) as i64;
    for a in &train {
        let reach = a.1 + episode_days - 1;
        if let Some(b) = test.iter().find(|b| a.0 <= b.1 && b.0 <= reach) {
            let leaked = a.0.max(b.0);
            let start = (leaked - (episode_days - 1)).max(a.0);
            ctx.diags.push(
                Diagnostic::error(
                    codes::DAYS_OVERLAP,
                    format!(
                        "a {episode_days}-day training episode starting {} runs into the test day {}",
                        civil_text(start),
                        civil_text(leaked)
                    ),
                )
                .label(
                    src,
                    a.2,
                    format!(
                        "train days {}..{}; their episodes reach {}",
                        civil_text(a.0),
                        civil_text(a.1),
                        civil_text(reach)
                    ),
                )
                .label(
                    src,
                    b.2,
                    format!("test days {}..{}", civil_text(b.0), civil_text(b.1)),
                )
                .help(format!(
                    "end the training days at least {} before the first test day, or shorten the episode",
                    if episode_days == 2 { "1 day".to_string() } else { format!("{} days", episode_days - 1) }
                )),
            );
            return None;
        }
    }
    // Covered by the profiles (episodes may run past the last listed day).
    let last = x
        .train_days
        .iter()
        .chain(x.test_days.iter())
        .map(|r| r.1)
        .max()
        .unwrap_or(0);
    let needed_s = last as f64 * 86400.0 + x.episode_s;
    for (i, p) in ctx.profiles.iter().enumerate() {
        if !p.wrap && (p.len as f64) * p.resolution_s + 1e-6 < needed_s {
            let (psrc, pspan) = ctx.profile_sites[i];
            let span = if x.test_days.iter().any(|r| r.1 == last) {
                test_span
            } else {
                train_span
            };
            ctx.diags.push(
                Diagnostic::error(
                    codes::PROFILE_TOO_SHORT,
                    format!(
                        "profile `{}` covers {} day(s), but experiment `{}` needs {}",
                        p.name,
                        units::format_number(p.days()),
                        e.name.name,
                        units::format_number(needed_s / 86400.0)
                    ),
                )
                .label(src, span, "these days")
                .label(psrc, pspan, "profile ends early")
                .help("choose earlier days, extend the data, or add `wrap: true` to the profile"),
            );
            return None;
        }
    }
    Some(x)
}

fn unknown_setting(ctx: &mut Ctx, src: SourceId, name: &ast::Ident) {
    let mut d = Diagnostic::error(
        codes::EXPERIMENT,
        format!("unknown experiment setting `{}`", name.name),
    )
    .label(src, name.span, "not a setting");
    d = match did_you_mean(&name.name, SETTINGS.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("settings: {}", SETTINGS.join(", "))),
    };
    ctx.diags.push(d);
}

fn setting(ctx: &mut Ctx, m: usize, x: &mut Experiment, name: &ast::Ident, value: &Expr) -> bool {
    let src = ctx.modules[m].source;
    let scope = Scope {
        module: m,
        params: &[],
    };
    match name.name.as_str() {
        "step" | "episode" => {
            let Some(v) = ctx.eval_const(scope, value, Dim::TIME, &format!("the {}", name.name))
            else {
                return false;
            };
            let max = 7.0 * 86400.0;
            if v <= 0.0 || v > max || (name.name == "step" && v < 60.0) {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::EXPERIMENT,
                        format!(
                            "the {} must lie between {} and 7 days",
                            name.name,
                            if name.name == "step" { "1 min" } else { "0" }
                        ),
                    )
                    .label(src, value.span(), "out of range"),
                );
                return false;
            }
            if name.name == "step" {
                x.step_s = v
            } else {
                x.episode_s = v
            }
            true
        }
        "seeds" | "budget" => match whole(ctx, m, value, &name.name) {
            Some(v) if name.name == "seeds" && v > MAX_SEEDS => {
                ctx.diags.push(
                    Diagnostic::error(codes::OUT_OF_RANGE, format!("at most {MAX_SEEDS} seeds"))
                        .label(src, value.span(), "too many"),
                );
                false
            }
            Some(v) => {
                if name.name == "seeds" {
                    x.seeds = v as u32
                } else {
                    x.budget_steps = v as u64
                }
                true
            }
            None => false,
        },
        "optimum" => {
            match value {
                Expr::Path(p) if p.dotted() == "lp" => {
                    x.optimum = Some("lp".into());
                    true
                }
                Expr::Path(p) if p.dotted() == "none" => {
                    x.optimum = None;
                    true
                }
                _ => {
                    ctx.diags.push(
                        Diagnostic::error(codes::EXPERIMENT, "the optimum is `lp` or `none`")
                            .label(src, value.span(), "unknown optimum"),
                    );
                    false
                }
            }
        }
        "end_energy" => match end_energy(ctx, m, value) {
            Some(rule) => {
                x.end_energy = rule;
                true
            }
            None => false,
        },
        _ => {
            unknown_setting(ctx, src, name);
            false
        }
    }
}

const END_ENERGY_HELP: &str = "write `end_energy settle(0.15 $/kWh)`, \
`end_energy settle(shortfall: 0.20 $/kWh, surplus: 0.10 $/kWh)` or `end_energy free`";

/// `end_energy free | settle(price) | settle(shortfall: price, surplus: price)`:
/// `Some(None)` is free, `None` an error (reported).
fn end_energy(ctx: &mut Ctx, m: usize, value: &Expr) -> Option<Option<Settlement>> {
    let src = ctx.modules[m].source;
    let scope = Scope {
        module: m,
        params: &[],
    };
    let call = match value {
        Expr::Path(p) if p.dotted() == "free" => return Some(None),
        Expr::Call(c) if c.callee.name == "settle" => c,
        _ => {
            ctx.diags.push(
                Diagnostic::error(codes::EXPERIMENT, "`end_energy` is `free` or `settle(...)`")
                    .label(src, value.span(), "unknown end-of-episode rule")
                    .help(END_ENERGY_HELP),
            );
            return None;
        }
    };
    let named = |n: &str| {
        call.args
            .iter()
            .find(|a| a.name.as_ref().is_some_and(|x| x.name == n))
    };
    let bad_shape = match call.args.as_slice() {
        [one] => one.name.is_some(),
        [_, _] => named("shortfall").is_none() || named("surplus").is_none(),
        _ => true,
    };
    if bad_shape {
        ctx.diags.push(
            Diagnostic::error(
                codes::EXPERIMENT,
                "`settle` takes one price, or `shortfall:` and `surplus:` prices",
            )
            .label(src, call.span, "unexpected arguments")
            .help(END_ENERGY_HELP),
        );
        return None;
    }
    let mut price = |arg: &ast::Arg, what: &str| -> Option<f64> {
        let v = ctx.eval_const(scope, &arg.value, Dim::PRICE, what)?;
        if v < 0.0 {
            ctx.diags.push(
                Diagnostic::error(codes::OUT_OF_RANGE, format!("{what} must not be negative"))
                    .label(src, arg.value.span(), "negative"),
            );
            return None;
        }
        Some(v)
    };
    let (shortfall, surplus) = match (named("shortfall"), named("surplus")) {
        (Some(a), Some(b)) => (
            price(a, "the shortfall price"),
            price(b, "the surplus price"),
        ),
        _ => {
            let p = price(&call.args[0], "the settlement price");
            (p, p)
        }
    };
    let (shortfall, surplus) = (shortfall?, surplus?);
    if surplus > shortfall {
        let arg = named("surplus").unwrap_or(&call.args[0]);
        ctx.diags.push(
            Diagnostic::error(
                codes::OUT_OF_RANGE,
                "the surplus price must not exceed the shortfall price",
            )
            .label(src, arg.span, "above the shortfall price")
            .help("a kWh above the start cannot be worth more than one below it (and only then is the optimum an exact LP)"),
        );
        return None;
    }
    Some(Some(Settlement {
        shortfall_per_j: shortfall,
        surplus_per_j: surplus,
    }))
}

/// Days since 1970-01-01 of a valid `YYYY-MM-DD`.
fn date(ctx: &mut Ctx, src: SourceId, d: &ast::DateLit) -> Option<i64> {
    let parts: Vec<i64> = d.text.split('-').filter_map(|p| p.parse().ok()).collect();
    let valid = parts.len() == 3
        && (1..=12).contains(&parts[1])
        && parts[2] >= 1
        && parts[2] <= days_in_month(parts[0], parts[1]);
    if !valid {
        ctx.diags.push(
            Diagnostic::error(codes::BAD_DATE, format!("`{}` is not a date", d.text))
                .label(src, d.span, "no such day")
                .help("dates are YYYY-MM-DD and must exist in the calendar"),
        );
        return None;
    }
    Some(days_from_civil(parts[0], parts[1], parts[2]))
}
