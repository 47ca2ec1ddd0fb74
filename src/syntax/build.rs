//! pest pairs → AST nodes. The grammar has already accepted the text; what is left is
//! shaping (keywords dropped, operator precedence by a Pratt parser, spans trimmed of
//! trailing trivia) and the few checks pest cannot express (number ranges, depth).

use super::ast::*;
use super::parse::{span_of, Rule};
use crate::diag::{codes, Diagnostic};
use crate::source::{SourceId, Span};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::sync::OnceLock;

fn pratt() -> &'static PrattParser<Rule> {
    static P: OnceLock<PrattParser<Rule>> = OnceLock::new();
    P.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
            .op(Op::prefix(Rule::neg))
    })
}

pub(super) struct Builder<'t> {
    pub(super) base: usize,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) source: SourceId,
    pub(super) trivia: &'t Trivia<'t>,
}

/// What a span must not end with: whitespace and comments. pest's implicit whitespace
/// can leave them inside a rule's span; labels and the formatter want the last token.
pub(super) struct Trivia<'t> {
    /// The whole file (spans are absolute).
    pub(super) text: &'t str,
    /// Comment end → comment start.
    pub(super) comments: std::collections::HashMap<usize, usize>,
}

impl Trivia<'_> {
    fn trim_end(&self, start: usize, mut end: usize) -> usize {
        loop {
            let trimmed = start + self.text[start..end].trim_end().len();
            match self.comments.get(&trimmed) {
                Some(&c) if c >= start && c < trimmed => end = c,
                _ => return trimmed,
            }
        }
    }
}

/// Skip keyword pairs: the AST records meaning, not the keyword tokens.
fn significant(p: Pair<Rule>) -> impl Iterator<Item = Pair<Rule>> {
    p.into_inner().filter(|q| !is_keyword(q.as_rule()))
}

fn is_keyword(r: Rule) -> bool {
    use Rule::*;
    matches!(
        r,
        kw_agents
            | kw_as
            | kw_battery
            | kw_bus
            | kw_carbon
            | kw_communicate
            | kw_controls
            | kw_csv
            | kw_days
            | kw_demand_charge
            | kw_each
            | kw_experiment
            | kw_export
            | kw_feeder
            | kw_follow
            | kw_from
            | kw_gridc
            | kw_import
            | kw_in
            | kw_list
            | kw_load
            | kw_network
            | kw_observe
            | kw_on
            | kw_others
            | kw_peak_charge
            | kw_per
            | kw_profile
            | kw_reward
            | kw_schedule
            | kw_solar
            | kw_sweep
            | kw_tariff
            | kw_template
            | kw_test
            | kw_to
            | kw_train
            | kw_unit
    )
}

impl Builder<'_> {
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = span_of(p, self.base);
        Span::new(s.start, self.trivia.trim_end(s.start, s.end).max(s.start))
    }

    fn ident(&self, p: Pair<Rule>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(&p),
        }
    }

    fn path(&self, p: Pair<Rule>) -> Path {
        let span = self.span(&p);
        // `dotted`/`name` are atomic for `name`, compound for `dotted`; split by hand so
        // both give one Ident per segment with exact spans.
        let mut segments = Vec::new();
        let mut offset = span.start;
        for seg in p.as_str().split('.') {
            segments.push(Ident {
                name: seg.to_string(),
                span: Span::new(offset, offset + seg.len()),
            });
            offset += seg.len() + 1;
        }
        Path { segments, span }
    }

    fn string(&self, p: Pair<Rule>) -> StringLit {
        let span = self.span(&p);
        let raw = p.into_inner().next().map(|i| i.as_str()).unwrap_or("");
        let mut value = String::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(o) => value.push(o),
                    None => {}
                }
            } else {
                value.push(c);
            }
        }
        StringLit { value, span }
    }

    pub(super) fn item(&mut self, p: Pair<Rule>) -> Item {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::import_item => {
                let mut it = significant(p);
                let path = self.string(it.next().expect("import has a path"));
                let alias = it.next().map(|a| self.ident(a));
                Item::Import(Import { path, alias, span })
            }
            Rule::profile_item => {
                let mut it = significant(p);
                let name = self.ident(it.next().expect("profile has a name"));
                let src = it.next().expect("profile has a source");
                let source = self.profile_source(src);
                Item::Profile(ProfileDef { name, source, span })
            }
            Rule::tariff_item => {
                let mut it = significant(p);
                let name = self.ident(it.next().expect("tariff has a name"));
                let stmts = it.map(|s| self.tariff_stmt(s)).collect();
                Item::Tariff(TariffDef { name, stmts, span })
            }
            Rule::template_item => {
                let mut it = significant(p);
                let name = self.ident(it.next().expect("template has a name"));
                let mut params = Vec::new();
                let mut assets = Vec::new();
                for q in it {
                    match q.as_rule() {
                        Rule::param => params.push(self.param(q)),
                        _ => assets.push(self.asset(q)),
                    }
                }
                Item::Template(TemplateDef {
                    name,
                    params,
                    assets,
                    span,
                })
            }
            Rule::network_item => {
                let mut it = significant(p);
                let name = self.ident(it.next().expect("network has a name"));
                let stmts = it.map(|s| self.net_stmt(s)).collect();
                Item::Network(NetworkDef { name, stmts, span })
            }
            Rule::agents_item => {
                let stmts = significant(p).map(|s| self.agent_stmt(s)).collect();
                Item::Agents(AgentsDef { stmts, span })
            }
            Rule::reward_item => {
                let bindings = significant(p)
                    .map(|b| {
                        let span = self.span(&b);
                        let mut it = b.into_inner();
                        let name = self.ident(it.next().expect("binding name"));
                        let value = self.expr(it.next().expect("binding value"));
                        Binding { name, value, span }
                    })
                    .collect();
                Item::Reward(RewardDef { bindings, span })
            }
            Rule::experiment_item => {
                let mut it = significant(p);
                let name = self.ident(it.next().expect("experiment has a name"));
                let stmts = it.map(|s| self.exp_stmt(s)).collect();
                Item::Experiment(ExperimentDef { name, stmts, span })
            }
            r => unreachable!("item alternative {r:?}"),
        }
    }

    fn profile_source(&mut self, p: Pair<Rule>) -> ProfileSource {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::csv_source => {
                let mut it = significant(p);
                let path = self.string(it.next().expect("csv path"));
                let options = it.map(|o| self.option(o)).collect();
                ProfileSource::Csv {
                    path,
                    options,
                    span,
                }
            }
            Rule::list_source => {
                let mut it = significant(p);
                let list = it.next().expect("list values");
                let mut values = Vec::new();
                let mut texts = Vec::new();
                for v in list.into_inner() {
                    let vspan = self.span(&v);
                    let text = v.as_str().to_string();
                    let value = self.number_value(&text, vspan).unwrap_or(0.0);
                    values.push((value, vspan));
                    texts.push(text);
                }
                let options = it.map(|o| self.option(o)).collect();
                ProfileSource::List {
                    values,
                    texts,
                    options,
                    span,
                }
            }
            _ => ProfileSource::Expr(self.expr(p)),
        }
    }

    fn option(&mut self, o: Pair<Rule>) -> ProfileOption {
        let span = self.span(&o);
        let mut it = o.into_inner();
        let first = it.next().expect("option has content");
        if first.as_rule() == Rule::unit_option {
            let mut u = first.into_inner();
            let name = self.ident(u.next().expect("unit keyword"));
            let unit = self.unit(u.next().expect("unit value"));
            return ProfileOption {
                name,
                value: OptionValue::Unit(unit),
                span,
            };
        }
        let name = self.ident(first);
        let v = it.next().expect("option value");
        let value = match v.as_rule() {
            Rule::string => OptionValue::String(self.string(v)),
            _ => OptionValue::Expr(self.expr(v)),
        };
        ProfileOption { name, value, span }
    }

    fn tariff_stmt(&mut self, p: Pair<Rule>) -> TariffStmt {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut it = significant(p);
        match rule {
            Rule::import_price | Rule::export_price => {
                let price = self.price(it.next().expect("price"));
                if rule == Rule::import_price {
                    TariffStmt::Import(price, span)
                } else {
                    TariffStmt::Export(price, span)
                }
            }
            Rule::demand_charge => {
                let rate = self.expr(it.next().expect("rate"));
                let period = self.ident(it.next().expect("period"));
                TariffStmt::DemandCharge { rate, period, span }
            }
            Rule::carbon => TariffStmt::Carbon(self.expr(it.next().expect("carbon value")), span),
            r => unreachable!("tariff statement {r:?}"),
        }
    }

    fn price(&mut self, p: Pair<Rule>) -> Price {
        if p.as_rule() == Rule::schedule {
            let span = self.span(&p);
            let slots = significant(p)
                .map(|s| {
                    let span = self.span(&s);
                    let mut it = s.into_inner();
                    let clock = |b: &Self, q: Pair<Rule>| Clock {
                        text: q.as_str().to_string(),
                        span: b.span(&q),
                    };
                    let from = clock(self, it.next().expect("slot start"));
                    let to = clock(self, it.next().expect("slot end"));
                    let price = self.expr(it.next().expect("slot price"));
                    Slot {
                        from,
                        to,
                        price,
                        span,
                    }
                })
                .collect();
            Price::Schedule(slots, span)
        } else {
            Price::Expr(self.expr(p))
        }
    }

    fn param(&mut self, p: Pair<Rule>) -> Param {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let name = self.ident(it.next().expect("param name"));
        let ty = it.next().expect("param type");
        let type_span = self.span(&ty);
        let inner = ty.into_inner().next().expect("param type content");
        let unit = (inner.as_rule() == Rule::unit).then(|| self.unit(inner));
        let default = it.next().map(|d| self.expr(d));
        Param {
            name,
            unit,
            type_span,
            default,
            span,
        }
    }

    fn asset(&mut self, p: Pair<Rule>) -> Asset {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::load_asset => AssetKind::Load,
            Rule::solar_asset => AssetKind::Solar,
            _ => AssetKind::Battery,
        };
        let mut it = significant(p);
        let name = self.ident(it.next().expect("asset name"));
        if kind == AssetKind::Battery {
            let properties = it.map(|q| self.property(q)).collect();
            Asset {
                kind,
                name,
                value: None,
                properties,
                span,
            }
        } else {
            let value = Some(self.expr(it.next().expect("asset value")));
            Asset {
                kind,
                name,
                value,
                properties: Vec::new(),
                span,
            }
        }
    }

    fn property(&mut self, p: Pair<Rule>) -> Property {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let name = self.ident(it.next().expect("property name"));
        let v = it.next().expect("property value");
        let value = if v.as_rule() == Rule::range {
            PropValue::Range(self.range(v))
        } else {
            PropValue::Expr(self.expr(v))
        };
        Property { name, value, span }
    }

    fn range(&mut self, p: Pair<Rule>) -> Range {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let low = self.expr(it.next().expect("range low"));
        let high = self.expr(it.next().expect("range high"));
        Range { low, high, span }
    }

    fn net_stmt(&mut self, p: Pair<Rule>) -> NetStmt {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::bus => NetStmt::Bus(self.ident(significant(p).next().expect("bus name")), span),
            Rule::feeder => {
                let has_block = p.as_str().trim_end().ends_with('}');
                let mut it = p.into_inner().peekable();
                it.next(); // kw_feeder
                let name = self.ident(it.next().expect("feeder name"));
                it.next(); // kw_from
                let from = self.ident(it.next().expect("feeder from"));
                let mut to = None;
                if it.peek().is_some_and(|q| q.as_rule() == Rule::kw_to) {
                    it.next();
                    to = Some(self.ident(it.next().expect("feeder to")));
                }
                let properties = it.map(|q| self.property(q)).collect();
                NetStmt::Feeder(FeederDecl {
                    name,
                    from,
                    to,
                    properties,
                    has_block,
                    span,
                })
            }
            Rule::peak_charge => {
                let mut it = significant(p);
                let rate = self.expr(it.next().expect("peak rate"));
                let period = self.ident(it.next().expect("peak period"));
                let bus = self.ident(it.next().expect("peak bus"));
                NetStmt::PeakCharge {
                    rate,
                    period,
                    bus,
                    span,
                }
            }
            Rule::net_tariff => {
                NetStmt::Tariff(self.path(significant(p).next().expect("tariff name")), span)
            }
            Rule::instance => {
                let has_args = p.as_str().trim_end().ends_with(')');
                let mut it = significant(p).peekable();
                let template = self.path(it.next().expect("instance template"));
                let name = self.ident(it.next().expect("instance name"));
                let mut count = None;
                if it.peek().is_some_and(|q| q.as_rule() == Rule::int) {
                    let c = it.next().expect("peeked");
                    count = Some((c.as_str().to_string(), self.span(&c)));
                }
                let mut feeders = Vec::new();
                let mut args = Vec::new();
                for q in it {
                    match q.as_rule() {
                        Rule::ident => feeders.push(self.ident(q)),
                        _ => args.push(self.arg(q)),
                    }
                }
                NetStmt::Instance(InstanceDecl {
                    template,
                    name,
                    count,
                    feeders,
                    args,
                    has_args,
                    span,
                })
            }
            r => unreachable!("network statement {r:?}"),
        }
    }

    fn agent_stmt(&mut self, p: Pair<Rule>) -> AgentStmt {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::controls => {
                let mut it = significant(p);
                let template = self.path(it.next().expect("controls template"));
                let controls = it
                    .map(|c| {
                        let span = self.span(&c);
                        let mut ci = significant(c);
                        let target = self.path(ci.next().expect("control target"));
                        let bounds = self.range(ci.next().expect("control bounds"));
                        Control {
                            target,
                            bounds,
                            span,
                        }
                    })
                    .collect();
                AgentStmt::Controls {
                    template,
                    controls,
                    span,
                }
            }
            Rule::observe => {
                let features = significant(p)
                    .map(|f| {
                        let span = self.span(&f);
                        let mut it = f.into_inner();
                        let path = self.path(it.next().expect("feature path"));
                        let arg = it.next().map(|a| self.expr(a));
                        Feature { path, arg, span }
                    })
                    .collect();
                AgentStmt::Observe(features, span)
            }
            Rule::communicate => {
                let v = significant(p).next().expect("communicate value");
                AgentStmt::Communicate(self.comm_value(v), span)
            }
            Rule::others => {
                let rule = significant(p).next().expect("others rule");
                AgentStmt::Others(self.ident(rule), span)
            }
            r => unreachable!("agents statement {r:?}"),
        }
    }

    fn comm_value(&mut self, p: Pair<Rule>) -> CommValue {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let kind = self.ident(it.next().expect("comm kind"));
        let size = it.next().map(|n| (n.as_str().to_string(), self.span(&n)));
        CommValue { kind, size, span }
    }

    fn exp_stmt(&mut self, p: Pair<Rule>) -> ExpStmt {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::days => {
                let mut it = p.into_inner();
                let kw = it.next().expect("train/test keyword");
                let train = kw.as_rule() == Rule::kw_train;
                let keyword_span = self.span(&kw);
                let ranges = it
                    .filter(|q| q.as_rule() == Rule::date_range)
                    .map(|r| {
                        let span = self.span(&r);
                        let mut di = r.into_inner();
                        let date = |b: &Self, q: Pair<Rule>| DateLit {
                            text: q.as_str().to_string(),
                            span: b.span(&q),
                        };
                        let from = date(self, di.next().expect("date"));
                        let to = di.next().map(|q| date(self, q));
                        DateRange { from, to, span }
                    })
                    .collect();
                ExpStmt::Days {
                    train,
                    keyword_span,
                    ranges,
                    span,
                }
            }
            Rule::sweep => {
                let axes = significant(p)
                    .map(|a| {
                        let span = self.span(&a);
                        let mut it = a.into_inner();
                        let path = self.path(it.next().expect("axis path"));
                        let values = it.map(|v| self.expr(v)).collect();
                        SweepAxis { path, values, span }
                    })
                    .collect();
                ExpStmt::Sweep(axes, span)
            }
            Rule::list_setting => {
                let mut it = p.into_inner();
                let name = self.ident(it.next().expect("list name"));
                let items = it.map(|i| self.ident(i)).collect();
                ExpStmt::List { name, items, span }
            }
            Rule::setting => {
                let mut it = p.into_inner();
                let name = self.ident(it.next().expect("setting name"));
                let value = self.expr(it.next().expect("setting value"));
                ExpStmt::Setting { name, value, span }
            }
            r => unreachable!("experiment statement {r:?}"),
        }
    }

    fn arg(&mut self, p: Pair<Rule>) -> Arg {
        let span = self.span(&p);
        let mut it = p.into_inner().peekable();
        let name = if it.peek().is_some_and(|q| q.as_rule() == Rule::ident) {
            Some(self.ident(it.next().expect("peeked")))
        } else {
            None
        };
        let value = self.expr(it.next().expect("arg value"));
        Arg { name, value, span }
    }

    fn number_value(&mut self, text: &str, span: Span) -> Option<f64> {
        let (digits, scale) = match text.strip_suffix('k') {
            Some(d) => (d, 1e3),
            None => match text.strip_suffix('M') {
                Some(d) => (d, 1e6),
                None => (text, 1.0),
            },
        };
        match digits.parse::<f64>() {
            Ok(v) if v.is_finite() && (v * scale).is_finite() => Some(v * scale),
            _ => {
                self.diags.push(
                    Diagnostic::error(codes::NUMBER, "number too large to represent").label(
                        self.source,
                        span,
                        "beyond the range of a 64-bit float",
                    ),
                );
                None
            }
        }
    }

    pub fn unit(&mut self, p: Pair<Rule>) -> UnitExpr {
        let span = self.span(&p);
        let mut terms = Vec::new();
        let mut divide = false;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::unit_op => divide = q.as_str() == "/",
                Rule::unit_term => {
                    let tspan = self.span(&q);
                    let mut it = q.into_inner();
                    let atom = it.next().expect("unit atom").as_str().to_string();
                    let power = it
                        .next()
                        .and_then(|pw| pw.as_str().parse::<i8>().ok())
                        .unwrap_or(1);
                    terms.push(UnitTerm {
                        divide,
                        atom,
                        power,
                        span: tspan,
                    });
                }
                _ => {}
            }
        }
        UnitExpr { terms, span }
    }

    pub(super) fn expr(&mut self, p: Pair<Rule>) -> Expr {
        let pairs = p.into_inner();
        let base = self.base;
        let source = self.source;
        let trivia = self.trivia;
        // The Pratt parser's closures cannot borrow `self` mutably; collect number errors
        // in a local list instead.
        let diags = std::cell::RefCell::new(Vec::new());
        let result = pratt()
            .map_primary(|q| {
                let mut b = Builder {
                    base,
                    diags: Vec::new(),
                    source,
                    trivia,
                };
                let e = b.primary(q);
                diags.borrow_mut().extend(b.diags);
                e
            })
            .map_prefix(|op, rhs| {
                let span = Span::new(base + op.as_span().start(), rhs.span().end);
                Expr::Neg(Box::new(rhs), span)
            })
            .map_infix(|lhs, op, rhs| {
                let op = match op.as_rule() {
                    Rule::add => BinOp::Add,
                    Rule::sub => BinOp::Sub,
                    Rule::mul => BinOp::Mul,
                    _ => BinOp::Div,
                };
                let span = lhs.span().to(rhs.span());
                Expr::Binary(Box::new(Binary { op, lhs, rhs, span }))
            })
            .parse(pairs);
        self.diags.extend(diags.into_inner());
        result
    }

    fn primary(&mut self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::quantity => {
                let mut it = p.into_inner();
                let num = it.next().expect("quantity number");
                let number_span = self.span(&num);
                let number_text = num.as_str().to_string();
                self.number_value(&number_text, number_span);
                let unit = it.next().map(|u| self.unit(u));
                Expr::Quantity(Quantity {
                    number_text,
                    number_span,
                    unit,
                    span,
                })
            }
            Rule::dotted => Expr::Path(self.path(p)),
            Rule::call => {
                let mut it = p.into_inner();
                let callee = self.ident(it.next().expect("callee"));
                let args = it.map(|a| self.arg(a)).collect();
                Expr::Call(Call { callee, args, span })
            }
            Rule::paren => {
                let inner = p.into_inner().next().expect("paren content");
                Expr::Paren(Box::new(self.expr(inner)), span)
            }
            Rule::expr => self.expr(p),
            r => unreachable!("primary {r:?}"),
        }
    }
}
