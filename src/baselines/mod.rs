//! Baselines: rule policies (`rules`) and the perfect-foresight optimum (`lp`).

pub mod lp;
pub mod rules;
pub mod simulate;

use crate::ir::Field;
use crate::sim::env::{Env, EnvError};
use crate::sim::kpi::{Kpis, Recorder};

/// Run a policy over the given days (one environment per day) and measure it.
pub fn evaluate(
    env: &mut Env,
    days: &[u32],
    trace: bool,
    mut policy: impl FnMut(&Env) -> Vec<f64>,
) -> Result<(Kpis, Recorder), EnvError> {
    let mut rec = Recorder::new(env.ir.households, trace);
    env.reset(days);
    loop {
        let before = env.m.house[Field::Energy as usize].clone();
        let actions = policy(env);
        let done = env.step_households(&actions)?;
        rec.record(env, &before);
        if done {
            break;
        }
    }
    Ok((rec.kpis(env), rec))
}
