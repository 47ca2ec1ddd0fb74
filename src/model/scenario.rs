//! The resolved scenario: what a `.grid` file means, in SI units (W, J, s, $, Wp, kg),
//! with templates expanded, samples drawn, profiles loaded and the network checked.
//! Everything after `check` (lowering, simulation, baselines, training) reads only this.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// File stem of the main `.grid` file.
    pub name: String,
    pub profiles: Vec<Profile>,
    pub tariff: Tariff,
    pub network: Network,
    pub households: Vec<Household>,
    pub agents: Agents,
    pub reward: Reward,
    pub experiments: Vec<Experiment>,
}

/// A time series loaded from CSV or an inline list, in SI units.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub name: String,
    /// Where the data came from: `csv <path>` or `list`.
    pub origin: String,
    /// SI unit of the values (`W`, `W/Wp`, `$/J`, ...), for display.
    pub unit: String,
    pub resolution_s: f64,
    pub interpolation: Interpolation,
    pub wrap: bool,
    pub len: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    #[serde(skip)]
    pub values: Vec<f64>,
}

impl Profile {
    /// Whole days this profile covers.
    pub fn days(&self) -> f64 {
        self.len as f64 * self.resolution_s / 86400.0
    }

    /// Value at time `t` seconds after the profile's start (1 January 00:00), following
    /// the profile's interpolation and wrap rules. Past the end of a non-wrapping
    /// profile the last value holds (the checker rejects such uses).
    pub fn at(&self, t: f64) -> f64 {
        if self.values.is_empty() {
            return 0.0;
        }
        let n = self.values.len();
        let mut x = t / self.resolution_s;
        if self.wrap {
            x = x.rem_euclid(n as f64);
        }
        let i = (x.floor().max(0.0) as usize).min(n - 1);
        match self.interpolation {
            Interpolation::Step => self.values[i],
            Interpolation::Linear => {
                let j = if i + 1 < n {
                    i + 1
                } else if self.wrap {
                    0
                } else {
                    i
                };
                let frac = (x - i as f64).clamp(0.0, 1.0);
                self.values[i] * (1.0 - frac) + self.values[j] * frac
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpolation {
    /// Hold each value for its interval.
    Step,
    /// Linear between interval starts.
    Linear,
}

/// `constant + Σ scale · profile(t)`, SI. Loads, PV and dynamic prices are signals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Signal {
    pub constant: f64,
    pub terms: Vec<SignalTerm>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalTerm {
    /// Index into `Scenario::profiles`.
    pub profile: usize,
    pub scale: f64,
}

impl Signal {
    pub fn constant(c: f64) -> Signal {
        Signal {
            constant: c,
            terms: Vec::new(),
        }
    }
    pub fn at(&self, profiles: &[Profile], t: f64) -> f64 {
        self.constant
            + self
                .terms
                .iter()
                .map(|term| term.scale * profiles[term.profile].at(t))
                .sum::<f64>()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Price {
    /// $/J.
    Constant(f64),
    /// Time-of-use: (start s, end s, $/J) slots covering the day.
    Schedule(Vec<(f64, f64, f64)>),
    /// A dynamic price signal, $/J.
    Dynamic(Signal),
}

impl Price {
    /// Price in $/J at `t` seconds after 1 January 00:00.
    pub fn at(&self, profiles: &[Profile], t: f64) -> f64 {
        match self {
            Price::Constant(c) => *c,
            Price::Schedule(slots) => {
                let tod = t.rem_euclid(86400.0);
                slots
                    .iter()
                    .find(|(a, b, _)| tod >= *a && tod < *b)
                    .map(|s| s.2)
                    .unwrap_or(0.0)
            }
            Price::Dynamic(s) => s.at(profiles, t),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tariff {
    pub name: String,
    pub import: Price,
    pub export: Price,
    /// Individual demand charge, $/W of each household's daily peak import.
    pub demand_charge_per_w_day: Option<f64>,
    /// Grid carbon intensity, kg/J.
    pub carbon_kg_per_j: Option<Signal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub name: String,
    pub buses: Vec<String>,
    pub feeders: Vec<Feeder>,
    /// Index of the root bus (the one no feeder leads to).
    pub root_bus: usize,
    pub peak_charge: Option<PeakCharge>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Feeder {
    pub name: String,
    pub from_bus: usize,
    pub to_bus: Option<usize>,
    /// The feeder whose `to` bus this feeder starts at (None for feeders at the root).
    pub parent: Option<usize>,
    pub limit_w: f64,
    pub overload_penalty_per_j: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeakCharge {
    /// $/W of the day's maximum import at `bus`.
    pub rate_per_w_day: f64,
    pub bus: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Household {
    /// `h[3]` for array instances, the plain name otherwise.
    pub name: String,
    pub template: String,
    pub feeder: usize,
    /// Parameter values after defaults and sampling, SI, in declaration order.
    pub params: Vec<ParamValue>,
    pub loads: Vec<NamedSignal>,
    pub solar: Vec<NamedSignal>,
    pub batteries: Vec<Battery>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamValue {
    pub name: String,
    pub value: f64,
    /// Human form, e.g. `4523.1 kWh`.
    pub shown: String,
    /// `default`, `argument`, or the sampler and seed (`uniform, seed 7`).
    pub origin: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedSignal {
    pub name: String,
    /// W.
    pub power_w: Signal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Battery {
    pub name: String,
    pub capacity_j: f64,
    pub power_w: f64,
    pub eta_charge: f64,
    pub eta_discharge: f64,
    pub soc_min: f64,
    pub soc_max: f64,
    pub soc_start: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Agents {
    pub template: String,
    /// Households (indices) that are agents, in order.
    pub households: Vec<usize>,
    pub controls: Vec<ControlSpec>,
    pub observations: Vec<Observation>,
    pub communication: Communication,
    pub obs_dim: usize,
    pub act_dim: usize,
    /// The fixed policy of every household that is not an agent (`others follow …`;
    /// default idle), applied alike by the environment, the baselines and the optimum.
    /// Serialised as written in the file (`idle`, not `no_battery`).
    #[serde(serialize_with = "others_as_written")]
    pub others: Rule,
}

fn others_as_written<S: serde::Serializer>(rule: &Rule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rule.others_name())
}

/// A fixed battery policy (docs/semantics.md § Baselines): the rule baselines and the
/// policy of households no agent controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// a = 0: the battery stays idle (`no_battery` as a baseline, `idle` for others).
    NoBattery,
    /// Charge from own PV surplus, discharge to cover own deficit.
    Greedy,
    /// Charge in the day's cheapest import-price steps — spread evenly so the battery is
    /// full when the cheap window ends — discharge to cover own deficit in the dearest
    /// ones, store PV surplus otherwise.
    TouRule,
}

impl Rule {
    pub const ALL: [Rule; 3] = [Rule::NoBattery, Rule::Greedy, Rule::TouRule];

    /// The baseline's name (`baselines [...]`, `gridc sim --baseline`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::NoBattery => "no_battery",
            Rule::Greedy => "greedy",
            Rule::TouRule => "tou_rule",
        }
    }
    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == s)
    }
    /// The name in `others follow …` (`idle` reads better than `no_battery` there).
    pub fn others_name(self) -> &'static str {
        match self {
            Rule::NoBattery => "idle",
            r => r.name(),
        }
    }
    pub fn parse_others(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.others_name() == s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlSpec {
    /// Battery name in the template.
    pub battery: String,
    pub quantity: String,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observation {
    /// As written (`price.import.next(6h)`).
    pub text: String,
    pub feature: Feature,
    pub size: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Feature {
    Hour,
    Weekday,
    DayOfYear,
    PriceImport {
        steps_ahead: usize,
    },
    PriceExport {
        steps_ahead: usize,
    },
    Carbon {
        steps_ahead: usize,
    },
    /// A load or solar asset of the agent's own household; `steps_ahead` 0 = now.
    OwnSignal {
        asset: String,
        solar: bool,
        steps_ahead: usize,
    },
    OwnSoc {
        battery: String,
    },
    OwnNetLast,
    FeederFlowLast {
        feeder: usize,
    },
    OwnFeederFlowLast,
    CommunityNetLast,
    /// The day's highest import at the peak-charge bus so far (the running peak the peak
    /// charge is levied on; 0 at midnight).
    CommunityPeakToday,
    /// Mean of the messages received last step (size = k).
    Messages,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "size")]
pub enum Communication {
    None,
    Broadcast(usize),
    Neighbours(usize),
}

impl Communication {
    pub fn size(self) -> usize {
        match self {
            Communication::None => 0,
            Communication::Broadcast(k) | Communication::Neighbours(k) => k,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Reward {
    pub mix: f64,
    pub individual: RewardExpr,
    pub social: RewardExpr,
}

/// A per-step money amount ($), evaluated per agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardExpr {
    Const(f64),
    /// The agent's own bill this step.
    Bill,
    /// The community cost this step.
    Cost,
    /// The community's peak charge increment this step.
    Peak,
    /// The agent's marginal community cost this step, C − C₋ᵢ: the community cost minus
    /// what it would have been had this household's battery stayed idle this step (the
    /// difference reward of Wolpert & Tumer). Computed from the step's feeder sums.
    Marginal,
    /// The part of `Marginal` others pay: the overload penalties and the peak charge this
    /// household's battery added this step (its own bill difference left out).
    Externality,
    Neg(Box<RewardExpr>),
    Add(Box<RewardExpr>, Box<RewardExpr>),
    Sub(Box<RewardExpr>, Box<RewardExpr>),
    Mul(Box<RewardExpr>, Box<RewardExpr>),
    Div(Box<RewardExpr>, Box<RewardExpr>),
}

impl RewardExpr {
    /// Whether `marginal(net)` occurs (the environment then computes its terms).
    pub fn uses_marginal(&self) -> bool {
        match self {
            RewardExpr::Marginal | RewardExpr::Externality => true,
            RewardExpr::Const(_) | RewardExpr::Bill | RewardExpr::Cost | RewardExpr::Peak => false,
            RewardExpr::Neg(a) => a.uses_marginal(),
            RewardExpr::Add(a, b)
            | RewardExpr::Sub(a, b)
            | RewardExpr::Mul(a, b)
            | RewardExpr::Div(a, b) => a.uses_marginal() || b.uses_marginal(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Experiment {
    pub name: String,
    pub step_s: f64,
    pub episode_s: f64,
    pub year: i32,
    /// Inclusive day-index ranges (0 = 1 January).
    pub train_days: Vec<(u32, u32)>,
    pub test_days: Vec<(u32, u32)>,
    pub algorithms: Vec<String>,
    pub baselines: Vec<String>,
    pub optimum: Option<String>,
    pub seeds: u32,
    pub budget_steps: u64,
    pub sweeps: Vec<SweepAxis>,
    /// How the energy left in the batteries at the end of an episode is valued
    /// (`end_energy`); `None` leaves it free (docs/semantics.md § End of an episode).
    pub end_energy: Option<Settlement>,
}

/// `end_energy settle(…)`: on the last step of an episode each household's bill is charged
/// `shortfall` per unit of stored energy below its start and credited `surplus` per unit
/// above it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settlement {
    /// $ per J below the start.
    pub shortfall_per_j: f64,
    /// $ per J above the start (≤ shortfall, so the rule is convex and the LP exact).
    pub surplus_per_j: f64,
}

impl Experiment {
    pub fn day_count(ranges: &[(u32, u32)]) -> u32 {
        ranges.iter().map(|(a, b)| b - a + 1).sum()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepAxis {
    pub path: String,
    /// Each value as written (checked like a `--set path=value`).
    pub values: Vec<String>,
}
