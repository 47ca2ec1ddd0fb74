//! gridc: a toolchain for multi-agent reinforcement learning research on smart-grid
//! energy communities. See ARCHITECTURE.md for the pipeline and where to find what.

pub mod baselines;
pub mod calendar;
pub mod check;
pub mod cli;
pub mod diag;
pub mod experiment;
pub mod files;
pub mod ir;
pub mod model;
pub mod plot;
pub mod sim;
pub mod source;
pub mod stats;
pub mod stdlib_files;
pub mod syntax;
pub mod train;
