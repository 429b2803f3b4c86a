//! Two small SVG charts, lines and grouped bars, written as text: each has
//! a title and a description (`<title>`, `<desc>`, `role="img"`,
//! `aria-labelledby`), labelled axes, and series told apart by their
//! shape (dash pattern and marker, or fill pattern) and a text label as
//! well as their colour.
//!
//! Our own module rather than a chart crate: the report needs two chart
//! kinds with a fixed look, and the SVG for them is a hundred lines; the
//! chart crates (plotters and others) bring font and image stacks the
//! report would not use.

use super::html::esc;
use std::fmt::Write as _;

/// How a series is drawn besides its colour.
#[derive(Debug, Clone, Copy)]
pub enum Mark {
    /// A solid line with circles, or a solid bar.
    Solid,
    /// A dashed line with squares, or a hatched bar.
    Dashed,
    /// A dotted line with triangles, or a dotted bar.
    Dotted,
    /// A dash-dot line with diamonds, or a cross-hatched bar.
    DashDot,
    /// A long-dash line with crosses, or an outlined bar.
    LongDash,
    /// A thin line with plus signs.
    Thin,
}

/// One series: its name, colour, mark and a value per x label.
pub struct Series<'a> {
    /// Its name (in the legend and at the line's end).
    pub name: &'a str,
    /// Its colour.
    pub color: &'a str,
    /// Its shape.
    pub mark: Mark,
    /// One value per x label.
    pub values: Vec<u64>,
}

/// What a chart says about itself.
pub struct Frame<'a> {
    /// The element id prefix (unique in the page).
    pub id: &'a str,
    /// The title (shown and read).
    pub title: &'a str,
    /// The text alternative: what the chart shows, in words.
    pub desc: &'a str,
    /// The x axis's name.
    pub x_label: &'a str,
    /// The y axis's name.
    pub y_label: &'a str,
    /// A label per x position.
    pub x: &'a [String],
}

const W: f64 = 760.0;
const H: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 120.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 58.0;
/// The plot area's width and height (inside the axes' margins).
const PLOT_W: f64 = W - LEFT - RIGHT;
const PLOT_H: f64 = H - TOP - BOTTOM;

/// A round top for the y axis and its step (1, 2 or 5 times a power of 10).
fn scale(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let s = step * m;
            if max.div_ceil(s) <= 5 {
                return (max.div_ceil(s) * s, s);
            }
        }
        step *= 10;
    }
}

fn dash(mark: Mark) -> &'static str {
    match mark {
        Mark::Solid => "",
        Mark::Dashed => "8 4",
        Mark::Dotted => "2 3",
        Mark::DashDot => "8 3 2 3",
        Mark::LongDash => "14 4",
        Mark::Thin => "1 1",
    }
}

fn marker(out: &mut String, mark: Mark, x: f64, y: f64, color: &str) {
    let _ = match mark {
        Mark::Solid => write!(
            out,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{color}"/>"#
        ),
        Mark::Dashed => write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{color}"/>"#,
            x - 3.5,
            y - 3.5
        ),
        Mark::Dotted => write!(
            out,
            r#"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z" fill="{color}"/>"#,
            y - 4.5,
            x + 4.5,
            y + 3.5,
            x - 4.5,
            y + 3.5
        ),
        Mark::DashDot => write!(
            out,
            r#"<path d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z" fill="{color}"/>"#,
            y - 4.5,
            x + 4.5,
            y + 4.5,
            x - 4.5
        ),
        Mark::LongDash => write!(
            out,
            r#"<path d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}" stroke="{color}" stroke-width="2"/>"#,
            x - 4.0,
            y - 4.0,
            x + 4.0,
            y + 4.0,
            x - 4.0,
            y + 4.0,
            x + 4.0,
            y - 4.0
        ),
        Mark::Thin => write!(
            out,
            r#"<path d="M{:.1} {y:.1}L{:.1} {y:.1}M{x:.1} {:.1}L{x:.1} {:.1}" stroke="{color}" stroke-width="2"/>"#,
            x - 4.5,
            x + 4.5,
            y - 4.5,
            y + 4.5
        ),
    };
}

/// The fill of a bar: a pattern per mark (defined in [`open`]).
fn fill(frame: &Frame<'_>, index: usize, mark: Mark, color: &str) -> String {
    match mark {
        Mark::Solid => color.to_string(),
        _ => format!("url(#{}-p{index})", frame.id),
    }
}

/// The SVG's start (title, description, patterns, axes and grid, scaled to
/// the largest value of `series`) and the y axis's top.
fn open(frame: &Frame<'_>, series: &[Series<'_>]) -> (String, u64) {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let (top, step) = scale(max);
    let id = frame.id;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-labelledby="{id}-t {id}-d"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc><defs>"#,
        esc(frame.title),
        esc(frame.desc)
    );
    for (i, s) in series.iter().enumerate() {
        let c = s.color;
        let body = match s.mark {
            Mark::Solid => continue,
            Mark::Dashed => format!(r#"<path d="M0 6L6 0" stroke="{c}" stroke-width="2"/>"#),
            Mark::Dotted => format!(r#"<circle cx="3" cy="3" r="1.6" fill="{c}"/>"#),
            Mark::DashDot => {
                format!(r#"<path d="M0 6L6 0M0 0L6 6" stroke="{c}" stroke-width="1.2"/>"#)
            }
            Mark::LongDash | Mark::Thin => {
                format!(r#"<path d="M0 3H6" stroke="{c}" stroke-width="2"/>"#)
            }
        };
        let _ = write!(
            out,
            r##"<pattern id="{id}-p{i}" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fff"/>{body}</pattern>"##
        );
    }
    out.push_str("</defs>");
    let mut tick = 0;
    while tick <= top {
        let y = TOP + PLOT_H - PLOT_H * tick as f64 / top as f64;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{tick}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
        tick += step;
    }
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{:.1}" stroke="#333"/><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#333"/><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" font-size="12">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"##,
        TOP + PLOT_H,
        W - RIGHT,
        TOP + PLOT_H,
        TOP + PLOT_H,
        TOP + PLOT_H / 2.0,
        esc(frame.y_label),
        LEFT + PLOT_W / 2.0,
        H - 6.0,
        esc(frame.x_label)
    );
    (out, top)
}

/// The x labels, every nth so that they do not overlap.
fn x_labels(out: &mut String, frame: &Frame<'_>, x_of: impl Fn(usize) -> f64) {
    let every = frame.x.len().div_ceil(10).max(1);
    for (i, label) in frame.x.iter().enumerate() {
        if i % every != 0 && i + 1 != frame.x.len() {
            continue;
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"#,
            x_of(i),
            H - BOTTOM + 16.0,
            esc(label)
        );
    }
}

/// A line per series over the x labels.
pub fn lines(frame: &Frame<'_>, series: &[Series<'_>]) -> String {
    let (mut out, top) = open(frame, series);
    let n = frame.x.len().max(1);
    let x_of = |i: usize| {
        if n == 1 {
            LEFT + PLOT_W / 2.0
        } else {
            LEFT + 10.0 + (PLOT_W - 20.0) * i as f64 / (n - 1) as f64
        }
    };
    let y_of = |v: u64| TOP + PLOT_H - PLOT_H * v as f64 / top as f64;
    x_labels(&mut out, frame, x_of);
    let mut label_ys: Vec<f64> = Vec::new();
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v)))
            .collect();
        let _ = write!(
            out,
            r#"<g class="series" data-series="{}"><polyline fill="none" stroke="{}" stroke-width="2" stroke-dasharray="{}" points="{}"/>"#,
            esc(s.name),
            s.color,
            dash(s.mark),
            points.join(" ")
        );
        for (i, v) in s.values.iter().enumerate() {
            marker(&mut out, s.mark, x_of(i), y_of(*v), s.color);
        }
        // The name at the line's end, moved down past labels above it.
        let mut y = y_of(s.values.last().copied().unwrap_or(0)) + 4.0;
        while label_ys.iter().any(|l| (l - y).abs() < 12.0) {
            y += 12.0;
        }
        label_ys.push(y);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{y:.1}" font-size="11">{} {}</text></g>"#,
            W - RIGHT + 8.0,
            esc(s.name),
            s.values.last().copied().unwrap_or(0)
        );
    }
    out.push_str("</svg>");
    out
}

/// Grouped bars: per x label, a bar per series.
pub fn bars(frame: &Frame<'_>, series: &[Series<'_>]) -> String {
    let (mut out, top) = open(frame, series);
    let n = frame.x.len().max(1);
    let slot = PLOT_W / n as f64;
    let bar = (slot * 0.8 / series.len().max(1) as f64).min(24.0);
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    x_labels(&mut out, frame, x_of);
    for (k, s) in series.iter().enumerate() {
        let _ = write!(out, r#"<g class="series" data-series="{}">"#, esc(s.name));
        for (i, v) in s.values.iter().enumerate() {
            let h = PLOT_H * *v as f64 / top as f64;
            let x = x_of(i) - bar * series.len() as f64 / 2.0 + bar * k as f64;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}" stroke="{}"><title>{}: {v} ({})</title></rect>"#,
                TOP + PLOT_H - h,
                (bar - 1.0).max(1.0),
                fill(frame, k, s.mark, s.color),
                s.color,
                esc(s.name),
                esc(&frame.x[i.min(frame.x.len().saturating_sub(1))])
            );
        }
        // The legend: a swatch with the same fill, and the name.
        let y = TOP + 8.0 + 18.0 * k as f64;
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="14" height="12" fill="{}" stroke="{}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text></g>"#,
            W - RIGHT + 8.0,
            y - 9.0,
            fill(frame, k, s.mark, s.color),
            s.color,
            W - RIGHT + 28.0,
            y + 1.0,
            esc(s.name)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_top_is_round_and_covers_the_maximum() {
        assert_eq!(scale(0), (1, 1));
        assert_eq!(scale(4), (4, 1));
        assert_eq!(scale(7), (8, 2));
        assert_eq!(scale(23), (25, 5));
        assert_eq!(scale(100_000), (100_000, 20_000));
    }

    #[test]
    fn a_chart_has_its_title_description_and_every_series_named() {
        let x = vec!["a".to_string(), "b<".to_string()];
        let frame = Frame {
            id: "c",
            title: "Open & closed",
            desc: "d",
            x_label: "run",
            y_label: "findings",
            x: &x,
        };
        let s = [
            Series {
                name: "high",
                color: "#c00",
                mark: Mark::Solid,
                values: vec![1, 2],
            },
            Series {
                name: "low",
                color: "#00c",
                mark: Mark::Dashed,
                values: vec![3, 0],
            },
        ];
        for svg in [lines(&frame, &s), bars(&frame, &s)] {
            assert!(svg.contains(r#"<title id="c-t">Open &amp; closed</title>"#));
            assert!(svg.contains(r#"aria-labelledby="c-t c-d""#));
            assert!(svg.contains(">b&lt;<"));
            assert!(svg.contains(r#"data-series="high""#) && svg.contains(r#"data-series="low""#));
        }
    }
}
