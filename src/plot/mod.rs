//! SVG plots for experiment reports (issue 7), drawn with `plotters`' SVG backend.
//!
//! Plain data in, an SVG document as a `String` out: no file I/O, so callers can write
//! files atomically. Output is deterministic (same data → byte-identical SVG). Text is
//! emitted as SVG `<text>` elements (no font backend is needed; the viewer renders it).
//!
//! Conventions shared by all plots:
//! - colours: series/policies/bars get [`PALETTE`] colours by their order in the input
//!   (so pass policies in the same order everywhere to keep colours consistent); dashed
//!   reference lines get [`REFERENCE_PALETTE`] colours by order;
//! - the legend sits in a column right of the plot, so it never hides data;
//! - axis ranges cover the data, CI bands/bars and reference lines, padded by 5 %;
//! - tick labels: `k`/`M` suffixes ([`fmt_tick`]) on axes reaching 10 000 (`20k`,
//!   `1.5M`), plain numbers otherwise (`1150`, `0.25`);
//! - non-finite values (NaN, ±inf) are skipped; a line is broken where one is skipped.
//!   Empty input or input without any finite value is a [`PlotError`].

mod bars;
mod common;
#[cfg(test)]
mod tests;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use bars::{bars_with_ci, Bar};
use common::*;
pub use common::{fmt_tick, PALETTE, REFERENCE_PALETTE};

/// Why a plot could not be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot: no {what}")]
    Empty { what: &'static str },
    #[error("nothing to plot: no finite values in {what}")]
    NoFiniteData { what: &'static str },
    #[error("the values of {what} span too wide a range to plot")]
    Range { what: &'static str },
    #[error("drawing failed: {0}")]
    Backend(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError::Backend(e.to_string())
    }
}

/// Size of the single-panel plots, pixels.
pub const PLOT_SIZE: (u32, u32) = (800, 480);
/// Size of [`day_panels`], pixels.
pub const DAY_PANELS_SIZE: (u32, u32) = (800, 720);

/// One point of a line with a confidence band `[lo, hi]` around `mean`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub x: f64,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A named line with its CI band.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Band>,
}

/// Lines with shaded CI bands (learning curves: x = env steps; cost vs agent count:
/// x = households). Optional dashed horizontal reference lines (e.g. "greedy", "optimum").
///
/// Points are sorted by x; the line uses points with finite `x` and `mean`, the band
/// points with finite `x`, `lo` and `hi`. Series with at most 30 points get dot markers.
pub fn lines_with_bands(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    references: &[(String, f64)],
) -> Result<String, PlotError> {
    if series.is_empty() {
        return Err(PlotError::Empty { what: "series" });
    }
    let fin = |v: f64| v.is_finite();
    let sorted: Vec<Vec<Band>> = series
        .iter()
        .map(|s| {
            let mut p = s.points.clone();
            p.sort_by(|a, b| a.x.total_cmp(&b.x));
            p
        })
        .collect();
    let line_ok = |b: &Band| fin(b.x) && fin(b.mean);
    let band_ok = |b: &Band| fin(b.x) && fin(b.lo) && fin(b.hi);
    let all = || sorted.iter().flatten();
    let xs = all().filter(|b| line_ok(b) || band_ok(b)).map(|b| b.x);
    let x =
        padded_range(xs, 0.02, "x values")?.ok_or(PlotError::NoFiniteData { what: "series" })?;
    let ys = all()
        .filter(|b| line_ok(b))
        .map(|b| b.mean)
        .chain(all().filter(|b| band_ok(b)).flat_map(|b| [b.lo, b.hi]))
        .chain(references.iter().map(|r| r.1));
    let y =
        padded_range(ys, 0.05, "y values")?.ok_or(PlotError::NoFiniteData { what: "series" })?;

    let mut entries: Vec<LegendEntry> = series
        .iter()
        .zip(&sorted)
        .enumerate()
        .map(|(i, (s, pts))| LegendEntry {
            name: s.name.clone(),
            color: series_color(i),
            swatch: if pts.iter().any(|b| band_ok(b) && b.lo != b.hi) {
                Swatch::LineWithBand
            } else {
                Swatch::Line
            },
        })
        .collect();
    entries.extend(reference_entries(references));

    render(PLOT_SIZE, |root| {
        let (plot, legend) = layout(root, title, &entries)?;
        let mut chart = cartesian(&plot, x, y, Some(x_label), y_label)?;
        // Bands first so that no band covers another series' line.
        for (i, pts) in sorted.iter().enumerate() {
            let c = series_color(i);
            let bands = finite_runs_band(pts.iter().filter(|b| fin(b.x)), band_ok);
            chart.draw_series(bands.into_iter().map(|run| {
                let upper = run.iter().map(|b| (b.x, b.lo.max(b.hi)));
                let lower = run.iter().rev().map(|b| (b.x, b.lo.min(b.hi)));
                Polygon::new(upper.chain(lower).collect::<Vec<_>>(), c.mix(0.2).filled())
            }))?;
        }
        for (i, pts) in sorted.iter().enumerate() {
            let runs = finite_runs(pts.iter().map(|b| (b.x, b.mean)));
            draw_runs(&mut chart, &runs, series_color(i), pts.len() <= 30)?;
        }
        draw_references(&mut chart, x, references)?;
        draw_legend(&legend, 30, &entries)
    })
}

/// Consecutive runs of band points that pass `ok`.
fn finite_runs_band<'a>(
    pts: impl Iterator<Item = &'a Band>,
    ok: impl Fn(&Band) -> bool,
) -> Vec<Vec<Band>> {
    let mut runs: Vec<Vec<Band>> = vec![vec![]];
    for b in pts {
        if ok(b) {
            runs.last_mut().unwrap().push(*b);
        } else if !runs.last().unwrap().is_empty() {
            runs.push(vec![]);
        }
    }
    runs.retain(|r| r.len() >= 2);
    runs
}

fn reference_entries(references: &[(String, f64)]) -> impl Iterator<Item = LegendEntry> + '_ {
    references
        .iter()
        .enumerate()
        .filter(|(_, r)| r.1.is_finite())
        .map(|(i, r)| LegendEntry {
            name: r.0.clone(),
            color: reference_color(i),
            swatch: Swatch::Dashed,
        })
}

fn draw_references(
    chart: &mut Chart,
    x: (f64, f64),
    references: &[(String, f64)],
) -> Result<(), PlotError> {
    for (i, (_, v)) in references.iter().enumerate() {
        if v.is_finite() {
            draw_hline(chart, x, *v, reference_color(i))?;
        }
    }
    Ok(())
}

/// One labelled point of a trade-off plot, with optional CIs `(lo, hi)` per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontPoint {
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub x_ci: Option<(f64, f64)>,
    pub y_ci: Option<(f64, f64)>,
}

/// Indices of the Pareto-optimal (non-dominated) points, sorted by x (then y, then index).
///
/// A point is dominated if another one is at least as good on both axes and strictly
/// better on one ("good" per the two direction flags). Equal points do not dominate each
/// other, so ties are all kept. Points with a non-finite coordinate are never on the front.
pub fn pareto_front(
    points: &[FrontPoint],
    x_higher_better: bool,
    y_lower_better: bool,
) -> Vec<usize> {
    let gx = |p: &FrontPoint| if x_higher_better { p.x } else { -p.x };
    let gy = |p: &FrontPoint| if y_lower_better { -p.y } else { p.y };
    let ok = |p: &FrontPoint| p.x.is_finite() && p.y.is_finite();
    let dominates = |a: &FrontPoint, b: &FrontPoint| {
        gx(a) >= gx(b) && gy(a) >= gy(b) && (gx(a) > gx(b) || gy(a) > gy(b))
    };
    let mut front: Vec<usize> = (0..points.len())
        .filter(|&i| ok(&points[i]))
        .filter(|&i| !points.iter().any(|q| ok(q) && dominates(q, &points[i])))
        .collect();
    front.sort_by(|&a, &b| {
        let (p, q) = (&points[a], &points[b]);
        p.x.total_cmp(&q.x)
            .then(p.y.total_cmp(&q.y))
            .then(a.cmp(&b))
    });
    front
}

/// Trade-off scatter (reward-mix sweep: x = share of households better off than alone
/// (higher better), y = community cost (lower better)); labels each point, draws error
/// bars where given, and connects the Pareto-optimal (non-dominated) points with a line.
///
/// Points with a non-finite x or y are skipped; non-finite CI bounds drop that error bar.
pub fn tradeoff(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[FrontPoint],
    x_higher_better: bool,
    y_lower_better: bool,
) -> Result<String, PlotError> {
    if points.is_empty() {
        return Err(PlotError::Empty { what: "points" });
    }
    let fin_ci = |c: &Option<(f64, f64)>| c.filter(|(a, b)| a.is_finite() && b.is_finite());
    let shown: Vec<&FrontPoint> = points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let none = PlotError::NoFiniteData { what: "points" };
    let xs = shown.iter().flat_map(|p| {
        let ci = fin_ci(&p.x_ci).map_or(vec![], |(a, b)| vec![a, b]);
        std::iter::once(p.x).chain(ci)
    });
    let x = padded_range(xs, 0.08, "x values")?.ok_or(none.clone())?;
    let ys = shown.iter().flat_map(|p| {
        let ci = fin_ci(&p.y_ci).map_or(vec![], |(a, b)| vec![a, b]);
        std::iter::once(p.y).chain(ci)
    });
    let y = padded_range(ys, 0.08, "y values")?.ok_or(none)?;
    let front = pareto_front(points, x_higher_better, y_lower_better);
    let (c_point, c_front) = (series_color(0), series_color(1));
    let arrow = |higher: bool, up: &str, down: &str| {
        if higher {
            up.to_string()
        } else {
            down.to_string()
        }
    };
    let better = format!(
        "better: {} {}",
        arrow(x_higher_better, "→", "←"),
        arrow(y_lower_better, "↓", "↑")
    );
    let entries = vec![
        LegendEntry {
            name: "configuration".into(),
            color: c_point,
            swatch: Swatch::Marker,
        },
        LegendEntry {
            name: "Pareto front".into(),
            color: c_front,
            swatch: Swatch::LineWithMarker,
        },
    ];

    render(PLOT_SIZE, |root| {
        let (plot, legend) = layout(root, title, &entries)?;
        let mut chart = cartesian(&plot, x, y, Some(x_label), y_label)?;
        let front_line: Vec<(f64, f64)> =
            front.iter().map(|&i| (points[i].x, points[i].y)).collect();
        chart.draw_series(std::iter::once(PathElement::new(
            front_line,
            c_front.stroke_width(2),
        )))?;
        let bar = RGBColor(0x55, 0x55, 0x55).stroke_width(1);
        for p in &shown {
            if let Some((lo, hi)) = fin_ci(&p.x_ci) {
                chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                    p.y, lo, p.x, hi, bar, 8,
                )))?;
            }
            if let Some((lo, hi)) = fin_ci(&p.y_ci) {
                chart.draw_series(std::iter::once(ErrorBar::new_vertical(
                    p.x, lo, p.y, hi, bar, 8,
                )))?;
            }
        }
        let label =
            TextStyle::from((FONT, TICK_SIZE).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
        for (i, p) in points.iter().enumerate() {
            if !(p.x.is_finite() && p.y.is_finite()) {
                continue;
            }
            let c = if front.contains(&i) { c_front } else { c_point };
            chart.draw_series(std::iter::once(
                EmptyElement::at((p.x, p.y))
                    + Circle::new((0, 0), 5, c.filled())
                    + Text::new(p.label.clone(), (6, -5), label.clone()),
            ))?;
        }
        draw_legend(&legend, 30, &entries)?;
        let note = TextStyle::from((FONT, LEGEND_SIZE).into_font())
            .pos(Pos::new(HPos::Left, VPos::Center));
        legend.draw(&Text::new(
            better,
            (6, 30 + 26 * entries.len() as i32),
            note,
        ))?;
        Ok(())
    })
}

/// Runs of finite points of one line (see `finite_runs`).
type Runs = Vec<Vec<(f64, f64)>>;

/// One policy's trajectory over one day (hourly or finer samples).
#[derive(Debug, Clone, PartialEq)]
pub struct DayTrace {
    pub policy: String,
    pub hours: Vec<f64>,
    pub feeder_flow_kw: Vec<f64>,
    pub mean_soc: Vec<f64>,
    pub price: Vec<f64>,
}

/// One day, three stacked panels sharing the x axis (hour of day): feeder flow [kW] with
/// the feeder limit as a dashed line, mean battery state of charge [0..1], import price
/// [$/kWh] — one line per policy (greedy vs learned vs optimum).
///
/// The limit is drawn at `+limit`, and also at `-limit` when some flow is negative
/// (export). Vectors of unequal length are cut to the shortest.
pub fn day_panels(
    title: &str,
    traces: &[DayTrace],
    feeder_limit_kw: Option<f64>,
) -> Result<String, PlotError> {
    if traces.is_empty() {
        return Err(PlotError::Empty { what: "traces" });
    }
    let limit = feeder_limit_kw.filter(|l| l.is_finite());
    type Pick = fn(&DayTrace) -> &Vec<f64>;
    let panels: [(Pick, &str); 3] = [
        (|t| &t.feeder_flow_kw, "feeder flow [kW]"),
        (|t| &t.mean_soc, "mean SoC [0..1]"),
        (|t| &t.price, "import price [$/kWh]"),
    ];
    // runs[panel][trace] = the finite runs of that trace's line in that panel.
    let runs: Vec<Vec<Runs>> = panels
        .iter()
        .map(|(pick, _)| {
            let pts = |t: &DayTrace| {
                t.hours
                    .iter()
                    .copied()
                    .zip(pick(t).iter().copied())
                    .collect::<Vec<_>>()
            };
            traces.iter().map(|t| finite_runs(pts(t))).collect()
        })
        .collect();
    let all = |p: usize| runs[p].iter().flatten().flatten().copied();
    let none = PlotError::NoFiniteData { what: "traces" };
    let x = padded_range((0..3).flat_map(|p| all(p).map(|q| q.0)), 0.0, "hours")?
        .ok_or(none.clone())?;
    let has_export = all(0).any(|q| q.1 < 0.0);
    let limits: Vec<f64> = match limit {
        Some(l) if has_export => vec![l, -l],
        Some(l) => vec![l],
        None => vec![],
    };
    let flow = padded_range(
        all(0).map(|q| q.1).chain(limits.iter().copied()),
        0.05,
        "feeder flow",
    )?;
    let soc = padded_range(
        all(1).map(|q| q.1).chain([0.0, 1.0]),
        0.03,
        "state of charge",
    )?;
    let price = padded_range(all(2).map(|q| q.1), 0.05, "price")?;
    let y_ranges = [
        flow.unwrap_or((-1.0, 1.0)),
        soc.unwrap_or((0.0, 1.0)),
        price.unwrap_or((0.0, 1.0)),
    ];

    let mut entries: Vec<LegendEntry> = traces
        .iter()
        .enumerate()
        .map(|(i, t)| LegendEntry {
            name: t.policy.clone(),
            color: series_color(i),
            swatch: Swatch::Line,
        })
        .collect();
    if limit.is_some() {
        entries.push(LegendEntry {
            name: "feeder limit".into(),
            color: reference_color(0),
            swatch: Swatch::Dashed,
        });
    }

    render(DAY_PANELS_SIZE, |root| {
        let (plot, legend) = layout(root, title, &entries)?;
        let (_, h) = plot.dim_in_pixel();
        let (top, rest) = plot.split_vertically((h as i32 - 50) / 3);
        let (mid, bottom) = rest.split_vertically((h as i32 - 50) / 3);
        for (p, area) in [top, mid, bottom].iter().enumerate() {
            let x_desc = (p == 2).then_some("hour of day");
            let mut chart = cartesian(area, x, y_ranges[p], x_desc, panels[p].1)?;
            for (i, r) in runs[p].iter().enumerate() {
                draw_runs(&mut chart, r, series_color(i), false)?;
            }
            if p == 0 {
                for l in &limits {
                    draw_hline(&mut chart, x, *l, reference_color(0))?;
                }
            }
        }
        draw_legend(&legend, 30, &entries)
    })
}
