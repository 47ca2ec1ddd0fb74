//! Coordination on a shared feeder (issue 6): two households, one 5 kW feeder, two 12-hour
//! steps (cheap 0.10 $/kWh, then dear 0.50 $/kWh), 2 kW load each, 24 kWh / 2 kW batteries
//! starting empty. Household `a` stores losslessly; `b` charges at 60 % efficiency. The loads
//! leave 1 kW of feeder headroom in the cheap step; every kW above costs 0.5 $/kWh · 12 h.
//!
//! Savings over no battery (28.80 $), with c_a, c_b the charging powers in the cheap step
//! (each battery then discharges what it stored):
//!   S = 4.8 c_a + 2.4 c_b − 6 max(0, c_a + c_b − 1).
//! - The LP optimum charges only `a`, at 1 kW (action 0.5): S = 4.80 $ (cost 24.00 $).
//! - The individually optimal action (each charges fully, action 1, as in the selfish
//!   optimum) overloads the feeder by 3 kW: S = −3.60 $ (−75 % of the optimum's savings).
//! - The best policy that gives both agents the same action charges each at 0.5 kW:
//!   S = 3.60 $ (75 %).
//!
//! So ≥ 90 % needs the agents to act differently *and* to leave the feeder's headroom to
//! the efficient battery. The reward is fully social (mix = 1: r_i = −C/2), so both agents
//! see the overload penalty. MAPPO (`Ppo` with a centralised critic) and MADDPG must reach
//! ≥ 90 % of the optimum's savings.

mod common;
use gridc::baselines::lp;
use gridc::check::{check_source, Options};
use gridc::ir::Scalar;
use gridc::model::Scenario;
use gridc::sim::env::Env;
use gridc::sim::episode::episode;
use gridc::train::maddpg::{Maddpg, MaddpgConfig};
use gridc::train::ppo::{Ppo, PpoConfig};

const FEEDER: &str = "gridc 0.1\n\
    tariff tou { import schedule { 00:00..12:00 => 0.10 $/kWh; 12:00..24:00 => 0.50 $/kWh }; export 0 $/kWh }\n\
    template hh(ce: number = 1) { load demand = 2 kW; battery store { capacity 24 kWh; power 2 kW; charge_efficiency ce; discharge_efficiency 1; soc 0..1; start 0 } }\n\
    network net { bus sub; feeder f from sub { limit 5 kW; overload_penalty 0.5 $/kWh }; hh a on f; hh b on f (ce: 0.6); tariff tou }\n\
    agents { each hh controls store.power in -1..1; observe { time.hour, self.store.soc } }\n\
    reward { mix = 1 }\n\
    experiment e { step 12 h; episode 24 h; train days 2023-01-01; test days 2023-01-02 }\n";

const NO_BATTERY: f64 = 2.0 * (0.10 * 2.0 * 12.0 + 0.50 * 2.0 * 12.0);

fn scenario() -> Scenario {
    let c = check_source(
        &gridc::files::Disk,
        "feeder.grid",
        FEEDER,
        None,
        &Options::default(),
    );
    assert!(!c.has_errors(), "{}", common::rendered(&c));
    c.scenario.expect("checks")
}

/// Community cost of one episode under a policy `obs -> actions` (batch 1).
fn cost_of(env: &mut Env, day: u32, mut policy: impl FnMut(&[f32]) -> Vec<f32>) -> f64 {
    let mut obs = env.reset(&[day]);
    let mut cost = 0.0;
    loop {
        let (next, _, done) = env.step(&policy(&obs)).expect("step");
        cost += env.m.s(Scalar::CommunityCost, 0);
        obs = next;
        if done {
            return cost;
        }
    }
}

/// (optimum cost, share of the optimum's savings reached by a cost).
fn optimum(s: &Scenario) -> (f64, impl Fn(f64) -> f64) {
    let exp = &s.experiments[0];
    let env = Env::new(s, exp, 1).expect("env");
    let ep = episode(s, exp, 0, env.steps(), 0);
    let opt = lp::solve(&env.ir, &ep, true, &[]).expect("LP").objective;
    (opt, move |cost: f64| {
        (NO_BATTERY - cost) / (NO_BATTERY - opt)
    })
}

#[test]
fn the_scenario_needs_coordination() {
    let s = scenario();
    let exp = &s.experiments[0];
    let (opt, share) = optimum(&s);
    assert!((opt - 24.0).abs() < 1e-6, "optimum {opt}");
    let mut env = Env::new(&s, exp, 1).expect("env");
    // Both agents take the individually optimal action: charge fully, then discharge.
    let hour = |obs: &[f32]| obs[0];
    let selfish = cost_of(&mut env, 0, |o| {
        vec![if hour(o) < 12.0 { 1.0 } else { -1.0 }; 2]
    });
    assert!(share(selfish) < 0.0, "selfish share {}", share(selfish));
    // The best common action (grid search over the cheap step's charge; discharge fully).
    let best_same = (0..=100)
        .map(|k| {
            let x = k as f32 / 100.0;
            share(cost_of(&mut env, 0, |o| {
                vec![if hour(o) < 12.0 { x } else { -1.0 }; 2]
            }))
        })
        .fold(f64::MIN, f64::max);
    assert!(
        (best_same - 0.75).abs() < 0.01,
        "best same-action share {best_same}"
    );
    // The optimum's actions replayed: a at 0.5, b idle.
    let coordinated = cost_of(&mut env, 0, |o| {
        if hour(o) < 12.0 {
            vec![0.5, -1.0]
        } else {
            vec![-1.0, -1.0]
        }
    });
    assert!((share(coordinated) - 1.0).abs() < 1e-9);
}

fn report(name: &str, share: f64, cost: f64, secs: f64) {
    eprintln!(
        "{name} on the shared feeder: {:.1} % of the optimum's savings (cost {cost:.3}, optimum 24.000, no battery {NO_BATTERY:.3}) in {secs:.2} s",
        share * 100.0
    );
}

#[test]
fn mappo_coordinates_on_the_feeder() {
    let start = std::time::Instant::now();
    let s = scenario();
    let exp = &s.experiments[0];
    let (_, share) = optimum(&s);
    let mut env = Env::new(&s, exp, 16).expect("env");
    // The default learning rate (3e-3) is unstable on this kinked objective: on seeds 1-3
    // it fell below 90 % or collapsed to "never charge" (0 %) between 150 and 400 updates.
    // At 1e-3 with a small entropy bonus (keeping σ from collapsing onto the kink) all three
    // seeds stayed ≥ 94.7 % from 150 to 400 updates.
    let cfg = PpoConfig {
        centralised_critic: true,
        lr: 1e-3,
        entropy_coef: 0.003,
        ..PpoConfig::default()
    };
    let mut ppo = Ppo::new(&env, cfg, 1);
    for i in 0..MAPPO_UPDATES {
        ppo.train_episode(&mut env, &[0; 16], i as f64 / MAPPO_UPDATES as f64)
            .expect("train");
    }
    let mut eval = Env::new(&s, exp, 1).expect("env");
    let cost = cost_of(&mut eval, 0, |o| ppo.act_deterministic(o, 1));
    report("MAPPO", share(cost), cost, start.elapsed().as_secs_f64());
    assert!(
        share(cost) >= 0.9,
        "MAPPO reached {:.1} %",
        share(cost) * 100.0
    );
}

const MAPPO_UPDATES: usize = 300;
/// Seeds 1-4 all stayed ≥ 98.5 % from 150 to 400 episodes.
const MADDPG_EPISODES: usize = 200;

#[test]
fn maddpg_coordinates_on_the_feeder() {
    let start = std::time::Instant::now();
    let s = scenario();
    let exp = &s.experiments[0];
    let (_, share) = optimum(&s);
    let mut env = Env::new(&s, exp, 16).expect("env");
    let cfg = MaddpgConfig {
        batch_size: 64,
        warmup_steps: 128,
        updates_per_step: 1.0,
        noise_decay_steps: 4_000,
        ..MaddpgConfig::default()
    };
    let mut agent = Maddpg::new(&env, cfg, 1);
    for _ in 0..MADDPG_EPISODES {
        agent.train_episode(&mut env, &[0; 16]).expect("train");
    }
    let mut eval = Env::new(&s, exp, 1).expect("env");
    let cost = cost_of(&mut eval, 0, |o| agent.act_deterministic(o, 1));
    report("MADDPG", share(cost), cost, start.elapsed().as_secs_f64());
    assert!(
        share(cost) >= 0.9,
        "MADDPG reached {:.1} %",
        share(cost) * 100.0
    );
}
