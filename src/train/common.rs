//! What the PPO family and MADDPG share: the serialisable RNG, one update's statistics,
//! observation normalisation, the shared-parameter actor (construction, deterministic
//! actions; its identity inputs are in identity.rs), the tail penalty's shape and the
//! critic's squared-error regression step.

use super::buffer::RunningStats;
use super::nn::{Activation, Adam, Mlp};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// SplitMix64 with Box–Muller normals: tiny, seeded and serialisable, so a checkpoint
/// restores the exact random stream and a resumed run equals an uninterrupted one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f32 {
        let (u1, u2) = (self.uniform(), self.uniform());
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
    /// Uniform integer in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }
}

/// One rollout's statistics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Update {
    pub mean_episode_return: f64,
    pub policy_loss: f32,
    pub value_loss: f32,
    /// Seconds stepping the environment, in forward passes while acting, and learning.
    pub env_s: f64,
    pub act_s: f64,
    pub learn_s: f64,
    /// Floating-point operations of the learning phase (`Mlp::flops`: the network passes).
    pub learn_flops: f64,
}

/// Normalised observations are clipped to ±this many standard deviations (both
/// algorithms; part of the policy, so not a `--hp` knob: changing it changes checkpoints).
pub const OBS_CLIP: f32 = 10.0;

/// Observations normalised by the running statistics (clipped to ±[`OBS_CLIP`]).
pub fn normalized(stats: &RunningStats, obs: &[f32]) -> Vec<f32> {
    stats.normalized(obs, OBS_CLIP)
}

/// How far a pre-tanh action mean lies beyond ±`free` (signed; 0 inside): the tail
/// penalty c · excess² of PPO and MADDPG keeps means out of tanh's flat tails.
pub fn tail_excess(mu: f32, free: f32) -> f32 {
    (mu.abs() - free).max(0.0).copysign(mu)
}

/// The shared actor: `inputs → hidden → hidden → outputs` (μ before the tanh), ReLU, with
/// small initial outputs (gain 0.01) so the first policy is near the middle of the range.
pub fn actor_mlp(inputs: usize, hidden: usize, outputs: usize, seed: u64) -> Mlp {
    Mlp::new(
        &[inputs, hidden, hidden, outputs],
        Activation::Relu,
        Activation::Identity,
        0.01,
        seed,
    )
}

/// A critic `inputs → hidden → hidden → 1`, ReLU, unit gain.
pub fn critic_mlp(inputs: usize, hidden: usize, seed: u64) -> Mlp {
    Mlp::new(
        &[inputs, hidden, hidden, 1],
        Activation::Relu,
        Activation::Identity,
        1.0,
        seed,
    )
}

/// Deterministic actions tanh(μ) from an actor's outputs, row-major.
pub fn deterministic(mu: &Array2<f32>) -> Vec<f32> {
    mu.iter().map(|m| m.tanh()).collect()
}

/// One gradient step of a scalar regression ½ mean (f(x) − y)² with the gradient clipped
/// to `max_grad_norm`; returns the mean loss before the step and ∂loss/∂x (for learned
/// inputs such as identity embeddings).
pub fn regression_step(
    net: &mut Mlp,
    opt: &mut Adam,
    x: &Array2<f32>,
    targets: &[f32],
    max_grad_norm: f32,
) -> (f32, Array2<f32>) {
    let count = targets.len() as f32;
    let result = net.gradients(x, |rows, q| {
        let mut dq = Array2::zeros(q.raw_dim());
        let mut loss = 0.0;
        for (r, &target) in targets[rows].iter().enumerate() {
            let e = q[(r, 0)] - target;
            loss += 0.5 * e * e;
            dq[(r, 0)] = e / count;
        }
        (dq, loss)
    });
    let mut g = result.grads;
    g.clip(max_grad_norm);
    opt.step(net, &g);
    (result.parts.iter().sum::<f32>() / count, result.input_grad)
}
