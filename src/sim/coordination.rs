//! Coordination metrics (DESIGN §4, RQ3) from a per-household trace: do the batteries
//! charge all at once (herding) or staggered?

use super::kpi::TraceRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coordination {
    /// Mean over episodes and household pairs of the Pearson correlation of the two
    /// batteries' power over the steps of the episode (1 = everyone charges together;
    /// pairs where a battery never changes power are left out).
    pub charging_correlation: Option<f64>,
    /// Entropy (bits) of the hour at which households start their first charging run of
    /// an episode (charging above 5 % of the largest rate seen): 0 = all start at the same
    /// hour; log2(24) ≈ 4.58 = spread evenly over the day.
    pub charge_start_entropy_bits: Option<f64>,
}

/// Battery power above this share of the largest charging power counts as charging.
const CHARGING_SHARE: f64 = 0.05;

pub fn coordination(trace: &[TraceRow], step_h: f64) -> Coordination {
    // (day, household) → battery power per step.
    let mut series: BTreeMap<(u32, &str), Vec<(usize, f64)>> = BTreeMap::new();
    for r in trace {
        series
            .entry((r.day, r.household.as_str()))
            .or_default()
            .push((r.step, r.battery_kw));
    }
    let mut by_day: BTreeMap<u32, Vec<Vec<f64>>> = BTreeMap::new();
    for ((day, _), mut s) in series {
        s.sort_by_key(|x| x.0);
        by_day
            .entry(day)
            .or_default()
            .push(s.into_iter().map(|x| x.1).collect());
    }
    let max_charge = trace.iter().map(|r| r.battery_kw).fold(0.0, f64::max);
    let (mut corr_sum, mut corr_n) = (0.0, 0usize);
    let mut starts: BTreeMap<i64, usize> = BTreeMap::new();
    for houses in by_day.values() {
        for (i, a) in houses.iter().enumerate() {
            for b in &houses[i + 1..] {
                if let Some(c) = pearson(a, b) {
                    corr_sum += c;
                    corr_n += 1;
                }
            }
            if max_charge > 0.0 {
                if let Some(k) = a.iter().position(|p| *p > CHARGING_SHARE * max_charge) {
                    let hour = ((k as f64 * step_h).floor() as i64).rem_euclid(24);
                    *starts.entry(hour).or_default() += 1;
                }
            }
        }
    }
    let total: usize = starts.values().sum();
    let entropy = (total > 0).then(|| {
        starts
            .values()
            .map(|&c| {
                let p = c as f64 / total as f64;
                -p * p.log2()
            })
            .sum::<f64>()
            .max(0.0)
    });
    Coordination {
        charging_correlation: (corr_n > 0).then(|| corr_sum / corr_n as f64),
        charge_start_entropy_bits: entropy,
    }
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len().min(b.len());
    if n < 2 {
        return None;
    }
    let ma = a[..n].iter().sum::<f64>() / n as f64;
    let mb = b[..n].iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (da, db) = (a[i] - ma, b[i] - mb);
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    (saa > 1e-18 && sbb > 1e-18).then(|| sab / (saa * sbb).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: u32, step: usize, house: &str, battery_kw: f64) -> TraceRow {
        TraceRow {
            day,
            step,
            household: house.into(),
            load_kw: 0.0,
            pv_kw: 0.0,
            battery_kw,
            soc_kwh: 0.0,
            import_kw: 0.0,
            export_kw: 0.0,
            price_import: 0.0,
            price_export: 0.0,
            feeder: "f".into(),
            feeder_flow_kw: 0.0,
            bill: 0.0,
            settlement: 0.0,
        }
    }

    #[test]
    fn herding_is_correlated_and_has_zero_start_entropy() {
        // Both charge 2 kW at steps 1–2 of a 4-step day, then discharge.
        let p = [0.0, 2.0, 2.0, -1.0];
        let mut t = Vec::new();
        for (k, v) in p.iter().enumerate() {
            t.push(row(0, k, "a", *v));
            t.push(row(0, k, "b", *v));
        }
        let c = coordination(&t, 1.0);
        assert!((c.charging_correlation.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(c.charge_start_entropy_bits, Some(0.0));
    }

    #[test]
    fn staggered_charging_by_hand() {
        // a charges at hour 0, b at hour 2: powers [2,0,0,0] and [0,0,2,0].
        // Means 0.5 each; deviations [1.5,-.5,-.5,-.5] and [-.5,-.5,1.5,-.5]:
        // Σab = -0.75 - 0.75 + 0.25 + 0.25 = -1, Σaa = Σbb = 3 → r = -1/3.
        // Two start hours with one household each → entropy 1 bit.
        let mut t = Vec::new();
        for (k, (x, y)) in [(2.0, 0.0), (0.0, 0.0), (0.0, 2.0), (0.0, 0.0)]
            .iter()
            .enumerate()
        {
            t.push(row(0, k, "a", *x));
            t.push(row(0, k, "b", *y));
        }
        let c = coordination(&t, 1.0);
        assert!((c.charging_correlation.unwrap() + 1.0 / 3.0).abs() < 1e-12);
        assert!((c.charge_start_entropy_bits.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn idle_batteries_have_no_metrics() {
        let t: Vec<TraceRow> = (0..4).map(|k| row(0, k, "a", 0.0)).collect();
        assert_eq!(coordination(&t, 1.0), Coordination::default());
    }
}
