//! Experiment report: plots (more files later).
//!
//! [`plots`] turns plain data (learning curves, trade-off points, day traces, bar
//! summaries) into deterministic SVG strings; writing them to disk is the caller's job.

pub mod plots;
