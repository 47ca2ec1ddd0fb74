//! Household instances: an instance statement names a template, a feeder, a count and
//! arguments; each household is the template's assets evaluated with its own parameter
//! values (sampled per array from one seeded RNG, instance-major).

use super::eval::{Scope, Typed, Val};
use super::network::{non_negative, prop_expr, unique_props, NameKind};
use super::units::{self, Dim};
use super::{Ctx, DefKind};
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::model::{Battery, Feeder, Household, NamedSignal, ParamValue, Signal};
use crate::source::{SourceId, Span};
use crate::syntax::ast::{self, AssetKind, Expr, Item, PropValue, Property};
use rand::{RngExt, SeedableRng};
use std::collections::HashMap;

/// One `name[count]: template(args) on feeder` statement after expansion.
pub struct InstanceArray {
    pub name: String,
    /// (module, item index) of the template.
    pub template: (usize, usize),
    pub template_name: String,
    pub count: usize,
    pub first: usize,
    pub span: Span,
}

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

/// Expand one instance statement into households.
pub(super) fn instantiate(
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
    let mut first_battery: Option<Span> = None;
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
                if !ctx.expect_typed(tsrc, e, &v, Dim::POWER, what) {
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
            AssetKind::Battery => {
                // The simulator models one battery per household (one action each).
                if let Some(first) = first_battery {
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::SIMULATION,
                            format!(
                                "template `{}` has a second battery; a household has at most one",
                                t.name.name
                            ),
                        )
                        .label(tsrc, a.name.span, "second battery")
                        .label(tsrc, first, "first battery")
                        .help("merge them into one battery (add the capacities and powers), or put the second in its own household"),
                    );
                    ok = false;
                    continue;
                }
                first_battery = Some(a.name.span);
                match battery(ctx, tm, a, params) {
                    Some(b) => h.batteries.push(b),
                    None => ok = false,
                }
            }
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
