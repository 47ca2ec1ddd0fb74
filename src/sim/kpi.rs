//! KPIs (DESIGN §4) accumulated step by step from the environment, so baselines, the
//! optimum's replay and trained agents are all measured by this one module.

use super::env::Env;
use crate::ir::{Field, Scalar};
use serde::Serialize;

/// One row of `--trace` output.
#[derive(Debug, Clone, Serialize)]
pub struct TraceRow {
    pub day: u32,
    pub step: usize,
    pub household: String,
    pub load_kw: f64,
    pub pv_kw: f64,
    pub battery_kw: f64,
    pub soc_kwh: f64,
    pub import_kw: f64,
    pub export_kw: f64,
    pub price_import: f64,
    pub price_export: f64,
    pub feeder: String,
    pub feeder_flow_kw: f64,
    pub bill: f64,
    /// The end-of-episode settlement inside `bill` ($; 0 before the last step).
    pub settlement: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub trace: Option<Vec<TraceRow>>,
    households: usize,
    bills: Vec<f64>,
    import_kwh: Vec<f64>,
    export_kwh: Vec<f64>,
    load_kwh: Vec<f64>,
    pv_kwh: Vec<f64>,
    discharge_kwh: Vec<f64>,
    cost: f64,
    overload_kwh: f64,
    bus_import_sum: f64,
    bus_import_max: f64,
    bus_steps: usize,
    ramping: f64,
    emissions: f64,
    has_carbon: bool,
    reward_sum: f64,
    settlement: f64,
    end_energy_change: f64,
    episodes: usize,
    prev_bus: Vec<Option<f64>>,
    pub max_residual_kwh: f64,
    pub non_finite: bool,
    pub soc_violation: bool,
}

impl Recorder {
    pub fn new(households: usize, tracing: bool) -> Recorder {
        Recorder {
            trace: tracing.then(Vec::new),
            households,
            bills: vec![0.0; households],
            import_kwh: vec![0.0; households],
            export_kwh: vec![0.0; households],
            load_kwh: vec![0.0; households],
            pv_kwh: vec![0.0; households],
            discharge_kwh: vec![0.0; households],
            ..Recorder::default()
        }
    }

    /// Call before each step with the batch's energy (`Field::Energy`) — for the balance
    /// check — and after it with `record`.
    pub fn record(&mut self, env: &Env, energy_before: &[f64]) {
        let m = &env.m;
        let ir = &env.ir;
        let dt = ir.dt_h;
        let n = self.households;
        let t = env.t - 1;
        if self.prev_bus.len() != env.batch() {
            self.prev_bus = vec![None; env.batch()];
        }
        if t == 0 {
            self.prev_bus.iter_mut().for_each(|p| *p = None);
            self.episodes += env.batch();
        }
        let ec = ir.household_param(Field::EtaCharge);
        let ed = ir.household_param(Field::EtaDischarge);
        let cap = ir.household_param(Field::Capacity);
        let smin = ir.household_param(Field::SocMin);
        let smax = ir.household_param(Field::SocMax);
        for b in 0..env.batch() {
            let ep = &env.episodes[b];
            for i in 0..n {
                // The machine already holds the next step's inputs: read this step's.
                let l = ep.load_kw[t * n + i];
                let g = ep.pv_kw[t * n + i];
                let p = m.h(Field::BatteryKw, b, i);
                let imp = m.h(Field::ImportKw, b, i);
                let exp = m.h(Field::ExportKw, b, i);
                let bill = m.h(Field::Bill, b, i);
                let settlement = m.h(Field::Settlement, b, i);
                let e = m.h(Field::Energy, b, i);
                self.settlement += settlement;
                if t + 1 == env.steps() {
                    self.end_energy_change += e - ir.energy_start[i];
                }
                let e0 = energy_before[b * n + i];
                self.bills[i] += bill;
                self.import_kwh[i] += imp * dt;
                self.export_kwh[i] += exp * dt;
                self.load_kwh[i] += l * dt;
                self.pv_kwh[i] += g * dt;
                self.discharge_kwh[i] += (-p).max(0.0) * dt;
                self.reward_sum += m.h(Field::Reward, b, i)
                    * f64::from(env.scenario.agents.households.contains(&i) as u8);
                // Energy balance: meter and battery.
                let meter = ((l - g + p) - (imp - exp)) * dt;
                let stored = e - e0 - (ec[i] * p.max(0.0) - (-p).max(0.0) / ed[i]) * dt;
                self.max_residual_kwh = self.max_residual_kwh.max(meter.abs()).max(stored.abs());
                let tol = 1e-9 * cap[i].max(1.0);
                if e < smin[i] * cap[i] - tol || e > smax[i] * cap[i] + tol {
                    self.soc_violation = true;
                }
                if !(l + g + p + imp + exp + bill + e).is_finite() {
                    self.non_finite = true;
                }
                if let Some(tr) = self.trace.as_mut() {
                    let f = ir.feeder_of[i];
                    tr.push(TraceRow {
                        day: ep.day,
                        step: t,
                        household: env.scenario.households[i].name.clone(),
                        load_kw: l,
                        pv_kw: g,
                        battery_kw: p,
                        soc_kwh: e,
                        import_kw: imp,
                        export_kw: exp,
                        price_import: ep.price_import[t],
                        price_export: ep.price_export[t],
                        feeder: env.scenario.network.feeders[f].name.clone(),
                        feeder_flow_kw: m.fd(Field::FlowKw, b, f),
                        bill,
                        settlement,
                    });
                }
            }
            self.cost += m.s(Scalar::CommunityCost, b);
            for f in 0..ir.feeders {
                self.overload_kwh += m.fd(Field::OverloadKw, b, f) * dt;
            }
            let bus = m.s(Scalar::BusImportKw, b);
            let imp = bus.max(0.0);
            self.bus_import_sum += imp;
            self.bus_import_max = self.bus_import_max.max(imp);
            self.bus_steps += 1;
            if let Some(prev) = self.prev_bus[b] {
                self.ramping += (bus - prev).abs();
            }
            self.prev_bus[b] = Some(bus);
            if !ep.carbon.is_empty() {
                self.has_carbon = true;
                let total_import: f64 = (0..n).map(|i| m.h(Field::ImportKw, b, i)).sum();
                self.emissions += total_import * dt * ep.carbon[t];
            }
        }
    }

    pub fn kpis(&self, env: &Env) -> Kpis {
        let sum = |v: &[f64]| v.iter().sum::<f64>();
        let cap = env.ir.household_param(Field::Capacity);
        let with_battery: Vec<usize> = (0..self.households).filter(|&i| cap[i] > 0.0).collect();
        let cycles = if with_battery.is_empty() || self.episodes == 0 {
            0.0
        } else {
            with_battery
                .iter()
                .map(|&i| self.discharge_kwh[i] / cap[i])
                .sum::<f64>()
                / with_battery.len() as f64
        };
        let pv = sum(&self.pv_kwh);
        let load = sum(&self.load_kwh);
        let mean_import = if self.bus_steps > 0 {
            self.bus_import_sum / self.bus_steps as f64
        } else {
            0.0
        };
        let agents = env.scenario.agents.households.len().max(1) as f64;
        Kpis {
            cost: self.cost,
            import_kwh: sum(&self.import_kwh),
            export_kwh: sum(&self.export_kwh),
            peak_kw: self.bus_import_max,
            overload_kwh: self.overload_kwh,
            load_factor: if self.bus_import_max > 0.0 {
                mean_import / self.bus_import_max
            } else {
                0.0
            },
            ramping_kw: self.ramping,
            self_consumption: if pv > 0.0 {
                1.0 - sum(&self.export_kwh) / pv
            } else {
                0.0
            },
            self_sufficiency: if load > 0.0 {
                1.0 - sum(&self.import_kwh) / load
            } else {
                0.0
            },
            battery_cycles: cycles,
            emissions_kg: self.has_carbon.then_some(self.emissions),
            bill_gini: gini(&self.bills),
            mean_episode_reward: if self.episodes > 0 {
                self.reward_sum / agents / self.episodes as f64
            } else {
                0.0
            },
            settlement: self.settlement,
            end_energy_change_kwh: self.end_energy_change,
            episodes: self.episodes,
            bills: self.bills.clone(),
            cost_reduction_vs_greedy: None,
            gap_closed: None,
            improvement_seed_style: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Kpis {
    /// Community cost: bills + overload penalties + peak charges ($).
    pub cost: f64,
    /// Household meter totals (kWh).
    pub import_kwh: f64,
    pub export_kwh: f64,
    /// Highest import at the peak-charge (or root) bus (kW).
    pub peak_kw: f64,
    pub overload_kwh: f64,
    /// Mean / peak bus import.
    pub load_factor: f64,
    /// Σ |ΔP| of the bus's net power between consecutive steps of an episode (kW).
    pub ramping_kw: f64,
    pub self_consumption: f64,
    pub self_sufficiency: f64,
    /// Equivalent full cycles per battery: discharged energy / capacity, mean over batteries.
    pub battery_cycles: f64,
    pub emissions_kg: Option<f64>,
    pub bill_gini: f64,
    /// Mean over agents and episodes of the summed per-step reward.
    pub mean_episode_reward: f64,
    /// Σ end-of-episode settlements, inside `cost` ($; `end_energy`).
    #[serde(default)]
    pub settlement: f64,
    /// Σ over episodes and batteries of end − start stored energy (kWh).
    #[serde(default)]
    pub end_energy_change_kwh: f64,
    pub episodes: usize,
    /// Per-household bills ($), in household order (not serialised).
    #[serde(skip)]
    pub bills: Vec<f64>,
    pub cost_reduction_vs_greedy: Option<f64>,
    pub gap_closed: Option<f64>,
    /// (R − R_greedy) / |R_greedy| on mean episode reward.
    pub improvement_seed_style: Option<f64>,
}

/// Gini coefficient of (possibly negative) bills: mean absolute difference / (2 |mean|).
pub fn gini(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.is_empty() {
        return 0.0;
    }
    let mean = x.iter().sum::<f64>() / n;
    if mean.abs() < 1e-12 {
        return 0.0;
    }
    // Σ_{a,b} |a − b| = 2 Σ_i (2i − n − 1) x_(i) over the sorted values (i from 1).
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let s: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, v)| (2.0 * (i as f64 + 1.0) - n - 1.0) * v)
        .sum();
    s / (n * n * mean.abs())
}

#[cfg(test)]
mod tests {
    use super::gini;
    #[test]
    fn gini_by_hand() {
        assert_eq!(gini(&[1.0, 1.0, 1.0]), 0.0);
        // [0, 0, 3]: Σ|a−b| = 12, n² = 9, mean 1 → 12 / 18 = 2/3.
        assert!((gini(&[0.0, 0.0, 3.0]) - 2.0 / 3.0).abs() < 1e-12);
    }
}
