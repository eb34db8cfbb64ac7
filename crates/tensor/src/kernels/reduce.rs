//! Reductions whose results do not depend on the number of threads.
//!
//! Each output element is summed by one thread in index order, so splitting the work over
//! threads only changes who computes an element, never how.

use super::multiversion;
use rayon::prelude::*;

#[inline(always)]
fn sum_axis_generic(x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [f32]) {
    assert_eq!(x.len(), outer * len * inner, "sum_axis: input length");
    assert_eq!(out.len(), outer * inner, "sum_axis: output length");
    for (o, block) in out
        .chunks_exact_mut(inner.max(1))
        .zip(x.chunks_exact((len * inner).max(1)))
    {
        o.fill(0.0);
        for row in block.chunks_exact(inner.max(1)) {
            for (o, &v) in o.iter_mut().zip(row) {
                *o += v;
            }
        }
    }
}

multiversion! {
    /// Sums a `[outer, len, inner]` row-major array over its middle axis into `[outer, inner]`.
    pub fn sum_axis_serial / sum_axis_serial_with(x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [f32]) => sum_axis_generic;
}

/// Sums a `[outer, len, inner]` row-major array over its middle axis into `[outer, inner]`.
///
/// Large inputs with many outer blocks are split over threads by outer block; each block is
/// summed by one thread in index order, so the result is the same on any number of threads.
pub fn sum_axis(x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [f32]) {
    if outer == 0 || inner == 0 {
        return;
    }
    if x.len() < super::PARALLEL_THRESHOLD || outer == 1 {
        sum_axis_serial(x, outer, len, inner, out);
    } else {
        out.par_chunks_mut(inner)
            .zip(x.par_chunks((len * inner).max(1)))
            .for_each(|(o, block)| sum_axis_serial(block, 1, len, inner, o));
    }
}

/// Sum of all elements, accumulated in `f64` over fixed blocks in index order.
pub fn sum(x: &[f32]) -> f32 {
    const BLOCK: usize = 1024;
    let mut total = 0.0f64;
    for block in x.chunks(BLOCK) {
        total += block_sum(block) as f64;
    }
    total as f32
}

#[inline(always)]
fn block_sum_generic(x: &[f32]) -> f32 {
    // Sixteen independent partial sums (one AVX-512 register), combined in a fixed order.
    let mut acc = [0.0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += v;
    }
    let mut width = 8;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0]
}

multiversion! {
    /// Sum of a short block with sixteen fixed partial sums.
    pub fn block_sum / block_sum_with(x: &[f32]) -> f32 => block_sum_generic;
}

/// Mean and biased (population) variance of each column of a row-major `[rows, cols]` array,
/// by two passes (mean first, then squared deviations) for accuracy.
pub fn column_moments(x: &[f32], rows: usize, cols: usize, mean: &mut [f32], var: &mut [f32]) {
    assert_eq!(x.len(), rows * cols, "column_moments: input length");
    assert!(
        mean.len() == cols && var.len() == cols,
        "column_moments: output lengths"
    );
    sum_axis(x, 1, rows, cols, mean);
    let inv = 1.0 / rows.max(1) as f32;
    mean.iter_mut().for_each(|m| *m *= inv);
    var.fill(0.0);
    for row in x.chunks_exact(cols.max(1)) {
        for ((v, &x), &m) in var.iter_mut().zip(row).zip(mean.iter()) {
            let d = x - m;
            *v += d * d;
        }
    }
    var.iter_mut().for_each(|v| *v *= inv);
}
