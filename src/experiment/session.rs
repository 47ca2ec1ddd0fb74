//! One training run from start to finish, shared by `gridc train` and `gridc run`:
//! build the env, train on the experiment's train days (checkpointing atomically, resuming
//! exactly), evaluate the deterministic policy on every test day with the same Env + KPI
//! code as the baselines, and return a typed [`Summary`].

use super::checkpoint::{self, Best, Checkpoint, Clock};
use super::reference::{gap_closed, Reference};
use crate::experiment::error::RunError;
use crate::model::{Experiment, Scenario};
use crate::sim::coordination::{coordination as coordination_of, Coordination};
use crate::sim::env::{Backend, Env};
use crate::sim::kpi::Kpis;
use crate::train::common::Rng;
use crate::train::learner::{evaluate_policy, Algo, Learner};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// What a run is: everything that changes its result besides the scenario, and the
/// run-level schedule (how often to evaluate, checkpoint, and how many validation days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub algo: Algo,
    pub seed: u64,
    /// Environment steps (batch × steps per episode per update).
    pub budget: u64,
    /// Environments (days) per update (default [`RunConfig::DEFAULT_BATCH`]).
    pub batch: usize,
    pub backend: Backend,
    /// Hyper-parameter overrides (`--hp name=value`), applied to the algorithm's defaults.
    pub hyper: Vec<(String, String)>,
    /// Evaluate the deterministic policy on the test days every this many updates (the
    /// learning curve; monitoring only) and, with model selection, on the validation days.
    pub eval_every: u64,
    /// Write a checkpoint every this many updates (and at the end).
    pub checkpoint_every: u64,
    /// At most this many validation days for model selection, spread evenly over the
    /// training days.
    pub validation_days: usize,
}

impl RunConfig {
    /// Environments (days) per update unless `--batch` says otherwise.
    pub const DEFAULT_BATCH: usize = 32;

    /// A run of `algo` with every other setting at its default.
    pub fn new(algo: Algo, seed: u64, budget: u64) -> RunConfig {
        RunConfig {
            algo,
            seed,
            budget,
            batch: RunConfig::DEFAULT_BATCH,
            backend: Backend::Jit,
            hyper: Vec::new(),
            eval_every: 10,
            checkpoint_every: 10,
            validation_days: 16,
        }
    }
}

/// One row of the learning curve.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
pub struct CurveRow {
    pub update: u64,
    pub env_steps: u64,
    /// Mean over agents and environments of the training episode's summed reward ($).
    pub mean_episode_return: f64,
    pub policy_loss: f32,
    pub value_loss: f32,
    /// Community cost of the deterministic policy on the test days (every `eval_every`
    /// updates; empty otherwise). Monitoring only: the final policy is always the last.
    pub test_cost: Option<f64>,
}

/// Where the training time goes (`gridc train --profile`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Stepping the environment (JIT or interpreter kernels, observations, rewards).
    pub env_s: f64,
    /// Policy and value forward passes while collecting experience.
    pub act_s: f64,
    /// Gradient updates.
    pub learn_s: f64,
    /// Periodic evaluation on the test days (monitoring) and the validation days (model
    /// selection).
    pub eval_s: f64,
    /// Floating-point operations of the network passes while learning (so learning's
    /// GFLOP/s is `learn_flops / learn_s / 1e9`).
    #[serde(default)]
    pub learn_flops: f64,
}

/// The run's result, written as DIR/summary.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub algo: Algo,
    pub seed: u64,
    pub env_steps: u64,
    pub wall_s: f64,
    pub env_steps_per_s: f64,
    pub timing: Timing,
    pub test_days: usize,
    pub test_cost: f64,
    pub greedy_cost: f64,
    pub optimum_cost: Option<f64>,
    pub cost_reduction_vs_greedy: Option<f64>,
    pub gap_closed: Option<f64>,
    pub improvement_seed_style: Option<f64>,
    /// Share of households whose test-day bill is no higher than under greedy (acting alone).
    pub individual_rationality: f64,
    /// With model selection (`select_best`): the update whose policy was kept and its
    /// community cost on the validation days.
    #[serde(default)]
    pub selected_update: Option<u64>,
    #[serde(default)]
    pub validation_cost: Option<f64>,
    pub coordination: Coordination,
    pub kpis: Kpis,
}

/// The validation days of model selection: a fixed, evenly spaced sample of the training
/// days (they stay training days; the test days are never looked at).
pub fn validation_days(train_days: &[u32], at_most: usize) -> Vec<u32> {
    let k = train_days.len().min(at_most);
    (0..k)
        .map(|i| train_days[i * train_days.len() / k])
        .collect()
}

/// Progress after each update, for progress bars.
pub struct Progress<'a> {
    pub env_steps: u64,
    pub budget: u64,
    pub row: &'a CurveRow,
    /// The latest test-day cost and the share of the greedy→optimum gap it closes.
    pub last_test: Option<(f64, Option<f64>)>,
}

/// Train (or resume) one run in `out`, then evaluate it. `stop_after_updates` interrupts
/// the run after a checkpoint (used by tests to simulate a killed process).
pub fn train(
    s: &Scenario,
    exp: &Experiment,
    rc: &RunConfig,
    reference: &Reference,
    out: &Path,
    resume: bool,
    stop_after_updates: Option<u64>,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Option<Summary>, RunError> {
    if rc.batch == 0 {
        return Err(RunError::BatchNotPositive);
    }
    let mut env = Env::with_backend(s, exp, rc.batch, rc.backend)?;
    let per_update = (rc.batch * env.steps()) as u64;
    if rc.budget < per_update {
        return Err(RunError::BudgetTooSmall {
            budget: rc.budget,
            per_update,
            batch: rc.batch,
            steps: env.steps(),
        });
    }
    let learner = Learner::new(&env, rc.algo, &rc.hyper, rc.seed)?;
    let hash = checkpoint::fnv1a(
        format!(
            "{}|{}|{}|{:?}|{:?}",
            serde_json::to_string(s).unwrap_or_default(),
            rc.algo.name(),
            rc.batch,
            rc.hyper,
            exp.name
        )
        .as_bytes(),
    );
    super::exec::create_dir(out)?;
    let ckpt_path = out.join("checkpoint.json");
    let mut state = if resume && ckpt_path.exists() {
        let loaded = checkpoint::load(&ckpt_path)?;
        let same = loaded.scenario_hash == hash && loaded.seed == rc.seed && loaded.algo == rc.algo;
        if !same {
            return Err(RunError::ForeignCheckpoint(ckpt_path));
        }
        loaded
    } else {
        Checkpoint {
            scenario_hash: hash,
            algo: rc.algo,
            seed: rc.seed,
            env_steps: 0,
            updates: 0,
            day_rng: Rng::new(rc.seed ^ 0xD1CE),
            learner,
            curve: Vec::new(),
            best: None,
        }
    };
    let clock_path = out.join("timing.json");
    let mut clock: Clock = if resume {
        std::fs::read(&clock_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    } else {
        Clock::default()
    };
    let train_days: Vec<u32> = exp.train_days.iter().flat_map(|(x, y)| *x..=*y).collect();
    let mut eval_env = Env::with_backend(s, exp, reference.days.len(), rc.backend)?;
    let select = state.learner.select_best();
    let val_days = validation_days(&train_days, rc.validation_days);
    let mut val_env = if select {
        Some(Env::with_backend(s, exp, val_days.len(), rc.backend)?)
    } else {
        None
    };
    let start = Instant::now();
    let wall_before = clock.wall_s;
    let mut last_test = state
        .curve
        .iter()
        .rev()
        .find_map(|r| r.test_cost)
        .map(|c| (c, gap_closed(reference, c)));
    while state.env_steps + per_update <= rc.budget {
        let days: Vec<u32> = (0..rc.batch)
            .map(|_| train_days[state.day_rng.below(train_days.len())])
            .collect();
        let progress = state.env_steps as f64 / rc.budget as f64;
        let u = state.learner.train_episode(&mut env, &days, progress)?;
        state.env_steps += per_update;
        state.updates += 1;
        clock.timing.env_s += u.env_s;
        clock.timing.act_s += u.act_s;
        clock.timing.learn_s += u.learn_s;
        clock.timing.learn_flops += u.learn_flops;
        // Only at fixed update counts, so an interrupted and resumed run is identical.
        let test_cost = if state.updates % rc.eval_every == 0 {
            let t0 = Instant::now();
            let (k, _) = evaluate_policy(&mut eval_env, &state.learner, &reference.days, false)?;
            last_test = Some((k.cost, gap_closed(reference, k.cost)));
            if let Some(env) = val_env.as_mut() {
                consider(&mut state, env, &val_days)?;
            }
            clock.timing.eval_s += t0.elapsed().as_secs_f64();
            Some(k.cost)
        } else {
            None
        };
        state.curve.push(CurveRow {
            update: state.updates,
            env_steps: state.env_steps,
            mean_episode_return: u.mean_episode_return,
            policy_loss: u.policy_loss,
            value_loss: u.value_loss,
            test_cost,
        });
        on_progress(&Progress {
            env_steps: state.env_steps,
            budget: rc.budget,
            row: state.curve.last().expect("just pushed"),
            last_test,
        });
        if state.updates % rc.checkpoint_every == 0 {
            clock.wall_s = wall_before + start.elapsed().as_secs_f64();
            checkpoint::save(&ckpt_path, &state, &clock_path, &clock)?;
            if stop_after_updates.is_some_and(|n| state.updates >= n) {
                return Ok(None);
            }
        }
    }
    // The last policy is a candidate too (it may not have been evaluated yet).
    if let Some(env) = val_env.as_mut() {
        if !state.updates.is_multiple_of(rc.eval_every) {
            let t0 = Instant::now();
            consider(&mut state, env, &val_days)?;
            clock.timing.eval_s += t0.elapsed().as_secs_f64();
        }
    }
    clock.wall_s = wall_before + start.elapsed().as_secs_f64();
    checkpoint::save(&ckpt_path, &state, &clock_path, &clock)?;
    let policy = state.best.as_ref().map_or(&state.learner, |b| &b.policy);
    let (k, rec) = evaluate_policy(&mut eval_env, policy, &reference.days, true)?;
    let coordination = coordination_of(
        rec.trace.as_deref().unwrap_or_default(),
        exp.step_s / 3600.0,
    );
    let summary = summarise(rc, &state, &clock, reference, k, coordination);
    checkpoint::write_atomic(&out.join("curve.csv"), curve_csv(&state.curve).as_bytes())?;
    let text = serde_json::to_string_pretty(&summary)? + "\n";
    checkpoint::write_atomic(&out.join("summary.json"), text.as_bytes())?;
    Ok(Some(summary))
}

/// Model selection: evaluate the current policy on the validation days and keep it when it
/// is no dearer than the best so far (on a tie the later, longer-trained policy wins).
fn consider(state: &mut Checkpoint, env: &mut Env, days: &[u32]) -> Result<(), RunError> {
    let (k, _) = evaluate_policy(env, &state.learner, days, false)?;
    if state
        .best
        .as_ref()
        .is_none_or(|b| k.cost <= b.validation_cost)
    {
        state.best = Some(Best {
            update: state.updates,
            validation_cost: k.cost,
            policy: state.learner.policy_copy(),
        });
    }
    Ok(())
}

fn summarise(
    rc: &RunConfig,
    state: &Checkpoint,
    clock: &Clock,
    r: &Reference,
    k: Kpis,
    coordination: Coordination,
) -> Summary {
    let g = &r.greedy;
    let better = k
        .bills
        .iter()
        .zip(&r.greedy_bills)
        .filter(|(x, g)| **x <= **g + 1e-9)
        .count();
    Summary {
        algo: rc.algo,
        seed: rc.seed,
        env_steps: state.env_steps,
        wall_s: clock.wall_s,
        env_steps_per_s: state.env_steps as f64 / clock.wall_s.max(1e-9),
        timing: clock.timing,
        test_days: r.days.len(),
        test_cost: k.cost,
        greedy_cost: g.cost,
        optimum_cost: r.optimum_cost,
        cost_reduction_vs_greedy: (g.cost.abs() > 1e-12).then(|| (g.cost - k.cost) / g.cost.abs()),
        gap_closed: gap_closed(r, k.cost),
        improvement_seed_style: (g.mean_episode_reward.abs() > 1e-12)
            .then(|| (k.mean_episode_reward - g.mean_episode_reward) / g.mean_episode_reward.abs()),
        individual_rationality: better as f64 / k.bills.len().max(1) as f64,
        selected_update: state.best.as_ref().map(|b| b.update),
        validation_cost: state.best.as_ref().map(|b| b.validation_cost),
        coordination,
        kpis: k,
    }
}

fn curve_csv(rows: &[CurveRow]) -> String {
    let mut s =
        String::from("update,env_steps,mean_episode_return,policy_loss,value_loss,test_cost\n");
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.update,
            r.env_steps,
            r.mean_episode_return,
            r.policy_loss,
            r.value_loss,
            r.test_cost.map(|c| c.to_string()).unwrap_or_default()
        ));
    }
    s
}
