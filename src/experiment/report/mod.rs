//! The experiment report: per-seed scores → statistics (src/stats) → DIR/report.json,
//! DIR/runs.csv, DIR/report.md and SVG plots (`figures`, drawn by src/plot). Seeds are the
//! replicates: a run's score is its mean over the held-out days (its test cost), never a
//! day. Everything here is a pure function of the result files except the compute
//! section (wall-clock times), which is kept apart so sharded + merged reports equal
//! unsharded ones.

mod figures;

use super::plan::CheckedPoint;
use super::results::{self, PointResults, Results};
use super::session::Summary;
use crate::experiment::error::RunError;
use crate::sim::env::Backend;
use crate::stats::{self, estimators, Ci, DEFAULT_RESAMPLES};
use crate::train::Algo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const CI_LEVEL: f64 = 0.95;
const BOOT_SEED: u64 = 0x5EED;

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub iqm: f64,
    pub median: f64,
    pub ci_lo: f64,
    pub ci_hi: f64,
    pub n: usize,
}

pub(super) fn estimate(x: &[f64]) -> Option<Estimate> {
    let x: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let mean = stats::mean(&x).ok()?;
    let ci = stats::bootstrap_ci(&x, estimators::mean, DEFAULT_RESAMPLES, CI_LEVEL, BOOT_SEED)
        .unwrap_or(Ci {
            estimate: mean,
            lo: mean,
            hi: mean,
        });
    Some(Estimate {
        mean,
        iqm: stats::iqm(&x).unwrap_or(mean),
        median: stats::median(&x).unwrap_or(mean),
        ci_lo: ci.lo,
        ci_hi: ci.hi,
        n: x.len(),
    })
}

/// One table row: an algorithm (with CIs over seeds) or a deterministic policy.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub policy: String,
    pub learned: bool,
    pub cost: Option<Estimate>,
    pub cost_reduction_vs_greedy: Option<Estimate>,
    pub gap_closed: Option<Estimate>,
    pub improvement_seed_style: Option<Estimate>,
    pub individual_rationality: Option<Estimate>,
    pub peak_kw: Option<Estimate>,
    pub overload_kwh: Option<Estimate>,
    pub charging_correlation: Option<Estimate>,
    pub charge_start_entropy_bits: Option<Estimate>,
}

fn learned_row(name: &str, runs: &[Summary]) -> Row {
    let col = |f: &dyn Fn(&Summary) -> Option<f64>| {
        let v: Vec<f64> = runs.iter().filter_map(f).collect();
        estimate(&v)
    };
    Row {
        policy: name.into(),
        learned: true,
        cost: col(&|s| Some(s.test_cost)),
        cost_reduction_vs_greedy: col(&|s| s.cost_reduction_vs_greedy),
        gap_closed: col(&|s| s.gap_closed),
        improvement_seed_style: col(&|s| s.improvement_seed_style),
        individual_rationality: col(&|s| Some(s.individual_rationality)),
        peak_kw: col(&|s| Some(s.kpis.peak_kw)),
        overload_kwh: col(&|s| Some(s.kpis.overload_kwh)),
        charging_correlation: col(&|s| s.coordination.charging_correlation),
        charge_start_entropy_bits: col(&|s| s.coordination.charge_start_entropy_bits),
    }
}

fn fixed(v: Option<f64>) -> Option<Estimate> {
    v.filter(|x| x.is_finite()).map(|x| Estimate {
        mean: x,
        iqm: x,
        median: x,
        ci_lo: x,
        ci_hi: x,
        n: 1,
    })
}

fn reference_rows(p: &PointResults) -> Vec<Row> {
    let r = &p.reference;
    r.order
        .iter()
        .filter_map(|name| {
            let k = r.policies.get(name)?;
            let c = r.coordination.get(name);
            Some(Row {
                policy: name.clone(),
                learned: false,
                cost: fixed(Some(k.cost)),
                cost_reduction_vs_greedy: fixed(k.cost_reduction_vs_greedy),
                gap_closed: fixed(k.gap_closed),
                improvement_seed_style: fixed(k.improvement_seed_style),
                individual_rationality: fixed(r.individual_rationality.get(name).copied()),
                peak_kw: fixed(Some(k.peak_kw)),
                overload_kwh: fixed(Some(k.overload_kwh)),
                charging_correlation: fixed(c.and_then(|c| c.charging_correlation)),
                charge_start_entropy_bits: fixed(c.and_then(|c| c.charge_start_entropy_bits)),
            })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub point: String,
    pub a: String,
    pub b: String,
    pub mean_diff: f64,
    pub welch_p: Option<f64>,
    pub mann_whitney_p: Option<f64>,
    pub welch_p_holm: Option<f64>,
    pub mann_whitney_p_holm: Option<f64>,
    pub cohens_d: Option<f64>,
    pub a12: Option<f64>,
    /// P(a random run of `a` has a lower test cost than one of `b`).
    pub probability_of_improvement: Option<f64>,
}

fn compare(point: &str, a: &str, xa: &[f64], b: &str, xb: &[f64]) -> Comparison {
    let ma = stats::mean(xa).unwrap_or(f64::NAN);
    let mb = stats::mean(xb).unwrap_or(f64::NAN);
    Comparison {
        point: point.into(),
        a: a.into(),
        b: b.into(),
        mean_diff: ma - mb,
        welch_p: stats::welch_t_test(xa, xb).ok().map(|t| t.p_value),
        mann_whitney_p: stats::mann_whitney_u(xa, xb).ok().map(|t| t.p_value),
        welch_p_holm: None,
        mann_whitney_p_holm: None,
        cohens_d: stats::cohens_d(xa, xb).ok(),
        a12: stats::vargha_delaney_a12(xa, xb).ok(),
        probability_of_improvement: stats::probability_of_improvement(xa, xb, true).ok(),
    }
}

/// Holm over all comparisons of the report, separately for each test.
fn correct(cs: &mut [Comparison]) {
    for (get, set) in [
        (
            (|c: &Comparison| c.welch_p) as fn(&Comparison) -> Option<f64>,
            (|c: &mut Comparison, p| c.welch_p_holm = Some(p)) as fn(&mut Comparison, f64),
        ),
        (|c| c.mann_whitney_p, |c, p| c.mann_whitney_p_holm = Some(p)),
    ] {
        let idx: Vec<usize> = (0..cs.len()).filter(|&i| get(&cs[i]).is_some()).collect();
        let ps: Vec<f64> = idx.iter().filter_map(|&i| get(&cs[i])).collect();
        if let Ok(adj) = stats::holm(&ps) {
            for (k, &i) in idx.iter().enumerate() {
                set(&mut cs[i], adj[k]);
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PointTable {
    pub point: String,
    pub axis: Option<String>,
    pub value: Option<String>,
    pub households: usize,
    pub price_of_anarchy: Option<f64>,
    /// The sweep value equals the base scenario: these are the base runs, shown again.
    pub same_as_base: bool,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    pub experiment: String,
    pub fingerprint: String,
    pub seeds: u32,
    pub budget: u64,
    pub test_days: usize,
    pub points: Vec<PointTable>,
    pub comparisons: Vec<Comparison>,
    pub missing_runs: Vec<(String, String)>,
}

pub(super) fn costs(runs: &[Summary]) -> Vec<f64> {
    runs.iter().map(|s| s.test_cost).collect()
}

pub fn build(res: &Results) -> Report {
    let mut points = Vec::new();
    let mut comparisons = Vec::new();
    for p in &res.points {
        let mut rows: Vec<Row> = p
            .runs
            .iter()
            .map(|(a, runs)| learned_row(a.name(), runs))
            .collect();
        rows.extend(reference_rows(p));
        points.push(PointTable {
            point: p.point.id.clone(),
            axis: p.point.axis.clone(),
            value: p.point.value.clone(),
            households: p.reference.greedy_bills.len(),
            price_of_anarchy: p.reference.price_of_anarchy,
            same_as_base: p.point.same_as_base,
            rows,
        });
        // A sweep value equal to the base shows the base runs; testing them again would
        // count the same comparison twice in the Holm family.
        if p.point.same_as_base {
            continue;
        }
        // vs greedy (deterministic: its per-seed score is the same every seed, so Welch
        // becomes the one-sample t-test against the greedy cost), then between algorithms.
        let greedy = p.reference.greedy.cost;
        let algos: Vec<(&Algo, &Vec<Summary>)> = p.runs.iter().collect();
        for (a, runs) in &algos {
            let xa = costs(runs);
            let xg = vec![greedy; xa.len()];
            comparisons.push(compare(&p.point.id, a.name(), &xa, "greedy", &xg));
        }
        // Ablation: the same algorithm at this sweep value vs at the base scenario, when
        // the community is the same size (so costs compare directly).
        if let Some(base) = res.points.first().filter(|b| b.point.id != p.point.id) {
            if p.reference.greedy_bills.len() == base.reference.greedy_bills.len() {
                for (a, runs) in &algos {
                    if let Some(base_runs) = base.runs.get(a) {
                        comparisons.push(compare(
                            &p.point.id,
                            a.name(),
                            &costs(runs),
                            &format!("{} (base)", a.name()),
                            &costs(base_runs),
                        ));
                    }
                }
            }
        }
        for i in 0..algos.len() {
            for j in i + 1..algos.len() {
                comparisons.push(compare(
                    &p.point.id,
                    algos[i].0.name(),
                    &costs(algos[i].1),
                    algos[j].0.name(),
                    &costs(algos[j].1),
                ));
            }
        }
    }
    correct(&mut comparisons);
    Report {
        file: res.manifest.file.clone(),
        experiment: res.plan.experiment.clone(),
        fingerprint: res.manifest.fingerprint.clone(),
        seeds: res.plan.seeds,
        budget: res.plan.budget,
        test_days: res.points.first().map_or(0, |p| p.reference.days.len()),
        points,
        comparisons,
        missing_runs: res.missing.clone(),
    }
}

/// `runs.csv`: one row per finished run (deterministic columns only).
pub fn runs_csv(res: &Results) -> String {
    let mut s = String::from(
        "point,axis,value,algo,seed,env_steps,test_cost,greedy_cost,optimum_cost,cost_reduction_vs_greedy,gap_closed,improvement_seed_style,individual_rationality,peak_kw,overload_kwh,charging_correlation,charge_start_entropy_bits\n",
    );
    let o = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for p in &res.points {
        for (a, runs) in &p.runs {
            for r in runs {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    p.point.id,
                    p.point.axis.clone().unwrap_or_default(),
                    csv_field(p.point.value.as_deref().unwrap_or_default()),
                    a.name(),
                    r.seed,
                    r.env_steps,
                    r.test_cost,
                    r.greedy_cost,
                    o(r.optimum_cost),
                    o(r.cost_reduction_vs_greedy),
                    o(r.gap_closed),
                    o(r.improvement_seed_style),
                    r.individual_rationality,
                    r.kpis.peak_kw,
                    r.kpis.overload_kwh,
                    o(r.coordination.charging_correlation),
                    o(r.coordination.charge_start_entropy_bits),
                );
            }
        }
    }
    s
}

fn csv_field(v: &str) -> String {
    if v.contains(',') || v.contains('"') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// Load DIR, compute statistics and write report.json, runs.csv, plots and report.md.
pub fn write(dir: &Path, points: &[CheckedPoint], backend: Backend) -> Result<(), RunError> {
    let res = results::load(dir)?;
    let rep = build(&res);
    let (day, limit) = figures::day_traces(dir, &res, points, backend).unwrap_or_default();
    let plots = figures::write_plots(dir, &res, &rep, &day, limit)?;
    let json = serde_json::to_string_pretty(&rep)? + "\n";
    crate::files::write_atomic(&dir.join("report.json"), json.as_bytes())?;
    crate::files::write_atomic(&dir.join("runs.csv"), runs_csv(&res).as_bytes())?;
    let md = markdown(&rep, &res, &plots, &compute_section(&res));
    Ok(crate::files::write_atomic(
        &dir.join("report.md"),
        md.as_bytes(),
    )?)
}

pub fn axes(res: &Results) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for p in &res.points {
        if let Some(a) = &p.point.axis {
            if !v.contains(a) {
                v.push(a.clone());
            }
        }
    }
    v
}

fn fmt_est(e: &Option<Estimate>, scale: f64, digits: usize) -> String {
    match e {
        None => "–".into(),
        Some(e) if e.n <= 1 || (e.ci_hi - e.ci_lo).abs() < 1e-12 => {
            format!("{:.*}", digits, e.mean * scale)
        }
        Some(e) => format!(
            "{:.*} [{:.*}, {:.*}]",
            digits,
            e.mean * scale,
            digits,
            e.ci_lo * scale,
            digits,
            e.ci_hi * scale
        ),
    }
}

fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "–".into(),
        Some(p) if p < 1e-4 => format!("{p:.1e}"),
        Some(p) => format!("{p:.4}"),
    }
}

fn table(s: &mut String, t: &PointTable) {
    s.push_str("| policy | cost $ | vs greedy % | gap closed % | seed-style % | IR % | peak kW | overload kWh |\n|---|---|---|---|---|---|---|---|\n");
    for r in &t.rows {
        let _ = writeln!(
            s,
            "| {}{} | {} | {} | {} | {} | {} | {} | {} |",
            r.policy,
            if r.learned { "" } else { " (baseline)" },
            fmt_est(&r.cost, 1.0, 1),
            fmt_est(&r.cost_reduction_vs_greedy, 100.0, 1),
            fmt_est(&r.gap_closed, 100.0, 1),
            fmt_est(&r.improvement_seed_style, 100.0, 1),
            fmt_est(&r.individual_rationality, 100.0, 0),
            fmt_est(&r.peak_kw, 1.0, 2),
            fmt_est(&r.overload_kwh, 1.0, 2),
        );
    }
}

/// The markdown report. `compute` is the wall-clock section (kept last).
pub fn markdown(
    report: &Report,
    res: &Results,
    plots: &[(String, String)],
    compute: &str,
) -> String {
    let mut s = String::new();
    let base = &report.points[0];
    let _ = writeln!(
        s,
        "# Experiment `{}` — {}\n",
        report.experiment, report.file
    );
    let _ = writeln!(
        s,
        "{} households · {} test days · {} seeds per algorithm · {} environment steps per run · fingerprint `{}`\n",
        base.households,
        report.test_days,
        report.seeds,
        report.budget,
        &report.fingerprint[..12.min(report.fingerprint.len())]
    );
    s.push_str("**Metrics.** cost = community cost on the held-out test days (bills + overload penalties + peak charges, $); vs greedy = (C_greedy − C)/|C_greedy|; gap closed = (C_greedy − C)/(C_greedy − C_optimum), where the perfect-foresight optimum bounds every policy; seed-style = (R − R_greedy)/|R_greedy| on mean episode reward; IR (individual rationality) = share of households whose bill is ≤ their greedy bill. Learned policies: mean over seeds (each seed's score is its mean over all test days) with a 95 % percentile bootstrap CI (10 000 resamples).\n\n");
    // Headlines.
    s.push_str("## Headline\n\n");
    for r in base.rows.iter().filter(|r| r.learned) {
        let vs = report
            .comparisons
            .iter()
            .find(|c| c.point == base.point && c.a == r.policy && c.b == "greedy");
        let _ = writeln!(
            s,
            "- **{}** closes {} % of the greedy→optimum cost gap (gap closed, mean [95 % CI] over {} seeds), cost {} $ vs greedy {} $ and optimum {} $; Welch p (Holm) = {}, Mann–Whitney p (Holm) = {}.",
            r.policy,
            fmt_est(&r.gap_closed, 100.0, 1),
            r.cost.as_ref().map_or(0, |c| c.n),
            fmt_est(&r.cost, 1.0, 1),
            base.rows.iter().find(|x| x.policy == "greedy").map(|x| fmt_est(&x.cost, 1.0, 1)).unwrap_or_default(),
            base.rows.iter().find(|x| x.policy == "optimum").map(|x| fmt_est(&x.cost, 1.0, 1)).unwrap_or("–".into()),
            fmt_p(vs.and_then(|c| c.welch_p_holm)),
            fmt_p(vs.and_then(|c| c.mann_whitney_p_holm)),
        );
    }
    s.push_str("\n## Results (base scenario)\n\n");
    table(&mut s, base);
    if let Some(poa) = base.price_of_anarchy {
        let _ = writeln!(
            s,
            "\nPrice of anarchy (selfish optimum cost / optimum cost): {poa:.3}."
        );
    }
    s.push_str("\n## Significance\n\nTest cost per seed; vs greedy (deterministic) the Welch test is the one-sample t-test. p-values are Holm-corrected across all comparisons in this report. d = Cohen's d; A12 = P(a > b) + ½P(a = b) on cost; P(impr.) = P(a random run of a costs less than one of b).\n\n| point | a | b | mean diff $ | Welch p | Welch p (Holm) | MWU p | MWU p (Holm) | d | A12 | P(impr.) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for c in &report.comparisons {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or("–".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} |",
            c.point,
            c.a,
            c.b,
            c.mean_diff,
            fmt_p(c.welch_p),
            fmt_p(c.welch_p_holm),
            fmt_p(c.mann_whitney_p),
            fmt_p(c.mann_whitney_p_holm),
            f(c.cohens_d),
            f(c.a12),
            f(c.probability_of_improvement)
        );
    }
    s.push_str("\n## Coordination (RQ3)\n\nPeak = highest import at the peak-charge bus; charging correlation = mean pairwise Pearson correlation of the batteries' power within a day (1 = all charge together); start entropy = entropy (bits) of the hour at which households start charging (0 = all at once; 4.58 = spread over the day).\n\n| policy | peak kW | peak reduction vs greedy % | charging correlation | charge-start entropy (bits) |\n|---|---|---|---|---|\n");
    let greedy_peak = base
        .rows
        .iter()
        .find(|r| r.policy == "greedy")
        .and_then(|r| r.peak_kw.as_ref())
        .map(|e| e.mean);
    for r in &base.rows {
        let red = match (&r.peak_kw, greedy_peak) {
            (Some(p), Some(g)) if g.abs() > 1e-12 => format!("{:.1}", 100.0 * (g - p.mean) / g),
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            r.policy,
            fmt_est(&r.peak_kw, 1.0, 2),
            red,
            fmt_est(&r.charging_correlation, 1.0, 3),
            fmt_est(&r.charge_start_entropy_bits, 1.0, 2)
        );
    }
    for axis in axes(res) {
        let title = match axis.as_str() {
            "households" => "Agent count (RQ2)".to_string(),
            "reward.mix" => {
                "Reward mix: individual rationality vs social welfare (RQ4)".to_string()
            }
            "communicate" | "agents.communicate" => "Communication ablation".to_string(),
            other => format!("Sweep `{other}`"),
        };
        let _ = writeln!(s, "\n## {title}\n\nOne axis varied from the base scenario; every other setting as in the base.\n");
        for t in report
            .points
            .iter()
            .filter(|t| t.axis.as_deref() == Some(axis.as_str()))
        {
            let _ = writeln!(
                s,
                "### `{axis} = {}` ({} households{}{})\n",
                t.value.clone().unwrap_or_default(),
                t.households,
                t.price_of_anarchy
                    .map(|p| format!(", price of anarchy {p:.3}"))
                    .unwrap_or_default(),
                if t.same_as_base {
                    "; the base scenario's runs"
                } else {
                    ""
                }
            );
            table(&mut s, t);
            s.push('\n');
        }
    }
    if !plots.is_empty() {
        s.push_str("\n## Plots\n\n");
        for (file, caption) in plots {
            let _ = writeln!(s, "![{caption}]({file})\n\n*{caption}*\n");
        }
    }
    if !report.missing_runs.is_empty() {
        s.push_str("\n## Missing runs\n\n");
        for (id, why) in &report.missing_runs {
            let _ = writeln!(s, "- `{id}`: {why}");
        }
    }
    s.push_str("\n## Reproduce\n\nInputs, their SHA-256, overrides, seeds and the machine are in `manifest.json`; per-run results in `runs/`, all runs in `runs.csv`, this report's numbers in `report.json`.\n");
    s.push_str(compute);
    s
}

/// Wall-clock section: env-steps/s and where training time went (not reproducible).
pub fn compute_section(res: &Results) -> String {
    let all: Vec<&Summary> = res
        .points
        .iter()
        .flat_map(|p| p.runs.values().flatten())
        .collect();
    if all.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n## Compute (wall clock; differs between machines and runs)\n\n| algorithm | runs | mean wall s | env-steps/s | env % | acting % | learning % | eval % |\n|---|---|---|---|---|---|---|---|\n");
    let mut by: BTreeMap<&str, Vec<&Summary>> = BTreeMap::new();
    for r in all {
        by.entry(r.algo.name()).or_default().push(r);
    }
    for (a, rs) in by {
        let n = rs.len() as f64;
        let wall: f64 = rs.iter().map(|r| r.wall_s).sum();
        let steps: f64 = rs.iter().map(|r| r.env_steps as f64).sum();
        let pct = |f: &dyn Fn(&Summary) -> f64| {
            100.0 * rs.iter().map(|r| f(r)).sum::<f64>() / wall.max(1e-9)
        };
        let _ = writeln!(
            s,
            "| {a} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            rs.len(),
            wall / n,
            steps / wall.max(1e-9),
            pct(&|r| r.timing.env_s),
            pct(&|r| r.timing.act_s),
            pct(&|r| r.timing.learn_s),
            pct(&|r| r.timing.eval_s),
        );
    }
    s
}
