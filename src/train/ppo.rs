//! PPO for many agents, readable top to bottom (CleanRL style): IPPO (each agent's critic
//! sees its own observation) and MAPPO (a centralised critic sees every agent's
//! observation, or with `mean_field_critic` its own and their mean). Parameters are shared
//! between agents, with an identity input (identity.rs: one-hot by default). Policy: a tanh-squashed Gaussian; the squash's Jacobian depends only on the
//! pre-squash sample u, so it cancels in the PPO ratio and u is what the buffer keeps.

use super::buffer::{gae, RunningStats};
use super::common::{self, Rng, Update};
use super::hyper::Interval;
use super::identity::{self, AgentId, Identity};
use super::nn::{Adam, Mlp};
use crate::sim::env::{Env, EnvError};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Hyper-parameters, with the defaults used unless a run overrides them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    /// Centralised critic (MAPPO) instead of per-agent critics (IPPO).
    pub centralised_critic: bool,
    /// MAPPO's critic sees its own observation and the mean of the environment's
    /// observations (mean-field, width 2·obs_dim) instead of every agent's (width
    /// obs_dim·(N + 1), so O(N) per agent). On: on community16 (3 seeds, 400k steps,
    /// with the embedding) it closed 71 % of the gap against 59 % for the full state
    /// (10 seeds: 67.0 %), at a per-agent cost flat in N (docs/results.md,
    /// docs/performance.md).
    pub mean_field_critic: bool,
    /// How agents' identities enter the shared actor and critic: `one_hot` (N inputs),
    /// `embedding` (`id_width` learned inputs) or `none`. Embedding: IPPO on community16
    /// closed 66 % of the gap with it, 15 % with one-hot ids, 7 % with none.
    pub agent_id: AgentId,
    /// Width of a learned identity embedding.
    pub id_width: usize,
    /// Adam learning rate for actor and critic.
    pub lr: f32,
    /// Discount per step.
    pub gamma: f32,
    /// GAE λ.
    pub lambda: f32,
    /// Clip range of the probability ratio.
    pub clip: f32,
    /// Optimisation epochs per rollout.
    pub epochs: usize,
    /// Minibatches per epoch.
    pub minibatches: usize,
    /// Entropy bonus weight.
    pub entropy_coef: f32,
    /// Global gradient-norm limit.
    pub max_grad_norm: f32,
    /// Hidden layer width (two hidden layers, ReLU).
    pub hidden: usize,
    /// Initial log standard deviation of the policy.
    pub init_log_std: f32,
    /// Lower bound of the learned log standard deviation.
    #[serde(default = "default_min_log_std")]
    pub min_log_std: f32,
    /// Multiplies rewards before learning (costs in $ per step are small numbers).
    pub reward_scale: f32,
    /// The critic predicts returns normalised by their running mean and variance
    /// (MAPPO's value normalisation), so its targets stay O(1) whatever the $ scale.
    pub value_norm: bool,
    /// Decay the learning rate linearly to 0 over the run's budget.
    pub anneal_lr: bool,
    /// Stop optimising a rollout when a minibatch's approximate KL divergence from the
    /// rollout policy, mean((ρ − 1) − ln ρ), exceeds this (before its step; 0 = off).
    /// Guards against the single destructive updates that sent some community16 seeds
    /// from −0.3 to −4 $/agent-day in one rollout, never to recover (MAPPO seed 2: with
    /// 0.05 no collapse in 250k steps, with 0.02 learning stalled at 2750 $).
    pub target_kl: f32,
    /// Adapt the actor's learning rate to keep each minibatch's KL near this (0 = off):
    /// after a minibatch whose KL (measured before its step) exceeds twice the target the
    /// rate is divided by 1.5, below half the target multiplied by 1.5, within
    /// [lr / 1000, lr] (the "adaptive" schedule of rl_games). As log σ shrinks a fixed
    /// step moves the policy further in KL; without it single first-minibatch steps with
    /// KL > `target_kl` sent community16 seeds from −0.3 to −6 $/agent-day.
    pub adaptive_kl: f32,
    /// Weight c of c · mean(max(0, |μ| − `action_penalty_from`)²) on the pre-tanh means:
    /// where tanh saturates the actions no longer vary, the advantages carry no signal
    /// and μ would drift further into the tail unchecked. Off by default (the KL limit
    /// alone kept MAPPO seed 2 stable; with c = 1 alone it was stable too, learning slower).
    pub action_penalty: f32,
    /// |μ| below which the penalty is zero (tanh(2) = 0.96 of rated power).
    pub action_penalty_from: f32,
    /// Model selection as in `MaddpgConfig::select_best` (the policy with the lowest
    /// validation cost on training days becomes the run's result). Off: with the KL
    /// limits PPO's test curves on community16 flatten rather than diverge, and the
    /// 10-seed results in docs/results.md are of the last policy.
    pub select_best: bool,
}

impl PpoConfig {
    /// The valid range of every numeric field (`--hp` values are checked against it).
    pub const BOUNDS: &'static [(&'static str, Interval)] = &[
        ("lr", Interval::Positive),
        ("gamma", Interval::Fraction),
        ("lambda", Interval::Fraction),
        ("clip", Interval::Positive),
        ("epochs", Interval::AtLeastOne),
        ("minibatches", Interval::AtLeastOne),
        ("entropy_coef", Interval::NonNegative),
        ("max_grad_norm", Interval::Positive),
        ("hidden", Interval::AtLeastOne),
        ("id_width", Interval::AtLeastOne),
        ("init_log_std", Interval::Finite),
        ("min_log_std", Interval::Finite),
        ("reward_scale", Interval::Positive),
        ("target_kl", Interval::NonNegative),
        ("adaptive_kl", Interval::NonNegative),
        ("action_penalty", Interval::NonNegative),
        ("action_penalty_from", Interval::NonNegative),
    ];
}

fn default_min_log_std() -> f32 {
    -5.0
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            centralised_critic: false,
            mean_field_critic: true,
            agent_id: AgentId::Embedding,
            id_width: 8,
            lr: 3e-3,
            gamma: 0.99,
            lambda: 0.95,
            clip: 0.2,
            epochs: 4,
            minibatches: 4,
            entropy_coef: 0.0,
            max_grad_norm: 0.5,
            hidden: 64,
            init_log_std: -1.0,
            min_log_std: default_min_log_std(),
            reward_scale: 1.0,
            value_norm: true,
            anneal_lr: false,
            target_kl: 0.05,
            adaptive_kl: 0.01,
            action_penalty: 0.0,
            action_penalty_from: 2.0,
            select_best: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ppo {
    pub cfg: PpoConfig,
    pub actor: Mlp,
    pub critic: Mlp,
    /// The identity inputs of the actor and of the critic (learned separately).
    pub actor_id: Identity,
    pub critic_id: Identity,
    pub log_std: Vec<f32>,
    actor_opt: Adam,
    critic_opt: Adam,
    log_std_m: Vec<f32>,
    log_std_v: Vec<f32>,
    /// The adaptive-KL factor on the actor's learning rate (1 = `lr`).
    pub lr_scale: f32,
    pub rng: Rng,
    /// Running statistics of the observations; inputs are normalised with them.
    pub obs_stats: RunningStats,
    /// Running statistics of the returns (value normalisation).
    pub return_stats: RunningStats,
    agents: usize,
    obs_dim: usize,
    act_dim: usize,
}

impl Ppo {
    pub fn new(env: &Env, cfg: PpoConfig, seed: u64) -> Ppo {
        let (n, od, ad) = (env.agents(), env.obs_dim(), env.act_dim());
        let identity = |salt: u64| Identity::new(cfg.agent_id, n, cfg.id_width, seed ^ salt);
        let (actor_id, critic_id) = (identity(0xA5), identity(0xC7));
        let actor_in = od + actor_id.width();
        let critic_in = critic_state_width(&cfg, n, od) + critic_id.width();
        let h = cfg.hidden;
        let actor = common::actor_mlp(actor_in, h, ad, seed);
        let critic = common::critic_mlp(critic_in, h, seed.wrapping_add(1));
        Ppo {
            actor_opt: Adam::new(&actor, cfg.lr),
            critic_opt: Adam::new(&critic, cfg.lr),
            log_std: vec![cfg.init_log_std; ad],
            log_std_m: vec![0.0; ad],
            log_std_v: vec![0.0; ad],
            lr_scale: 1.0,
            rng: Rng::new(seed.wrapping_add(2)),
            obs_stats: RunningStats::new(od),
            return_stats: RunningStats::new(1),
            cfg,
            actor,
            critic,
            actor_id,
            critic_id,
            agents: n,
            obs_dim: od,
            act_dim: ad,
        }
    }

    /// The actor's inputs: own (normalised) observation and identity.
    fn actor_inputs(&self, obs: &[f32], batch: usize) -> Array2<f32> {
        identity::own_inputs(obs, batch, self.agents, self.obs_dim, &self.actor_id)
    }

    /// Critic inputs: own observation (IPPO); MAPPO's mean-field state (own observation,
    /// the environment's mean observation) or agent-specific global state (own
    /// observation, then everyone's); then the identity. (With only everyone's
    /// observations the critic must learn to find its own by the id, which measurably
    /// slowed learning on community16.) `obs` is already normalised.
    fn critic_inputs(&self, obs: &[f32], batch: usize) -> Array2<f32> {
        let (n, od, id) = (self.agents, self.obs_dim, &self.critic_id);
        match (self.cfg.centralised_critic, self.cfg.mean_field_critic) {
            (false, _) => identity::own_inputs(obs, batch, n, od, id),
            (true, true) => identity::mean_field_inputs(obs, batch, n, od, id),
            (true, false) => {
                let state = critic_state_width(&self.cfg, n, od);
                let mut x = Array2::zeros((batch * n, state + id.width()));
                for (r, mut row) in x.outer_iter_mut().enumerate() {
                    let row = row
                        .as_slice_mut()
                        .expect("a fresh array is in standard layout");
                    let env = r / n;
                    row[..od].copy_from_slice(&obs[r * od..(r + 1) * od]);
                    row[od..state].copy_from_slice(&obs[env * n * od..(env + 1) * n * od]);
                    id.write_row(r % n, &mut row[state..]);
                }
                x
            }
        }
    }

    /// Deterministic actions tanh(μ) for evaluation (`batch × agents × act_dim`).
    pub fn act_deterministic(&self, obs: &[f32], batch: usize) -> Vec<f32> {
        let o = common::normalized(&self.obs_stats, obs);
        common::deterministic(&self.actor.predict(&self.actor_inputs(&o, batch)))
    }

    /// Critic outputs in $ (undoing the value normalisation) for normalised `obs`.
    fn values(&self, obs: &[f32], batch: usize) -> Vec<f32> {
        let v = self.critic.predict(&self.critic_inputs(obs, batch));
        let (mean, sd) = self.return_scale();
        v.iter().map(|x| x * sd + mean).collect()
    }

    /// (mean, standard deviation) that map normalised values back to returns.
    fn return_scale(&self) -> (f32, f32) {
        if self.cfg.value_norm && self.return_stats.count > 0.0 {
            (
                self.return_stats.mean[0] as f32,
                (self.return_stats.variance(0) + 1e-8).sqrt() as f32,
            )
        } else {
            (0.0, 1.0)
        }
    }

    /// Collect one episode on every environment of the batch (one day each), then update.
    /// `progress` ∈ [0, 1) is the share of the run's budget already spent (for the
    /// learning-rate schedule).
    pub fn train_episode(
        &mut self,
        env: &mut Env,
        days: &[u32],
        progress: f64,
    ) -> Result<Update, EnvError> {
        let base_lr = if self.cfg.anneal_lr {
            self.cfg.lr * (1.0 - progress.clamp(0.0, 1.0)) as f32
        } else {
            self.cfg.lr
        };
        self.actor_opt.lr = base_lr * self.lr_scale;
        self.critic_opt.lr = base_lr;
        let (n, ad) = (self.agents, self.act_dim);
        let batch = days.len();
        let rows = batch * n;
        // 1. Rollout with the stochastic policy.
        let mut obs = env.reset(days);
        let (mut all_obs, mut all_u, mut all_r, mut all_done) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let std: Vec<f32> = self.log_std.iter().map(|l| l.exp()).collect();
        let (mut acting_logp, mut all_v) = (Vec::new(), Vec::new());
        let (mut env_s, mut act_s) = (0.0, 0.0);
        loop {
            let t_act = Instant::now();
            if self.obs_dim > 0 {
                self.obs_stats.update(&obs);
            }
            let obs_norm = common::normalized(&self.obs_stats, &obs);
            // Policy and value passes are independent: one per core.
            let (mu, values) = rayon::join(
                || self.actor.predict(&self.actor_inputs(&obs_norm, batch)),
                || self.values(&obs_norm, batch),
            );
            all_v.extend(values);
            let mut u = vec![0.0f32; rows * ad];
            for r in 0..rows {
                for j in 0..ad {
                    u[r * ad + j] = mu[(r, j)] + std[j] * self.rng.normal();
                }
            }
            acting_logp.push(gaussian_log_prob(&mu, &u, &self.log_std));
            let actions: Vec<f32> = u.iter().map(|x| x.tanh()).collect();
            act_s += t_act.elapsed().as_secs_f64();
            let t_env = Instant::now();
            let (next, rewards, done) = env.step(&actions)?;
            env_s += t_env.elapsed().as_secs_f64();
            all_obs.push(obs);
            all_u.push(u);
            all_r.extend(rewards.iter().map(|r| r * self.cfg.reward_scale));
            all_done.extend(std::iter::repeat_n(done, rows));
            obs = next;
            if done {
                break;
            }
        }
        let t_learn = Instant::now();
        let steps = all_obs.len();
        // 2. The updates train on the observations normalised with the end-of-rollout
        //    statistics: the inputs the next rollout acts on. The ratio's π_old stays the
        //    behaviour policy's log-probability (importance sampling needs the policy that
        //    acted), but the KL limits measure how far the updates move the policy from
        //    where it started on these inputs (`reference_logp`), not the drift of the
        //    statistics. Quickstart, 10 seeds, 50k steps, KL limits off, IPPO / MAPPO gap
        //    closed: training on the acting-time inputs 33 / 41 %, this scheme 66 / 63 %
        //    (the other variants measured: docs/algorithms.md).
        let all_obs: Vec<Vec<f32>> = all_obs
            .iter()
            .map(|o| common::normalized(&self.obs_stats, o))
            .collect();
        let reference_logp: Vec<f32> = all_obs
            .par_iter()
            .zip(&all_u)
            .map(|(o, u)| {
                let mu = self.actor.predict(&self.actor_inputs(o, batch));
                gaussian_log_prob(&mu, u, &self.log_std)
            })
            .collect::<Vec<Vec<f32>>>()
            .concat();
        // 3. Advantages (the episode ends: bootstrap value 0).
        all_v.extend(std::iter::repeat_n(0.0, rows));
        let (adv, ret) = gae(
            &all_r,
            &all_v,
            &all_done,
            rows,
            self.cfg.gamma,
            self.cfg.lambda,
        );
        // Value targets in the critic's units: normalised by the statistics including
        // this rollout's returns.
        if self.cfg.value_norm {
            self.return_stats.update(&ret);
        }
        let (ret_mean, ret_sd) = self.return_scale();
        let ret: Vec<f32> = ret.iter().map(|r| (r - ret_mean) / ret_sd).collect();
        let episode_return = all_r.iter().map(|r| *r as f64).sum::<f64>()
            / rows as f64
            / self.cfg.reward_scale as f64;
        // Flatten samples: index s = t * rows + r.
        let od = self.obs_dim;
        let samples = steps * rows;
        let obs_flat: Vec<f32> = all_obs.concat();
        let u_flat: Vec<f32> = all_u.concat();
        let logp_flat: Vec<f32> = acting_logp.concat();
        // 4. Optimise: epochs × minibatches over whole environments-steps (keeping the
        //    agents of one environment-step together, as the centralised critic needs).
        let units = steps * batch;
        let mb_units = (units / self.cfg.minibatches.max(1)).max(1);
        let mut order: Vec<usize> = (0..units).collect();
        let (mut pl, mut vl) = (0.0, 0.0);
        let mut learn_flops = self.actor.flops(samples, false);
        let mut steps_taken = 0usize;
        'epochs: for _ in 0..self.cfg.epochs {
            // Fisher–Yates with the seeded generator.
            for i in (1..order.len()).rev() {
                let j = self.rng.below(i + 1);
                order.swap(i, j);
            }
            for chunk in order.chunks(mb_units) {
                let m = chunk.len();
                let mut o = vec![0.0f32; m * n * od];
                let mut idx = Vec::with_capacity(m * n);
                for (q, &unit) in chunk.iter().enumerate() {
                    o[q * n * od..(q + 1) * n * od]
                        .copy_from_slice(&obs_flat[unit * n * od..(unit + 1) * n * od]);
                    idx.extend((0..n).map(|a| unit * n + a));
                }
                let a_mb: Vec<f32> = idx.iter().map(|&s| adv[s]).collect();
                let mean = a_mb.iter().sum::<f32>() / a_mb.len() as f32;
                let sd = (a_mb.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>()
                    / a_mb.len() as f32)
                    .sqrt()
                    + 1e-8;
                // Actor: clipped surrogate (+ tail penalty, − entropy bonus), in parallel
                // row blocks (nn.rs); each block also sums its KL from the reference.
                let u_mb: Vec<f32> = idx
                    .iter()
                    .flat_map(|&s| u_flat[s * ad..(s + 1) * ad].iter().copied())
                    .collect();
                let logp_mb: Vec<f32> = idx.iter().map(|&s| logp_flat[s]).collect();
                let ref_mb: Vec<f32> = idx.iter().map(|&s| reference_logp[s]).collect();
                let adv_mb: Vec<f32> = a_mb.iter().map(|a| (a - mean) / sd).collect();
                let total = idx.len();
                let x = self.actor_inputs(&o, m);
                learn_flops += self.actor.flops(total, true);
                let (cfg, log_std) = (&self.cfg, &self.log_std);
                let actor = self.actor.gradients(&x, |r, mu| {
                    let u = &u_mb[r.start * ad..r.end * ad];
                    let sur = surrogate(
                        cfg,
                        log_std,
                        mu,
                        u,
                        &logp_mb[r.clone()],
                        &adv_mb[r.clone()],
                        total,
                    );
                    let kl = kl_sum(&sur.logp, &ref_mb[r]);
                    (sur.dmu, (sur.loss, sur.dlog_std, kl))
                });
                let kl = actor.parts.iter().map(|p| p.2).sum::<f32>() / total as f32;
                // The first minibatch of a rollout meets the rollout policy itself (KL 0
                // by construction): it says nothing about the step size.
                if self.cfg.adaptive_kl > 0.0 && steps_taken > 0 {
                    let target = self.cfg.adaptive_kl;
                    if kl > 2.0 * target {
                        self.lr_scale = (self.lr_scale / 1.5).max(1e-3);
                    } else if kl < 0.5 * target {
                        self.lr_scale = (self.lr_scale * 1.5).min(1.0);
                    }
                    self.actor_opt.lr = base_lr * self.lr_scale;
                }
                if self.cfg.target_kl > 0.0 && kl > self.cfg.target_kl {
                    break 'epochs;
                }
                steps_taken += 1;
                let mut dlog_std = vec![0.0f32; ad];
                for (_, d, _) in &actor.parts {
                    dlog_std.iter_mut().zip(d).for_each(|(a, b)| *a += b);
                }
                pl = actor.parts.iter().map(|p| p.0).sum();
                let mut g = actor.grads;
                g.clip(self.cfg.max_grad_norm);
                self.actor_opt.step(&mut self.actor, &g);
                self.actor_id
                    .learn(&actor.input_grad, od, self.actor_opt.lr);
                self.step_log_std(&dlog_std);
                // Critic: squared error to the GAE returns.
                let targets: Vec<f32> = idx.iter().map(|&s| ret[s]).collect();
                let x = self.critic_inputs(&o, m);
                learn_flops += self.critic.flops(total, true);
                let clip = self.cfg.max_grad_norm;
                let (loss, dx) = common::regression_step(
                    &mut self.critic,
                    &mut self.critic_opt,
                    &x,
                    &targets,
                    clip,
                );
                vl = loss;
                let first = critic_state_width(&self.cfg, n, od);
                self.critic_id.learn(&dx, first, self.critic_opt.lr);
            }
        }
        Ok(Update {
            mean_episode_return: episode_return,
            policy_loss: pl,
            value_loss: vl,
            env_s,
            act_s,
            learn_s: t_learn.elapsed().as_secs_f64(),
            learn_flops,
        })
    }

    /// Adam on the state-independent log standard deviations.
    fn step_log_std(&mut self, g: &[f32]) {
        let t = self.actor_opt.t.max(1) as i32;
        let (b1, b2) = (0.9f32, 0.999f32);
        for j in 0..g.len() {
            self.log_std_m[j] = b1 * self.log_std_m[j] + (1.0 - b1) * g[j];
            self.log_std_v[j] = b2 * self.log_std_v[j] + (1.0 - b2) * g[j] * g[j];
            let mh = self.log_std_m[j] / (1.0 - b1.powi(t));
            let vh = self.log_std_v[j] / (1.0 - b2.powi(t));
            self.log_std[j] = (self.log_std[j] - self.actor_opt.lr * mh / (vh.sqrt() + 1e-8))
                .clamp(self.cfg.min_log_std.min(1.0), 1.0);
        }
    }
}

/// Width of the critic's inputs before the identity: own observation (IPPO), own + mean
/// (mean-field MAPPO) or own + everyone's (full-state MAPPO).
fn critic_state_width(cfg: &PpoConfig, agents: usize, obs_dim: usize) -> usize {
    match (cfg.centralised_critic, cfg.mean_field_critic) {
        (false, _) => obs_dim,
        (true, true) => 2 * obs_dim,
        (true, false) => obs_dim + obs_dim * agents,
    }
}

/// log N(u; μ, σ²) summed over the action dimensions, one per row of `mu` (`u` row-major).
fn gaussian_log_prob(mu: &Array2<f32>, u: &[f32], log_std: &[f32]) -> Vec<f32> {
    let ad = log_std.len();
    (0..mu.nrows())
        .map(|r| {
            (0..ad)
                .map(|j| {
                    let z = (u[r * ad + j] - mu[(r, j)]) / log_std[j].exp();
                    -0.5 * z * z - log_std[j] - 0.918_938_5
                })
                .sum()
        })
        .collect()
}

/// Σ (ρ − 1) − ln ρ over samples whose log-probabilities under the current policy and a
/// reference are given: divided by the count, the approximate KL divergence.
fn kl_sum(logp: &[f32], reference: &[f32]) -> f32 {
    logp.iter()
        .zip(reference)
        .map(|(l, r)| {
            let log_ratio = l - r;
            log_ratio.exp() - 1.0 - log_ratio
        })
        .sum()
}

/// The actor's loss on some rows of a minibatch and its gradients.
pub struct Surrogate {
    /// These rows' share of the minibatch's loss: the sum over them of
    /// (−min(ρÂ, clip(ρ, 1 − ε, 1 + ε)Â) + c Σ_j max(0, |μ_j| − μ₀)²) / total rows, minus
    /// their share (rows / total) of `entropy_coef` Σ_j log σ_j (the Gaussian's entropy up
    /// to a constant): the shares of a minibatch's blocks add up to its mean loss.
    pub loss: f32,
    pub dmu: Array2<f32>,
    pub dlog_std: Vec<f32>,
    /// Each row's log-probability under the current policy (for the KL limits).
    pub logp: Vec<f32>,
}

/// PPO's clipped surrogate for rows with means `mu` (`rows × act_dim`), the stored
/// pre-squash samples `u`, their rollout log-probabilities and normalised advantages,
/// as part of a minibatch of `total_rows`.
/// ∂L/∂log π = −Â ρ where the unclipped term is the minimum, else 0; with
/// z = (u − μ)/σ, ∂log π/∂μ = z/σ and ∂log π/∂log σ = z² − 1.
pub fn surrogate(
    cfg: &PpoConfig,
    log_std: &[f32],
    mu: &Array2<f32>,
    u: &[f32],
    logp_old: &[f32],
    adv: &[f32],
    total_rows: usize,
) -> Surrogate {
    let (rows, ad) = mu.dim();
    let per_row = 1.0 / total_rows.max(1) as f32;
    let share = rows as f32 * per_row;
    let (c, free) = (cfg.action_penalty, cfg.action_penalty_from);
    let mut dmu = Array2::zeros(mu.raw_dim());
    let mut dlog_std = vec![-cfg.entropy_coef * share; ad];
    let mut loss = -cfg.entropy_coef * share * log_std.iter().sum::<f32>();
    let logp = gaussian_log_prob(mu, u, log_std);
    for row in 0..rows {
        let log_ratio = logp[row] - logp_old[row];
        let ratio = log_ratio.exp();
        let a = adv[row];
        let clipped = ratio.clamp(1.0 - cfg.clip, 1.0 + cfg.clip);
        loss += -(ratio * a).min(clipped * a) * per_row;
        let active = ratio * a <= clipped * a;
        let dlogp = if active { -a * ratio } else { 0.0 } * per_row;
        for j in 0..ad {
            let sig = log_std[j].exp();
            let z = (u[row * ad + j] - mu[(row, j)]) / sig;
            let excess = common::tail_excess(mu[(row, j)], free);
            loss += c * excess * excess * per_row;
            dmu[(row, j)] = dlogp * z / sig + 2.0 * c * excess * per_row;
            dlog_std[j] += dlogp * (z * z - 1.0);
        }
    }
    Surrogate {
        loss,
        dmu,
        dlog_std,
        logp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ∂L/∂μ and ∂L/∂log σ against central differences, on rows whose ratios fall inside
    /// and outside the clip range, with positive and negative advantages and means in the
    /// penalised tail.
    #[test]
    fn surrogate_gradients_match_finite_differences() {
        let cfg = PpoConfig {
            entropy_coef: 0.01,
            ..PpoConfig::default()
        };
        let mut rng = Rng::new(5);
        let (rows, ad) = (12, 2);
        let log_std = vec![-0.7f32, -1.2];
        let mu = Array2::from_shape_fn((rows, ad), |(r, _)| {
            rng.normal() + if r % 4 == 0 { 3.0 } else { 0.0 }
        });
        let u: Vec<f32> = mu.iter().map(|m| m + 0.4 * rng.normal()).collect();
        // Rollout log-probabilities of a slightly different policy: ratios spread around 1.
        let logp_old: Vec<f32> = (0..rows).map(|_| -1.0 + 0.5 * rng.normal()).collect();
        let adv: Vec<f32> = (0..rows).map(|_| rng.normal()).collect();
        let at = |mu: &Array2<f32>, ls: &[f32]| surrogate(&cfg, ls, mu, &u, &logp_old, &adv, rows);
        let base = at(&mu, &log_std);
        let h = 1e-3f32;
        let mut checked = 0;
        for row in 0..rows {
            for j in 0..ad {
                let (mut p, mut q) = (mu.clone(), mu.clone());
                p[(row, j)] += h;
                q[(row, j)] -= h;
                let fd = (at(&p, &log_std).loss - at(&q, &log_std).loss) / (2.0 * h);
                let g = base.dmu[(row, j)];
                assert!(
                    (fd - g).abs() < 2e-3 * g.abs().max(1.0),
                    "∂L/∂μ[{row},{j}]: fd {fd} vs {g}"
                );
                checked += 1;
            }
        }
        for j in 0..ad {
            let (mut p, mut q) = (log_std.clone(), log_std.clone());
            p[j] += h;
            q[j] -= h;
            let fd = (at(&mu, &p).loss - at(&mu, &q).loss) / (2.0 * h);
            let g = base.dlog_std[j];
            assert!(
                (fd - g).abs() < 2e-3 * g.abs().max(1.0),
                "∂L/∂log σ[{j}]: fd {fd} vs {g}"
            );
            checked += 1;
        }
        assert_eq!(checked, rows * ad + ad);
        let clipped = (0..rows)
            .filter(|&r| base.dmu.row(r).iter().all(|&d| d.abs() < 1e-9))
            .count();
        assert!(clipped < rows, "some rows carry gradient");
        // Two blocks' shares add up to the whole minibatch's loss and gradients.
        let half = rows / 2;
        let part = |r: std::ops::Range<usize>| {
            let m = mu.slice(ndarray::s![r.clone(), ..]).to_owned();
            let u = &u[r.start * ad..r.end * ad];
            surrogate(&cfg, &log_std, &m, u, &logp_old[r.clone()], &adv[r], rows)
        };
        let (a, b) = (part(0..half), part(half..rows));
        assert!((a.loss + b.loss - base.loss).abs() < 1e-5);
        for j in 0..ad {
            assert!((a.dlog_std[j] + b.dlog_std[j] - base.dlog_std[j]).abs() < 1e-5);
            assert_eq!(b.dmu[(0, j)], base.dmu[(half, j)]);
        }
    }
}
