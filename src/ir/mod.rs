//! The lowered form of a scenario: struct-of-arrays per asset kind and a step program made
//! of small kernels over them. The reference interpreter (`sim::interp`) executes it; the
//! Cranelift JIT (a later stage) compiles the same kernels. Units inside the IR are the
//! ones people think in: kW, kWh, hours, $ (lowering converts from the Scenario's SI).
//!
//! A kernel is straight-line SSA over f64 applied to every element of its domain
//! (households, feeders, or the one community), batched over environments. Reductions
//! (households → feeders → bus) are separate kernels, so no kernel depends on counts:
//! compiled code size does not grow with the number of households.

pub mod lower;
pub mod observe;

pub use lower::lower;
pub use observe::{AgentSeries, EnvSeries, ObsColumn, ObsProgram};

/// An SSA value: the index of the op that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V(pub u32);

/// Per-element arrays, one value per household (or feeder) per environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    // Household parameters (constant over an episode).
    Capacity,
    PowerRating,
    EtaCharge,
    EtaDischarge,
    SocMin,
    SocMax,
    ActionLow,
    ActionHigh,
    /// Stored energy at the episode start (kWh), the reference of the end-of-episode rule.
    EnergyStart,
    /// 1 if the household's feeder path passes the peak-charge bus, else 0.
    UnderPeakBus,
    // Household inputs (exogenous, set every step).
    Action,
    LoadKw,
    PvKw,
    // Household state.
    Energy,
    PeakImportToday,
    /// The day's peak at the peak-charge bus had this household's battery been idle all
    /// day so far (`externality(net)` rewards only; restarts at midnight).
    PeakWithoutMe,
    // Household outputs.
    BatteryKw,
    NetKw,
    ImportKw,
    ExportKw,
    Bill,
    /// The end-of-episode settlement inside `Bill` ($; 0 before the last step).
    Settlement,
    /// The bill had the battery stayed idle this step (`marginal(net)` rewards only).
    BillIdle,
    /// Σ over the feeders on the household's path of the overload penalty minus the
    /// penalty had its battery stayed idle this step (`Stage::PathOverloadDelta`).
    OverloadDelta,
    Reward,
    // Feeder parameters, inputs and outputs.
    Limit,
    Penalty,
    FlowKw,
    OverloadKw,
    PenaltyCost,
}

/// Community-wide values (one per environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scalar {
    Dt,
    PriceImport,
    PriceExport,
    DemandChargeRate,
    PeakChargeRate,
    Mix,
    /// Number of agents, for rewards that divide by it.
    Count,
    /// 1 on the last step of the episode, else 0 (set by the environment).
    EpisodeEnd,
    /// `end_energy settle(shortfall: …, surplus: …)` in $/kWh (0 when free).
    SettleShortfall,
    SettleSurplus,
    // Computed by the community kernel.
    BusImportKw,
    PeakToday,
    /// The day's peak before this step (the community kernel's input; PeakToday is after).
    PeakBefore,
    PeakIncrement,
    TotalBills,
    TotalPenalty,
    CommunityCost,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Const(f64),
    Load(Field),
    Scalar(Scalar),
    Add(V, V),
    Sub(V, V),
    Mul(V, V),
    Div(V, V),
    /// NaN-free minimum/maximum: `select(a < b, a, b)` (the JIT emits fcmp + select).
    Min(V, V),
    Max(V, V),
    Abs(V),
    Neg(V),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Households,
    Feeders,
    Community,
}

/// Straight-line code applied to every element of `domain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    pub name: &'static str,
    pub domain: Domain,
    pub ops: Vec<Op>,
    /// Element outputs written at the end (household/feeder fields).
    pub stores: Vec<(Field, V)>,
    /// Community outputs (only for `Domain::Community`).
    pub scalar_stores: Vec<(Scalar, V)>,
    /// Runtime checks; a failed check ORs its flag into the step's error flags.
    pub checks: Vec<Check>,
}

/// Error flag bits returned by a step.
pub const FLAG_NON_FINITE: u32 = 1;
pub const FLAG_SOC_BOUNDS: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    /// The value is neither NaN nor ±inf (`FLAG_NON_FINITE`).
    Finite(V),
    /// low ≤ value ≤ high (`FLAG_SOC_BOUNDS`).
    Within { value: V, low: V, high: V },
}

/// One stage of the step program.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Map(Kernel),
    /// Sum a household field into each household's feeder, then add each feeder's flow
    /// into its parent (children first): feeder flow = own households + downstream feeders.
    FeederSum {
        from: Field,
        into: Field,
    },
    /// Sum a feeder field over the feeders starting at the peak bus.
    BusSum {
        from: Field,
        into: Scalar,
    },
    /// Sum a household or feeder field over all elements into a scalar.
    Total {
        from: Field,
        domain: Domain,
        into: Scalar,
    },
    /// For every household, the overload penalties ($) of the feeders on its path to the
    /// root minus those had its battery stayed idle (every flow on the path less its
    /// `BatteryKw`): a gather along the tree, like `FeederSum` a Rust stage shared by the
    /// interpreter and the JIT.
    PathOverloadDelta {
        into: Field,
    },
}

/// Struct-of-arrays description of the community (one environment; the interpreter and
/// JIT replicate parameters across the batch).
#[derive(Debug, Clone, PartialEq)]
pub struct Ir {
    pub households: usize,
    pub feeders: usize,
    /// Feeder index of each household.
    pub feeder_of: Vec<usize>,
    /// Feeders in an order where children come before parents, with their parent.
    pub feeder_order: Vec<(usize, Option<usize>)>,
    /// Each feeder's parent feeder (None at the root bus).
    pub feeder_parent: Vec<Option<usize>>,
    /// Feeders whose flow enters the peak-charge bus (or the root bus).
    pub bus_feeders: Vec<usize>,
    /// Household parameter arrays (Capacity, PowerRating, ...).
    pub household_params: Vec<(Field, Vec<f64>)>,
    pub feeder_params: Vec<(Field, Vec<f64>)>,
    /// Households with a battery that no agent controls (they follow `agents.others`).
    pub others: Vec<usize>,
    /// Start state of charge (kWh) per household.
    pub energy_start: Vec<f64>,
    pub dt_h: f64,
    pub steps_per_episode: usize,
    pub demand_charge_per_kw_day: f64,
    pub peak_charge_per_kw_day: f64,
    /// End-of-episode settlement prices ($/kWh of stored energy below / above the start).
    pub settle_shortfall_per_kwh: f64,
    pub settle_surplus_per_kwh: f64,
    pub mix: f64,
    pub agents: usize,
    /// The step program, in order.
    pub program: Vec<Stage>,
    /// How agents' observations are assembled after a step.
    pub observe: ObsProgram,
}

impl Ir {
    pub fn household_param(&self, f: Field) -> &[f64] {
        self.household_params
            .iter()
            .find(|(g, _)| *g == f)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }
    pub fn feeder_param(&self, f: Field) -> &[f64] {
        self.feeder_params
            .iter()
            .find(|(g, _)| *g == f)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }
}

/// Builds a kernel op by op.
pub struct KernelBuilder {
    kernel: Kernel,
}

impl KernelBuilder {
    pub fn new(name: &'static str, domain: Domain) -> KernelBuilder {
        KernelBuilder {
            kernel: Kernel {
                name,
                domain,
                ops: Vec::new(),
                stores: Vec::new(),
                scalar_stores: Vec::new(),
                checks: Vec::new(),
            },
        }
    }
    fn push(&mut self, op: Op) -> V {
        self.kernel.ops.push(op);
        V(self.kernel.ops.len() as u32 - 1)
    }
    pub fn c(&mut self, x: f64) -> V {
        self.push(Op::Const(x))
    }
    pub fn load(&mut self, f: Field) -> V {
        self.push(Op::Load(f))
    }
    pub fn scalar(&mut self, s: Scalar) -> V {
        self.push(Op::Scalar(s))
    }
    pub fn add(&mut self, a: V, b: V) -> V {
        self.push(Op::Add(a, b))
    }
    pub fn sub(&mut self, a: V, b: V) -> V {
        self.push(Op::Sub(a, b))
    }
    pub fn mul(&mut self, a: V, b: V) -> V {
        self.push(Op::Mul(a, b))
    }
    pub fn div(&mut self, a: V, b: V) -> V {
        self.push(Op::Div(a, b))
    }
    pub fn min(&mut self, a: V, b: V) -> V {
        self.push(Op::Min(a, b))
    }
    pub fn max(&mut self, a: V, b: V) -> V {
        self.push(Op::Max(a, b))
    }
    pub fn abs(&mut self, a: V) -> V {
        self.push(Op::Abs(a))
    }
    pub fn neg(&mut self, a: V) -> V {
        self.push(Op::Neg(a))
    }
    pub fn store(&mut self, f: Field, v: V) {
        self.kernel.stores.push((f, v));
    }
    pub fn store_scalar(&mut self, s: Scalar, v: V) {
        self.kernel.scalar_stores.push((s, v));
    }
    pub fn check(&mut self, c: Check) {
        self.kernel.checks.push(c);
    }
    pub fn finish(self) -> Kernel {
        self.kernel
    }
}
