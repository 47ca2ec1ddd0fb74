//! The run machinery above the algorithms: one training run from start to finish
//! (`session`, with `checkpoint`s and the greedy/optimum `reference`), an experiment
//! expanded into runs (`plan`), executed with resume and sharding (`exec`), what produced
//! them (`manifest`), the results gathered (`results`) and the report (`report`).
//! Architecture invariant: this layer and cli are the only ones that write files.

pub mod calibrate;
pub mod checkpoint;
pub mod error;
pub mod exec;
pub mod manifest;
pub mod plan;
pub mod reference;
pub mod report;
pub mod results;
pub mod session;
