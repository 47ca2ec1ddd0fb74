//! `gridc sim`'s computation: every baseline, the optimum and the selfish optimum over the
//! chosen days, with KPIs, headline metrics and the CityLearn-style scorecard.

use crate::baselines::{evaluate, lp};
use crate::model::Rule;
use crate::model::{Experiment, Scenario};
use crate::sim::env::{Env, EnvError};
use crate::sim::episode::episode;
use crate::sim::kpi::{Kpis, TraceRow};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Lp(#[from] lp::LpError),
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    #[serde(flatten)]
    pub kpis: Kpis,
    /// Each KPI divided by its no-battery value (CityLearn style; lower is better).
    pub scorecard: Option<Scorecard>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub cost: f64,
    pub consumption: f64,
    pub daily_peak: f64,
    pub ramping: f64,
    pub one_minus_load_factor: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimResults {
    pub days: Vec<u32>,
    /// In the order: baselines, then `optimum` and `selfish_optimum`.
    pub results: BTreeMap<String, PolicyResult>,
    pub order: Vec<String>,
    /// Σ of the LP objectives over the days ($), to compare with the replayed cost.
    pub optimum_lp_objective: Option<f64>,
    pub price_of_anarchy: Option<f64>,
    pub energy_balance_max_residual_kwh: f64,
    /// Individual rationality per policy: share of households whose bill ≤ greedy's.
    pub individual_rationality: BTreeMap<String, f64>,
    #[serde(skip)]
    pub trace: Vec<TraceRow>,
}

pub struct SimOptions {
    pub baselines: Vec<Rule>,
    pub optimum: bool,
    /// Which policy's trace to keep (`--trace`).
    pub trace_policy: Option<String>,
    pub backend: crate::sim::env::Backend,
}

pub fn simulate(
    s: &Scenario,
    exp: &Experiment,
    days: &[u32],
    opts: &SimOptions,
) -> Result<SimResults, SimError> {
    let mut env = Env::with_backend(s, exp, days.len(), opts.backend)?;
    let mut results = BTreeMap::new();
    let mut order = Vec::new();
    let mut residual: f64 = 0.0;
    let mut trace = Vec::new();
    let mut rules = opts.baselines.clone();
    // Greedy and no_battery anchor the headline metrics and the scorecard.
    for r in [Rule::NoBattery, Rule::Greedy] {
        if !rules.contains(&r) {
            rules.push(r);
        }
    }
    let mut measured: Vec<(String, Kpis, bool)> = Vec::new();
    for r in &rules {
        let keep = opts.trace_policy.as_deref() == Some(r.name());
        let (k, rec) = evaluate(&mut env, days, keep, |e| r.actions(e))?;
        residual = residual.max(rec.max_residual_kwh);
        if let Some(t) = rec.trace {
            trace = t;
        }
        measured.push((r.name().to_string(), k, opts.baselines.contains(r)));
    }
    let mut lp_objective = None;
    let mut poa = None;
    if opts.optimum {
        let steps = env.steps();
        let horizon = 0;
        let episodes: Vec<_> = days
            .iter()
            .map(|&d| episode(s, exp, d, steps, horizon))
            .collect();
        let others = crate::baselines::others_power(&mut env, days)?;
        for (name, community) in [("optimum", true), ("selfish_optimum", false)] {
            let schedules: Result<Vec<lp::Schedule>, lp::LpError> = episodes
                .par_iter()
                .zip(&others)
                .map(|(ep, fixed)| lp::solve(&env.ir, ep, community, fixed))
                .collect();
            let schedules = schedules?;
            if community {
                lp_objective = Some(schedules.iter().map(|s| s.objective).sum());
            }
            let n = env.ir.households;
            let keep = opts.trace_policy.as_deref() == Some(name);
            let (k, rec) = evaluate(&mut env, days, keep, |e| {
                let t = e.t;
                schedules
                    .iter()
                    .flat_map(|s| s.actions[t * n..(t + 1) * n].iter().copied())
                    .collect()
            })?;
            residual = residual.max(rec.max_residual_kwh);
            if let Some(t) = rec.trace {
                trace = t;
            }
            measured.push((name.to_string(), k, true));
        }
    }
    let find = |name: &str| measured.iter().find(|m| m.0 == name).map(|m| m.1.clone());
    let greedy = find("greedy");
    let none = find("no_battery");
    let opt = find("optimum");
    if let (Some(o), Some(sf)) = (&opt, find("selfish_optimum")) {
        // A ratio of costs only means "how many times worse" when both are positive; a
        // community that earns money (optimum cost ≤ 0) has no price of anarchy.
        poa = (o.cost > 1e-12 && sf.cost >= 0.0).then(|| sf.cost / o.cost);
    }
    let mut rationality = BTreeMap::new();
    for (name, mut k, shown) in measured {
        if let Some(g) = &greedy {
            k.cost_reduction_vs_greedy =
                (g.cost.abs() > 1e-12).then(|| (g.cost - k.cost) / g.cost.abs());
            k.improvement_seed_style = (g.mean_episode_reward.abs() > 1e-12).then(|| {
                (k.mean_episode_reward - g.mean_episode_reward) / g.mean_episode_reward.abs()
            });
            if let Some(o) = &opt {
                k.gap_closed =
                    ((g.cost - o.cost).abs() > 1e-9).then(|| (g.cost - k.cost) / (g.cost - o.cost));
            }
            let better = k
                .bills
                .iter()
                .zip(&g.bills)
                .filter(|(a, b)| **a <= **b + 1e-9)
                .count();
            rationality.insert(name.clone(), better as f64 / k.bills.len().max(1) as f64);
        }
        let scorecard = none.as_ref().map(|z| {
            let ratio = |a: f64, b: f64| if b.abs() > 1e-12 { a / b } else { 1.0 };
            Scorecard {
                cost: ratio(k.cost, z.cost),
                consumption: ratio(k.import_kwh, z.import_kwh),
                daily_peak: ratio(k.peak_kw, z.peak_kw),
                ramping: ratio(k.ramping_kw, z.ramping_kw),
                one_minus_load_factor: ratio(1.0 - k.load_factor, 1.0 - z.load_factor),
            }
        });
        if shown {
            order.push(name.clone());
            results.insert(name, PolicyResult { kpis: k, scorecard });
        }
    }
    Ok(SimResults {
        days: days.to_vec(),
        results,
        order,
        optimum_lp_objective: lp_objective,
        price_of_anarchy: poa,
        energy_balance_max_residual_kwh: residual,
        individual_rationality: rationality,
        trace,
    })
}
