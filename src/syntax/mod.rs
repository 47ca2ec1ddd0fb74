//! Text → syntax tree, and back (the canonical formatter).

pub mod ast;
mod build;
pub mod fmt;
pub mod parse;
mod parse_errors;
pub mod split;

pub use parse::{parse_file, parse_value};

/// The unit vocabulary of the grammar (`unit_atom` in grammar/grid.pest); check/units.rs
/// gives each its dimension and scale.
pub const UNIT_NAMES: [&str; 22] = [
    "W", "kW", "MW", "GW", "Wh", "kWh", "MWh", "GWh", "Wp", "kWp", "MWp", "$", "ct", "kg", "g",
    "s", "min", "h", "d", "steps", "step", "%",
];
