//! The network pass: buses and feeders as a petgraph graph (radial, connected, one root),
//! the tariff and peak charge; household instances are expanded by `households.rs`.

use super::eval::Scope;
use super::households::{instantiate, InstanceArray};
use super::units::{self, Dim};
use super::{Ctx, DefKind};
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::model::{Feeder, Household, Network, PeakCharge, Tariff};
use crate::source::{SourceId, Span};
use crate::syntax::ast::{self, Expr, Item, NetStmt, PropValue, Property};
use petgraph::graph::{NodeIndex, UnGraph};
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

const FEEDER_PROPS: &[&str] = &["limit", "overload_penalty"];

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
pub(super) fn unique_props<'a>(
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

pub(super) fn prop_expr<'a>(ctx: &mut Ctx, src: SourceId, p: &'a Property) -> Option<&'a Expr> {
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

pub(super) fn non_negative(
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
