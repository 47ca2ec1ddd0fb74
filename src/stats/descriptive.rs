//! Descriptive statistics: mean, median, sample standard deviation, interquartile mean.

use super::{check_sample, finite, StatsError};

/// Unchecked estimators `fn(&[f64]) -> f64` for use as bootstrap statistics
/// (`bootstrap_ci(&x, estimators::iqm, ..)`). They do not validate: an empty slice gives NaN
/// and non-finite input propagates. The checked functions in [`crate::stats`] use them.
pub mod estimators {
    /// Arithmetic mean Σxᵢ / n. If the sum overflows, Σ(xᵢ / n) is used instead.
    pub fn mean(x: &[f64]) -> f64 {
        let n = x.len() as f64;
        let s: f64 = x.iter().sum();
        if s.is_finite() {
            s / n
        } else {
            x.iter().map(|v| v / n).sum()
        }
    }

    /// Median: the middle order statistic (odd n) or the mean of the two middle ones (even n).
    pub fn median(x: &[f64]) -> f64 {
        let s = sorted(x);
        let n = s.len();
        if n == 0 {
            return f64::NAN;
        }
        if n % 2 == 1 {
            s[n / 2]
        } else {
            midpoint(s[n / 2 - 1], s[n / 2])
        }
    }

    /// Interquartile mean = `scipy.stats.trim_mean(x, 0.25)`: sort, drop
    /// k = ⌊n/4⌋ values from each end, average the remaining n − 2k.
    pub fn iqm(x: &[f64]) -> f64 {
        let s = sorted(x);
        let k = s.len() / 4;
        mean(&s[k..s.len() - k])
    }

    /// Sample standard deviation with n − 1 in the denominator; 0 for a constant sample,
    /// NaN for n < 2. Computed in two passes, scaled by the largest |xᵢ − x̄| so that
    /// squaring does not overflow.
    pub fn std_dev(x: &[f64]) -> f64 {
        let n = x.len();
        if n < 2 {
            return f64::NAN;
        }
        let (lo, hi) = x
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if lo == hi {
            return 0.0;
        }
        let m = mean(x);
        let scale = x.iter().map(|v| (v - m).abs()).fold(0.0, f64::max);
        if scale == 0.0 {
            return 0.0;
        }
        let ss: f64 = x.iter().map(|v| ((v - m) / scale).powi(2)).sum();
        scale * (ss / (n - 1) as f64).sqrt()
    }

    pub(crate) fn sorted(x: &[f64]) -> Vec<f64> {
        let mut s = x.to_vec();
        s.sort_by(f64::total_cmp);
        s
    }

    /// (a + b) / 2 without overflow.
    fn midpoint(a: f64, b: f64) -> f64 {
        let s = a + b;
        if s.is_finite() {
            s / 2.0
        } else {
            a / 2.0 + b / 2.0
        }
    }
}

/// Arithmetic mean x̄ = (1/n) Σ xᵢ. Needs n ≥ 1.
pub fn mean(x: &[f64]) -> Result<f64, StatsError> {
    check_sample(x, 1)?;
    finite(estimators::mean(x))
}

/// Median (same as `numpy.median`): the middle value of the sorted sample for odd n, the
/// mean of the two middle values for even n. Needs n ≥ 1.
pub fn median(x: &[f64]) -> Result<f64, StatsError> {
    check_sample(x, 1)?;
    finite(estimators::median(x))
}

/// Sample standard deviation s = √( Σ (xᵢ − x̄)² / (n − 1) ) (`numpy.std(x, ddof=1)`).
/// Needs n ≥ 2; exactly 0 when all values are equal. `Err(Overflow)` if s > f64::MAX.
pub fn std_dev(x: &[f64]) -> Result<f64, StatsError> {
    check_sample(x, 2)?;
    finite(estimators::std_dev(x))
}

/// Sample variance s² = Σ (xᵢ − x̄)² / (n − 1). Needs n ≥ 2.
pub fn variance(x: &[f64]) -> Result<f64, StatsError> {
    let s = std_dev(x)?;
    finite(s * s)
}

/// Interquartile mean, the rliable definition `scipy.stats.trim_mean(x, 0.25)`: sort the
/// sample, drop k = ⌊0.25·n⌋ values from *each* end and take the mean of the middle
/// n − 2k values. There is no fractional trimming: when n is not a multiple of 4, fewer than
/// 25 % are dropped (n = 10 drops 2 + 2 and averages 6 values; n ≤ 3 drops nothing, so the
/// IQM is the mean). Needs n ≥ 1. Robust to one outlying seed per tail for n ≥ 4.
pub fn iqm(x: &[f64]) -> Result<f64, StatsError> {
    check_sample(x, 1)?;
    finite(estimators::iqm(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + b.abs())
    }

    #[test]
    fn mean_median_by_hand() {
        // (1 + 2 + 6) / 3 = 3; sorted [1, 2, 6] → median 2
        assert_eq!(mean(&[2.0, 6.0, 1.0]), Ok(3.0));
        assert_eq!(median(&[2.0, 6.0, 1.0]), Ok(2.0));
        // even n: sorted [1, 2, 6, 10] → (2 + 6) / 2 = 4
        assert_eq!(median(&[10.0, 2.0, 6.0, 1.0]), Ok(4.0));
        assert_eq!(median(&[5.0]), Ok(5.0));
    }

    #[test]
    fn std_dev_by_hand() {
        // x = [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, Σ(x−5)² = 9+1+1+1+0+0+4+16 = 32,
        // s² = 32/7, s = √(32/7)
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!(close(std_dev(&x).unwrap(), (32.0f64 / 7.0).sqrt()));
        assert!(close(variance(&x).unwrap(), 32.0 / 7.0));
        // [1, 3]: mean 2, Σ = 1 + 1 = 2, s² = 2/1, s = √2
        assert!(close(std_dev(&[1.0, 3.0]).unwrap(), 2f64.sqrt()));
        // constant, even where the mean is inexact in binary
        assert_eq!(std_dev(&[0.1, 0.1, 0.1]), Ok(0.0));
    }

    #[test]
    fn std_dev_does_not_overflow_for_large_values() {
        // [−1e200, 1e200]: mean 0, s² = 2e400 / 1 (not representable), s = √2 · 1e200
        let s = std_dev(&[-1e200, 1e200]).unwrap();
        assert!(close(s, 2f64.sqrt() * 1e200));
        assert_eq!(variance(&[-1e200, 1e200]), Err(StatsError::Overflow));
        assert_eq!(std_dev(&[-f64::MAX, f64::MAX]), Err(StatsError::Overflow));
        // the mean of [MAX, MAX] is MAX, not ∞
        assert_eq!(mean(&[f64::MAX, f64::MAX]), Ok(f64::MAX));
        assert_eq!(median(&[f64::MAX, f64::MAX]), Ok(f64::MAX));
    }

    #[test]
    fn iqm_by_hand() {
        // n = 8: k = 2, sorted [1..8] → mean(3, 4, 5, 6) = 4.5
        let x = [8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0];
        assert_eq!(iqm(&x), Ok(4.5));
        // n = 10: k = ⌊2.5⌋ = 2, sorted [0, 1, 2, 3, 4, 5, 6, 7, 8, 100] → mean(2..=7) = 4.5
        let y = [100.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        assert_eq!(iqm(&y), Ok(4.5));
        // n = 3: k = 0 → plain mean (1 + 2 + 9) / 3 = 4
        assert_eq!(iqm(&[1.0, 2.0, 9.0]), Ok(4.0));
        // n = 5: k = 1 → mean(2, 3, 4) = 3 (the outlier 1000 is dropped)
        assert_eq!(iqm(&[1000.0, 3.0, 2.0, 1.0, 4.0]), Ok(3.0));
    }

    #[test]
    fn degenerate_input_is_an_error() {
        assert_eq!(mean(&[]), Err(StatsError::Empty));
        assert_eq!(median(&[]), Err(StatsError::Empty));
        assert_eq!(iqm(&[]), Err(StatsError::Empty));
        assert_eq!(
            std_dev(&[1.0]),
            Err(StatsError::TooFew { needed: 2, got: 1 })
        );
        assert_eq!(
            mean(&[1.0, f64::NAN]),
            Err(StatsError::NonFinite { index: 1 })
        );
        assert_eq!(
            iqm(&[f64::INFINITY]),
            Err(StatsError::NonFinite { index: 0 })
        );
    }
}
