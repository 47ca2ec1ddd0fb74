use super::Format;
use crate::baselines::simulate::{simulate, SimOptions, SimResults};
use crate::calendar::{civil_from_days, date_of, days_from_civil};
use crate::diag::{codes, render::render, Diagnostic};
use crate::model::Rule;
use crate::model::{Experiment, Scenario};
use crate::source::{SourceFile, Sources, Span};
use serde_json::json;
use std::path::{Path, PathBuf};

pub struct Args {
    pub file: PathBuf,
    pub experiment: Option<String>,
    pub days: Option<String>,
    pub baseline: String,
    pub trace: Option<PathBuf>,
    pub format: Format,
    pub overrides: Vec<(String, String)>,
    pub no_optimum: bool,
    pub backend: crate::sim::env::Backend,
}

pub fn run(a: Args) -> i32 {
    let checked = super::check_and_report(&a.file, a.overrides.clone());
    let color = super::color();
    let Some(s) = checked.scenario else { return 1 };
    let mut sources = checked.sources;
    let fail = |sources: &Sources, d: Diagnostic| {
        eprint!("{}", render(&d, sources, color));
        1
    };
    let exp = match &a.experiment {
        None => &s.experiments[0],
        Some(name) => match s.experiments.iter().find(|e| &e.name == name) {
            Some(e) => e,
            None => {
                let names: Vec<&str> = s.experiments.iter().map(|e| e.name.as_str()).collect();
                eprintln!(
                    "error: no experiment `{name}` (experiments: {})",
                    names.join(", ")
                );
                return 2;
            }
        },
    };
    if !s.households.iter().any(|h| !h.batteries.is_empty()) {
        let id = sources
            .find(&a.file.display().to_string())
            .unwrap_or_default();
        return fail(
            &sources,
            Diagnostic::error(
                codes::SIMULATION,
                "no household has a battery: there is nothing to control",
            )
            .label(id, Span::new(0, 0), "in this scenario")
            .help("add a `battery` to the household template"),
        );
    }
    let days = match &a.days {
        None => expand(&exp.test_days),
        Some(text) => match parse_days(text, exp, &s) {
            Ok(d) => d,
            Err(msg) => {
                let id = sources.add(SourceFile {
                    name: "--days".into(),
                    text: text.clone(),
                    dir: None,
                    embedded: false,
                });
                return fail(&sources, Diagnostic::error(codes::SIMULATION, msg).label(id, Span::new(0, text.len()), "these days").help("give dates `YYYY-MM-DD..YYYY-MM-DD` inside the experiment's year and the profiles' data"));
            }
        },
    };
    let lp_policy = matches!(a.baseline.as_str(), "optimum" | "selfish_optimum");
    if lp_policy && a.no_optimum {
        return super::usage(format!(
            "--baseline {} needs the optimum; drop --no-optimum",
            a.baseline
        ));
    }
    let baselines: Vec<Rule> = if a.baseline == "all" {
        exp.baselines
            .iter()
            .filter_map(|b| Rule::parse(b))
            .collect()
    } else if lp_policy {
        Vec::new()
    } else {
        match Rule::parse(&a.baseline) {
            Some(r) => vec![r],
            None => {
                return super::usage(format!(
                    "unknown baseline `{}` (no_battery, greedy, tou_rule, optimum, selfish_optimum or all)",
                    a.baseline
                ));
            }
        }
    };
    let trace_policy = a.trace.as_ref().map(|_| {
        if a.baseline == "all" {
            "greedy".to_string()
        } else {
            a.baseline.clone()
        }
    });
    let opts = SimOptions {
        backend: a.backend,
        baselines,
        optimum: lp_policy || (!a.no_optimum && exp.optimum.is_some()),
        trace_policy,
    };
    let results = match simulate(&s, exp, &days, &opts) {
        Ok(r) => r,
        Err(e) => {
            let id = sources
                .find(&a.file.display().to_string())
                .unwrap_or_default();
            return fail(
                &sources,
                Diagnostic::error(codes::SIMULATION, e.to_string()).label(
                    id,
                    Span::new(0, 0),
                    "while simulating this scenario",
                ),
            );
        }
    };
    if let Some(path) = &a.trace {
        if let Err(e) = write_trace(path, &results) {
            return super::fail(format!("cannot write `{}`: {e}", path.display()));
        }
    }
    match a.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json_doc(&s, exp, &results)).unwrap_or_default()
        ),
        Format::Text => print!("{}", table(&s, exp, &results)),
    }
    0
}

fn expand(ranges: &[(u32, u32)]) -> Vec<u32> {
    ranges.iter().flat_map(|(a, b)| *a..=*b).collect()
}

fn parse_days(text: &str, exp: &Experiment, s: &Scenario) -> Result<Vec<u32>, String> {
    let (a, b) = text.split_once("..").unwrap_or((text, text));
    let parse = |t: &str| -> Result<i64, String> {
        let p: Vec<i64> = t.trim().split('-').filter_map(|x| x.parse().ok()).collect();
        if p.len() != 3 || !(1..=12).contains(&p[1]) || !(1..=31).contains(&p[2]) {
            return Err(format!("`{}` is not a date", t.trim()));
        }
        let z = days_from_civil(p[0], p[1], p[2]);
        if civil_from_days(z) != (p[0], p[1], p[2]) {
            return Err(format!("`{}` is not a date", t.trim()));
        }
        Ok(z)
    };
    let (za, zb) = (parse(a)?, parse(b)?);
    if za > zb {
        return Err("the day range ends before it starts".into());
    }
    let start = days_from_civil(exp.year as i64, 1, 1);
    let (da, db) = (za - start, zb - start);
    let year_days = days_from_civil(exp.year as i64 + 1, 1, 1) - start;
    if da < 0 || db >= year_days {
        return Err(format!(
            "--days must lie in {}, the experiment's year",
            exp.year
        ));
    }
    let needed = db as f64 * 86400.0 + exp.episode_s;
    if let Some(p) = s
        .profiles
        .iter()
        .find(|p| !p.wrap && (p.len as f64) * p.resolution_s + 1e-6 < needed)
    {
        return Err(format!(
            "profile `{}` ends before {}",
            p.name,
            date_of(exp.year, db as u32)
        ));
    }
    Ok((da as u32..=db as u32).collect())
}

/// The trace in time order: day, then step, then household (the recorder collects it
/// step-major across the batch of days).
fn write_trace(path: &Path, r: &SimResults) -> std::io::Result<()> {
    let mut rows: Vec<&_> = r.trace.iter().collect();
    rows.sort_by_key(|row| (row.day, row.step)); // stable: households keep their order
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row).map_err(std::io::Error::other)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    crate::files::write_atomic(path, &bytes)
}

fn json_doc(s: &Scenario, exp: &Experiment, r: &SimResults) -> serde_json::Value {
    let households: Vec<_> = s
        .households
        .iter()
        .map(|h| {
            let pv_kwp: f64 = h.solar.iter().flat_map(|x| x.power_w.terms.iter()).filter(|t| s.profiles[t.profile].unit == "W/Wp").map(|t| t.scale / 1e3).sum();
            let annual_kwh: f64 = h
                .loads
                .iter()
                .map(|l| {
                    let sig = &l.power_w;
                    sig.constant * 8760.0 / 1e3 + sig.terms.iter().map(|t| { let p = &s.profiles[t.profile]; t.scale * p.mean * 8760.0 / 1e3 }).sum::<f64>()
                })
                .sum();
            let battery = h.batteries.first().map(|b| {
                json!({
                    "capacity_kwh": b.capacity_j / 3.6e6, "power_kw": b.power_w / 1e3,
                    "eta_charge": b.eta_charge, "eta_discharge": b.eta_discharge,
                    "soc_min": b.soc_min, "soc_max": b.soc_max, "soc_start": b.soc_start,
                })
            });
            json!({ "name": h.name, "feeder": s.network.feeders[h.feeder].name, "pv_kwp": pv_kwp, "annual_kwh": annual_kwh, "battery": battery })
        })
        .collect();
    let feeders: Vec<_> = s
        .network
        .feeders
        .iter()
        .map(|f| json!({ "name": f.name, "limit_kw": f.limit_w / 1e3, "overload_penalty_per_kwh": f.overload_penalty_per_j * 3.6e6 }))
        .collect();
    json!({
        "scenario": s.name,
        "experiment": exp.name,
        "households": s.households.len(),
        "days": r.days.len(),
        "first_day": r.days.first().map(|d| date_of(exp.year, *d)),
        "last_day": r.days.last().map(|d| date_of(exp.year, *d)),
        "steps": (exp.episode_s / exp.step_s).round() as usize,
        "dt_h": exp.step_s / 3600.0,
        "model": {
            "households": households,
            "feeders": feeders,
            "peak_charge_per_kw_day": s.network.peak_charge.as_ref().map(|p| p.rate_per_w_day * 1e3).unwrap_or(0.0),
            "end_energy": exp.end_energy.map(|r| json!({
                "shortfall_per_kwh": r.shortfall_per_j * 3.6e6,
                "surplus_per_kwh": r.surplus_per_j * 3.6e6,
            })),
            "others_follow": s.agents.others.others_name(),
        },
        "results": r.results,
        "optimum_lp_objective": r.optimum_lp_objective,
        "price_of_anarchy": r.price_of_anarchy,
        "individual_rationality": r.individual_rationality,
        "energy_balance_max_residual_kwh": r.energy_balance_max_residual_kwh,
    })
}

/// The experiment's end-of-episode rule in words.
fn end_energy_text(exp: &Experiment) -> String {
    use crate::check::units::{show, Dim};
    match exp.end_energy {
        None => "free (not valued: the starting charge can be sold)".into(),
        Some(r) if r.shortfall_per_j == r.surplus_per_j => {
            format!(
                "settled at {} (in the cost)",
                show(r.shortfall_per_j, Dim::PRICE)
            )
        }
        Some(r) => format!(
            "shortfall charged {}, surplus credited {} (in the cost)",
            show(r.shortfall_per_j, Dim::PRICE),
            show(r.surplus_per_j, Dim::PRICE)
        ),
    }
}

fn table(s: &Scenario, exp: &Experiment, r: &SimResults) -> String {
    let mut out = String::new();
    let first = r
        .days
        .first()
        .map(|d| date_of(exp.year, *d))
        .unwrap_or_default();
    let last = r
        .days
        .last()
        .map(|d| date_of(exp.year, *d))
        .unwrap_or_default();
    out.push_str(&format!(
        "{} · experiment {} · {}..{} ({} episodes of {} h) · {} households\n\n",
        s.name,
        exp.name,
        first,
        last,
        r.days.len(),
        exp.episode_s / 3600.0,
        s.households.len()
    ));
    out.push_str(&format!(
        "{:<16} {:>11} {:>10} {:>10} {:>11} {:>11} {:>8} {:>9} {:>9} {:>7} {:>7} {:>10}\n",
        "policy",
        "cost $",
        "vs greedy",
        "gap closed",
        "import kWh",
        "export kWh",
        "peak kW",
        "overl kWh",
        "self-suff",
        "cycles",
        "IR",
        "Δend kWh"
    ));
    let pct = |x: Option<f64>| {
        x.map(|v| format!("{:.1} %", v * 100.0))
            .unwrap_or_else(|| "-".into())
    };
    for name in &r.order {
        let k = &r.results[name].kpis;
        out.push_str(&format!(
            "{:<16} {:>11.2} {:>10} {:>10} {:>11.1} {:>11.1} {:>8.2} {:>9.2} {:>9} {:>7.1} {:>7} {:>10.1}\n",
            name,
            k.cost,
            pct(k.cost_reduction_vs_greedy),
            pct(k.gap_closed),
            k.import_kwh,
            k.export_kwh,
            k.peak_kw,
            k.overload_kwh,
            pct(Some(k.self_sufficiency)),
            k.battery_cycles,
            pct(r.individual_rationality.get(name).copied()),
            k.end_energy_change_kwh,
        ));
    }
    out.push('\n');
    if let Some(p) = r.price_of_anarchy {
        out.push_str(&format!(
            "price of anarchy (selfish optimum / optimum cost): {p:.4}\n"
        ));
    } else if r.results.contains_key("selfish_optimum") {
        out.push_str("price of anarchy: undefined (a ratio of costs needs both costs positive; compare the two optimum rows)\n");
    }
    out.push_str("cost: community cost = bills + overload penalties + peak charges; vs greedy = (C_greedy − C)/|C_greedy|;\n");
    out.push_str("gap closed = (C_greedy − C)/(C_greedy − C_optimum); IR = share of households whose bill ≤ their greedy bill.\n");
    out.push_str(&format!(
        "Δend = Σ stored energy at the episodes' end − at their start; end energy: {}.\n",
        end_energy_text(exp)
    ));
    if !s
        .households
        .iter()
        .enumerate()
        .all(|(i, h)| h.batteries.is_empty() || s.agents.households.contains(&i))
    {
        out.push_str(&format!(
            "households no agent controls follow `{}` in every row.\n",
            s.agents.others.others_name()
        ));
    }
    out
}
