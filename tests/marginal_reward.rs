//! `marginal(net)`, the difference reward C − C₋ᵢ, and `externality(net)`, the shared
//! costs against a world where i's battery stayed idle all day, against brute force: the
//! environment computes both from one step's feeder sums (and, for the externality, one
//! running peak per household); here every household's counterfactual is re-simulated
//! (same history and its battery idle at that step, or idle all day) and the costs
//! are subtracted. On a tree network with binding limits at two levels, a peak charge
//! on the root bus or on an inner bus (so some households are not under it), a demand
//! charge, export and the end-of-day settlement; both backends.

mod common;
use gridc::check::{check_source, Options};
use gridc::ir::{Field, Scalar};
use gridc::model::Scenario;
use gridc::sim::env::{Backend, Env};

/// `term` is `marginal` or `externality`; the reward is −term(village).
fn scenario(peak_bus: &str, term: &str) -> Scenario {
    let text = format!(
        "gridc 0.1\n\
         import \"std\"\n\
         template home(pv: kWp = 3 kWp) {{\n\
           load demand = std.load.h25 * 4.5\n\
           solar roof = std.pv.sand_point * pv\n\
           battery store {{ capacity 10 kWh; power 4 kW; efficiency 0.92; soc 0.1..0.95 }}\n\
         }}\n\
         template shop() {{ load demand = std.load.g25 * 20 }}\n\
         tariff t {{\n\
           import schedule {{ 00:00..17:00 => 0.15 $/kWh; 17:00..24:00 => 0.40 $/kWh }}\n\
           export 0.05 $/kWh\n\
           demand_charge 0.10 $/kW per day\n\
         }}\n\
         network village {{\n\
           \x20 bus substation\n  bus north\n  bus south\n\
           \x20 feeder trunk from substation to north {{ limit 9 kW; overload_penalty 1 $/kWh }}\n\
           \x20 feeder south_line from substation to south {{ limit 6 kW; overload_penalty 1 $/kWh }}\n\
           \x20 feeder north_a from north {{ limit 4 kW; overload_penalty 2 $/kWh }}\n\
           \x20 feeder north_b from north {{ limit 4 kW; overload_penalty 2 $/kWh }}\n\
           \x20 feeder south_a from south {{ limit 5 kW; overload_penalty 3 $/kWh }}\n\
           \x20 home a[3] on north_a (pv: uniform(2 kWp, 5 kWp), seed: 1)\n\
           \x20 home b[2] on north_b\n\
           \x20 home c[3] on south_a\n\
           \x20 shop corner on south_line\n\
           \x20 peak_charge 0.3 $/kW per day on {peak_bus}\n\
           \x20 tariff t\n\
         }}\n\
         agents {{ each home controls store.power in -1..1; observe {{ self.store.soc }} }}\n\
         reward {{ mix = 1\n  social = -{term}(village) }}\n\
         experiment e {{ step 1 h; episode 24 h; train days 2023-07-01; test days 2023-07-02\n\
           end_energy settle(0.15 $/kWh) }}\n"
    );
    let c = check_source(
        &gridc::files::Disk,
        "t.grid",
        &text,
        None,
        &Options::default(),
    );
    assert!(!c.has_errors(), "{}", common::rendered(&c));
    c.scenario.expect("checked")
}

/// Seeded actions in [−1, 1] per (step, household), large enough to overload feeders.
fn actions(steps: usize, households: usize) -> Vec<Vec<f64>> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..steps)
        .map(|_| {
            (0..households)
                .map(|_| (common::xorshift(&mut state) % 2001) as f64 / 1000.0 - 1.0)
                .collect()
        })
        .collect()
}

/// Environment 0 follows `plan`; environment 1 + i does too, but with household i's
/// battery idle at step `t`. Returns, per household with a battery, (the reward
/// environment 0 gave it at `t`, −(C − C₋ᵢ) from the re-simulations).
fn rewards_and_brute_force(s: &Scenario, backend: Backend, t: usize) -> Vec<(f64, f64)> {
    let h = s.households.len();
    let mut env = Env::with_backend(s, &s.experiments[0], 1 + h, backend).expect("env");
    let plan = actions(env.steps(), h);
    env.reset(&vec![181; 1 + h]);
    for (step, a) in plan.iter().enumerate().take(t + 1) {
        let mut all = Vec::with_capacity((1 + h) * h);
        for b in 0..=h {
            let mut row = a.clone();
            if step == t && b > 0 {
                row[b - 1] = 0.0;
            }
            all.extend(row);
        }
        env.step_households(&all).expect("step");
    }
    let cost = |b: usize| env.m.s(Scalar::CommunityCost, b);
    (0..h)
        .filter(|&i| env.m.h(Field::Capacity, 0, i) > 0.0)
        .map(|i| (env.m.h(Field::Reward, 0, i), -(cost(0) - cost(1 + i))))
        .collect()
}

#[test]
fn marginal_cost_equals_the_re_simulated_counterfactual() {
    let mut nonzero = 0;
    let mut overloaded = 0;
    for peak_bus in ["substation", "north"] {
        let s = scenario(peak_bus, "marginal");
        for backend in [Backend::Interp, Backend::Jit] {
            for t in 0..24 {
                let pairs = rewards_and_brute_force(&s, backend, t);
                for (i, (reward, brute)) in pairs.into_iter().enumerate() {
                    assert!(
                        (reward - brute).abs() <= 1e-9 * (1.0 + brute.abs()),
                        "peak on {peak_bus}, {backend:?}, step {t}, household {i}: \
                         reward {reward} vs re-simulated {brute}"
                    );
                    nonzero += usize::from(brute.abs() > 1e-6);
                }
                let mut env = Env::with_backend(&s, &s.experiments[0], 1, backend).unwrap();
                env.reset(&[181]);
                for a in actions(env.steps(), s.households.len()).iter().take(t + 1) {
                    env.step_households(a).unwrap();
                }
                overloaded += (0..s.network.feeders.len())
                    .filter(|&f| env.m.fd(Field::OverloadKw, 0, f) > 0.0)
                    .count();
            }
        }
    }
    // The comparison means something: most rewards are non-zero and feeders overload.
    assert!(nonzero > 100, "{nonzero} non-zero marginal costs");
    assert!(overloaded > 5, "{overloaded} overloaded feeder-steps");
}

/// Environment 0 follows the plan; environment 1 + i too, with household i's battery idle
/// at every step. The externality of i at each step must equal the difference of the
/// two worlds' overload penalties and peak charge increments at that step.
#[test]
fn externality_equals_the_shared_costs_against_an_idle_day() {
    let mut nonzero = 0;
    for peak_bus in ["substation", "north"] {
        let s = scenario(peak_bus, "externality");
        let h = s.households.len();
        for backend in [Backend::Interp, Backend::Jit] {
            let mut env = Env::with_backend(&s, &s.experiments[0], 1 + h, backend).unwrap();
            env.reset(&vec![181; 1 + h]);
            for (t, a) in actions(env.steps(), h).iter().enumerate() {
                let mut all = Vec::with_capacity((1 + h) * h);
                for b in 0..=h {
                    let mut row = a.clone();
                    if b > 0 {
                        row[b - 1] = 0.0;
                    }
                    all.extend(row);
                }
                env.step_households(&all).unwrap();
                let shared =
                    |b: usize| env.m.s(Scalar::TotalPenalty, b) + env.m.s(Scalar::PeakIncrement, b);
                for i in (0..h).filter(|&i| env.m.h(Field::Capacity, 0, i) > 0.0) {
                    let reward = env.m.h(Field::Reward, 0, i);
                    let brute = -(shared(0) - shared(1 + i));
                    assert!(
                        (reward - brute).abs() <= 1e-9 * (1.0 + brute.abs()),
                        "peak on {peak_bus}, {backend:?}, step {t}, household {i}: \
                         reward {reward} vs re-simulated {brute}"
                    );
                    nonzero += usize::from(brute.abs() > 1e-6);
                }
            }
        }
    }
    assert!(nonzero > 50, "{nonzero} non-zero externalities");
}

#[test]
fn only_households_under_the_peak_bus_share_its_increment() {
    for (bus, north_under, south_under) in [("substation", 1.0, 1.0), ("north", 1.0, 0.0)] {
        let s = scenario(bus, "marginal");
        let env = Env::with_backend(&s, &s.experiments[0], 1, Backend::Interp).unwrap();
        for (i, h) in s.households.iter().enumerate() {
            let want = if h.name.starts_with('a') || h.name.starts_with('b') {
                north_under
            } else {
                south_under
            };
            assert_eq!(
                env.m.h(Field::UnderPeakBus, 0, i),
                want,
                "{} under {bus}",
                h.name
            );
        }
    }
}
