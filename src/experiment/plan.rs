//! Expand an experiment into runs. A **point** is one scenario: the file as written (with
//! the command's `--set` overrides) is the `base` point, and each sweep axis is varied
//! **one at a time** from it (a full product of the DESIGN sweep would be 200 points).
//! Each point has one reference job (baselines + optimum, deterministic) and
//! algorithms × seeds training runs. Every point is checked as a whole scenario before
//! anything runs, so a swept value that breaks the scenario is a diagnostic up front.

use crate::check::{check_file, Checked, Options};
use crate::model::Scenario;
use crate::train::Algo;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Directory-safe id: `base` or `PATH=VALUE` with unsafe characters replaced.
    pub id: String,
    /// The sweep axis and value (`None` for the base point).
    pub axis: Option<String>,
    pub value: Option<String>,
    /// The overrides that make this point (the command's, then the axis value).
    pub overrides: Vec<(String, String)>,
    /// A sweep value that leaves the scenario as the base point has it (e.g. the file's
    /// own `reward.mix`) is not run again: its results are the base point's.
    pub same_as_base: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// `POINT/ALGO-sSEED`: the run's directory under `DIR/runs/`.
    pub id: String,
    pub point: usize,
    pub algo: Algo,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub file: PathBuf,
    pub experiment: String,
    pub points: Vec<Point>,
    pub runs: Vec<RunSpec>,
    /// Environment steps per training run and environments per update.
    pub budget: u64,
    pub batch: usize,
    pub seeds: u32,
    pub algorithms: Vec<Algo>,
    pub baselines: Vec<String>,
    pub optimum: bool,
}

/// A point's checked scenario, or the diagnostics that stop the plan.
pub struct CheckedPoint {
    pub checked: Checked,
}

impl CheckedPoint {
    pub fn scenario(&self) -> Option<&Scenario> {
        self.checked.scenario.as_ref()
    }
}

pub struct PlanRequest<'a> {
    pub file: &'a Path,
    pub experiment: Option<&'a str>,
    pub overrides: &'a [(String, String)],
    pub budget: Option<u64>,
    pub seeds: Option<u32>,
    pub batch: usize,
    /// Only the base point.
    pub no_sweeps: bool,
    /// Only these algorithms of the experiment (empty = all).
    pub algorithms: Vec<Algo>,
}

/// Why a plan could not be made: diagnostics of one point, or a plain message.
pub enum PlanError {
    Diagnostics { point: String, checked: Checked },
    Message(String),
}

/// Check the base scenario and every sweep point; expand the runs.
pub fn expand(req: &PlanRequest) -> Result<(Plan, Vec<CheckedPoint>), PlanError> {
    let base = check_file(
        &crate::files::Disk,
        req.file,
        &Options {
            overrides: req.overrides.to_vec(),
        },
    );
    let Some(s) = base.scenario.as_ref() else {
        return Err(PlanError::Diagnostics {
            point: "base".into(),
            checked: base,
        });
    };
    let exp = match req.experiment {
        None => &s.experiments[0],
        Some(name) => match s.experiments.iter().find(|e| e.name == name) {
            Some(e) => e,
            None => {
                let names: Vec<&str> = s.experiments.iter().map(|e| e.name.as_str()).collect();
                return Err(PlanError::Message(format!(
                    "no experiment `{name}` (experiments: {})",
                    names.join(", ")
                )));
            }
        },
    };
    let mut algorithms = Vec::new();
    for a in &exp.algorithms {
        match Algo::from_name(a) {
            Some(x) if req.algorithms.is_empty() || req.algorithms.contains(&x) => {
                algorithms.push(x)
            }
            Some(_) => {}
            None => {
                return Err(PlanError::Message(format!(
                    "experiment `{}`: algorithm `{a}` cannot be trained by this gridc",
                    exp.name
                )))
            }
        }
    }
    if algorithms.is_empty() {
        return Err(PlanError::Message(format!(
            "none of the requested algorithms is in experiment `{}` (it has: {})",
            exp.name,
            exp.algorithms.join(", ")
        )));
    }
    let seeds = req.seeds.unwrap_or(exp.seeds);
    if seeds == 0 {
        return Err(PlanError::Message("seeds must be at least 1".into()));
    }
    if req.batch == 0 {
        return Err(PlanError::Message("the batch must be positive".into()));
    }
    let mut plan = Plan {
        file: req.file.to_path_buf(),
        experiment: exp.name.clone(),
        points: vec![Point {
            id: "base".into(),
            axis: None,
            value: None,
            overrides: req.overrides.to_vec(),
            same_as_base: false,
        }],
        runs: Vec::new(),
        budget: req.budget.unwrap_or(exp.budget_steps),
        batch: req.batch,
        seeds,
        algorithms,
        baselines: exp.baselines.clone(),
        optimum: exp.optimum.is_some(),
    };
    let sweeps = if req.no_sweeps {
        &[][..]
    } else {
        &exp.sweeps[..]
    };
    for axis in sweeps {
        for value in &axis.values {
            let mut overrides = req.overrides.to_vec();
            overrides.push((axis.path.clone(), value.clone()));
            plan.points.push(Point {
                id: point_id(&axis.path, value),
                axis: Some(axis.path.clone()),
                value: Some(value.clone()),
                overrides,
                same_as_base: false,
            });
        }
    }
    let experiment_name = exp.name.clone();
    let base_json = serde_json::to_string(s).unwrap_or_default();
    let mut checked = vec![CheckedPoint { checked: base }];
    for p in plan.points[1..].iter_mut() {
        let c = check_file(
            &crate::files::Disk,
            req.file,
            &Options {
                overrides: p.overrides.clone(),
            },
        );
        match &c.scenario {
            None => {
                return Err(PlanError::Diagnostics {
                    point: p.id.clone(),
                    checked: c,
                })
            }
            Some(ps) => p.same_as_base = serde_json::to_string(ps).unwrap_or_default() == base_json,
        }
        checked.push(CheckedPoint { checked: c });
    }
    // Every point must still contain the experiment (overrides never rename it).
    for (i, c) in checked.iter().enumerate() {
        let has = c
            .scenario()
            .is_some_and(|s| s.experiments.iter().any(|e| e.name == experiment_name));
        if !has {
            return Err(PlanError::Message(format!(
                "point `{}` lost experiment `{experiment_name}`",
                plan.points[i].id
            )));
        }
    }
    for (pi, p) in plan.points.iter().enumerate() {
        if p.same_as_base {
            continue;
        }
        for a in &plan.algorithms {
            for seed in 0..seeds as u64 {
                plan.runs.push(RunSpec {
                    id: format!("{}/{}-s{seed}", p.id, a.name()),
                    point: pi,
                    algo: *a,
                    seed,
                });
            }
        }
    }
    Ok((plan, checked))
}

/// `reward.mix=0.25` → `reward.mix=0.25`; `communicate=broadcast(4)` → `communicate=broadcast_4`.
pub fn point_id(path: &str, value: &str) -> String {
    let clean: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{path}={}", clean.trim_matches('_'))
}

/// `I/N` with 1 ≤ I ≤ N.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not a shard: write I/N with 1 ≤ I ≤ N, e.g. `2/8`");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

impl Plan {
    /// The runs of shard `i` of `n` (1-based): every n-th run, so each shard gets a mix of
    /// points and algorithms.
    pub fn shard(&self, shard: Option<(usize, usize)>) -> Vec<&RunSpec> {
        match shard {
            None => self.runs.iter().collect(),
            Some((i, n)) => self
                .runs
                .iter()
                .enumerate()
                .filter(|(k, _)| k % n == i - 1)
                .map(|(_, r)| r)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_runs() {
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        for bad in ["3/2", "0/2", "1/0", "x", "1/2/3", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let runs: Vec<RunSpec> = (0..7)
            .map(|k| RunSpec {
                id: format!("base/mappo-s{k}"),
                point: 0,
                algo: Algo::Mappo,
                seed: k,
            })
            .collect();
        let plan = Plan {
            file: "x.grid".into(),
            experiment: "e".into(),
            points: vec![],
            runs,
            budget: 1,
            batch: 1,
            seeds: 7,
            algorithms: vec![Algo::Mappo],
            baselines: vec![],
            optimum: false,
        };
        let mut all: Vec<u64> = (1..=3)
            .flat_map(|i| plan.shard(Some((i, 3))).into_iter().map(|r| r.seed))
            .collect();
        all.sort();
        assert_eq!(all, (0..7).collect::<Vec<_>>());
        assert_eq!(plan.shard(Some((1, 3))).len(), 3);
    }

    #[test]
    fn point_ids_are_directory_safe() {
        assert_eq!(
            point_id("communicate", "broadcast(4)"),
            "communicate=broadcast_4"
        );
        assert_eq!(point_id("street.limit", "20 kW"), "street.limit=20_kW");
        assert_eq!(point_id("reward.mix", "0.25"), "reward.mix=0.25");
    }
}
