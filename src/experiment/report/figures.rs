//! The report's figures: learning curves, cost vs the swept axis, the trade-off and one
//! test day's feeder flow for greedy, each algorithm's seed-0 policy and the optimum.

use super::{axes, costs, estimate, Report};
use crate::baselines::evaluate;
use crate::baselines::simulate::{simulate, SimOptions};
use crate::experiment::checkpoint;
use crate::experiment::error::RunError;
use crate::experiment::exec;
use crate::experiment::plan::CheckedPoint;
use crate::experiment::results::{PointResults, Results};
use crate::ir::Field;
use crate::model::Rule;
use crate::plot::{self as plots, Band, Bar, DayTrace, FrontPoint, Series};
use crate::sim::env::{Backend, Env};
use crate::sim::kpi::TraceRow;
use crate::train::learner;
use std::collections::BTreeMap;
use std::path::Path;

/// Learning curves of the test cost: mean and bootstrap CI over seeds at each evaluation.
fn learning_curves(p: &PointResults) -> Vec<Series> {
    p.curves
        .iter()
        .map(|(a, curves)| {
            let mut at: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for c in curves {
                for r in c {
                    if let Some(t) = r.test_cost {
                        at.entry(r.env_steps).or_default().push(t);
                    }
                }
            }
            Series {
                name: a.name().into(),
                points: at
                    .into_iter()
                    .filter_map(|(x, v)| {
                        let e = estimate(&v)?;
                        Some(Band {
                            x: x as f64,
                            mean: e.mean,
                            lo: e.ci_lo,
                            hi: e.ci_hi,
                        })
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Write every plot; returns (file name, caption) pairs in report order.
pub fn write_plots(
    dir: &Path,
    res: &Results,
    report: &Report,
    day: &[DayTrace],
    feeder_limit_kw: Option<f64>,
) -> Result<Vec<(String, String)>, RunError> {
    let mut out = Vec::new();
    let mut put = |name: &str, caption: String, svg: Result<String, plots::PlotError>| {
        if let Ok(svg) = svg {
            crate::files::write_atomic(&dir.join(name), svg.as_bytes()).map_err(|reason| {
                RunError::Write {
                    path: name.into(),
                    reason,
                }
            })?;
            out.push((name.to_string(), caption));
        }
        Ok::<(), RunError>(())
    };
    let base = &res.points[0];
    let refs = |p: &PointResults| {
        let mut v = vec![("greedy".to_string(), p.reference.greedy.cost)];
        if let Some(o) = p.reference.optimum_cost {
            v.push(("optimum".to_string(), o));
        }
        v
    };
    put(
        "learning_curves.svg",
        "Test-day community cost of the deterministic policy during training (mean over seeds, 95 % bootstrap CI); greedy and the optimum as references.".into(),
        plots::lines_with_bands(
            "Learning curves (base scenario)",
            "environment steps",
            "test cost [$]",
            &learning_curves(base),
            &refs(base),
        ),
    )?;
    let bars: Vec<Bar> = report.points[0]
        .rows
        .iter()
        .filter_map(|r| {
            let c = r.cost.as_ref()?;
            Some(Bar {
                label: r.policy.clone(),
                mean: c.mean,
                lo: c.ci_lo,
                hi: c.ci_hi,
            })
        })
        .collect();
    put(
        "cost.svg",
        "Community cost on the test days per policy (learned: mean over seeds with 95 % CI)."
            .into(),
        plots::bars_with_ci("Cost per policy", "test cost [$]", &bars, &[]),
    )?;
    // Agent-count sweep: cost per household so different sizes compare.
    for axis in axes(res) {
        let pts: Vec<&PointResults> = res
            .points
            .iter()
            .filter(|p| p.point.axis.as_deref() == Some(axis.as_str()))
            .collect();
        let numeric: Vec<(f64, &PointResults)> = pts
            .iter()
            .filter_map(|p| Some((p.point.value.as_deref()?.trim().parse::<f64>().ok()?, *p)))
            .collect();
        if axis == "households" || axis.ends_with(".count") {
            let mut series: BTreeMap<String, Vec<Band>> = BTreeMap::new();
            for (x, p) in &numeric {
                let n = p.reference.greedy_bills.len().max(1) as f64;
                for (a, runs) in &p.runs {
                    if let Some(e) = estimate(&costs(runs)) {
                        series.entry(a.name().into()).or_default().push(Band {
                            x: *x,
                            mean: e.mean / n,
                            lo: e.ci_lo / n,
                            hi: e.ci_hi / n,
                        });
                    }
                }
                for (name, k) in &p.reference.policies {
                    if name == "greedy" || name == "optimum" {
                        series.entry(name.clone()).or_default().push(Band {
                            x: *x,
                            mean: k.cost / n,
                            lo: k.cost / n,
                            hi: k.cost / n,
                        });
                    }
                }
            }
            let series: Vec<Series> = series
                .into_iter()
                .map(|(name, points)| Series { name, points })
                .collect();
            put(
                "agent_count.svg",
                "RQ2: test cost per household against the number of households (learned: mean over seeds, 95 % CI).".into(),
                plots::lines_with_bands(
                    "Cost per household vs number of agents",
                    "households",
                    "test cost per household [$]",
                    &series,
                    &[],
                ),
            )?;
        }
        if axis == "reward.mix" {
            let mut fp = Vec::new();
            for (x, p) in &numeric {
                for (a, runs) in &p.runs {
                    let (Some(c), Some(ir)) = (
                        estimate(&costs(runs)),
                        estimate(
                            &runs
                                .iter()
                                .map(|r| r.individual_rationality)
                                .collect::<Vec<_>>(),
                        ),
                    ) else {
                        continue;
                    };
                    fp.push(FrontPoint {
                        label: format!("{} mix {x}", a.name()),
                        x: ir.mean,
                        y: c.mean,
                        x_ci: Some((ir.ci_lo, ir.ci_hi)),
                        y_ci: Some((c.ci_lo, c.ci_hi)),
                    });
                }
            }
            put(
                "reward_mix.svg",
                "RQ4: community cost against the share of households whose bill is no higher than under greedy, per reward mix (0 = individual, 1 = social); the Pareto front is connected.".into(),
                plots::tradeoff(
                    "Individual rationality vs social cost",
                    "share of households better off than greedy",
                    "test cost [$]",
                    &fp,
                    true,
                    true,
                ),
            )?;
        }
    }
    if !day.is_empty() {
        put(
            "day.svg",
            "One test day: feeder flow, mean state of charge and import price for greedy, the learned policy (seed 0) and the optimum.".into(),
            plots::day_panels("A test day", day, feeder_limit_kw),
        )?;
    }
    Ok(out)
}

/// The first test day of the base point for greedy, each algorithm's seed-0 policy and
/// the optimum.
pub fn day_traces(
    dir: &Path,
    res: &Results,
    points: &[CheckedPoint],
    backend: Backend,
) -> Option<(Vec<DayTrace>, Option<f64>)> {
    let s = points.first()?.scenario()?;
    let exp = s
        .experiments
        .iter()
        .find(|e| e.name == res.plan.experiment)?;
    let day = *res.points.first()?.reference.days.first()?;
    let mut env = Env::with_backend(s, exp, 1, backend).ok()?;
    let capacity: f64 = env.ir.household_param(Field::Capacity).iter().sum();
    let step_h = exp.step_s / 3600.0;
    let to_trace = |name: &str, rows: &[TraceRow]| day_trace(name, rows, capacity, step_h);
    let mut out = Vec::new();
    let (_, rec) = evaluate(&mut env, &[day], true, |e| Rule::Greedy.actions(e)).ok()?;
    out.push(to_trace("greedy", rec.trace.as_deref()?));
    for run in res.plan.runs.iter().filter(|r| r.point == 0 && r.seed == 0) {
        if let Ok(learner) = checkpoint::load_learner(&exec::run_dir(dir, &run.id)) {
            if let Ok((_, rec)) = learner::evaluate_policy(&mut env, &learner, &[day], true) {
                out.push(to_trace(
                    run.algo.name(),
                    rec.trace.as_deref().unwrap_or_default(),
                ));
            }
        }
    }
    if res.plan.optimum {
        let sim = simulate(
            s,
            exp,
            &[day],
            &SimOptions {
                baselines: vec![],
                optimum: true,
                trace_policy: Some("optimum".into()),
                backend,
            },
        )
        .ok()?;
        out.push(to_trace("optimum", &sim.trace));
    }
    let limit = s
        .network
        .feeders
        .iter()
        .map(|f| f.limit_w / 1e3)
        .filter(|w| w.is_finite())
        .reduce(f64::min);
    Some((out, limit))
}

fn day_trace(policy: &str, rows: &[TraceRow], capacity_kwh: f64, step_h: f64) -> DayTrace {
    let steps = rows.iter().map(|r| r.step + 1).max().unwrap_or(0);
    let mut flow = vec![f64::NEG_INFINITY; steps];
    let mut soc = vec![0.0; steps];
    let mut price = vec![0.0; steps];
    for r in rows {
        flow[r.step] = flow[r.step].max(r.feeder_flow_kw);
        soc[r.step] += r.soc_kwh;
        price[r.step] = r.price_import;
    }
    DayTrace {
        policy: policy.into(),
        hours: (0..steps).map(|k| k as f64 * step_h).collect(),
        feeder_flow_kw: flow,
        mean_soc: soc
            .iter()
            .map(|e| {
                if capacity_kwh > 0.0 {
                    e / capacity_kwh
                } else {
                    0.0
                }
            })
            .collect(),
        price,
    }
}
