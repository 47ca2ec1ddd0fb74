//! `gridc run FILE`: plan → execute (rayon, resume, shards) → report; `gridc merge`
//! joins shard directories and writes the report; `gridc slurm` writes a job-array script.

use crate::baselines::simulate::{simulate, SimOptions};
use crate::baselines::{evaluate, rules::Rule};
use crate::diag::render::render;
use crate::experiment::exec::{self, ExecOptions};
use crate::experiment::plan::{self, CheckedPoint, Plan, PlanError, PlanRequest};
use crate::experiment::{checkpoint, reference, session};
use crate::experiment::{report, results};
use crate::ir::Field;
use crate::plot::DayTrace;
use crate::sim::env::{Backend, Env};
use crate::sim::kpi::TraceRow;
use crate::train::learner;
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

fn fail(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    1
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
            fail(&m);
            None
        }
    }
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
        if let Err(e) = write_report(&a.out, &points, a.backend) {
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
    let estimate = calibrate(plan, &points[0], backend);
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

fn calibrate(plan: &Plan, base: &CheckedPoint, backend: Backend) -> Option<f64> {
    let s = base.scenario()?;
    let exp = s.experiments.iter().find(|e| e.name == plan.experiment)?;
    let algo = *plan.algorithms.first()?;
    let dir = std::env::temp_dir().join(format!("gridc-calibrate-{}", std::process::id()));
    let env = Env::with_backend(s, exp, plan.batch, backend).ok()?;
    let per_update = (plan.batch * env.steps()) as u64;
    let reference = reference::Reference {
        days: reference::test_days(exp).into_iter().take(1).collect(),
        ..Default::default()
    };
    let rc = session::RunConfig {
        algo,
        seed: 0,
        budget: per_update * 3,
        batch: plan.batch,
        backend,
        hyper: vec![],
        ..session::RunConfig::new(algo, 0, 0)
    };
    let t = std::time::Instant::now();
    let r = session::train(s, exp, &rc, &reference, &dir, false, None, |_| {});
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    r.ok()?;
    Some(rc.budget as f64 / secs.max(1e-9))
}

/// Load DIR, compute statistics and write report.json, runs.csv, plots and report.md.
pub fn write_report(dir: &Path, points: &[CheckedPoint], backend: Backend) -> Result<(), String> {
    let res = results::load(dir)?;
    let rep = report::build(&res);
    let (day, limit) = day_traces(dir, &res, points, backend).unwrap_or_default();
    let plots = report::write_plots(dir, &res, &rep, &day, limit)?;
    let json = serde_json::to_string_pretty(&rep).map_err(|e| e.to_string())? + "\n";
    crate::files::write_atomic(&dir.join("report.json"), json.as_bytes())
        .map_err(|e| e.to_string())?;
    crate::files::write_atomic(&dir.join("runs.csv"), report::runs_csv(&res).as_bytes())
        .map_err(|e| e.to_string())?;
    let md = report::markdown(&rep, &res, &plots, &report::compute_section(&res));
    crate::files::write_atomic(&dir.join("report.md"), md.as_bytes()).map_err(|e| e.to_string())
}

/// The first test day of the base point for greedy, each algorithm's seed-0 policy and
/// the optimum.
fn day_traces(
    dir: &Path,
    res: &results::Results,
    points: &[CheckedPoint],
    backend: Backend,
) -> Option<(Vec<DayTrace>, Option<f64>)> {
    let s = points.first()?.scenario()?;
    let exp = s
        .experiments
        .iter()
        .find(|e| e.name == res.plan.experiment)?;
    let day = *res.points.first()?.reference.days.first()?;
    let mut env = Env::with_backend(s, exp, 1, backend).ok()?;
    let capacity: f64 = env.ir.household_param(Field::Capacity).iter().sum();
    let step_h = exp.step_s / 3600.0;
    let to_trace = |name: &str, rows: &[TraceRow]| day_trace(name, rows, capacity, step_h);
    let mut out = Vec::new();
    let (_, rec) = evaluate(&mut env, &[day], true, |e| Rule::Greedy.actions(e)).ok()?;
    out.push(to_trace("greedy", rec.trace.as_deref()?));
    for run in res.plan.runs.iter().filter(|r| r.point == 0 && r.seed == 0) {
        if let Ok(learner) = checkpoint::load_learner(&exec::run_dir(dir, &run.id)) {
            if let Ok((_, rec)) = learner::evaluate_policy(&mut env, &learner, &[day], true) {
                out.push(to_trace(
                    run.algo.name(),
                    rec.trace.as_deref().unwrap_or_default(),
                ));
            }
        }
    }
    if res.plan.optimum {
        let sim = simulate(
            s,
            exp,
            &[day],
            &SimOptions {
                baselines: vec![],
                optimum: true,
                trace_policy: Some("optimum".into()),
                backend,
            },
        )
        .ok()?;
        out.push(to_trace("optimum", &sim.trace));
    }
    let limit = s
        .network
        .feeders
        .iter()
        .map(|f| f.limit_w / 1e3)
        .filter(|w| w.is_finite())
        .reduce(f64::min);
    Some((out, limit))
}

fn day_trace(policy: &str, rows: &[TraceRow], capacity_kwh: f64, step_h: f64) -> DayTrace {
    let steps = rows.iter().map(|r| r.step + 1).max().unwrap_or(0);
    let mut flow = vec![f64::NEG_INFINITY; steps];
    let mut soc = vec![0.0; steps];
    let mut price = vec![0.0; steps];
    for r in rows {
        flow[r.step] = flow[r.step].max(r.feeder_flow_kw);
        soc[r.step] += r.soc_kwh;
        price[r.step] = r.price_import;
    }
    DayTrace {
        policy: policy.into(),
        hours: (0..steps).map(|k| k as f64 * step_h).collect(),
        feeder_flow_kw: flow,
        mean_soc: soc
            .iter()
            .map(|e| {
                if capacity_kwh > 0.0 {
                    e / capacity_kwh
                } else {
                    0.0
                }
            })
            .collect(),
        price,
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
    if let Err(e) = write_report(&a.out, &points, a.backend) {
        return fail(&e);
    }
    eprintln!(
        "merged {} directories → {}",
        a.dirs.len(),
        a.out.join("report.md").display()
    );
    0
}
