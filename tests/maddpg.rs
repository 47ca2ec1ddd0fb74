//! MADDPG (issue 6 item 3): learns the two-step arbitrage of tests/train.rs to ≥ 90 % of the
//! LP optimum's savings, is deterministic given the seed, resumes byte-identically from a
//! serialised state, and its deterministic policy gradient (dQ/da through the critic's input
//! gradient, times tanh') matches finite differences.

mod common;
use gridc::baselines::lp;
use gridc::check::{check_source, Options};
use gridc::ir::Scalar;
use gridc::model::Scenario;
use gridc::sim::env::Env;
use gridc::sim::episode::episode;
use gridc::train::maddpg::{Maddpg, MaddpgConfig};

/// The scenario of tests/train.rs: one household, two 12-hour steps, cheap then dear.
const ARBITRAGE: &str = "gridc 0.1\n\
    tariff tou { import schedule { 00:00..12:00 => 0.10 $/kWh; 12:00..24:00 => 0.50 $/kWh }; export 0 $/kWh }\n\
    template hh() { load demand = 2 kW; battery store { capacity 10 kWh; power 5 kW; charge_efficiency 0.9; discharge_efficiency 0.9; soc 0..1; start 0.5 } }\n\
    network net { bus sub; feeder f from sub { limit 100 kW }; hh a on f; tariff tou }\n\
    agents { each hh controls store.power in -1..1; observe { time.hour, self.store.soc } }\n\
    reward { mix = 0 }\n\
    experiment e { step 12 h; episode 24 h; train days 2023-01-01; test days 2023-01-02 }\n";

/// A two-agent scenario (tests/coordination.rs has the full story) for the gradient check.
const TWO_AGENTS: &str = "gridc 0.1\n\
    tariff tou { import schedule { 00:00..12:00 => 0.10 $/kWh; 12:00..24:00 => 0.50 $/kWh }; export 0 $/kWh }\n\
    template hh() { load demand = 2 kW; battery store { capacity 24 kWh; power 2 kW; soc 0..1; start 0 } }\n\
    network net { bus sub; feeder f from sub { limit 5 kW; overload_penalty 0.5 $/kWh }; hh a on f; hh b on f; tariff tou }\n\
    agents { each hh controls store.power in -1..1; observe { time.hour, self.store.soc } }\n\
    reward { mix = 1 }\n\
    experiment e { step 12 h; episode 24 h; train days 2023-01-01; test days 2023-01-02 }\n";

fn scenario(text: &str) -> Scenario {
    let c = check_source(
        &gridc::files::Disk,
        "test.grid",
        text,
        None,
        &Options::default(),
    );
    assert!(!c.has_errors(), "{}", common::rendered(&c));
    c.scenario.expect("checks")
}

/// Community cost of one deterministic episode.
fn eval_cost(agent: &Maddpg, env: &mut Env, day: u32) -> f64 {
    let mut obs = env.reset(&[day]);
    let mut cost = 0.0;
    loop {
        let a = agent.act_deterministic(&obs, 1);
        let (next, _, done) = env.step(&a).expect("step");
        cost += env.m.s(Scalar::CommunityCost, 0);
        obs = next;
        if done {
            return cost;
        }
    }
}

/// Settings for the tiny problems: a short warm-up and a quick noise decay.
fn tiny_config() -> MaddpgConfig {
    MaddpgConfig {
        batch_size: 64,
        warmup_steps: 128,
        updates_per_step: 1.0,
        noise_decay_steps: 2_000,
        // The optimum here is bang-bang (full power for whole hours); the default pull of
        // the action penalty towards interior actions costs a few % of it (87 % at 0.1).
        action_penalty: 0.02,
        ..MaddpgConfig::default()
    }
}

#[test]
fn maddpg_learns_arbitrage() {
    let start = std::time::Instant::now();
    let s = scenario(ARBITRAGE);
    let exp = &s.experiments[0];
    let mut env = Env::new(&s, exp, 16).expect("env");
    let ep = episode(&s, exp, 0, env.steps(), 0);
    let optimum = lp::solve(&env.ir, &ep, true, &[]).expect("LP").objective;
    let no_battery = 0.10 * 2.0 * 12.0 + 0.50 * 2.0 * 12.0;
    let mut agent = Maddpg::new(&env, tiny_config(), 1);
    for _ in 0..EPISODES {
        agent.train_episode(&mut env, &[0; 16]).expect("train");
    }
    let mut eval_env = Env::new(&s, exp, 1).expect("env");
    let cost = eval_cost(&agent, &mut eval_env, 0);
    let share = (no_battery - cost) / (no_battery - optimum);
    eprintln!(
        "MADDPG arbitrage: {:.1} % of the optimum's savings (cost {cost:.3}, optimum {optimum:.3}, no battery {no_battery:.3}) in {:.2} s",
        share * 100.0,
        start.elapsed().as_secs_f64()
    );
    assert!(share >= 0.9, "MADDPG reached {:.1} % of the optimum's savings (cost {cost:.3}, optimum {optimum:.3}, no battery {no_battery:.3})", share * 100.0);
}

const EPISODES: usize = 150;

fn serialised(agent: &Maddpg) -> String {
    serde_json::to_string(agent).expect("serialise")
}

#[test]
fn training_is_deterministic_given_the_seed() {
    let s = scenario(TWO_AGENTS);
    let exp = &s.experiments[0];
    let run = |seed: u64| {
        let mut env = Env::new(&s, exp, 4).expect("env");
        let mut agent = Maddpg::new(&env, tiny_config(), seed);
        let returns: Vec<f64> = (0..30)
            .map(|_| {
                agent
                    .train_episode(&mut env, &[0; 4])
                    .expect("train")
                    .mean_episode_return
            })
            .collect();
        (returns, serialised(&agent))
    };
    let (a, b) = (run(9), run(9));
    assert!(a.1.len() > 1000);
    assert_eq!(a, b, "same seed, same state");
    assert_ne!(a.1, run(10).1, "another seed, another state");
}

#[test]
fn resumed_training_equals_uninterrupted_training() {
    let s = scenario(TWO_AGENTS);
    let exp = &s.experiments[0];
    let mut env = Env::new(&s, exp, 4).expect("env");
    // 30 episodes × 8 rows: past the 128-row warm-up, so updates and noise are exercised.
    let mut straight = Maddpg::new(&env, tiny_config(), 5);
    for _ in 0..60 {
        straight.train_episode(&mut env, &[0; 4]).expect("train");
    }
    let mut first = Maddpg::new(&env, tiny_config(), 5);
    for _ in 0..30 {
        first.train_episode(&mut env, &[0; 4]).expect("train");
    }
    assert!(first.updates > 0, "updates happened before the checkpoint");
    let mut resumed: Maddpg = serde_json::from_str(&serialised(&first)).expect("deserialise");
    for _ in 0..30 {
        resumed.train_episode(&mut env, &[0; 4]).expect("train");
    }
    assert_eq!(serialised(&straight), serialised(&resumed));
}

/// For the full-state and the mean-field critic, and each kind of identity input.
#[test]
fn policy_gradient_matches_finite_differences() {
    use gridc::train::identity::AgentId;
    for mean_field_critic in [false, true] {
        for agent_id in [AgentId::OneHot, AgentId::Embedding, AgentId::None] {
            policy_gradient_matches_finite_differences_with(MaddpgConfig {
                hidden: 6,
                mean_field_critic,
                agent_id,
                id_width: 3,
                ..MaddpgConfig::default()
            });
        }
    }
}

fn policy_gradient_matches_finite_differences_with(cfg: MaddpgConfig) {
    let label = format!("mean field {}, {:?}", cfg.mean_field_critic, cfg.agent_id);
    let s = scenario(TWO_AGENTS);
    let exp = &s.experiments[0];
    let env = Env::new(&s, exp, 1).expect("env");
    let mut agent = Maddpg::new(&env, cfg, 3);
    // Larger actor outputs than the 0.01-gain initialisation, so tanh' is far from 1.
    for l in &mut agent.actor.layers {
        l.w.mapv_inplace(|w| w * 3.0);
    }
    let mut rng = gridc::train::common::Rng::new(11);
    let m = 5;
    let obs: Vec<f32> = (0..m * 2 * 2).map(|_| rng.normal()).collect();
    let actions: Vec<f32> = (0..m * 2)
        .map(|_| 2.0 * rng.uniform() as f32 - 1.0)
        .collect();
    let (_, g) = agent.policy_gradient(&obs, &actions, m);
    let loss = |a: &Maddpg| a.policy_gradient(&obs, &actions, m).0 as f64;
    let h = 1e-3f32;
    let at_zero = loss(&agent);
    // ReLU networks are piecewise linear: where ±h crosses a kink, the central difference
    // mixes two slopes, but the exact gradient equals one of the one-sided differences.
    let error = |plus: f64, minus: f64, g: f32| {
        let (g, h) = (g as f64, h as f64);
        let central = (plus - minus) / (2.0 * h);
        let sided = [central, (plus - at_zero) / h, (at_zero - minus) / h];
        sided
            .iter()
            .map(|fd| (fd - g).abs() / fd.abs().max(1e-2))
            .fold(f64::INFINITY, f64::min)
    };
    let mut worst: f64 = 0.0;
    let mut checked = 0;
    for li in 0..agent.actor.layers.len() {
        let (rows, cols) = agent.actor.layers[li].w.dim();
        for idx in [
            (0usize, 0usize),
            (1, 2),
            (rows - 1, cols - 1),
            (0, cols - 1),
        ] {
            if idx.0 >= rows || idx.1 >= cols {
                continue;
            }
            let mut p = agent.clone();
            p.actor.layers[li].w[idx] += h;
            let mut q = agent.clone();
            q.actor.layers[li].w[idx] -= h;
            worst = worst.max(error(loss(&p), loss(&q), g.w[li][idx]));
            checked += 1;
        }
        let mut p = agent.clone();
        p.actor.layers[li].b[0] += h;
        let mut q = agent.clone();
        q.actor.layers[li].b[0] -= h;
        worst = worst.max(error(loss(&p), loss(&q), g.b[li][0]));
        checked += 1;
    }
    assert!(g.norm() > 1e-3, "{label}: a non-trivial gradient");
    assert!(
        worst < 2e-2,
        "{label}: relative error {worst} over {checked} parameters"
    );
    // The gradient must flow only through each agent's own action slot: the critic's
    // other action inputs are the replayed actions, which do not depend on the actor.
    let mut a2 = actions.clone();
    a2.iter_mut().for_each(|a| *a = -*a);
    assert_ne!(
        agent.policy_gradient(&obs, &a2, m).1,
        g,
        "{label}: the others' replayed actions enter the critic"
    );
}

/// Model selection (`select_best`, on for MADDPG): training is unchanged, and the run's
/// result is the evaluated policy with the lowest validation cost, the last one included.
/// Differential: the same run without selection supplies the last policy.
#[test]
fn model_selection_keeps_the_cheapest_validation_policy() {
    use gridc::experiment::session::{self, RunConfig};
    use gridc::experiment::{checkpoint, reference};
    use gridc::sim::env::Backend;
    use gridc::train::{learner, Algo, Learner};
    let s = scenario(TWO_AGENTS);
    let exp = &s.experiments[0];
    let reference = reference::reference(&s, exp, Backend::Interp).expect("reference");
    let run = |select: bool| {
        let dir =
            std::env::temp_dir().join(format!("gridc-select-{select}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let hyper = [
            ("batch_size", "64"),
            ("warmup_steps", "128"),
            ("updates_per_step", "1.0"),
            ("noise_decay_steps", "2000"),
            ("select_best", if select { "true" } else { "false" }),
        ];
        let rc = RunConfig {
            algo: Algo::Maddpg,
            seed: 5,
            // 8 environment-steps per update, 45 updates: evaluations after 10, 20, 30
            // and 40 updates and the last policy (45) are the candidates.
            budget: 8 * 45,
            batch: 4,
            backend: Backend::Interp,
            hyper: hyper
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..RunConfig::new(Algo::Maddpg, 5, 0)
        };
        let summary = session::train(&s, exp, &rc, &reference, &dir, false, None, |_| {})
            .expect("train")
            .expect("finished");
        let policy = checkpoint::load_learner(&dir).expect("checkpoint");
        let _ = std::fs::remove_dir_all(&dir);
        (summary, policy)
    };
    let (last, last_policy) = run(false);
    let (chosen, chosen_policy) = run(true);
    assert_eq!((last.selected_update, last.validation_cost), (None, None));
    let train_days: Vec<u32> = exp.train_days.iter().flat_map(|(a, b)| *a..=*b).collect();
    let val_days = session::validation_days(
        &train_days,
        RunConfig::new(Algo::Maddpg, 0, 0).validation_days,
    );
    let mut val_env = Env::with_backend(&s, exp, val_days.len(), Backend::Interp).expect("env");
    let mut cost = |p: &Learner| {
        learner::evaluate_policy(&mut val_env, p, &val_days, false)
            .expect("evaluate")
            .0
            .cost
    };
    let last_val = cost(&last_policy);
    let chosen_val = cost(&chosen_policy);
    let update = chosen.selected_update.expect("a policy was selected");
    assert!([10, 20, 30, 40, 45].contains(&update), "selected {update}");
    assert_eq!(
        chosen.validation_cost,
        Some(chosen_val),
        "the saved policy is the selected one"
    );
    assert!(
        chosen_val <= last_val,
        "selected {chosen_val} > last {last_val}"
    );
    if update == 45 {
        assert_eq!(chosen.test_cost, last.test_cost);
    } else {
        assert!(
            chosen_val < last_val,
            "an earlier policy ({update}) is kept only when strictly cheaper: {chosen_val} vs {last_val}"
        );
    }
}

#[test]
fn validation_days_are_an_even_sample_of_the_training_days() {
    use gridc::experiment::session::validation_days;
    let days: Vec<u32> = (100..400).collect();
    let v = validation_days(&days, 16);
    assert_eq!(v.len(), 16);
    assert!(
        v.windows(2).all(|w| w[1] - w[0] >= 18 && w[1] - w[0] <= 19),
        "{v:?}"
    );
    assert!(v.iter().all(|d| days.contains(d)));
    assert_eq!(validation_days(&[7, 9], 16), vec![7, 9]);
}
