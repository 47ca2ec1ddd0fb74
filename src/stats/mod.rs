//! Statistics for experiment reports: descriptive statistics, percentile-bootstrap
//! confidence intervals, significance tests (Welch, Mann–Whitney, Holm) and effect sizes.
//!
//! Every function is a pure function of per-seed scores. **Seeds are the replicates**: a
//! run's score is one number per training seed (e.g. the mean cost over the held-out test
//! days), so "MAPPO vs greedy" compares e.g. 10 numbers with 10 numbers. Days within a seed
//! are not independent replicates (they share one trained policy) and must be averaged
//! first.
//!
//! The functions are generic in the direction of "better": each documents what a large
//! value means. For costs, lower is better; [`probability_of_improvement`] takes the
//! direction explicitly.
//!
//! Input contract: slices must be non-empty, have the documented minimum length and contain
//! only finite values (NaN and ±∞ are rejected with [`StatsError::NonFinite`]). No function
//! panics on any input; degenerate input gives an `Err`. docs/statistics.md states every
//! formula as implemented.

mod bootstrap;
mod descriptive;
mod effect;
mod significance;

#[cfg(test)]
mod proptests;

pub use bootstrap::{bootstrap_ci, bootstrap_diff_ci, Ci, DEFAULT_LEVEL, DEFAULT_RESAMPLES};
pub use descriptive::{estimators, iqm, mean, median, std_dev, variance};
pub use effect::{cohens_d, probability_of_improvement, vargha_delaney_a12};
pub use significance::{
    holm, mann_whitney_u, welch_t_test, PValueMethod, TestResult, MWU_EXACT_MAX_N,
};

/// Why a statistic could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// A sample (or list of p-values) was empty where at least one value is needed.
    #[error("empty sample")]
    Empty,
    /// The sample is shorter than the statistic needs (e.g. n < 2 for a variance).
    #[error("need at least {needed} values, got {got}")]
    TooFew { needed: usize, got: usize },
    /// The value at `index` is NaN or infinite.
    #[error("value at index {index} is NaN or infinite")]
    NonFinite { index: usize },
    /// A parameter is out of range (confidence level, resample count, p-value, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// Both samples have zero variance, so a standardised effect size is undefined.
    #[error("zero variance: the standardised effect size is undefined")]
    ZeroVariance,
    /// The bootstrap statistic returned NaN or ±∞ (on the sample or on a resample).
    #[error("the bootstrap statistic returned a non-finite value")]
    StatisticNotFinite,
    /// The result (or an intermediate such as a variance) does not fit in a finite f64.
    #[error("result overflows f64")]
    Overflow,
}

/// Checks that `x` is non-empty, all finite and at least `needed` long (in that order).
pub(crate) fn check_sample(x: &[f64], needed: usize) -> Result<(), StatsError> {
    if x.is_empty() {
        return Err(StatsError::Empty);
    }
    if let Some(index) = x.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite { index });
    }
    if x.len() < needed {
        return Err(StatsError::TooFew {
            needed,
            got: x.len(),
        });
    }
    Ok(())
}

/// `Ok(v)` if `v` is finite, otherwise `Err(Overflow)`.
pub(crate) fn finite(v: f64) -> Result<f64, StatsError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(StatsError::Overflow)
    }
}
