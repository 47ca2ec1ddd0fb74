//! Property tests: Holm's invariants, A₁₂ symmetry, no panics on arbitrary input.

use super::*;
use proptest::prelude::*;

/// Any f64 including NaN, ±∞, subnormals and extremes.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3f64..1e3,
        1 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(0.0),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
        1 => Just(f64::MIN_POSITIVE / 3.0),
    ]
}

fn sample(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(any_value(), 0..max)
}

fn finite_sample(min: usize) -> impl Strategy<Value = Vec<f64>> {
    // few distinct values so that ties are common
    prop::collection::vec(
        prop_oneof![-5i32..5, -1000i32..1000].prop_map(f64::from),
        min..30,
    )
}

proptest! {
    #[test]
    fn holm_is_bounded_and_monotone(p in prop::collection::vec(0.0f64..=1.0, 0..20)) {
        let adj = holm(&p).unwrap();
        prop_assert_eq!(adj.len(), p.len());
        for (a, raw) in adj.iter().zip(&p) {
            prop_assert!(a >= raw && *a <= 1.0);
        }
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
        for w in order.windows(2) {
            prop_assert!(adj[w[0]] <= adj[w[1]]);
        }
        // equal raw p-values get equal adjusted ones
        for i in 0..p.len() {
            for j in 0..p.len() {
                if p[i] == p[j] {
                    prop_assert_eq!(adj[i], adj[j]);
                }
            }
        }
    }

    #[test]
    fn a12_is_antisymmetric(a in finite_sample(1), b in finite_sample(1)) {
        let ab = vargha_delaney_a12(&a, &b).unwrap();
        let ba = vargha_delaney_a12(&b, &a).unwrap();
        prop_assert!((ab + ba - 1.0).abs() < 1e-12);
        prop_assert!((0.0..=1.0).contains(&ab));
        // A₁₂ = U₁ / (n₁n₂), and the probability of improvement is A₁₂ in the right direction
        let u = mann_whitney_u(&a, &b).unwrap();
        prop_assert!((u.statistic / (a.len() * b.len()) as f64 - ab).abs() < 1e-12);
        prop_assert_eq!(probability_of_improvement(&a, &b, false).unwrap(), ab);
        prop_assert_eq!(probability_of_improvement(&a, &b, true).unwrap(), ba);
    }

    #[test]
    fn p_values_are_probabilities(a in finite_sample(2), b in finite_sample(2)) {
        for r in [welch_t_test(&a, &b).unwrap(), mann_whitney_u(&a, &b).unwrap()] {
            prop_assert!((0.0..=1.0).contains(&r.p_value), "{:?}", r);
        }
        // swapping the samples flips the sign of t and keeps p
        let (ab, ba) = (welch_t_test(&a, &b).unwrap(), welch_t_test(&b, &a).unwrap());
        prop_assert_eq!(ab.statistic, -ba.statistic);
        prop_assert!((ab.p_value - ba.p_value).abs() < 1e-12);
        let (ab, ba) = (mann_whitney_u(&a, &b).unwrap(), mann_whitney_u(&b, &a).unwrap());
        prop_assert!((ab.p_value - ba.p_value).abs() < 1e-12);
    }

    #[test]
    fn iqm_lies_between_min_and_max(x in finite_sample(1)) {
        let v = iqm(&x).unwrap();
        let lo = x.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        prop_assert!(lo <= v && v <= hi);
        let m = median(&x).unwrap();
        prop_assert!(lo <= m && m <= hi);
    }

    #[test]
    fn nothing_panics(a in sample(12), b in sample(12), level in any_value(), seed in any::<u64>()) {
        let _ = (mean(&a), median(&a), std_dev(&a), variance(&a), iqm(&a));
        let _ = (welch_t_test(&a, &b), mann_whitney_u(&a, &b), holm(&a));
        let _ = (cohens_d(&a, &b), vargha_delaney_a12(&a, &b));
        let _ = probability_of_improvement(&a, &b, seed % 2 == 0);
        let _ = bootstrap_ci(&a, estimators::iqm, 20, level, seed);
        let _ = bootstrap_diff_ci(&a, &b, estimators::median, 20, level, seed);
        let _ = bootstrap_ci(&a, estimators::std_dev, 20, 0.9, seed);
        // results, where Ok, are not NaN
        if let Ok(r) = welch_t_test(&a, &b) {
            prop_assert!(!r.statistic.is_nan() && (0.0..=1.0).contains(&r.p_value));
        }
        if let Ok(r) = mann_whitney_u(&a, &b) {
            prop_assert!(!r.statistic.is_nan() && (0.0..=1.0).contains(&r.p_value));
        }
        if let Ok(d) = cohens_d(&a, &b) {
            prop_assert!(d.is_finite());
        }
    }
}
