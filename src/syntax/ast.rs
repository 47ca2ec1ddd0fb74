//! The syntax tree. Every node carries the byte span of its text in its source file;
//! nothing here is resolved or checked (that is `check`'s job).

use crate::source::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A parsed file: the header (if it parsed) and every item that parsed. Items that did
/// not parse are reported as diagnostics and left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct File {
    pub header: Option<Header>,
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub version: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Import(Import),
    Profile(ProfileDef),
    Tariff(TariffDef),
    Template(TemplateDef),
    Network(NetworkDef),
    Agents(AgentsDef),
    Reward(RewardDef),
    Experiment(ExperimentDef),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Profile(i) => i.span,
            Item::Tariff(i) => i.span,
            Item::Template(i) => i.span,
            Item::Network(i) => i.span,
            Item::Agents(i) => i.span,
            Item::Reward(i) => i.span,
            Item::Experiment(i) => i.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: StringLit,
    pub alias: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringLit {
    pub value: String,
    pub span: Span,
}

// ------------------------------------------------------------------- expressions

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `10 kWh`, `0.95`, `95 %`, `200k steps`.
    Quantity(Quantity),
    /// `annual`, `std.load.h25`, `self.store.soc`.
    Path(Path),
    Call(Call),
    Binary(Box<Binary>),
    Neg(Box<Expr>, Span),
    Paren(Box<Expr>, Span),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Quantity(q) => q.span,
            Expr::Path(p) => p.span,
            Expr::Call(c) => c.span,
            Expr::Binary(b) => b.span,
            Expr::Neg(_, s) | Expr::Paren(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The number as written, including a `k`/`M` magnitude suffix.
    pub number_text: String,
    pub number_span: Span,
    pub unit: Option<UnitExpr>,
    pub span: Span,
}

/// `$/kWh`, `kW/kWp`, `kg/kWh`: atoms joined by `*` or `/`, each with an optional power.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitExpr {
    pub terms: Vec<UnitTerm>,
    pub span: Span,
}

impl UnitExpr {
    /// Canonical text: `$/kWh`, `kW*h`, `h^-1`.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                s.push(if t.divide { '/' } else { '*' });
            }
            s.push_str(&t.atom);
            if t.power != 1 {
                s.push_str(&format!("^{}", t.power));
            }
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnitTerm {
    /// True when the term follows a `/`.
    pub divide: bool,
    pub atom: String,
    pub power: i8,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl Path {
    pub fn dotted(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub callee: Ident,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    pub op: BinOp,
    pub lhs: Expr,
    pub rhs: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub low: Expr,
    pub high: Expr,
    pub span: Span,
}

// ------------------------------------------------------------------- profiles

#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDef {
    pub name: Ident,
    pub source: ProfileSource,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProfileSource {
    Csv {
        path: StringLit,
        options: Vec<ProfileOption>,
        span: Span,
    },
    List {
        values: Vec<(f64, Span)>,
        /// The values as written, for the formatter.
        texts: Vec<String>,
        options: Vec<ProfileOption>,
        span: Span,
    },
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProfileOption {
    pub name: Ident,
    pub value: OptionValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Unit(UnitExpr),
    String(StringLit),
    Expr(Expr),
}

// ------------------------------------------------------------------- tariffs

#[derive(Debug, Clone, PartialEq)]
pub struct TariffDef {
    pub name: Ident,
    pub stmts: Vec<TariffStmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TariffStmt {
    Import(Price, Span),
    Export(Price, Span),
    DemandCharge {
        rate: Expr,
        period: Ident,
        span: Span,
    },
    Carbon(Expr, Span),
}

impl TariffStmt {
    pub fn span(&self) -> Span {
        match self {
            TariffStmt::Import(_, s) | TariffStmt::Export(_, s) | TariffStmt::Carbon(_, s) => *s,
            TariffStmt::DemandCharge { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Price {
    Schedule(Vec<Slot>, Span),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub from: Clock,
    pub to: Clock,
    pub price: Expr,
    pub span: Span,
}

// ------------------------------------------------------------------- templates

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateDef {
    pub name: Ident,
    pub params: Vec<Param>,
    pub assets: Vec<Asset>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    /// `None` for the plain `number` type.
    pub unit: Option<UnitExpr>,
    pub type_span: Span,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Load,
    Solar,
    Battery,
}

impl AssetKind {
    pub fn keyword(self) -> &'static str {
        match self {
            AssetKind::Load => "load",
            AssetKind::Solar => "solar",
            AssetKind::Battery => "battery",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub kind: AssetKind,
    pub name: Ident,
    /// For load and solar: the power expression.
    pub value: Option<Expr>,
    /// For batteries: the property block.
    pub properties: Vec<Property>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: Ident,
    pub value: PropValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    Expr(Expr),
    Range(Range),
}

impl PropValue {
    pub fn span(&self) -> Span {
        match self {
            PropValue::Expr(e) => e.span(),
            PropValue::Range(r) => r.span,
        }
    }
}

// ------------------------------------------------------------------- network

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkDef {
    pub name: Ident,
    pub stmts: Vec<NetStmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NetStmt {
    Bus(Ident, Span),
    Feeder(FeederDecl),
    PeakCharge {
        rate: Expr,
        period: Ident,
        bus: Ident,
        span: Span,
    },
    Tariff(Path, Span),
    Instance(InstanceDecl),
}

impl NetStmt {
    pub fn span(&self) -> Span {
        match self {
            NetStmt::Bus(_, s) | NetStmt::Tariff(_, s) => *s,
            NetStmt::Feeder(f) => f.span,
            NetStmt::PeakCharge { span, .. } => *span,
            NetStmt::Instance(i) => i.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeederDecl {
    pub name: Ident,
    pub from: Ident,
    pub to: Option<Ident>,
    pub properties: Vec<Property>,
    /// Whether a `{ ... }` block was written (for the formatter).
    pub has_block: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InstanceDecl {
    pub template: Path,
    pub name: Ident,
    /// `h[16]`: the count and its span.
    pub count: Option<(String, Span)>,
    pub feeders: Vec<Ident>,
    pub args: Vec<Arg>,
    pub has_args: bool,
    pub span: Span,
}

// ------------------------------------------------------------------- agents

#[derive(Debug, Clone, PartialEq)]
pub struct AgentsDef {
    pub stmts: Vec<AgentStmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AgentStmt {
    Controls {
        template: Path,
        controls: Vec<Control>,
        span: Span,
    },
    Observe(Vec<Feature>, Span),
    Communicate(CommValue, Span),
    /// `others follow <rule>`: the policy of the households that are not agents.
    Others(Ident, Span),
}

impl AgentStmt {
    pub fn span(&self) -> Span {
        match self {
            AgentStmt::Controls { span, .. } => *span,
            AgentStmt::Observe(_, s) | AgentStmt::Communicate(_, s) | AgentStmt::Others(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    pub target: Path,
    pub bounds: Range,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub path: Path,
    pub arg: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommValue {
    pub kind: Ident,
    pub size: Option<(String, Span)>,
    pub span: Span,
}

// ------------------------------------------------------------------- reward

#[derive(Debug, Clone, PartialEq)]
pub struct RewardDef {
    pub bindings: Vec<Binding>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

// ------------------------------------------------------------------- experiments

#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentDef {
    pub name: Ident,
    pub stmts: Vec<ExpStmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExpStmt {
    Days {
        train: bool,
        keyword_span: Span,
        ranges: Vec<DateRange>,
        span: Span,
    },
    Sweep(Vec<SweepAxis>, Span),
    List {
        name: Ident,
        items: Vec<Ident>,
        span: Span,
    },
    Setting {
        name: Ident,
        value: Expr,
        span: Span,
    },
}

impl ExpStmt {
    pub fn span(&self) -> Span {
        match self {
            ExpStmt::Days { span, .. }
            | ExpStmt::List { span, .. }
            | ExpStmt::Setting { span, .. } => *span,
            ExpStmt::Sweep(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DateLit {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DateRange {
    pub from: DateLit,
    pub to: Option<DateLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SweepAxis {
    pub path: Path,
    pub values: Vec<Expr>,
    pub span: Span,
}
