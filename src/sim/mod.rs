//! Simulation: the reference interpreter, the batched environment, KPIs.

pub mod coordination;
pub mod env;
pub mod episode;
pub mod interp;
pub mod jit;
pub mod kpi;
pub mod native;
pub mod obs;
pub mod rules;
