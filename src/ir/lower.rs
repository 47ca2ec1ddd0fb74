//! Scenario (SI) → Ir (kW, kWh, h, $). The step program is the same for every scenario;
//! only the parameter arrays and the reward expression differ.

use super::*;
use crate::model::{Experiment, RewardExpr, Scenario};

const J_PER_KWH: f64 = 3.6e6;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LowerError {
    #[error("household `{0}` has {1} batteries; the simulator supports at most one per household")]
    ManyBatteries(String, usize),
}

pub fn lower(s: &Scenario, exp: &Experiment) -> Result<Ir, LowerError> {
    let n = s.households.len();
    let mut cap = Vec::with_capacity(n);
    let mut pmax = Vec::with_capacity(n);
    let mut eta_c = Vec::with_capacity(n);
    let mut eta_d = Vec::with_capacity(n);
    let mut smin = Vec::with_capacity(n);
    let mut smax = Vec::with_capacity(n);
    let mut lo = Vec::with_capacity(n);
    let mut hi = Vec::with_capacity(n);
    let mut start = Vec::with_capacity(n);
    let control = s.agents.controls.first();
    let mut is_agent = vec![false; n];
    for &i in &s.agents.households {
        is_agent[i] = true;
    }
    for (i, h) in s.households.iter().enumerate() {
        if h.batteries.len() > 1 {
            return Err(LowerError::ManyBatteries(h.name.clone(), h.batteries.len()));
        }
        match h.batteries.first() {
            Some(b) => {
                let c = b.capacity_j / J_PER_KWH;
                cap.push(c);
                pmax.push(b.power_w / 1e3);
                eta_c.push(b.eta_charge);
                eta_d.push(b.eta_discharge);
                smin.push(b.soc_min);
                smax.push(b.soc_max);
                start.push(b.soc_start * c);
                let (l, u) = match control {
                    Some(ctl) if is_agent[i] => (ctl.low, ctl.high),
                    _ => (-1.0, 1.0),
                };
                lo.push(l);
                hi.push(u);
            }
            None => {
                cap.push(0.0);
                pmax.push(0.0);
                eta_c.push(1.0);
                eta_d.push(1.0);
                smin.push(0.0);
                smax.push(1.0);
                start.push(0.0);
                lo.push(0.0);
                hi.push(0.0);
            }
        }
    }
    let net = &s.network;
    let limit: Vec<f64> = net.feeders.iter().map(|f| f.limit_w / 1e3).collect();
    let penalty: Vec<f64> = net
        .feeders
        .iter()
        .map(|f| f.overload_penalty_per_j * J_PER_KWH)
        .collect();
    // Children before parents: order by depth, deepest first.
    let depth = |mut f: usize| {
        let mut d = 0;
        while let Some(p) = net.feeders[f].parent {
            d += 1;
            f = p;
            if d > net.feeders.len() {
                break;
            }
        }
        d
    };
    let mut order: Vec<(usize, Option<usize>)> = (0..net.feeders.len())
        .map(|f| (f, net.feeders[f].parent))
        .collect();
    order.sort_by_key(|(f, _)| std::cmp::Reverse(depth(*f)));
    let peak_bus = net
        .peak_charge
        .as_ref()
        .map(|p| p.bus)
        .unwrap_or(net.root_bus);
    let bus_feeders = (0..net.feeders.len())
        .filter(|&f| net.feeders[f].from_bus == peak_bus)
        .collect();
    let dt_h = exp.step_s / 3600.0;
    let steps_per_episode = (exp.episode_s / exp.step_s).round() as usize;
    let others = (0..n).filter(|&i| !is_agent[i] && cap[i] > 0.0).collect();
    let feeder_parent: Vec<Option<usize>> = net.feeders.iter().map(|f| f.parent).collect();
    let under_peak_bus: Vec<f64> = s
        .households
        .iter()
        .map(|h| {
            let mut feeder = Some(h.feeder);
            let mut steps = 0;
            while let Some(f) = feeder {
                if net.feeders[f].from_bus == peak_bus {
                    return 1.0;
                }
                feeder = feeder_parent[f];
                steps += 1;
                if steps > net.feeders.len() {
                    break;
                }
            }
            0.0
        })
        .collect();
    // The counterfactual terms of `marginal(net)` cost work every step: only when used.
    let marginal = s.reward.individual.uses_marginal() || s.reward.social.uses_marginal();
    let mut program = vec![
        Stage::Map(household_kernel(marginal)),
        Stage::FeederSum {
            from: Field::NetKw,
            into: Field::FlowKw,
        },
        Stage::Map(feeder_kernel()),
        Stage::BusSum {
            from: Field::FlowKw,
            into: Scalar::BusImportKw,
        },
        Stage::Total {
            from: Field::Bill,
            domain: Domain::Households,
            into: Scalar::TotalBills,
        },
        Stage::Total {
            from: Field::PenaltyCost,
            domain: Domain::Feeders,
            into: Scalar::TotalPenalty,
        },
        Stage::Map(community_kernel()),
        Stage::Map(reward_kernel(&s.reward.individual, &s.reward.social)),
    ];
    if marginal {
        let reward = program.len() - 1;
        program.insert(
            reward,
            Stage::PathOverloadDelta {
                into: Field::OverloadDelta,
            },
        );
    }
    Ok(Ir {
        households: n,
        feeders: net.feeders.len(),
        feeder_of: s.households.iter().map(|h| h.feeder).collect(),
        feeder_order: order,
        feeder_parent,
        bus_feeders,
        household_params: vec![
            (Field::Capacity, cap),
            (Field::PowerRating, pmax),
            (Field::EtaCharge, eta_c),
            (Field::EtaDischarge, eta_d),
            (Field::SocMin, smin),
            (Field::SocMax, smax),
            (Field::ActionLow, lo),
            (Field::ActionHigh, hi),
            (Field::EnergyStart, start.clone()),
            (Field::UnderPeakBus, under_peak_bus),
        ],
        feeder_params: vec![(Field::Limit, limit), (Field::Penalty, penalty)],
        others,
        energy_start: start,
        dt_h,
        steps_per_episode,
        demand_charge_per_kw_day: s.tariff.demand_charge_per_w_day.unwrap_or(0.0) * 1e3,
        peak_charge_per_kw_day: net
            .peak_charge
            .as_ref()
            .map(|p| p.rate_per_w_day * 1e3)
            .unwrap_or(0.0),
        settle_shortfall_per_kwh: exp
            .end_energy
            .map_or(0.0, |r| r.shortfall_per_j * J_PER_KWH),
        settle_surplus_per_kwh: exp.end_energy.map_or(0.0, |r| r.surplus_per_j * J_PER_KWH),
        mix: s.reward.mix,
        agents: s.agents.households.len(),
        program,
        observe: super::observe::lower_observe(s, steps_per_episode),
    })
}

/// Battery clipping, energy update, meter, bill (DESIGN §3; docs/semantics.md); with
/// `counterfactual` also the bill had the battery stayed idle (`BillIdle`).
fn household_kernel(counterfactual: bool) -> Kernel {
    let mut k = KernelBuilder::new("household", Domain::Households);
    let dt = k.scalar(Scalar::Dt);
    let zero = k.c(0.0);
    let a_raw = k.load(Field::Action);
    let lo = k.load(Field::ActionLow);
    let hi = k.load(Field::ActionHigh);
    let a_lo = k.max(a_raw, lo);
    let a = k.min(a_lo, hi);
    let pmax = k.load(Field::PowerRating);
    let cap = k.load(Field::Capacity);
    let ec = k.load(Field::EtaCharge);
    let ed = k.load(Field::EtaDischarge);
    let smin = k.load(Field::SocMin);
    let smax = k.load(Field::SocMax);
    let e = k.load(Field::Energy);
    let p = k.mul(a, pmax);
    let pc_req = k.max(p, zero);
    let np = k.neg(p);
    let pd_req = k.max(np, zero);
    // Charge room: (soc_max·E − e) / (η_c Δt); discharge room: (e − soc_min·E) η_d / Δt.
    let top = k.mul(smax, cap);
    let head = k.sub(top, e);
    let ec_dt = k.mul(ec, dt);
    let room_c_raw = k.div(head, ec_dt);
    let room_c = k.max(room_c_raw, zero);
    let bottom = k.mul(smin, cap);
    let avail = k.sub(e, bottom);
    let avail_ed = k.mul(avail, ed);
    let room_d_raw = k.div(avail_ed, dt);
    let room_d = k.max(room_d_raw, zero);
    let pc = k.min(pc_req, room_c);
    let pd = k.min(pd_req, room_d);
    // e' = e + η_c P_c Δt − P_d Δt / η_d
    let gain = k.mul(ec_dt, pc);
    let pd_dt = k.mul(pd, dt);
    let loss = k.div(pd_dt, ed);
    let e_gain = k.add(e, gain);
    let e2 = k.sub(e_gain, loss);
    let battery = k.sub(pc, pd);
    // n = L − G + P_c − P_d
    let l = k.load(Field::LoadKw);
    let g = k.load(Field::PvKw);
    let lg = k.sub(l, g);
    let n = k.add(lg, battery);
    let m = k.max(n, zero);
    let nn = k.neg(n);
    let x = k.max(nn, zero);
    // Demand charge as a running increment of the day's peak import.
    let peak = k.load(Field::PeakImportToday);
    let over = k.sub(m, peak);
    let inc = k.max(over, zero);
    let peak2 = k.max(peak, m);
    let pi = k.scalar(Scalar::PriceImport);
    let pe = k.scalar(Scalar::PriceExport);
    let dcr = k.scalar(Scalar::DemandChargeRate);
    let buy = k.mul(pi, m);
    let sell = k.mul(pe, x);
    let energy_cost = k.sub(buy, sell);
    let energy_bill = k.mul(energy_cost, dt);
    let demand = k.mul(dcr, inc);
    // End of the episode: shortfall below the start energy is charged, surplus credited
    // (docs/semantics.md § End of an episode); EpisodeEnd is 0 before the last step.
    let e0 = k.load(Field::EnergyStart);
    let below = k.sub(e0, e2);
    let short = k.max(below, zero);
    let above = k.sub(e2, e0);
    let surplus = k.max(above, zero);
    let ps = k.scalar(Scalar::SettleShortfall);
    let pu = k.scalar(Scalar::SettleSurplus);
    let charge = k.mul(ps, short);
    let credit = k.mul(pu, surplus);
    let net_settle = k.sub(charge, credit);
    let end = k.scalar(Scalar::EpisodeEnd);
    let settlement = k.mul(end, net_settle);
    let running = k.add(energy_bill, demand);
    let bill = k.add(running, settlement);
    // Runtime checks: finite results, energy inside the soc bounds (1e-9 relative slack).
    let one = k.c(1.0);
    let cap1 = k.max(cap, one);
    let eps = k.c(1e-9);
    let tol = k.mul(eps, cap1);
    let low = k.sub(bottom, tol);
    let high = k.add(top, tol);
    k.check(Check::Finite(e2));
    k.check(Check::Finite(n));
    k.check(Check::Finite(bill));
    k.check(Check::Within {
        value: e2,
        low,
        high,
    });
    k.store(Field::Energy, e2);
    k.store(Field::BatteryKw, battery);
    k.store(Field::NetKw, n);
    k.store(Field::ImportKw, m);
    k.store(Field::ExportKw, x);
    k.store(Field::PeakImportToday, peak2);
    k.store(Field::Bill, bill);
    k.store(Field::Settlement, settlement);
    if counterfactual {
        // The same meter and bill with P_c = P_d = 0: n' = L − G, e' = e.
        let m_idle = k.max(lg, zero);
        let neg_lg = k.neg(lg);
        let x_idle = k.max(neg_lg, zero);
        let over_idle = k.sub(m_idle, peak);
        let inc_idle = k.max(over_idle, zero);
        let buy_idle = k.mul(pi, m_idle);
        let sell_idle = k.mul(pe, x_idle);
        let cost_idle = k.sub(buy_idle, sell_idle);
        let energy_idle = k.mul(cost_idle, dt);
        let demand_idle = k.mul(dcr, inc_idle);
        let below_idle = k.sub(e0, e);
        let short_idle = k.max(below_idle, zero);
        let above_idle = k.sub(e, e0);
        let surplus_idle = k.max(above_idle, zero);
        let charge_idle = k.mul(ps, short_idle);
        let credit_idle = k.mul(pu, surplus_idle);
        let settle_idle = k.sub(charge_idle, credit_idle);
        let settlement_idle = k.mul(end, settle_idle);
        let running_idle = k.add(energy_idle, demand_idle);
        let bill_idle = k.add(running_idle, settlement_idle);
        k.store(Field::BillIdle, bill_idle);
    }
    k.finish()
}

/// Overload O = max(|F| − limit, 0) and its penalty cost.
fn feeder_kernel() -> Kernel {
    let mut k = KernelBuilder::new("feeder", Domain::Feeders);
    let dt = k.scalar(Scalar::Dt);
    let zero = k.c(0.0);
    let f = k.load(Field::FlowKw);
    let limit = k.load(Field::Limit);
    let pen = k.load(Field::Penalty);
    let af = k.abs(f);
    let over = k.sub(af, limit);
    let o = k.max(over, zero);
    let po = k.mul(pen, o);
    let cost = k.mul(po, dt);
    k.check(Check::Finite(o));
    k.store(Field::OverloadKw, o);
    k.store(Field::PenaltyCost, cost);
    k.finish()
}

/// Community cost: bills + overload penalties + the peak charge's running increment.
fn community_kernel() -> Kernel {
    let mut k = KernelBuilder::new("community", Domain::Community);
    let zero = k.c(0.0);
    let net = k.scalar(Scalar::BusImportKw);
    let imp = k.max(net, zero);
    let pk = k.scalar(Scalar::PeakToday);
    let over = k.sub(imp, pk);
    let up = k.max(over, zero);
    let rate = k.scalar(Scalar::PeakChargeRate);
    let inc = k.mul(rate, up);
    let pk2 = k.max(pk, imp);
    let bills = k.scalar(Scalar::TotalBills);
    let pen = k.scalar(Scalar::TotalPenalty);
    let bp = k.add(bills, pen);
    let c = k.add(bp, inc);
    k.store_scalar(Scalar::PeakToday, pk2);
    k.store_scalar(Scalar::PeakBefore, pk);
    k.store_scalar(Scalar::PeakIncrement, inc);
    k.store_scalar(Scalar::CommunityCost, c);
    k.finish()
}

/// r = (1 − mix)·individual + mix·social.
pub fn reward_kernel(individual: &RewardExpr, social: &RewardExpr) -> Kernel {
    let mut k = KernelBuilder::new("reward", Domain::Households);
    // `externality` updates a running state, so it is emitted once however often it occurs.
    let mut externality = None;
    let ind = reward_expr(&mut k, individual, &mut externality);
    let soc = reward_expr(&mut k, social, &mut externality);
    let mix = k.scalar(Scalar::Mix);
    let one = k.c(1.0);
    let w = k.sub(one, mix);
    let a = k.mul(w, ind);
    let b = k.mul(mix, soc);
    let r = k.add(a, b);
    k.check(Check::Finite(r));
    k.store(Field::Reward, r);
    k.finish()
}

fn reward_expr(k: &mut KernelBuilder, e: &RewardExpr, externality_v: &mut Option<V>) -> V {
    match e {
        RewardExpr::Const(c) => k.c(*c),
        RewardExpr::Bill => k.load(Field::Bill),
        RewardExpr::Cost => k.scalar(Scalar::CommunityCost),
        RewardExpr::Peak => k.scalar(Scalar::PeakIncrement),
        RewardExpr::Marginal => {
            let own = own_bill_difference(k);
            let overload = k.load(Field::OverloadDelta);
            let peak = peak_difference_this_step(k);
            let shared = k.add(overload, peak);
            k.add(own, shared)
        }
        RewardExpr::Externality => *externality_v.get_or_insert_with(|| externality(k)),
        RewardExpr::Neg(a) => {
            let a = reward_expr(k, a, externality_v);
            k.neg(a)
        }
        RewardExpr::Add(a, b)
        | RewardExpr::Sub(a, b)
        | RewardExpr::Mul(a, b)
        | RewardExpr::Div(a, b) => {
            let x = reward_expr(k, a, externality_v);
            let y = reward_expr(k, b, externality_v);
            match e {
                RewardExpr::Add(..) => k.add(x, y),
                RewardExpr::Sub(..) => k.sub(x, y),
                RewardExpr::Mul(..) => k.mul(x, y),
                _ => k.div(x, y),
            }
        }
    }
}

/// b_i − b'_i: this household's bill minus its bill had its battery stayed idle.
fn own_bill_difference(k: &mut KernelBuilder) -> V {
    let bill = k.load(Field::Bill);
    let bill_idle = k.load(Field::BillIdle);
    k.sub(bill, bill_idle)
}

/// The shared costs with this household's battery minus those in the world where it
/// stayed idle all day (everyone else acting as they did): this step's path overload
/// difference (`Stage::PathOverloadDelta`; overloads are per step, so idle this step and
/// idle all day agree) plus the peak charge increment minus the increment of that
/// world's running peak, `PeakWithoutMe` (updated here). Summed over a day the peak
/// part is rate · (the day's peak − the peak without this battery).
fn externality(k: &mut KernelBuilder) -> V {
    let overload = k.load(Field::OverloadDelta);
    let peak_without = k.load(Field::PeakWithoutMe);
    let (inc_idle, import_idle) = idle_peak_increment(k, peak_without);
    let peak_without_next = k.max(peak_without, import_idle);
    k.store(Field::PeakWithoutMe, peak_without_next);
    let inc = k.scalar(Scalar::PeakIncrement);
    let peak = k.sub(inc, inc_idle);
    k.add(overload, peak)
}

/// The per-step peak term of C − C₋ᵢ: the increment minus the one had this household's
/// battery been idle this step, against the same running peak.
fn peak_difference_this_step(k: &mut KernelBuilder) -> V {
    let before = k.scalar(Scalar::PeakBefore);
    let (inc_idle, _) = idle_peak_increment(k, before);
    let inc = k.scalar(Scalar::PeakIncrement);
    k.sub(inc, inc_idle)
}

/// (the peak charge increment over the running peak `peak`, the bus import) with the
/// bus import less this household's battery power if it sits under the peak-charge bus.
fn idle_peak_increment(k: &mut KernelBuilder, peak: V) -> (V, V) {
    let zero = k.c(0.0);
    let battery = k.load(Field::BatteryKw);
    let under = k.load(Field::UnderPeakBus);
    let bus = k.scalar(Scalar::BusImportKw);
    let rate = k.scalar(Scalar::PeakChargeRate);
    let mine = k.mul(under, battery);
    let bus_idle = k.sub(bus, mine);
    let import_idle = k.max(bus_idle, zero);
    let rise_idle = k.sub(import_idle, peak);
    let up_idle = k.max(rise_idle, zero);
    (k.mul(rate, up_idle), import_idle)
}
