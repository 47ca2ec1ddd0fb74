//! Differential tests: the Cranelift JIT against the reference interpreter, bit for bit,
//! on the examples and on random scenarios with random actions (incl. clipping at full
//! and empty batteries, zero-capacity batteries, feeders at their limit, export hours):
//! every state array after every step, and the f32 observations (compiled observation
//! kernel vs the interpreter's Rust assembly) and rewards of the agent-level API.

mod common;
use gridc::check::{check_source, Options};
use gridc::ir::{Field, Scalar, FLAG_NON_FINITE, FLAG_SOC_BOUNDS};
use gridc::model::Scenario;
use gridc::sim::env::{Backend, Env, EnvError};
use gridc::sim::interp::{FIELDS, SCALARS};
use proptest::prelude::*;

/// Run the same days and actions on both backends; every field of every step must be
/// bit-identical.
fn differential(s: &Scenario, days: &[u32], seed: u64) {
    let exp = &s.experiments[0];
    let mut a = Env::with_backend(s, exp, days.len(), Backend::Interp).expect("interp env");
    let mut b = Env::with_backend(s, exp, days.len(), Backend::Jit).expect("jit env");
    assert_same_obs(&a.reset(days), &b.reset(days), "reset");
    let mut x = seed | 1;
    for t in 0..a.steps() {
        let actions: Vec<f64> = (0..days.len() * a.ir.households)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly in range, sometimes saturating to force clipping at both ends.
                match x % 7 {
                    0 => 1.0,
                    1 => -1.0,
                    _ => (x % 3001) as f64 / 1000.0 - 1.5,
                }
            })
            .collect();
        let ra = a.step_households(&actions);
        let rb = b.step_households(&actions);
        assert_eq!(ra, rb, "step {t}: results differ");
        assert_same_state(&a.m, &b.m, &format!("step {t}"));
        assert_same_obs(&a.observe(), &b.observe(), &format!("step {t}"));
    }
}

/// The agent-level API (`Env::step` with f32 controls and message values) on the
/// interpreter, the JIT and, where it applies, the native backend: observations,
/// rewards, done and every state array identical bit for bit at every step (incl. the
/// observation after the last step).
fn agent_differential(s: &Scenario, days: &[u32], seed: u64, with_native: bool) {
    let exp = &s.experiments[0];
    let mut envs = vec![
        Env::with_backend(s, exp, days.len(), Backend::Interp).expect("interp env"),
        Env::with_backend(s, exp, days.len(), Backend::Jit).expect("jit env"),
    ];
    if with_native {
        envs.push(Env::native(s, exp, days.len()).expect("native env"));
    }
    let obs: Vec<Vec<f32>> = envs.iter_mut().map(|e| e.reset(days)).collect();
    assert_eq!(
        obs[0].len(),
        days.len() * envs[0].agents() * envs[0].obs_dim()
    );
    for o in &obs[1..] {
        assert_same_obs(&obs[0], o, "reset");
    }
    let mut x = seed | 1;
    let len = days.len() * envs[0].agents() * envs[0].act_dim();
    for t in 0..envs[0].steps() {
        let actions: Vec<f32> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match x % 7 {
                    0 => 1.0,
                    1 => -1.0,
                    _ => (x % 3001) as f32 / 1000.0 - 1.5,
                }
            })
            .collect();
        let results: Vec<_> = envs.iter_mut().map(|e| e.step(&actions)).collect();
        let (o0, r0, d0) = results[0].clone().expect("interp step");
        for (i, r) in results.iter().enumerate().skip(1) {
            let (o, rw, d) = r.clone().expect("step");
            let ctx = format!("backend {i}, step {t}");
            assert_same_obs(&o0, &o, &ctx);
            assert_same_obs(&r0, &rw, &format!("{ctx} (rewards)"));
            assert_eq!(d0, d, "{ctx}: done differs");
            assert_same_state(&envs[0].m, &envs[i].m, &ctx);
        }
    }
}

fn assert_same_obs(a: &[f32], b: &[f32], context: &str) {
    assert_eq!(a.len(), b.len(), "{context}: observation lengths differ");
    if let Some(i) = (0..a.len()).find(|&i| a[i].to_bits() != b[i].to_bits()) {
        panic!(
            "{context}: value {i} differs: {} vs {} (bits {:#x} vs {:#x})",
            a[i],
            b[i],
            a[i].to_bits(),
            b[i].to_bits()
        );
    }
}

/// A few train and test days of the scenario's first experiment.
fn some_days(s: &Scenario) -> Vec<u32> {
    let exp = &s.experiments[0];
    let mut days = Vec::new();
    for (a, b) in exp.train_days.iter().chain(&exp.test_days) {
        days.extend([*a, (*a + *b) / 2, *b]);
    }
    days.truncate(5);
    days
}

/// Every household, feeder and scalar array equal bit for bit.
fn assert_same_state(
    a: &gridc::sim::interp::Machine,
    b: &gridc::sim::interp::Machine,
    context: &str,
) {
    for f in 0..FIELDS {
        assert!(
            bits(&a.house[f]) == bits(&b.house[f]),
            "{context}: household field {f} differs"
        );
        assert!(
            bits(&a.feed[f]) == bits(&b.feed[f]),
            "{context}: feeder field {f} differs"
        );
    }
    for sc in 0..SCALARS {
        assert!(
            bits(&a.scalar[sc]) == bits(&b.scalar[sc]),
            "{context}: scalar {sc} differs"
        );
    }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn jit_matches_the_interpreter_on_the_examples() {
    for path in common::files_in("examples") {
        let s = common::check(&path).scenario.expect("example checks");
        differential(&s, &[0, 45, 120, 172, 200, 300, 364], 99);
    }
}

#[test]
fn jit_observations_match_the_interpreter_on_examples_and_valid_files() {
    let mut tested = 0;
    for path in common::files_in("examples")
        .into_iter()
        .chain(common::files_in("tests/valid"))
    {
        let s = common::check(&path).scenario.expect("valid file checks");
        if s.agents.households.is_empty() || s.experiments.is_empty() {
            continue;
        }
        let native =
            gridc::sim::native::supports(&gridc::ir::lower(&s, &s.experiments[0]).expect("lower"));
        agent_differential(&s, &some_days(&s), 7, native);
        tested += 1;
    }
    assert!(tested >= 10, "only {tested} files with agents");
}

/// Observation catalogue of the random scenarios (every feature kind, forecasts).
const RANDOM_OBS: &str = "time.hour, time.weekday, time.day, price.import.next(3 h), price.export, self.demand, self.roof.next(2 h), self.store.soc, self.net.last, self.feeder.flow.last, community.net.last, community.peak.today, trunk.flow.last";

fn random_text(
    hh: &[(f64, f64, f64, f64, f64, bool)],
    limit: f64,
    two: bool,
    comm: usize,
) -> String {
    let mut s = String::from("gridc 0.1\nimport \"std\"\n");
    s.push_str("tariff t { import schedule { 00:00..07:00 => 0.1 $/kWh; 07:00..18:00 => 0.2 $/kWh; 18:00..24:00 => 0.4 $/kWh }; export 0.06 $/kWh; demand_charge 0.05 $/kW per day }\n");
    s.push_str("template hh(l: kW = 1 kW, g: kWp = 1 kWp, cap: kWh = 5 kWh, p: kW = 2 kW, eff: number = 0.9) {\n  load demand = std.load.h25 * (l / 0.114 kW)\n  solar roof = std.pv.greensboro * g\n  battery store { capacity cap; power p; efficiency eff; soc 0.1..0.9; start 0.5 }\n}\n");
    s.push_str(&format!("network n {{\n  bus sub\n  bus mid\n  feeder trunk from sub to mid {{ limit {limit} kW; overload_penalty 0.7 $/kWh }}\n"));
    if two {
        s.push_str(&format!(
            "  feeder lane from mid {{ limit {} kW; overload_penalty 0.3 $/kWh }}\n",
            limit / 3.0
        ));
    }
    for (i, (l, g, cap, p, eff, lane)) in hh.iter().enumerate() {
        let f = if two && *lane { "lane" } else { "trunk" };
        s.push_str(&format!(
            "  hh h{i} on {f} (l: {l} kW, g: {g} kWp, cap: {cap} kWh, p: {p} kW, eff: {eff})\n"
        ));
    }
    s.push_str("  peak_charge 0.4 $/kW per day on sub\n  tariff t\n}\n");
    let comm = ["none", "broadcast(2)", "neighbours(3)"][comm % 3];
    s.push_str(&format!(
        "agents {{ each hh controls store.power in -1..1; observe {{ {RANDOM_OBS} }}; communicate {comm} }}\n"
    ));
    s.push_str("reward { mix = 0.6; individual = -bill(self); social = -(cost(n) + 2 * peak(n)) / count(hh) }\n");
    s.push_str("experiment e { step 1 h; episode 24 h; train days 2023-01-01..2023-06-30; test days 2023-07-01..2023-12-30 }\n");
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, rng_seed: proptest::test_runner::RngSeed::Fixed(2026), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn jit_matches_the_interpreter_on_random_scenarios(
        hh in proptest::collection::vec((0.0f64..3.0, 0.0f64..8.0, prop_oneof![Just(0.0), 0.1f64..15.0], prop_oneof![Just(0.0), 0.1f64..8.0], 0.3f64..1.0, any::<bool>()), 1..5),
        limit in 0.1f64..15.0,
        two in any::<bool>(),
        day in 0u32..364,
        seed in any::<u64>(),
        comm in 0usize..3,
    ) {
        let c = check_source(&gridc::files::Disk, "r.grid", &random_text(&hh, limit, two, comm), None, &Options::default());
        prop_assert!(!c.has_errors(), "{}", common::rendered(&c));
        let s = c.scenario.expect("checks");
        let days = [day, (day + 101) % 364];
        if seed % 2 == 0 {
            differential(&s, &days, seed);
        } else {
            agent_differential(&s, &days, seed, false);
        }
    }
}

#[test]
fn non_finite_values_are_reported_by_both_backends() {
    let text = "gridc 0.1\n\
        tariff t { import 1e10 $/kWh }\n\
        template hh() { load demand = 1e300 kW; battery store { capacity 1 kWh; power 1 kW } }\n\
        network n { bus b; feeder f from b { limit 1 kW }; hh h on f; tariff t }\n\
        agents { each hh controls store.power in -1..1 }\nreward { mix = 0 }\n\
        experiment e { train days 2023-01-01; test days 2023-01-02 }\n";
    let c = check_source(
        &gridc::files::Disk,
        "nan.grid",
        text,
        None,
        &Options::default(),
    );
    let s = c.scenario.expect("checks");
    for backend in [Backend::Interp, Backend::Jit] {
        let mut env = Env::with_backend(&s, &s.experiments[0], 1, backend).expect("env");
        env.reset(&[0]);
        match env.step_households(&[0.0]) {
            Err(EnvError::Runtime(flags)) => assert_ne!(flags & FLAG_NON_FINITE, 0),
            other => panic!("{backend:?}: expected a runtime error, got {other:?}"),
        }
    }
}

/// The household kernel's checks in every position of a row: SIMD lanes (0, 1 and 2, 3)
/// and the scalar remainder (4), for both flags, against the interpreter's flags.
#[test]
fn failed_checks_are_reported_from_every_lane() {
    let text = "gridc 0.1\n\
        tariff t { import 0.3 $/kWh }\n\
        template hh() { load demand = 1 kW; battery store { capacity 10 kWh; power 1 kW } }\n\
        network n { bus b; feeder f from b { limit 100 kW }; hh h[5] on f; tariff t }\n\
        agents { each hh controls store.power in -1..1 }\nreward { mix = 0 }\n\
        experiment e { train days 2023-01-01; test days 2023-01-02 }\n";
    let s = check_source(
        &gridc::files::Disk,
        "lanes.grid",
        text,
        None,
        &Options::default(),
    )
    .scenario
    .expect("checks");
    let exp = &s.experiments[0];
    for pos in 0..5 {
        for (value, flag) in [(f64::NAN, FLAG_NON_FINITE), (25.0, FLAG_SOC_BOUNDS)] {
            let mut flags = Vec::new();
            for backend in [Backend::Interp, Backend::Jit] {
                let mut env = Env::with_backend(&s, exp, 2, backend).expect("env");
                env.reset(&[0, 1]);
                // The bad household in the second environment only.
                env.m.h_mut(Field::Energy)[5 + pos] = value;
                let f = match env.m.jit.clone() {
                    Some(jit) => jit.run(0, &mut env.m, 0..2),
                    None => env.m.step(&env.ir),
                };
                flags.push(f);
            }
            assert_ne!(flags[0] & flag, 0, "interp misses position {pos}");
            assert_eq!(
                flags[1] & flag,
                flag,
                "jit misses position {pos}: {flags:?}"
            );
        }
    }
}

#[test]
fn compiled_code_size_does_not_grow_with_households() {
    let sizes: Vec<(usize, usize)> = [10usize, 10_000]
        .iter()
        .map(|&n| {
            let text = format!(
                "gridc 0.1\ntariff t {{ import 0.3 $/kWh }}\ntemplate hh() {{ load demand = 1 kW; battery store {{ capacity 5 kWh; power 2 kW }} }}\n\
                 network n {{ bus b; feeder f from b {{ limit 10 kW }}; hh h[{n}] on f; tariff t }}\n\
                 agents {{ each hh controls store.power in -1..1; observe {{ time.hour, price.import.next(6 h), self.demand, self.store.soc, self.net.last, f.flow.last }}; communicate neighbours(2) }}\nreward {{ mix = 0.5 }}\n\
                 experiment e {{ train days 2023-01-01; test days 2023-01-02 }}\n"
            );
            let s = check_source(&gridc::files::Disk, "n.grid", &text, None, &Options::default()).scenario.expect("checks");
            let ir = gridc::ir::lower(&s, &s.experiments[0]).expect("lower");
            let p = gridc::sim::jit::JitProgram::compile(&ir).expect("compile");
            (p.code_bytes, p.observe_code_bytes)
        })
        .collect();
    assert!(sizes[0].1 > 0 && sizes[0].0 > sizes[0].1);
    assert_eq!(
        sizes[0], sizes[1],
        "code bytes (all, observation) for 10 vs 10 000 households"
    );
    let _ = (Field::Energy, Scalar::Dt);
}

#[test]
fn native_matches_the_interpreter_on_the_reference_model() {
    for path in common::files_in("examples") {
        let s = common::check(&path).scenario.expect("example checks");
        let exp = &s.experiments[0];
        let days = [3u32, 100, 200, 330];
        let mut a = Env::with_backend(&s, exp, days.len(), Backend::Interp).expect("env");
        let mut b = Env::native(&s, exp, days.len()).expect("the examples are reference models");
        assert_same_obs(&a.reset(&days), &b.reset(&days), "reset");
        let mut x: u64 = 77;
        for t in 0..a.steps() {
            let actions: Vec<f64> = (0..days.len() * a.ir.households)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 3001) as f64 / 1000.0 - 1.5
                })
                .collect();
            let ctx = format!("{}: step {t}", path.display());
            assert_eq!(
                a.step_households(&actions),
                b.step_households(&actions),
                "{ctx}"
            );
            assert_same_state(&a.m, &b.m, &ctx);
            assert_same_obs(&a.observe(), &b.observe(), &ctx);
        }
        // The hand-written step alone, on the machine (as `gridc bench` used to time it).
        a.reset(&days);
        b.reset(&days);
        let actions = vec![0.7; days.len() * a.ir.households];
        a.m.h_mut(Field::Action).copy_from_slice(&actions);
        b.m.h_mut(Field::Action).copy_from_slice(&actions);
        assert_eq!(a.m.step(&a.ir), gridc::sim::native::step(&mut b.m, &b.ir));
        assert_same_state(&a.m, &b.m, "machine step");
    }
}

#[test]
fn native_refuses_what_it_does_not_implement() {
    // Messages (and demand charges) are outside the hand-written reference model.
    let s = common::check(std::path::Path::new(
        "tests/valid/broadcast_and_sweeps.grid",
    ))
    .scenario
    .expect("checks");
    assert!(Env::native(&s, &s.experiments[0], 2).is_err());
}

#[test]
fn bench_reports_the_json_contract() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridc"))
        .args([
            "bench",
            "examples/quickstart.grid",
            "--batch",
            "4",
            "--steps",
            "50",
            "--reps",
            "5",
            "--format",
            "json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run gridc bench");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for key in [
        "households",
        "batch",
        "compile_ms",
        "interp_household_steps_per_s",
        "jit_household_steps_per_s",
        "native_household_steps_per_s",
    ] {
        assert!(v[key].is_number(), "`{key}` missing in {v}");
    }
}
