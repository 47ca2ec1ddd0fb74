//! Checkpoints: everything needed to continue a run exactly (written atomically every few
//! updates), and the wall-clock accounting kept beside them so checkpoints stay
//! byte-identical across runs.

use super::session::{CurveRow, Timing};
use crate::experiment::error::RunError;
use crate::train::common::Rng;
use crate::train::learner::{Algo, Learner};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Everything needed to continue a run exactly.
#[derive(Serialize, Deserialize)]
pub struct Checkpoint {
    pub scenario_hash: String,
    pub algo: Algo,
    pub seed: u64,
    pub env_steps: u64,
    pub updates: u64,
    pub day_rng: Rng,
    pub learner: Learner,
    pub curve: Vec<CurveRow>,
    /// The best policy on the validation days so far (`select_best` runs only).
    #[serde(default)]
    pub best: Option<Best>,
}

/// A policy kept by model selection.
#[derive(Serialize, Deserialize)]
pub struct Best {
    pub update: u64,
    pub validation_cost: f64,
    pub policy: Learner,
}

/// Wall-clock accounting, kept beside the checkpoint (DIR/timing.json) rather than in it,
/// so checkpoints stay byte-identical across runs; a resumed run adds to it.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub struct Clock {
    pub wall_s: f64,
    pub timing: Timing,
}

/// A short, stable hash that ties a checkpoint to its scenario and configuration.
pub fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Read the checkpoint in `out`.
pub fn load(path: &Path) -> Result<Checkpoint, RunError> {
    let bytes = std::fs::read(path).map_err(|reason| RunError::Read {
        path: path.to_path_buf(),
        reason,
    })?;
    serde_json::from_slice(&bytes).map_err(|reason| RunError::BadCheckpoint {
        path: path.to_path_buf(),
        reason,
    })
}

/// The run's policy saved in `out`'s checkpoint (the selected one under model selection),
/// for traces and plots after a run.
pub fn load_learner(out: &Path) -> Result<Learner, RunError> {
    let c = load(&out.join("checkpoint.json"))?;
    Ok(c.best.map_or(c.learner, |b| b.policy))
}

/// Write the checkpoint and the clock beside it, each atomically.
pub fn save(path: &Path, c: &Checkpoint, clock_path: &Path, clock: &Clock) -> Result<(), RunError> {
    write_atomic(path, &serde_json::to_vec(c)?)?;
    write_atomic(clock_path, &serde_json::to_vec(clock)?)
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    crate::files::write_atomic(path, bytes).map_err(|reason| RunError::Write {
        path: path.to_path_buf(),
        reason,
    })
}
