//! Text → syntax tree, and back (the canonical formatter).

pub mod ast;
pub mod fmt;
pub mod parse;
pub mod split;

pub use parse::{parse_file, parse_value};
