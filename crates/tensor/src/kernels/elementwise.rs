//! Element-wise binary kernels and the row broadcast.

use super::multiversion;

/// A binary element-wise operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a · b`.
    Mul,
    /// `a / b`.
    Div,
}

#[inline(always)]
fn binary_generic(op: Binary, a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(
        a.len() == b.len() && a.len() == out.len(),
        "binary {op:?}: lengths {}, {} and {} differ",
        a.len(),
        b.len(),
        out.len()
    );
    let it = out.iter_mut().zip(a).zip(b);
    match op {
        Binary::Add => it.for_each(|((o, &a), &b)| *o = a + b),
        Binary::Sub => it.for_each(|((o, &a), &b)| *o = a - b),
        Binary::Mul => it.for_each(|((o, &a), &b)| *o = a * b),
        Binary::Div => it.for_each(|((o, &a), &b)| *o = a / b),
    }
}

multiversion! {
    /// `out[i] = a[i] op b[i]`.
    pub fn binary / binary_with(op: Binary, a: &[f32], b: &[f32], out: &mut [f32]) => binary_generic;
}

#[inline(always)]
fn axpy_generic(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "axpy: lengths differ");
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

multiversion! {
    /// `y[i] += alpha · x[i]`.
    pub fn axpy / axpy_with(alpha: f32, x: &[f32], y: &mut [f32]) => axpy_generic;
}

#[inline(always)]
fn scale_generic(alpha: f32, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "scale: lengths differ");
    for (o, &x) in out.iter_mut().zip(x) {
        *o = alpha * x;
    }
}

multiversion! {
    /// `out[i] = alpha · x[i]`.
    pub fn scale / scale_with(alpha: f32, x: &[f32], out: &mut [f32]) => scale_generic;
}

#[inline(always)]
fn add_row_generic(x: &[f32], row: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "add_row: lengths differ");
    assert!(
        !row.is_empty() && x.len().is_multiple_of(row.len()),
        "add_row: a row of {} does not divide {} elements",
        row.len(),
        x.len()
    );
    for (o, x) in out
        .chunks_exact_mut(row.len())
        .zip(x.chunks_exact(row.len()))
    {
        for ((o, &x), &r) in o.iter_mut().zip(x).zip(row) {
            *o = x + r;
        }
    }
}

multiversion! {
    /// `out[i, j] = x[i, j] + row[j]` for a row-major `x` whose rows have `row.len()` elements.
    pub fn add_row / add_row_with(x: &[f32], row: &[f32], out: &mut [f32]) => add_row_generic;
}
