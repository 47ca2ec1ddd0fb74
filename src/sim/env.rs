//! The batched environment (DESIGN §5) on the reference interpreter: `reset(days)` and
//! `step(actions)`, observations as declared, per-agent rewards, done at the end of the
//! episode. Each environment of the batch runs its own day.

use super::episode::{self as time, episode, Episode};
use super::interp::Machine;
use super::obs::ObsInputs;
use crate::ir::{lower::LowerError, observe::forecast_steps, Field, Ir, Scalar};
use crate::model::{Communication, Experiment, Feature, Scenario};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Cranelift-compiled kernels (default).
    #[default]
    Jit,
    /// The reference interpreter.
    Interp,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    #[error(transparent)]
    Lower(#[from] LowerError),
    #[error("{0}")]
    Jit(String),
    #[error("expected {expected} action values, got {found}")]
    ActionLength { expected: usize, found: usize },
    #[error("action {index} is not a finite number ({value})")]
    ActionNotFinite { index: usize, value: f64 },
    #[error("the episode is over: call reset")]
    Done,
    #[error("the step produced {}", describe_flags(*.0))]
    Runtime(u32),
}

/// What runs the step and assembles observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    /// The interpreter and the Rust observation code (the oracle).
    Interp,
    /// Compiled step kernels and the compiled observation kernel.
    Jit,
    /// The hand-written step and observation assembly (`sim::native`).
    Native,
}

pub struct Env<'s> {
    pub scenario: &'s Scenario,
    pub exp: &'s Experiment,
    pub ir: Ir,
    pub m: Machine,
    pub episodes: Vec<Episode>,
    /// Step within the episode (same for all environments of the batch).
    pub t: usize,
    horizon: usize,
    /// Agent messages of the last step, `batch × agents × k`.
    messages: Vec<f64>,
    /// Last step's net power per household and flow per feeder (for `.last` features).
    last_net: Vec<f64>,
    last_flow: Vec<f64>,
    last_bus: Vec<f64>,
    engine: Engine,
    /// Precomputed exogenous series for the compiled/native observation assembly.
    obs_in: ObsInputs,
    /// Per-household actions of the agent-level step (reused; non-agents stay 0).
    per_house: Vec<f64>,
}

impl<'s> Env<'s> {
    /// An environment on the default backend (the JIT).
    pub fn new(
        scenario: &'s Scenario,
        exp: &'s Experiment,
        batch: usize,
    ) -> Result<Env<'s>, EnvError> {
        Env::with_backend(scenario, exp, batch, Backend::default())
    }

    pub fn with_backend(
        scenario: &'s Scenario,
        exp: &'s Experiment,
        batch: usize,
        backend: Backend,
    ) -> Result<Env<'s>, EnvError> {
        Env::build(
            scenario,
            exp,
            batch,
            match backend {
                Backend::Jit => Engine::Jit,
                Backend::Interp => Engine::Interp,
            },
        )
    }

    /// An environment on the hand-written native step and observation assembly
    /// (`sim::native`; benchmarks and differential tests). Fails for scenarios outside
    /// the reference model (`native::supports`).
    pub fn native(
        scenario: &'s Scenario,
        exp: &'s Experiment,
        batch: usize,
    ) -> Result<Env<'s>, EnvError> {
        Env::build(scenario, exp, batch, Engine::Native)
    }

    fn build(
        scenario: &'s Scenario,
        exp: &'s Experiment,
        batch: usize,
        engine: Engine,
    ) -> Result<Env<'s>, EnvError> {
        let ir = crate::ir::lower(scenario, exp)?;
        if engine == Engine::Native && !super::native::supports(&ir) {
            return Err(EnvError::Jit(
                "the native step supports the reference model only (no demand charge, no messages)"
                    .into(),
            ));
        }
        let mut m = Machine::new(&ir, batch);
        if engine == Engine::Jit {
            let program =
                super::jit::JitProgram::compile(&ir).map_err(|e| EnvError::Jit(e.to_string()))?;
            m.jit = Some(std::sync::Arc::new(program));
        }
        let horizon = scenario
            .agents
            .observations
            .iter()
            .map(|o| forecast_steps(&o.feature))
            .max()
            .unwrap_or(0);
        let k = scenario.agents.communication.size();
        let agents = scenario.agents.households.len();
        Ok(Env {
            scenario,
            exp,
            m,
            episodes: Vec::new(),
            t: 0,
            horizon,
            messages: vec![0.0; batch * agents * k],
            last_net: vec![0.0; batch * ir.households],
            last_flow: vec![0.0; batch * ir.feeders],
            last_bus: vec![0.0; batch],
            engine,
            obs_in: ObsInputs::default(),
            per_house: vec![0.0; batch * ir.households],
            ir,
        })
    }

    pub fn batch(&self) -> usize {
        self.m.batch
    }
    pub fn steps(&self) -> usize {
        self.ir.steps_per_episode
    }
    pub fn obs_dim(&self) -> usize {
        self.scenario.agents.obs_dim
    }
    pub fn act_dim(&self) -> usize {
        self.scenario.agents.act_dim
    }
    pub fn agents(&self) -> usize {
        self.scenario.agents.households.len()
    }
    /// Households with a battery that no agent controls (they follow `agents.others`).
    pub fn others(&self) -> &[usize] {
        &self.ir.others
    }

    /// Start one episode per environment on the given days (`days.len() == batch`).
    pub fn reset(&mut self, days: &[u32]) -> Vec<f32> {
        let steps = self.steps();
        self.episodes = days
            .iter()
            .map(|&d| episode(self.scenario, self.exp, d, steps, self.horizon))
            .collect();
        if self.engine != Engine::Interp {
            self.obs_in = ObsInputs::build(self.scenario, self.exp, &self.ir, &self.episodes);
        }
        self.rewind();
        self.observe()
    }

    /// Restart the current episodes from their first step (state as after `reset`,
    /// without recomputing the episodes' inputs).
    pub fn rewind(&mut self) {
        self.t = 0;
        let n = self.ir.households;
        for b in 0..self.batch() {
            self.m.house[Field::Energy as usize][b * n..(b + 1) * n]
                .copy_from_slice(&self.ir.energy_start);
        }
        self.m.h_mut(Field::PeakImportToday).fill(0.0);
        self.m.h_mut(Field::PeakWithoutMe).fill(0.0);
        self.m.h_mut(Field::BatteryKw).fill(0.0);
        self.m.s_mut(Scalar::PeakToday).fill(0.0);
        self.messages.fill(0.0);
        self.last_net.fill(0.0);
        self.last_flow.fill(0.0);
        self.last_bus.fill(0.0);
        self.set_inputs();
    }

    /// Load the exogenous inputs of step `t` into the machine.
    fn set_inputs(&mut self) {
        let n = self.ir.households;
        let t = self.t.min(self.steps().saturating_sub(1));
        for (b, ep) in self.episodes.iter().enumerate() {
            self.m.house[Field::LoadKw as usize][b * n..(b + 1) * n]
                .copy_from_slice(&ep.load_kw[t * n..(t + 1) * n]);
            self.m.house[Field::PvKw as usize][b * n..(b + 1) * n]
                .copy_from_slice(&ep.pv_kw[t * n..(t + 1) * n]);
            self.m.scalar[Scalar::PriceImport as usize][b] = ep.price_import[t];
            self.m.scalar[Scalar::PriceExport as usize][b] = ep.price_export[t];
        }
        // The end-of-episode rule applies on the last step only.
        let last = if self.t + 1 == self.steps() { 1.0 } else { 0.0 };
        self.m.s_mut(Scalar::EpisodeEnd).fill(last);
        // Daily charges restart at every midnight inside an episode.
        let steps_per_day = (24.0 / self.ir.dt_h).round() as usize;
        if self.t > 0 && steps_per_day > 0 && self.t.is_multiple_of(steps_per_day) {
            self.m.h_mut(Field::PeakImportToday).fill(0.0);
            self.m.h_mut(Field::PeakWithoutMe).fill(0.0);
            self.m.s_mut(Scalar::PeakToday).fill(0.0);
        }
    }

    /// Step with one action per household (`batch × households`, fractions of rated
    /// power). Baselines and the optimum's replay drive the environment this way. The
    /// households no agent controls follow `agents.others` whatever `actions` says, so
    /// every policy (and the optimum) meets them doing the same thing.
    pub fn step_households(&mut self, actions: &[f64]) -> Result<bool, EnvError> {
        if self.t >= self.steps() {
            return Err(EnvError::Done);
        }
        let expected = self.batch() * self.ir.households;
        if actions.len() != expected {
            return Err(EnvError::ActionLength {
                expected,
                found: actions.len(),
            });
        }
        if let Some((index, value)) = actions.iter().enumerate().find(|(_, a)| !a.is_finite()) {
            return Err(EnvError::ActionNotFinite {
                index,
                value: *value,
            });
        }
        let fixed = (!self.ir.others.is_empty()).then(|| self.scenario.agents.others.actions(self));
        self.m.h_mut(Field::Action).copy_from_slice(actions);
        if let Some(fixed) = fixed {
            let (n, batch) = (self.ir.households, self.m.batch);
            let action = self.m.h_mut(Field::Action);
            for b in 0..batch {
                for &i in &self.ir.others {
                    action[b * n + i] = fixed[b * n + i];
                }
            }
        }
        let flags = match self.engine {
            Engine::Native => super::native::step(&mut self.m, &self.ir),
            _ => self.m.step(&self.ir),
        };
        if flags != 0 {
            return Err(EnvError::Runtime(flags));
        }
        // `.last` features: this step's values, observed when deciding the next step.
        self.last_net
            .copy_from_slice(&self.m.house[Field::NetKw as usize]);
        self.last_flow
            .copy_from_slice(&self.m.feed[Field::FlowKw as usize]);
        self.last_bus
            .copy_from_slice(&self.m.scalar[Scalar::BusImportKw as usize]);
        self.t += 1;
        let done = self.t >= self.steps();
        if !done {
            self.set_inputs();
        }
        Ok(done)
    }

    /// Agent-level step (DESIGN §5): `actions` is `batch × agents × act_dim` (controls,
    /// then message values). Non-agent households follow `agents.others`. Returns the
    /// next observations, per-agent rewards (`batch × agents`) and done.
    pub fn step(&mut self, actions: &[f32]) -> Result<(Vec<f32>, Vec<f32>, bool), EnvError> {
        let (mut obs, mut rewards) = (Vec::new(), Vec::new());
        let done = self.step_into(actions, &mut obs, &mut rewards)?;
        Ok((obs, rewards, done))
    }

    /// [`Env::step`] writing observations and rewards into reused buffers (no
    /// allocation per step once they have grown).
    pub fn step_into(
        &mut self,
        actions: &[f32],
        obs: &mut Vec<f32>,
        rewards: &mut Vec<f32>,
    ) -> Result<bool, EnvError> {
        let (na, ad, n) = (self.agents(), self.act_dim(), self.ir.households);
        let expected = self.batch() * na * ad;
        if actions.len() != expected {
            return Err(EnvError::ActionLength {
                expected,
                found: actions.len(),
            });
        }
        let k = self.scenario.agents.communication.size();
        let controls = ad - k;
        let mut per_house = std::mem::take(&mut self.per_house);
        per_house.resize(self.batch() * n, 0.0);
        for b in 0..self.batch() {
            for (a, &h) in self.scenario.agents.households.iter().enumerate() {
                let base = (b * na + a) * ad;
                if controls > 0 {
                    per_house[b * n + h] = actions[base] as f64;
                }
                for j in 0..k {
                    self.messages[(b * na + a) * k + j] = actions[base + controls + j] as f64;
                }
            }
        }
        let done = self.step_households(&per_house);
        self.per_house = per_house;
        let done = done?;
        rewards.clear();
        let reward = &self.m.house[Field::Reward as usize];
        for b in 0..self.batch() {
            rewards.extend(
                self.scenario
                    .agents
                    .households
                    .iter()
                    .map(|&h| reward[b * n + h] as f32),
            );
        }
        self.observe_into(obs);
        Ok(done)
    }

    /// Observations `batch × agents × obs_dim`, in declaration order.
    pub fn observe(&self) -> Vec<f32> {
        let mut out = Vec::new();
        self.observe_into(&mut out);
        out
    }

    /// [`Env::observe`] into a reused buffer: the compiled kernel (JIT), the hand-written
    /// assembly (native) or the interpreter's Rust path below (the oracle).
    pub fn observe_into(&self, out: &mut Vec<f32>) {
        if self.episodes.is_empty() {
            out.clear();
            return;
        }
        let args = || super::jit::ObsArgs {
            t: self.t,
            batch: self.batch(),
            energy: &self.m.house[Field::Energy as usize],
            capacity: self.ir.household_param(Field::Capacity),
            last_net: &self.last_net,
            last_flow: &self.last_flow,
            last_bus: &self.last_bus,
            peak_today: &self.m.scalar[Scalar::PeakToday as usize],
            messages: &self.messages,
            inputs: &self.obs_in,
        };
        // The precomputed series cover t ≤ steps (`t` is public: anything past the end
        // takes the oracle's path, which clamps forecasts and evaluates profiles).
        let covered = self.t <= self.steps() && self.obs_in.batch == self.batch();
        match (self.engine, &self.m.jit) {
            (Engine::Jit, Some(jit)) if covered => jit.observe(&args(), out),
            (Engine::Native, _) if covered => {
                super::native::observe(&self.ir.observe, &args(), out)
            }
            _ => self.observe_interp(out),
        }
    }

    /// The reference observation assembly, feature by feature.
    fn observe_interp(&self, out: &mut Vec<f32>) {
        let s = self.scenario;
        let (na, n) = (self.agents(), self.ir.households);
        out.clear();
        out.reserve(self.batch() * na * self.obs_dim());
        for (b, ep) in self.episodes.iter().enumerate() {
            let time_s = time::time_at(self.exp, ep.day, self.t);
            for (a, &h) in s.agents.households.iter().enumerate() {
                for o in &s.agents.observations {
                    match &o.feature {
                        Feature::Hour => out.push(time::hour(time_s) as f32),
                        Feature::Weekday => out.push(time::weekday(self.exp.year, time_s) as f32),
                        Feature::DayOfYear => out.push(time::day_of_year(time_s) as f32),
                        Feature::PriceImport { steps_ahead } => {
                            push_series(out, &ep.price_import, self.t, *steps_ahead)
                        }
                        Feature::PriceExport { steps_ahead } => {
                            push_series(out, &ep.price_export, self.t, *steps_ahead)
                        }
                        Feature::Carbon { steps_ahead } => {
                            push_series(out, &ep.carbon, self.t, *steps_ahead)
                        }
                        Feature::OwnSignal {
                            asset,
                            solar,
                            steps_ahead,
                        } => {
                            let hh = &s.households[h];
                            let list = if *solar { &hh.solar } else { &hh.loads };
                            let sig = list.iter().find(|x| &x.name == asset);
                            let n_out = (*steps_ahead).max(1);
                            for j in 0..n_out {
                                let k = if *steps_ahead == 0 {
                                    self.t
                                } else {
                                    self.t + 1 + j
                                };
                                let tt = time::time_at(self.exp, ep.day, k);
                                out.push(
                                    sig.map(|x| x.power_w.at(&s.profiles, tt) / 1e3)
                                        .unwrap_or(0.0) as f32,
                                );
                            }
                        }
                        Feature::OwnSoc { .. } => {
                            let cap = self.ir.household_param(Field::Capacity)[h];
                            let e = self.m.h(Field::Energy, b, h);
                            out.push(if cap > 0.0 { (e / cap) as f32 } else { 0.0 });
                        }
                        Feature::OwnNetLast => out.push(self.last_net[b * n + h] as f32),
                        Feature::FeederFlowLast { feeder } => {
                            out.push(self.last_flow[b * self.ir.feeders + feeder] as f32)
                        }
                        Feature::OwnFeederFlowLast => out.push(
                            self.last_flow[b * self.ir.feeders + self.ir.feeder_of[h]] as f32,
                        ),
                        Feature::CommunityNetLast => out.push(self.last_bus[b] as f32),
                        Feature::CommunityPeakToday => {
                            out.push(self.m.scalar[Scalar::PeakToday as usize][b] as f32)
                        }
                        Feature::Messages => self.push_messages(out, b, a),
                    }
                }
            }
        }
    }

    /// Mean of the other agents' messages (broadcast) or of same-feeder agents' messages.
    fn push_messages(&self, out: &mut Vec<f32>, b: usize, a: usize) {
        let s = self.scenario;
        let k = s.agents.communication.size();
        let na = self.agents();
        let my_feeder = self.ir.feeder_of[s.agents.households[a]];
        let mut sum = vec![0.0; k];
        let mut count = 0.0;
        for (o, &h) in s.agents.households.iter().enumerate() {
            let include = o != a
                && match s.agents.communication {
                    Communication::Neighbours(_) => self.ir.feeder_of[h] == my_feeder,
                    _ => true,
                };
            if include {
                count += 1.0;
                for (j, v) in sum.iter_mut().enumerate() {
                    *v += self.messages[(b * na + o) * k + j];
                }
            }
        }
        for v in sum {
            out.push(if count > 0.0 { (v / count) as f32 } else { 0.0 });
        }
    }
}

fn describe_flags(flags: u32) -> String {
    let mut parts = Vec::new();
    if flags & crate::ir::FLAG_NON_FINITE != 0 {
        parts.push("a NaN or infinite value (check the scenario's numbers)");
    }
    if flags & crate::ir::FLAG_SOC_BOUNDS != 0 {
        parts.push("a state of charge outside its bounds");
    }
    parts.join(" and ")
}

fn push_series(out: &mut Vec<f32>, series: &[f64], t: usize, ahead: usize) {
    let get = |k: usize| time::series_at(series, k) as f32;
    if ahead == 0 {
        out.push(get(t));
    } else {
        for j in 1..=ahead {
            out.push(get(t + j));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn weekdays_follow_the_calendar() {
        // 2023-01-01 was a Sunday; 2023-01-02 a Monday.
        assert_eq!(crate::sim::episode::weekday(2023, 0.0), 6);
        assert_eq!(crate::sim::episode::weekday(2023, 86400.0), 0);
    }
}
