//! `gridc bench FILE`: household-steps/s of the interpreter, the JIT and the hand-written
//! native step, measured in one run with the backends interleaved (median of repetitions),
//! plus the JIT's compile time. Each backend is timed on the whole agent-level step
//! (`Env::step_into`: actions, step program, rewards and observation assembly).

use super::Format;
use super::{fail, usage};
use crate::sim::env::{Backend, Env};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

pub fn run(
    file: PathBuf,
    batch: usize,
    steps: usize,
    reps: usize,
    format: Format,
    overrides: Vec<(String, String)>,
) -> i32 {
    let checked = super::check_and_report(&file, overrides);
    let Some(s) = checked.scenario else { return 1 };
    let exp = &s.experiments[0];
    if batch == 0 || steps == 0 || reps == 0 {
        return usage("--batch, --steps and --reps must be positive");
    }
    let days: Vec<u32> = exp
        .test_days
        .iter()
        .flat_map(|(a, b)| *a..=*b)
        .cycle()
        .take(batch)
        .collect();
    let make = |backend| Env::with_backend(&s, exp, batch, backend);
    let (mut interp, mut jit) = match (make(Backend::Interp), make(Backend::Jit)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    // The hand-written step covers the reference model only (n/a otherwise).
    let mut nat = Env::native(&s, exp, batch).ok();
    let n = interp.ir.households;
    // Compile time: median over `reps` compilations (the env's own is one of them).
    let mut compiles: Vec<f64> = jit.m.jit.iter().map(|j| j.compile_ms).collect();
    for _ in 1..reps {
        match crate::sim::jit::JitProgram::compile(&jit.ir) {
            Ok(p) => compiles.push(p.compile_ms),
            Err(e) => return fail(e),
        }
    }
    compiles.sort_by(f64::total_cmp);
    let compile_ms = compiles.get(compiles.len() / 2).copied().unwrap_or(0.0);
    let code_bytes = jit.m.jit.as_ref().map(|j| j.code_bytes).unwrap_or(0);
    let observe_code_bytes = jit
        .m
        .jit
        .as_ref()
        .map(|j| j.observe_code_bytes)
        .unwrap_or(0);
    // Agent-level actions (controls, then message values), the same for every backend.
    let actions: Vec<f32> = (0..batch * interp.agents() * interp.act_dim())
        .map(|i| ((i * 7919) % 201) as f32 / 100.0 - 1.0)
        .collect();
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    let mut envs = [Some(&mut interp), Some(&mut jit), nat.as_mut()];
    for env in envs.iter_mut().flatten() {
        env.reset(&days);
    }
    let (mut obs, mut rewards) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        for (k, env) in envs.iter_mut().enumerate() {
            let Some(env) = env else { continue };
            // Batteries drift to full/empty over many steps: restart the episodes' state
            // each repetition so every backend does the same work.
            env.rewind();
            let mut elapsed = 0.0;
            let mut left = steps;
            while left > 0 {
                if env.t >= env.steps() {
                    env.rewind(); // not timed (the next episode's start)
                }
                let run = left.min(env.steps() - env.t);
                // Timed: the whole agent-level step (actions → step program → rewards →
                // observation assembly), as training calls it.
                let t = Instant::now();
                for _ in 0..run {
                    if let Err(e) = env.step_into(&actions, &mut obs, &mut rewards) {
                        return fail(e);
                    }
                }
                elapsed += t.elapsed().as_secs_f64();
                left -= run;
            }
            times[k].push(elapsed);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let work = (batch * n * steps) as f64;
    let rate = |v: &mut Vec<f64>| median(v).map(|t| work / t);
    let (ri, rj, rn) = (
        rate(&mut times[0]),
        rate(&mut times[1]),
        rate(&mut times[2]),
    );
    match format {
        Format::Json => {
            let doc = json!({
                "scenario": s.name, "households": n, "batch": batch, "steps": steps, "repetitions": reps,
                "compile_ms": compile_ms, "code_bytes": code_bytes, "observe_code_bytes": observe_code_bytes,
                "timed": "whole agent-level step: actions, step program, rewards, observation assembly",
                "interp_household_steps_per_s": ri, "jit_household_steps_per_s": rj, "native_household_steps_per_s": rn,
                "jit_over_interp": ri.zip(rj).map(|(i, j)| j / i),
                "jit_time_over_native_time": rj.zip(rn).map(|(j, n)| n / j),
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        Format::Text => {
            println!(
                "{}: {n} households × batch {batch}, {steps} steps, median of {reps} \
                 (whole step incl. observation assembly)",
                s.name
            );
            let show = |name: &str, r: Option<f64>| match r {
                Some(r) => println!("  {name:<7} {:>10.2} M household-steps/s", r / 1e6),
                None => println!("  {name:<7} {:>10}", "n/a"),
            };
            show("interp", ri);
            show("jit", rj);
            show("native", rn);
            if let (Some(i), Some(j)) = (ri, rj) {
                println!("  jit / interp speed: {:.1}×", j / i);
            }
            if let (Some(j), Some(nv)) = (rj, rn) {
                println!("  jit time / native time: {:.2}", nv / j);
            }
            println!(
                "  compile: {compile_ms:.2} ms, {code_bytes} bytes of machine code \
                 ({observe_code_bytes} for the observation kernel)"
            );
        }
    }
    0
}
