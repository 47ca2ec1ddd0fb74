use super::bars::shorten;
use super::*;

fn band(x: f64, mean: f64, w: f64) -> Band {
    Band {
        x,
        mean,
        lo: mean - w,
        hi: mean + w,
    }
}

fn curve(name: &str, scale: f64) -> Series {
    let points = (0..=20)
        .map(|i| {
            let x = i as f64 * 5000.0;
            band(x, scale * (1.0 - (-x / 30000.0).exp()), 0.1 * scale)
        })
        .collect();
    Series {
        name: name.into(),
        points,
    }
}

fn fp(label: &str, x: f64, y: f64) -> FrontPoint {
    FrontPoint {
        label: label.into(),
        x,
        y,
        x_ci: None,
        y_ci: None,
    }
}

fn trace(policy: &str, shift: f64) -> DayTrace {
    let hours: Vec<f64> = (0..24).map(f64::from).collect();
    DayTrace {
        policy: policy.into(),
        feeder_flow_kw: hours
            .iter()
            .map(|h| 40.0 * (h / 3.0 + shift).sin())
            .collect(),
        mean_soc: hours
            .iter()
            .map(|h| 0.5 + 0.4 * (h / 5.0 + shift).sin())
            .collect(),
        price: hours.iter().map(|h| 0.2 + 0.1 * (h / 4.0).cos()).collect(),
        hours,
    }
}

fn bar(label: &str, mean: f64) -> Bar {
    Bar {
        label: label.into(),
        mean,
        lo: mean * 0.95,
        hi: mean * 1.05,
    }
}

/// Number of line-ish elements (polyline/path/line).
fn strokes(svg: &str) -> usize {
    ["<polyline", "<path", "<line"]
        .iter()
        .map(|t| svg.matches(t).count())
        .sum()
}

/// Whether `s` is the content of some `<text>` element.
fn has_text(svg: &str, s: &str) -> bool {
    svg.contains(&format!(">\n{s}\n</text>"))
}

#[test]
fn fmt_tick_styles() {
    let cases = [
        (0.0, "0"),
        (-0.0, "0"),
        (20000.0, "20k"),
        (2500.0, "2.5k"),
        (1_500_000.0, "1.5M"),
        (0.25, "0.25"),
        (0.30000000000000004, "0.3"),
        (-12.5, "-12.5"),
        (999.0, "999"),
        (1e12, "1.00e12"),
        (1e-5, "1.00e-5"),
        (f64::NAN, ""),
    ];
    for (v, want) in cases {
        assert_eq!(fmt_tick(v), want, "fmt_tick({v})");
    }
    // Axes below 10 000 keep plain numbers (costs), larger ones use suffixes throughout.
    assert_eq!(axis_tick(1150.0, (0.0, 1300.0)), "1150");
    assert_eq!(axis_tick(0.35, (0.2, 0.4)), "0.35");
    assert_eq!(axis_tick(5000.0, (0.0, 2e5)), "5k");
    assert_eq!(axis_tick(150000.0, (0.0, 2e5)), "150k");
}

#[test]
fn padded_range_cases() {
    assert_eq!(padded_range([f64::NAN, f64::INFINITY], 0.05, "v"), Ok(None));
    assert_eq!(
        padded_range([0.0, 10.0, f64::NAN], 0.1, "v"),
        Ok(Some((-1.0, 11.0)))
    );
    assert_eq!(padded_range([5.0, 5.0], 0.1, "v"), Ok(Some((4.5, 5.5))));
    assert_eq!(padded_range([0.0], 0.1, "v"), Ok(Some((-1.0, 1.0))));
    assert!(padded_range([-f64::MAX, f64::MAX], 0.1, "v").is_err());
}

#[test]
fn finite_runs_break_at_nan() {
    let runs = finite_runs([
        (0.0, 1.0),
        (1.0, f64::NAN),
        (2.0, 2.0),
        (3.0, 3.0),
        (f64::INFINITY, 1.0),
    ]);
    assert_eq!(runs, vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]);
}

#[test]
fn pareto_front_excludes_dominated() {
    // x higher better, y lower better: b dominates a (more x, less y); c trades off.
    let pts = [
        fp("a", 0.2, 10.0),
        fp("b", 0.5, 8.0),
        fp("c", 0.9, 12.0),
        fp("d", 0.4, 9.0),
    ];
    assert_eq!(pareto_front(&pts, true, true), vec![1, 2]);
    // Both directions flipped: lower x and higher y are better.
    assert_eq!(pareto_front(&pts, false, false), vec![0, 2]);
    // x lower better, y lower better: a (0.2,10) vs b (0.5,8) vs d (0.4,9): none dominates.
    assert_eq!(pareto_front(&pts, false, true), vec![0, 3, 1]);
    // x higher, y higher: c has the most of both.
    assert_eq!(pareto_front(&pts, true, false), vec![2]);
}

#[test]
fn pareto_front_ties_and_non_finite() {
    let pts = [
        fp("a", 0.5, 8.0),
        fp("a twin", 0.5, 8.0),
        fp("same x, worse y", 0.5, 9.0),
        fp("same y, less x", 0.3, 8.0),
        fp("nan", f64::NAN, 0.0),
        fp("inf", f64::INFINITY, 0.0),
    ];
    assert_eq!(pareto_front(&pts, true, true), vec![0, 1]);
    assert_eq!(pareto_front(&[], true, true), Vec::<usize>::new());
    assert_eq!(pareto_front(&pts[4..], true, true), Vec::<usize>::new());
}

#[test]
fn lines_with_bands_content() {
    let one = [curve("PPO shared", 100.0)];
    let three = [
        curve("PPO shared", 100.0),
        curve("PPO selfish", 80.0),
        curve("IQL", 60.0),
    ];
    let refs = [("greedy".to_string(), 50.0), ("optimum".to_string(), 120.0)];
    let svg = lines_with_bands(
        "Learning curves",
        "env steps",
        "episode return",
        &three,
        &refs,
    )
    .unwrap();
    assert!(svg.starts_with("<svg"));
    for t in [
        "Learning curves",
        "env steps",
        "episode return",
        "PPO shared",
        "PPO selfish",
        "IQL",
        "greedy",
        "optimum",
        "20k",
    ] {
        assert!(has_text(&svg, t), "missing text {t}");
    }
    assert_eq!(svg.matches("<polygon").count(), 3, "one band per series");
    let svg1 = lines_with_bands(
        "Learning curves",
        "env steps",
        "episode return",
        &one,
        &refs,
    )
    .unwrap();
    assert!(strokes(&svg) > strokes(&svg1));
    let again = lines_with_bands(
        "Learning curves",
        "env steps",
        "episode return",
        &three,
        &refs,
    )
    .unwrap();
    assert_eq!(svg, again);
}

#[test]
fn lines_with_bands_errors_and_nan() {
    let e = lines_with_bands("t", "x", "y", &[], &[]);
    assert_eq!(e, Err(PlotError::Empty { what: "series" }));
    let nan = Series {
        name: "n".into(),
        points: vec![band(f64::NAN, 1.0, 0.1), band(1.0, f64::NAN, f64::NAN)],
    };
    let e = lines_with_bands("t", "x", "y", &[nan], &[("r".into(), 1.0)]);
    assert_eq!(e, Err(PlotError::NoFiniteData { what: "series" }));
    // A NaN in the middle breaks the line instead of failing.
    let mut s = curve("gappy", 10.0);
    s.points[5].mean = f64::NAN;
    s.points[6].lo = f64::INFINITY;
    let svg = lines_with_bands("t", "x", "y", &[s], &[("bad".into(), f64::NAN)]).unwrap();
    assert!(
        !has_text(&svg, "bad"),
        "non-finite reference left out of the legend"
    );
    assert_eq!(
        svg.matches("<polygon").count(),
        2,
        "band split at the bad point"
    );
}

#[test]
fn tradeoff_content() {
    let mut pts = vec![
        fp("alpha=0", 0.2, 10.0),
        fp("alpha=0.5", 0.5, 8.0),
        fp("alpha=1", 0.9, 12.0),
    ];
    pts[1].y_ci = Some((7.5, 8.5));
    pts[2].x_ci = Some((0.85, 0.95));
    let svg = tradeoff(
        "Reward mix",
        "share better off",
        "community cost [$]",
        &pts,
        true,
        true,
    )
    .unwrap();
    assert!(svg.starts_with("<svg"));
    for t in [
        "Reward mix",
        "share better off",
        "community cost [$]",
        "alpha=0",
        "alpha=0.5",
        "alpha=1",
        "Pareto front",
    ] {
        assert!(has_text(&svg, t), "missing text {t}");
    }
    let fewer = tradeoff("Reward mix", "x", "y", &pts[..1], true, true).unwrap();
    assert!(strokes(&svg) > strokes(&fewer));
    assert!(svg.matches("<circle").count() >= 3);
    assert_eq!(
        svg,
        tradeoff(
            "Reward mix",
            "share better off",
            "community cost [$]",
            &pts,
            true,
            true
        )
        .unwrap()
    );
    assert_eq!(
        tradeoff("t", "x", "y", &[], true, true),
        Err(PlotError::Empty { what: "points" })
    );
    let bad = [fp("n", f64::NAN, 1.0)];
    assert_eq!(
        tradeoff("t", "x", "y", &bad, true, true),
        Err(PlotError::NoFiniteData { what: "points" })
    );
}

#[test]
fn day_panels_content() {
    let traces = [
        trace("greedy", 0.0),
        trace("learned", 0.5),
        trace("optimum", 1.0),
    ];
    let svg = day_panels("One day", &traces, Some(35.0)).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains(r#"height="720""#));
    for t in [
        "One day",
        "hour of day",
        "feeder flow [kW]",
        "mean SoC [0..1]",
        "import price [$/kWh]",
        "greedy",
        "learned",
        "optimum",
        "feeder limit",
    ] {
        assert!(has_text(&svg, t), "missing text {t}");
    }
    let one = day_panels("One day", &traces[..1], Some(35.0)).unwrap();
    assert!(strokes(&svg) > strokes(&one));
    assert_eq!(svg, day_panels("One day", &traces, Some(35.0)).unwrap());
    let no_limit = day_panels("One day", &traces, None).unwrap();
    assert!(!has_text(&no_limit, "feeder limit"));
    assert_eq!(
        day_panels("t", &[], None),
        Err(PlotError::Empty { what: "traces" })
    );
    let mut nan = trace("n", 0.0);
    nan.hours.iter_mut().for_each(|h| *h = f64::NAN);
    assert_eq!(
        day_panels("t", &[nan], None),
        Err(PlotError::NoFiniteData { what: "traces" })
    );
    // Unequal lengths are cut, not a panic.
    let mut short = trace("short", 0.0);
    short.price.truncate(3);
    short.mean_soc.clear();
    assert!(day_panels("t", &[short], Some(f64::NAN)).is_ok());
}

#[test]
fn bars_with_ci_content() {
    let bars = [bar("greedy", 120.0), bar("PPO", 95.0), bar("IQL", 101.0)];
    let refs = [("optimum".to_string(), 90.0)];
    let svg = bars_with_ci("Cost per algorithm", "cost [$/day]", &bars, &refs).unwrap();
    assert!(svg.starts_with("<svg"));
    for t in [
        "Cost per algorithm",
        "cost [$/day]",
        "greedy",
        "PPO",
        "IQL",
        "optimum",
    ] {
        assert!(has_text(&svg, t), "missing text {t}");
    }
    let one = bars_with_ci("Cost per algorithm", "cost [$/day]", &bars[..1], &refs).unwrap();
    assert!(strokes(&svg) > strokes(&one));
    assert!(svg.matches("<rect").count() > one.matches("<rect").count());
    assert_eq!(
        svg,
        bars_with_ci("Cost per algorithm", "cost [$/day]", &bars, &refs).unwrap()
    );
    assert_eq!(
        bars_with_ci("t", "y", &[], &[]),
        Err(PlotError::Empty { what: "bars" })
    );
    let nan = [bar("n", f64::NAN)];
    assert_eq!(
        bars_with_ci("t", "y", &nan, &refs),
        Err(PlotError::NoFiniteData { what: "bars" })
    );
}

#[test]
fn long_bar_labels_are_shortened_below_but_full_in_legend() {
    let long = "a rather long algorithm name with options";
    let bars: Vec<Bar> = (0..6)
        .map(|i| bar(&format!("{long} {i}"), 10.0 + i as f64))
        .collect();
    let svg = bars_with_ci("t", "y", &bars, &[]).unwrap();
    assert!(has_text(&svg, &format!("{long} 0")));
    assert!(svg.contains('…'));
    assert_eq!(shorten("abcdef", 4), "abc…");
    assert_eq!(shorten("abc", 4), "abc");
}
