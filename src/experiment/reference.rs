//! Greedy and the optimum on the test days: the anchors of every headline metric,
//! computed once per scenario and shared by all runs on it.

use crate::baselines::evaluate;
use crate::baselines::simulate::{simulate, SimOptions};
use crate::experiment::error::RunError;
use crate::model::Rule;
use crate::model::{Experiment, Scenario};
use crate::sim::coordination::{coordination as coordination_of, Coordination};
use crate::sim::env::{Backend, Env};
use crate::sim::kpi::Kpis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The reference policies' KPIs on the test days.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reference {
    pub days: Vec<u32>,
    pub greedy: Kpis,
    pub greedy_bills: Vec<f64>,
    pub optimum_cost: Option<f64>,
    /// Every baseline of the experiment, `optimum` and `selfish_optimum`, with the
    /// headline metrics filled in, in `order`.
    pub policies: BTreeMap<String, Kpis>,
    pub order: Vec<String>,
    pub individual_rationality: BTreeMap<String, f64>,
    pub price_of_anarchy: Option<f64>,
    /// Coordination metrics of greedy and (when computed) the optimum.
    pub coordination: BTreeMap<String, Coordination>,
}

pub fn test_days(exp: &Experiment) -> Vec<u32> {
    exp.test_days.iter().flat_map(|(x, y)| *x..=*y).collect()
}

pub fn reference(s: &Scenario, exp: &Experiment, backend: Backend) -> Result<Reference, RunError> {
    let days = test_days(exp);
    let mut baselines: Vec<Rule> = exp
        .baselines
        .iter()
        .filter_map(|b| Rule::parse(b))
        .collect();
    if !baselines.contains(&Rule::Greedy) {
        baselines.push(Rule::Greedy);
    }
    let sim = simulate(
        s,
        exp,
        &days,
        &SimOptions {
            baselines,
            optimum: exp.optimum.is_some(),
            trace_policy: Some("optimum".into()),
            backend,
        },
    )?;
    let step_h = exp.step_s / 3600.0;
    let mut coordination = BTreeMap::new();
    if !sim.trace.is_empty() {
        coordination.insert("optimum".to_string(), coordination_of(&sim.trace, step_h));
    }
    let mut env = Env::with_backend(s, exp, days.len(), backend)?;
    let (_, rec) = evaluate(&mut env, &days, true, |e| Rule::Greedy.actions(e))?;
    coordination.insert(
        "greedy".to_string(),
        coordination_of(rec.trace.as_deref().unwrap_or_default(), step_h),
    );
    let greedy = sim.results["greedy"].kpis.clone();
    Ok(Reference {
        days,
        greedy_bills: greedy.bills.clone(),
        greedy,
        optimum_cost: sim.results.get("optimum").map(|r| r.kpis.cost),
        policies: sim
            .results
            .iter()
            .map(|(k, v)| (k.clone(), v.kpis.clone()))
            .collect(),
        order: sim.order.clone(),
        individual_rationality: sim.individual_rationality.clone(),
        price_of_anarchy: sim.price_of_anarchy,
        coordination,
    })
}

/// The share of the greedy→optimum cost gap that `cost` closes.
pub fn gap_closed(r: &Reference, cost: f64) -> Option<f64> {
    r.optimum_cost.and_then(|o| {
        ((r.greedy.cost - o).abs() > 1e-9).then(|| (r.greedy.cost - cost) / (r.greedy.cost - o))
    })
}
