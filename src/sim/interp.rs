//! The reference interpreter: executes an [`Ir`] step program in f64 over a batch of
//! environments. Struct-of-arrays: one array per field, `batch × elements` long,
//! environment-major (`index = env * elements + element`).

use crate::ir::{
    Check, Domain, Field, Ir, Kernel, Op, Scalar, Stage, FLAG_NON_FINITE, FLAG_SOC_BOUNDS,
};

pub const FIELDS: usize = Field::PenaltyCost as usize + 1;
pub const SCALARS: usize = Scalar::CommunityCost as usize + 1;

/// All state of a batch of environments: household fields, feeder fields, scalars.
#[derive(Debug, Clone)]
pub struct Machine {
    pub batch: usize,
    pub households: usize,
    pub feeders: usize,
    pub house: Vec<Vec<f64>>,
    pub feed: Vec<Vec<f64>>,
    pub scalar: Vec<Vec<f64>>,
    regs: Vec<f64>,
    /// Compiled kernels; `None` runs the interpreter.
    pub jit: Option<std::sync::Arc<super::jit::JitProgram>>,
}

impl Machine {
    pub fn new(ir: &Ir, batch: usize) -> Machine {
        let mut m = Machine {
            batch,
            households: ir.households,
            feeders: ir.feeders,
            house: vec![vec![0.0; batch * ir.households]; FIELDS],
            feed: vec![vec![0.0; batch * ir.feeders]; FIELDS],
            scalar: vec![vec![0.0; batch]; SCALARS],
            regs: Vec::new(),
            jit: None,
        };
        for (f, values) in &ir.household_params {
            for b in 0..batch {
                m.house[*f as usize][b * ir.households..(b + 1) * ir.households]
                    .copy_from_slice(values);
            }
        }
        for (f, values) in &ir.feeder_params {
            for b in 0..batch {
                m.feed[*f as usize][b * ir.feeders..(b + 1) * ir.feeders].copy_from_slice(values);
            }
        }
        for b in 0..batch {
            m.scalar[Scalar::Dt as usize][b] = ir.dt_h;
            m.scalar[Scalar::DemandChargeRate as usize][b] = ir.demand_charge_per_kw_day;
            m.scalar[Scalar::PeakChargeRate as usize][b] = ir.peak_charge_per_kw_day;
            m.scalar[Scalar::Mix as usize][b] = ir.mix;
            m.scalar[Scalar::SettleShortfall as usize][b] = ir.settle_shortfall_per_kwh;
            m.scalar[Scalar::SettleSurplus as usize][b] = ir.settle_surplus_per_kwh;
            m.scalar[Scalar::Count as usize][b] = ir.agents as f64;
        }
        m
    }

    pub fn h(&self, f: Field, env: usize, i: usize) -> f64 {
        self.house[f as usize][env * self.households + i]
    }
    pub fn h_mut(&mut self, f: Field) -> &mut [f64] {
        &mut self.house[f as usize]
    }
    pub fn fd(&self, f: Field, env: usize, j: usize) -> f64 {
        self.feed[f as usize][env * self.feeders + j]
    }
    pub fn s(&self, s: Scalar, env: usize) -> f64 {
        self.scalar[s as usize][env]
    }
    pub fn s_mut(&mut self, s: Scalar) -> &mut [f64] {
        &mut self.scalar[s as usize]
    }

    /// Run the whole step program once for every environment. Returns the OR of the
    /// failed checks' flags (`ir::FLAG_*`); 0 when every check passed.
    pub fn step(&mut self, ir: &Ir) -> u32 {
        // Borrow the compiled program out of `self` for the step (no refcount traffic).
        if let Some(jit) = self.jit.take() {
            let flags = jit.step(self, ir);
            self.jit = Some(jit);
            return flags;
        }
        let mut flags = 0;
        for stage in &ir.program {
            flags |= match stage {
                Stage::Map(k) => self.map(k),
                _ => self.reduce(ir, stage, 0..self.batch),
            };
        }
        flags
    }

    /// Run a reduction stage (`FeederSum`, `BusSum`, `Total`) for the environments
    /// `envs`; `Map` stages are not reductions (returns 0 without running them).
    pub fn reduce(&mut self, ir: &Ir, stage: &Stage, envs: std::ops::Range<usize>) -> u32 {
        match stage {
            Stage::Map(_) => {}
            Stage::FeederSum { from, into } => {
                for b in envs {
                    let out =
                        &mut self.feed[*into as usize][b * self.feeders..(b + 1) * self.feeders];
                    out.fill(0.0);
                    let src =
                        &self.house[*from as usize][b * self.households..(b + 1) * self.households];
                    for (i, v) in src.iter().enumerate() {
                        out[ir.feeder_of[i]] += v;
                    }
                    for (f, parent) in &ir.feeder_order {
                        if let Some(p) = parent {
                            out[*p] += out[*f];
                        }
                    }
                }
            }
            Stage::BusSum { from, into } => {
                for b in envs {
                    let sum: f64 = ir
                        .bus_feeders
                        .iter()
                        .map(|&f| self.feed[*from as usize][b * self.feeders + f])
                        .sum();
                    self.scalar[*into as usize][b] = sum;
                }
            }
            Stage::PathOverloadDelta { into } => {
                let (h, f) = (self.households, self.feeders);
                for b in envs {
                    let dt = self.scalar[Scalar::Dt as usize][b];
                    for i in 0..h {
                        let battery = self.house[Field::BatteryKw as usize][b * h + i];
                        let mut delta = 0.0;
                        let mut feeder = Some(ir.feeder_of[i]);
                        while let Some(j) = feeder {
                            let k = b * f + j;
                            let flow = self.feed[Field::FlowKw as usize][k];
                            let limit = self.feed[Field::Limit as usize][k];
                            let penalty = self.feed[Field::Penalty as usize][k];
                            let over = (flow.abs() - limit).max(0.0);
                            let idle = ((flow - battery).abs() - limit).max(0.0);
                            delta += penalty * over * dt - penalty * idle * dt;
                            feeder = ir.feeder_parent[j];
                        }
                        self.house[*into as usize][b * h + i] = delta;
                    }
                }
            }
            Stage::Total { from, domain, into } => {
                for b in envs {
                    let sum: f64 = match domain {
                        Domain::Households => self.house[*from as usize]
                            [b * self.households..(b + 1) * self.households]
                            .iter()
                            .sum(),
                        _ => self.feed[*from as usize][b * self.feeders..(b + 1) * self.feeders]
                            .iter()
                            .sum(),
                    };
                    self.scalar[*into as usize][b] = sum;
                }
            }
        }
        0
    }

    fn map(&mut self, k: &Kernel) -> u32 {
        let mut flags = 0;
        let per_env = match k.domain {
            Domain::Households => self.households,
            Domain::Feeders => self.feeders,
            Domain::Community => 1,
        };
        let mut regs = std::mem::take(&mut self.regs);
        regs.resize(k.ops.len(), 0.0);
        for b in 0..self.batch {
            for j in 0..per_env {
                let idx = b * per_env + j;
                let table = if k.domain == Domain::Feeders {
                    &self.feed
                } else {
                    &self.house
                };
                for (r, op) in k.ops.iter().enumerate() {
                    let v = |x: crate::ir::V| regs[x.0 as usize];
                    regs[r] = match op {
                        Op::Const(c) => *c,
                        Op::Load(f) => table[*f as usize][idx],
                        Op::Scalar(s) => self.scalar[*s as usize][b],
                        Op::Add(a, c) => v(*a) + v(*c),
                        Op::Sub(a, c) => v(*a) - v(*c),
                        Op::Mul(a, c) => v(*a) * v(*c),
                        Op::Div(a, c) => v(*a) / v(*c),
                        Op::Min(a, c) => {
                            if v(*a) < v(*c) {
                                v(*a)
                            } else {
                                v(*c)
                            }
                        }
                        Op::Max(a, c) => {
                            if v(*a) > v(*c) {
                                v(*a)
                            } else {
                                v(*c)
                            }
                        }
                        Op::Abs(a) => v(*a).abs(),
                        Op::Neg(a) => -v(*a),
                    };
                }
                let table = if k.domain == Domain::Feeders {
                    &mut self.feed
                } else {
                    &mut self.house
                };
                for (f, r) in &k.stores {
                    table[*f as usize][idx] = regs[r.0 as usize];
                }
                for (s, r) in &k.scalar_stores {
                    self.scalar[*s as usize][b] = regs[r.0 as usize];
                }
                for c in &k.checks {
                    match *c {
                        Check::Finite(v) => {
                            if !regs[v.0 as usize].is_finite() {
                                flags |= FLAG_NON_FINITE;
                            }
                        }
                        Check::Within { value, low, high } => {
                            let x = regs[value.0 as usize];
                            if !(x >= regs[low.0 as usize] && x <= regs[high.0 as usize]) {
                                flags |= FLAG_SOC_BOUNDS;
                            }
                        }
                    }
                }
            }
        }
        self.regs = regs;
        flags
    }
}
