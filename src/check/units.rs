//! Physical dimensions and unit conversion. A [`Dim`] is a vector of exponents over the
//! base quantities energy, time, money, peak power (kWp is its own dimension so that
//! `kWp * kW/kWp = kW` checks) and mass. Values inside a `Scenario` are SI: J, s, $, Wp, kg.

use crate::syntax::ast::UnitExpr;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dim(pub [i8; 5]);

impl Dim {
    pub const NONE: Dim = Dim([0; 5]);
    pub const ENERGY: Dim = Dim([1, 0, 0, 0, 0]);
    pub const TIME: Dim = Dim([0, 1, 0, 0, 0]);
    pub const MONEY: Dim = Dim([0, 0, 1, 0, 0]);
    pub const PEAK: Dim = Dim([0, 0, 0, 1, 0]);
    pub const MASS: Dim = Dim([0, 0, 0, 0, 1]);
    pub const POWER: Dim = Dim([1, -1, 0, 0, 0]);
    pub const PRICE: Dim = Dim([-1, 0, 1, 0, 0]); // $/kWh
    pub const POWER_RATE: Dim = Dim([-1, 1, 1, 0, 0]); // $/kW
    pub const YIELD: Dim = Dim([1, -1, 0, -1, 0]); // kW/kWp
    pub const CARBON: Dim = Dim([-1, 0, 0, 0, 1]); // kg/kWh

    pub fn mul(self, o: Dim) -> Dim {
        let mut d = self.0;
        for (i, v) in d.iter_mut().enumerate() {
            *v = v.saturating_add(o.0[i]);
        }
        Dim(d)
    }
    pub fn div(self, o: Dim) -> Dim {
        let mut d = self.0;
        for (i, v) in d.iter_mut().enumerate() {
            *v = v.saturating_sub(o.0[i]);
        }
        Dim(d)
    }
    pub fn pow(self, p: i8) -> Dim {
        Dim(self.0.map(|v| v.saturating_mul(p)))
    }
    pub fn is_none(self) -> bool {
        self == Dim::NONE
    }

    /// The unit gridc writes for this dimension, with its SI scale.
    pub fn preferred_unit(self) -> (String, f64) {
        for (d, u, s) in NAMED {
            if *d == self {
                return (u.to_string(), *s);
            }
        }
        // Compose from base units: kWh, h, $, kWp, kg.
        let base = [
            ("kWh", 3.6e6),
            ("h", 3600.0),
            ("$", 1.0),
            ("kWp", 1e3),
            ("kg", 1.0),
        ];
        let mut num = Vec::new();
        let mut den = Vec::new();
        let mut scale = 1.0;
        for (i, (u, s)) in base.iter().enumerate() {
            let e = self.0[i];
            if e != 0 {
                let part = if e.abs() == 1 {
                    u.to_string()
                } else {
                    format!("{u}^{}", e.abs())
                };
                if e > 0 {
                    num.push(part)
                } else {
                    den.push(part)
                }
                scale *= f64::powi(*s, e as i32);
            }
        }
        let n = if num.is_empty() {
            "1".to_string()
        } else {
            num.join("*")
        };
        let text = if den.is_empty() {
            n
        } else {
            format!("{n}/{}", den.join("/"))
        };
        (text, scale)
    }

    /// "power (kW)", "a plain number", ...
    pub fn describe(self) -> String {
        if self.is_none() {
            return "a plain number".to_string();
        }
        let (unit, _) = self.preferred_unit();
        match NAMES.iter().find(|(d, _)| *d == self) {
            Some((_, name)) => format!("{name} ({unit})"),
            None => format!("`{unit}`"),
        }
    }
}

const NAMED: &[(Dim, &str, f64)] = &[
    (Dim::POWER, "kW", 1e3),
    (Dim::ENERGY, "kWh", 3.6e6),
    (Dim::TIME, "h", 3600.0),
    (Dim::MONEY, "$", 1.0),
    (Dim::PEAK, "kWp", 1e3),
    (Dim::MASS, "kg", 1.0),
    (Dim::PRICE, "$/kWh", 1.0 / 3.6e6),
    (Dim::POWER_RATE, "$/kW", 1e-3),
    (Dim::YIELD, "kW/kWp", 1.0),
    (Dim::CARBON, "kg/kWh", 1.0 / 3.6e6),
];

const NAMES: &[(Dim, &str)] = &[
    (Dim::POWER, "power"),
    (Dim::ENERGY, "energy"),
    (Dim::TIME, "a duration"),
    (Dim::MONEY, "money"),
    (Dim::PEAK, "peak power"),
    (Dim::MASS, "mass"),
    (Dim::PRICE, "an energy price"),
    (Dim::POWER_RATE, "a power price"),
    (Dim::YIELD, "specific yield"),
    (Dim::CARBON, "carbon intensity"),
];

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.preferred_unit().0)
    }
}

/// Dimension and SI scale of one unit atom of the grammar.
pub fn atom(name: &str) -> Option<(Dim, f64)> {
    let d = |e: i8, t: i8, m: i8, p: i8, k: i8| Dim([e, t, m, p, k]);
    Some(match name {
        "W" => (Dim::POWER, 1.0),
        "kW" => (Dim::POWER, 1e3),
        "MW" => (Dim::POWER, 1e6),
        "GW" => (Dim::POWER, 1e9),
        "Wh" => (Dim::ENERGY, 3600.0),
        "kWh" => (Dim::ENERGY, 3.6e6),
        "MWh" => (Dim::ENERGY, 3.6e9),
        "GWh" => (Dim::ENERGY, 3.6e12),
        "Wp" => (Dim::PEAK, 1.0),
        "kWp" => (Dim::PEAK, 1e3),
        "MWp" => (Dim::PEAK, 1e6),
        "$" => (Dim::MONEY, 1.0),
        "ct" => (Dim::MONEY, 0.01),
        "kg" => (Dim::MASS, 1.0),
        "g" => (Dim::MASS, 1e-3),
        "s" => (Dim::TIME, 1.0),
        "min" => (Dim::TIME, 60.0),
        "h" => (Dim::TIME, 3600.0),
        "d" => (Dim::TIME, 86400.0),
        "steps" | "step" => (d(0, 0, 0, 0, 0), 1.0),
        "%" => (Dim::NONE, 0.01),
        _ => return None,
    })
}

/// Dimension and SI scale of a unit expression (`$/kWh` → price, 1/3.6e6).
pub fn unit_expr(u: &UnitExpr) -> (Dim, f64) {
    let mut dim = Dim::NONE;
    let mut scale = 1.0;
    for t in &u.terms {
        let (d, s) = atom(&t.atom).unwrap_or((Dim::NONE, 1.0));
        let (d, s) = (d.pow(t.power), s.powi(t.power as i32));
        if t.divide {
            dim = dim.div(d);
            scale /= s;
        } else {
            dim = dim.mul(d);
            scale *= s;
        }
    }
    (dim, scale)
}

/// Express an SI value in the preferred unit of its dimension, for messages and summaries.
pub fn show(value: f64, dim: Dim) -> String {
    let (unit, scale) = dim.preferred_unit();
    let v = value / scale;
    let num = format_number(v);
    if dim.is_none() {
        num
    } else {
        format!("{num} {unit}")
    }
}

/// A duration in the largest of h, min, s that states it as a whole number (`7 min`, not
/// `0.116667 h`).
pub fn show_time(seconds: f64) -> String {
    for (unit, scale) in [("h", 3600.0), ("min", 60.0)] {
        let v = seconds / scale;
        if v.fract() == 0.0 {
            return format!("{} {unit}", format_number(v));
        }
    }
    format!("{} s", format_number(seconds))
}

pub fn format_number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{:.6}", v);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "0" || s == "-0" {
            format!("{v:e}")
        } else {
            s.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_units_have_the_expected_dimension() {
        let (kw, s_kw) = atom("kW").unwrap();
        let (h, s_h) = atom("h").unwrap();
        let (kwh, s_kwh) = atom("kWh").unwrap();
        assert_eq!(kw.mul(h), kwh);
        assert!((s_kw * s_h - s_kwh).abs() < 1e-6);
        // $/kWh * kWh = $
        assert_eq!(Dim::PRICE.mul(Dim::ENERGY), Dim::MONEY);
        // kWp * kW/kWp = kW
        assert_eq!(Dim::PEAK.mul(Dim::YIELD), Dim::POWER);
        assert_eq!(Dim::POWER.describe(), "power (kW)");
        assert_eq!(Dim::NONE.describe(), "a plain number");
        assert_eq!(show(3.6e6, Dim::ENERGY), "1 kWh");
        assert_eq!(show(0.15 / 3.6e6, Dim::PRICE), "0.15 $/kWh");
    }

    #[test]
    fn unnamed_dimensions_compose_from_base_units() {
        let d = Dim::ENERGY.mul(Dim::ENERGY);
        assert_eq!(d.preferred_unit().0, "kWh^2");
        assert_eq!(Dim::MONEY.div(Dim::TIME).preferred_unit().0, "$/h");
    }

    #[test]
    fn every_unit_the_grammar_reads_has_a_dimension_and_parses() {
        for name in crate::syntax::UNIT_NAMES {
            assert!(atom(name).is_some(), "`{name}` has no dimension");
            let value = format!("2 {name}");
            let parsed = crate::syntax::parse_value(&value, crate::source::SourceId(0));
            assert!(parsed.is_ok(), "`{value}` does not parse");
        }
    }
}
