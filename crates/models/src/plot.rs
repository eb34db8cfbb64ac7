//! Learning curves and schedules as SVG images, with no plotting dependency.

use crate::error::io_error;
use crate::{History, ModelError};
use std::fmt::Write;
use std::path::Path;

const COLORS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// Draws named series (one value per x = 0, 1, …) as an SVG line chart with axes, ticks and a
/// legend, and writes it to `path`.
pub fn plot_series(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    series: &[(&str, &[f32])],
) -> Result<(), ModelError> {
    let path = path.as_ref();
    let (w, h) = (800.0f64, 420.0f64);
    // The legend column fits names of up to about 30 characters.
    let (left, right, top, bottom) = (70.0, 250.0, 40.0, 50.0);
    let finite = series
        .iter()
        .flat_map(|(_, v)| v.iter())
        .filter(|v| v.is_finite())
        .map(|&v| v as f64);
    let (mut lo, mut hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let n = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let px = |i: usize| left + (w - left - right) * i as f64 / (n - 1) as f64;
    let py = |v: f64| top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        (left + w - right) / 2.0,
        escape(title)
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
        w - left - right,
        h - top - bottom
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let y = py(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/>"##,
            w - right
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + 4.0,
            format_tick(v)
        );
    }
    let ticks = (n - 1).min(10);
    for k in 0..=ticks {
        let i = k * (n - 1) / ticks.max(1);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{i}</text>"#,
            px(i),
            h - bottom + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (left + w - right) / 2.0,
        h - 10.0,
        escape(x_label)
    );
    for (s, (name, values)) in series.iter().enumerate() {
        let color = COLORS[s % COLORS.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| format!("{:.1},{:.1}", px(i), py(v as f64)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let ly = top + 10.0 + 20.0 * s as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/>"#,
            w - right + 10.0,
            w - right + 30.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}">{}</text>"#,
            w - right + 36.0,
            ly + 4.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    std::fs::write(path, svg).map_err(|e| io_error(path, e))
}

fn format_tick(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e4) {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl History {
    /// Writes the learning curves (every key but `learning_rate`) as an SVG chart.
    pub fn plot(&self, path: impl AsRef<Path>, title: &str) -> Result<(), ModelError> {
        let series: Vec<(&str, &[f32])> =
            self.iter().filter(|(k, _)| *k != "learning_rate").collect();
        plot_series(path, title, "epoch", &series)
    }

    /// Writes the recorded learning rate per epoch as an SVG chart (if a rate callback ran).
    pub fn plot_learning_rate(
        &self,
        path: impl AsRef<Path>,
        title: &str,
    ) -> Result<(), ModelError> {
        let lr = self.get("learning_rate").ok_or_else(|| {
            ModelError::InvalidArgument(
                "the history has no learning_rate (no rate callback ran)".into(),
            )
        })?;
        plot_series(path, title, "epoch", &[("learning_rate", lr)])
    }
}
