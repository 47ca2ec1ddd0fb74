//! `gridc run FILE`: plan → execute (rayon, resume, shards) → report; `gridc merge`
//! joins shard directories and writes the report; `gridc slurm` writes a job-array script.

use super::fail;
use crate::diag::render::render;
use crate::experiment::exec::{self, ExecOptions};
use crate::experiment::plan::{self, CheckedPoint, Plan, PlanError, PlanRequest};
use crate::experiment::{calibrate, report, results};
use crate::sim::env::Backend;
use std::path::{Path, PathBuf};

pub struct Args {
    pub file: PathBuf,
    pub experiment: Option<String>,
    pub out: PathBuf,
    pub overrides: Vec<(String, String)>,
    pub hyper: Vec<(String, String)>,
    pub jobs: usize,
    pub shard: Option<String>,
    pub dry_run: bool,
    pub force: bool,
    pub backend: Backend,
    pub budget: Option<u64>,
    pub seeds: Option<u32>,
    pub batch: usize,
    pub interrupt_after_updates: Option<u64>,
    pub no_sweeps: bool,
    pub algorithms: Vec<crate::train::Algo>,
}

/// Expand and check the plan, printing diagnostics; `None` = exit 1.
pub fn make_plan(req: &PlanRequest) -> Option<(Plan, Vec<CheckedPoint>)> {
    match plan::expand(req) {
        Ok(x) => Some(x),
        Err(PlanError::Diagnostics { point, checked }) => {
            for d in &checked.diagnostics {
                eprint!("{}", render(d, &checked.sources, super::color()));
            }
            if point != "base" {
                eprintln!("error: sweep point `{point}` does not check (see above)");
            }
            None
        }
        Err(PlanError::Message(m)) => {
            fail(m);
            None
        }
    }
}

/// `--hp` overrides must suit every algorithm of the plan; a bad one is a usage error.
pub fn check_hyper_for(plan: &Plan, hyper: &[(String, String)]) -> Result<(), i32> {
    for &algo in &plan.algorithms {
        if let Err(e) = crate::train::learner::check_hyper(algo, hyper) {
            return Err(super::usage(format!("{}: {e}", algo.name())));
        }
    }
    Ok(())
}

pub fn run(a: Args) -> i32 {
    let shard = match a.shard.as_deref().map(plan::parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let Some((plan, points)) = make_plan(&PlanRequest {
        file: &a.file,
        experiment: a.experiment.as_deref(),
        overrides: &a.overrides,
        budget: a.budget,
        seeds: a.seeds,
        batch: a.batch,
        no_sweeps: a.no_sweeps,
        algorithms: a.algorithms.clone(),
    }) else {
        return 1;
    };
    if let Err(code) = check_hyper_for(&plan, &a.hyper) {
        return code;
    }
    if a.dry_run {
        print_plan(&plan, &points, shard, a.jobs, a.backend);
        return 0;
    }
    let opts = ExecOptions {
        out: a.out.clone(),
        jobs: a.jobs,
        shard,
        force: a.force,
        backend: a.backend,
        hyper: a.hyper.clone(),
        interrupt_after_updates: a.interrupt_after_updates,
        progress: true,
    };
    let rep = match exec::execute(&plan, &points, &opts) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    eprintln!(
        "{} runs finished, {} already done, {} interrupted, {} failed → {}",
        rep.finished,
        rep.skipped,
        rep.interrupted,
        rep.failed.len(),
        a.out.display()
    );
    for (id, e) in &rep.failed {
        eprintln!("  failed: {id}: {e}");
    }
    if shard.is_none() && rep.interrupted == 0 {
        if let Err(e) = report::write(&a.out, &points, a.backend) {
            return fail(&e);
        }
        eprintln!("report: {}", a.out.join("report.md").display());
    }
    if !rep.failed.is_empty() {
        eprintln!(
            "error: {} of {} runs failed",
            rep.failed.len(),
            plan.shard(shard).len()
        );
        return 1;
    }
    0
}

fn print_plan(
    plan: &Plan,
    points: &[CheckedPoint],
    shard: Option<(usize, usize)>,
    jobs: usize,
    backend: Backend,
) {
    let runs = plan.shard(shard);
    println!(
        "experiment `{}` of {}: {} points × {} algorithms × {} seeds → {} training runs{} of {} environment steps each",
        plan.experiment,
        plan.file.display(),
        plan.points.len(),
        plan.algorithms.len(),
        plan.seeds,
        plan.runs.len(),
        shard.map(|(i, n)| format!(" (shard {i}/{n}: {} runs)", runs.len())).unwrap_or_default(),
        plan.budget
    );
    for (p, c) in plan.points.iter().zip(points) {
        let n = c.scenario().map_or(0, |s| s.agents.households.len());
        let note = if p.same_as_base {
            "  (= base, not run again)"
        } else {
            ""
        };
        println!("  point {:<36} {n} agents{note}", p.id);
    }
    // Calibrate: a few updates of the first run's algorithm on the base point.
    let estimate = calibrate::env_steps_per_s(plan, &points[0], backend);
    if let Some(sps) = estimate {
        let total_steps = runs.len() as f64 * plan.budget as f64;
        let secs = total_steps / sps / jobs.max(1) as f64;
        println!(
            "estimated time: {} with {jobs} jobs (calibrated {sps:.0} env-steps/s on the base point; larger sweep points are slower)",
            human_duration(secs)
        );
    }
}

fn human_duration(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

pub struct MergeArgs {
    pub out: PathBuf,
    pub dirs: Vec<PathBuf>,
    pub backend: Backend,
}

pub fn merge(a: MergeArgs) -> i32 {
    let shards: Vec<&Path> = a.dirs.iter().map(|p| p.as_path()).collect();
    if let Err(e) = results::merge(&a.out, &shards) {
        return fail(&e);
    }
    // Re-check the plan's points from the manifest's file for the day traces.
    let plan: Plan = match exec::read_json(&a.out.join("plan.json")) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let overrides = plan.points[0].overrides.clone();
    let points = make_plan(&PlanRequest {
        file: &plan.file,
        experiment: Some(&plan.experiment),
        overrides: &overrides,
        budget: Some(plan.budget),
        seeds: Some(plan.seeds),
        batch: plan.batch,
        no_sweeps: true,
        algorithms: plan.algorithms.clone(),
    })
    .map(|(_, p)| p)
    .unwrap_or_default();
    if let Err(e) = report::write(&a.out, &points, a.backend) {
        return fail(&e);
    }
    eprintln!(
        "merged {} directories → {}",
        a.dirs.len(),
        a.out.join("report.md").display()
    );
    0
}
