//! `--set path=value` and sweep axes: a path names one value of the scenario; the value
//! is checked like file content (units, ranges) and, for `--set`, written into the AST
//! before the other passes run.

use super::agents::comm_value;
use super::eval::whole;
use super::eval::Scope;
use super::network::Built;
use super::units::{self, Dim};
use super::Ctx;
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::source::{SourceFile, SourceId, Span};
use crate::syntax::ast::{
    self, AgentStmt, CommValue, ExpStmt, Expr, Item, NetStmt, PropValue, Property,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Count of the instance statement at this index of the network's statements.
    Households {
        stmt: usize,
    },
    /// A reward binding: `mix`, `individual` or `social`.
    Reward(&'static str),
    Communicate,
    /// An experiment setting; `None` = every experiment.
    Setting {
        experiment: Option<String>,
        name: &'static str,
    },
    Feeder {
        name: String,
        prop: &'static str,
    },
    /// Default of a template parameter in the main file.
    Param {
        item: usize,
        param: usize,
    },
}

const SETTINGS: [&str; 5] = ["seeds", "budget", "step", "episode", "optimum"];

pub fn valid_paths_help() -> String {
    "paths: households, <array>.count, reward.mix, reward.individual, reward.social, communicate, seeds, budget, step, episode, optimum, experiment.<setting>, <experiment>.<setting>, <feeder>.limit, <feeder>.overload_penalty, <template>.<param>".to_string()
}

/// Concrete paths valid in this file, for "did you mean".
pub fn candidate_paths(file: &ast::File) -> Vec<String> {
    let mut v: Vec<String> = [
        "households",
        "reward.mix",
        "reward.individual",
        "reward.social",
        "communicate",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(SETTINGS.iter().map(|s| s.to_string()));
    for item in &file.items {
        match item {
            Item::Network(n) => {
                for s in &n.stmts {
                    match s {
                        NetStmt::Feeder(f) => {
                            v.push(format!("{}.limit", f.name.name));
                            v.push(format!("{}.overload_penalty", f.name.name));
                        }
                        NetStmt::Instance(i) => v.push(format!("{}.count", i.name.name)),
                        _ => {}
                    }
                }
            }
            Item::Template(t) => v.extend(
                t.params
                    .iter()
                    .map(|p| format!("{}.{}", t.name.name, p.name.name)),
            ),
            Item::Experiment(e) => {
                v.extend(SETTINGS.iter().map(|s| format!("{}.{s}", e.name.name)))
            }
            _ => {}
        }
    }
    v
}

/// Why a path names nothing to override or sweep.
#[derive(Debug)]
pub enum PathError {
    /// No such path; the text lists the valid ones (callers may prefer "did you mean").
    Unknown(String),
    /// The path exists but does not name one thing here: why (a clause after "ambiguous:"),
    /// and how to name one.
    Ambiguous { why: String, help: String },
}

/// `households` names the agents' household array; explain when there is not exactly one.
fn households_not_one(
    instances: &[(usize, &ast::InstanceDecl)],
    arrays: &[usize],
    agent_template: Option<String>,
) -> PathError {
    let template = agent_template.map_or("a household template".to_string(), |t| format!("`{t}`"));
    let names: Vec<String> = instances
        .iter()
        .filter(|(i, _)| arrays.contains(i))
        .map(|(_, x)| format!("`{}`", x.name.name))
        .collect();
    match names.as_slice() {
        [] => PathError::Ambiguous {
            why: format!("the network has no array of the agents' template {template}"),
            help: "add an array such as `h[4] on <feeder>` of that template".to_string(),
        },
        [first, ..] => PathError::Ambiguous {
            why: format!(
                "the agents' template {template} has {} arrays, {}",
                names.len(),
                names.join(" and ")
            ),
            help: format!(
                "name one array by its count: `{}.count`",
                first.trim_matches('`')
            ),
        },
    }
}

/// What a path names in this file, or why it names nothing.
pub fn resolve_target(
    file: &ast::File,
    path: &str,
    agents: Option<&ast::AgentsDef>,
) -> Result<Target, PathError> {
    let segs: Vec<&str> = path.split('.').collect();
    let network = file.items.iter().find_map(|i| {
        if let Item::Network(n) = i {
            Some(n)
        } else {
            None
        }
    });
    let instances: Vec<(usize, &ast::InstanceDecl)> = network
        .map(|n| {
            n.stmts
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    if let NetStmt::Instance(x) = s {
                        Some((i, x))
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    match segs.as_slice() {
        ["households"] => {
            // The arrays of the agents' template, or the only array.
            let agent_template = agents.and_then(|a| {
                a.stmts.iter().find_map(|s| {
                    if let AgentStmt::Controls { template, .. } = s {
                        Some(template.dotted())
                    } else {
                        None
                    }
                })
            });
            let arrays: Vec<usize> = instances
                .iter()
                .filter(|(_, x)| {
                    agent_template
                        .as_ref()
                        .is_none_or(|t| *t == x.template.dotted())
                })
                .map(|(i, _)| *i)
                .collect();
            match arrays.as_slice() {
                [one] => Ok(Target::Households { stmt: *one }),
                _ => Err(households_not_one(&instances, &arrays, agent_template)),
            }
        }
        [array, "count"] if instances.iter().any(|(_, x)| x.name.name == *array) => {
            Ok(Target::Households {
                stmt: instances
                    .iter()
                    .find(|(_, x)| x.name.name == *array)
                    .map(|(i, _)| *i)
                    .unwrap_or(0),
            })
        }
        ["reward", "mix"] => Ok(Target::Reward("mix")),
        ["reward", "individual"] => Ok(Target::Reward("individual")),
        ["reward", "social"] => Ok(Target::Reward("social")),
        ["communicate"] | ["agents", "communicate"] => Ok(Target::Communicate),
        [s] if SETTINGS.contains(s) => Ok(Target::Setting {
            experiment: None,
            name: setting_name(s),
        }),
        ["experiment", s] if SETTINGS.contains(s) => Ok(Target::Setting {
            experiment: None,
            name: setting_name(s),
        }),
        [e, s]
            if SETTINGS.contains(s)
                && file
                    .items
                    .iter()
                    .any(|i| matches!(i, Item::Experiment(x) if x.name.name == *e)) =>
        {
            Ok(Target::Setting {
                experiment: Some(e.to_string()),
                name: setting_name(s),
            })
        }
        [f, p @ ("limit" | "overload_penalty")]
            if network.is_some_and(|n| {
                n.stmts
                    .iter()
                    .any(|s| matches!(s, NetStmt::Feeder(x) if x.name.name == *f))
            }) =>
        {
            Ok(Target::Feeder {
                name: f.to_string(),
                prop: if *p == "limit" {
                    "limit"
                } else {
                    "overload_penalty"
                },
            })
        }
        [t, p] => {
            for (i, item) in file.items.iter().enumerate() {
                if let Item::Template(tm) = item {
                    if tm.name.name == *t {
                        if let Some(j) = tm.params.iter().position(|x| x.name.name == *p) {
                            return Ok(Target::Param { item: i, param: j });
                        }
                        let names: Vec<&str> =
                            tm.params.iter().map(|x| x.name.name.as_str()).collect();
                        return Err(PathError::Unknown(format!(
                            "template `{t}` has parameters {}",
                            names.join(", ")
                        )));
                    }
                }
            }
            Err(PathError::Unknown(valid_paths_help()))
        }
        _ => Err(PathError::Unknown(valid_paths_help())),
    }
}

fn setting_name(s: &str) -> &'static str {
    SETTINGS
        .iter()
        .find(|x| **x == s)
        .copied()
        .unwrap_or("seeds")
}

/// Check `value` as the value of `target`; diagnostics point into module `m`'s source.
pub fn check_value(
    ctx: &mut Ctx,
    m: usize,
    file: &ast::File,
    target: &Target,
    value: &Expr,
    _built: &Built,
) -> bool {
    let src = ctx.modules[m].source;
    let scope = Scope {
        module: m,
        params: &[],
    };
    // `v` in SI units of `dim`, shown as the file would write it (`-3 kW`, not `-3000`).
    let in_range = |ctx: &mut Ctx, v: f64, dim: Dim, ok: bool, what: &str| {
        if !ok {
            ctx.diags.push(
                Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!(
                        "{what} must be {}, found {}",
                        match what {
                            "households" => "between 1 and 1000000",
                            "the reward mix" => "in [0, 1]",
                            "a feeder limit" => "positive",
                            "an overload penalty" => "non-negative",
                            _ => "positive and at most 7 days",
                        },
                        units::show(v, dim)
                    ),
                )
                .label(src, value.span(), "out of range"),
            );
        }
        ok
    };
    match target {
        Target::Households { .. } => whole(ctx, m, value, "households")
            .is_some_and(|v| in_range(ctx, v, Dim::NONE, v <= 1e6, "households")),
        // A reward term is an expression over the network; the reward pass checks it
        // once it is in the file.
        Target::Reward("individual" | "social") => reward_terms_known(ctx, src, file, value),
        Target::Reward(_) => ctx
            .eval_const(scope, value, Dim::NONE, "the reward mix")
            .is_some_and(|v| {
                in_range(
                    ctx,
                    v,
                    Dim::NONE,
                    (0.0..=1.0).contains(&v),
                    "the reward mix",
                )
            }),
        Target::Communicate => match comm_of(value) {
            Some(c) => comm_value(src, &mut ctx.diags, &c).is_some(),
            None => {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::COMMUNICATION,
                        "expected `none`, `broadcast(k)` or `neighbours(k)`",
                    )
                    .label(src, value.span(), "not a channel"),
                );
                false
            }
        },
        Target::Setting { name, .. } => match *name {
            "seeds" | "budget" => whole(ctx, m, value, name).is_some(),
            "step" | "episode" => ctx
                .eval_const(scope, value, Dim::TIME, &format!("the {name}"))
                .is_some_and(|v| in_range(ctx, v, Dim::TIME, v > 0.0 && v <= 7.0 * 86400.0, name)),
            _ => match value {
                Expr::Path(p) if p.dotted() == "lp" || p.dotted() == "none" => true,
                _ => {
                    ctx.diags.push(
                        Diagnostic::error(codes::EXPERIMENT, "the optimum is `lp` or `none`")
                            .label(src, value.span(), "unknown optimum"),
                    );
                    false
                }
            },
        },
        Target::Feeder { prop, .. } => {
            let (dim, what) = if *prop == "limit" {
                (Dim::POWER, "a feeder limit")
            } else {
                (Dim::PRICE, "an overload penalty")
            };
            ctx.eval_const(scope, value, dim, what).is_some_and(|v| {
                in_range(
                    ctx,
                    v,
                    dim,
                    if *prop == "limit" { v > 0.0 } else { v >= 0.0 },
                    what,
                )
            })
        }
        Target::Param { item, param } => {
            let Item::Template(t) = &file.items[*item] else {
                return false;
            };
            let p = &t.params[*param];
            let dim = p
                .unit
                .as_ref()
                .map(|u| units::unit_expr(u).0)
                .unwrap_or(Dim::NONE);
            ctx.eval_const(scope, value, dim, &format!("parameter `{}`", p.name.name))
                .is_some()
        }
    }
}

fn comm_of(e: &Expr) -> Option<CommValue> {
    match e {
        Expr::Path(p) if p.segments.len() == 1 => Some(CommValue {
            kind: p.segments[0].clone(),
            size: None,
            span: p.span,
        }),
        Expr::Call(c) => match c.args.as_slice() {
            [a] if a.name.is_none() => match &a.value {
                Expr::Quantity(q) if q.unit.is_none() => Some(CommValue {
                    kind: c.callee.clone(),
                    size: Some((q.number_text.clone(), q.number_span)),
                    span: c.span,
                }),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Apply `--set` overrides to the main file's AST, reporting bad ones.
pub fn apply(ctx: &mut Ctx, file: &mut ast::File, overrides: &[(String, String)]) {
    for (path, value_text) in overrides {
        let src = ctx.sources.add(SourceFile {
            name: format!("--set {path}"),
            text: value_text.clone(),
            dir: None,
            embedded: false,
        });
        let m = ctx.add_module(src, ast::File::default(), Vec::new());
        let agents = file.items.iter().find_map(|i| {
            if let Item::Agents(a) = i {
                Some(a.clone())
            } else {
                None
            }
        });
        let target = match resolve_target(file, path, agents.as_ref()) {
            Ok(t) => t,
            Err(PathError::Ambiguous { why, help }) => {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::OVERRIDE,
                        format!("`--set {path}=...` is ambiguous: {why}"),
                    )
                    .label(
                        src,
                        Span::new(0, value_text.len()),
                        "value for more than one array",
                    )
                    .help(help),
                );
                continue;
            }
            Err(PathError::Unknown(help)) => {
                let paths = candidate_paths(file);
                let help = match crate::diag::did_you_mean(path, paths.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => help,
                };
                ctx.diags.push(
                    Diagnostic::error(codes::OVERRIDE, format!("`--set {path}=...`: no such path"))
                        .label(
                            src,
                            Span::new(0, value_text.len()),
                            "value for an unknown path",
                        )
                        .help(help),
                );
                continue;
            }
        };
        let value = match crate::syntax::parse_value(value_text, src) {
            Ok(v) => v,
            Err(d) => {
                ctx.diags.push(d);
                continue;
            }
        };
        let dummy = dummy_built();
        if !check_value(ctx, m, file, &target, &value, &dummy) {
            continue;
        }
        write(ctx, m, file, &target, value);
    }
}

/// The functions and names of a reward term given with `--set`, checked where the user
/// typed them (the reward pass checks units once the term is in the file, and would
/// point at the file's binding).
fn reward_terms_known(ctx: &mut Ctx, src: SourceId, file: &ast::File, value: &Expr) -> bool {
    let network = file.items.iter().find_map(|i| match i {
        Item::Network(n) => Some(n.name.name.as_str()),
        _ => None,
    });
    let mut error = |d: Diagnostic| {
        ctx.diags.push(d);
        false
    };
    match value {
        Expr::Quantity(_) => true,
        Expr::Paren(e, _) | Expr::Neg(e, _) => reward_terms_known(ctx, src, file, e),
        Expr::Binary(b) => {
            let l = reward_terms_known(ctx, src, file, &b.lhs);
            reward_terms_known(ctx, src, file, &b.rhs) && l
        }
        Expr::Path(p) => error(
            Diagnostic::error(
                codes::REWARD,
                format!("`{}` cannot be used in a reward", p.dotted()),
            )
            .label(src, p.span, "not a reward term")
            .help(format!("use {} and numbers", super::reward::SIGNATURES)),
        ),
        Expr::Call(c) => {
            let name = c.callee.name.as_str();
            if !super::reward::FUNCTIONS.contains(&name) {
                let d =
                    Diagnostic::error(codes::REWARD, format!("unknown reward function `{name}`"))
                        .label(src, c.callee.span, "not a reward function");
                return error(
                    match did_you_mean(name, super::reward::FUNCTIONS.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!("reward functions: {}", super::reward::SIGNATURES)),
                    },
                );
            }
            let arg = match c.args.as_slice() {
                [a] if a.name.is_none() => match &a.value {
                    Expr::Path(p) => Some(p),
                    _ => None,
                },
                _ => None,
            };
            match (name, arg) {
                (_, None) => error(
                    Diagnostic::error(
                        codes::ARITY,
                        format!("`{name}` takes one name as its argument"),
                    )
                    .label(src, c.span, "wrong arguments")
                    .help(super::reward::SIGNATURES),
                ),
                ("cost" | "peak" | "marginal" | "externality", Some(p))
                    if Some(p.dotted().as_str()) != network =>
                {
                    error(
                        Diagnostic::error(
                            codes::REWARD,
                            format!("`{}` is not the network", p.dotted()),
                        )
                        .label(src, p.span, "expected the network's name")
                        .help(format!("write `{name}({})`", network.unwrap_or("NETWORK"))),
                    )
                }
                _ => true,
            }
        }
    }
}

fn dummy_built() -> Built {
    Built {
        network: crate::model::Network {
            name: String::new(),
            buses: Vec::new(),
            feeders: Vec::new(),
            root_bus: 0,
            peak_charge: None,
        },
        tariff: crate::model::Tariff {
            name: String::new(),
            import: crate::model::Price::Constant(0.0),
            export: crate::model::Price::Constant(0.0),
            demand_charge_per_w_day: None,
            carbon_kg_per_j: None,
        },
        households: Vec::new(),
        arrays: Vec::new(),
        names: Default::default(),
    }
}

/// Write a checked value into the AST. Its spans are moved onto the replaced node so any
/// later diagnostic points at a place in the main file.
fn write(ctx: &mut Ctx, m: usize, file: &mut ast::File, target: &Target, value: Expr) {
    match target {
        Target::Households { stmt } => {
            let n = ctx
                .eval_const(
                    Scope {
                        module: m,
                        params: &[],
                    },
                    &value,
                    Dim::NONE,
                    "households",
                )
                .unwrap_or(1.0);
            for item in &mut file.items {
                if let Item::Network(net) = item {
                    if let Some(NetStmt::Instance(x)) = net.stmts.get_mut(*stmt) {
                        let span = x.count.as_ref().map(|c| c.1).unwrap_or(x.name.span);
                        x.count = Some((format!("{}", n as u64), span));
                    }
                }
            }
        }
        Target::Reward(name) => {
            for item in &mut file.items {
                if let Item::Reward(r) = item {
                    match r.bindings.iter_mut().find(|b| b.name.name == *name) {
                        Some(b) => b.value = respan(value.clone(), b.value.span()),
                        None => r.bindings.push(ast::Binding {
                            name: ast::Ident {
                                name: (*name).into(),
                                span: r.span,
                            },
                            value: respan(value.clone(), r.span),
                            span: r.span,
                        }),
                    }
                }
            }
        }
        Target::Communicate => {
            let Some(mut c) = comm_of(&value) else { return };
            for item in &mut file.items {
                if let Item::Agents(a) = item {
                    let span = a
                        .stmts
                        .iter()
                        .find(|s| matches!(s, AgentStmt::Communicate(..)))
                        .map(|s| s.span())
                        .unwrap_or(a.span);
                    c.kind.span = span;
                    c.span = span;
                    if let Some((t, _)) = &c.size {
                        c.size = Some((t.clone(), span));
                    }
                    a.stmts.retain(|s| !matches!(s, AgentStmt::Communicate(..)));
                    a.stmts.push(AgentStmt::Communicate(c.clone(), span));
                }
            }
        }
        Target::Setting { experiment, name } => {
            for item in &mut file.items {
                if let Item::Experiment(x) = item {
                    if experiment.as_ref().is_some_and(|e| *e != x.name.name) {
                        continue;
                    }
                    let found = x.stmts.iter_mut().find_map(|s| match s {
                        ExpStmt::Setting {
                            name: n, value: v, ..
                        } if n.name == *name => Some(v),
                        _ => None,
                    });
                    match found {
                        Some(v) => *v = respan(value.clone(), v.span()),
                        None => x.stmts.push(ExpStmt::Setting {
                            name: ast::Ident {
                                name: name.to_string(),
                                span: x.name.span,
                            },
                            value: respan(value.clone(), x.name.span),
                            span: x.name.span,
                        }),
                    }
                }
            }
        }
        Target::Feeder { name, prop } => {
            for item in &mut file.items {
                if let Item::Network(net) = item {
                    for s in &mut net.stmts {
                        if let NetStmt::Feeder(f) = s {
                            if f.name.name != *name {
                                continue;
                            }
                            match f.properties.iter_mut().find(|p| p.name.name == *prop) {
                                Some(p) => {
                                    p.value = PropValue::Expr(respan(value.clone(), p.value.span()))
                                }
                                None => {
                                    f.has_block = true;
                                    f.properties.push(Property {
                                        name: ast::Ident {
                                            name: prop.to_string(),
                                            span: f.name.span,
                                        },
                                        value: PropValue::Expr(respan(value.clone(), f.name.span)),
                                        span: f.name.span,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        Target::Param { item, param } => {
            if let Item::Template(t) = &mut file.items[*item] {
                let p = &mut t.params[*param];
                let span = p.default.as_ref().map(|d| d.span()).unwrap_or(p.name.span);
                p.default = Some(respan(value, span));
            }
        }
    }
}

/// The same expression with every span set to `span`.
pub fn respan(e: Expr, span: Span) -> Expr {
    match e {
        Expr::Quantity(mut q) => {
            q.span = span;
            q.number_span = span;
            if let Some(u) = q.unit.as_mut() {
                u.span = span;
                for t in &mut u.terms {
                    t.span = span;
                }
            }
            Expr::Quantity(q)
        }
        Expr::Path(mut p) => {
            p.span = span;
            for s in &mut p.segments {
                s.span = span;
            }
            Expr::Path(p)
        }
        Expr::Call(mut c) => {
            c.span = span;
            c.callee.span = span;
            for a in &mut c.args {
                a.span = span;
                if let Some(n) = a.name.as_mut() {
                    n.span = span;
                }
                a.value = respan(a.value.clone(), span);
            }
            Expr::Call(c)
        }
        Expr::Binary(mut b) => {
            b.span = span;
            b.lhs = respan(b.lhs, span);
            b.rhs = respan(b.rhs, span);
            Expr::Binary(b)
        }
        Expr::Neg(inner, _) => Expr::Neg(Box::new(respan(*inner, span)), span),
        Expr::Paren(inner, _) => Expr::Paren(Box::new(respan(*inner, span)), span),
    }
}
