//! Calibration for `gridc run --dry-run`: time a few updates to estimate the run time.

use super::plan::{CheckedPoint, Plan};
use super::{reference, session};
use crate::sim::env::{Backend, Env};

/// Environment steps per second of a few updates of the first algorithm on the base
/// point (`gridc run --dry-run`'s time estimate).
pub fn env_steps_per_s(plan: &Plan, base: &CheckedPoint, backend: Backend) -> Option<f64> {
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
