//! Reference values for `gridc::stats`, computed with SciPy 1.17.1 / NumPy 2.4.6 (not
//! needed in CI). Each literal has the Python call that produced it next to it, with
//! `import numpy as np, scipy.stats as st`.

// Random reference samples may look like constants (−1.0471 ≈ −π/3); case tables are tuples.
#![allow(clippy::approx_constant, clippy::type_complexity)]

use gridc::stats::*;

/// |got − want| ≤ tol · max(1, |want|)
#[track_caller]
fn close(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

/// Relative comparison for small p-values.
#[track_caller]
fn rel(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs(),
        "got {got}, want {want}"
    );
}

// Seeds-as-replicates example: mean test cost per seed (€/day) for two methods.
const MAPPO: [f64; 10] = [
    101.2, 99.8, 100.5, 98.9, 102.3, 100.1, 99.5, 101.0, 100.7, 99.9,
];
const GREEDY: [f64; 10] = [
    103.1, 102.4, 104.0, 101.9, 103.5, 102.8, 103.3, 102.2, 104.4, 103.0,
];

// Wikipedia, "Welch's t-test", Examples 1–3 (quoted there: t = −2.46, ν = 25.0,
// p = 0.021; t = −1.57, ν = 9.9, p = 0.149; t = −2.22, ν = 24.5, p = 0.036).
const W1A: [f64; 15] = [
    27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4,
];
const W1B: [f64; 15] = [
    27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4,
];
const W2A: [f64; 10] = [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8];
const W2B: [f64; 20] = [
    21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6, 21.5,
    22.5, 23.5, 21.5, 21.8,
];
const W3A: [f64; 10] = [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0];
const W3B: [f64; 20] = [
    28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9, 21.6,
    24.3, 20.4, 23.9, 13.3,
];

#[test]
fn welch_matches_scipy_and_the_textbook() {
    // st.ttest_ind(a, b, equal_var=False) → (statistic, pvalue, df)
    let cases: [(&[f64], &[f64], f64, f64, f64); 5] = [
        (
            &W1A,
            &W1B,
            -2.455356398286006,
            0.021378001462866992,
            24.988529290231416,
        ),
        (
            &W2A,
            &W2B,
            -1.5654335235985037,
            0.14884169660532817,
            9.904741248650831,
        ),
        (
            &W3A,
            &W3B,
            -2.225512039969852,
            0.035484530830010394,
            24.524634944257343,
        ),
        (
            &MAPPO,
            &GREEDY,
            -6.7713786366930675,
            3.035294691106991e-06,
            17.236518564423513,
        ),
        (
            &[1.0, 2.0, 3.0],
            &[4.0, 5.0, 6.0, 7.0, 8.0],
            -4.3817804600413295,
            0.004882634939494186,
            5.882352941176469,
        ),
    ];
    for (a, b, t, p, df) in cases {
        let r = welch_t_test(a, b).unwrap();
        close(r.statistic, t, 1e-12);
        close(r.df.unwrap(), df, 1e-12);
        rel(r.p_value, p, 1e-9);
        assert_eq!(r.method, PValueMethod::StudentT);
    }
    let r = welch_t_test(&W1A, &W1B).unwrap();
    assert_eq!(
        (
            (r.statistic * 100.0).round(),
            r.df.unwrap().round(),
            (r.p_value * 1000.0).round()
        ),
        (-246.0, 25.0, 21.0)
    );
}

#[test]
fn welch_against_a_constant_baseline_is_the_one_sample_t_test() {
    // A deterministic baseline scores the same on every seed.
    // st.ttest_1samp(MAPPO, 101.0) → (-1.9885431682483659, 0.07797938795415595, df 9)
    let r = welch_t_test(&MAPPO, &[101.0; 5]).unwrap();
    close(r.statistic, -1.9885431682483659, 1e-12);
    close(r.df.unwrap(), 9.0, 1e-12);
    rel(r.p_value, 0.07797938795415595, 1e-9);
}

#[test]
fn mann_whitney_exact_matches_scipy() {
    // no ties, n ≤ 50: st.mannwhitneyu(a, b, method='exact') → (statistic, pvalue)
    let w1a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6];
    let w1b = [
        27.1, 22.0, 20.8, 23.4, 25.8, 24.8, 20.2, 22.1, 22.9, 20.5, 24.4,
    ];
    let x30 = [
        0.0012, 0.2987, -0.2741, -0.8906, -0.4547, -0.9916, 0.0601, 1.3402, -0.4922, -0.6205,
        0.4898, 0.3569, 0.1054, -0.9305, -0.0293, 0.6953, -1.3442, -0.4576, -1.9012, -1.2895,
        -1.8417, -0.2351, -1.2674, 0.2713, 0.1568, -0.1869, -2.5168, -0.5387, -0.0485, 0.1133,
    ];
    let y25 = [
        -1.0301, 0.0222, -0.4785, -0.3088, 1.5609, -0.3075, 0.4675, 1.3844, -0.0836, 0.3883,
        0.6105, 0.5638, -0.7251, 0.5761, 1.8588, -1.0471, 1.3594, 0.6194, -0.1415, 2.5004, 1.2623,
        -0.6993, 0.5745, 1.0767, 0.3112,
    ];
    let cases: [(&[f64], &[f64], f64, f64); 6] = [
        (&MAPPO, &GREEDY, 2.0, 4.330035289787612e-05),
        (&w1a, &w1b, 29.0, 0.07200127014368501),
        (
            &[1.5, 3.2, 0.4, 2.2, 5.1, 4.4],
            &[2.9, 6.3, 3.3, 7.1, 5.5, 4.0, 8.2],
            7.0,
            0.05128205128205128,
        ),
        (&x30, &y25, 198.0, 0.0023856760270992),
        (&[1.0], &[2.0], 0.0, 1.0),
        (&[3.0, 1.0, 2.0], &[0.5], 3.0, 0.5),
    ];
    for (a, b, u, p) in cases {
        let r = mann_whitney_u(a, b).unwrap();
        assert_eq!(r.method, PValueMethod::Exact);
        assert_eq!(r.statistic, u);
        rel(r.p_value, p, 1e-12);
    }
}

#[test]
fn mann_whitney_asymptotic_matches_scipy() {
    // ties, or n > 50: st.mannwhitneyu(a, b, method='asymptotic', use_continuity=True)
    let x60 = [
        0.3456, 0.8216, 0.3304, -1.3032, 0.9054, 0.4464, -0.537, 0.5811, 0.3646, 0.2941, 0.0284,
        0.5467, -0.7365, -0.1629, -0.4821, 0.5988, 0.0397, -0.2925, -0.7819, -0.2572, 0.0081,
        -0.2756, 1.2941, 1.0067, -2.7112, -1.889, -0.1748, -0.4222, 0.2136, 0.2173, 2.1178, -1.112,
        -0.3776, 2.0428, 0.6467, 0.6631, -0.514, -1.6481, 0.1675, 0.109, -1.2274, -0.6832, -0.072,
        -0.9448, -0.0983, 0.0955, 0.0356, -0.5063, 0.5937, 0.8912, 0.3208, -0.8182, 0.7317,
        -0.5014, 0.8792, -1.0718, 0.9145, -0.0201, -1.2487, -0.3139,
    ];
    let y55 = [
        0.3541, 0.5728, -0.6822, -0.8074, 0.4996, -0.1667, 0.5355, 1.0595, -1.3488, 0.5544, 1.5246,
        0.0025, -0.5108, 1.0522, 0.5534, 1.1959, -0.0452, -1.1818, 0.19, -0.1458, 1.0753, 0.4936,
        -1.3308, -0.8952, 1.1838, 0.9798, -0.3402, 0.299, 0.7456, 0.7684, 1.1762, 0.5565, 0.2052,
        0.0412, 1.3557, -1.9509, 0.1613, 0.333, -1.1253, 0.6328, -0.3513, 1.1624, 0.1744, 0.9692,
        1.5188, 0.6829, -0.5757, -1.2143, 2.0534, 0.1887, -0.3886, 0.4443, 0.1086, 1.1521, 0.3339,
    ];
    let cases: [(&[f64], &[f64], f64, f64); 4] = [
        (
            &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0, 5.0, 6.0],
            &[3.0, 4.0, 4.0, 5.0, 6.0, 6.0, 7.0, 7.0, 8.0, 9.0, 9.0],
            15.5,
            0.005625214779700691,
        ),
        (
            &[1.0, 1.0, 2.0],
            &[1.0, 3.0, 3.0, 4.0],
            2.0,
            0.19474217283959172,
        ),
        (&[1.0, 2.0], &[2.0, 3.0], 0.5, 0.4142161782425252),
        (&x60, &y55, 1283.0, 0.04016907419429105),
    ];
    for (a, b, u, p) in cases {
        let r = mann_whitney_u(a, b).unwrap();
        assert_eq!(r.method, PValueMethod::NormalApprox);
        assert_eq!(r.statistic, u);
        rel(r.p_value, p, 1e-9);
    }
}

#[test]
fn holm_matches_the_textbook() {
    // Wikipedia, "Holm–Bonferroni method", example: p = (0.01, 0.04, 0.03, 0.005), α = 0.05
    // rejects H4 and H1 only. Sorted 0.005, 0.01, 0.03, 0.04 → 4·0.005 = 0.02,
    // 3·0.01 = 0.03, 2·0.03 = 0.06, max(0.06, 0.04) = 0.06.
    let adj = holm(&[0.01, 0.04, 0.03, 0.005]).unwrap();
    for (got, want) in adj.iter().zip([0.03, 0.06, 0.06, 0.02]) {
        close(*got, want, 1e-15);
    }
    let rejected: Vec<bool> = adj.iter().map(|&p| p <= 0.05).collect();
    assert_eq!(rejected, [true, false, false, true]);
    // Holm (1979) is uniformly at least as powerful as Bonferroni: adjusted ≤ m·p (capped)
    let p = [0.001, 0.012, 0.02, 0.04, 0.3];
    for (a, raw) in holm(&p).unwrap().iter().zip(p) {
        assert!(*a <= (5.0 * raw).min(1.0) + 1e-15);
    }
}

#[test]
fn descriptive_statistics_match_numpy_and_scipy() {
    // st.trim_mean(x, 0.25)
    let x11 = [10.5, 3.2, 7.7, 1.1, 9.9, 4.4, 6.6, 2.2, 8.8, 5.5, 100.0];
    close(iqm(&x11).unwrap(), 6.585714285714286, 1e-14);
    close(
        iqm(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap(),
        3.0,
        1e-14,
    );
    close(iqm(&[3.0, 1.0, 2.0]).unwrap(), 2.0, 1e-14);
    close(iqm(&MAPPO).unwrap(), 100.33333333333333, 1e-14);
    // np.std(x, ddof=1), np.median(x), np.mean(x)
    close(std_dev(&MAPPO).unwrap(), 0.9700515450222208, 1e-13);
    close(median(&MAPPO).unwrap(), 100.3, 1e-14);
    close(mean(&MAPPO).unwrap(), 100.39, 1e-14);
}

#[test]
fn cohens_d_matches_numpy() {
    // sp = np.sqrt(((na-1)*a.var(ddof=1) + (nb-1)*b.var(ddof=1)) / (na+nb-2));
    // (a.mean() - b.mean()) / sp
    close(
        cohens_d(&MAPPO, &GREEDY).unwrap(),
        -3.0282525866071097,
        1e-12,
    );
    let w1a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6];
    let w1b = [
        27.1, 22.0, 20.8, 23.4, 25.8, 24.8, 20.2, 22.1, 22.9, 20.5, 24.4,
    ];
    close(cohens_d(&w1a, &w1b).unwrap(), -0.8340979467906386, 1e-12);
}

#[test]
fn effect_sizes_agree_with_mann_whitney() {
    // A₁₂ = U₁/(n₁n₂): MAPPO vs greedy has U₁ = 2 (scipy above) → 2/100 = 0.02; costs, so the
    // probability that a MAPPO seed is cheaper than a greedy seed is 0.98.
    close(vargha_delaney_a12(&MAPPO, &GREEDY).unwrap(), 0.02, 1e-15);
    close(
        probability_of_improvement(&MAPPO, &GREEDY, true).unwrap(),
        0.98,
        1e-15,
    );
}

#[test]
fn report_workflow_on_per_seed_scores() {
    // What a report does with 10 + 10 seeds: IQM with a bootstrap CI per method, the
    // difference of means with a CI, and the test.
    let m = bootstrap_ci(&MAPPO, estimators::iqm, DEFAULT_RESAMPLES, DEFAULT_LEVEL, 1).unwrap();
    let g = bootstrap_ci(
        &GREEDY,
        estimators::iqm,
        DEFAULT_RESAMPLES,
        DEFAULT_LEVEL,
        1,
    )
    .unwrap();
    assert!(m.contains(m.estimate) && g.contains(g.estimate));
    assert!(m.hi < g.lo, "{m:?} {g:?}");
    let d = bootstrap_diff_ci(
        &MAPPO,
        &GREEDY,
        estimators::mean,
        DEFAULT_RESAMPLES,
        DEFAULT_LEVEL,
        1,
    )
    .unwrap();
    // np.mean(MAPPO) − np.mean(GREEDY) = 100.39 − 103.06 = −2.67
    close(d.estimate, -2.67, 1e-12);
    assert!(d.contains(-2.67) && d.hi < 0.0);
}
