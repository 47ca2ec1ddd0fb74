//! A hand-written Rust step for the reference model (community16's features: one battery
//! per household, feeders in a tree, overload penalty, daily peak charge, reward
//! (1 − mix)·(−bill) + mix·(−cost / N)). Written as a performance engineer would: struct of
//! arrays, no allocation per step, no dispatch. It is a benchmark reference and a third
//! differential oracle (bit-identical to the interpreter: same operations in the same
//! order). It does not implement demand charges, custom reward expressions or messages.
//!
//! `observe` is the hand-written observation assembly for the same model: per
//! environment it rounds the values every agent shares (time, prices and forecasts,
//! named feeders' last flow) once into a template row, then per agent copies the row and
//! fills in the agent's own columns.

use super::interp::Machine;
use super::jit::ObsArgs;
use crate::ir::{Field, Ir, ObsColumn, ObsProgram, Scalar};

/// Can `step` and `observe` run this IR? (No demand charge; the reward
/// `-bill(self)` ↔ `-cost(net) / count` with count = the number of agents; no messages.)
pub fn supports(ir: &Ir) -> bool {
    use crate::model::RewardExpr as R;
    let reference = crate::ir::lower::reward_kernel(
        &R::Neg(Box::new(R::Bill)),
        &R::Div(
            Box::new(R::Neg(Box::new(R::Cost))),
            Box::new(R::Const(ir.agents as f64)),
        ),
    );
    ir.demand_charge_per_kw_day == 0.0
        && ir.observe.messages == 0
        && ir.program.last() == Some(&crate::ir::Stage::Map(reference))
}

/// Observations `batch × agents × obs_dim` (same values as `Env::observe`).
pub fn observe(p: &ObsProgram, a: &ObsArgs, out: &mut Vec<f32>) {
    let (na, dim, len, batch) = (p.agent_house.len(), p.obs_dim, p.series_len, a.batch);
    let n = a.capacity.len();
    let nf = if batch > 0 {
        a.last_flow.len() / batch
    } else {
        0
    };
    let n_env = p.env_series.len();
    out.clear();
    out.resize(batch * na * dim, 0.0);
    // Columns that differ per agent, with their position in the row.
    let own: Vec<(usize, ObsColumn)> = p
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            !matches!(
                c,
                ObsColumn::Env { .. } | ObsColumn::FeederFlowLast(_) | ObsColumn::BusLast
            )
        })
        .map(|(i, c)| (i, *c))
        .collect();
    let mut row = vec![0.0f32; dim];
    for b in 0..batch {
        let env = &a.inputs.env[b * n_env * len..(b + 1) * n_env * len];
        for (slot, c) in row.iter_mut().zip(&p.columns) {
            *slot = match *c {
                ObsColumn::Env { series, offset } => env[series * len + a.t + offset] as f32,
                ObsColumn::FeederFlowLast(f) => a.last_flow[b * nf + f] as f32,
                ObsColumn::BusLast => a.last_bus[b] as f32,
                _ => 0.0,
            };
        }
        let energy = &a.energy[b * n..(b + 1) * n];
        let net = &a.last_net[b * n..(b + 1) * n];
        let flow = &a.last_flow[b * nf..(b + 1) * nf];
        let out_b = &mut out[b * na * dim..(b + 1) * na * dim];
        for (i, o) in out_b.chunks_exact_mut(dim.max(1)).enumerate().take(na) {
            o.copy_from_slice(&row);
            let h = p.agent_house[i];
            for &(col, c) in &own {
                o[col] = match c {
                    ObsColumn::Agent { series, offset } => {
                        let k = a.t + offset;
                        a.inputs.agent[((series * batch + b) * len + k) * na + i] as f32
                    }
                    ObsColumn::Soc => {
                        let cap = a.capacity[h];
                        if cap > 0.0 {
                            (energy[h] / cap) as f32
                        } else {
                            0.0
                        }
                    }
                    ObsColumn::NetLast => net[h] as f32,
                    ObsColumn::OwnFeederFlowLast => flow[p.agent_feeder[i]] as f32,
                    _ => 0.0,
                };
            }
        }
    }
}

/// One step of every environment; same contract as `Machine::step` (returns error flags).
pub fn step(m: &mut Machine, ir: &Ir) -> u32 {
    let (n, nf, batch) = (m.households, m.feeders, m.batch);
    let mut flags = 0u32;
    let sel_min = |a: f64, b: f64| if a < b { a } else { b };
    let sel_max = |a: f64, b: f64| if a > b { a } else { b };
    let h = |f: Field| f as usize;
    for b in 0..batch {
        let dt = m.scalar[Scalar::Dt as usize][b];
        let pi = m.scalar[Scalar::PriceImport as usize][b];
        let pe = m.scalar[Scalar::PriceExport as usize][b];
        let dcr = m.scalar[Scalar::DemandChargeRate as usize][b];
        let r = b * n..(b + 1) * n;
        for i in r {
            let hv = &m.house;
            let a = sel_min(
                sel_max(hv[h(Field::Action)][i], hv[h(Field::ActionLow)][i]),
                hv[h(Field::ActionHigh)][i],
            );
            let pmax = hv[h(Field::PowerRating)][i];
            let cap = hv[h(Field::Capacity)][i];
            let ec = hv[h(Field::EtaCharge)][i];
            let ed = hv[h(Field::EtaDischarge)][i];
            let smin = hv[h(Field::SocMin)][i];
            let smax = hv[h(Field::SocMax)][i];
            let e = hv[h(Field::Energy)][i];
            let p = a * pmax;
            let pc_req = sel_max(p, 0.0);
            let pd_req = sel_max(-p, 0.0);
            let top = smax * cap;
            let ec_dt = ec * dt;
            let room_c = sel_max((top - e) / ec_dt, 0.0);
            let bottom = smin * cap;
            let room_d = sel_max((e - bottom) * ed / dt, 0.0);
            let pc = sel_min(pc_req, room_c);
            let pd = sel_min(pd_req, room_d);
            let e2 = e + ec_dt * pc - pd * dt / ed;
            let battery = pc - pd;
            let n_kw = hv[h(Field::LoadKw)][i] - hv[h(Field::PvKw)][i] + battery;
            let imp = sel_max(n_kw, 0.0);
            let exp = sel_max(-n_kw, 0.0);
            let peak = hv[h(Field::PeakImportToday)][i];
            let inc = sel_max(imp - peak, 0.0);
            let peak2 = sel_max(peak, imp);
            let bill = (pi * imp - pe * exp) * dt + dcr * inc;
            let tol = 1e-9 * sel_max(cap, 1.0);
            if !e2.is_finite() || !n_kw.is_finite() || !bill.is_finite() {
                flags |= crate::ir::FLAG_NON_FINITE;
            }
            if !(e2 >= bottom - tol && e2 <= top + tol) {
                flags |= crate::ir::FLAG_SOC_BOUNDS;
            }
            let hv = &mut m.house;
            hv[h(Field::Energy)][i] = e2;
            hv[h(Field::BatteryKw)][i] = battery;
            hv[h(Field::NetKw)][i] = n_kw;
            hv[h(Field::ImportKw)][i] = imp;
            hv[h(Field::ExportKw)][i] = exp;
            hv[h(Field::PeakImportToday)][i] = peak2;
            hv[h(Field::Bill)][i] = bill;
        }
        // Feeder flows: own households, then children into parents.
        let flow = &mut m.feed[h(Field::FlowKw)][b * nf..(b + 1) * nf];
        flow.fill(0.0);
        let net = &m.house[h(Field::NetKw)][b * n..(b + 1) * n];
        for (i, v) in net.iter().enumerate() {
            flow[ir.feeder_of[i]] += v;
        }
        for (f, parent) in &ir.feeder_order {
            if let Some(p) = parent {
                flow[*p] += flow[*f];
            }
        }
        for j in b * nf..(b + 1) * nf {
            let f = m.feed[h(Field::FlowKw)][j];
            let o = sel_max(f.abs() - m.feed[h(Field::Limit)][j], 0.0);
            if !o.is_finite() {
                flags |= crate::ir::FLAG_NON_FINITE;
            }
            m.feed[h(Field::OverloadKw)][j] = o;
            m.feed[h(Field::PenaltyCost)][j] = m.feed[h(Field::Penalty)][j] * o * dt;
        }
        let bus: f64 = ir
            .bus_feeders
            .iter()
            .map(|&f| m.feed[h(Field::FlowKw)][b * nf + f])
            .sum();
        let bills: f64 = m.house[h(Field::Bill)][b * n..(b + 1) * n].iter().sum();
        let penalty: f64 = m.feed[h(Field::PenaltyCost)][b * nf..(b + 1) * nf]
            .iter()
            .sum();
        let imp = sel_max(bus, 0.0);
        let pk = m.scalar[Scalar::PeakToday as usize][b];
        let inc = m.scalar[Scalar::PeakChargeRate as usize][b] * sel_max(imp - pk, 0.0);
        let cost = bills + penalty + inc;
        m.scalar[Scalar::BusImportKw as usize][b] = bus;
        m.scalar[Scalar::TotalBills as usize][b] = bills;
        m.scalar[Scalar::TotalPenalty as usize][b] = penalty;
        m.scalar[Scalar::PeakToday as usize][b] = sel_max(pk, imp);
        m.scalar[Scalar::PeakIncrement as usize][b] = inc;
        m.scalar[Scalar::CommunityCost as usize][b] = cost;
        let mix = m.scalar[Scalar::Mix as usize][b];
        let count = m.scalar[Scalar::Count as usize][b];
        for i in b * n..(b + 1) * n {
            let ind = -m.house[h(Field::Bill)][i];
            let soc = -cost / count;
            let r = (1.0 - mix) * ind + mix * soc;
            if !r.is_finite() {
                flags |= crate::ir::FLAG_NON_FINITE;
            }
            m.house[h(Field::Reward)][i] = r;
        }
    }
    flags
}
