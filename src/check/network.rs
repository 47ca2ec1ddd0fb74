//! The network pass: buses and feeders as a petgraph graph (radial, connected, one root),
//! the tariff and peak charge, and household instances (templates expanded, parameters
//! sampled with seeded RNGs).

use super::eval::{Scope, Typed, Val};
use super::units::{self, Dim};
use super::{Ctx, DefKind};
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::model::{
    Battery, Feeder, Household, NamedSignal, Network, ParamValue, PeakCharge, Signal, Tariff,
};
use crate::source::{SourceId, Span};
use crate::syntax::ast::{self, AssetKind, Expr, Item, NetStmt, PropValue, Property};
use petgraph::graph::{NodeIndex, UnGraph};
use rand::{RngExt, SeedableRng};
use std::collections::HashMap;

/// What the network pass hands to the agents, reward and experiment passes.
pub struct Built {
    pub network: Network,
    pub tariff: Tariff,
    pub households: Vec<Household>,
    pub arrays: Vec<InstanceArray>,
    /// Network-level names (buses, feeders, instances) → span, for later passes.
    pub names: HashMap<String, (NameKind, Span)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Bus,
    Feeder,
    Instance,
}

pub struct InstanceArray {
    pub name: String,
    /// (module, item index) of the template.
    pub template: (usize, usize),
    pub template_name: String,
    pub count: usize,
    pub first: usize,
    pub span: Span,
}

const FEEDER_PROPS: &[&str] = &["limit", "overload_penalty"];
const BATTERY_PROPS: &[&str] = &[
    "capacity",
    "power",
    "efficiency",
    "charge_efficiency",
    "discharge_efficiency",
    "soc",
    "start",
];
/// More households than this in one array is almost surely a typo (and memory).
const MAX_COUNT: usize = 1_000_000;

pub fn check_network(ctx: &mut Ctx, m: usize, net: &ast::NetworkDef) -> Option<Built> {
    let src = ctx.modules[m].source;
    let mut names: HashMap<String, (NameKind, Span)> = HashMap::new();
    let mut ok = true;
    for s in &net.stmts {
        let (id, kind) = match s {
            NetStmt::Bus(id, _) => (id, NameKind::Bus),
            NetStmt::Feeder(f) => (&f.name, NameKind::Feeder),
            NetStmt::Instance(i) => (&i.name, NameKind::Instance),
            _ => continue,
        };
        if let Some((_, prev)) = names.get(&id.name) {
            ctx.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE,
                    format!(
                        "`{}` is defined twice in network `{}`",
                        id.name, net.name.name
                    ),
                )
                .label(src, id.span, "second definition")
                .label(src, *prev, "first definition here")
                .help("buses, feeders and households share the network's namespace"),
            );
            ok = false;
            continue;
        }
        names.insert(id.name.clone(), (kind, id.span));
    }

    // Buses and feeders.
    let buses: Vec<&ast::Ident> = net
        .stmts
        .iter()
        .filter_map(|s| {
            if let NetStmt::Bus(b, _) = s {
                Some(b)
            } else {
                None
            }
        })
        .collect();
    let bus_index = |n: &str| buses.iter().position(|b| b.name == n);
    let decls: Vec<&ast::FeederDecl> = net
        .stmts
        .iter()
        .filter_map(|s| {
            if let NetStmt::Feeder(f) = s {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    let mut feeders = Vec::new();
    for f in &decls {
        let from = resolve_bus(ctx, src, &names, &f.from, &bus_index);
        let to =
            f.to.as_ref()
                .map(|t| resolve_bus(ctx, src, &names, t, &bus_index));
        let props = feeder_props(ctx, m, f);
        match (from, to, props) {
            (Some(from), None | Some(Some(_)), Some((limit, penalty))) => feeders.push(Feeder {
                name: f.name.name.clone(),
                from_bus: from,
                to_bus: to.flatten(),
                parent: None,
                limit_w: limit,
                overload_penalty_per_j: penalty,
            }),
            _ => ok = false,
        }
    }
    if buses.is_empty() || decls.is_empty() {
        ctx.diags.push(
            Diagnostic::error(
                codes::NETWORK,
                format!(
                    "network `{}` needs at least one bus and one feeder",
                    net.name.name
                ),
            )
            .label(src, net.name.span, "incomplete network")
            .help("e.g. `bus substation` and `feeder street from substation { limit 24 kW }`"),
        );
        return None;
    }
    if !ok {
        return None;
    }
    let root = check_graph(ctx, src, &buses, &decls, &feeders)?;
    for i in 0..feeders.len() {
        let from = feeders[i].from_bus;
        feeders[i].parent = feeders.iter().position(|g| g.to_bus == Some(from));
    }

    // Tariff and peak charge.
    let mut tariff = None;
    let mut tariff_span: Option<Span> = None;
    let mut peak: Option<PeakCharge> = None;
    let mut peak_span: Option<Span> = None;
    for s in &net.stmts {
        match s {
            NetStmt::Tariff(path, span) => {
                if let Some(prev) = tariff_span {
                    ctx.diags.push(
                        Diagnostic::error(codes::DUPLICATE, "the network names two tariffs")
                            .label(src, *span, "second tariff")
                            .label(src, prev, "first tariff")
                            .help("one tariff applies to every household"),
                    );
                    ok = false;
                    continue;
                }
                tariff_span = Some(*span);
                if let Some((tm, def)) = ctx.lookup_kind(m, path, DefKind::Tariff) {
                    let Item::Tariff(t) = ctx.modules[tm].file.items[def.item].clone() else {
                        unreachable!()
                    };
                    tariff = ctx.check_tariff(tm, &t);
                }
                ok &= tariff.is_some();
            }
            NetStmt::PeakCharge {
                rate,
                period,
                bus,
                span,
            } => {
                if let Some(prev) = peak_span {
                    ctx.diags.push(
                        Diagnostic::error(codes::DUPLICATE, "the network has two peak charges")
                            .label(src, *span, "second")
                            .label(src, prev, "first"),
                    );
                    ok = false;
                    continue;
                }
                peak_span = Some(*span);
                if period.name != "day" {
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::OUT_OF_RANGE,
                            format!(
                                "peak charges are settled per day, not per `{}`",
                                period.name
                            ),
                        )
                        .label(src, period.span, "write `per day`"),
                    );
                    ok = false;
                }
                let r = ctx.eval_const(
                    Scope {
                        module: m,
                        params: &[],
                    },
                    rate,
                    Dim::POWER_RATE,
                    "a peak charge",
                );
                let b = resolve_bus(ctx, src, &names, bus, &bus_index);
                match (r, b) {
                    (Some(r), Some(b)) if r >= 0.0 => {
                        peak = Some(PeakCharge {
                            rate_per_w_day: r,
                            bus: b,
                        })
                    }
                    (Some(r), _) if r < 0.0 => {
                        ctx.diags.push(
                            Diagnostic::error(
                                codes::OUT_OF_RANGE,
                                "a peak charge cannot be negative",
                            )
                            .label(src, rate.span(), "negative"),
                        );
                        ok = false;
                    }
                    _ => ok = false,
                }
            }
            _ => {}
        }
    }
    if tariff_span.is_none() {
        ctx.diags.push(
            Diagnostic::error(
                codes::MISSING_PROPERTY,
                format!("network `{}` has no tariff", net.name.name),
            )
            .label(src, net.name.span, "add e.g. `tariff tou` to this network"),
        );
        ok = false;
    }

    // Households.
    let mut households = Vec::new();
    let mut arrays = Vec::new();
    for s in &net.stmts {
        if let NetStmt::Instance(inst) = s {
            match instantiate(ctx, m, inst, &names, &feeders, households.len()) {
                Some((array, hs)) => {
                    arrays.push(array);
                    households.extend(hs);
                }
                None => ok = false,
            }
        }
    }
    if households.is_empty() && ok {
        ctx.diags.push(
            Diagnostic::error(
                codes::NETWORK,
                format!("network `{}` has no households", net.name.name),
            )
            .label(src, net.name.span, "add e.g. `household h[4] on street`"),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(Built {
        network: Network {
            name: net.name.name.clone(),
            buses: buses.iter().map(|b| b.name.clone()).collect(),
            feeders,
            root_bus: root,
            peak_charge: peak,
        },
        tariff: tariff?,
        households,
        arrays,
        names,
    })
}

fn resolve_bus(
    ctx: &mut Ctx,
    src: SourceId,
    names: &HashMap<String, (NameKind, Span)>,
    id: &ast::Ident,
    bus_index: &dyn Fn(&str) -> Option<usize>,
) -> Option<usize> {
    match names.get(&id.name) {
        Some((NameKind::Bus, _)) => bus_index(&id.name),
        Some((kind, def)) => {
            ctx.diags.push(
                Diagnostic::error(
                    codes::WRONG_KIND,
                    format!(
                        "`{}` is a {}, not a bus",
                        id.name,
                        if *kind == NameKind::Feeder {
                            "feeder"
                        } else {
                            "household"
                        }
                    ),
                )
                .label(src, id.span, "expected a bus")
                .label(src, *def, "defined here"),
            );
            None
        }
        None => {
            let buses: Vec<&str> = names
                .iter()
                .filter(|(_, (k, _))| *k == NameKind::Bus)
                .map(|(n, _)| n.as_str())
                .collect();
            let mut d = Diagnostic::error(codes::UNDEFINED, format!("undefined bus `{}`", id.name))
                .label(src, id.span, "no such bus");
            d = match did_you_mean(&id.name, buses.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("declare it with `bus {}`", id.name)),
            };
            ctx.diags.push(d);
            None
        }
    }
}

fn feeder_props(ctx: &mut Ctx, m: usize, f: &ast::FeederDecl) -> Option<(f64, f64)> {
    let src = ctx.modules[m].source;
    let props = unique_props(ctx, src, &f.properties, FEEDER_PROPS, "feeder")?;
    let scope = Scope {
        module: m,
        params: &[],
    };
    let limit = match props.get("limit") {
        Some(p) => positive(ctx, src, scope, p, Dim::POWER, "a feeder limit")?,
        None => {
            ctx.diags.push(
                Diagnostic::error(codes::MISSING_PROPERTY, format!("feeder `{}` has no limit", f.name.name))
                    .label(src, f.name.span, "add `{ limit 24 kW }`")
                    .help("the limit is the feeder's thermal rating; flows above it pay the overload penalty"),
            );
            return None;
        }
    };
    let penalty = match props.get("overload_penalty") {
        Some(p) => non_negative(ctx, src, scope, p, Dim::PRICE, "an overload penalty")?,
        None => 0.0,
    };
    Some((limit, penalty))
}

/// Properties by name, reporting unknown and duplicate ones.
fn unique_props<'a>(
    ctx: &mut Ctx,
    src: SourceId,
    props: &'a [Property],
    known: &[&str],
    what: &str,
) -> Option<HashMap<&'a str, &'a Property>> {
    let mut out: HashMap<&str, &Property> = HashMap::new();
    let mut ok = true;
    for p in props {
        let n = p.name.name.as_str();
        if !known.contains(&n) {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_PROPERTY,
                format!("unknown {what} property `{n}`"),
            )
            .label(src, p.name.span, format!("not a property of a {what}"));
            d = match did_you_mean(n, known.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("{what} properties: {}", known.join(", "))),
            };
            ctx.diags.push(d);
            ok = false;
            continue;
        }
        if let Some(prev) = out.insert(n, p) {
            ctx.diags.push(
                Diagnostic::error(codes::DUPLICATE, format!("property `{n}` is set twice"))
                    .label(src, p.name.span, "second time")
                    .label(src, prev.name.span, "first time"),
            );
            ok = false;
        }
    }
    ok.then_some(out)
}

fn prop_expr<'a>(ctx: &mut Ctx, src: SourceId, p: &'a Property) -> Option<&'a Expr> {
    match &p.value {
        PropValue::Expr(e) => Some(e),
        PropValue::Range(r) => {
            ctx.diags.push(
                Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("`{}` takes a single value, not a range", p.name.name),
                )
                .label(src, r.span, "a range"),
            );
            None
        }
    }
}

fn positive(
    ctx: &mut Ctx,
    src: SourceId,
    scope: Scope,
    p: &Property,
    dim: Dim,
    what: &str,
) -> Option<f64> {
    at_least(ctx, src, scope, p, dim, what, true)
}

fn non_negative(
    ctx: &mut Ctx,
    src: SourceId,
    scope: Scope,
    p: &Property,
    dim: Dim,
    what: &str,
) -> Option<f64> {
    at_least(ctx, src, scope, p, dim, what, false)
}

/// A property's constant value, required > 0 (`strict`) or ≥ 0.
fn at_least(
    ctx: &mut Ctx,
    src: SourceId,
    scope: Scope,
    p: &Property,
    dim: Dim,
    what: &str,
    strict: bool,
) -> Option<f64> {
    let e = prop_expr(ctx, src, p)?;
    let v = ctx.eval_const(scope, e, dim, what)?;
    if v < 0.0 || (strict && v == 0.0) {
        let (rule, label) = if strict {
            ("must be positive", "must be > 0")
        } else {
            ("cannot be negative", "must be >= 0")
        };
        ctx.diags.push(
            Diagnostic::error(
                codes::OUT_OF_RANGE,
                format!("{what} {rule}, found {}", units::show(v, dim)),
            )
            .label(src, e.span(), label),
        );
        return None;
    }
    Some(v)
}

/// Radial-network checks on the bus/feeder graph. Returns the root bus.
fn check_graph(
    ctx: &mut Ctx,
    src: SourceId,
    buses: &[&ast::Ident],
    decls: &[&ast::FeederDecl],
    feeders: &[Feeder],
) -> Option<usize> {
    let mut g: UnGraph<Span, usize> = UnGraph::new_undirected();
    let bus_nodes: Vec<NodeIndex> = buses.iter().map(|b| g.add_node(b.span)).collect();
    let feeder_nodes: Vec<NodeIndex> = decls.iter().map(|f| g.add_node(f.name.span)).collect();
    for (i, f) in feeders.iter().enumerate() {
        g.add_edge(feeder_nodes[i], bus_nodes[f.from_bus], i);
        if let Some(t) = f.to_bus {
            g.add_edge(feeder_nodes[i], bus_nodes[t], i);
        }
    }
    // Cycles: union-find over buses in declaration order; the first feeder joining two
    // already-connected buses closes the loop.
    if petgraph::algo::is_cyclic_undirected(&g) {
        let mut uf = petgraph::unionfind::UnionFind::<usize>::new(buses.len());
        for (i, f) in feeders.iter().enumerate() {
            if let Some(t) = f.to_bus {
                if !uf.union(f.from_bus, t) {
                    let mut d = Diagnostic::error(
                        codes::CYCLE,
                        format!(
                            "feeder `{}` closes a loop in the network",
                            decls[i].name.name
                        ),
                    )
                    .label(src, decls[i].span, "closes the loop");
                    for (j, other) in feeders.iter().enumerate().take(i) {
                        if other.to_bus == Some(t)
                            || other.to_bus == Some(f.from_bus)
                            || (other.from_bus == t && other.to_bus.is_some())
                        {
                            d = d.label(src, decls[j].name.span, "part of the loop");
                        }
                    }
                    ctx.diags.push(d.help("a radial network has exactly one path from every bus to the root; remove one feeder of the loop"));
                    return None;
                }
            }
        }
    }
    let roots: Vec<usize> = (0..buses.len())
        .filter(|&b| !feeders.iter().any(|f| f.to_bus == Some(b)))
        .collect();
    if roots.is_empty() {
        ctx.diags.push(
            Diagnostic::error(
                codes::CYCLE,
                "every bus is fed by a feeder: the network has no root",
            )
            .label(src, buses[0].span, "no bus connects to the grid")
            .help("the root bus (substation) is the one no feeder leads `to`"),
        );
        return None;
    }
    let root = roots[0];
    // Islands: nodes not reachable from the root.
    let mut reach = petgraph::visit::Dfs::new(&g, bus_nodes[root]);
    let mut seen = vec![false; g.node_count()];
    while let Some(n) = reach.next(&g) {
        seen[n.index()] = true;
    }
    let unreached: Vec<NodeIndex> = g.node_indices().filter(|n| !seen[n.index()]).collect();
    if !unreached.is_empty() || roots.len() > 1 {
        let mut d = Diagnostic::error(
            codes::UNREACHABLE,
            format!(
                "the network is not connected to its root bus `{}`",
                buses[root].name
            ),
        )
        .label(src, buses[root].span, "root bus");
        for n in unreached.iter().take(4) {
            d = d.label(src, g[*n], "not connected to the root");
        }
        ctx.diags.push(
            d.help("connect it with a feeder (`feeder f from <bus> to <bus>`), or remove it"),
        );
        return None;
    }
    Some(root)
}

/// Expand one instance statement into households.
fn instantiate(
    ctx: &mut Ctx,
    m: usize,
    inst: &ast::InstanceDecl,
    names: &HashMap<String, (NameKind, Span)>,
    feeders: &[Feeder],
    first: usize,
) -> Option<(InstanceArray, Vec<Household>)> {
    let src = ctx.modules[m].source;
    let (tm, def) = ctx.lookup_kind(m, &inst.template, DefKind::Template)?;
    let template_file = ctx.modules[tm].file.clone();
    let Item::Template(t) = &template_file.items[def.item] else {
        unreachable!("template defs point at template items")
    };
    // Exactly one feeder.
    if inst.feeders.len() != 1 {
        let mut d = Diagnostic::error(
            codes::FEEDER_ASSIGNMENT,
            format!(
                "`{}` is connected to {} feeders",
                inst.name.name,
                inst.feeders.len()
            ),
        )
        .label(
            src,
            inst.feeders[0]
                .span
                .to(inst.feeders[inst.feeders.len() - 1].span),
            "more than one feeder",
        );
        d = d.help("a household sits on exactly one feeder: declare separate arrays per feeder");
        ctx.diags.push(d);
        return None;
    }
    let fid = &inst.feeders[0];
    let feeder = match names.get(&fid.name) {
        Some((NameKind::Feeder, _)) => feeders.iter().position(|f| f.name == fid.name)?,
        Some((kind, span)) => {
            ctx.diags.push(
                Diagnostic::error(
                    codes::FEEDER_ASSIGNMENT,
                    format!(
                        "`{}` is a {}, not a feeder",
                        fid.name,
                        if *kind == NameKind::Bus {
                            "bus"
                        } else {
                            "household"
                        }
                    ),
                )
                .label(src, fid.span, "households connect to feeders")
                .label(src, *span, "defined here"),
            );
            return None;
        }
        None => {
            let fs: Vec<&str> = feeders.iter().map(|f| f.name.as_str()).collect();
            let mut d =
                Diagnostic::error(codes::UNDEFINED, format!("undefined feeder `{}`", fid.name))
                    .label(src, fid.span, "no such feeder");
            if let Some(s) = did_you_mean(&fid.name, fs.iter().copied()) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            ctx.diags.push(d);
            return None;
        }
    };
    let count = match &inst.count {
        None => 1,
        Some((text, span)) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => n,
            _ => {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::OUT_OF_RANGE,
                        format!("array size `{text}` must be between 1 and {MAX_COUNT}"),
                    )
                    .label(src, *span, "invalid count"),
                );
                return None;
            }
        },
    };
    let tsrc = ctx.modules[tm].source;
    // Parameter types and defaults (in the template's module).
    let mut params: Vec<(String, Dim, Option<f64>, Span)> = Vec::new();
    for p in &t.params {
        if let Some((_, _, _, prev)) = params.iter().find(|x| x.0 == p.name.name) {
            let prev = *prev;
            ctx.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE,
                    format!("parameter `{}` is declared twice", p.name.name),
                )
                .label(tsrc, p.name.span, "second")
                .label(tsrc, prev, "first"),
            );
            return None;
        }
        let dim = p
            .unit
            .as_ref()
            .map(|u| units::unit_expr(u).0)
            .unwrap_or(Dim::NONE);
        let default = match &p.default {
            Some(e) => Some(ctx.eval_const(
                Scope {
                    module: tm,
                    params: &[],
                },
                e,
                dim,
                &format!("the default of `{}`", p.name.name),
            )?),
            None => None,
        };
        params.push((p.name.name.clone(), dim, default, p.name.span));
    }
    // Arguments.
    let mut seed: u64 = 0;
    let mut given: Vec<(usize, ArgValue, Span)> = Vec::new();
    let mut ok = true;
    for a in &inst.args {
        let Some(name) = &a.name else {
            ctx.diags.push(
                Diagnostic::error(codes::UNKNOWN_ARGUMENT, "instance arguments are named")
                    .label(src, a.span, "name this argument")
                    .help(format!(
                        "write `{}: ...`",
                        params.first().map(|p| p.0.as_str()).unwrap_or("param")
                    )),
            );
            ok = false;
            continue;
        };
        if name.name == "seed" {
            match ctx.eval_const(
                Scope {
                    module: m,
                    params: &[],
                },
                &a.value,
                Dim::NONE,
                "the seed",
            ) {
                Some(v) if v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53) => seed = v as u64,
                Some(_) => {
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::SAMPLING,
                            "the seed must be a non-negative whole number",
                        )
                        .label(src, a.value.span(), "invalid seed"),
                    );
                    ok = false;
                }
                None => ok = false,
            }
            continue;
        }
        let Some(pi) = params.iter().position(|p| p.0 == name.name) else {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_ARGUMENT,
                format!(
                    "template `{}` has no parameter `{}`",
                    t.name.name, name.name
                ),
            )
            .label(src, name.span, "unknown parameter");
            let names: Vec<&str> = params.iter().map(|p| p.0.as_str()).collect();
            d = match did_you_mean(&name.name, names.iter().copied().chain(["seed"])) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "parameters: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )),
            };
            ctx.diags
                .push(d.label(tsrc, t.name.span, "template defined here"));
            ok = false;
            continue;
        };
        if let Some((_, _, prev)) = given.iter().find(|g| g.0 == pi) {
            let prev = *prev;
            ctx.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE,
                    format!("argument `{}` is given twice", name.name),
                )
                .label(src, name.span, "second")
                .label(src, prev, "first"),
            );
            ok = false;
            continue;
        }
        match arg_value(ctx, m, &a.value, params[pi].1, &name.name) {
            Some(v) => given.push((pi, v, name.span)),
            None => ok = false,
        }
    }
    for (i, p) in params.iter().enumerate() {
        if p.2.is_none() && !given.iter().any(|g| g.0 == i) {
            ctx.diags.push(
                Diagnostic::error(
                    codes::MISSING_ARGUMENT,
                    format!("missing argument `{}` for template `{}`", p.0, t.name.name),
                )
                .label(src, inst.span, format!("needs `{}: ...`", p.0))
                .label(tsrc, p.3, "parameter without a default"),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    // Draw per-instance values: one RNG per array, draws in instance-major order.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut households = Vec::with_capacity(count);
    for k in 0..count {
        let hname = if inst.count.is_some() {
            format!("{}[{}]", inst.name.name, k)
        } else {
            inst.name.name.clone()
        };
        let mut values: Vec<(String, Typed)> = Vec::new();
        let mut shown = Vec::new();
        for (i, (pname, dim, default, _)) in params.iter().enumerate() {
            let (v, origin) = match given.iter().find(|g| g.0 == i) {
                Some((_, ArgValue::Const(v), _)) => (*v, "argument".to_string()),
                Some((_, ArgValue::Uniform(a, b), _)) => {
                    (rng.random_range(*a..=*b), format!("uniform, seed {seed}"))
                }
                Some((_, ArgValue::Normal(mu, sd), _)) => {
                    let z: f64 =
                        rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng);
                    (mu + sd * z, format!("normal, seed {seed}"))
                }
                Some((_, ArgValue::Choice(xs), _)) => (
                    xs[rng.random_range(0..xs.len())],
                    format!("choice, seed {seed}"),
                ),
                None => (default.unwrap_or(0.0), "default".to_string()),
            };
            values.push((pname.clone(), Typed::num(*dim, v)));
            shown.push(ParamValue {
                name: pname.clone(),
                value: v,
                shown: units::show(v, *dim),
                origin,
            });
        }
        let h = expand(
            ctx,
            tm,
            t,
            &values,
            inst,
            &hname,
            feeder,
            &inst.template.dotted(),
            shown,
        )?;
        households.push(h);
    }
    Some((
        InstanceArray {
            name: inst.name.name.clone(),
            template: (tm, def.item),
            template_name: inst.template.dotted(),
            count,
            first,
            span: inst.span,
        },
        households,
    ))
}

enum ArgValue {
    Const(f64),
    Uniform(f64, f64),
    Normal(f64, f64),
    Choice(Vec<f64>),
}

fn arg_value(ctx: &mut Ctx, m: usize, e: &Expr, dim: Dim, pname: &str) -> Option<ArgValue> {
    let src = ctx.modules[m].source;
    let scope = Scope {
        module: m,
        params: &[],
    };
    let Expr::Call(c) = e else {
        return Some(ArgValue::Const(ctx.eval_const(
            scope,
            e,
            dim,
            &format!("argument `{pname}`"),
        )?));
    };
    let arity = |ctx: &mut Ctx, n: usize| {
        if c.args.len() != n {
            ctx.diags.push(
                Diagnostic::error(
                    codes::ARITY,
                    format!(
                        "`{}` takes {n} arguments, found {}",
                        c.callee.name,
                        c.args.len()
                    ),
                )
                .label(src, c.span, "wrong number of arguments"),
            );
            return false;
        }
        true
    };
    let mut vals = Vec::new();
    for a in &c.args {
        vals.push(ctx.eval_const(scope, &a.value, dim, &format!("argument `{pname}`")));
    }
    match c.callee.name.as_str() {
        "uniform" => {
            if !arity(ctx, 2) {
                return None;
            }
            let (a, b) = (vals[0]?, vals[1]?);
            if a > b {
                ctx.diags.push(
                    Diagnostic::error(codes::SAMPLING, "uniform(a, b) needs a <= b").label(
                        src,
                        c.span,
                        "empty interval",
                    ),
                );
                return None;
            }
            Some(ArgValue::Uniform(a, b))
        }
        "normal" => {
            if !arity(ctx, 2) {
                return None;
            }
            let (mu, sd) = (vals[0]?, vals[1]?);
            if sd < 0.0 {
                ctx.diags.push(
                    Diagnostic::error(codes::SAMPLING, "normal(mean, sd) needs sd >= 0").label(
                        src,
                        c.args[1].value.span(),
                        "negative standard deviation",
                    ),
                );
                return None;
            }
            Some(ArgValue::Normal(mu, sd))
        }
        "choice" => {
            if c.args.is_empty() {
                ctx.diags.push(
                    Diagnostic::error(codes::ARITY, "choice(...) needs at least one value").label(
                        src,
                        c.span,
                        "no values",
                    ),
                );
                return None;
            }
            vals.into_iter()
                .collect::<Option<Vec<f64>>>()
                .map(ArgValue::Choice)
        }
        other => {
            let mut d = Diagnostic::error(codes::UNDEFINED, format!("unknown sampler `{other}`"))
                .label(src, c.callee.span, "not a sampler");
            d = match did_you_mean(other, ["uniform", "normal", "choice"]) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("samplers: uniform(a, b), normal(mean, sd), choice(x, y, ...)"),
            };
            ctx.diags.push(d);
            None
        }
    }
}

/// One household: the template's assets evaluated with this instance's parameters.
#[allow(clippy::too_many_arguments)]
fn expand(
    ctx: &mut Ctx,
    tm: usize,
    t: &ast::TemplateDef,
    params: &[(String, Typed)],
    inst: &ast::InstanceDecl,
    name: &str,
    feeder: usize,
    template_name: &str,
    shown: Vec<ParamValue>,
) -> Option<Household> {
    let tsrc = ctx.modules[tm].source;
    let isrc = SourceId(0);
    let scope = Scope { module: tm, params };
    let mut h = Household {
        name: name.to_string(),
        template: template_name.to_string(),
        feeder,
        params: shown,
        loads: Vec::new(),
        solar: Vec::new(),
        batteries: Vec::new(),
    };
    let mut ok = true;
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for a in &t.assets {
        if let Some(prev) = seen.insert(a.name.name.as_str(), a.name.span) {
            ctx.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE,
                    format!(
                        "asset `{}` is defined twice in template `{}`",
                        a.name.name, t.name.name
                    ),
                )
                .label(tsrc, a.name.span, "second")
                .label(tsrc, prev, "first"),
            );
            ok = false;
            continue;
        }
        match a.kind {
            AssetKind::Load | AssetKind::Solar => {
                let Some(e) = &a.value else { continue };
                let what = if a.kind == AssetKind::Load {
                    "a load"
                } else {
                    "solar generation"
                };
                let Some(v) = ctx.eval(scope, e) else {
                    ok = false;
                    continue;
                };
                if !ctx.expect_dim(tsrc, e, v.dim, Dim::POWER, what) {
                    ok = false;
                    continue;
                }
                let signal = match v.val {
                    Val::Num(c) => Signal::constant(c),
                    Val::Sig(s) => s,
                };
                if signal.constant < 0.0 || signal.terms.iter().any(|x| x.scale < 0.0) {
                    ctx.diags.push(
                        Diagnostic::error(codes::NEGATIVE_PV, format!("{what} `{}` of `{name}` is negative", a.name.name))
                            .label(tsrc, e.span(), "negative power")
                            .label(isrc, inst.span, format!("for `{name}`"))
                            .help("check the parameter values (a wide `normal(...)` can draw negative values)"),
                    );
                    ok = false;
                    continue;
                }
                let ns = NamedSignal {
                    name: a.name.name.clone(),
                    power_w: signal,
                };
                if a.kind == AssetKind::Load {
                    h.loads.push(ns)
                } else {
                    h.solar.push(ns)
                }
            }
            AssetKind::Battery => match battery(ctx, tm, a, params) {
                Some(b) => h.batteries.push(b),
                None => ok = false,
            },
        }
    }
    ok.then_some(h)
}

fn battery(
    ctx: &mut Ctx,
    tm: usize,
    a: &ast::Asset,
    params: &[(String, Typed)],
) -> Option<Battery> {
    let src = ctx.modules[tm].source;
    let scope = Scope { module: tm, params };
    let props = unique_props(ctx, src, &a.properties, BATTERY_PROPS, "battery")?;
    let mut missing = Vec::new();
    for req in ["capacity", "power"] {
        if !props.contains_key(req) {
            missing.push(req);
        }
    }
    if !missing.is_empty() {
        ctx.diags.push(
            Diagnostic::error(
                codes::MISSING_PROPERTY,
                format!(
                    "battery `{}` has no {}",
                    a.name.name,
                    missing.join(" and no ")
                ),
            )
            .label(src, a.name.span, "incomplete battery")
            .help("e.g. `battery store { capacity 10 kWh; power 5 kW }`"),
        );
        return None;
    }
    let capacity = non_negative(
        ctx,
        src,
        scope,
        props["capacity"],
        Dim::ENERGY,
        "a battery capacity",
    );
    let power = non_negative(
        ctx,
        src,
        scope,
        props["power"],
        Dim::POWER,
        "a battery power",
    );
    let fraction = |ctx: &mut Ctx, p: &Property, what: &str| -> Option<f64> {
        let e = prop_expr(ctx, src, p)?;
        let v = ctx.eval_const(scope, e, Dim::NONE, what)?;
        if v <= 0.0 || v > 1.0 {
            ctx.diags.push(
                Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!(
                        "{what} must lie in (0, 1], found {}",
                        units::format_number(v)
                    ),
                )
                .label(src, e.span(), "out of range")
                .help("write a fraction (0.95) or a percentage (95%)"),
            );
            return None;
        }
        Some(v)
    };
    let (mut eta_c, mut eta_d) = (Some(1.0), Some(1.0));
    if let Some(p) = props.get("efficiency") {
        if let Some(other) = props
            .get("charge_efficiency")
            .or(props.get("discharge_efficiency"))
        {
            ctx.diags.push(
                Diagnostic::error(codes::DUPLICATE, "give either `efficiency` (round trip) or `charge_efficiency`/`discharge_efficiency`")
                    .label(src, other.name.span, "second efficiency")
                    .label(src, p.name.span, "round-trip efficiency"),
            );
            return None;
        }
        let rt = fraction(ctx, p, "a round-trip efficiency");
        eta_c = rt.map(f64::sqrt);
        eta_d = eta_c;
    }
    if let Some(p) = props.get("charge_efficiency") {
        eta_c = fraction(ctx, p, "a charge efficiency");
    }
    if let Some(p) = props.get("discharge_efficiency") {
        eta_d = fraction(ctx, p, "a discharge efficiency");
    }
    let (mut lo, mut hi) = (Some(0.0), Some(1.0));
    if let Some(p) = props.get("soc") {
        match &p.value {
            PropValue::Range(r) => {
                lo = ctx.eval_const(scope, &r.low, Dim::NONE, "a state-of-charge bound");
                hi = ctx.eval_const(scope, &r.high, Dim::NONE, "a state-of-charge bound");
                if let (Some(l), Some(h)) = (lo, hi) {
                    if !(0.0..=1.0).contains(&l) || !(0.0..=1.0).contains(&h) || l > h {
                        ctx.diags.push(
                            Diagnostic::error(
                                codes::OUT_OF_RANGE,
                                format!(
                                    "state-of-charge bounds {}..{} must be ordered within 0..1",
                                    units::format_number(l),
                                    units::format_number(h)
                                ),
                            )
                            .label(src, r.span, "invalid bounds")
                            .help("e.g. `soc 0.1..0.9` (fractions of capacity)"),
                        );
                        return None;
                    }
                }
            }
            PropValue::Expr(e) => {
                ctx.diags.push(
                    Diagnostic::error(codes::OUT_OF_RANGE, "`soc` takes a range `min..max`")
                        .label(src, e.span(), "a single value")
                        .help("e.g. `soc 0.1..0.9`"),
                );
                return None;
            }
        }
    }
    let (l, h) = (lo?, hi?);
    let start = match props.get("start") {
        Some(p) => {
            let e = prop_expr(ctx, src, p)?;
            let v = ctx.eval_const(scope, e, Dim::NONE, "the start state of charge")?;
            if v < l || v > h {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::OUT_OF_RANGE,
                        format!(
                            "start state of charge {} lies outside soc {}..{}",
                            units::format_number(v),
                            units::format_number(l),
                            units::format_number(h)
                        ),
                    )
                    .label(src, e.span(), "outside the soc bounds"),
                );
                return None;
            }
            v
        }
        None => l,
    };
    Some(Battery {
        name: a.name.name.clone(),
        capacity_j: capacity?,
        power_w: power?,
        eta_charge: eta_c?,
        eta_discharge: eta_d?,
        soc_min: l,
        soc_max: h,
        soc_start: start,
    })
}
