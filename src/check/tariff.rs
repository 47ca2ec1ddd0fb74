//! Tariffs: import price (flat, time-of-use schedule or dynamic profile), export price,
//! individual demand charge and carbon intensity.

use super::eval::{Scope, Val};
use super::units::Dim;
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::model::{Price, Signal, Tariff};
use crate::source::Span;
use crate::syntax::ast::{self, Clock, Price as AstPrice, TariffStmt};

impl Ctx<'_> {
    pub fn check_tariff(&mut self, m: usize, t: &ast::TariffDef) -> Option<Tariff> {
        let src = self.modules[m].source;
        let scope = Scope {
            module: m,
            params: &[],
        };
        let mut import: Option<(Option<Price>, Span)> = None;
        let mut export: Option<(Option<Price>, Span)> = None;
        let mut demand = None;
        let mut carbon = None;
        let mut ok = true;
        let mut seen_once: Vec<(&str, Span)> = Vec::new();
        for s in &t.stmts {
            let once = match s {
                TariffStmt::DemandCharge { .. } => Some("demand_charge"),
                TariffStmt::Carbon(..) => Some("carbon"),
                _ => None,
            };
            if let Some(key) = once {
                if let Some((_, prev)) = seen_once.iter().find(|(k, _)| *k == key) {
                    self.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE,
                            format!("the tariff sets `{key}` twice"),
                        )
                        .label(src, s.span(), "second time")
                        .label(src, *prev, "first time"),
                    );
                    ok = false;
                    continue;
                }
                seen_once.push((key, s.span()));
            }
            let (slot, key) = match s {
                TariffStmt::Import(..) => (&mut import, "import"),
                TariffStmt::Export(..) => (&mut export, "export"),
                TariffStmt::DemandCharge { rate, period, .. } => {
                    if period.name != "day" {
                        self.diags.push(
                            Diagnostic::error(
                                codes::OUT_OF_RANGE,
                                format!(
                                    "demand charges are settled per day, not per `{}`",
                                    period.name
                                ),
                            )
                            .label(src, period.span, "write `per day`"),
                        );
                        ok = false;
                    }
                    match self.eval_const(scope, rate, Dim::POWER_RATE, "a demand charge") {
                        Some(v) if v >= 0.0 => demand = Some(v),
                        Some(_) => {
                            self.negative(src, rate.span(), "a demand charge");
                            ok = false;
                        }
                        None => ok = false,
                    }
                    continue;
                }
                TariffStmt::Carbon(e, _) => {
                    if let Some(t) = self.eval(scope, e) {
                        if self.expect_typed(src, e, &t, Dim::CARBON, "carbon intensity") {
                            carbon = Some(match t.val {
                                Val::Num(v) => Signal::constant(v),
                                Val::Sig(s) => s,
                            });
                        } else {
                            ok = false;
                        }
                    } else {
                        ok = false;
                    }
                    continue;
                }
            };
            if let Some((_, prev)) = slot {
                let prev = *prev;
                self.diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE,
                        format!("the tariff sets the {key} price twice"),
                    )
                    .label(src, s.span(), "second time")
                    .label(src, prev, "first time"),
                );
                ok = false;
                continue;
            }
            let price = self.price(m, price_of(s), key);
            ok &= price.is_some();
            match s {
                TariffStmt::Import(..) => import = Some((price, s.span())),
                _ => export = Some((price, s.span())),
            }
        }
        let import = match import {
            Some((p, _)) => p,
            None => {
                self.diags.push(
                    Diagnostic::error(
                        codes::MISSING_PROPERTY,
                        format!("tariff `{}` has no import price", t.name.name),
                    )
                    .label(
                        src,
                        t.name.span,
                        "add `import 0.30 $/kWh` or an `import schedule { ... }`",
                    ),
                );
                None
            }
        };
        let export = match export {
            Some((p, _)) => p,
            None => Some(Price::Constant(0.0)),
        };
        if !ok {
            return None;
        }
        Some(Tariff {
            name: t.name.name.clone(),
            import: import?,
            export: export?,
            demand_charge_per_w_day: demand,
            carbon_kg_per_j: carbon,
        })
    }

    fn negative(&mut self, src: crate::source::SourceId, span: Span, what: &str) {
        self.diags.push(
            Diagnostic::error(codes::OUT_OF_RANGE, format!("{what} cannot be negative"))
                .label(src, span, "negative"),
        );
    }

    fn price(&mut self, m: usize, p: &AstPrice, key: &str) -> Option<Price> {
        let src = self.modules[m].source;
        let scope = Scope {
            module: m,
            params: &[],
        };
        let what = format!("the {key} price");
        match p {
            AstPrice::Expr(e) => {
                let t = self.eval(scope, e)?;
                if !self.expect_typed(src, e, &t, Dim::PRICE, &what) {
                    return None;
                }
                Some(match t.val {
                    Val::Num(v) => Price::Constant(v),
                    Val::Sig(s) => Price::Dynamic(s),
                })
            }
            AstPrice::Schedule(slots, span) => {
                let mut out = Vec::new();
                let mut ok = true;
                for s in slots {
                    let a = self.clock(src, &s.from, false);
                    let b = self.clock(src, &s.to, true);
                    let price = self.eval_const(scope, &s.price, Dim::PRICE, &what);
                    match (a, b, price) {
                        (Some(a), Some(b), Some(p)) if a < b => out.push((a, b, p, s.span)),
                        (Some(_), Some(_), Some(_)) => {
                            self.diags.push(
                                Diagnostic::error(codes::SCHEDULE, format!("slot {}..{} ends before it starts", s.from.text, s.to.text))
                                    .label(src, s.span, "empty slot")
                                    .help("slots cannot cross midnight: split `22:00..06:00` into `22:00..24:00` and `00:00..06:00`"),
                            );
                            ok = false;
                        }
                        _ => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                let mut sorted = out.clone();
                sorted.sort_by(|x, y| x.0.total_cmp(&y.0));
                let mut t = 0.0;
                let mut prev: Option<Span> = None;
                for (a, b, _, sp) in &sorted {
                    if *a < t {
                        let mut d = Diagnostic::error(codes::SCHEDULE, "schedule slots overlap")
                            .label(src, *sp, "overlaps the slot before");
                        if let Some(p) = prev {
                            d = d.label(src, p, "this slot");
                        }
                        self.diags.push(d);
                        return None;
                    }
                    if *a > t {
                        self.diags.push(
                            Diagnostic::error(
                                codes::SCHEDULE,
                                format!("schedule has no price from {} to {}", hhmm(t), hhmm(*a)),
                            )
                            .label(src, *span, "gap in this schedule")
                            .help("slots must cover 00:00..24:00"),
                        );
                        return None;
                    }
                    t = *b;
                    prev = Some(*sp);
                }
                if t < 86400.0 {
                    self.diags.push(
                        Diagnostic::error(
                            codes::SCHEDULE,
                            format!("schedule has no price from {} to 24:00", hhmm(t)),
                        )
                        .label(src, *span, "gap in this schedule")
                        .help("slots must cover 00:00..24:00"),
                    );
                    return None;
                }
                Some(Price::Schedule(
                    sorted.into_iter().map(|(a, b, p, _)| (a, b, p)).collect(),
                ))
            }
        }
    }

    /// Seconds after midnight; `24:00` only as an end.
    pub fn clock(&mut self, src: crate::source::SourceId, c: &Clock, end: bool) -> Option<f64> {
        let mut parts = c.text.split(':');
        let h: u32 = parts.next()?.parse().ok()?;
        let m: u32 = parts.next()?.parse().ok()?;
        let ok = m < 60 && (h < 24 || (h == 24 && m == 0 && end));
        if !ok {
            self.diags.push(
                Diagnostic::error(codes::BAD_DATE, format!("`{}` is not a clock time", c.text))
                    .label(src, c.span, "invalid")
                    .help(
                        "write HH:MM with 00:00 <= time < 24:00 (24:00 only as the end of a slot)",
                    ),
            );
            return None;
        }
        Some((h * 3600 + m * 60) as f64)
    }
}

fn price_of(s: &TariffStmt) -> &AstPrice {
    match s {
        TariffStmt::Import(p, _) | TariffStmt::Export(p, _) => p,
        _ => unreachable!("only import/export carry prices"),
    }
}

fn hhmm(t: f64) -> String {
    let m = (t / 60.0).round() as u32;
    format!("{:02}:{:02}", m / 60, m % 60)
}
