//! The checked, resolved scenario (SI units) and profile loading.

pub mod csv_table;
pub mod scenario;

pub use scenario::*;
