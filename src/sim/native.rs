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

/// Agents per block of [`observe`]: a block's rows (64 × obs_dim f32) stay in L1 across
/// the column passes.
const AGENT_BLOCK: usize = 64;

/// Observations `batch × agents × obs_dim` (same values as `Env::observe`). Per
/// environment and block of agents, column by column: each pass is a tight strided loop
/// without dispatch (the shared values a broadcast store, the own series a strided copy,
/// soc a division).
pub fn observe(p: &ObsProgram, a: &ObsArgs, out: &mut Vec<f32>) {
    let (na, dim, len, batch) = (p.agent_house.len(), p.obs_dim, p.series_len, a.batch);
    let n = a.capacity.len();
    let nf = a.last_flow.len().checked_div(batch).unwrap_or(0);
    let n_env = p.env_series.len();
    if out.len() != batch * na * dim {
        out.clear();
        out.resize(batch * na * dim, 0.0);
    }
    if dim == 0 {
        return;
    }
    let dense = p.dense();
    for b in 0..batch {
        let env = &a.inputs.env[b * n_env * len..(b + 1) * n_env * len];
        let energy = &a.energy[b * n..(b + 1) * n];
        let net = &a.last_net[b * n..(b + 1) * n];
        let flow = &a.last_flow[b * nf..(b + 1) * nf];
        let rows_b = &mut out[b * na * dim..(b + 1) * na * dim];
        for (blk, rows) in rows_b.chunks_mut(AGENT_BLOCK * dim).enumerate() {
            let a0 = blk * AGENT_BLOCK;
            let a1 = a0 + rows.len() / dim;
            let houses = &p.agent_house[a0..a1];
            for (col, c) in p.columns.iter().enumerate() {
                let mut set = |v: &mut dyn FnMut(usize) -> f32| {
                    for (i, o) in rows.chunks_exact_mut(dim).enumerate() {
                        o[col] = v(i);
                    }
                };
                match *c {
                    ObsColumn::Env { series, offset } => {
                        let v = env[series * len + a.t + offset] as f32;
                        for o in rows.chunks_exact_mut(dim) {
                            o[col] = v;
                        }
                    }
                    ObsColumn::FeederFlowLast(f) => {
                        let v = flow[f] as f32;
                        for o in rows.chunks_exact_mut(dim) {
                            o[col] = v;
                        }
                    }
                    ObsColumn::BusLast => {
                        let v = a.last_bus[b] as f32;
                        for o in rows.chunks_exact_mut(dim) {
                            o[col] = v;
                        }
                    }
                    ObsColumn::BusPeakToday => {
                        let v = a.peak_today[b] as f32;
                        for o in rows.chunks_exact_mut(dim) {
                            o[col] = v;
                        }
                    }
                    ObsColumn::Agent { series, offset } => {
                        let start = ((series * batch + b) * len + a.t + offset) * na;
                        let src = &a.inputs.agent[start + a0..start + a1];
                        for (o, v) in rows.chunks_exact_mut(dim).zip(src) {
                            o[col] = *v as f32;
                        }
                    }
                    ObsColumn::Soc if dense => {
                        let caps = &a.capacity[a0..a1];
                        for ((o, e), cap) in
                            rows.chunks_exact_mut(dim).zip(&energy[a0..a1]).zip(caps)
                        {
                            o[col] = if *cap > 0.0 { (e / cap) as f32 } else { 0.0 };
                        }
                    }
                    ObsColumn::Soc => set(&mut |i| {
                        let h = houses[i];
                        let cap = a.capacity[h];
                        if cap > 0.0 {
                            (energy[h] / cap) as f32
                        } else {
                            0.0
                        }
                    }),
                    ObsColumn::NetLast => set(&mut |i| net[houses[i]] as f32),
                    ObsColumn::OwnFeederFlowLast => {
                        set(&mut |i| flow[p.agent_feeder[a0 + i]] as f32)
                    }
                    ObsColumn::Messages => {}
                }
            }
        }
    }
}

/// One step of every environment; same contract as `Machine::step` (returns error flags).
/// Per environment: the household loop over slices of exactly `n` elements (no bounds
/// checks, no dispatch), the feeder sums and the community terms while the row is in
/// cache, then the rewards.
pub fn step(m: &mut Machine, ir: &Ir) -> u32 {
    let (n, nf, batch) = (m.households, m.feeders, m.batch);
    let h = |f: Field| f as usize;
    // The arrays the step writes, taken out of the machine for the step (disjoint
    // mutable borrows next to the read-only parameters).
    let outs = [
        Field::Energy,
        Field::PeakImportToday,
        Field::BatteryKw,
        Field::NetKw,
        Field::ImportKw,
        Field::ExportKw,
        Field::Bill,
        Field::Settlement,
        Field::Reward,
    ];
    let mut taken: Vec<Vec<f64>> = outs
        .iter()
        .map(|f| std::mem::take(&mut m.house[h(*f)]))
        .collect();
    let flags = match &mut taken[..] {
        [energy, peak, battery, net, import, export, bill, settlement, reward] => {
            let mut flags = 0u32;
            for b in 0..batch {
                flags |= env_step(
                    m,
                    ir,
                    b,
                    Rows {
                        energy: &mut energy[b * n..(b + 1) * n],
                        peak: &mut peak[b * n..(b + 1) * n],
                        battery: &mut battery[b * n..(b + 1) * n],
                        net: &mut net[b * n..(b + 1) * n],
                        import: &mut import[b * n..(b + 1) * n],
                        export: &mut export[b * n..(b + 1) * n],
                        bill: &mut bill[b * n..(b + 1) * n],
                        settlement: &mut settlement[b * n..(b + 1) * n],
                        reward: &mut reward[b * n..(b + 1) * n],
                    },
                    nf,
                );
            }
            flags
        }
        _ => 0,
    };
    for (f, v) in outs.iter().zip(taken) {
        m.house[h(*f)] = v;
    }
    flags
}

/// One environment's household outputs.
struct Rows<'a> {
    energy: &'a mut [f64],
    peak: &'a mut [f64],
    battery: &'a mut [f64],
    net: &'a mut [f64],
    import: &'a mut [f64],
    export: &'a mut [f64],
    bill: &'a mut [f64],
    settlement: &'a mut [f64],
    reward: &'a mut [f64],
}

fn env_step(m: &mut Machine, ir: &Ir, b: usize, o: Rows, nf: usize) -> u32 {
    let n = o.energy.len();
    let mut flags = 0u32;
    let sel_min = |a: f64, b: f64| if a < b { a } else { b };
    let sel_max = |a: f64, b: f64| if a > b { a } else { b };
    let sc = |s: Scalar| m.scalar[s as usize][b];
    let (dt, pi, pe, dcr) = (
        sc(Scalar::Dt),
        sc(Scalar::PriceImport),
        sc(Scalar::PriceExport),
        sc(Scalar::DemandChargeRate),
    );
    let row = |f: Field| &m.house[f as usize][b * n..(b + 1) * n];
    let (act, lo, hi) = (
        row(Field::Action),
        row(Field::ActionLow),
        row(Field::ActionHigh),
    );
    let (pmax_r, cap_r) = (row(Field::PowerRating), row(Field::Capacity));
    let (ec_r, ed_r) = (row(Field::EtaCharge), row(Field::EtaDischarge));
    let (smin_r, smax_r) = (row(Field::SocMin), row(Field::SocMax));
    let (load, pv) = (row(Field::LoadKw), row(Field::PvKw));
    let start = row(Field::EnergyStart);
    let (end, ps, pu) = (
        sc(Scalar::EpisodeEnd),
        sc(Scalar::SettleShortfall),
        sc(Scalar::SettleSurplus),
    );
    let mut bills = -0.0; // `Iterator::sum` starts at −0.0: same bits as the interpreter
    for i in 0..n {
        let a = sel_min(sel_max(act[i], lo[i]), hi[i]);
        let (pmax, cap, ec, ed) = (pmax_r[i], cap_r[i], ec_r[i], ed_r[i]);
        let e = o.energy[i];
        let p = a * pmax;
        let pc_req = sel_max(p, 0.0);
        let pd_req = sel_max(-p, 0.0);
        let top = smax_r[i] * cap;
        let ec_dt = ec * dt;
        let room_c = sel_max((top - e) / ec_dt, 0.0);
        let bottom = smin_r[i] * cap;
        let room_d = sel_max((e - bottom) * ed / dt, 0.0);
        let pc = sel_min(pc_req, room_c);
        let pd = sel_min(pd_req, room_d);
        let e2 = e + ec_dt * pc - pd * dt / ed;
        let battery = pc - pd;
        let n_kw = load[i] - pv[i] + battery;
        let imp = sel_max(n_kw, 0.0);
        let exp = sel_max(-n_kw, 0.0);
        let peak = o.peak[i];
        let inc = sel_max(imp - peak, 0.0);
        let settlement =
            end * (ps * sel_max(start[i] - e2, 0.0) - pu * sel_max(e2 - start[i], 0.0));
        let bill = (pi * imp - pe * exp) * dt + dcr * inc + settlement;
        let tol = 1e-9 * sel_max(cap, 1.0);
        if !e2.is_finite() || !n_kw.is_finite() || !bill.is_finite() {
            flags |= crate::ir::FLAG_NON_FINITE;
        }
        if !(e2 >= bottom - tol && e2 <= top + tol) {
            flags |= crate::ir::FLAG_SOC_BOUNDS;
        }
        o.energy[i] = e2;
        o.battery[i] = battery;
        o.net[i] = n_kw;
        o.import[i] = imp;
        o.export[i] = exp;
        o.peak[i] = sel_max(peak, imp);
        o.bill[i] = bill;
        o.settlement[i] = settlement;
        bills += bill;
    }
    // Feeder flows: own households, then children into parents.
    let ff = |f: Field| f as usize;
    let flow = &mut m.feed[ff(Field::FlowKw)][b * nf..(b + 1) * nf];
    flow.fill(0.0);
    for (v, &f) in o.net.iter().zip(&ir.feeder_of) {
        flow[f] += v;
    }
    for (f, parent) in &ir.feeder_order {
        if let Some(p) = parent {
            flow[*p] += flow[*f];
        }
    }
    let mut penalty = -0.0;
    for j in b * nf..(b + 1) * nf {
        let f = m.feed[ff(Field::FlowKw)][j];
        let o = sel_max(f.abs() - m.feed[ff(Field::Limit)][j], 0.0);
        if !o.is_finite() {
            flags |= crate::ir::FLAG_NON_FINITE;
        }
        let cost = m.feed[ff(Field::Penalty)][j] * o * dt;
        m.feed[ff(Field::OverloadKw)][j] = o;
        m.feed[ff(Field::PenaltyCost)][j] = cost;
        penalty += cost;
    }
    let bus: f64 = ir
        .bus_feeders
        .iter()
        .map(|&f| m.feed[ff(Field::FlowKw)][b * nf + f])
        .sum();
    let imp = sel_max(bus, 0.0);
    let pk = m.scalar[Scalar::PeakToday as usize][b];
    let inc = m.scalar[Scalar::PeakChargeRate as usize][b] * sel_max(imp - pk, 0.0);
    let cost = bills + penalty + inc;
    let s = &mut m.scalar;
    s[Scalar::BusImportKw as usize][b] = bus;
    s[Scalar::TotalBills as usize][b] = bills;
    s[Scalar::TotalPenalty as usize][b] = penalty;
    s[Scalar::PeakToday as usize][b] = sel_max(pk, imp);
    s[Scalar::PeakBefore as usize][b] = pk;
    s[Scalar::PeakIncrement as usize][b] = inc;
    s[Scalar::CommunityCost as usize][b] = cost;
    let mix = s[Scalar::Mix as usize][b];
    let count = s[Scalar::Count as usize][b];
    let soc = -cost / count;
    let mut bad = false;
    for (r, bill) in o.reward.iter_mut().zip(o.bill.iter()) {
        let ind = -*bill;
        *r = (1.0 - mix) * ind + mix * soc;
        bad |= !r.is_finite();
    }
    if bad {
        flags |= crate::ir::FLAG_NON_FINITE;
    }
    flags
}
