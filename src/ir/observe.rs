//! The observation program: what each of an agent's `obs_dim` f32 columns reads, lowered
//! from the scenario's observation catalogue in declaration order. The JIT compiles it
//! into one loop kernel over environments × agents (`sim::jit::observe`), the native
//! backend assembles it by hand; the interpreter keeps its own Rust path over the
//! Scenario (`sim::env::Env::observe`) as the oracle.
//!
//! Exogenous values (time features, prices, carbon, own load/PV signals) are read from
//! series precomputed per episode at reset (`sim::obs::ObsInputs`); a column reads the
//! series at `t + offset`. State values (soc, `.last` flows, messages) come from the
//! machine and the environment. Nothing here depends on the number of households.

use crate::model::{Communication, Feature, Scenario};

/// A series that is the same for every agent of an environment (`batch × len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvSeries {
    /// Hour of the day (h).
    Hour,
    /// 0 = Monday.
    Weekday,
    /// Day index (0 = 1 January).
    DayOfYear,
    PriceImport,
    PriceExport,
    Carbon,
}

/// A per-agent series: one load (or solar) asset of the agent's own household, kW.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSeries {
    pub asset: String,
    pub solar: bool,
}

/// What one observation column (or, for messages, `k` columns) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObsColumn {
    /// `env_series[series]` at step `t + offset`.
    Env { series: usize, offset: usize },
    /// `agent_series[series]` of this agent at step `t + offset`.
    Agent { series: usize, offset: usize },
    /// Energy / capacity (0 without a battery).
    Soc,
    /// Own household's net power of the last step.
    NetLast,
    /// A named feeder's flow of the last step.
    FeederFlowLast(usize),
    /// The agent's own feeder's flow of the last step.
    OwnFeederFlowLast,
    /// The bus import (peak bus) of the last step.
    BusLast,
    /// The day's running peak of the bus import before this step.
    BusPeakToday,
    /// `k` columns: the mean of the other agents' (or same-feeder agents') messages.
    Messages,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObsProgram {
    /// f32 values per agent.
    pub obs_dim: usize,
    /// In declaration order; every column is one value except `Messages` (`messages`).
    pub columns: Vec<ObsColumn>,
    pub env_series: Vec<EnvSeries>,
    pub agent_series: Vec<AgentSeries>,
    /// Length of every precomputed series: `steps + horizon + 1`, so `t + offset` stays
    /// inside for every `t ≤ steps` (observations are also made after the last step).
    pub series_len: usize,
    /// The largest `offset` of any column.
    pub max_offset: usize,
    /// Household and feeder of each agent.
    pub agent_house: Vec<usize>,
    pub agent_feeder: Vec<usize>,
    /// Message size k (0 without communication).
    pub messages: usize,
    /// Messages are averaged over same-feeder agents only.
    pub neighbours: bool,
}

impl ObsProgram {
    /// Whether `agent_house[a] == a` for every agent (all households are agents, in
    /// order): the compiled kernel then indexes household arrays by the agent directly.
    pub fn dense(&self) -> bool {
        self.agent_house.iter().enumerate().all(|(a, &h)| a == h)
    }
}

/// Steps ahead a feature looks (0 = now).
pub fn forecast_steps(f: &Feature) -> usize {
    match f {
        Feature::PriceImport { steps_ahead }
        | Feature::PriceExport { steps_ahead }
        | Feature::Carbon { steps_ahead }
        | Feature::OwnSignal { steps_ahead, .. } => *steps_ahead,
        _ => 0,
    }
}

pub fn lower_observe(s: &Scenario, steps: usize) -> ObsProgram {
    let obs = &s.agents.observations;
    let horizon = obs
        .iter()
        .map(|o| forecast_steps(&o.feature))
        .max()
        .unwrap_or(0);
    let mut p = ObsProgram {
        obs_dim: 0,
        columns: Vec::new(),
        env_series: Vec::new(),
        agent_series: Vec::new(),
        series_len: steps + horizon + 1,
        max_offset: 0,
        agent_house: s.agents.households.clone(),
        agent_feeder: s
            .agents
            .households
            .iter()
            .map(|&h| s.households[h].feeder)
            .collect(),
        messages: s.agents.communication.size(),
        neighbours: matches!(s.agents.communication, Communication::Neighbours(_)),
    };
    let env = |p: &mut ObsProgram, e: EnvSeries| match p.env_series.iter().position(|x| *x == e) {
        Some(i) => i,
        None => {
            p.env_series.push(e);
            p.env_series.len() - 1
        }
    };
    // Forecast series: `ahead == 0` reads t, else t + 1 ..= t + ahead.
    let push_env = |p: &mut ObsProgram, e: EnvSeries, ahead: usize| {
        let series = env(p, e);
        if ahead == 0 {
            p.columns.push(ObsColumn::Env { series, offset: 0 });
        }
        for j in 1..=ahead {
            p.columns.push(ObsColumn::Env { series, offset: j });
        }
    };
    for o in obs {
        match &o.feature {
            Feature::Hour => push_env(&mut p, EnvSeries::Hour, 0),
            Feature::Weekday => push_env(&mut p, EnvSeries::Weekday, 0),
            Feature::DayOfYear => push_env(&mut p, EnvSeries::DayOfYear, 0),
            Feature::PriceImport { steps_ahead } => {
                push_env(&mut p, EnvSeries::PriceImport, *steps_ahead)
            }
            Feature::PriceExport { steps_ahead } => {
                push_env(&mut p, EnvSeries::PriceExport, *steps_ahead)
            }
            Feature::Carbon { steps_ahead } => push_env(&mut p, EnvSeries::Carbon, *steps_ahead),
            Feature::OwnSignal {
                asset,
                solar,
                steps_ahead,
            } => {
                let a = AgentSeries {
                    asset: asset.clone(),
                    solar: *solar,
                };
                let series = match p.agent_series.iter().position(|x| *x == a) {
                    Some(i) => i,
                    None => {
                        p.agent_series.push(a);
                        p.agent_series.len() - 1
                    }
                };
                // Now: t; a forecast of n steps: t + 1 ..= t + n.
                if *steps_ahead == 0 {
                    p.columns.push(ObsColumn::Agent { series, offset: 0 });
                }
                for j in 1..=*steps_ahead {
                    p.columns.push(ObsColumn::Agent { series, offset: j });
                }
            }
            Feature::OwnSoc { .. } => p.columns.push(ObsColumn::Soc),
            Feature::OwnNetLast => p.columns.push(ObsColumn::NetLast),
            Feature::FeederFlowLast { feeder } => {
                p.columns.push(ObsColumn::FeederFlowLast(*feeder))
            }
            Feature::OwnFeederFlowLast => p.columns.push(ObsColumn::OwnFeederFlowLast),
            Feature::CommunityNetLast => p.columns.push(ObsColumn::BusLast),
            Feature::CommunityPeakToday => p.columns.push(ObsColumn::BusPeakToday),
            Feature::Messages => {
                if p.messages > 0 {
                    p.columns.push(ObsColumn::Messages)
                }
            }
        }
    }
    p.obs_dim = p
        .columns
        .iter()
        .map(|c| match c {
            ObsColumn::Messages => p.messages,
            _ => 1,
        })
        .sum();
    p.max_offset = p
        .columns
        .iter()
        .map(|c| match c {
            ObsColumn::Env { offset, .. } | ObsColumn::Agent { offset, .. } => *offset,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    p
}
