//! Effect sizes: Cohen's d, Vargha–Delaney A₁₂, probability of improvement.

use super::descriptive::estimators;
use super::{check_sample, finite, StatsError};

/// Cohen's d with the pooled standard deviation:
/// d = (ā − b̄) / s_p, s_p = √( ((nₐ − 1)s²ₐ + (n_b − 1)s²_b) / (nₐ + n_b − 2) ),
/// sample variances with n − 1. d > 0 means `a` has the larger mean (for costs: `a` is
/// worse). Rules of thumb: |d| ≈ 0.2 small, 0.5 medium, 0.8 large.
///
/// Needs nₐ, n_b ≥ 2. `Err(ZeroVariance)` when both samples are constant (s_p = 0).
pub fn cohens_d(a: &[f64], b: &[f64]) -> Result<f64, StatsError> {
    check_sample(a, 2)?;
    check_sample(b, 2)?;
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let diff = finite(estimators::mean(a) - estimators::mean(b))?;
    let (sa, sb) = (
        finite(estimators::std_dev(a))?,
        finite(estimators::std_dev(b))?,
    );
    // s_p = m·√(((nₐ−1)(sₐ/m)² + (n_b−1)(s_b/m)²)/(nₐ+n_b−2)), m = max(sₐ, s_b): no overflow
    let m = sa.max(sb);
    if m == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let pooled = m
        * (((na - 1.0) * (sa / m).powi(2) + (nb - 1.0) * (sb / m).powi(2)) / (na + nb - 2.0))
            .sqrt();
    finite(diff / pooled)
}

/// Vargha–Delaney A₁₂ = P(A > B) + ½·P(A = B) for a value A drawn from `a` and B from `b`
/// independently and uniformly: (#{(i, j): aᵢ > bⱼ} + ½·#{(i, j): aᵢ = bⱼ}) / (nₐ·n_b).
///
/// 0.5 means no tendency; A₁₂ > 0.5 means `a` tends to be *larger*. A₁₂(a, b) + A₁₂(b, a) = 1
/// and A₁₂ = U₁ / (nₐn_b) with U₁ the Mann–Whitney statistic of `a`. Rules of thumb
/// (Vargha & Delaney 2000): |A₁₂ − 0.5| ≥ 0.06 small, 0.14 medium, 0.21 large.
/// Needs nₐ, n_b ≥ 1.
pub fn vargha_delaney_a12(a: &[f64], b: &[f64]) -> Result<f64, StatsError> {
    check_sample(a, 1)?;
    check_sample(b, 1)?;
    let mut wins = 0.0;
    for &x in a {
        for &y in b {
            if x > y {
                wins += 1.0;
            } else if x == y {
                wins += 0.5;
            }
        }
    }
    Ok(wins / (a.len() as f64 * b.len() as f64))
}

/// Probability of improvement: the probability that a random run (seed) of `a` beats a
/// random run of `b`, ties counted half.
///
/// With `lower_is_better` (costs): P(A < B) + ½·P(A = B) = A₁₂(b, a) = 1 − A₁₂(a, b).
/// Otherwise (rewards, scores): P(A > B) + ½·P(A = B) = A₁₂(a, b). This is rliable's
/// `probability_of_improvement` for one task (rliable's scores are higher-is-better, and it
/// averages this quantity over tasks); > 0.5 means `a` tends to be better.
/// Needs nₐ, n_b ≥ 1.
pub fn probability_of_improvement(
    a: &[f64],
    b: &[f64],
    lower_is_better: bool,
) -> Result<f64, StatsError> {
    if lower_is_better {
        check_sample(a, 1)?;
        vargha_delaney_a12(b, a)
    } else {
        vargha_delaney_a12(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohens_d_by_hand() {
        // a = [1, 2, 3]: mean 2, s² = 1; b = [4, 5, 6, 7, 8]: mean 6, s² = 2.5
        // s_p² = (2·1 + 4·2.5) / 6 = 12/6 = 2, d = (2 − 6) / √2 = −2√2
        let d = cohens_d(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0, 8.0]).unwrap();
        assert!((d + 2.0 * 2f64.sqrt()).abs() < 1e-12);
        // one constant sample: a = [1, 1], b = [0, 2]: s_p² = (0 + 1·2)/2 = 1, d = (1 − 1)/1
        assert_eq!(cohens_d(&[1.0, 1.0], &[0.0, 2.0]), Ok(0.0));
        assert_eq!(
            cohens_d(&[1.0, 1.0], &[2.0, 2.0]),
            Err(StatsError::ZeroVariance)
        );
        assert!(cohens_d(&[1.0], &[2.0, 3.0]).is_err());
    }

    #[test]
    fn a12_by_hand() {
        // a = [1, 2, 3], b = [2, 4]: pairs (a > b): (3, 2) → 1; ties: (2, 2) → ½;
        // A₁₂ = 1.5 / 6 = 0.25
        assert_eq!(vargha_delaney_a12(&[1.0, 2.0, 3.0], &[2.0, 4.0]), Ok(0.25));
        assert_eq!(vargha_delaney_a12(&[2.0, 4.0], &[1.0, 2.0, 3.0]), Ok(0.75));
        assert_eq!(vargha_delaney_a12(&[5.0], &[5.0]), Ok(0.5));
        assert_eq!(vargha_delaney_a12(&[], &[5.0]), Err(StatsError::Empty));
    }

    #[test]
    fn probability_of_improvement_follows_the_direction() {
        // costs: a = [1, 2] vs b = [3, 4] — a always cheaper → 1 when lower is better
        assert_eq!(
            probability_of_improvement(&[1.0, 2.0], &[3.0, 4.0], true),
            Ok(1.0)
        );
        assert_eq!(
            probability_of_improvement(&[1.0, 2.0], &[3.0, 4.0], false),
            Ok(0.0)
        );
        // same example as a12_by_hand: P(a < b) + ½P(a = b) = (4 + ½)/6 = 0.75
        let a = [1.0, 2.0, 3.0];
        let b = [2.0, 4.0];
        assert_eq!(probability_of_improvement(&a, &b, true), Ok(0.75));
        assert_eq!(
            probability_of_improvement(&[f64::NAN], &b, true),
            Err(StatsError::NonFinite { index: 0 })
        );
    }
}
