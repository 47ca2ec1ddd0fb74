//! The reward block: `mix`, `individual` and `social`, each a money amount per step.

use super::eval::Scope;
use super::network::Built;
use super::units::{self, Dim};
use super::{Ctx, DefKind};
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::model::{Reward, RewardExpr};
use crate::source::Span;
use crate::syntax::ast::{self, BinOp, Expr};

const BINDINGS: &[&str] = &["mix", "individual", "social"];
pub(super) const FUNCTIONS: &[&str] = &["bill", "cost", "peak", "marginal", "externality", "count"];
pub(super) const SIGNATURES: &str =
    "bill(self), cost(<network>), peak(<network>), marginal(<network>), externality(<network>), count(<template>)";

pub fn check_reward(ctx: &mut Ctx, m: usize, r: &ast::RewardDef, built: &Built) -> Option<Reward> {
    let src = ctx.modules[m].source;
    let mut seen: Vec<(&str, Span)> = Vec::new();
    let mut mix = None;
    let mut individual = None;
    let mut social = None;
    let mut ok = true;
    for b in &r.bindings {
        let n = b.name.name.as_str();
        if let Some((_, prev)) = seen.iter().find(|(x, _)| *x == n) {
            ctx.diags.push(
                Diagnostic::error(codes::DUPLICATE, format!("`{n}` is bound twice"))
                    .label(src, b.name.span, "second")
                    .label(src, *prev, "first"),
            );
            ok = false;
            continue;
        }
        seen.push((n, b.name.span));
        match n {
            "mix" => match ctx.eval_const(
                Scope {
                    module: m,
                    params: &[],
                },
                &b.value,
                Dim::NONE,
                "the reward mix",
            ) {
                Some(v) if (0.0..=1.0).contains(&v) => mix = Some(v),
                Some(v) => {
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::OUT_OF_RANGE,
                            format!(
                                "the reward mix must lie in [0, 1], found {}",
                                units::format_number(v)
                            ),
                        )
                        .label(src, b.value.span(), "out of range")
                        .help("0 = purely individual bills, 1 = purely community cost"),
                    );
                    ok = false;
                }
                None => ok = false,
            },
            "individual" | "social" => {
                let e = reward_expr(ctx, m, &b.value, built).and_then(|(e, dim)| {
                    if dim != Dim::MONEY {
                        ctx.expect_dim(src, &b.value, dim, Dim::MONEY, &format!("the {n} reward"));
                        None
                    } else {
                        Some(e)
                    }
                });
                ok &= e.is_some();
                if n == "individual" {
                    individual = e
                } else {
                    social = e
                }
            }
            _ => {
                let mut d =
                    Diagnostic::error(codes::REWARD, format!("unknown reward binding `{n}`"))
                        .label(src, b.name.span, "not a reward binding");
                d = match did_you_mean(n, BINDINGS.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("the reward binds mix, individual and social"),
                };
                ctx.diags.push(d);
                ok = false;
            }
        }
    }
    if mix.is_none() && ok {
        ctx.diags.push(
            Diagnostic::error(codes::MISSING_PROPERTY, "the reward has no `mix`")
                .label(src, r.span, "add `mix = 0.5`")
                .help("mix weighs the social term: r = (1 - mix) * individual + mix * social"),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    let n = built.households.len() as f64;
    Some(Reward {
        mix: mix?,
        individual: individual.unwrap_or(RewardExpr::Neg(Box::new(RewardExpr::Bill))),
        social: social.unwrap_or(RewardExpr::Div(
            Box::new(RewardExpr::Neg(Box::new(RewardExpr::Cost))),
            Box::new(RewardExpr::Const(n)),
        )),
    })
}

fn reward_expr(ctx: &mut Ctx, m: usize, e: &Expr, built: &Built) -> Option<(RewardExpr, Dim)> {
    let src = ctx.modules[m].source;
    match e {
        Expr::Quantity(_) => {
            let t = ctx.eval(
                Scope {
                    module: m,
                    params: &[],
                },
                e,
            )?;
            match t.val {
                super::eval::Val::Num(v) => Some((RewardExpr::Const(v), t.dim)),
                super::eval::Val::Sig(_) => None,
            }
        }
        Expr::Paren(inner, _) => reward_expr(ctx, m, inner, built),
        Expr::Neg(inner, _) => {
            reward_expr(ctx, m, inner, built).map(|(x, d)| (RewardExpr::Neg(Box::new(x)), d))
        }
        Expr::Binary(b) => {
            let l = reward_expr(ctx, m, &b.lhs, built);
            let r = reward_expr(ctx, m, &b.rhs, built);
            let ((l, ld), (r, rd)) = (l?, r?);
            let (dim, node) = match b.op {
                BinOp::Add | BinOp::Sub => {
                    if ld != rd {
                        ctx.diags.push(
                            Diagnostic::error(
                                codes::UNIT_MISMATCH,
                                format!("cannot combine {} and {}", ld.describe(), rd.describe()),
                            )
                            .label(src, b.lhs.span(), ld.describe())
                            .label(src, b.rhs.span(), rd.describe()),
                        );
                        return None;
                    }
                    (
                        ld,
                        if b.op == BinOp::Add {
                            RewardExpr::Add(Box::new(l), Box::new(r))
                        } else {
                            RewardExpr::Sub(Box::new(l), Box::new(r))
                        },
                    )
                }
                BinOp::Mul => (ld.mul(rd), RewardExpr::Mul(Box::new(l), Box::new(r))),
                BinOp::Div => {
                    if r == RewardExpr::Const(0.0) {
                        ctx.diags.push(
                            Diagnostic::error(codes::OUT_OF_RANGE, "division by zero").label(
                                src,
                                b.rhs.span(),
                                "this is zero",
                            ),
                        );
                        return None;
                    }
                    (ld.div(rd), RewardExpr::Div(Box::new(l), Box::new(r)))
                }
            };
            Some((node, dim))
        }
        Expr::Path(p) => {
            ctx.diags.push(
                Diagnostic::error(
                    codes::REWARD,
                    format!("`{}` cannot be used in a reward", p.dotted()),
                )
                .label(src, p.span, "not a reward term")
                .help(format!("use {SIGNATURES} and numbers")),
            );
            None
        }
        Expr::Call(c) => {
            let arg_path = match c.args.as_slice() {
                [a] if a.name.is_none() => match &a.value {
                    Expr::Path(p) => Some(p),
                    _ => None,
                },
                _ => None,
            };
            let name = c.callee.name.as_str();
            if !FUNCTIONS.contains(&name) {
                let mut d =
                    Diagnostic::error(codes::REWARD, format!("unknown reward function `{name}`"))
                        .label(src, c.callee.span, "not a reward function");
                d = match did_you_mean(name, FUNCTIONS.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("reward functions: {SIGNATURES}")),
                };
                ctx.diags.push(d);
                return None;
            }
            let Some(arg) = arg_path else {
                ctx.diags.push(
                    Diagnostic::error(
                        codes::ARITY,
                        format!("`{name}` takes one name as its argument"),
                    )
                    .label(src, c.span, "wrong arguments")
                    .help(SIGNATURES),
                );
                return None;
            };
            let a = arg.dotted();
            match name {
                "bill" if a == "self" => Some((RewardExpr::Bill, Dim::MONEY)),
                "bill" => {
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::REWARD,
                            "`bill` takes `self`: agents see only their own bill",
                        )
                        .label(src, arg.span, "write `self`"),
                    );
                    None
                }
                "cost" | "peak" | "marginal" | "externality" if a == built.network.name => Some((
                    match name {
                        "cost" => RewardExpr::Cost,
                        "peak" => RewardExpr::Peak,
                        "marginal" => RewardExpr::Marginal,
                        _ => RewardExpr::Externality,
                    },
                    Dim::MONEY,
                )),
                "cost" | "peak" | "marginal" | "externality" => {
                    ctx.diags.push(
                        Diagnostic::error(codes::REWARD, format!("`{a}` is not the network"))
                            .label(src, arg.span, "expected the network's name")
                            .help(format!("write `{name}({})`", built.network.name)),
                    );
                    None
                }
                _ => {
                    let (tm, def) = ctx.lookup_kind(m, arg, DefKind::Template)?;
                    let n: usize = built
                        .arrays
                        .iter()
                        .filter(|x| x.template == (tm, def.item))
                        .map(|x| x.count)
                        .sum();
                    if n == 0 {
                        ctx.diags.push(
                            Diagnostic::error(
                                codes::REWARD,
                                format!("no household uses template `{a}`"),
                            )
                            .label(src, arg.span, "count would be 0"),
                        );
                        return None;
                    }
                    Some((RewardExpr::Const(n as f64), Dim::NONE))
                }
            }
        }
    }
}
