//! Numerically stable row-wise softmax and log-softmax.

use super::math;
use super::multiversion;

#[inline(always)]
fn softmax_generic(x: &[f32], cols: usize, out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "softmax: lengths differ");
    if cols == 0 {
        return;
    }
    assert_eq!(
        x.len() % cols,
        0,
        "softmax: rows of {cols} do not divide {}",
        x.len()
    );
    for (o, row) in out.chunks_exact_mut(cols).zip(x.chunks_exact(cols)) {
        // softmax(x) = e^{x − max} / Σ e^{x − max}: the shift keeps every exponent ≤ 0.
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut total = 0.0;
        for (o, &v) in o.iter_mut().zip(row) {
            *o = math::exp(v - max);
            total += *o;
        }
        let inv = 1.0 / total;
        o.iter_mut().for_each(|o| *o *= inv);
    }
}

#[inline(always)]
fn log_softmax_generic(x: &[f32], cols: usize, out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "log_softmax: lengths differ");
    if cols == 0 {
        return;
    }
    assert_eq!(
        x.len() % cols,
        0,
        "log_softmax: rows of {cols} do not divide {}",
        x.len()
    );
    for (o, row) in out.chunks_exact_mut(cols).zip(x.chunks_exact(cols)) {
        // log softmax(x) = x − max − ln Σ e^{x − max}.
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut total = 0.0;
        for &v in row {
            total += math::exp(v - max);
        }
        // Subtract the max first: `v − (max + ln Σ)` would round at the scale of `max`.
        let log_total = math::ln(total);
        for (o, &v) in o.iter_mut().zip(row) {
            *o = (v - max) - log_total;
        }
    }
}

multiversion! {
    /// Softmax of each row of a row-major array with `cols` columns.
    pub fn softmax_rows / softmax_rows_with(x: &[f32], cols: usize, out: &mut [f32]) => softmax_generic;
}

multiversion! {
    /// Log-softmax of each row of a row-major array with `cols` columns.
    pub fn log_softmax_rows / log_softmax_rows_with(x: &[f32], cols: usize, out: &mut [f32]) => log_softmax_generic;
}
