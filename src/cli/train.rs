//! `gridc train FILE --algo ippo|mappo`: train on the experiment's train days, evaluate the
//! deterministic policy on every test day with the same Env + KPI code as the baselines,
//! and write DIR/summary.json, DIR/curve.csv and an atomic DIR/checkpoint.json that
//! `--resume` continues from (a resumed run ends identical to an uninterrupted one).

use crate::baselines::{evaluate, rules::Rule};
use crate::check::{check_file, Options};
use crate::diag::render::render;
use crate::model::Scenario;
use crate::sim::env::{Backend, Env};
use crate::sim::report::{simulate, SimOptions};
use crate::train::ppo::{Ppo, PpoConfig, Rng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    Ippo,
    Mappo,
    Maddpg,
}

pub struct Args {
    pub file: PathBuf,
    pub algo: Algo,
    pub seed: u64,
    pub budget: Option<u64>,
    pub out: PathBuf,
    pub overrides: Vec<(String, String)>,
    pub backend: Backend,
    pub resume: bool,
    pub batch: usize,
}

/// Everything needed to continue a run exactly.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    scenario_hash: String,
    algo: String,
    seed: u64,
    env_steps: u64,
    updates: u64,
    day_rng: Rng,
    ppo: Ppo,
    curve: Vec<CurveRow>,
}

#[derive(Serialize, Deserialize, Clone)]
struct CurveRow {
    update: u64,
    env_steps: u64,
    mean_episode_return: f64,
    policy_loss: f32,
    value_loss: f32,
}

const CHECKPOINT_EVERY: u64 = 10;

fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn fail(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    1
}

pub fn run(a: Args) -> i32 {
    let checked = check_file(
        &a.file,
        &Options {
            overrides: a.overrides.clone(),
        },
    );
    for d in &checked.diagnostics {
        eprint!("{}", render(d, &checked.sources, super::color()));
    }
    let Some(s) = checked.scenario else { return 1 };
    if a.algo == Algo::Maddpg {
        eprintln!("error: MADDPG is not available in this version of gridc; use --algo ippo or --algo mappo");
        return 2;
    }
    if a.batch == 0 {
        eprintln!("error: --batch must be positive");
        return 2;
    }
    let exp = &s.experiments[0];
    let algo = if a.algo == Algo::Mappo {
        "mappo"
    } else {
        "ippo"
    };
    let mut env = match Env::with_backend(&s, exp, a.batch, a.backend) {
        Ok(e) => e,
        Err(e) => return fail(&e.to_string()),
    };
    let per_update = (a.batch * env.steps()) as u64;
    let budget = a.budget.unwrap_or(exp.budget_steps);
    if budget < per_update {
        return fail(&format!("a budget of {budget} steps is too small for one update ({per_update} environment steps: batch {} × {} steps per episode)", a.batch, env.steps()));
    }
    let cfg = PpoConfig {
        centralised_critic: a.algo == Algo::Mappo,
        ..PpoConfig::default()
    };
    let hash = fnv1a(
        format!(
            "{}|{algo}|{}|{:?}",
            serde_json::to_string(&s).unwrap_or_default(),
            a.batch,
            cfg
        )
        .as_bytes(),
    );
    if let Err(e) = std::fs::create_dir_all(&a.out) {
        return fail(&format!("cannot create `{}`: {e}", a.out.display()));
    }
    let ckpt_path = a.out.join("checkpoint.json");
    let mut state = if a.resume && ckpt_path.exists() {
        let loaded: Result<Checkpoint, String> = std::fs::read(&ckpt_path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
        match loaded {
            Ok(c) if c.scenario_hash == hash && c.seed == a.seed && c.algo == algo => c,
            Ok(_) => return fail(&format!("`{}` belongs to a different scenario, algorithm, seed or batch; use another --out or drop --resume", ckpt_path.display())),
            Err(e) => return fail(&format!("`{}` is not a valid checkpoint: {e}", ckpt_path.display())),
        }
    } else {
        Checkpoint {
            scenario_hash: hash.clone(),
            algo: algo.into(),
            seed: a.seed,
            env_steps: 0,
            updates: 0,
            day_rng: Rng::new(a.seed ^ 0xD1CE),
            ppo: Ppo::new(&env, cfg, a.seed),
            curve: Vec::new(),
        }
    };
    let train_days: Vec<u32> = exp.train_days.iter().flat_map(|(x, y)| *x..=*y).collect();
    let start = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(budget);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(state.env_steps);
    while state.env_steps + per_update <= budget {
        let days: Vec<u32> = (0..a.batch)
            .map(|_| train_days[state.day_rng.below(train_days.len())])
            .collect();
        let u = match state.ppo.train_episode(&mut env, &days) {
            Ok(u) => u,
            Err(e) => return fail(&e.to_string()),
        };
        state.env_steps += per_update;
        state.updates += 1;
        state.curve.push(CurveRow {
            update: state.updates,
            env_steps: state.env_steps,
            mean_episode_return: u.mean_episode_return,
            policy_loss: u.policy_loss,
            value_loss: u.value_loss,
        });
        bar.set_position(state.env_steps);
        bar.set_message(format!("return {:.3}", u.mean_episode_return));
        if state.updates % CHECKPOINT_EVERY == 0 {
            if let Err(e) = save(&ckpt_path, &state) {
                return fail(&e);
            }
        }
    }
    bar.finish_and_clear();
    if let Err(e) = save(&ckpt_path, &state) {
        return fail(&e);
    }
    let wall_s = start.elapsed().as_secs_f64();
    match evaluate_run(&s, a.backend, &state, algo, wall_s) {
        Ok(summary) => {
            let curve = curve_csv(&state.curve);
            if let Err(e) = super::write_atomic(&a.out.join("curve.csv"), curve.as_bytes()) {
                return fail(&format!("cannot write curve.csv: {e}"));
            }
            let text = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
            if let Err(e) = super::write_atomic(&a.out.join("summary.json"), text.as_bytes()) {
                return fail(&format!("cannot write summary.json: {e}"));
            }
            println!("{}", text.trim_end());
            0
        }
        Err(e) => fail(&e),
    }
}

fn save(path: &Path, c: &Checkpoint) -> Result<(), String> {
    let bytes = serde_json::to_vec(c).map_err(|e| e.to_string())?;
    super::write_atomic(path, &bytes).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

fn curve_csv(rows: &[CurveRow]) -> String {
    let mut s = String::from("update,env_steps,mean_episode_return,policy_loss,value_loss\n");
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{}\n",
            r.update, r.env_steps, r.mean_episode_return, r.policy_loss, r.value_loss
        ));
    }
    s
}

/// Deterministic policy on every test day, measured like the baselines, with the greedy
/// baseline and the optimum on the same days for the headline metrics.
fn evaluate_run(
    s: &Scenario,
    backend: Backend,
    state: &Checkpoint,
    algo: &str,
    wall_s: f64,
) -> Result<serde_json::Value, String> {
    let exp = &s.experiments[0];
    let days: Vec<u32> = exp.test_days.iter().flat_map(|(x, y)| *x..=*y).collect();
    let mut env = Env::with_backend(s, exp, days.len(), backend).map_err(|e| e.to_string())?;
    let n = env.ir.households;
    let ppo = &state.ppo;
    // Agents act; other households' batteries stay idle (the agent API).
    let (k, _) = evaluate(&mut env, &days, false, |e| {
        let obs = e.observe();
        let acts = ppo.act_deterministic(&obs, e.batch());
        let mut per_house = vec![0.0; e.batch() * n];
        let ad = e.act_dim();
        for b in 0..e.batch() {
            for (ai, &h) in e.scenario.agents.households.iter().enumerate() {
                per_house[b * n + h] = acts[(b * e.agents() + ai) * ad] as f64;
            }
        }
        per_house
    })
    .map_err(|e| e.to_string())?;
    let sim = simulate(
        s,
        exp,
        &days,
        &SimOptions {
            baselines: vec![Rule::Greedy],
            optimum: exp.optimum.is_some(),
            trace_policy: None,
            backend,
        },
    )
    .map_err(|e| e.to_string())?;
    let greedy = &sim.results["greedy"].kpis;
    let optimum = sim.results.get("optimum").map(|r| r.kpis.cost);
    let reduction = (greedy.cost.abs() > 1e-12).then(|| (greedy.cost - k.cost) / greedy.cost);
    let gap = optimum.and_then(|o| {
        ((greedy.cost - o).abs() > 1e-9).then(|| (greedy.cost - k.cost) / (greedy.cost - o))
    });
    let seed_style = (greedy.mean_episode_reward.abs() > 1e-12).then(|| {
        (k.mean_episode_reward - greedy.mean_episode_reward) / greedy.mean_episode_reward.abs()
    });
    let better = k
        .bills
        .iter()
        .zip(&greedy.bills)
        .filter(|(x, g)| **x <= **g + 1e-9)
        .count();
    Ok(json!({
        "algo": algo,
        "seed": state.seed,
        "env_steps": state.env_steps,
        "wall_s": wall_s,
        "test_days": days.len(),
        "test_cost": k.cost,
        "greedy_cost": greedy.cost,
        "optimum_cost": optimum,
        "cost_reduction_vs_greedy": reduction,
        "gap_closed": gap,
        "improvement_seed_style": seed_style,
        "individual_rationality": better as f64 / k.bills.len().max(1) as f64,
        "kpis": k,
    }))
}
