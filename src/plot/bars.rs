//! [`bars_with_ci`]: vertical bars with CI error bars and reference lines.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;

use super::common::*;
use super::{reference_entries, PlotError, PLOT_SIZE};

/// One bar: a mean with its CI `[lo, hi]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Vertical bars (from 0) with CI error bars (cost per algorithm / baseline, with the
/// optimum as a reference line). Bars are labelled below the axis (shortened with "…" if
/// they do not fit) and in the legend (in full). A bar with a non-finite mean keeps its
/// slot but is not drawn; a non-finite CI bound drops the error bar.
pub fn bars_with_ci(
    title: &str,
    y_label: &str,
    bars: &[Bar],
    references: &[(String, f64)],
) -> Result<String, PlotError> {
    if bars.is_empty() {
        return Err(PlotError::Empty { what: "bars" });
    }
    let ci_ok = |b: &Bar| b.mean.is_finite() && b.lo.is_finite() && b.hi.is_finite();
    if !bars.iter().any(|b| b.mean.is_finite()) {
        return Err(PlotError::NoFiniteData { what: "bars" });
    }
    let ys = bars
        .iter()
        .map(|b| b.mean)
        .chain(bars.iter().filter(|b| ci_ok(b)).flat_map(|b| [b.lo, b.hi]))
        .chain(references.iter().map(|r| r.1))
        .chain([0.0]);
    let y =
        padded_range(ys, 0.05, "bar values")?.ok_or(PlotError::NoFiniteData { what: "bars" })?;
    let n = bars.len();
    let mut entries: Vec<LegendEntry> = bars
        .iter()
        .enumerate()
        .map(|(i, b)| LegendEntry {
            name: b.label.clone(),
            color: series_color(i),
            swatch: Swatch::Bar,
        })
        .collect();
    entries.extend(reference_entries(references));

    render(PLOT_SIZE, |root| {
        let (plot, legend) = layout(root, title, &entries)?;
        let (w, _) = plot.dim_in_pixel();
        let slot_chars = ((w as i32 - 110) / n as i32 / CHAR_PX).max(3) as usize;
        let names: Vec<String> = bars.iter().map(|b| shorten(&b.label, slot_chars)).collect();
        let x_coord = Slots(n);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(82)
            .build_cartesian_2d(x_coord, y.0..y.1)?;
        let label_of = |v: &f64| {
            let i = v.round();
            if (0.0..n as f64).contains(&i) {
                names[i as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(y_label)
            .label_style((FONT, TICK_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .x_label_formatter(&label_of)
            .y_label_formatter(&|v| axis_tick(*v, y))
            .y_labels(7)
            .bold_line_style(RGBColor(0xD9, 0xD9, 0xD9))
            .light_line_style(RGBColor(0xF0, 0xF0, 0xF0))
            .draw()?;
        for (i, b) in bars.iter().enumerate() {
            if !b.mean.is_finite() {
                continue;
            }
            let xi = i as f64;
            let c = series_color(i);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(xi - 0.35, 0.0), (xi + 0.35, b.mean)],
                c.mix(0.8).filled(),
            )))?;
            if ci_ok(b) {
                // Whisker with caps (plotters' ErrorBar would also draw a circle at the mean).
                let (lo, hi) = (b.lo.min(b.hi), b.lo.max(b.hi));
                let style = BLACK.stroke_width(2);
                let cap = |v: f64| {
                    EmptyElement::at((xi, v)) + PathElement::new(vec![(-8, 0), (8, 0)], style)
                };
                chart.draw_series([cap(lo), cap(hi)])?;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(xi, lo), (xi, hi)],
                    style,
                )))?;
            }
        }
        for (i, (_, v)) in references.iter().enumerate() {
            if v.is_finite() {
                let style = reference_color(i).stroke_width(2);
                chart.draw_series(DashedLineSeries::new(
                    vec![(-0.5, *v), (n as f64 - 0.5, *v)],
                    9,
                    6,
                    style,
                ))?;
            }
        }
        draw_legend(&legend, 30, &entries)
    })
}

/// `s` cut to `max` characters, with "…" at the end if it was cut.
pub(super) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max.saturating_sub(1)).chain(['…']).collect()
    }
}

/// The x axis of [`bars_with_ci`]: slot `i` is centred at `i`, one tick per slot.
#[derive(Clone, Copy)]
struct Slots(usize);

impl Ranged for Slots {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v + 0.5) / self.0 as f64;
        limit.0 + ((limit.1 - limit.0) as f64 * t).round() as i32
    }
    fn key_points<H: KeyPointHint>(&self, _: H) -> Vec<f64> {
        (0..self.0).map(|i| i as f64).collect()
    }
    fn range(&self) -> std::ops::Range<f64> {
        -0.5..self.0 as f64 - 0.5
    }
}
