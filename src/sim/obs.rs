//! Inputs of the compiled (and native) observation assembly: the exogenous series of
//! every environment's episode, precomputed at reset with exactly the expressions the
//! interpreter's `Env::observe` evaluates per step, so the assembled f32 values are
//! bit-identical.

use super::env::Episode;
use crate::ir::{EnvSeries, Ir, ObsProgram};
use crate::model::{Experiment, Scenario};

/// Hour of the day at `time_s` (f64; observations round it to f32).
pub fn hour(time_s: f64) -> f64 {
    time_s.rem_euclid(86400.0) / 3600.0
}

/// Day index at `time_s` (0 = 1 January).
pub fn day_of_year(time_s: f64) -> f64 {
    (time_s / 86400.0).floor()
}

/// 0 = Monday.
pub fn weekday(year: i32, time_s: f64) -> u32 {
    let day = crate::check::experiment::days_from_civil(year as i64, 1, 1)
        + (time_s / 86400.0).floor() as i64;
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    ((day + 3).rem_euclid(7)) as u32
}

/// Seconds since 1 January 00:00 at step `k` of an episode starting on `day`.
pub fn time_at(exp: &Experiment, day: u32, k: usize) -> f64 {
    day as f64 * 86400.0 + k as f64 * exp.step_s
}

/// A forecast series read at `k`, clamped to its last value (0 when empty).
pub fn series_at(series: &[f64], k: usize) -> f64 {
    series.get(k).or(series.last()).copied().unwrap_or(0.0)
}

/// Precomputed series for one batch of episodes (f64; the kernel rounds to f32).
#[derive(Debug, Clone, Default)]
pub struct ObsInputs {
    pub batch: usize,
    /// `ObsProgram::series_len`.
    pub len: usize,
    /// `batch × env_series × len`.
    pub env: Vec<f64>,
    /// `agent_series × batch × len × agents`.
    pub agent: Vec<f64>,
}

impl ObsInputs {
    pub fn build(s: &Scenario, exp: &Experiment, ir: &Ir, episodes: &[Episode]) -> ObsInputs {
        let p: &ObsProgram = &ir.observe;
        let (batch, len, na) = (episodes.len(), p.series_len, p.agent_house.len());
        let mut env = Vec::with_capacity(batch * p.env_series.len() * len);
        for ep in episodes {
            for e in &p.env_series {
                env.extend((0..len).map(|k| {
                    let time_s = time_at(exp, ep.day, k);
                    match e {
                        EnvSeries::Hour => hour(time_s),
                        EnvSeries::Weekday => weekday(exp.year, time_s) as f64,
                        EnvSeries::DayOfYear => day_of_year(time_s),
                        EnvSeries::PriceImport => series_at(&ep.price_import, k),
                        EnvSeries::PriceExport => series_at(&ep.price_export, k),
                        EnvSeries::Carbon => series_at(&ep.carbon, k),
                    }
                }));
            }
        }
        let mut agent = vec![0.0; p.agent_series.len() * batch * len * na];
        for (f, a) in p.agent_series.iter().enumerate() {
            // The signal of each agent's household (None: the household lacks the asset).
            let sigs: Vec<_> = p
                .agent_house
                .iter()
                .map(|&h| {
                    let hh = &s.households[h];
                    let list = if a.solar { &hh.solar } else { &hh.loads };
                    list.iter().find(|x| x.name == a.asset)
                })
                .collect();
            for (b, ep) in episodes.iter().enumerate() {
                for k in 0..len {
                    let tt = time_at(exp, ep.day, k);
                    let row = ((f * batch + b) * len + k) * na;
                    for (slot, sig) in agent[row..row + na].iter_mut().zip(&sigs) {
                        *slot = sig
                            .map(|x| x.power_w.at(&s.profiles, tt) / 1e3)
                            .unwrap_or(0.0);
                    }
                }
            }
        }
        ObsInputs {
            batch,
            len,
            env,
            agent,
        }
    }
}
