//! The one error type of the run machinery (session, checkpoints, references, results,
//! reports). Variants keep their data; `Display` is the message the user reads.

use crate::baselines::simulate::SimError;
use crate::sim::env::EnvError;
use crate::train::hyper::HyperError;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read `{}`: {reason}", path.display())]
    Read { path: PathBuf, reason: io::Error },
    #[error("cannot write `{}`: {reason}", path.display())]
    Write { path: PathBuf, reason: io::Error },
    #[error("cannot create `{}`: {reason}", path.display())]
    Create { path: PathBuf, reason: io::Error },
    #[error("cannot remove `{}`: {reason}", path.display())]
    Remove { path: PathBuf, reason: io::Error },
    #[error("`{}` is not writable: {reason}", path.display())]
    NotWritable { path: PathBuf, reason: io::Error },
    /// A results file that is not the JSON gridc wrote.
    #[error("`{}`: {reason}", path.display())]
    BadJson {
        path: PathBuf,
        reason: serde_json::Error,
    },
    #[error("`{}` is not a valid checkpoint: {reason}", path.display())]
    BadCheckpoint {
        path: PathBuf,
        reason: serde_json::Error,
    },
    #[error("`{}` exists and is not a directory; choose another --out", .0.display())]
    NotADirectory(PathBuf),
    #[error("`{}` holds results of a different scenario, plan or inputs (its manifest's fingerprint differs); use another --out, or --force to delete them and start over", .0.display())]
    ForeignResults(PathBuf),
    #[error("`{}` belongs to a different scenario, algorithm, seed, batch or hyper-parameters; use another output directory or start over without resuming", .0.display())]
    ForeignCheckpoint(PathBuf),
    #[error("`{}` holds results of a different scenario or plan than `{}` (manifest fingerprints differ)", shard.display(), first.display())]
    ShardMismatch { shard: PathBuf, first: PathBuf },
    #[error("`{}` differs between shards; were they run with different gridc versions?", .0.display())]
    ShardsDiffer(PathBuf),
    #[error("give at least one result directory to merge")]
    NoShards,
    #[error("the batch must be positive")]
    BatchNotPositive,
    #[error("a budget of {budget} steps is too small for one update ({per_update} environment steps: batch {batch} × {steps} steps per episode)")]
    BudgetTooSmall {
        budget: u64,
        per_update: u64,
        batch: usize,
        steps: usize,
    },
    #[error("point `{id}`: {source}")]
    Point { id: String, source: Box<RunError> },
    /// A broken invariant between plan and checked points (a bug, reported, not a panic).
    #[error("{0}")]
    Internal(&'static str),
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Serialize(#[from] serde_json::Error),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Simulate(#[from] SimError),
    #[error(transparent)]
    Hyper(#[from] HyperError),
    #[error(transparent)]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
}
