//! Expressions → typed values: a number or a signal (a linear combination of profiles),
//! each with a physical dimension. Unit errors are found here.

use super::units::{self, Dim};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::model::{Signal, SignalTerm};
use crate::source::{SourceId, Span};
use crate::syntax::ast::{BinOp, Expr};
use crate::syntax::parse::number_text_value;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Num(f64),
    Sig(Signal),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    pub dim: Dim,
    pub val: Val,
}

impl Typed {
    pub fn num(dim: Dim, v: f64) -> Typed {
        Typed {
            dim,
            val: Val::Num(v),
        }
    }
}

/// Where names in an expression resolve.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub module: usize,
    /// Template parameters in scope (name, value).
    pub params: &'a [(String, Typed)],
}

impl Ctx<'_> {
    /// Evaluate; `None` after reporting a diagnostic.
    pub fn eval(&mut self, scope: Scope, e: &Expr) -> Option<Typed> {
        let src = self.modules[scope.module].source;
        match e {
            Expr::Quantity(q) => {
                let v = number_text_value(&q.number_text)?;
                match &q.unit {
                    None => Some(Typed::num(Dim::NONE, v)),
                    Some(u) => {
                        let (dim, scale) = units::unit_expr(u);
                        if !(v * scale).is_finite() {
                            self.diags.push(
                                Diagnostic::error(
                                    codes::NUMBER,
                                    "number too large to represent in SI units",
                                )
                                .label(
                                    src,
                                    q.span,
                                    "overflows a 64-bit float once converted",
                                ),
                            );
                            return None;
                        }
                        Some(Typed::num(dim, v * scale))
                    }
                }
            }
            Expr::Paren(inner, _) => self.eval(scope, inner),
            Expr::Neg(inner, _) => {
                let t = self.eval(scope, inner)?;
                Some(scale_typed(t, -1.0))
            }
            Expr::Path(p) => {
                if p.segments.len() == 1 {
                    if let Some((_, v)) =
                        scope.params.iter().find(|(n, _)| *n == p.segments[0].name)
                    {
                        return Some(v.clone());
                    }
                }
                self.resolve_profile_path(scope.module, p)
            }
            Expr::Call(c) => {
                self.diags.push(
                    Diagnostic::error(codes::UNSUPPORTED, format!("function `{}` cannot be used here", c.callee.name))
                        .label(src, c.callee.span, "not allowed in this expression")
                        .help(match c.callee.name.as_str() {
                            "uniform" | "normal" | "choice" => "samplers are arguments of array instances: `household h[8] on f (annual: uniform(3000 kWh, 6000 kWh))`",
                            "bill" | "cost" | "count" | "peak" => "bill, cost, count and peak are reward functions (the `reward` block)",
                            _ => "expressions here combine numbers with units, parameters and profiles",
                        }),
                );
                None
            }
            Expr::Binary(b) => {
                let l = self.eval(scope, &b.lhs);
                let r = self.eval(scope, &b.rhs);
                let (l, r) = (l?, r?);
                self.binary(src, b.op, l, r, b.lhs.span(), b.rhs.span(), b.span)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn binary(
        &mut self,
        src: SourceId,
        op: BinOp,
        l: Typed,
        r: Typed,
        ls: Span,
        rs: Span,
        span: Span,
    ) -> Option<Typed> {
        match op {
            BinOp::Add | BinOp::Sub => {
                if l.dim != r.dim {
                    self.diags.push(
                        Diagnostic::error(
                            codes::UNIT_MISMATCH,
                            format!(
                                "cannot {} {} and {}",
                                if op == BinOp::Add { "add" } else { "subtract" },
                                l.dim.describe(),
                                r.dim.describe()
                            ),
                        )
                        .label(src, ls, l.dim.describe())
                        .label(src, rs, r.dim.describe())
                        .help(match (&l.val, &r.val) {
                            // A profile next to a constant: the profile's `unit:` is the
                            // usual culprit (a price CSV declared `unit: kW`).
                            (Val::Sig(_), Val::Num(_)) | (Val::Num(_), Val::Sig(_))
                                if [l.dim, r.dim].contains(&Dim::PRICE) =>
                            {
                                let constant = if matches!(l.val, Val::Num(_)) { l.dim } else { r.dim };
                                format!(
                                    "both sides of `+` and `-` need the same unit; if the profile holds {}, declare it with `unit: {}`",
                                    constant.describe(),
                                    constant.preferred_unit().0
                                )
                            }
                            _ => "both sides of `+` and `-` need the same unit".to_string(),
                        }),
                    );
                    return None;
                }
                let sign = if op == BinOp::Add { 1.0 } else { -1.0 };
                let val = match (l.val, r.val) {
                    (Val::Num(a), Val::Num(b)) => Val::Num(a + sign * b),
                    (Val::Sig(mut s), Val::Num(b)) => {
                        s.constant += sign * b;
                        Val::Sig(s)
                    }
                    (Val::Num(a), Val::Sig(s)) => {
                        let mut s = scale_signal(s, sign);
                        s.constant += a;
                        Val::Sig(s)
                    }
                    (Val::Sig(mut a), Val::Sig(b)) => {
                        let b = scale_signal(b, sign);
                        a.constant += b.constant;
                        a.terms.extend(b.terms);
                        Val::Sig(a)
                    }
                };
                Some(Typed { dim: l.dim, val })
            }
            BinOp::Mul => {
                let dim = l.dim.mul(r.dim);
                match (l.val, r.val) {
                    (Val::Num(a), Val::Num(b)) => Some(Typed::num(dim, a * b)),
                    (Val::Sig(s), Val::Num(k)) | (Val::Num(k), Val::Sig(s)) => Some(Typed {
                        dim,
                        val: Val::Sig(scale_signal(s, k)),
                    }),
                    (Val::Sig(_), Val::Sig(_)) => {
                        self.diags.push(
                            Diagnostic::error(codes::UNSUPPORTED, "cannot multiply two profiles")
                                .label(src, span, "both sides vary over time")
                                .help("scale a profile by a number or parameter: `house * (annual / 1000 kWh)`"),
                        );
                        None
                    }
                }
            }
            BinOp::Div => {
                let dim = l.dim.div(r.dim);
                match (l.val, r.val) {
                    (_, Val::Num(b)) if b == 0.0 => {
                        self.diags.push(
                            Diagnostic::error(codes::OUT_OF_RANGE, "division by zero").label(
                                src,
                                rs,
                                "this is zero",
                            ),
                        );
                        None
                    }
                    (Val::Num(a), Val::Num(b)) => Some(Typed::num(dim, a / b)),
                    (Val::Sig(s), Val::Num(k)) => Some(Typed {
                        dim,
                        val: Val::Sig(scale_signal(s, 1.0 / k)),
                    }),
                    (_, Val::Sig(_)) => {
                        self.diags.push(
                            Diagnostic::error(codes::UNSUPPORTED, "cannot divide by a profile")
                                .label(src, rs, "this varies over time")
                                .help("profiles can be scaled by numbers, not divided by profiles"),
                        );
                        None
                    }
                }
            }
        }
    }

    /// Evaluate and require a constant of `dim`; returns the SI value.
    pub fn eval_const(&mut self, scope: Scope, e: &Expr, dim: Dim, what: &str) -> Option<f64> {
        let t = self.eval(scope, e)?;
        let src = self.modules[scope.module].source;
        if !self.expect_typed(src, e, &t, dim, what) {
            return None;
        }
        match t.val {
            Val::Num(v) => Some(v),
            Val::Sig(_) => {
                self.diags.push(
                    Diagnostic::error(
                        codes::UNSUPPORTED,
                        format!("{what} must be a constant, not a profile"),
                    )
                    .label(src, e.span(), "this varies over time"),
                );
                None
            }
        }
    }

    /// [`Ctx::expect_dim`] for an evaluated value: when the value is a profile, the help
    /// also points at the profile's `unit:` option (a price CSV declared `unit: kW`).
    pub fn expect_typed(
        &mut self,
        src: SourceId,
        e: &Expr,
        found: &Typed,
        expected: Dim,
        what: &str,
    ) -> bool {
        let varies = matches!(found.val, Val::Sig(_));
        self.expect_dim_of(src, e, found.dim, varies, expected, what)
    }

    /// Report a unit mismatch with a suggested fix; true when `found == expected`.
    pub fn expect_dim(
        &mut self,
        src: SourceId,
        e: &Expr,
        found: Dim,
        expected: Dim,
        what: &str,
    ) -> bool {
        self.expect_dim_of(src, e, found, false, expected, what)
    }

    fn expect_dim_of(
        &mut self,
        src: SourceId,
        e: &Expr,
        found: Dim,
        is_profile: bool,
        expected: Dim,
        what: &str,
    ) -> bool {
        if found == expected {
            return true;
        }
        let (want_unit, _) = expected.preferred_unit();
        let help = match e {
            Expr::Quantity(q) if q.unit.is_none() => {
                format!("add a unit: `{} {}`", q.number_text, want_unit)
            }
            Expr::Quantity(q) => format!("did you mean `{} {}`?", q.number_text, want_unit),
            _ if found.mul(Dim::TIME) == expected => {
                "multiply by a duration, e.g. `... * 1 h`".to_string()
            }
            _ if found.div(Dim::TIME) == expected => {
                "divide by a duration, e.g. `... / 1 h`".to_string()
            }
            _ if found.is_none() => format!("multiply by a quantity in {want_unit}"),
            _ if is_profile => format!(
                "write {what} in {want_unit}; if the profile holds {}, declare it with `unit: {want_unit}`",
                expected.describe()
            ),
            _ => format!("write {what} in {want_unit}"),
        };
        self.diags.push(
            Diagnostic::error(
                codes::UNIT_MISMATCH,
                format!(
                    "{what}: expected {}, found {}",
                    expected.describe(),
                    found.describe()
                ),
            )
            .label(src, e.span(), format!("this is {}", found.describe()))
            .help(help),
        );
        false
    }
}

pub fn scale_signal(mut s: Signal, k: f64) -> Signal {
    s.constant *= k;
    for t in &mut s.terms {
        t.scale *= k;
    }
    s
}

fn scale_typed(t: Typed, k: f64) -> Typed {
    let val = match t.val {
        Val::Num(v) => Val::Num(v * k),
        Val::Sig(s) => Val::Sig(scale_signal(s, k)),
    };
    Typed { dim: t.dim, val }
}

/// A signal that is exactly one profile at scale 1.
pub fn profile_signal(index: usize) -> Signal {
    Signal {
        constant: 0.0,
        terms: vec![SignalTerm {
            profile: index,
            scale: 1.0,
        }],
    }
}

/// A positive whole number (`seeds`, `budget`, an array's size) written as a constant.
pub fn whole(ctx: &mut Ctx, m: usize, value: &Expr, what: &str) -> Option<f64> {
    let src = ctx.modules[m].source;
    let v = ctx.eval_const(
        Scope {
            module: m,
            params: &[],
        },
        value,
        Dim::NONE,
        &format!("`{what}`"),
    )?;
    if v < 1.0 || v.fract() != 0.0 || v > 1e15 {
        ctx.diags.push(
            Diagnostic::error(
                codes::NUMBER,
                format!(
                    "`{what}` must be a positive whole number, found {}",
                    units::format_number(v)
                ),
            )
            .label(src, value.span(), "not a positive whole number"),
        );
        return None;
    }
    Some(v)
}
