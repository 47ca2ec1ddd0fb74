//! One episode's exogenous inputs (loads, PV, prices, carbon) and the time helpers every
//! observation assembly shares, so the interpreter's per-step values and the precomputed
//! series of the compiled assembly come from the very same expressions.

use crate::model::{Experiment, Price, Scenario};

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
    crate::calendar::weekday(
        crate::calendar::year_start(year as i64) + (time_s / 86400.0).floor() as i64,
    )
}

/// Seconds since 1 January 00:00 at step `k` of an episode starting on `day`.
pub fn time_at(exp: &Experiment, day: u32, k: usize) -> f64 {
    day as f64 * 86400.0 + k as f64 * exp.step_s
}

/// A forecast series read at `k`, clamped to its last value (0 when empty).
pub fn series_at(series: &[f64], k: usize) -> f64 {
    series.get(k).or(series.last()).copied().unwrap_or(0.0)
}

/// Exogenous inputs of one episode, precomputed (kW, $/kWh).
#[derive(Debug, Clone)]
pub struct Episode {
    pub day: u32,
    /// `steps × households`.
    pub load_kw: Vec<f64>,
    pub pv_kw: Vec<f64>,
    /// `steps + horizon` (forecasts look past the end of the episode).
    pub price_import: Vec<f64>,
    pub price_export: Vec<f64>,
    /// kg/kWh, empty without a carbon profile.
    pub carbon: Vec<f64>,
}

const J_PER_KWH: f64 = 3.6e6;

fn price_per_kwh(p: &Price, s: &Scenario, t: f64) -> f64 {
    p.at(&s.profiles, t) * J_PER_KWH
}

pub fn episode(s: &Scenario, exp: &Experiment, day: u32, steps: usize, horizon: usize) -> Episode {
    let n = s.households.len();
    let mut load_kw = vec![0.0; steps * n];
    let mut pv_kw = vec![0.0; steps * n];
    for k in 0..steps {
        let t = day as f64 * 86400.0 + k as f64 * exp.step_s;
        for (i, h) in s.households.iter().enumerate() {
            load_kw[k * n + i] = h
                .loads
                .iter()
                .map(|l| l.power_w.at(&s.profiles, t))
                .sum::<f64>()
                / 1e3;
            pv_kw[k * n + i] = h
                .solar
                .iter()
                .map(|l| l.power_w.at(&s.profiles, t))
                .sum::<f64>()
                / 1e3;
        }
    }
    let times = (0..steps + horizon).map(|k| day as f64 * 86400.0 + k as f64 * exp.step_s);
    let price_import = times
        .clone()
        .map(|t| price_per_kwh(&s.tariff.import, s, t))
        .collect();
    let price_export = times
        .clone()
        .map(|t| price_per_kwh(&s.tariff.export, s, t))
        .collect();
    let carbon = match &s.tariff.carbon_kg_per_j {
        Some(c) => times.map(|t| c.at(&s.profiles, t) * J_PER_KWH).collect(),
        None => Vec::new(),
    };
    Episode {
        day,
        load_kw,
        pv_kw,
        price_import,
        price_export,
        carbon,
    }
}
