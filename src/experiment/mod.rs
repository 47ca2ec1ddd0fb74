//! `gridc run`: expand an experiment into runs (`plan`), execute them with resume and
//! sharding (`exec`), record what produced them (`manifest`), and gather the results
//! (`results`) for the report.

pub mod exec;
pub mod manifest;
pub mod plan;
pub mod report;
pub mod results;
