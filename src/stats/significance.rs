//! Two-sided significance tests (Welch's t, Mann–Whitney U) and Holm's correction.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::descriptive::estimators;
use super::{check_sample, finite, StatsError};

/// Exact Mann–Whitney p-values are used when there are no ties and both samples have at
/// most this many values; otherwise the normal approximation.
pub const MWU_EXACT_MAX_N: usize = 50;

/// How a p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PValueMethod {
    /// Student's t distribution with the reported `df` (Welch).
    StudentT,
    /// The exact null distribution of the statistic (Mann–Whitney without ties).
    Exact,
    /// Normal approximation with tie and continuity correction (Mann–Whitney).
    NormalApprox,
    /// Zero spread, the p-value is 0 or 1 by definition (see the test's docs).
    Degenerate,
}

/// Result of a two-sided test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// The test statistic (t for Welch, U₁ of the first sample for Mann–Whitney).
    pub statistic: f64,
    /// Degrees of freedom, where the reference distribution has them.
    pub df: Option<f64>,
    /// Two-sided p-value in [0, 1].
    pub p_value: f64,
    pub method: PValueMethod,
}

/// Welch's unequal-variances t-test, two-sided
/// (`scipy.stats.ttest_ind(a, b, equal_var=False)`).
///
/// t = (ā − b̄) / √(s²ₐ/nₐ + s²_b/n_b), with sample variances (n − 1);
/// Welch–Satterthwaite df ν = (s²ₐ/nₐ + s²_b/n_b)² / ((s²ₐ/nₐ)²/(nₐ−1) + (s²_b/n_b)²/(n_b−1));
/// p = 2·P(T_ν ≥ |t|). t > 0 means `a` has the larger mean (for costs: `a` is worse).
///
/// Degenerate case, when the standard error is 0 (both samples constant): equal means give
/// t = 0, p = 1; different means give t = ±∞ (sign of ā − b̄), p = 0. Both have `df: None`
/// and [`PValueMethod::Degenerate`]. (scipy returns NaN for the first case.)
///
/// Needs nₐ, n_b ≥ 2 and finite values; `Err(Overflow)` if an intermediate overflows.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    check_sample(a, 2)?;
    check_sample(b, 2)?;
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let diff = finite(estimators::mean(a) - estimators::mean(b))?;
    // standard errors of the two means; computed from s (not s²) so squares never overflow
    let ea = finite(estimators::std_dev(a))? / na.sqrt();
    let eb = finite(estimators::std_dev(b))? / nb.sqrt();
    let se = ea.hypot(eb);
    if se == 0.0 {
        let (statistic, p_value) = if diff == 0.0 {
            (0.0, 1.0)
        } else {
            (f64::INFINITY.copysign(diff), 0.0)
        };
        return Ok(TestResult {
            statistic,
            df: None,
            p_value,
            method: PValueMethod::Degenerate,
        });
    }
    let t = finite(diff / se)?;
    let m = ea.max(eb);
    let (x, y) = (ea / m, eb / m);
    let df = finite((x * x + y * y).powi(2) / (x.powi(4) / (na - 1.0) + y.powi(4) / (nb - 1.0)))?;
    let dist = StudentsT::new(0.0, 1.0, df)
        .map_err(|_| StatsError::InvalidArgument("degrees of freedom"))?;
    let p_value = (2.0 * dist.sf(t.abs())).clamp(0.0, 1.0);
    Ok(TestResult {
        statistic: t,
        df: Some(df),
        p_value,
        method: PValueMethod::StudentT,
    })
}

/// Mann–Whitney U test (Wilcoxon rank-sum), two-sided.
///
/// Ranks 1..n₁+n₂ of the pooled sample, ties get the mean of their ranks; R₁ is the sum of
/// the ranks of `a`; the statistic is U₁ = R₁ − n₁(n₁+1)/2 (scipy's convention) = the
/// number of pairs with aᵢ > bⱼ plus half the ties. U₁ > n₁n₂/2 means `a` tends to be larger.
///
/// p-value: **exact** when there are no ties and n₁, n₂ ≤ [`MWU_EXACT_MAX_N`] (= 50):
/// p = min(1, 2·P(U ≤ min(U₁, U₂))) under the null distribution of U (U₂ = n₁n₂ − U₁),
/// counted exactly with the q-binomial coefficient [n₁+n₂ choose n₁]_q
/// (= `scipy.stats.mannwhitneyu(a, b, method='exact')`). Otherwise the **normal
/// approximation** with tie and continuity correction (= `method='asymptotic'`,
/// `use_continuity=True`): U = max(U₁, U₂), μ = n₁n₂/2,
/// σ = √(n₁n₂/12 · ((n+1) − Σ(tₖ³ − tₖ)/(n(n−1)))) over tie-group sizes tₖ,
/// z = (U − μ − ½)/σ, p = min(1, 2·(1 − Φ(z))); σ = 0 (all values equal) gives p = 1.
/// Note scipy's `method='auto'` uses the exact test only when min(n₁, n₂) ≤ 8; ours is
/// exact up to 50 per sample, which covers typical seed counts.
///
/// Needs n₁, n₂ ≥ 1 and finite values.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    check_sample(a, 1)?;
    check_sample(b, 1)?;
    let (n1, n2) = (a.len(), b.len());
    let (r1, tie_sizes) = rank_sum_first(a, b);
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let nn = (n1 * n2) as f64;
    let u2 = nn - u1;
    if tie_sizes.is_empty() && n1 <= MWU_EXACT_MAX_N && n2 <= MWU_EXACT_MAX_N {
        let counts = u_null_counts(n1, n2);
        let total: u128 = counts.iter().sum();
        let k = u1.min(u2).round() as usize;
        let tail: u128 = counts[..=k].iter().sum();
        let p_value = (2.0 * tail as f64 / total as f64).min(1.0);
        return Ok(TestResult {
            statistic: u1,
            df: None,
            p_value,
            method: PValueMethod::Exact,
        });
    }
    let n = (n1 + n2) as f64;
    let tie_term: f64 = tie_sizes
        .iter()
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .sum();
    let var = nn / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    let (p_value, method) = if var <= 0.0 {
        (1.0, PValueMethod::Degenerate)
    } else {
        let z = (u1.max(u2) - nn / 2.0 - 0.5) / var.sqrt();
        let normal = Normal::standard();
        (
            (2.0 * normal.sf(z)).clamp(0.0, 1.0),
            PValueMethod::NormalApprox,
        )
    };
    Ok(TestResult {
        statistic: u1,
        df: None,
        p_value,
        method,
    })
}

/// Sum of the (mid-)ranks of `a` in the pooled sample, and the sizes (> 1) of tie groups.
fn rank_sum_first(a: &[f64], b: &[f64]) -> (f64, Vec<usize>) {
    let mut pooled: Vec<(f64, bool)> = a.iter().map(|&v| (v, true)).collect();
    pooled.extend(b.iter().map(|&v| (v, false)));
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (mut r1, mut ties) = (0.0, Vec::new());
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i + 1;
        // `==` (not total_cmp) so that −0.0 and 0.0 tie
        while j < pooled.len() && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        // positions i..j hold ranks i+1..=j, mean (i + 1 + j) / 2
        let rank = (i + 1 + j) as f64 / 2.0;
        r1 += rank * pooled[i..j].iter().filter(|p| p.1).count() as f64;
        if j - i > 1 {
            ties.push(j - i);
        }
        i = j;
    }
    (r1, ties)
}

/// Null distribution of U for sample sizes m, n without ties: `c[u]` = number of the
/// C(m+n, m) equally likely arrangements with U = u. These are the coefficients of the
/// Gaussian binomial [m+n choose m]_q = Πᵢ₌₁..ₘ (1 − q^{n+i}) / (1 − q^i), built factor by
/// factor; every partial product is itself a Gaussian binomial, so all divisions are exact
/// and all values fit in i128 (C(100, 50) ≈ 1e29).
fn u_null_counts(m: usize, n: usize) -> Vec<u128> {
    let deg = m * n;
    let mut c = vec![0i128; deg + 1];
    c[0] = 1;
    for i in 1..=m {
        // multiply by (1 − q^{n+i})
        for k in (n + i..=deg).rev() {
            c[k] -= c[k - n - i];
        }
        // divide by (1 − q^i): c[k] += c[k − i], ascending
        for k in i..=deg {
            c[k] += c[k - i];
        }
    }
    c.into_iter().map(|v| v.max(0) as u128).collect()
}

/// Holm–Bonferroni step-down adjusted p-values, returned in the input order
/// (as R's `p.adjust(p, "holm")` and statsmodels' `multipletests(p, method='holm')`).
///
/// With the m p-values sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎ (ties in input order), the
/// adjusted value of p₍ᵢ₎ is maxⱼ≤ᵢ min(1, (m − j + 1)·p₍ⱼ₎): monotone in the sorted order,
/// ≥ the raw value, ≤ 1. Reject hypothesis i at family-wise level α iff its adjusted p ≤ α.
///
/// Empty input gives an empty vector. Errors: NaN/±∞ (`NonFinite`) or a value outside
/// [0, 1] (`InvalidArgument`).
pub fn holm(p_values: &[f64]) -> Result<Vec<f64>, StatsError> {
    if let Some(index) = p_values.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite { index });
    }
    if p_values.iter().any(|&p| !(0.0..=1.0).contains(&p)) {
        return Err(StatsError::InvalidArgument("p-values must be in [0, 1]"));
    }
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let factor = (m - rank) as f64;
        running = running.max((factor * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    Ok(adjusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_null_distribution_by_hand() {
        // m = n = 2: the 6 arrangements of {a, a, b, b} have U = 0, 1, 2, 2, 3, 4
        assert_eq!(u_null_counts(2, 2), vec![1, 1, 2, 1, 1]);
        // m = 1, n = 3: U ∈ {0, 1, 2, 3} once each
        assert_eq!(u_null_counts(1, 3), vec![1, 1, 1, 1]);
        // symmetric and summing to C(m+n, m) for larger sizes; C(100, 50) fits
        let c = u_null_counts(50, 50);
        assert!(c.iter().zip(c.iter().rev()).all(|(x, y)| x == y));
        let total: u128 = c.iter().sum();
        assert_eq!(total, 100891344545564193334812497256);
    }

    #[test]
    fn mann_whitney_by_hand() {
        // a = [1, 2], b = [3, 4]: ranks of a are 1, 2 → R₁ = 3, U₁ = 3 − 3 = 0;
        // P(U ≤ 0) = 1/6 (see above), p = 2/6
        let r = mann_whitney_u(&[1.0, 2.0], &[3.0, 4.0]).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert!((r.p_value - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(r.method, PValueMethod::Exact);
        // a = [1, 3], b = [2, 4]: R₁ = 1 + 3 = 4, U₁ = 1, min(U₁, U₂) = 1;
        // P(U ≤ 1) = 2/6 → p = 4/6
        let r = mann_whitney_u(&[1.0, 3.0], &[2.0, 4.0]).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert!((r.p_value - 2.0 / 3.0).abs() < 1e-15);
        // ties: a = [1, 2], b = [2, 3]: pooled 1, 2, 2, 3 → ranks 1, 2.5, 2.5, 4;
        // R₁ = 3.5, U₁ = 0.5; normal approximation
        let r = mann_whitney_u(&[1.0, 2.0], &[2.0, 3.0]).unwrap();
        assert_eq!(r.statistic, 0.5);
        assert_eq!(r.method, PValueMethod::NormalApprox);
        // all values equal: σ = 0 → p = 1
        let r = mann_whitney_u(&[1.0, 1.0], &[1.0]).unwrap();
        assert_eq!((r.statistic, r.p_value), (1.0, 1.0));
        assert_eq!(r.method, PValueMethod::Degenerate);
    }

    #[test]
    fn welch_by_hand() {
        // a = [1, 2, 3]: mean 2, s² = 1; b = [4, 5, 6, 7, 8]: mean 6, s² = 10/4 = 2.5
        // se² = 1/3 + 2.5/5 = 5/6; t = −4 / √(5/6)
        // ν = (5/6)² / ((1/3)²/2 + (1/2)²/4) = (25/36) / (1/18 + 1/16) = (25/36)/(17/144) = 100/17
        let r = welch_t_test(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0, 8.0]).unwrap();
        assert!((r.statistic + 4.0 / (5.0f64 / 6.0).sqrt()).abs() < 1e-12);
        assert!((r.df.unwrap() - 100.0 / 17.0).abs() < 1e-12);
        assert!(r.p_value > 0.0 && r.p_value < 0.01);
        assert_eq!(r.method, PValueMethod::StudentT);
    }

    #[test]
    fn welch_zero_variance() {
        let r = welch_t_test(&[2.0, 2.0], &[2.0, 2.0, 2.0]).unwrap();
        assert_eq!((r.statistic, r.df, r.p_value), (0.0, None, 1.0));
        assert_eq!(r.method, PValueMethod::Degenerate);
        let r = welch_t_test(&[1.0, 1.0], &[2.0, 2.0, 2.0]).unwrap();
        assert_eq!(
            (r.statistic, r.df, r.p_value),
            (f64::NEG_INFINITY, None, 0.0)
        );
        let r = welch_t_test(&[3.0, 3.0], &[2.0, 2.0]).unwrap();
        assert_eq!(r.statistic, f64::INFINITY);
        // one constant group is not degenerate: ν = n − 1 of the other group
        let r = welch_t_test(&[1.0, 1.0, 1.0], &[0.0, 1.0, 2.0, 3.0]).unwrap();
        assert!((r.df.unwrap() - 3.0).abs() < 1e-12);
    }

    #[test]
    fn holm_by_hand() {
        // m = 4, sorted 0.01, 0.02, 0.03, 0.5 → 4·0.01 = 0.04, max(0.04, 3·0.02 = 0.06),
        // max(0.06, 2·0.03 = 0.06), max(0.06, 0.5) → [0.04, 0.06, 0.06, 0.5], input order
        let adj = holm(&[0.03, 0.5, 0.01, 0.02]).unwrap();
        let want = [0.06, 0.5, 0.04, 0.06];
        for (x, w) in adj.iter().zip(want) {
            assert!((x - w).abs() < 1e-15, "{adj:?}");
        }
        // capped at 1: 2·0.7 = 1.4 → 1
        assert_eq!(holm(&[0.7, 0.9]).unwrap(), vec![1.0, 1.0]);
        assert_eq!(holm(&[]).unwrap(), Vec::<f64>::new());
        assert!(holm(&[0.1, 1.5]).is_err());
        assert_eq!(holm(&[f64::NAN]), Err(StatsError::NonFinite { index: 0 }));
    }

    #[test]
    fn tests_reject_degenerate_input() {
        assert_eq!(welch_t_test(&[], &[1.0, 2.0]), Err(StatsError::Empty));
        assert_eq!(
            welch_t_test(&[1.0], &[1.0, 2.0]),
            Err(StatsError::TooFew { needed: 2, got: 1 })
        );
        assert_eq!(mann_whitney_u(&[1.0], &[]), Err(StatsError::Empty));
        assert_eq!(
            mann_whitney_u(&[1.0], &[f64::NAN]),
            Err(StatsError::NonFinite { index: 0 })
        );
        assert_eq!(
            welch_t_test(&[-f64::MAX, f64::MAX], &[0.0, 1.0]),
            Err(StatsError::Overflow)
        );
    }
}
