//! Integration tests for `gridc::plot`: one example of each plot written to
//! `<target dir>/plot-examples/*.svg` for a human to look at, geometry sanity checks on
//! the SVG, and a property test that arbitrary floats (NaN, ±inf, huge) never panic.

use std::path::PathBuf;

use gridc::plot::*;
use proptest::prelude::*;

fn examples_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("plot-examples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn learning_curves() -> Vec<Series> {
    [
        ("PPO shared reward", 1.0),
        ("PPO own reward", 0.8),
        ("IQL", 0.6),
    ]
    .iter()
    .map(|&(name, s)| Series {
        name: name.into(),
        points: (0..=40)
            .map(|i| {
                let x = i as f64 * 5000.0;
                let mean = -900.0 + 500.0 * s * (1.0 - (-x / 40000.0).exp());
                let w = 60.0 * (1.0 - 0.6 * x / 200000.0);
                Band {
                    x,
                    mean,
                    lo: mean - w,
                    hi: mean + w,
                }
            })
            .collect(),
    })
    .collect()
}

fn day(policy: &str, k: f64) -> DayTrace {
    let hours: Vec<f64> = (0..=24).map(f64::from).collect();
    let pv = |h: f64| (-((h - 13.0) / 3.0).powi(2)).exp();
    DayTrace {
        policy: policy.into(),
        feeder_flow_kw: hours
            .iter()
            .map(|&h| 30.0 + 25.0 * ((h - 19.0) / 2.5).cos().max(0.0) * k - 70.0 * pv(h))
            .collect(),
        mean_soc: hours
            .iter()
            .map(|&h| (0.2 + 0.7 * pv(h - 2.0) * k).min(1.0))
            .collect(),
        price: hours
            .iter()
            .map(|&h| {
                if (17.0..21.0).contains(&h) {
                    0.38
                } else {
                    0.21
                }
            })
            .collect(),
        hours,
    }
}

fn points() -> Vec<FrontPoint> {
    [
        ("own", 0.92, 1210.0),
        ("0.25", 0.88, 1150.0),
        ("0.5", 0.81, 1105.0),
        ("0.75", 0.64, 1090.0),
        ("shared", 0.41, 1080.0),
        ("dominated", 0.6, 1180.0),
    ]
    .iter()
    .map(|&(l, x, y)| FrontPoint {
        label: l.into(),
        x,
        y,
        x_ci: Some((x - 0.03, x + 0.03)),
        y_ci: Some((y - 15.0, y + 15.0)),
    })
    .collect()
}

fn bars() -> Vec<Bar> {
    [
        ("greedy", 1310.0),
        ("rule-based", 1240.0),
        ("PPO shared", 1102.0),
        ("IQL", 1150.0),
    ]
    .iter()
    .map(|&(l, m)| Bar {
        label: l.into(),
        mean: m,
        lo: m - 20.0,
        hi: m + 25.0,
    })
    .collect()
}

fn refs() -> Vec<(String, f64)> {
    vec![("greedy".into(), -640.0), ("optimum".into(), -380.0)]
}

/// (min, max) over all x and y coordinates of `<polygon points="...">` elements.
fn polygon_bounds(svg: &str) -> Option<((i32, i32), (i32, i32))> {
    let mut xs = vec![];
    let mut ys = vec![];
    for chunk in svg.split("<polygon").skip(1) {
        let element = chunk.split('>').next().unwrap();
        let pts = element
            .split("points=\"")
            .nth(1)?
            .split('"')
            .next()
            .unwrap();
        for p in pts.split_whitespace() {
            let (x, y) = p.split_once(',').unwrap();
            xs.push(x.parse::<i32>().unwrap());
            ys.push(y.parse::<i32>().unwrap());
        }
    }
    Some((
        (*xs.iter().min()?, *xs.iter().max()?),
        (*ys.iter().min()?, *ys.iter().max()?),
    ))
}

#[test]
fn write_examples() {
    let dir = examples_dir();
    let lines = lines_with_bands(
        "Learning curves (community16, 5 seeds, 95% CI)",
        "env steps",
        "episode return",
        &learning_curves(),
        &refs(),
    )
    .unwrap();
    std::fs::write(dir.join("lines_with_bands.svg"), &lines).unwrap();
    let front = tradeoff(
        "Reward-mix sweep",
        "share of households better off than alone",
        "community cost [$/day]",
        &points(),
        true,
        true,
    )
    .unwrap();
    std::fs::write(dir.join("tradeoff.svg"), &front).unwrap();
    let days = day_panels(
        "A winter day, community16",
        &[
            day("greedy", 1.0),
            day("PPO shared", 0.6),
            day("optimum", 0.3),
        ],
        Some(45.0),
    )
    .unwrap();
    std::fs::write(dir.join("day_panels.svg"), &days).unwrap();
    let b = bars_with_ci(
        "Cost per algorithm",
        "community cost [$/day]",
        &bars(),
        &[("optimum".into(), 1050.0)],
    )
    .unwrap();
    std::fs::write(dir.join("bars_with_ci.svg"), &b).unwrap();

    // Bands lie inside the plotting area: right of the y labels, left of the legend
    // column, below the title and above the x labels.
    let ((x0, x1), (y0, y1)) = polygon_bounds(&lines).unwrap();
    assert!(x0 > 80 && x1 < 800 - 130, "band x {x0}..{x1}");
    assert!(y0 > 30 && y1 < 480 - 50, "band y {y0}..{y1}");
}

#[test]
fn text_survives_without_a_font_backend() {
    let svg = bars_with_ci("Title <&>", "cost [$]", &bars(), &[]).unwrap();
    assert!(svg.contains("<text"));
    assert!(
        svg.contains("Title &lt;&amp;&gt;"),
        "text is escaped, not dropped"
    );
    assert!(svg.contains("rule-based"));
    assert!(svg.contains("cost [$]"));
}

#[test]
fn reference_lines_widen_the_y_range() {
    // With a reference far above the data, the data must be squeezed down: the band's
    // topmost pixel row is lower on the canvas than without the reference.
    let s = learning_curves();
    let plain = lines_with_bands("t", "x", "y", &s, &[]).unwrap();
    let wide = lines_with_bands("t", "x", "y", &s, &[("far".into(), 5000.0)]).unwrap();
    let top = |svg: &str| polygon_bounds(svg).unwrap().1 .0;
    assert!(
        top(&wide) > top(&plain) + 100,
        "{} vs {}",
        top(&wide),
        top(&plain)
    );
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => -1e6..1e6f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => any::<f64>(),
        1 => Just(0.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_floats_never_panic(
        v in proptest::collection::vec((any_f64(), any_f64(), any_f64(), any_f64()), 0..12),
        r in any_f64(),
    ) {
        let series = vec![Series {
            name: "s".into(),
            points: v.iter().map(|&(x, mean, lo, hi)| Band { x, mean, lo, hi }).collect(),
        }];
        let refs = vec![("r".to_string(), r)];
        let _ = lines_with_bands("t", "x", "y", &series, &refs);
        let pts: Vec<FrontPoint> = v
            .iter()
            .map(|&(x, y, a, b)| FrontPoint { label: "p".into(), x, y, x_ci: Some((a, b)), y_ci: Some((b, a)) })
            .collect();
        let _ = tradeoff("t", "x", "y", &pts, true, true);
        let front = pareto_front(&pts, false, true);
        prop_assert!(front.iter().all(|&i| pts[i].x.is_finite() && pts[i].y.is_finite()));
        let trace = DayTrace {
            policy: "p".into(),
            hours: v.iter().map(|t| t.0).collect(),
            feeder_flow_kw: v.iter().map(|t| t.1).collect(),
            mean_soc: v.iter().map(|t| t.2).collect(),
            price: v.iter().map(|t| t.3).collect(),
        };
        let _ = day_panels("t", &[trace], Some(r));
        let bars: Vec<Bar> = v.iter().map(|&(mean, lo, hi, _)| Bar { label: "b".into(), mean, lo, hi }).collect();
        let out = bars_with_ci("t", "y", &bars, &refs);
        if let Ok(svg) = out {
            prop_assert!(svg.starts_with("<svg"));
        }
    }
}
