//! Baselines: rule policies (`rules`) and the perfect-foresight optimum (`lp`).

pub mod lp;

pub mod simulate;

use crate::ir::Field;
use crate::sim::env::{Env, EnvError};
use crate::sim::kpi::{Kpis, Recorder};

/// The battery power (kW) of the households no agent controls (`ir.others`), one vector
/// per day, `steps × others`: what their fixed policy does, which the optimum takes as
/// given (it depends only on their own inputs, not on the other households).
pub fn others_power(env: &mut Env, days: &[u32]) -> Result<Vec<Vec<f64>>, EnvError> {
    let others = env.ir.others.clone();
    let (n, steps) = (env.ir.households, env.steps());
    if others.is_empty() {
        return Ok(vec![Vec::new(); days.len()]);
    }
    let mut power = vec![Vec::with_capacity(steps * others.len()); days.len()];
    env.reset(days);
    let idle = vec![0.0; env.batch() * n];
    loop {
        let done = env.step_households(&idle)?;
        for (b, p) in power.iter_mut().enumerate() {
            p.extend(others.iter().map(|&i| env.m.h(Field::BatteryKw, b, i)));
        }
        if done {
            break;
        }
    }
    Ok(power)
}

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
