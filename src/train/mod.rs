//! Training: neural networks (`nn`), replay and statistics (`buffer`), the PPO family
//! (`ppo`) and MADDPG (`maddpg`) (issue 6).

pub mod buffer;
pub mod maddpg;
pub mod nn;
pub mod ppo;
pub mod session;
