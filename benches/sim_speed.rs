//! Interpreter speed and the year-long optimum, on examples/community16.grid.
//! `cargo bench --bench sim_speed` prints household-steps/s of the reference interpreter
//! (target ≥ 1 M on one core) and the time of 365 daily optimum LPs (target < 60 s).

use gridc::baselines::lp;
use gridc::check::{check_file, Options};
use gridc::sim::env::Env;
use gridc::sim::episode::episode;
use rayon::prelude::*;
use std::time::Instant;

fn main() {
    let c = check_file(
        &gridc::files::Disk,
        std::path::Path::new("examples/community16.grid"),
        &Options::default(),
    );
    let s = c.scenario.expect("community16 checks");
    let exp = &s.experiments[0];
    for batch in [1usize, 64, 1024] {
        let mut env =
            Env::with_backend(&s, exp, batch, gridc::sim::env::Backend::Interp).expect("env");
        let days: Vec<u32> = (0..batch as u32).map(|d| d % 365).collect();
        let n = env.ir.households;
        let actions: Vec<f64> = (0..batch * n)
            .map(|i| ((i * 7919) % 201) as f64 / 100.0 - 1.0)
            .collect();
        let mut best = f64::INFINITY;
        let mut steps = 0;
        for _ in 0..5 {
            env.reset(&days);
            let t = Instant::now();
            let mut k = 0;
            // Only the step program, not observation assembly.
            while env.t < env.steps() {
                env.m
                    .h_mut(gridc::ir::Field::Action)
                    .copy_from_slice(&actions);
                env.m.step(&env.ir);
                env.t += 1;
                k += 1;
            }
            best = best.min(t.elapsed().as_secs_f64());
            steps = k;
        }
        let hs = (batch * n * steps) as f64 / best;
        println!(
            "interp batch {batch:>5}: {:>8.2} M household-steps/s",
            hs / 1e6
        );
    }
    let env = Env::new(&s, exp, 1).expect("env");
    let t = Instant::now();
    let total: f64 = (0..365u32)
        .into_par_iter()
        .map(|d| {
            lp::solve(&env.ir, &episode(&s, exp, d, env.steps(), 0), true, &[])
                .expect("LP")
                .objective
        })
        .sum();
    println!(
        "optimum of 365 daily LPs: {:.2} s (objective {total:.2} $, {} threads)",
        t.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
}
