//! Learning algorithms: neural networks (`nn`), replay and statistics (`buffer`), the PPO
//! family (`ppo`), MADDPG (`maddpg`) and the `learner` that wraps them for the run
//! machinery in experiment/. Architecture invariant: no file IO here.

pub mod buffer;
pub mod learner;
pub mod maddpg;
pub mod nn;
pub mod ppo;

pub use learner::{Algo, Learner};

/// Network inputs for shared parameters: each agent's (normalised) observation followed by
/// its one-hot id; `obs` is `batch × agents × obs_dim`, the result `(batch·agents) × (obs_dim + agents)`.
pub fn with_agent_ids(
    obs: &[f32],
    batch: usize,
    agents: usize,
    obs_dim: usize,
) -> ndarray::Array2<f32> {
    ndarray::Array2::from_shape_fn((batch * agents, obs_dim + agents), |(r, c)| {
        if c < obs_dim {
            obs[r * obs_dim + c]
        } else if c - obs_dim == r % agents {
            1.0
        } else {
            0.0
        }
    })
}

/// How far a pre-tanh action mean lies beyond ±`free` (signed; 0 inside): the tail
/// penalty c · excess² of PPO and MADDPG keeps means out of tanh's flat tails.
pub fn tail_excess(mu: f32, free: f32) -> f32 {
    (mu.abs() - free).max(0.0).copysign(mu)
}
