//! Text → syntax tree, and back (the canonical formatter).

pub mod ast;
mod build;
pub mod fmt;
pub mod parse;
mod parse_errors;
pub mod split;

pub use parse::{parse_file, parse_value};
