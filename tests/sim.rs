//! Simulation semantics (docs/semantics.md): hand-computed cases, invariants on the
//! examples and on random scenarios, the LP against brute force, replay of the optimum.

mod common;
use gridc::baselines::{evaluate, lp};
use gridc::check::{check_source, Options};
use gridc::ir::{Field, Scalar};
use gridc::model::Rule;
use gridc::model::Scenario;
use gridc::sim::env::{Backend, Env};
use gridc::sim::episode::episode;

fn scenario(text: &str) -> Scenario {
    let c = check_source(
        &gridc::files::Disk,
        "t.grid",
        text,
        None,
        &Options::default(),
    );
    assert!(!c.has_errors(), "{}", common::rendered(&c));
    c.scenario.expect("checked")
}

/// Households with constant load/PV (kW), one battery each; `extra` goes into the network.
fn community(
    households: &[(&str, f64, f64, f64)],
    battery: &str,
    limit_kw: f64,
    extra: &str,
    step: &str,
) -> String {
    let mut s = format!(
        "gridc 0.1\n\
         template hh(l: kW = 0 kW, g: kW = 0 kW, s0: number = 0.5) {{\n\
           load demand = l\n  solar roof = g\n  battery store {{ {battery}; start s0 }}\n}}\n\
         tariff flat {{ import 0.20 $/kWh; export 0.05 $/kWh }}\n\
         network net {{\n  bus sub\n  feeder f from sub {{ limit {limit_kw} kW; overload_penalty 1 $/kWh }}\n"
    );
    for (name, l, g, s0) in households {
        s.push_str(&format!(
            "  hh {name} on f (l: {l} kW, g: {g} kW, s0: {s0})\n"
        ));
    }
    s.push_str(&format!(
        "  tariff flat\n  {extra}\n}}\n\
         agents {{ each hh controls store.power in -1..1; observe {{ self.store.soc }} }}\n\
         reward {{ mix = 0.5 }}\n\
         experiment e {{ step {step}; episode 24 h; train days 2023-01-01; test days 2023-01-02 }}\n"
    ));
    s
}

const BATTERY: &str =
    "capacity 10 kWh; power 5 kW; charge_efficiency 0.9; discharge_efficiency 0.9; soc 0..1";

fn one_step<'s>(s: &'s Scenario, actions: &[f64]) -> Env<'s> {
    let mut env = Env::new(s, &s.experiments[0], 1).expect("env");
    env.reset(&[0]);
    env.step_households(actions).expect("step");
    env
}

#[test]
fn discharge_pays_the_efficiency_loss() {
    // L = 1 kW, G = 0, e = 5 kWh, a = −0.2 → P = −1 kW; room_d = 5 · 0.9 / 1 = 4.5 ≥ 1.
    // e' = 5 − 1 · 1 h / 0.9 = 3.8889 kWh; the meter sees n = 1 − 0 − 1 = 0 → bill 0.
    let s = scenario(&community(
        &[("a", 1.0, 0.0, 0.5)],
        BATTERY,
        100.0,
        "",
        "1 h",
    ));
    let env = one_step(&s, &[-0.2]);
    assert!((env.m.h(Field::Energy, 0, 0) - (5.0 - 1.0 / 0.9)).abs() < 1e-12);
    assert!(env.m.h(Field::NetKw, 0, 0).abs() < 1e-12);
    assert!(env.m.h(Field::Bill, 0, 0).abs() < 1e-12);
}

#[test]
fn charging_clips_at_a_full_battery() {
    // e = 9.5 kWh of 10, a = +1 → P = 5 kW but room_c = (10 − 9.5) / (0.9 · 1 h) = 0.5556 kW.
    // e' = 9.5 + 0.9 · 0.5556 = 10 kWh exactly; n = 1 + 0.5556; bill = 0.20 · 1.5556 $.
    let s = scenario(&community(
        &[("a", 1.0, 0.0, 0.95)],
        BATTERY,
        100.0,
        "",
        "1 h",
    ));
    let env = one_step(&s, &[1.0]);
    let pc = 0.5 / 0.9;
    assert!((env.m.h(Field::BatteryKw, 0, 0) - pc).abs() < 1e-12);
    assert!((env.m.h(Field::Energy, 0, 0) - 10.0).abs() < 1e-12);
    assert!((env.m.h(Field::Bill, 0, 0) - 0.20 * (1.0 + pc)).abs() < 1e-12);
}

#[test]
fn discharging_clips_at_an_empty_battery() {
    // e = 0.5 kWh (soc 0.05), a = −1 → room_d = 0.5 · 0.9 / 1 = 0.45 kW; e' = 0.5 − 0.45/0.9 = 0.
    let s = scenario(&community(
        &[("a", 2.0, 0.0, 0.05)],
        BATTERY,
        100.0,
        "",
        "1 h",
    ));
    let env = one_step(&s, &[-1.0]);
    assert!((env.m.h(Field::BatteryKw, 0, 0) + 0.45).abs() < 1e-12);
    assert!(env.m.h(Field::Energy, 0, 0).abs() < 1e-12);
}

#[test]
fn export_is_paid_at_the_export_tariff() {
    // G = 3, L = 1, a = 0 → n = −2 kW → export 2 kWh at 0.05 $/kWh → bill −0.10 $.
    let s = scenario(&community(
        &[("a", 1.0, 3.0, 0.5)],
        BATTERY,
        100.0,
        "",
        "1 h",
    ));
    let env = one_step(&s, &[0.0]);
    assert!((env.m.h(Field::ExportKw, 0, 0) - 2.0).abs() < 1e-12);
    assert!((env.m.h(Field::Bill, 0, 0) + 0.10).abs() < 1e-12);
}

#[test]
fn overload_and_daily_peak_charge() {
    // Two households import 8 kW each on a 12 kW feeder: F = 16, O = 4 kW → 4 $ penalty
    // over 1 h. Peak charge 0.5 $/kW per day: step 1 raises the day's peak 0 → 16 kW
    // (+8 $); a lower step adds nothing; the community cost of step 1 is
    // bills 2 · 8 · 0.20 = 3.2 $ + 4 $ + 8 $ = 15.2 $.
    let text = community(
        &[("a", 8.0, 0.0, 0.5), ("b", 8.0, 0.0, 0.5)],
        BATTERY,
        12.0,
        "peak_charge 0.5 $/kW per day on sub",
        "1 h",
    );
    let s = scenario(&text);
    let mut env = Env::new(&s, &s.experiments[0], 1).expect("env");
    env.reset(&[0]);
    env.step_households(&[0.0, 0.0]).expect("step");
    assert!((env.m.fd(Field::OverloadKw, 0, 0) - 4.0).abs() < 1e-12);
    assert!((env.m.s(Scalar::PeakIncrement, 0) - 8.0).abs() < 1e-12);
    assert!((env.m.s(Scalar::CommunityCost, 0) - 15.2).abs() < 1e-9);
    // Discharging 5 kW each lowers the import to 3 kW each: no overload, no new peak.
    env.step_households(&[-1.0, -1.0]).expect("step");
    assert!(env.m.fd(Field::OverloadKw, 0, 0).abs() < 1e-12);
    assert!(env.m.s(Scalar::PeakIncrement, 0).abs() < 1e-12);
}

#[test]
fn reward_mixes_individual_and_social() {
    // mix 0.5, individual = −bill, social = −cost/N (defaults): household a pays 0.2 $,
    // b pays 0.4 $, no penalties → cost 0.6 $; r_a = 0.5·(−0.2) + 0.5·(−0.3) = −0.25.
    let s = scenario(&community(
        &[("a", 1.0, 0.0, 0.5), ("b", 2.0, 0.0, 0.5)],
        BATTERY,
        100.0,
        "",
        "1 h",
    ));
    let env = one_step(&s, &[0.0, 0.0]);
    assert!((env.m.h(Field::Reward, 0, 0) + 0.25).abs() < 1e-12);
    assert!((env.m.h(Field::Reward, 0, 1) + 0.35).abs() < 1e-12);
}

fn check_invariants(s: &Scenario, days: &[u32], policy: &mut dyn FnMut(&Env) -> Vec<f64>) -> f64 {
    let exp = &s.experiments[0];
    let mut env = Env::new(s, exp, days.len()).expect("env");
    let (k, rec) = evaluate(&mut env, days, true, |e| policy(e)).expect("run");
    assert!(
        rec.max_residual_kwh < 1e-9,
        "energy balance residual {}",
        rec.max_residual_kwh
    );
    assert!(!rec.soc_violation, "soc out of bounds");
    assert!(!rec.non_finite, "NaN or inf");
    // Costs recomputed from the trace: bills + overload penalties + daily peak charges.
    let trace = rec.trace.expect("trace");
    let dt = exp.step_s / 3600.0;
    let mut cost = 0.0;
    // Feeder flows recomputed from the households' meters: own households + downstream.
    let mut flows = std::collections::BTreeMap::<(u32, usize, usize), f64>::new();
    let mut bus = std::collections::BTreeMap::<(u32, usize), f64>::new();
    let steps = (exp.episode_s / exp.step_s).round() as usize;
    for r in &trace {
        let h = s
            .households
            .iter()
            .find(|h| h.name == r.household)
            .expect("household");
        // The end-of-episode settlement, from the scenario's own numbers (SI → kWh, $/kWh).
        let settlement = match (exp.end_energy, h.batteries.first()) {
            (Some(rule), Some(b)) if r.step + 1 == steps => {
                let start = b.soc_start * b.capacity_j / 3.6e6;
                (rule.shortfall_per_j * (start - r.soc_kwh).max(0.0)
                    - rule.surplus_per_j * (r.soc_kwh - start).max(0.0))
                    * 3.6e6
            }
            _ => 0.0,
        };
        assert!(
            (r.settlement - settlement).abs() < 1e-9,
            "{r:?}: settlement {settlement}"
        );
        cost += (r.price_import * r.import_kw - r.price_export * r.export_kw) * dt + settlement;
        assert!(
            (r.bill
                - (r.price_import * r.import_kw - r.price_export * r.export_kw) * dt
                - settlement)
                .abs()
                < 1e-9
                || s.tariff.demand_charge_per_w_day.is_some()
        );
        let mut f = Some(h.feeder);
        while let Some(g) = f {
            *flows.entry((r.day, r.step, g)).or_default() += r.import_kw - r.export_kw;
            f = s.network.feeders[g].parent;
        }
        *bus.entry((r.day, r.step)).or_default() += r.import_kw - r.export_kw;
    }
    for ((_, _, f), flow) in &flows {
        let fd = &s.network.feeders[*f];
        cost += fd.overload_penalty_per_j * 3.6e6 * (flow.abs() - fd.limit_w / 1e3).max(0.0) * dt;
    }
    if let Some(p) = &s.network.peak_charge {
        let mut daily = std::collections::BTreeMap::<u32, f64>::new();
        for ((d, _), v) in &bus {
            let e = daily.entry(*d).or_default();
            *e = e.max(v.max(0.0));
        }
        cost += daily
            .values()
            .map(|m| m * p.rate_per_w_day * 1e3)
            .sum::<f64>();
    }
    assert!(
        (cost - k.cost).abs() < 1e-6 * cost.abs().max(1.0),
        "trace cost {cost} vs KPI cost {}",
        k.cost
    );
    k.cost
}

#[test]
fn invariants_hold_on_the_examples() {
    for path in common::files_in("examples") {
        let c = common::check(&path);
        let s = c.scenario.expect("example checks");
        let days: Vec<u32> = (0..365).step_by(7).collect();
        for rule in [Rule::NoBattery, Rule::Greedy, Rule::TouRule] {
            check_invariants(&s, &days, &mut |e| rule.actions(e));
        }
        // Out-of-range and random actions are clipped, never break the physics.
        let mut x: u64 = 12345;
        check_invariants(&s, &days, &mut |e| {
            (0..e.batch() * e.ir.households)
                .map(|_| (common::xorshift(&mut x) % 3001) as f64 / 1000.0 - 1.5)
                .collect()
        });
    }
}

#[test]
fn the_optimum_beats_every_baseline_on_every_test_day_and_replays_exactly() {
    for path in common::files_in("examples") {
        let s = common::check(&path).scenario.expect("example checks");
        let exp = &s.experiments[0];
        let days: Vec<u32> = exp.test_days.iter().flat_map(|(a, b)| *a..=*b).collect();
        let mut env = Env::new(&s, exp, 1).expect("env");
        for &d in &days {
            let ep = episode(&s, exp, d, env.steps(), 0);
            let opt = lp::solve(&env.ir, &ep, true, &[]).expect("LP solves");
            let n = env.ir.households;
            let (replay, _) = evaluate(&mut env, &[d], false, |e| {
                opt.actions[e.t * n..(e.t + 1) * n].to_vec()
            })
            .expect("replay");
            assert!(
                (replay.cost - opt.objective).abs() <= 1e-6 * opt.objective.abs().max(1.0),
                "{}: day {d}: replay {} vs LP {}",
                path.display(),
                replay.cost,
                opt.objective
            );
            for rule in [Rule::NoBattery, Rule::Greedy, Rule::TouRule] {
                let (k, _) =
                    evaluate(&mut env, &[d], false, |e| rule.actions(e)).expect("baseline");
                assert!(
                    opt.objective <= k.cost + 1e-6,
                    "{}: day {d}: optimum {} > {} {}",
                    path.display(),
                    opt.objective,
                    rule.name(),
                    k.cost
                );
            }
        }
    }
}

/// The cheapest community cost of a one-household, two-step episode over every pair of
/// actions on a grid of `levels` values in [−1, 1] (one environment per pair).
fn brute_force_two_steps(s: &Scenario, levels: usize) -> f64 {
    let grid: Vec<f64> = (0..levels)
        .map(|k| -1.0 + 2.0 * k as f64 / (levels - 1) as f64)
        .collect();
    let batch = levels * levels;
    let mut env = Env::new(s, &s.experiments[0], batch).expect("env");
    env.reset(&vec![0; batch]);
    let first: Vec<f64> = (0..batch).map(|b| grid[b / levels]).collect();
    let second: Vec<f64> = (0..batch).map(|b| grid[b % levels]).collect();
    let mut cost = vec![0.0; batch];
    for actions in [first, second] {
        env.step_households(&actions).expect("step");
        for (b, c) in cost.iter_mut().enumerate() {
            *c += env.m.s(Scalar::CommunityCost, b);
        }
    }
    cost.iter().copied().fold(f64::INFINITY, f64::min)
}

#[test]
fn the_lp_agrees_with_brute_force_on_a_tiny_instance() {
    // One household, 2 steps of 12 h, import 0.10 then 0.50 $/kWh (schedule), load 2 kW,
    // no PV, 10 kWh / 5 kW battery, η 0.9/0.9, start 5 kWh. The optimum charges as much
    // as fits in step 1 and discharges as much as possible in step 2; both are clipped
    // actions (±1), so a grid over [−1, 1] that contains ±1 hits the optimum exactly.
    let text = "gridc 0.1\n\
        tariff tou { import schedule { 00:00..12:00 => 0.10 $/kWh; 12:00..24:00 => 0.50 $/kWh }; export 0 $/kWh }\n\
        template hh() { load demand = 2 kW; battery store { capacity 10 kWh; power 5 kW; charge_efficiency 0.9; discharge_efficiency 0.9; soc 0..1; start 0.5 } }\n\
        network net { bus sub; feeder f from sub { limit 100 kW }; hh a on f; tariff tou }\n\
        agents { each hh controls store.power in -1..1; observe { self.store.soc } }\n\
        reward { mix = 0 }\n\
        experiment e { step 12 h; episode 24 h; train days 2023-01-01; test days 2023-01-02 }\n";
    let s = scenario(text);
    let exp = &s.experiments[0];
    let brute = brute_force_two_steps(&s, 201);
    let ep = episode(&s, exp, 0, 2, 0);
    let mut env1 = Env::new(&s, exp, 1).expect("env");
    let opt = lp::solve(&env1.ir, &ep, true, &[]).expect("LP");
    assert!(
        (opt.objective - brute).abs() < 1e-6,
        "LP {} vs brute force {}",
        opt.objective,
        brute
    );
    // And by hand: step 1 charges (10 − 5)/(0.9·12) kW, step 2 discharges 10·0.9/12 kW.
    let by_hand = 0.10 * (2.0 + 5.0 / (0.9 * 12.0)) * 12.0 + 0.50 * (2.0 - 0.75) * 12.0;
    assert!(
        (opt.objective - by_hand).abs() < 1e-6,
        "LP {} vs by hand {by_hand}",
        opt.objective
    );
    let _ = env1.reset(&[0]);
}

mod random_scenarios {
    use super::*;
    use proptest::prelude::*;

    /// A random community: households with random batteries (incl. zero capacity, η < 1,
    /// tight soc bounds), constant or profile-driven loads and PV, one or two feeders in a
    /// tree, a tight limit, random tariff and peak charge.
    fn text(
        hh: &[(f64, f64, f64, f64, f64, f64, f64, f64, bool)],
        limit: f64,
        peak: f64,
        price: (f64, f64),
        two_feeders: bool,
    ) -> String {
        let mut s = String::from("gridc 0.1\nimport \"std\"\n");
        s.push_str(&format!("tariff t {{ import schedule {{ 00:00..17:00 => {} $/kWh; 17:00..24:00 => {} $/kWh }}; export {} $/kWh }}\n", price.0, price.0 + price.1, price.0 * 0.3));
        s.push_str(
            "template hh(l: kW = 1 kW, g: kWp = 1 kWp, cap: kWh = 5 kWh, p: kW = 2 kW, ec: number = 0.9, ed: number = 0.9, lo: number = 0.1, hi: number = 0.9) {\n\
               load demand = std.load.h25 * (l / 0.114 kW)\n  solar roof = std.pv.miami * g\n\
               battery store { capacity cap; power p; charge_efficiency ec; discharge_efficiency ed; soc lo..hi; start lo }\n}\n",
        );
        s.push_str(&format!("network n {{\n  bus sub\n  bus mid\n  feeder trunk from sub to mid {{ limit {limit} kW; overload_penalty 0.7 $/kWh }}\n"));
        if two_feeders {
            s.push_str(&format!(
                "  feeder lane from mid {{ limit {} kW; overload_penalty 0.3 $/kWh }}\n",
                limit / 2.0
            ));
        }
        for (i, (l, g, cap, p, ec, ed, lo, span, on_lane)) in hh.iter().enumerate() {
            let feeder = if two_feeders && *on_lane {
                "lane"
            } else {
                "trunk"
            };
            let hi = (lo + span).min(1.0);
            s.push_str(&format!("  hh h{i} on {feeder} (l: {l} kW, g: {g} kWp, cap: {cap} kWh, p: {p} kW, ec: {ec}, ed: {ed}, lo: {lo}, hi: {hi})\n"));
        }
        s.push_str(&format!(
            "  peak_charge {peak} $/kW per day on sub\n  tariff t\n}}\n"
        ));
        s.push_str("agents { each hh controls store.power in -1..1; observe { self.store.soc, trunk.flow.last, price.import.next(3 h) } }\n");
        // Half the cases settle the end energy (shortfall ≥ surplus, as the checker demands).
        let settle = if two_feeders {
            format!(
                "; end_energy settle(shortfall: {} $/kWh, surplus: {} $/kWh)",
                price.0 + price.1,
                price.0 * 0.3
            )
        } else {
            String::new()
        };
        s.push_str(&format!("reward {{ mix = 0.3 }}\nexperiment e {{ step 1 h; episode 24 h; train days 2023-01-01..2023-06-30; test days 2023-07-01..2023-12-30{settle} }}\n"));
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, rng_seed: proptest::test_runner::RngSeed::Fixed(7), failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn invariants_hold_on_random_scenarios(
            hh in proptest::collection::vec((0.0f64..3.0, 0.0f64..6.0, prop_oneof![Just(0.0), 0.5f64..20.0], 0.0f64..8.0, 0.5f64..1.0, 0.5f64..1.0, 0.0f64..0.5, 0.0f64..0.6, any::<bool>()), 1..6),
            limit in 0.5f64..20.0,
            peak in 0.0f64..1.0,
            price in (0.01f64..0.4, 0.0f64..0.5),
            two in any::<bool>(),
            days in proptest::collection::vec(0u32..364, 1..4),
            seed in any::<u64>(),
        ) {
            let s = scenario(&text(&hh, limit, peak, price, two));
            // The trace is keyed by day: each day once.
            let mut days = days;
            days.sort_unstable();
            days.dedup();
            let mut x = seed | 1;
            let cost = check_invariants(&s, &days, &mut |e| {
                (0..e.batch() * e.ir.households).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; (x % 2001) as f64 / 1000.0 - 1.0 }).collect()
            });
            // The optimum is a lower bound for random play on each day.
            let exp = &s.experiments[0];
            let env = Env::new(&s, exp, 1).expect("env");
            let lp_total: f64 = days.iter().map(|&d| lp::solve(&env.ir, &episode(&s, exp, d, env.steps(), 0), true, &[]).expect("LP").objective).sum();
            prop_assert!(lp_total <= cost + 1e-6, "optimum {} > random policy {}", lp_total, cost);
        }
    }
}

/// `.last` features show the step just taken (for the decision at the next step), and 0
/// after a reset — never a value from the previous episode.
#[test]
fn last_features_show_the_step_just_taken() {
    let text = community(
        &[("a", 1.0, 0.0, 0.5), ("b", 2.0, 0.0, 0.5)],
        BATTERY,
        20.0,
        "",
        "1 h",
    )
    .replace(
        "observe { self.store.soc }",
        "observe { self.net.last, f.flow.last, community.net.last }",
    );
    let s = scenario(&text);
    let mut env = Env::new(&s, &s.experiments[0], 1).expect("env");
    let obs = env.reset(&[0]);
    assert!(obs.iter().all(|&x| x == 0.0), "after reset: {obs:?}");
    // Step 1: a charges at 0.4 of 5 kW, b idles.
    let (obs, _, _) = env.step(&[0.4, 0.0]).expect("step");
    let (net_a, net_b) = (env.m.h(Field::NetKw, 0, 0), env.m.h(Field::NetKw, 0, 1));
    assert!(
        (net_a - 3.0).abs() < 1e-6 && (net_b - 2.0).abs() < 1e-6,
        "{net_a} {net_b}"
    );
    let flow = env.m.fd(Field::FlowKw, 0, 0);
    let expected = [net_a, flow, flow, net_b, flow, flow];
    for (o, e) in obs.iter().zip(expected) {
        assert!(
            (*o as f64 - e).abs() < 1e-5,
            "obs {obs:?}, expected {expected:?}"
        );
    }
    // Run out the day with a different action, then reset: nothing carries over.
    while !env.step(&[-0.2, 0.0]).expect("step").2 {}
    let obs = env.reset(&[0]);
    assert!(
        obs.iter().all(|&x| x == 0.0),
        "after the second reset: {obs:?}"
    );
    let (obs, _, _) = env.step(&[0.4, 0.0]).expect("step");
    assert!((obs[0] as f64 - 3.0).abs() < 1e-5, "{obs:?}");
}

/// `community.peak.today` is the day's running peak of the peak-charge bus before the
/// step being decided: 0 at the start, the maximum of the day's steps so far, 0 again at
/// midnight inside a two-day episode (hand-computed: 2 kW load, a 5 kW battery).
#[test]
fn the_running_peak_observation_restarts_at_midnight() {
    let text = "gridc 0.1\n\
        template hh() { load demand = 2 kW; battery store { capacity 200 kWh; power 5 kW; efficiency 1; soc 0..1; start 0.5 } }\n\
        network net { bus sub; feeder f from sub { limit 100 kW }; hh a on f; peak_charge 1 $/kW per day on sub; tariff std.flat }\n\
        agents { each hh controls store.power in -1..1; observe { community.peak.today, community.net.last } }\n\
        reward { mix = 0 }\n\
        experiment e { step 12 h; episode 48 h; train days 2023-01-01..2023-01-10; test days 2023-02-01 }\n";
    let s = scenario(&format!("{}import \"std\"\n{}", &text[..10], &text[10..]));
    for backend in [Backend::Interp, Backend::Jit] {
        let mut env = Env::with_backend(&s, &s.experiments[0], 1, backend).expect("env");
        let mut obs = env.reset(&[0]);
        let mut seen = vec![obs[0]];
        // Imports 2 + 5·a kW: 4, 2 | midnight | 1, 3; each observation is seen before
        // deciding the next step (the last one after the episode's end).
        for a in [0.4f32, 0.0, -0.2, 0.2] {
            let (next, _, done) = env.step(&[a]).expect("step");
            obs = next;
            seen.push(obs[0]);
            if done {
                break;
            }
        }
        assert_eq!(seen, vec![0.0, 4.0, 0.0, 1.0, 3.0], "{backend:?}: {seen:?}");
    }
}

/// Two 12 h steps, import 0.10 then 0.50 $/kWh, load 2 kW, a 10 kWh / 5 kW battery
/// (η 0.9/0.9) starting at 5 kWh, and the given `end_energy` rule.
fn two_step_settled(rule: &str) -> String {
    format!(
        "gridc 0.1\n\
        tariff tou {{ import schedule {{ 00:00..12:00 => 0.10 $/kWh; 12:00..24:00 => 0.50 $/kWh }}; export 0 $/kWh }}\n\
        template hh() {{ load demand = 2 kW; battery store {{ capacity 10 kWh; power 5 kW; charge_efficiency 0.9; discharge_efficiency 0.9; soc 0..1; start 0.5 }} }}\n\
        network net {{ bus sub; feeder f from sub {{ limit 100 kW }}; hh a on f; tariff tou }}\n\
        agents {{ each hh controls store.power in -1..1; observe {{ self.store.soc }} }}\n\
        reward {{ mix = 0 }}\n\
        experiment e {{ step 12 h; episode 24 h; train days 2023-01-01; test days 2023-01-02; end_energy {rule} }}\n"
    )
}

#[test]
fn the_end_energy_settlement_is_billed_on_the_last_step_only() {
    let s = scenario(&two_step_settled(
        "settle(shortfall: 0.60 $/kWh, surplus: 0.05 $/kWh)",
    ));
    let mut env = Env::new(&s, &s.experiments[0], 1).expect("env");
    env.reset(&[0]);
    // Step 1: a = −0.05 → P = −0.25 kW for 12 h: e = 5 − 3 / 0.9 kWh; meter 1.75 kW.
    env.step_households(&[-0.05]).expect("step");
    assert!(env.m.h(Field::Settlement, 0, 0).abs() < 1e-15);
    assert!((env.m.h(Field::Bill, 0, 0) - 0.10 * 1.75 * 12.0).abs() < 1e-12);
    // Step 2 (the last): idle; bill 0.50 · 2 · 12 plus 0.60 $/kWh · (5 − e) shortfall.
    env.step_households(&[0.0]).expect("step");
    let shortfall = 3.0 / 0.9;
    assert!((env.m.h(Field::Settlement, 0, 0) - 0.60 * shortfall).abs() < 1e-12);
    assert!((env.m.h(Field::Bill, 0, 0) - (12.0 + 0.60 * shortfall)).abs() < 1e-12);
    // The reward (mix 0: −bill) and the community cost carry it.
    assert!((env.m.h(Field::Reward, 0, 0) + 12.0 + 0.60 * shortfall).abs() < 1e-12);
    assert!((env.m.s(Scalar::CommunityCost, 0) - (12.0 + 0.60 * shortfall)).abs() < 1e-12);
    // A surplus is credited at the surplus price: charge 0.25 kW for 12 h → +2.7 kWh.
    env.reset(&[0]);
    env.step_households(&[0.05]).expect("step");
    env.step_households(&[0.0]).expect("step");
    assert!((env.m.h(Field::Settlement, 0, 0) + 0.05 * 2.7).abs() < 1e-12);
    // `end_energy free` (and no rule) settles nothing.
    let free = two_step_settled("free");
    for text in [free.clone(), free.replace("; end_energy free", "")] {
        let s = scenario(&text);
        let mut env = Env::new(&s, &s.experiments[0], 1).expect("env");
        env.reset(&[0]);
        env.step_households(&[-0.05]).expect("step");
        env.step_households(&[0.0]).expect("step");
        assert_eq!(env.m.h(Field::Settlement, 0, 0), 0.0);
        assert!((env.m.h(Field::Bill, 0, 0) - 12.0).abs() < 1e-12);
    }
}

#[test]
fn the_lp_agrees_with_brute_force_under_a_settlement() {
    // With a 0.60 $/kWh shortfall a delivered kWh from below the start costs 0.60/0.9 >
    // 0.50: the optimum charges fully in step 1 (clipped at 10 kWh) and discharges only
    // back to the start, P = 5 kWh · 0.9 / 12 h = 0.375 kW (a = −0.075, on the grid below).
    // Without the settlement in the environment, brute force would find emptying the
    // battery cheaper; without it in the LP, the LP would.
    let s = scenario(&two_step_settled(
        "settle(shortfall: 0.60 $/kWh, surplus: 0.05 $/kWh)",
    ));
    let exp = &s.experiments[0];
    let brute = brute_force_two_steps(&s, 401);
    let env1 = Env::new(&s, exp, 1).expect("env");
    let opt = lp::solve(&env1.ir, &episode(&s, exp, 0, 2, 0), true, &[]).expect("LP");
    let by_hand = 0.10 * (2.0 + 5.0 / (0.9 * 12.0)) * 12.0 + 0.50 * (2.0 - 0.375) * 12.0;
    assert!(
        (brute - by_hand).abs() < 1e-6,
        "brute force {brute} vs by hand {by_hand}"
    );
    assert!(
        (opt.objective - by_hand).abs() < 1e-6,
        "LP {} vs by hand {by_hand}",
        opt.objective
    );
}

/// A street of two agents and one community battery `c` no agent controls (3 kW PV,
/// 1 kW load), with `others` as given.
fn street_with_a_community_battery(others: &str) -> Scenario {
    scenario(&street_with_a_community_battery_text(others))
}

fn street_with_a_community_battery_text(others: &str) -> String {
    format!(
        "gridc 0.1\n\
        tariff tou {{ import schedule {{ 00:00..16:00 => 0.15 $/kWh; 16:00..24:00 => 0.45 $/kWh }}; export 0.05 $/kWh }}\n\
        template hh() {{ load demand = 2 kW; battery store {{ capacity 10 kWh; power 5 kW; efficiency 0.9; soc 0..1; start 0.5 }} }}\n\
        template shared() {{ load demand = 1 kW; solar roof = 3 kW; battery store {{ capacity 20 kWh; power 4 kW; efficiency 0.9; soc 0..1; start 0.25 }} }}\n\
        network net {{ bus sub; feeder f from sub {{ limit 100 kW }}; hh a[2] on f; shared c on f; tariff tou }}\n\
        agents {{ each hh controls store.power in -1..1; observe {{ self.store.soc }} {others} }}\n\
        reward {{ mix = 0.5 }}\n\
        experiment e {{ step 1 h; episode 24 h; train days 2023-01-01; test days 2023-01-02..2023-01-03 }}\n"
    )
}

/// `c`'s battery power per (day, step) under `policy` in `gridc sim`'s computation.
fn community_battery_trace(s: &Scenario, policy: &str) -> Vec<f64> {
    use gridc::baselines::simulate::{simulate, SimOptions};
    let exp = &s.experiments[0];
    let r = simulate(
        s,
        exp,
        &[1, 2],
        &SimOptions {
            baselines: vec![Rule::NoBattery, Rule::Greedy, Rule::TouRule],
            optimum: true,
            trace_policy: Some(policy.into()),
            backend: Default::default(),
        },
    )
    .expect("simulates");
    let mut rows: Vec<_> = r.trace.iter().filter(|t| t.household == "c").collect();
    rows.sort_by_key(|t| (t.day, t.step));
    rows.iter().map(|t| t.battery_kw).collect()
}

#[test]
fn households_no_agent_controls_follow_one_rule_everywhere() {
    // `others follow greedy`: c stores its 2 kW PV surplus until full (20 kWh from 5 kWh at
    // 2 kW · 0.9 per hour → 8.33 h), in every baseline, in the optimum and under agents.
    let s = street_with_a_community_battery("; others follow greedy");
    let greedy = community_battery_trace(&s, "greedy");
    assert!((greedy[0] - 2.0).abs() < 1e-12, "{greedy:?}");
    assert!(greedy[23].abs() < 1e-12, "full by the evening: {greedy:?}");
    for policy in ["no_battery", "tou_rule", "optimum", "selfish_optimum"] {
        let trace = community_battery_trace(&s, policy);
        assert_eq!(trace.len(), greedy.len());
        for (a, b) in trace.iter().zip(&greedy) {
            assert!(
                (a - b).abs() < 1e-9,
                "{policy}: {trace:?} vs greedy {greedy:?}"
            );
        }
    }
    // The agent-level step drives c by the same rule whatever the agents do.
    let mut env = Env::new(&s, &s.experiments[0], 1).expect("env");
    env.reset(&[1]);
    env.step(&[-1.0, 1.0]).expect("step");
    assert!((env.m.h(Field::BatteryKw, 0, 2) - 2.0).abs() < 1e-12);
    // Undeclared, c is idle everywhere — the optimum included — and check warns.
    let idle = street_with_a_community_battery("");
    let text = street_with_a_community_battery_text("");
    let c = check_source(
        &gridc::files::Disk,
        "t.grid",
        &text,
        None,
        &Options::default(),
    );
    let warning = c
        .diagnostics
        .iter()
        .find(|d| !d.is_error())
        .expect("a warning");
    assert!(
        warning
            .message
            .contains("household `c` has a battery no agent controls"),
        "{}",
        warning.message
    );
    for policy in ["greedy", "optimum"] {
        let trace = community_battery_trace(&idle, policy);
        assert!(trace.iter().all(|p| *p == 0.0), "{policy}: {trace:?}");
    }
}
