//! The perfect-foresight optimum: one linear program per episode over every household's
//! battery schedule, minimising the community cost with the same physics as the
//! interpreter (docs/semantics.md): charge/discharge ≥ 0 with efficiencies, soc bounds,
//! the same start soc; overload, the daily bus peak and daily demand peaks as epigraph
//! variables. Solved with clarabel (pure-Rust interior point; measured fastest in
//! ../shared/DEPENDENCIES.md). `selfish` drops the community terms: each household
//! minimises its own bill; its community cost (by replay) gives the price of anarchy.
//! The end-of-episode settlement enters as one shortfall and one surplus variable per
//! household; households no agent controls are not optimised: their battery power is
//! given (`others_kw`, what their fixed policy does), as the environment applies it.

use crate::ir::{Field, Ir};
use crate::sim::episode::Episode;
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LpError {
    #[error("the LP solver did not converge on day {day}: {status}")]
    NotSolved { day: u32, status: String },
    #[error("the LP solver rejected the problem: {0}")]
    Setup(String),
}

/// An optimal schedule for one episode.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Actions `steps × households` (fraction of rated power, + = charge).
    pub actions: Vec<f64>,
    /// The LP's objective ($).
    pub objective: f64,
}

const PC: usize = 0;
const PD: usize = 1;
const E: usize = 2;
const M: usize = 3;
const X: usize = 4;
const PER: usize = 5;

struct Builder {
    rows_eq: Vec<(Vec<(usize, f64)>, f64)>,
    rows_le: Vec<(Vec<(usize, f64)>, f64)>,
}

/// Solve one episode. `community = false` gives the selfish optimum. `others_kw` is the
/// battery power (kW, + = charge) of `ir.others` per step, `steps × ir.others.len()`
/// (see `baselines::others_power`).
pub fn solve(
    ir: &Ir,
    ep: &Episode,
    community: bool,
    others_kw: &[f64],
) -> Result<Schedule, LpError> {
    let n = ir.households;
    let steps = ir.steps_per_episode;
    if others_kw.len() != steps * ir.others.len() {
        return Err(LpError::Setup(format!(
            "the fixed power of the {} households no agent controls covers {} values, not {} steps × {}",
            ir.others.len(),
            others_kw.len(),
            steps,
            ir.others.len()
        )));
    }
    let nf = ir.feeders;
    let dt = ir.dt_h;
    let steps_per_day = ((24.0 / dt).round() as usize).max(1);
    let days = steps.div_ceil(steps_per_day);
    let cap = ir.household_param(Field::Capacity);
    let pmax = ir.household_param(Field::PowerRating);
    let ec = ir.household_param(Field::EtaCharge);
    let ed = ir.household_param(Field::EtaDischarge);
    let smin = ir.household_param(Field::SocMin);
    let smax = ir.household_param(Field::SocMax);
    let limit = ir.feeder_param(Field::Limit);
    let penalty = ir.feeder_param(Field::Penalty);

    let v = |t: usize, i: usize, k: usize| (t * n + i) * PER + k;
    let base_o = steps * n * PER;
    let o = |t: usize, f: usize| base_o + t * nf + f;
    let base_pk = base_o + if community { steps * nf } else { 0 };
    let pk = |d: usize| base_pk + d;
    let base_dc = base_pk + if community { days } else { 0 };
    let use_demand = ir.demand_charge_per_kw_day > 0.0;
    let dcv = |d: usize, i: usize| base_dc + d * n + i;
    let base_settle = base_dc + if use_demand { days * n } else { 0 };
    let (p_short, p_surplus) = (ir.settle_shortfall_per_kwh, ir.settle_surplus_per_kwh);
    let settle = p_short > 0.0 || p_surplus > 0.0;
    // Shortfall and surplus of household i's end energy against its start.
    let short = |i: usize| base_settle + 2 * i;
    let surplus = |i: usize| base_settle + 2 * i + 1;
    let nvars = base_settle + if settle { 2 * n } else { 0 };

    let mut q = vec![0.0; nvars];
    let mut b = Builder {
        rows_eq: Vec::new(),
        rows_le: Vec::new(),
    };
    // Households in each feeder's subtree (own + downstream feeders).
    let mut subtree: Vec<Vec<usize>> = vec![Vec::new(); nf];
    for i in 0..n {
        let mut f = Some(ir.feeder_of[i]);
        let mut guard = 0;
        while let Some(g) = f {
            subtree[g].push(i);
            f = ir
                .feeder_order
                .iter()
                .find(|(x, _)| *x == g)
                .and_then(|(_, p)| *p);
            guard += 1;
            if guard > nf {
                break;
            }
        }
    }
    let bus_households: Vec<usize> = ir
        .bus_feeders
        .iter()
        .flat_map(|&f| subtree[f].iter().copied())
        .collect();

    for t in 0..steps {
        let (pi, pe) = (ep.price_import[t], ep.price_export[t]);
        let d = t / steps_per_day;
        for i in 0..n {
            q[v(t, i, M)] = pi * dt;
            q[v(t, i, X)] = -pe * dt;
            // e_t − e_{t−1} − η_c Δt pc + Δt/η_d pd = 0
            let mut row = vec![
                (v(t, i, E), 1.0),
                (v(t, i, PC), -ec[i] * dt),
                (v(t, i, PD), dt / ed[i]),
            ];
            let rhs = if t == 0 { ir.energy_start[i] } else { 0.0 };
            if t > 0 {
                row.push((v(t - 1, i, E), -1.0));
            }
            b.rows_eq.push((row, rhs));
            // m − x − pc + pd = L − G
            let lg = ep.load_kw[t * n + i] - ep.pv_kw[t * n + i];
            b.rows_eq.push((
                vec![
                    (v(t, i, M), 1.0),
                    (v(t, i, X), -1.0),
                    (v(t, i, PC), -1.0),
                    (v(t, i, PD), 1.0),
                ],
                lg,
            ));
            // Bounds.
            b.rows_le.push((vec![(v(t, i, PC), 1.0)], pmax[i]));
            b.rows_le.push((vec![(v(t, i, PD), 1.0)], pmax[i]));
            b.rows_le.push((vec![(v(t, i, E), 1.0)], smax[i] * cap[i]));
            b.rows_le
                .push((vec![(v(t, i, E), -1.0)], -smin[i] * cap[i]));
            for k in [PC, PD, M, X] {
                b.rows_le.push((vec![(v(t, i, k), -1.0)], 0.0));
            }
            // Keep the LP bounded even where export pays more than import.
            b.rows_le
                .push((vec![(v(t, i, M), 1.0)], ep.load_kw[t * n + i] + pmax[i]));
            b.rows_le
                .push((vec![(v(t, i, X), 1.0)], ep.pv_kw[t * n + i] + pmax[i]));
            if use_demand {
                b.rows_le
                    .push((vec![(v(t, i, M), 1.0), (dcv(d, i), -1.0)], 0.0));
            }
        }
        if community {
            for f in 0..nf {
                q[o(t, f)] = penalty[f] * dt;
                let flow = |sign: f64| {
                    let mut r: Vec<(usize, f64)> = subtree[f]
                        .iter()
                        .flat_map(|&i| [(v(t, i, M), sign), (v(t, i, X), -sign)])
                        .collect();
                    r.push((o(t, f), -1.0));
                    r
                };
                b.rows_le.push((flow(1.0), limit[f]));
                b.rows_le.push((flow(-1.0), limit[f]));
                b.rows_le.push((vec![(o(t, f), -1.0)], 0.0));
            }
            // Bus import ≤ daily peak.
            let mut r: Vec<(usize, f64)> = bus_households
                .iter()
                .flat_map(|&i| [(v(t, i, M), 1.0), (v(t, i, X), -1.0)])
                .collect();
            r.push((pk(d), -1.0));
            b.rows_le.push((r, 0.0));
        }
    }
    // Households no agent controls do what their fixed policy does.
    for (j, &i) in ir.others.iter().enumerate() {
        for t in 0..steps {
            let p = others_kw[t * ir.others.len() + j];
            b.rows_eq.push((vec![(v(t, i, PC), 1.0)], p.max(0.0)));
            b.rows_eq.push((vec![(v(t, i, PD), 1.0)], (-p).max(0.0)));
        }
    }
    // End of the episode: e_last − surplus + shortfall = e_start.
    if settle && steps > 0 {
        for i in 0..n {
            q[short(i)] = p_short;
            q[surplus(i)] = -p_surplus;
            b.rows_eq.push((
                vec![
                    (v(steps - 1, i, E), 1.0),
                    (surplus(i), -1.0),
                    (short(i), 1.0),
                ],
                ir.energy_start[i],
            ));
            b.rows_le.push((vec![(short(i), -1.0)], 0.0));
            b.rows_le.push((vec![(surplus(i), -1.0)], 0.0));
        }
    }
    if community {
        for d in 0..days {
            q[pk(d)] = ir.peak_charge_per_kw_day;
            b.rows_le.push((vec![(pk(d), -1.0)], 0.0));
        }
    }
    if use_demand {
        for d in 0..days {
            for i in 0..n {
                q[dcv(d, i)] = ir.demand_charge_per_kw_day;
                b.rows_le.push((vec![(dcv(d, i), -1.0)], 0.0));
            }
        }
    }

    let (neq, nle) = (b.rows_eq.len(), b.rows_le.len());
    let mut rows = Vec::new();
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    let mut rhs = Vec::with_capacity(neq + nle);
    for (r, (entries, bound)) in b.rows_eq.iter().chain(b.rows_le.iter()).enumerate() {
        for &(c, a) in entries {
            rows.push(r);
            cols.push(c);
            vals.push(a);
        }
        rhs.push(*bound);
    }
    let a = CscMatrix::new_from_triplets(neq + nle, nvars, rows, cols, vals);
    let p = CscMatrix::<f64>::zeros((nvars, nvars));
    let cones = [
        SupportedConeT::ZeroConeT(neq),
        SupportedConeT::NonnegativeConeT(nle),
    ];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-9)
        .tol_gap_rel(1e-10)
        .tol_feas(1e-10)
        .build()
        .map_err(|e| LpError::Setup(format!("{e:?}")))?;
    let mut solver = DefaultSolver::new(&p, &q, &a, &rhs, &cones, settings)
        .map_err(|e| LpError::Setup(e.to_string()))?;
    solver.solve();
    let sol = &solver.solution;
    if !matches!(
        sol.status,
        SolverStatus::Solved | SolverStatus::AlmostSolved
    ) {
        return Err(LpError::NotSolved {
            day: ep.day,
            status: format!("{:?}", sol.status),
        });
    }
    let mut actions = vec![0.0; steps * n];
    for t in 0..steps {
        for i in 0..n {
            if pmax[i] > 0.0 {
                actions[t * n + i] =
                    ((sol.x[v(t, i, PC)] - sol.x[v(t, i, PD)]) / pmax[i]).clamp(-1.0, 1.0);
            }
        }
    }
    Ok(Schedule {
        actions,
        objective: sol.obj_val,
    })
}
