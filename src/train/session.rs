//! One training run from start to finish, shared by `gridc train` and `gridc run`:
//! build the env, train on the experiment's train days (checkpointing atomically, resuming
//! exactly), evaluate the deterministic policy on every test day with the same Env + KPI
//! code as the baselines, and return a typed [`Summary`].

use super::maddpg::{Maddpg, MaddpgConfig};
use super::ppo::{Ppo, PpoConfig, Rng, Update};
use crate::baselines::simulate::{simulate, SimOptions};
use crate::baselines::{evaluate, rules::Rule};
use crate::model::{Experiment, Scenario};
use crate::sim::coordination::{coordination as coordination_of, Coordination};
use crate::sim::env::{Backend, Env};
use crate::sim::kpi::Kpis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    Ippo,
    Mappo,
    Maddpg,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Ippo => "ippo",
            Algo::Mappo => "mappo",
            Algo::Maddpg => "maddpg",
        }
    }
    pub fn from_name(name: &str) -> Option<Algo> {
        [Algo::Ippo, Algo::Mappo, Algo::Maddpg]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// What a run is: everything that changes its result besides the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub algo: Algo,
    pub seed: u64,
    /// Environment steps (batch × steps per episode per update).
    pub budget: u64,
    /// Environments (days) per update.
    pub batch: usize,
    pub backend: Backend,
    /// Hyper-parameter overrides (`--hp name=value`), applied to the algorithm's defaults.
    pub hyper: Vec<(String, String)>,
}

/// The learner's whole state (serialised into checkpoints).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Learner {
    Ppo(Box<Ppo>),
    Maddpg(Box<Maddpg>),
}

impl Learner {
    fn train_episode(
        &mut self,
        env: &mut Env,
        days: &[u32],
        progress: f64,
    ) -> Result<Update, String> {
        match self {
            Learner::Ppo(p) => p
                .train_episode(env, days, progress)
                .map_err(|e| e.to_string()),
            Learner::Maddpg(m) => m.train_episode(env, days).map_err(|e| e.to_string()),
        }
    }
    pub fn act_deterministic(&self, obs: &[f32], batch: usize) -> Vec<f32> {
        match self {
            Learner::Ppo(p) => p.act_deterministic(obs, batch),
            Learner::Maddpg(m) => m.act_deterministic(obs, batch),
        }
    }
    /// Whether the run's result is the best policy on the validation days (model
    /// selection) rather than the last.
    fn select_best(&self) -> bool {
        match self {
            Learner::Ppo(p) => p.cfg.select_best,
            Learner::Maddpg(m) => m.cfg.select_best,
        }
    }
    /// A copy that can act (and be evaluated) but not continue training.
    fn policy_copy(&mut self) -> Learner {
        match self {
            Learner::Ppo(p) => Learner::Ppo(p.clone()),
            Learner::Maddpg(m) => Learner::Maddpg(Box::new(m.policy_copy())),
        }
    }
}

/// Apply `name=value` overrides to a hyper-parameter struct through its serde form, so
/// every documented field is settable and unknown names are an error listing the known ones.
pub fn apply_hyper<T: Serialize + serde::de::DeserializeOwned>(
    cfg: T,
    overrides: &[(String, String)],
) -> Result<T, String> {
    let mut v = serde_json::to_value(cfg).map_err(|e| e.to_string())?;
    let Some(map) = v.as_object_mut() else {
        return Err("hyper-parameters are not a struct".into());
    };
    for (k, raw) in overrides {
        let Some(slot) = map.get_mut(k) else {
            let known: Vec<&str> = map.keys().map(|s| s.as_str()).collect();
            return Err(format!(
                "unknown hyper-parameter `{k}`; known: {}",
                known.join(", ")
            ));
        };
        let parsed: serde_json::Value = serde_json::from_str(raw)
            .map_err(|_| format!("hyper-parameter `{k}`: `{raw}` is not a number or boolean"))?;
        let same_kind = matches!(
            (&*slot, &parsed),
            (serde_json::Value::Number(_), serde_json::Value::Number(_))
                | (serde_json::Value::Bool(_), serde_json::Value::Bool(_))
        );
        if !same_kind {
            return Err(format!(
                "hyper-parameter `{k}` expects a value like `{slot}`, found `{raw}`"
            ));
        }
        *slot = parsed;
    }
    serde_json::from_value(v).map_err(|e| format!("hyper-parameters: {e}"))
}

fn new_learner(env: &Env, rc: &RunConfig) -> Result<Learner, String> {
    match rc.algo {
        Algo::Ippo | Algo::Mappo => {
            let cfg = apply_hyper(
                PpoConfig {
                    centralised_critic: rc.algo == Algo::Mappo,
                    ..PpoConfig::default()
                },
                &rc.hyper,
            )?;
            Ok(Learner::Ppo(Box::new(Ppo::new(env, cfg, rc.seed))))
        }
        Algo::Maddpg => {
            let cfg = apply_hyper(MaddpgConfig::default(), &rc.hyper)?;
            Ok(Learner::Maddpg(Box::new(Maddpg::new(env, cfg, rc.seed))))
        }
    }
}

/// Everything needed to continue a run exactly.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    scenario_hash: String,
    algo: Algo,
    seed: u64,
    env_steps: u64,
    updates: u64,
    day_rng: Rng,
    learner: Learner,
    curve: Vec<CurveRow>,
    /// The best policy on the validation days so far (`select_best` runs only).
    #[serde(default)]
    best: Option<Best>,
}

/// A policy kept by model selection.
#[derive(Serialize, Deserialize)]
struct Best {
    update: u64,
    validation_cost: f64,
    policy: Learner,
}

/// At most this many validation days, spread evenly over the training days.
const VALIDATION_DAYS: usize = 16;

/// The validation days of model selection: a fixed, evenly spaced sample of the training
/// days (they stay training days; the test days are never looked at).
pub fn validation_days(train_days: &[u32]) -> Vec<u32> {
    let k = train_days.len().min(VALIDATION_DAYS);
    (0..k)
        .map(|i| train_days[i * train_days.len() / k])
        .collect()
}

/// Wall-clock accounting, kept beside the checkpoint (DIR/timing.json) rather than in it,
/// so checkpoints stay byte-identical across runs; a resumed run adds to it.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct Clock {
    wall_s: f64,
    timing: Timing,
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
    /// Community cost of the deterministic policy on the test days (every `EVAL_EVERY`
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

/// Greedy and the optimum on the test days: the anchors of every headline metric,
/// computed once per scenario and shared by all runs on it.
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

pub fn reference(s: &Scenario, exp: &Experiment, backend: Backend) -> Result<Reference, String> {
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
    )
    .map_err(|e| e.to_string())?;
    let step_h = exp.step_s / 3600.0;
    let mut coordination = BTreeMap::new();
    if !sim.trace.is_empty() {
        coordination.insert("optimum".to_string(), coordination_of(&sim.trace, step_h));
    }
    let mut env = Env::with_backend(s, exp, days.len(), backend).map_err(|e| e.to_string())?;
    let (_, rec) =
        evaluate(&mut env, &days, true, |e| Rule::Greedy.actions(e)).map_err(|e| e.to_string())?;
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

/// Evaluate updates this often on the test days for the learning curve.
pub const EVAL_EVERY: u64 = 10;
const CHECKPOINT_EVERY: u64 = 10;

/// Progress after each update, for progress bars.
pub struct Progress<'a> {
    pub env_steps: u64,
    pub budget: u64,
    pub row: &'a CurveRow,
    /// The latest test-day cost and the share of the greedy→optimum gap it closes.
    pub last_test: Option<(f64, Option<f64>)>,
}

fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
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
) -> Result<Option<Summary>, String> {
    if rc.batch == 0 {
        return Err("the batch must be positive".into());
    }
    let mut env = Env::with_backend(s, exp, rc.batch, rc.backend).map_err(|e| e.to_string())?;
    let per_update = (rc.batch * env.steps()) as u64;
    if rc.budget < per_update {
        return Err(format!("a budget of {} steps is too small for one update ({per_update} environment steps: batch {} × {} steps per episode)", rc.budget, rc.batch, env.steps()));
    }
    let learner = new_learner(&env, rc)?;
    let hash = fnv1a(
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
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create `{}`: {e}", out.display()))?;
    let ckpt_path = out.join("checkpoint.json");
    let mut state = if resume && ckpt_path.exists() {
        let loaded: Checkpoint = std::fs::read(&ckpt_path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|e| format!("`{}` is not a valid checkpoint: {e}", ckpt_path.display()))?;
        let same = loaded.scenario_hash == hash && loaded.seed == rc.seed && loaded.algo == rc.algo;
        if !same {
            return Err(format!("`{}` belongs to a different scenario, algorithm, seed, batch or hyper-parameters; use another output directory or start over without resuming", ckpt_path.display()));
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
    let mut eval_env =
        Env::with_backend(s, exp, reference.days.len(), rc.backend).map_err(|e| e.to_string())?;
    let select = state.learner.select_best();
    let val_days = validation_days(&train_days);
    let mut val_env = if select {
        Some(Env::with_backend(s, exp, val_days.len(), rc.backend).map_err(|e| e.to_string())?)
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
        // Only at fixed update counts, so an interrupted and resumed run is identical.
        let test_cost = if state.updates % EVAL_EVERY == 0 {
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
        if state.updates % CHECKPOINT_EVERY == 0 {
            clock.wall_s = wall_before + start.elapsed().as_secs_f64();
            save(&ckpt_path, &state, &clock_path, &clock)?;
            if stop_after_updates.is_some_and(|n| state.updates >= n) {
                return Ok(None);
            }
        }
    }
    // The last policy is a candidate too (it may not have been evaluated yet).
    if let Some(env) = val_env.as_mut() {
        if !state.updates.is_multiple_of(EVAL_EVERY) {
            let t0 = Instant::now();
            consider(&mut state, env, &val_days)?;
            clock.timing.eval_s += t0.elapsed().as_secs_f64();
        }
    }
    clock.wall_s = wall_before + start.elapsed().as_secs_f64();
    save(&ckpt_path, &state, &clock_path, &clock)?;
    let policy = state.best.as_ref().map_or(&state.learner, |b| &b.policy);
    let (k, rec) = evaluate_policy(&mut eval_env, policy, &reference.days, true)?;
    let coordination = coordination_of(
        rec.trace.as_deref().unwrap_or_default(),
        exp.step_s / 3600.0,
    );
    let summary = summarise(rc, &state, &clock, reference, k, coordination);
    write_atomic(&out.join("curve.csv"), curve_csv(&state.curve).as_bytes())?;
    let text = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())? + "\n";
    write_atomic(&out.join("summary.json"), text.as_bytes())?;
    Ok(Some(summary))
}

/// Model selection: evaluate the current policy on the validation days and keep it when it
/// is no dearer than the best so far (on a tie the later, longer-trained policy wins).
fn consider(state: &mut Checkpoint, env: &mut Env, days: &[u32]) -> Result<(), String> {
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

fn gap_closed(r: &Reference, cost: f64) -> Option<f64> {
    r.optimum_cost.and_then(|o| {
        ((r.greedy.cost - o).abs() > 1e-9).then(|| (r.greedy.cost - cost) / (r.greedy.cost - o))
    })
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

/// The deterministic policy on the given days (one environment per day); households
/// that are not agents keep their batteries idle (the agent API).
pub fn evaluate_policy(
    env: &mut Env,
    learner: &Learner,
    days: &[u32],
    trace: bool,
) -> Result<(Kpis, crate::sim::kpi::Recorder), String> {
    let n = env.ir.households;
    evaluate(env, days, trace, |e| {
        let obs = e.observe();
        let acts = learner.act_deterministic(&obs, e.batch());
        let mut per_house = vec![0.0; e.batch() * n];
        let ad = e.act_dim();
        for b in 0..e.batch() {
            for (ai, &h) in e.scenario.agents.households.iter().enumerate() {
                per_house[b * n + h] = acts[(b * e.agents() + ai) * ad] as f64;
            }
        }
        per_house
    })
    .map_err(|e| e.to_string())
}

/// The run's policy saved in `out`'s checkpoint (the selected one under model selection),
/// for traces and plots after a run.
pub fn load_learner(out: &Path) -> Result<Learner, String> {
    let path = out.join("checkpoint.json");
    let bytes =
        std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let c: Checkpoint = serde_json::from_slice(&bytes)
        .map_err(|e| format!("`{}` is not a valid checkpoint: {e}", path.display()))?;
    Ok(c.best.map_or(c.learner, |b| b.policy))
}

fn save(path: &Path, c: &Checkpoint, clock_path: &Path, clock: &Clock) -> Result<(), String> {
    let bytes = serde_json::to_vec(c).map_err(|e| e.to_string())?;
    write_atomic(path, &bytes)?;
    let bytes = serde_json::to_vec(clock).map_err(|e| e.to_string())?;
    write_atomic(clock_path, &bytes)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::files::write_atomic(path, bytes)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
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
