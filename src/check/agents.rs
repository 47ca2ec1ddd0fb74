//! Agents: which households act, what they control (→ action space) and observe
//! (→ observation space), and how they communicate.

use super::eval::Scope;
use super::network::{Built, NameKind};
use super::units::{self, Dim};
use super::{Ctx, DefKind};
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::model::{Agents, Communication, ControlSpec, Feature, Observation, Rule};
use crate::source::{SourceId, Span};
use crate::syntax::ast::{self, AgentStmt, AssetKind, CommValue, Item};

/// Largest forecast horizon an observation may ask for.
const MAX_HORIZON_S: f64 = 7.0 * 86400.0;
pub const MAX_MESSAGE_SIZE: usize = 64;

const FEATURES: &[&str] = &[
    "time.hour",
    "time.weekday",
    "time.day",
    "price.import",
    "price.export",
    "carbon.intensity",
    "self.<load>",
    "self.<solar>",
    "self.<battery>.soc",
    "self.net.last",
    "self.feeder.flow.last",
    "<feeder>.flow.last",
    "community.net.last",
    "community.peak.today",
];

pub fn check_agents(
    ctx: &mut Ctx,
    m: usize,
    a: &ast::AgentsDef,
    built: &Built,
    step_s: f64,
) -> Option<Agents> {
    let src = ctx.modules[m].source;
    let mut controls_stmt = None;
    let mut observe_stmt = None;
    let mut comm_stmt = None;
    let mut others_stmt = None;
    for s in &a.stmts {
        let slot = match s {
            AgentStmt::Controls { .. } => &mut controls_stmt,
            AgentStmt::Observe(..) => &mut observe_stmt,
            AgentStmt::Communicate(..) => &mut comm_stmt,
            AgentStmt::Others(..) => &mut others_stmt,
        };
        if let Some(prev) = slot.replace(s) {
            ctx.diags.push(
                Diagnostic::error(codes::DUPLICATE, "the agents block repeats a statement")
                    .label(src, s.span(), "second")
                    .label(src, prev.span(), "first")
                    .help("list all controls in one `each ... controls` and all features in one `observe { ... }`"),
            );
            return None;
        }
    }
    let Some(AgentStmt::Controls {
        template, controls, ..
    }) = controls_stmt
    else {
        ctx.diags.push(
            Diagnostic::error(
                codes::MISSING_PROPERTY,
                "the agents block says nothing about what agents control",
            )
            .label(
                src,
                a.span,
                "add `each household controls store.power in -1..1`",
            ),
        );
        return None;
    };
    let (tm, def) = ctx.lookup_kind(m, template, DefKind::Template)?;
    let arrays: Vec<&super::households::InstanceArray> = built
        .arrays
        .iter()
        .filter(|x| x.template == (tm, def.item))
        .collect();
    if arrays.is_empty() {
        ctx.diags.push(
            Diagnostic::error(
                codes::AGENTS,
                format!(
                    "no household of the network uses template `{}`",
                    template.dotted()
                ),
            )
            .label(src, template.span, "no instances")
            .help("agents are the instances of a template placed in the network"),
        );
        return None;
    }
    let households: Vec<usize> = arrays
        .iter()
        .flat_map(|x| x.first..x.first + x.count)
        .collect();
    let Item::Template(t) = ctx.modules[tm].file.items[def.item].clone() else {
        unreachable!()
    };
    let mut ok = true;
    let mut specs = Vec::new();
    for c in controls {
        match control(ctx, m, &t, c) {
            Some(s) => {
                if specs.iter().any(|x: &ControlSpec| x.battery == s.battery) {
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE,
                            format!("`{}` is controlled twice", c.target.dotted()),
                        )
                        .label(src, c.span, "second control"),
                    );
                    ok = false;
                }
                specs.push(s)
            }
            None => ok = false,
        }
    }
    let mut observations = Vec::new();
    if let Some(AgentStmt::Observe(features, _)) = observe_stmt {
        let mut seen: Vec<(String, Span)> = Vec::new();
        for f in features {
            let text = feature_text(ctx, m, f);
            if let Some((_, prev)) = seen.iter().find(|(t, _)| *t == text) {
                ctx.diags.push(
                    Diagnostic::error(codes::DUPLICATE, format!("`{text}` is observed twice"))
                        .label(src, f.span, "second")
                        .label(src, *prev, "first"),
                );
                ok = false;
                continue;
            }
            seen.push((text.clone(), f.span));
            match feature(ctx, m, &t, f, built, step_s) {
                Some((feature, size)) => observations.push(Observation {
                    text,
                    feature,
                    size,
                }),
                None => ok = false,
            }
        }
    }
    let communication = match comm_stmt {
        Some(AgentStmt::Communicate(v, _)) => comm_value(ctx.modules[m].source, &mut ctx.diags, v)?,
        _ => Communication::None,
    };
    if communication.size() > 0 {
        observations.push(Observation {
            text: "messages".to_string(),
            feature: Feature::Messages,
            size: communication.size(),
        });
    }
    if !ok {
        return None;
    }
    let others = match others_stmt {
        Some(AgentStmt::Others(rule, _)) => match Rule::parse_others(&rule.name) {
            Some(r) => r,
            None => {
                let names = Rule::ALL.map(Rule::others_name);
                let mut d = Diagnostic::error(
                    codes::AGENTS,
                    format!(
                        "unknown policy `{}` for the households no agent controls",
                        rule.name
                    ),
                )
                .label(src, rule.span, "not a fixed policy");
                d = match did_you_mean(&rule.name, names.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("policies: {}", names.join(", "))),
                };
                ctx.diags.push(d);
                return None;
            }
        },
        _ => Rule::NoBattery,
    };
    if others_stmt.is_none() {
        warn_idle_batteries(ctx, src, built, &households);
    }
    let obs_dim = observations.iter().map(|o| o.size).sum();
    let act_dim = specs.len() + communication.size();
    Some(Agents {
        template: template.dotted(),
        households,
        controls: specs,
        observations,
        communication,
        obs_dim,
        act_dim,
        others,
    })
}

/// Batteries no agent controls stay idle unless `others follow …` says otherwise; say so,
/// since an idle battery is easy to mistake for one the optimum may use.
fn warn_idle_batteries(ctx: &mut Ctx, src: SourceId, built: &Built, agents: &[usize]) {
    let idle: Vec<usize> = (0..built.households.len())
        .filter(|i| !agents.contains(i) && !built.households[*i].batteries.is_empty())
        .collect();
    let Some(&first) = idle.first() else {
        return;
    };
    let Some(array) = built
        .arrays
        .iter()
        .find(|x| (x.first..x.first + x.count).contains(&first))
    else {
        return;
    };
    let name = &built.households[first].name;
    let who = match idle.len() {
        1 => format!("household `{name}` has a battery no agent controls: it stays"),
        k => format!("{k} households (`{name}`, …) have batteries no agent controls: they stay"),
    };
    ctx.diags.push(
        Diagnostic::warning(
            codes::AGENTS,
            format!("{who} idle in training, the baselines and the optimum"),
        )
        .label(src, array.span, "not agents")
        .help("to drive them by a fixed policy, add `others follow greedy` (or `tou_rule`; `idle` silences this) to the agents block"),
    );
}

fn feature_text(ctx: &Ctx, m: usize, f: &ast::Feature) -> String {
    let src = ctx.modules[m].source;
    let text = &ctx.sources.get(src).text;
    text.get(f.span.start..f.span.end)
        .map(|s| s.split_whitespace().collect::<String>())
        .unwrap_or_else(|| f.path.dotted())
}

fn control(ctx: &mut Ctx, m: usize, t: &ast::TemplateDef, c: &ast::Control) -> Option<ControlSpec> {
    let src = ctx.modules[m].source;
    let segs: Vec<&str> = c.target.segments.iter().map(|s| s.name.as_str()).collect();
    let batteries: Vec<&str> = t
        .assets
        .iter()
        .filter(|a| a.kind == AssetKind::Battery)
        .map(|a| a.name.name.as_str())
        .collect();
    let ok_target = segs.len() == 2 && batteries.contains(&segs[0]) && segs[1] == "power";
    if !ok_target {
        let mut d = Diagnostic::error(
            codes::AGENTS,
            format!("agents cannot control `{}`", c.target.dotted()),
        )
        .label(src, c.target.span, "not a controllable quantity");
        d = match (segs.first(), batteries.first()) {
            (Some(b), _) if segs.len() == 2 && batteries.contains(b) => d.help(format!(
                "the controllable quantity of a battery is `{b}.power`"
            )),
            (Some(b), Some(_)) => match did_you_mean(b, batteries.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}.power`?")),
                None => d.help(format!(
                    "controllable: {}",
                    batteries
                        .iter()
                        .map(|b| format!("{b}.power"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
            _ => d.help(format!(
                "template `{}` has no battery to control",
                t.name.name
            )),
        };
        ctx.diags.push(d);
        return None;
    }
    let scope = Scope {
        module: m,
        params: &[],
    };
    let lo = ctx.eval_const(scope, &c.bounds.low, Dim::NONE, "a control bound");
    let hi = ctx.eval_const(scope, &c.bounds.high, Dim::NONE, "a control bound");
    let (lo, hi) = (lo?, hi?);
    if lo < -1.0 || hi > 1.0 || lo >= hi {
        ctx.diags.push(
            Diagnostic::error(
                codes::OUT_OF_RANGE,
                "control bounds must satisfy -1 <= low < high <= 1",
            )
            .label(src, c.bounds.span, "invalid bounds")
            .help("the action is a fraction of rated power: -1 discharges fully, 1 charges fully"),
        );
        return None;
    }
    Some(ControlSpec {
        battery: segs[0].to_string(),
        quantity: "power".to_string(),
        low: lo,
        high: hi,
    })
}

fn feature(
    ctx: &mut Ctx,
    m: usize,
    t: &ast::TemplateDef,
    f: &ast::Feature,
    built: &Built,
    step_s: f64,
) -> Option<(Feature, usize)> {
    let src = ctx.modules[m].source;
    let segs: Vec<&str> = f.path.segments.iter().map(|s| s.name.as_str()).collect();
    let forecastable = |segs: &[&str]| segs.last() == Some(&"next");
    let (base, horizon) = if forecastable(&segs) {
        (&segs[..segs.len() - 1], true)
    } else {
        (&segs[..], false)
    };
    // `x.next(6h)` needs the argument; anything else must not have one.
    let steps = match (horizon, &f.arg) {
        (true, Some(e)) => {
            let d = ctx.eval_const(
                Scope {
                    module: m,
                    params: &[],
                },
                e,
                Dim::TIME,
                "a forecast horizon",
            )?;
            let n = d / step_s;
            let whole_steps = (n - n.round()).abs() <= 1e-9;
            // A step that does not divide the day is reported by the experiment check;
            // horizons that are not multiples of it are a consequence, not a second cause.
            let step_fits_day = (86400.0 / step_s).fract() == 0.0;
            if !whole_steps && !step_fits_day {
                return None;
            }
            if d <= 0.0 || d > MAX_HORIZON_S || !whole_steps {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::AGENTS,
                        format!(
                            "a forecast horizon must be a positive multiple of the step ({}), at most 7 days",
                            units::show_time(step_s)
                        ),
                    )
                    .label(src, e.span(), "invalid horizon"),
                );
                return None;
            }
            n.round() as usize
        }
        (true, None) => {
            ctx.diags.push(
                Diagnostic::error(codes::AGENTS, "`next` needs a horizon").label(
                    src,
                    f.span,
                    "write e.g. `.next(6h)`",
                ),
            );
            return None;
        }
        (false, Some(e)) => {
            ctx.diags.push(
                Diagnostic::error(
                    codes::AGENTS,
                    format!("`{}` takes no argument", f.path.dotted()),
                )
                .label(src, e.span(), "unexpected argument"),
            );
            return None;
        }
        (false, None) => 0,
    };
    let size = steps.max(1);
    let asset = |kind: AssetKind, name: &str| {
        t.assets
            .iter()
            .any(|a| a.kind == kind && a.name.name == name)
    };
    let feat = match base {
        ["time", "hour"] if !horizon => Feature::Hour,
        ["time", "weekday"] if !horizon => Feature::Weekday,
        ["time", "day"] if !horizon => Feature::DayOfYear,
        ["price", "import"] => Feature::PriceImport { steps_ahead: steps },
        ["price", "export"] => Feature::PriceExport { steps_ahead: steps },
        ["carbon", "intensity"] => {
            if built.tariff.carbon_kg_per_j.is_none() {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::AGENTS,
                        "the tariff has no carbon intensity to observe",
                    )
                    .label(src, f.span, "no `carbon` in the tariff"),
                );
                return None;
            }
            Feature::Carbon { steps_ahead: steps }
        }
        ["self", a] if asset(AssetKind::Load, a) => Feature::OwnSignal {
            asset: a.to_string(),
            solar: false,
            steps_ahead: steps,
        },
        ["self", a] if asset(AssetKind::Solar, a) => Feature::OwnSignal {
            asset: a.to_string(),
            solar: true,
            steps_ahead: steps,
        },
        ["self", b, "soc"] if asset(AssetKind::Battery, b) && !horizon => Feature::OwnSoc {
            battery: b.to_string(),
        },
        ["self", "net", "last"] if !horizon => Feature::OwnNetLast,
        ["self", "feeder", "flow", "last"] if !horizon => Feature::OwnFeederFlowLast,
        ["community", "net", "last"] if !horizon => Feature::CommunityNetLast,
        ["community", "peak", "today"] if !horizon => Feature::CommunityPeakToday,
        [fd, "flow", "last"]
            if !horizon
                && built
                    .names
                    .get(*fd)
                    .is_some_and(|n| n.0 == NameKind::Feeder) =>
        {
            Feature::FeederFlowLast {
                feeder: built.network.feeders.iter().position(|x| x.name == *fd)?,
            }
        }
        _ => {
            let text = f.path.dotted();
            let mut known: Vec<String> = FEATURES
                .iter()
                .filter(|s| !s.contains('<'))
                .map(|s| s.to_string())
                .collect();
            for a in &t.assets {
                match a.kind {
                    AssetKind::Battery => known.push(format!("self.{}.soc", a.name.name)),
                    _ => known.push(format!("self.{}", a.name.name)),
                }
            }
            for fd in &built.network.feeders {
                known.push(format!("{}.flow.last", fd.name));
            }
            let mut d = Diagnostic::error(codes::AGENTS, format!("unknown observation `{text}`"))
                .label(src, f.path.span, "not an observable feature");
            d = match did_you_mean(&text, known.iter().map(String::as_str)) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("observable: {}", known.join(", "))),
            };
            ctx.diags.push(d);
            return None;
        }
    };
    Some((feat, size))
}

/// `none`, `broadcast(k)`, `neighbours(k)`.
pub fn comm_value(
    src: SourceId,
    diags: &mut Vec<Diagnostic>,
    v: &CommValue,
) -> Option<Communication> {
    let k = match &v.size {
        None => None,
        Some((text, span)) => {
            match text.parse::<usize>() {
                Ok(k) if (1..=MAX_MESSAGE_SIZE).contains(&k) => Some(k),
                _ => {
                    diags.push(
                    Diagnostic::error(codes::COMMUNICATION, format!("message size must be between 1 and {MAX_MESSAGE_SIZE}, found `{text}`"))
                        .label(src, *span, "invalid size"),
                );
                    return None;
                }
            }
        }
    };
    match (v.kind.name.as_str(), k) {
        ("none", None) => Some(Communication::None),
        ("broadcast", Some(k)) => Some(Communication::Broadcast(k)),
        ("neighbours" | "neighbors", Some(k)) => Some(Communication::Neighbours(k)),
        (kind @ ("broadcast" | "neighbours" | "neighbors"), None) => {
            diags.push(
                Diagnostic::error(
                    codes::COMMUNICATION,
                    format!("`{kind}` needs a message size"),
                )
                .label(src, v.span, format!("write `{kind}(4)`")),
            );
            None
        }
        ("none", Some(_)) => {
            diags.push(
                Diagnostic::error(codes::COMMUNICATION, "`none` takes no size").label(
                    src,
                    v.span,
                    "write `none`",
                ),
            );
            None
        }
        (other, _) => {
            let mut d = Diagnostic::error(
                codes::COMMUNICATION,
                format!("unknown communication channel `{other}`"),
            )
            .label(src, v.kind.span, "not a channel");
            d = match did_you_mean(other, ["none", "broadcast", "neighbours"]) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("channels: none, broadcast(k), neighbours(k)"),
            };
            diags.push(d);
            None
        }
    }
}
