//! What the run machinery (experiment/) drives: the algorithm choice, the learner's whole
//! state (PPO family or MADDPG) built with its `--hp` overrides (hyper.rs), and the
//! deterministic policy evaluated with the same Env + KPI code as the baselines.

use super::common::Update;
use super::hyper::{apply_hyper, HyperError};
use super::maddpg::{Maddpg, MaddpgConfig};
use super::ppo::{Ppo, PpoConfig};
use crate::baselines::evaluate;
use crate::sim::env::{Env, EnvError};
use crate::sim::kpi::{Kpis, Recorder};
use serde::{Deserialize, Serialize};

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

/// The learner's whole state (serialised into checkpoints).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Learner {
    Ppo(Box<Ppo>),
    Maddpg(Box<Maddpg>),
}

impl Learner {
    pub fn train_episode(
        &mut self,
        env: &mut Env,
        days: &[u32],
        progress: f64,
    ) -> Result<Update, EnvError> {
        match self {
            Learner::Ppo(p) => p.train_episode(env, days, progress),
            Learner::Maddpg(m) => m.train_episode(env, days),
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
    pub fn select_best(&self) -> bool {
        match self {
            Learner::Ppo(p) => p.cfg.select_best,
            Learner::Maddpg(m) => m.cfg.select_best,
        }
    }
    /// A copy that can act (and be evaluated) but not continue training.
    pub fn policy_copy(&mut self) -> Learner {
        match self {
            Learner::Ppo(p) => Learner::Ppo(p.clone()),
            Learner::Maddpg(m) => Learner::Maddpg(Box::new(m.policy_copy())),
        }
    }
}

/// An algorithm's hyper-parameters: its defaults with the `--hp` overrides applied.
enum Config {
    Ppo(PpoConfig),
    Maddpg(MaddpgConfig),
}

fn config(algo: Algo, hyper: &[(String, String)]) -> Result<Config, HyperError> {
    Ok(match algo {
        Algo::Ippo | Algo::Mappo => Config::Ppo(apply_hyper(
            PpoConfig {
                centralised_critic: algo == Algo::Mappo,
                ..PpoConfig::default()
            },
            hyper,
            PpoConfig::BOUNDS,
        )?),
        Algo::Maddpg => Config::Maddpg(apply_hyper(
            MaddpgConfig::default(),
            hyper,
            MaddpgConfig::BOUNDS,
        )?),
    })
}

/// Check `--hp` overrides for `algo` without building a learner (the CLI refuses bad
/// ones as usage errors before any work starts).
pub fn check_hyper(algo: Algo, hyper: &[(String, String)]) -> Result<(), HyperError> {
    config(algo, hyper).map(drop)
}

impl Learner {
    /// A fresh learner for `algo` with its defaults and the `--hp` overrides applied.
    pub fn new(
        env: &Env,
        algo: Algo,
        hyper: &[(String, String)],
        seed: u64,
    ) -> Result<Learner, HyperError> {
        Ok(match config(algo, hyper)? {
            Config::Ppo(cfg) => Learner::Ppo(Box::new(Ppo::new(env, cfg, seed))),
            Config::Maddpg(cfg) => Learner::Maddpg(Box::new(Maddpg::new(env, cfg, seed))),
        })
    }
}

/// The deterministic policy on the given days (one environment per day); households
/// that are not agents keep their batteries idle (the agent API).
pub fn evaluate_policy(
    env: &mut Env,
    learner: &Learner,
    days: &[u32],
    trace: bool,
) -> Result<(Kpis, Recorder), EnvError> {
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
}
