//! Hyper-parameters from the command line: `--hp name=value` overrides applied to a config
//! struct through its serde form (so every documented field is settable and unknown names
//! list the known ones), and every value range-checked against the config's `BOUNDS`.

use serde::Serialize;

/// The valid values of one numeric hyper-parameter (all must also be finite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// x > 0
    Positive,
    /// x ≥ 0
    NonNegative,
    /// 0 ≤ x ≤ 1
    Fraction,
    /// 0 < x ≤ 1
    PositiveFraction,
    /// a whole number ≥ 1 (counts)
    AtLeastOne,
    /// any finite value
    Finite,
}

impl Interval {
    pub fn contains(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Interval::Positive => x > 0.0,
                Interval::NonNegative => x >= 0.0,
                Interval::Fraction => (0.0..=1.0).contains(&x),
                Interval::PositiveFraction => x > 0.0 && x <= 1.0,
                Interval::AtLeastOne => x >= 1.0,
                Interval::Finite => true,
            }
    }
    /// As docs/algorithms.md writes it (a test holds the tables to this).
    pub fn text(self) -> &'static str {
        match self {
            Interval::Positive => "> 0",
            Interval::NonNegative => "≥ 0",
            Interval::Fraction => "[0, 1]",
            Interval::PositiveFraction => "(0, 1]",
            Interval::AtLeastOne => "≥ 1",
            Interval::Finite => "any",
        }
    }
    fn words(self) -> &'static str {
        match self {
            Interval::Positive => "must be positive",
            Interval::NonNegative => "must not be negative",
            Interval::Fraction => "must lie in [0, 1]",
            Interval::PositiveFraction => "must lie in (0, 1]",
            Interval::AtLeastOne => "must be at least 1",
            Interval::Finite => "must be finite",
        }
    }
}

/// Why a `--hp name=value` override was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HyperError {
    #[error("unknown hyper-parameter `{name}`; known: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
    #[error("hyper-parameter `{name}`: `{raw}` is not a number or boolean")]
    NotAValue { name: String, raw: String },
    #[error("hyper-parameter `{name}` expects {expected}, found `{raw}`")]
    WrongKind {
        name: String,
        expected: &'static str,
        raw: String,
    },
    #[error("hyper-parameter `{name}` {}, found `{raw}`", interval.words())]
    OutOfRange {
        name: String,
        raw: String,
        interval: Interval,
    },
    /// The config type does not round-trip through serde as a struct (a bug).
    #[error("hyper-parameters are not a struct")]
    NotAStruct,
    #[error("hyper-parameters: {0}")]
    Invalid(String),
}

/// Apply `name=value` overrides to `cfg` and check every overridden value against
/// `bounds` (one entry per numeric field; booleans have none).
pub fn apply_hyper<T: Serialize + serde::de::DeserializeOwned>(
    cfg: T,
    overrides: &[(String, String)],
    bounds: &[(&str, Interval)],
) -> Result<T, HyperError> {
    let mut v = serde_json::to_value(cfg).map_err(|_| HyperError::NotAStruct)?;
    let Some(map) = v.as_object_mut() else {
        return Err(HyperError::NotAStruct);
    };
    for (k, raw) in overrides {
        let Some(slot) = map.get_mut(k) else {
            return Err(HyperError::Unknown {
                name: k.clone(),
                known: map.keys().cloned().collect(),
            });
        };
        // Choices (enum fields) serialise as strings and are written bare: `agent_id=none`;
        // serde refuses a name that is not one of them.
        if slot.is_string() {
            let mut trial = map.clone();
            trial.insert(k.clone(), serde_json::Value::String(raw.clone()));
            serde_json::from_value::<T>(serde_json::Value::Object(trial))
                .map_err(|e| HyperError::Invalid(format!("`{k}`: {e}")))?;
            map.insert(k.clone(), serde_json::Value::String(raw.clone()));
            continue;
        }
        let parsed: serde_json::Value =
            serde_json::from_str(raw).map_err(|_| HyperError::NotAValue {
                name: k.clone(),
                raw: raw.clone(),
            })?;
        // Counts (usize fields) serialise as integers, f32 fields always with a fraction.
        let count = slot.is_u64();
        let expected = match &*slot {
            serde_json::Value::Bool(_) => "`true` or `false`",
            _ if count => "a whole number",
            _ => "a number",
        };
        let same_kind = matches!(
            (&*slot, &parsed),
            (serde_json::Value::Number(_), serde_json::Value::Number(_))
                | (serde_json::Value::Bool(_), serde_json::Value::Bool(_))
        );
        let whole_ok = !count || parsed.as_f64().is_some_and(|x| x.fract() == 0.0);
        if !same_kind || !whole_ok {
            return Err(HyperError::WrongKind {
                name: k.clone(),
                expected,
                raw: raw.clone(),
            });
        }
        if let (Some(x), Some((_, interval))) =
            (parsed.as_f64(), bounds.iter().find(|(n, _)| n == k))
        {
            if !interval.contains(x) {
                return Err(HyperError::OutOfRange {
                    name: k.clone(),
                    raw: raw.clone(),
                    interval: *interval,
                });
            }
        }
        *slot = parsed;
    }
    serde_json::from_value(v).map_err(|e| HyperError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::maddpg::MaddpgConfig;
    use crate::train::ppo::PpoConfig;

    /// Every numeric field has a bound, no bound names a missing field, and the
    /// defaults lie inside their bounds.
    fn bounds_cover<T: Serialize>(cfg: T, bounds: &[(&str, Interval)]) {
        let v = serde_json::to_value(cfg).unwrap();
        let map = v.as_object().unwrap();
        for (name, value) in map {
            if let Some(x) = value.as_f64() {
                let b = bounds.iter().find(|(n, _)| n == name);
                let (_, interval) = b.unwrap_or_else(|| panic!("`{name}` has no bound"));
                assert!(
                    interval.contains(x),
                    "default of `{name}` = {x} outside {interval:?}"
                );
            }
        }
        for (name, _) in bounds {
            assert!(
                map[*name].is_number(),
                "bound for `{name}`, which is not a numeric field"
            );
        }
    }

    #[test]
    fn every_numeric_hyper_parameter_has_a_bound() {
        bounds_cover(PpoConfig::default(), PpoConfig::BOUNDS);
        bounds_cover(MaddpgConfig::default(), MaddpgConfig::BOUNDS);
    }

    fn ppo(overrides: &[(&str, &str)]) -> Result<PpoConfig, HyperError> {
        let o: Vec<(String, String)> = overrides
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        apply_hyper(PpoConfig::default(), &o, PpoConfig::BOUNDS)
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_rule() {
        let e = ppo(&[("lr", "-1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hyper-parameter `lr` must be positive, found `-1`"
        );
        let e = ppo(&[("gamma", "1.5")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hyper-parameter `gamma` must lie in [0, 1], found `1.5`"
        );
        let e = ppo(&[("epochs", "0")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hyper-parameter `epochs` must be at least 1, found `0`"
        );
        let e = ppo(&[("hidden", "1.5")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hyper-parameter `hidden` expects a whole number, found `1.5`"
        );
        let e = ppo(&[("lr", "true")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hyper-parameter `lr` expects a number, found `true`"
        );
        let e = ppo(&[("value_norm", "1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hyper-parameter `value_norm` expects `true` or `false`, found `1`"
        );
    }

    #[test]
    fn counts_take_whole_numbers() {
        let o = [("warmup_steps".to_string(), "2.5".to_string())];
        let e = apply_hyper(MaddpgConfig::default(), &o, MaddpgConfig::BOUNDS).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hyper-parameter `warmup_steps` expects a whole number, found `2.5`"
        );
        let o = [("warmup_steps".to_string(), "-1".to_string())];
        let e = apply_hyper(MaddpgConfig::default(), &o, MaddpgConfig::BOUNDS).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hyper-parameter `warmup_steps` must not be negative, found `-1`"
        );
    }

    #[test]
    fn in_range_values_are_applied() {
        let c = ppo(&[
            ("lr", "0.001"),
            ("gamma", "1"),
            ("entropy_coef", "0"),
            ("value_norm", "false"),
        ])
        .unwrap();
        assert_eq!(
            (c.lr, c.gamma, c.entropy_coef, c.value_norm),
            (0.001, 1.0, 0.0, false)
        );
    }

    #[test]
    fn choices_are_written_bare_and_checked_against_their_names() {
        let c = ppo(&[("agent_id", "none"), ("mean_field_critic", "true")]).unwrap();
        assert_eq!(c.agent_id, crate::train::identity::AgentId::None);
        assert!(c.mean_field_critic);
        let e = ppo(&[("agent_id", "two_hot")]).unwrap_err().to_string();
        assert!(e.contains("`agent_id`") && e.contains("embedding"), "{e}");
    }
}
