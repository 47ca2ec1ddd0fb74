//! Training: neural networks (`nn`). The PPO family and MADDPG build on it (issue 6).

pub mod buffer;
pub mod nn;
pub mod ppo;
pub mod session;
