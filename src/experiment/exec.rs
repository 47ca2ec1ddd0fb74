//! Execute a plan (or one shard of it) into a result directory:
//!
//! ```text
//! DIR/manifest.json            inputs, fingerprint, machine, times
//! DIR/plan.json                the expanded plan
//! DIR/points/POINT/reference.json   baselines + optimum on the test days
//! DIR/runs/POINT/ALGO-sSEED/   summary.json, curve.csv, checkpoint.json (or error.txt)
//! ```
//!
//! Rerunning the same command skips finished runs and resumes interrupted ones from their
//! checkpoints; a changed scenario is refused unless `force`. A failing run records its
//! error and the others go on.

use super::manifest::{manifest, now_unix, Manifest};
use super::plan::{CheckedPoint, Plan, RunSpec};
use super::reference::{self, Reference};
use super::session::{self, RunConfig, Summary};
use crate::experiment::error::RunError;
use crate::model::{Experiment, Scenario};
use crate::sim::env::Backend;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct ExecOptions {
    pub out: PathBuf,
    pub jobs: usize,
    pub shard: Option<(usize, usize)>,
    pub force: bool,
    pub backend: Backend,
    pub hyper: Vec<(String, String)>,
    /// Test hook: stop every run after this many updates (after its checkpoint), as if
    /// the process had been killed.
    pub interrupt_after_updates: Option<u64>,
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct ExecReport {
    pub finished: usize,
    pub skipped: usize,
    pub interrupted: usize,
    pub failed: Vec<(String, RunError)>,
}

pub fn run_dir(out: &Path, id: &str) -> PathBuf {
    out.join("runs").join(id)
}

pub fn point_dir(out: &Path, point: &str) -> PathBuf {
    out.join("points").join(point)
}

pub fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> Result<(), RunError> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let text = serde_json::to_string_pretty(v)? + "\n";
    super::checkpoint::write_atomic(path, text.as_bytes())
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RunError> {
    let bytes = std::fs::read(path).map_err(|reason| RunError::Read {
        path: path.to_path_buf(),
        reason,
    })?;
    serde_json::from_slice(&bytes).map_err(|reason| RunError::BadJson {
        path: path.to_path_buf(),
        reason,
    })
}

pub fn create_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|reason| RunError::Create {
        path: dir.to_path_buf(),
        reason,
    })
}

/// Make DIR usable for this plan: create it, or check that its manifest has the same
/// fingerprint; with `force`, remove earlier results first.
pub fn prepare_dir(out: &Path, m: &Manifest, force: bool) -> Result<(), RunError> {
    if out.exists() && !out.is_dir() {
        return Err(RunError::NotADirectory(out.to_path_buf()));
    }
    let manifest_path = out.join("manifest.json");
    if manifest_path.exists() {
        let old: Result<Manifest, RunError> = read_json(&manifest_path);
        let same = old.as_ref().is_ok_and(|o| o.fingerprint == m.fingerprint);
        if !same && !force {
            return Err(RunError::ForeignResults(out.to_path_buf()));
        }
        if !same {
            for sub in ["runs", "points"] {
                let p = out.join(sub);
                if p.exists() {
                    std::fs::remove_dir_all(&p)
                        .map_err(|reason| RunError::Remove { path: p, reason })?;
                }
            }
            for f in ["report.md", "report.json", "runs.csv"] {
                let _ = std::fs::remove_file(out.join(f));
            }
        }
    }
    create_dir(out)?;
    // Probe writability before any run starts.
    let probe = out.join(format!(".gridc-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|reason| RunError::NotWritable {
        path: out.to_path_buf(),
        reason,
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// A checked point's scenario and the plan's experiment in it (plan expansion only keeps
/// points that check, so `Internal` means a bug).
fn scenario_and_experiment<'p>(
    point: &'p CheckedPoint,
    plan: &Plan,
) -> Result<(&'p Scenario, &'p Experiment), RunError> {
    let s = point
        .scenario()
        .ok_or(RunError::Internal("point has no scenario"))?;
    let exp = s
        .experiments
        .iter()
        .find(|e| e.name == plan.experiment)
        .ok_or(RunError::Internal("experiment missing"))?;
    Ok((s, exp))
}

/// The reference of a point, computed once and cached in DIR/points/POINT/reference.json.
pub fn point_reference(
    out: &Path,
    plan: &Plan,
    point: usize,
    checked: &CheckedPoint,
    backend: Backend,
) -> Result<Reference, RunError> {
    let path = point_dir(out, &plan.points[point].id).join("reference.json");
    if let Ok(r) = read_json::<Reference>(&path) {
        return Ok(r);
    }
    let (s, exp) = scenario_and_experiment(checked, plan)?;
    let r = reference::reference(s, exp, backend)?;
    write_json(&path, &r)?;
    write_json(
        &point_dir(out, &plan.points[point].id).join("point.json"),
        &plan.points[point],
    )?;
    Ok(r)
}

pub fn execute(
    plan: &Plan,
    points: &[CheckedPoint],
    opts: &ExecOptions,
) -> Result<ExecReport, RunError> {
    let mut m = manifest(plan, &points[0].checked, &opts.hyper);
    prepare_dir(&opts.out, &m, opts.force)?;
    let manifest_path = opts.out.join("manifest.json");
    if let Ok(old) = read_json::<Manifest>(&manifest_path) {
        if old.fingerprint == m.fingerprint {
            m.started_unix = old.started_unix;
        }
    }
    write_json(&manifest_path, &m)?;
    write_json(&opts.out.join("plan.json"), plan)?;
    let runs = plan.shard(opts.shard);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()?;
    let multi = MultiProgress::new();
    if !opts.progress {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    // 1. References of the points this shard needs (deterministic, shared by its runs).
    let mut needed: Vec<usize> = runs.iter().map(|r| r.point).collect();
    needed.sort();
    needed.dedup();
    let refs: Vec<(usize, Result<Reference, RunError>)> = pool.install(|| {
        needed
            .par_iter()
            .map(|&p| {
                (
                    p,
                    point_reference(&opts.out, plan, p, &points[p], opts.backend),
                )
            })
            .collect()
    });
    let mut references = BTreeMap::new();
    for (p, r) in refs {
        references.insert(
            p,
            r.map_err(|e| RunError::Point {
                id: plan.points[p].id.clone(),
                source: Box::new(e),
            })?,
        );
    }
    // 2. Training runs.
    let overall = multi.add(ProgressBar::new(runs.len() as u64));
    overall.set_style(
        ProgressStyle::with_template("runs {bar:30} {pos}/{len}  elapsed {elapsed}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = Mutex::new(ExecReport::default());
    pool.install(|| {
        runs.par_iter().for_each(|spec| {
            let outcome = run_one(plan, points, &references, spec, opts, &multi);
            let mut rep = report.lock().unwrap_or_else(|e| e.into_inner());
            match outcome {
                Ok(RunOutcome::Finished) => rep.finished += 1,
                Ok(RunOutcome::Skipped) => rep.skipped += 1,
                Ok(RunOutcome::Interrupted) => rep.interrupted += 1,
                Err(e) => rep.failed.push((spec.id.clone(), e)),
            }
            overall.inc(1);
        })
    });
    overall.finish_and_clear();
    let mut rep = report.into_inner().unwrap_or_else(|e| e.into_inner());
    rep.failed.sort_by(|a, b| a.0.cmp(&b.0));
    if rep.interrupted == 0 && rep.failed.is_empty() {
        m.finished_unix = Some(now_unix());
        write_json(&manifest_path, &m)?;
    }
    Ok(rep)
}

enum RunOutcome {
    Finished,
    Skipped,
    Interrupted,
}

fn run_one(
    plan: &Plan,
    points: &[CheckedPoint],
    references: &BTreeMap<usize, Reference>,
    spec: &RunSpec,
    opts: &ExecOptions,
    multi: &MultiProgress,
) -> Result<RunOutcome, RunError> {
    let dir = run_dir(&opts.out, &spec.id);
    if read_json::<Summary>(&dir.join("summary.json")).is_ok() {
        return Ok(RunOutcome::Skipped);
    }
    let _ = std::fs::remove_file(dir.join("error.txt"));
    let (s, exp) = scenario_and_experiment(&points[spec.point], plan)?;
    let rc = RunConfig {
        algo: spec.algo,
        seed: spec.seed,
        budget: plan.budget,
        batch: plan.batch,
        backend: opts.backend,
        hyper: opts.hyper.clone(),
        ..RunConfig::new(spec.algo, 0, 0)
    };
    let bar = multi.add(ProgressBar::new(plan.budget));
    bar.set_style(
        ProgressStyle::with_template("  {prefix:32} {bar:20} {percent:>3}%  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(spec.id.clone());
    let resume = dir.join("checkpoint.json").exists();
    let result = session::train(
        s,
        exp,
        &rc,
        &references[&spec.point],
        &dir,
        resume,
        opts.interrupt_after_updates,
        |p| {
            bar.set_position(p.env_steps);
            if let Some((_, Some(g))) = p.last_test {
                bar.set_message(format!("gap closed {:.0} %", g * 100.0));
            }
        },
    );
    bar.finish_and_clear();
    multi.remove(&bar);
    match result {
        Ok(Some(_)) => Ok(RunOutcome::Finished),
        Ok(None) => Ok(RunOutcome::Interrupted),
        Err(e) => {
            let _ = std::fs::create_dir_all(&dir);
            let _ = crate::files::write_atomic(&dir.join("error.txt"), format!("{e}\n").as_bytes());
            Err(e)
        }
    }
}
