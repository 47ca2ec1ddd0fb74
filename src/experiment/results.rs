//! Gather a result directory (after `gridc run` or `gridc merge`) into typed results, and
//! merge shard directories. Only files written atomically by `exec` are read.

use super::exec::{point_dir, read_json, run_dir, write_json};
use super::manifest::Manifest;
use super::plan::{Plan, Point};
use super::reference::Reference;
use super::session::{CurveRow, Summary};
use crate::experiment::error::RunError;
use crate::train::Algo;
use std::collections::BTreeMap;
use std::path::Path;

pub struct PointResults {
    pub point: Point,
    pub reference: Reference,
    /// Finished runs per algorithm, ordered by seed.
    pub runs: BTreeMap<Algo, Vec<Summary>>,
    /// Learning curves per algorithm, in the same order as `runs`.
    pub curves: BTreeMap<Algo, Vec<Vec<CurveRow>>>,
}

pub struct Results {
    pub plan: Plan,
    pub manifest: Manifest,
    pub points: Vec<PointResults>,
    /// Runs without a summary: (id, error text or "not finished").
    pub missing: Vec<(String, String)>,
}

pub fn load(dir: &Path) -> Result<Results, RunError> {
    let plan: Plan = read_json(&dir.join("plan.json"))?;
    let manifest: Manifest = read_json(&dir.join("manifest.json"))?;
    let mut points = Vec::new();
    let mut missing = Vec::new();
    for (pi, p) in plan.points.iter().enumerate() {
        // A sweep value equal to the base scenario shows the base point's results.
        let (pi, src) = if p.same_as_base {
            (0, &plan.points[0])
        } else {
            (pi, p)
        };
        let reference: Reference = read_json(&point_dir(dir, &src.id).join("reference.json"))?;
        let mut runs: BTreeMap<Algo, Vec<Summary>> = BTreeMap::new();
        let mut curves: BTreeMap<Algo, Vec<Vec<CurveRow>>> = BTreeMap::new();
        for r in plan.runs.iter().filter(|r| r.point == pi) {
            let rd = run_dir(dir, &r.id);
            match read_json::<Summary>(&rd.join("summary.json")) {
                Err(_) if p.same_as_base => {} // reported once, under the base point
                Ok(s) => {
                    runs.entry(r.algo).or_default().push(s);
                    curves
                        .entry(r.algo)
                        .or_default()
                        .push(read_curve(&rd.join("curve.csv")));
                }
                Err(_) => {
                    let why = std::fs::read_to_string(rd.join("error.txt"))
                        .map(|e| e.trim().to_string())
                        .unwrap_or_else(|_| "not finished".into());
                    missing.push((r.id.clone(), why));
                }
            }
        }
        points.push(PointResults {
            point: p.clone(),
            reference,
            runs,
            curves,
        });
    }
    Ok(Results {
        plan,
        manifest,
        points,
        missing,
    })
}

fn read_curve(path: &Path) -> Vec<CurveRow> {
    let Ok(mut rdr) = csv::Reader::from_path(path) else {
        return Vec::new();
    };
    rdr.records()
        .filter_map(|r| r.ok())
        .filter_map(|r| {
            Some(CurveRow {
                update: r.get(0)?.parse().ok()?,
                env_steps: r.get(1)?.parse().ok()?,
                mean_episode_return: r.get(2)?.parse().ok()?,
                policy_loss: r.get(3)?.parse().ok()?,
                value_loss: r.get(4)?.parse().ok()?,
                test_cost: r.get(5).and_then(|c| c.parse().ok()),
            })
        })
        .collect()
}

/// Join shard directories into `out`: their manifests must share one fingerprint; run and
/// point directories are copied (a run present in several shards must be identical).
pub fn merge(out: &Path, shards: &[&Path]) -> Result<usize, RunError> {
    if shards.is_empty() {
        return Err(RunError::NoShards);
    }
    let mut first: Option<(Manifest, Plan)> = None;
    for s in shards {
        let m: Manifest = read_json(&s.join("manifest.json"))?;
        let p: Plan = read_json(&s.join("plan.json"))?;
        match &first {
            None => first = Some((m, p)),
            Some((m0, _)) if m0.fingerprint != m.fingerprint => {
                return Err(RunError::ShardMismatch {
                    shard: s.to_path_buf(),
                    first: shards[0].to_path_buf(),
                })
            }
            _ => {}
        }
    }
    let (mut manifest, plan) = first.ok_or(RunError::NoShards)?;
    super::exec::prepare_dir(out, &manifest, false)?;
    let mut copied = 0;
    for s in shards {
        for sub in ["points", "runs"] {
            copied += copy_tree(&s.join(sub), &out.join(sub))?;
        }
    }
    // The merged manifest spans the shards' times.
    let mut finished = Some(0u64);
    for s in shards {
        let m: Manifest = read_json(&s.join("manifest.json"))?;
        manifest.started_unix = manifest.started_unix.min(m.started_unix);
        finished = match (finished, m.finished_unix) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    manifest.finished_unix = finished;
    write_json(&out.join("manifest.json"), &manifest)?;
    write_json(&out.join("plan.json"), &plan)?;
    Ok(copied)
}

/// Copy files under `from` into `to` (creating directories). Same-named files must have
/// identical bytes unless they are wall-clock records (timing.json).
fn copy_tree(from: &Path, to: &Path) -> Result<usize, RunError> {
    if !from.exists() {
        return Ok(0);
    }
    let mut n = 0;
    let entries = std::fs::read_dir(from).map_err(|reason| RunError::Read {
        path: from.to_path_buf(),
        reason,
    })?;
    for e in entries {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            n += copy_tree(&src, &dst)?;
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue; // temporary files of an interrupted write
        }
        let bytes = std::fs::read(&src).map_err(|reason| RunError::Read {
            path: src.clone(),
            reason,
        })?;
        if let Ok(existing) = std::fs::read(&dst) {
            if existing != bytes && name != "timing.json" && name != "summary.json" {
                return Err(RunError::ShardsDiffer(dst));
            }
            if existing == bytes {
                continue;
            }
        }
        super::exec::create_dir(to)?;
        crate::files::write_atomic(&dst, &bytes)?;
        n += 1;
    }
    Ok(n)
}
