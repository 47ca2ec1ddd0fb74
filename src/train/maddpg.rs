//! MADDPG (Lowe et al. 2017) with TD3's fixes (Fujimoto et al. 2018), readable top to
//! bottom in the style of ppo.rs. Deterministic actors see the agent's own observation
//! (+ an identity input, identity.rs; parameters shared between agents); centralised
//! critics Q(all observations, all actions, agent id) — or mean-field Q(own observation
//! and action, mean observation, the others' mean action, id) — (shared too) are trained off-policy from a replay
//! buffer with target networks (Polyak averaging). The actor follows the deterministic
//! policy gradient: dQ/da through the critic's input gradient, times tanh's derivative.
//!
//! TD3 additions (each switchable in `MaddpgConfig`): twin critics with the minimum in the
//! target (against over-estimation), target policy smoothing (clipped noise on the target
//! actions), delayed actor and target updates.
//!
//! Episodes are single days that end on a time limit, but the day *is* the whole task
//! (nothing happens after midnight that the agents are paid for), so the last step's
//! target is the reward alone: no bootstrapping at `done`.

use super::buffer::{Replay, RunningStats};
use super::common::{self, Rng, Update};
use super::hyper::Interval;
use super::identity::{self, AgentId, Identity};
use super::nn::{Adam, Grads, Mlp};
use crate::sim::env::{Env, EnvError};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Hyper-parameters, with the defaults used unless a run overrides them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaddpgConfig {
    /// The critics see agent i's observation and action, the mean observation and the
    /// mean action of the other agents (mean-field Q, Yang et al. 2018; width
    /// 2·(obs_dim + act_dim)) instead of every agent's (width (N + 1)·(obs_dim + act_dim)).
    /// On (with the embedding): community16, 120k steps, 10 seeds, 71.4 % of the gap
    /// against 70.4 % for one-hot ids and full-state critics, 1.9× faster at N = 16 and
    /// flat in N (docs/results.md, docs/performance.md).
    pub mean_field_critic: bool,
    /// Identity input of actor and critics: `one_hot`, `embedding` or `none` (as PPO's).
    pub agent_id: AgentId,
    /// Width of a learned identity embedding.
    pub id_width: usize,
    /// Adam learning rate of the actor.
    pub actor_lr: f32,
    /// Adam learning rate of the critic(s).
    pub critic_lr: f32,
    /// Discount per step.
    pub gamma: f32,
    /// Polyak factor τ: θ' ← τ θ + (1 − τ) θ' after each actor update.
    pub tau: f32,
    /// Environment-steps sampled from the replay per gradient update.
    pub batch_size: usize,
    /// Agents per sampled environment-step whose critic rows and policy gradient enter an
    /// update (distinct, drawn at random; ≥ the agent count = all). The agents of one
    /// step are strongly correlated, and every row carries the whole joint observation,
    /// so a few agents of many steps cost a fraction of all agents of few steps.
    pub agents_per_step: usize,
    /// Replay capacity in environment-steps (one row holds every agent of one step).
    pub replay_capacity: usize,
    /// Environment-steps with uniform random actions before the actor acts; no updates
    /// happen before the buffer holds this many (and at least `batch_size`) rows.
    pub warmup_steps: usize,
    /// Gradient updates per environment-step collected (fractions accumulate).
    pub updates_per_step: f32,
    /// Standard deviation of the Gaussian exploration noise added to tanh(μ) at the start…
    pub noise_start: f32,
    /// …and after `noise_decay_steps` environment-steps (linear in between). A floor of
    /// 0.15 instead ended community16 seed 6's divergence after the decay (5778 $ at 77k
    /// steps with 0.05; 1028 $ at 120k with 0.15) but cost seeds 0–2 15–20 points of the
    /// gap (51 / 44 / 44 % vs 70 / 60 / 63 %), so the default stays.
    pub noise_end: f32,
    pub noise_decay_steps: usize,
    /// Hidden layer width (two hidden layers, ReLU) of actor and critic.
    pub hidden: usize,
    /// Multiplies rewards before learning (costs in $ per step are small numbers).
    pub reward_scale: f32,
    /// Global gradient-norm limit (actor and critic separately).
    pub max_grad_norm: f32,
    /// TD3: two critics, the target uses the smaller of the two target values.
    pub twin_critics: bool,
    /// TD3 target policy smoothing: σ of the noise on target actions (0 = off)…
    pub target_noise: f32,
    /// …clipped to ±this.
    pub target_noise_clip: f32,
    /// TD3: actor and target networks update once every this many critic updates.
    pub policy_delay: usize,
    /// Weight c of the penalty c · mean(max(0, |μ| − `action_penalty_from`)²) on the
    /// actor's pre-tanh outputs, in reward units. Without it the actor runs into tanh's
    /// flat tails early (a young critic's ∂Q/∂a points the same way for every state),
    /// where (1 − tanh² μ) ≈ 0 leaves it stuck at a bang-bang policy; the penalty's
    /// gradient does not vanish there.
    pub action_penalty: f32,
    /// |μ| below which the penalty is zero. Default 0, i.e. c · mean(μ²): on community16
    /// a penalty only beyond |μ| = 2 (c = 1) did not keep the actor out of saturation
    /// (test cost 5675 $ for most of 150k steps), the plain square with c = 0.1 did
    /// (833–980 $ between 60k and 150k steps, less stable after that).
    pub action_penalty_from: f32,
    /// Model selection: the run's final policy is the one (of those evaluated every
    /// `RunConfig::eval_every` updates, and the last) with the lowest community cost on the
    /// validation days, a fixed sample of *training* days (never the test days). Off-policy
    /// actor–critic training can diverge late: community16 seed 6 reached 1079 $ at 38k
    /// steps and ended at 3825 $.
    pub select_best: bool,
}

impl MaddpgConfig {
    /// The valid range of every numeric field (`--hp` values are checked against it).
    pub const BOUNDS: &'static [(&'static str, Interval)] = &[
        ("id_width", Interval::AtLeastOne),
        ("actor_lr", Interval::Positive),
        ("critic_lr", Interval::Positive),
        ("gamma", Interval::Fraction),
        ("tau", Interval::PositiveFraction),
        ("batch_size", Interval::AtLeastOne),
        ("agents_per_step", Interval::AtLeastOne),
        ("replay_capacity", Interval::AtLeastOne),
        ("warmup_steps", Interval::NonNegative),
        ("updates_per_step", Interval::Positive),
        ("noise_start", Interval::NonNegative),
        ("noise_end", Interval::NonNegative),
        ("noise_decay_steps", Interval::NonNegative),
        ("hidden", Interval::AtLeastOne),
        ("reward_scale", Interval::Positive),
        ("max_grad_norm", Interval::Positive),
        ("target_noise", Interval::NonNegative),
        ("target_noise_clip", Interval::NonNegative),
        ("policy_delay", Interval::AtLeastOne),
        ("action_penalty", Interval::NonNegative),
        ("action_penalty_from", Interval::NonNegative),
    ];
}

impl Default for MaddpgConfig {
    fn default() -> Self {
        MaddpgConfig {
            mean_field_critic: true,
            agent_id: AgentId::Embedding,
            id_width: 8,
            actor_lr: 3e-4,
            critic_lr: 1e-3,
            gamma: 0.99,
            tau: 0.01,
            batch_size: 128,
            agents_per_step: 4,
            replay_capacity: 10_000,
            warmup_steps: 1_000,
            updates_per_step: 0.25,
            noise_start: 0.3,
            noise_end: 0.05,
            noise_decay_steps: 50_000,
            hidden: 64,
            reward_scale: 1.0,
            max_grad_norm: 1.0,
            twin_critics: true,
            target_noise: 0.2,
            target_noise_clip: 0.5,
            policy_delay: 2,
            action_penalty: 0.1,
            action_penalty_from: 0.0,
            select_best: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Maddpg {
    pub cfg: MaddpgConfig,
    pub actor: Mlp,
    /// One critic, or two with `twin_critics`.
    pub critics: Vec<Mlp>,
    pub actor_target: Mlp,
    pub critic_targets: Vec<Mlp>,
    /// Identity inputs of the actor (its target reads the same table) and the critics.
    pub actor_id: Identity,
    pub critic_id: Identity,
    actor_opt: Adam,
    critic_opts: Vec<Adam>,
    pub rng: Rng,
    /// Running statistics of the observations; inputs are normalised with them.
    pub obs_stats: RunningStats,
    /// Rows: obs (n·od), actions (n·ad), rewards (n), next obs (n·od), done (1).
    pub replay: Replay,
    /// Environment-steps collected so far (drives warm-up and the noise schedule).
    pub env_steps: u64,
    /// Critic updates so far (drives the delayed actor updates).
    pub updates: u64,
    /// Fractional updates owed (`updates_per_step` × rows not yet spent).
    update_debt: f64,
    agents: usize,
    obs_dim: usize,
    act_dim: usize,
}

impl Maddpg {
    pub fn new(env: &Env, cfg: MaddpgConfig, seed: u64) -> Maddpg {
        let (n, od, ad) = (env.agents(), env.obs_dim(), env.act_dim());
        let h = cfg.hidden;
        let identity = |salt: u64| Identity::new(cfg.agent_id, n, cfg.id_width, seed ^ salt);
        let (actor_id, critic_id) = (identity(0xA5), identity(0xC7));
        // The actor outputs μ before the tanh (applied in `actions`), small initial outputs.
        let actor = common::actor_mlp(od + actor_id.width(), h, ad, seed);
        let critic_in = critic_width(n, od, ad, cfg.mean_field_critic) + critic_id.width();
        let critics: Vec<Mlp> = (0..if cfg.twin_critics { 2 } else { 1 })
            .map(|k| common::critic_mlp(critic_in, h, seed.wrapping_add(1 + k as u64)))
            .collect();
        let width = 2 * n * od + n * ad + n + 1;
        Maddpg {
            actor_opt: Adam::new(&actor, cfg.actor_lr),
            critic_opts: critics
                .iter()
                .map(|c| Adam::new(c, cfg.critic_lr))
                .collect(),
            actor_target: actor.clone(),
            critic_targets: critics.clone(),
            replay: Replay::new(cfg.replay_capacity.max(1), width, seed.wrapping_add(3)),
            rng: Rng::new(seed.wrapping_add(4)),
            obs_stats: RunningStats::new(od),
            env_steps: 0,
            updates: 0,
            update_debt: 0.0,
            cfg,
            actor,
            critics,
            actor_id,
            critic_id,
            agents: n,
            obs_dim: od,
            act_dim: ad,
        }
    }

    /// Critic inputs, one row per (environment-step e, agent i) of `rows`: i's own
    /// normalised observation and action first, then every agent's observation and
    /// action (or, mean-field, the mean observation and the other agents' mean action),
    /// then i's identity. Own first, as for MAPPO's critic: the shared critic finds agent
    /// i's action at a fixed column instead of routing it through the id, which is what
    /// the actor's gradient ∂Q/∂a_i reads. `joint` holds the joint actions of the steps;
    /// `own`, when given, replaces agent i's action in row r by `own[r]` (the policy
    /// gradient's rows), everywhere it appears.
    fn critic_inputs(
        &self,
        obs: &[f32],
        joint: &[f32],
        own: Option<&[f32]>,
        rows: &[(usize, usize)],
    ) -> Array2<f32> {
        let (n, od, ad) = (self.agents, self.obs_dim, self.act_dim);
        let (no, na) = (n * od, n * ad);
        let mean_field = self.cfg.mean_field_critic;
        let id_at = critic_width(n, od, ad, mean_field);
        let mut x = Array2::zeros((rows.len(), id_at + self.critic_id.width()));
        // Mean-field: the step's sums, computed once per environment-step (rows of one step
        // are consecutive), then the others' mean action = (Σ a − a_i) / (N − 1).
        let (mut sum_obs, mut sum_act) = (vec![0.0f32; od], vec![0.0f32; ad]);
        let mut summed: Option<usize> = None;
        let mut replaced = vec![0.0f32; if mean_field { 0 } else { na }];
        for (r, (mut row, &(e, i))) in x.rows_mut().into_iter().zip(rows).enumerate() {
            let o = &obs[e * no..(e + 1) * no];
            let a = &joint[e * na..(e + 1) * na];
            let a_i = own.map_or(&a[i * ad..(i + 1) * ad], |own| &own[r * ad..(r + 1) * ad]);
            let row = row
                .as_slice_mut()
                .expect("a fresh array is in standard layout");
            row[..od].copy_from_slice(&o[i * od..(i + 1) * od]);
            row[od..od + ad].copy_from_slice(a_i);
            if mean_field {
                if summed != Some(e) {
                    sum_of(o, od, &mut sum_obs);
                    sum_of(a, ad, &mut sum_act);
                    summed = Some(e);
                }
                let others = (n - 1).max(1) as f32;
                for j in 0..od {
                    row[od + ad + j] = sum_obs[j] / n as f32;
                }
                for j in 0..ad {
                    let without_i = if n > 1 {
                        sum_act[j] - a[i * ad + j]
                    } else {
                        0.0
                    };
                    row[2 * od + ad + j] = without_i / others;
                }
            } else {
                replaced.copy_from_slice(a);
                replaced[i * ad..(i + 1) * ad].copy_from_slice(a_i);
                row[od + ad..od + ad + no].copy_from_slice(o);
                row[od + ad + no..id_at].copy_from_slice(&replaced);
            }
            self.critic_id.write_row(i, &mut row[id_at..]);
        }
        x
    }

    /// Actor inputs of `rows` only: agent i's observation of step e and its identity.
    fn actor_rows(&self, obs: &[f32], rows: &[(usize, usize)]) -> Array2<f32> {
        let (n, od) = (self.agents, self.obs_dim);
        let mut x = Array2::zeros((rows.len(), od + self.actor_id.width()));
        for (mut row, &(e, i)) in x.rows_mut().into_iter().zip(rows) {
            let row = row
                .as_slice_mut()
                .expect("a fresh array is in standard layout");
            row[..od].copy_from_slice(&obs[(e * n + i) * od..(e * n + i + 1) * od]);
            self.actor_id.write_row(i, &mut row[od..]);
        }
        x
    }

    /// The (environment-step, agent) rows of an update on `m` sampled steps:
    /// `agents_per_step` distinct agents of each step (all agents, in order, when it is
    /// at least the agent count).
    fn update_rows(&mut self, m: usize) -> Vec<(usize, usize)> {
        let n = self.agents;
        let k = self.cfg.agents_per_step.clamp(1, n.max(1));
        let mut rows = Vec::with_capacity(m * k);
        let mut ids: Vec<usize> = (0..n).collect();
        for e in 0..m {
            if k < n {
                // Partial Fisher–Yates: the first k entries become a uniform k-subset.
                for j in 0..k {
                    let pick = j + self.rng.below(n - j);
                    ids.swap(j, pick);
                }
            }
            rows.extend(ids[..k].iter().map(|&i| (e, i)));
        }
        rows
    }

    /// A copy for acting only: everything but the replay buffer (which is most of the
    /// memory and is not needed to act).
    pub fn policy_copy(&mut self) -> Maddpg {
        let empty = Replay::new(1, self.replay.width, 0);
        let replay = std::mem::replace(&mut self.replay, empty);
        let copy = self.clone();
        self.replay = replay;
        copy
    }

    /// Deterministic actions tanh(μ(o)) (`batch × agents × act_dim`).
    pub fn act_deterministic(&self, obs: &[f32], batch: usize) -> Vec<f32> {
        let (n, od) = (self.agents, self.obs_dim);
        let o = common::normalized(&self.obs_stats, obs);
        common::deterministic(&self.actor.predict(&identity::own_inputs(
            &o,
            batch,
            n,
            od,
            &self.actor_id,
        )))
    }

    /// Exploration noise σ after `env_steps` environment-steps (linear decay).
    pub fn noise_std(&self) -> f32 {
        let c = &self.cfg;
        let frac = (self.env_steps as f64 / c.noise_decay_steps.max(1) as f64).min(1.0) as f32;
        c.noise_start + (c.noise_end - c.noise_start) * frac
    }

    /// Collect one episode on every environment of the batch (one day each) with
    /// exploration, store the transitions, then do the gradient updates owed.
    pub fn train_episode(&mut self, env: &mut Env, days: &[u32]) -> Result<Update, EnvError> {
        let (n, od, ad) = (self.agents, self.obs_dim, self.act_dim);
        let batch = days.len();
        let mut obs = env.reset(days);
        let mut episode_reward = 0.0f64;
        let (mut env_s, mut act_s) = (0.0, 0.0);
        loop {
            let t_act = std::time::Instant::now();
            if od > 0 {
                self.obs_stats.update(&obs);
            }
            // Uniform random actions during warm-up, then tanh(μ) + N(0, σ²) clipped.
            let actions: Vec<f32> = if (self.env_steps as usize) < self.cfg.warmup_steps {
                (0..batch * n * ad)
                    .map(|_| (2.0 * self.rng.uniform() - 1.0) as f32)
                    .collect()
            } else {
                let sigma = self.noise_std();
                self.act_deterministic(&obs, batch)
                    .into_iter()
                    .map(|a| (a + sigma * self.rng.normal()).clamp(-1.0, 1.0))
                    .collect()
            };
            act_s += t_act.elapsed().as_secs_f64();
            let t_env = std::time::Instant::now();
            let (next, rewards, done) = env.step(&actions)?;
            env_s += t_env.elapsed().as_secs_f64();
            episode_reward += rewards.iter().map(|&r| r as f64).sum::<f64>();
            for b in 0..batch {
                let mut row = Vec::with_capacity(self.replay.width);
                row.extend_from_slice(&obs[b * n * od..(b + 1) * n * od]);
                row.extend_from_slice(&actions[b * n * ad..(b + 1) * n * ad]);
                row.extend(
                    rewards[b * n..(b + 1) * n]
                        .iter()
                        .map(|r| r * self.cfg.reward_scale),
                );
                row.extend_from_slice(&next[b * n * od..(b + 1) * n * od]);
                row.push(if done { 1.0 } else { 0.0 });
                self.replay.push(&row);
            }
            self.env_steps += batch as u64;
            self.update_debt += self.cfg.updates_per_step as f64 * batch as f64;
            obs = next;
            if done {
                break;
            }
        }
        // Gradient updates, once the warm-up has filled the buffer.
        let t_learn = std::time::Instant::now();
        let (mut al, mut cl) = (0.0, 0.0);
        let mut learn_flops = 0.0;
        let ready = self.replay.len() >= self.cfg.warmup_steps.max(self.cfg.batch_size).max(1);
        if ready {
            while self.update_debt >= 1.0 {
                self.update_debt -= 1.0;
                let (c, a, flops) = self.update();
                cl = c;
                learn_flops += flops;
                if let Some(a) = a {
                    al = a;
                }
            }
        } else {
            self.update_debt = 0.0;
        }
        Ok(Update {
            mean_episode_return: episode_reward / (batch * n) as f64,
            policy_loss: al,
            value_loss: cl,
            env_s,
            act_s,
            learn_s: t_learn.elapsed().as_secs_f64(),
            learn_flops,
        })
    }

    /// Sampled replay rows split into normalised observations, actions, rewards, normalised
    /// next observations and done flags.
    fn sample(&mut self) -> Sample {
        let (n, od, ad) = (self.agents, self.obs_dim, self.act_dim);
        let m = self.cfg.batch_size.max(1);
        let w = self.replay.width;
        let raw = self.replay.sample(m);
        let mut s = Sample {
            m,
            obs: Vec::with_capacity(m * n * od),
            actions: Vec::with_capacity(m * n * ad),
            rewards: Vec::with_capacity(m * n),
            next_obs: Vec::with_capacity(m * n * od),
            done: Vec::with_capacity(m),
        };
        for row in raw.chunks(w) {
            let (o, rest) = row.split_at(n * od);
            let (a, rest) = rest.split_at(n * ad);
            let (r, rest) = rest.split_at(n);
            let (o2, d) = rest.split_at(n * od);
            s.obs.extend_from_slice(o);
            s.actions.extend_from_slice(a);
            s.rewards.extend_from_slice(r);
            s.next_obs.extend_from_slice(o2);
            s.done.push(d[0] != 0.0);
        }
        s.obs = common::normalized(&self.obs_stats, &s.obs);
        s.next_obs = common::normalized(&self.obs_stats, &s.next_obs);
        s
    }

    /// One critic update and, every `policy_delay` updates, one actor update followed by
    /// the Polyak averaging of the targets. Returns (critic loss, actor loss if updated,
    /// floating-point operations of the network passes).
    fn update(&mut self) -> (f32, Option<f32>, f64) {
        let n = self.agents;
        let s = self.sample();
        let m = s.m;
        // TD target y = r + γ (1 − done) min_k Q'_k(o', ã'), ã' = clip(tanh μ'(o') + ε̃).
        let mu_next = self.actor_target.predict(&identity::own_inputs(
            &s.next_obs,
            m,
            self.agents,
            self.obs_dim,
            &self.actor_id,
        ));
        let (sig, clip) = (self.cfg.target_noise, self.cfg.target_noise_clip);
        let next_actions: Vec<f32> = mu_next
            .iter()
            .map(|u| {
                let eps = if sig > 0.0 {
                    (sig * self.rng.normal()).clamp(-clip, clip)
                } else {
                    0.0
                };
                (u.tanh() + eps).clamp(-1.0, 1.0)
            })
            .collect();
        let rows = self.update_rows(m);
        let critic_flops = |pass: bool| self.critics[0].flops(rows.len(), pass);
        let mut flops = self.actor_target.flops(m * n, false)
            + self.critics.len() as f64 * (critic_flops(false) + critic_flops(true));
        let x_next = self.critic_inputs(&s.next_obs, &next_actions, None, &rows);
        let q_next = self
            .critic_targets
            .iter()
            .map(|c| c.predict(&x_next))
            .reduce(|a, b| ndarray::Zip::from(&a).and(&b).map_collect(|x, y| x.min(*y)))
            .expect("at least one critic");
        let y: Vec<f32> = rows
            .iter()
            .enumerate()
            .map(|(r, &(e, i))| {
                let bootstrap = if s.done[e] { 0.0 } else { 1.0 };
                s.rewards[e * n + i] + self.cfg.gamma * bootstrap * q_next[(r, 0)]
            })
            .collect();
        // Critics: ½ mean (Q − y)².
        let x = self.critic_inputs(&s.obs, &s.actions, None, &rows);
        let mut critic_loss = 0.0;
        let twins = self.critics.len() as f32;
        let id_at = critic_width(n, self.obs_dim, self.act_dim, self.cfg.mean_field_critic);
        for (critic, opt) in self.critics.iter_mut().zip(&mut self.critic_opts) {
            let (loss, dx) = common::regression_step(critic, opt, &x, &y, self.cfg.max_grad_norm);
            critic_loss += loss / twins;
            // Row r belongs to agent rows[r].1, not r % N: learn row by row's agent.
            self.critic_id
                .learn_rows(&dx, id_at, rows.iter().map(|&(_, i)| i), opt.lr);
        }
        self.updates += 1;
        if !self
            .updates
            .is_multiple_of(self.cfg.policy_delay.max(1) as u64)
        {
            return (critic_loss, None, flops);
        }
        flops += self.actor.flops(rows.len(), true) + self.critics[0].flops(rows.len(), true);
        // Actor: ascend Q1 on each agent's own action; others keep their replayed actions.
        let (actor_loss, mut g, dx) = self.policy_gradient_rows(&s.obs, &s.actions, &rows);
        g.clip(self.cfg.max_grad_norm);
        self.actor_opt.step(&mut self.actor, &g);
        let lr = self.actor_opt.lr;
        self.actor_id
            .learn_rows(&dx, self.obs_dim, rows.iter().map(|&(_, i)| i), lr);
        // Targets: θ' ← τ θ + (1 − τ) θ'.
        let tau = self.cfg.tau;
        polyak(&mut self.actor_target, &self.actor, tau);
        for (t, c) in self.critic_targets.iter_mut().zip(&self.critics) {
            polyak(t, c, tau);
        }
        (critic_loss, Some(actor_loss), flops)
    }

    /// The deterministic policy gradient on `m` environment-steps (`obs` normalised,
    /// `m × agents × obs_dim`; `actions` the replayed joint actions): the loss
    /// L = mean_{step, i} [−Q₁(o, a with a_i ← tanh μ(o_i, i), i) + c max(0, |μ| − μ₀)²] and
    /// ∂L/∂θ_actor, formed as
    /// ∂L/∂Q · ∂Q/∂a_i (the critic's input gradient) · (1 − tanh²(μ)) · ∂μ/∂θ.
    pub fn policy_gradient(&self, obs: &[f32], actions: &[f32], m: usize) -> (f32, Grads) {
        let rows: Vec<(usize, usize)> = (0..m)
            .flat_map(|e| (0..self.agents).map(move |i| (e, i)))
            .collect();
        let (loss, g, _) = self.policy_gradient_rows(obs, actions, &rows);
        (loss, g)
    }

    /// [`Maddpg::policy_gradient`] over the given (environment-step, agent) rows.
    fn policy_gradient_rows(
        &self,
        obs: &[f32],
        actions: &[f32],
        rows: &[(usize, usize)],
    ) -> (f32, Grads, Array2<f32>) {
        let (n, od, ad) = (self.agents, self.obs_dim, self.act_dim);
        let (mu, actor_tape) = self.actor.forward(&self.actor_rows(obs, rows));
        // Row r = (e, i) of the critic batch: agent i's action replaced by its current policy.
        let count = rows.len() as f32;
        let own: Vec<f32> = mu.iter().map(|u| u.tanh()).collect();
        let x = self.critic_inputs(obs, actions, Some(&own), rows);
        let no = n * od;
        let (q, tape) = self.critics[0].forward(&x);
        let (c, free) = (self.cfg.action_penalty, self.cfg.action_penalty_from);
        let excess = |u: f32| common::tail_excess(u, free);
        let penalty: f32 = mu.iter().map(|&u| excess(u) * excess(u)).sum();
        let loss = (-q.iter().sum::<f32>() + c * penalty) / count;
        let dq = Array2::from_elem(q.raw_dim(), -1.0 / count);
        let (_, dx) = self.critics[0].backward(&tape, &dq);
        let mut dmu = Array2::zeros(mu.raw_dim());
        for (r, &(_, i)) in rows.iter().enumerate() {
            for j in 0..ad {
                let t = mu[(r, j)].tanh();
                // a_i enters in the own-action columns and (full state) in the joint
                // action; the mean-field state holds only the others' actions.
                let joint = if self.cfg.mean_field_critic {
                    0.0
                } else {
                    dx[(r, od + ad + no + i * ad + j)]
                };
                let dq_da = dx[(r, od + j)] + joint;
                dmu[(r, j)] = dq_da * (1.0 - t * t) + 2.0 * c * excess(mu[(r, j)]) / count;
            }
        }
        let (g, dx_actor) = self.actor.backward(&actor_tape, &dmu);
        (loss, g, dx_actor)
    }
}

/// Critic input width before the identity: own observation and action, then every
/// observation and action, or (mean-field) the mean observation and the others' mean action.
fn critic_width(agents: usize, obs_dim: usize, act_dim: usize, mean_field: bool) -> usize {
    if mean_field {
        2 * (obs_dim + act_dim)
    } else {
        (agents + 1) * (obs_dim + act_dim)
    }
}

/// The sum over agents of `values` (`agents × dim`, row-major) into `out`.
fn sum_of(values: &[f32], dim: usize, out: &mut [f32]) {
    out.fill(0.0);
    for v in values.chunks(dim.max(1)) {
        for (o, x) in out.iter_mut().zip(v) {
            *o += x;
        }
    }
}

/// A sampled minibatch (observations already normalised).
struct Sample {
    m: usize,
    obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    done: Vec<bool>,
}

/// θ' ← τ θ + (1 − τ) θ' for every weight and bias.
fn polyak(target: &mut Mlp, net: &Mlp, tau: f32) {
    for (t, l) in target.layers.iter_mut().zip(&net.layers) {
        ndarray::Zip::from(&mut t.w)
            .and(&l.w)
            .for_each(|t, &x| *t = tau * x + (1.0 - tau) * *t);
        ndarray::Zip::from(&mut t.b)
            .and(&l.b)
            .for_each(|t, &x| *t = tau * x + (1.0 - tau) * *t);
    }
}
