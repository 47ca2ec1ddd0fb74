//! `gridc train FILE --algo ippo|mappo|maddpg`: one run (src/experiment/session.rs) with a
//! progress bar; writes DIR/summary.json, DIR/curve.csv and an atomic DIR/checkpoint.json
//! that `--resume` continues from (a resumed run ends identical to an uninterrupted one).

use super::fail;
use crate::experiment::reference;
use crate::experiment::session::{self, RunConfig, Summary};
use crate::sim::env::Backend;
use crate::train::Algo;
use std::path::PathBuf;

pub struct Args {
    pub file: PathBuf,
    pub algo: Algo,
    pub seed: u64,
    pub budget: Option<u64>,
    pub out: PathBuf,
    pub overrides: Vec<(String, String)>,
    pub hyper: Vec<(String, String)>,
    pub backend: Backend,
    pub resume: bool,
    pub batch: usize,
    pub profile: bool,
    /// Print the summary as JSON instead of text.
    pub json: bool,
    /// Testing hook: stop after this many updates, as if killed.
    pub interrupt_after_updates: Option<u64>,
}

pub fn run(a: Args) -> i32 {
    let checked = super::check_and_report(&a.file, a.overrides.clone());
    let Some(s) = checked.scenario else { return 1 };
    if a.batch == 0 {
        return super::usage("--batch must be positive");
    }
    if let Err(e) = crate::train::learner::check_hyper(a.algo, &a.hyper) {
        return super::usage(e);
    }
    let exp = &s.experiments[0];
    let rc = RunConfig {
        algo: a.algo,
        seed: a.seed,
        budget: a.budget.unwrap_or(exp.budget_steps),
        batch: a.batch,
        backend: a.backend,
        hyper: a.hyper.clone(),
        ..RunConfig::new(a.algo, 0, 0)
    };
    let reference = match reference::reference(&s, exp, a.backend) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let bar = indicatif::ProgressBar::new(rc.budget);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps  {per_sec}  eta {eta}  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = session::train(
        &s,
        exp,
        &rc,
        &reference,
        &a.out,
        a.resume,
        a.interrupt_after_updates,
        |p| {
            bar.set_position(p.env_steps);
            let test = match p.last_test {
                Some((c, Some(g))) => {
                    format!("  test cost {c:.1} $  gap closed {:.0} %", g * 100.0)
                }
                Some((c, None)) => format!("  test cost {c:.1} $"),
                None => String::new(),
            };
            bar.set_message(format!("return {:.3}{test}", p.row.mean_episode_return));
        },
    );
    bar.finish_and_clear();
    match result {
        Ok(Some(summary)) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                );
            } else {
                print!("{}", human_summary(&summary, &a.out));
            }
            if a.profile {
                let t = summary.timing;
                let total = summary.wall_s.max(1e-9);
                eprintln!(
                    "profile: {:.0} env-steps/s; environment {:.1} s ({:.0} %), acting {:.1} s ({:.0} %), learning {:.1} s ({:.0} %), evaluation (test and validation days) {:.1} s ({:.0} %), of {:.1} s",
                    summary.env_steps_per_s,
                    t.env_s, 100.0 * t.env_s / total,
                    t.act_s, 100.0 * t.act_s / total,
                    t.learn_s, 100.0 * t.learn_s / total,
                    t.eval_s, 100.0 * t.eval_s / total,
                    total
                );
                let peak = crate::train::nn::gemm_peak_gflops(0.5);
                eprintln!(
                    "profile: learning ran {:.1} GFLOP/s of network passes; this machine's GEMM peak ({} threads, 256×256 f32 products) {:.1} GFLOP/s",
                    t.learn_flops / t.learn_s.max(1e-9) / 1e9,
                    rayon::current_num_threads(),
                    peak
                );
            }
            0
        }
        Ok(None) => 0,
        Err(e) => fail(&e),
    }
}

/// The summary as a person reads it; every number is also in DIR/summary.json.
fn human_summary(s: &Summary, out: &std::path::Path) -> String {
    let pct = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{:.1} %", 100.0 * v));
    let mut t = format!(
        "{} seed {}: {} environment steps → {}\n",
        s.algo.name(),
        s.seed,
        s.env_steps,
        out.display()
    );
    t += &format!(
        "  test days      {} (community cost {:.2} $; greedy {:.2} ${})\n",
        s.test_days,
        s.test_cost,
        s.greedy_cost,
        s.optimum_cost
            .map_or(String::new(), |o| format!(", optimum {o:.2} $"))
    );
    t += &format!("  gap closed     {}\n", pct(s.gap_closed));
    t += &format!(
        "  saving         {} vs greedy\n",
        pct(s.cost_reduction_vs_greedy)
    );
    t += &format!(
        "  peak           {:.2} kW; households no worse off than under greedy {:.0} %\n",
        s.kpis.peak_kw,
        100.0 * s.individual_rationality
    );
    if let (Some(u), Some(v)) = (s.selected_update, s.validation_cost) {
        t += &format!("  selected       the policy of update {u} (validation cost {v:.2} $)\n");
    }
    t
}
