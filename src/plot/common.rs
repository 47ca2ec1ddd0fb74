//! Shared plumbing for [`super`]: palette, ranges, tick labels, legend, rendering.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::PlotError;

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub(super) type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

pub(super) const FONT: &str = "sans-serif";
/// Font sizes in plotters units; the SVG backend writes `font-size = size / 1.24` px.
pub(super) const TITLE_SIZE: u32 = 26;
pub(super) const AXIS_DESC_SIZE: u32 = 19;
pub(super) const TICK_SIZE: u32 = 16;
pub(super) const LEGEND_SIZE: u32 = 17;
/// Rough width of one legend/tick character in pixels (for layout only).
pub(super) const CHAR_PX: i32 = 8;

/// Series colours, by order of appearance: the Okabe–Ito colour-blind-safe palette
/// (blue, vermillion, bluish green, reddish purple, orange, sky blue; yellow dropped
/// as unreadable on white) followed by brown and teal; it cycles after eight.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x8C, 0x56, 0x4B),
    RGBColor(0x17, 0x8E, 0x8E),
];

/// Reference lines (dashed), by order: black, dark grey, olive; cycles after three.
pub const REFERENCE_PALETTE: [RGBColor; 3] = [
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0x66, 0x66, 0x66),
    RGBColor(0x99, 0x99, 0x33),
];

pub(super) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub(super) fn reference_color(i: usize) -> RGBColor {
    REFERENCE_PALETTE[i % REFERENCE_PALETTE.len()]
}

/// Renders into an in-memory SVG string of the given size.
pub(super) fn render(
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> Result<(), PlotError>,
) -> Result<String, PlotError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(buf)
}

/// Min and max of the finite values, padded by `pad` of the span (or a unit-ish amount if
/// all values are equal). `None` if there is no finite value; an error if the span overflows.
pub(super) fn padded_range(
    values: impl IntoIterator<Item = f64>,
    pad: f64,
    what: &'static str,
) -> Result<Option<(f64, f64)>, PlotError> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return Ok(None);
    }
    let span = hi - lo;
    let scale = lo.abs().max(hi.abs());
    let (lo, hi) = if span > scale * 1e-9 {
        (lo - span * pad, hi + span * pad)
    } else {
        let half = if scale > 0.0 { scale * 0.1 } else { 1.0 };
        (lo - half, hi + half)
    };
    if !(hi - lo).is_finite() || !lo.is_finite() || !hi.is_finite() {
        return Err(PlotError::Range { what });
    }
    Ok(Some((lo, hi)))
}

/// Tick label for an axis spanning `axis`: `k`/`M` suffixes if the axis reaches 10 000
/// in magnitude (env steps: `20k`, `1.5M`), plain numbers otherwise (`1150`, `0.25`).
pub(super) fn axis_tick(v: f64, axis: (f64, f64)) -> String {
    if axis.0.abs().max(axis.1.abs()) < 1e4 && v.abs() < 1e4 {
        plain_tick(v)
    } else {
        fmt_tick(v)
    }
}

/// Tick label with `k`/`M` suffixes from a thousand up (`2.5k`, `20k`, `1.5M`), at most
/// ~4 significant digits, scientific notation for the very large and very small.
pub fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if !(1e3..1e9).contains(&a) {
        return plain_tick(v);
    }
    let (scaled, suffix) = if a >= 1e6 {
        (v / 1e6, "M")
    } else {
        (v / 1e3, "k")
    };
    plain_tick(scaled) + suffix
}

/// A plain number with at most ~4 significant digits (trailing zeros trimmed).
pub(super) fn plain_tick(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if a < 1e-12 {
        return "0".to_string();
    }
    if !(1e-3..1e9).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 4) as usize;
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// Splits a sequence of points into runs of finite points (a non-finite point breaks a line).
pub(super) fn finite_runs(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![];
    let mut cur = vec![];
    for (x, y) in points {
        if x.is_finite() && y.is_finite() {
            cur.push((x, y));
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// Draws the lines of one series: a path per finite run, a dot for isolated points.
pub(super) fn draw_runs(
    chart: &mut Chart,
    runs: &[Vec<(f64, f64)>],
    color: RGBColor,
    markers: bool,
) -> Result<(), PlotError> {
    let style = color.stroke_width(2);
    chart.draw_series(runs.iter().map(|r| PathElement::new(r.clone(), style)))?;
    let dots = runs.iter().flatten().filter(|_| markers);
    let lone = runs.iter().filter(|r| r.len() == 1).flatten();
    chart.draw_series(dots.chain(lone).map(|&p| Circle::new(p, 3, color.filled())))?;
    Ok(())
}

/// A dashed horizontal line at `y` across `x`.
pub(super) fn draw_hline(
    chart: &mut Chart,
    x: (f64, f64),
    y: f64,
    color: RGBColor,
) -> Result<(), PlotError> {
    let style = color.stroke_width(2);
    chart.draw_series(DashedLineSeries::new(vec![(x.0, y), (x.1, y)], 9, 6, style))?;
    Ok(())
}

/// A cartesian chart with grid, tick labels and axis descriptions.
pub(super) fn cartesian<'a, 'b>(
    area: &'a Area<'b>,
    x: (f64, f64),
    y: (f64, f64),
    x_desc: Option<&str>,
    y_desc: &str,
) -> Result<Chart<'a, 'b>, PlotError> {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(if x_desc.is_some() { 58 } else { 8 })
        .y_label_area_size(82)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
    let (fx, fy) = (|v: &f64| axis_tick(*v, x), |v: &f64| axis_tick(*v, y));
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .label_style((FONT, TICK_SIZE))
        .axis_desc_style((FONT, AXIS_DESC_SIZE))
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_labels(9)
        .y_labels(7)
        .bold_line_style(RGBColor(0xD9, 0xD9, 0xD9))
        .light_line_style(RGBColor(0xF0, 0xF0, 0xF0));
    if let Some(d) = x_desc {
        mesh.x_desc(d);
    }
    mesh.draw()?;
    Ok(chart)
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Swatch {
    Line,
    LineWithBand,
    Dashed,
    Marker,
    LineWithMarker,
    Bar,
}

pub(super) struct LegendEntry {
    pub name: String,
    pub color: RGBColor,
    pub swatch: Swatch,
}

/// Width of the legend column (pixels) fitting the longest name.
pub(super) fn legend_width(entries: &[LegendEntry]) -> u32 {
    let longest = entries
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0);
    (56 + CHAR_PX * longest as i32).clamp(130, 300) as u32
}

/// Title on top, then a plot area and a legend column on the right.
pub(super) fn layout<'a>(
    root: &Area<'a>,
    title: &str,
    entries: &[LegendEntry],
) -> Result<(Area<'a>, Area<'a>), PlotError> {
    let body = root.titled(title, (FONT, TITLE_SIZE))?;
    let (w, _) = body.dim_in_pixel();
    Ok(body.split_horizontally(w.saturating_sub(legend_width(entries))))
}

/// Draws the legend entries top-down in the legend column, starting at pixel row `top`.
pub(super) fn draw_legend(area: &Area, top: i32, entries: &[LegendEntry]) -> Result<(), PlotError> {
    let text =
        TextStyle::from((FONT, LEGEND_SIZE).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let y = top + 26 * i as i32;
        let (x0, x1) = (6, 36);
        let c = e.color;
        let line = c.stroke_width(2);
        match e.swatch {
            Swatch::Line => area.draw(&PathElement::new(vec![(x0, y), (x1, y)], line))?,
            Swatch::LineWithBand => {
                area.draw(&Rectangle::new(
                    [(x0, y - 7), (x1, y + 7)],
                    c.mix(0.2).filled(),
                ))?;
                area.draw(&PathElement::new(vec![(x0, y), (x1, y)], line))?;
            }
            Swatch::Dashed => {
                area.draw(&PathElement::new(vec![(x0, y), (x0 + 9, y)], line))?;
                area.draw(&PathElement::new(vec![(x0 + 15, y), (x0 + 24, y)], line))?;
            }
            Swatch::Marker => area.draw(&Circle::new(((x0 + x1) / 2, y), 5, c.filled()))?,
            Swatch::LineWithMarker => {
                area.draw(&PathElement::new(vec![(x0, y), (x1, y)], line))?;
                area.draw(&Circle::new(((x0 + x1) / 2, y), 4, c.filled()))?;
            }
            Swatch::Bar => area.draw(&Rectangle::new(
                [(x0 + 5, y - 8), (x1 - 5, y + 8)],
                c.mix(0.8).filled(),
            ))?,
        }
        area.draw(&Text::new(e.name.clone(), (x1 + 8, y), text.clone()))?;
    }
    Ok(())
}
