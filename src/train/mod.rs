//! Learning algorithms: neural networks (`nn`), replay and statistics (`buffer`), the PPO
//! family (`ppo`), MADDPG (`maddpg`) and the `learner` that wraps them for the run
//! machinery in experiment/. Architecture invariant: no file IO here.

pub mod buffer;
pub mod common;
pub mod hyper;
pub mod identity;
pub mod learner;
pub mod maddpg;
pub mod nn;
pub mod ppo;

pub use learner::{Algo, Learner};
