//! Inputs of the compiled (and native) observation assembly: the exogenous series of
//! every environment's episode, precomputed at reset with exactly the expressions the
//! interpreter's `Env::observe` evaluates per step, so the assembled f32 values are
//! bit-identical.

use super::episode::{day_of_year, hour, series_at, time_at, weekday, Episode};
use crate::ir::{EnvSeries, Ir, ObsProgram};
use crate::model::{Experiment, Scenario};

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
