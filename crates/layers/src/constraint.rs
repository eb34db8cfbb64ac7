//! Weight constraints, applied after each optimizer update.

use crate::{IntoSpec, LayerError};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use strata_tensor::Tensor;

/// Keras's `backend.epsilon()`.
const EPSILON: f32 = 1e-7;

/// A projection applied to a weight after each update.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Constraint {
    /// `w · clip(‖w‖, 0, max_value) / (ε + ‖w‖)`, norms along `axis` (Keras `max_norm`,
    /// defaults 2 and 0: each Dense unit's incoming weights).
    MaxNorm {
        /// Largest norm.
        max_value: f32,
        /// Axis the norm is taken along.
        axis: usize,
    },
    /// Zeroes negative weights.
    NonNeg,
    /// `w / (ε + ‖w‖)`, norms along `axis`.
    UnitNorm {
        /// Axis the norm is taken along.
        axis: usize,
    },
}

impl Constraint {
    /// Checks the constraint for a weight of `rank` axes: `max_value` finite and ≥ 0, `axis`
    /// below `rank` (a layer checks its constraints when it is added to a model or loaded from
    /// a file).
    pub fn validate(&self, rank: usize) -> Result<(), String> {
        let axis = match *self {
            Constraint::NonNeg => return Ok(()),
            Constraint::MaxNorm { max_value, axis } => {
                if !(max_value.is_finite() && max_value >= 0.0) {
                    return Err(format!(
                        "max_value must be finite and ≥ 0, found {max_value}"
                    ));
                }
                axis
            }
            Constraint::UnitNorm { axis } => axis,
        };
        if axis >= rank.max(1) {
            return Err(format!(
                "axis {axis} is out of range for a weight with {rank} axes"
            ));
        }
        Ok(())
    }

    /// Projects `w` in place.
    pub fn apply(&self, w: &mut Tensor) {
        match *self {
            Constraint::NonNeg => w
                .as_mut_slice()
                .iter_mut()
                .for_each(|v| *v = if *v >= 0.0 { *v } else { 0.0 }),
            Constraint::MaxNorm { max_value, axis } => {
                scale_by_norm(w, axis, |n| n.clamp(0.0, max_value) / (EPSILON + n))
            }
            Constraint::UnitNorm { axis } => scale_by_norm(w, axis, |n| 1.0 / (EPSILON + n)),
        }
    }
}

/// Multiplies every slice along `axis` by `factor(‖slice‖₂)`.
///
/// The slices along `axis` of a row-major tensor are strided (a Dense kernel's columns, for the
/// default axis 0), so the norms are accumulated a whole contiguous row at a time into one sum
/// per slice, then every row is scaled by the slices' factors: two sequential sweeps, each
/// slice's squares still added in axis order (the same sums as one slice at a time). The
/// per-slice sums live in a buffer kept per thread, so a training step allocates nothing here.
fn scale_by_norm(w: &mut Tensor, axis: usize, factor: impl Fn(f32) -> f32) {
    let shape = w.dims();
    if shape.is_empty() {
        let n = w.as_slice()[0].abs();
        w.as_mut_slice()[0] *= factor(n);
        return;
    }
    let axis = axis.min(shape.len() - 1);
    let outer: usize = shape[..axis].iter().product();
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    if inner == 0 || len == 0 {
        return;
    }
    thread_local! {
        static SUMS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SUMS.with(|sums| {
        let mut sums = sums.borrow_mut();
        sums.resize(2 * inner, 0.0);
        let (sums, factors) = sums.split_at_mut(inner);
        for block in w.as_mut_slice().chunks_exact_mut(len * inner).take(outer) {
            sums.fill(0.0);
            for row in block.chunks_exact(inner) {
                for (s, &v) in sums.iter_mut().zip(row) {
                    *s += (v as f64).powi(2);
                }
            }
            for (f, &s) in factors.iter_mut().zip(sums.iter()) {
                *f = factor(s.sqrt() as f32) as f64;
            }
            for row in block.chunks_exact_mut(inner) {
                for (v, &f) in row.iter_mut().zip(factors.iter()) {
                    *v *= f as f32;
                }
            }
        }
    });
}

impl FromStr for Constraint {
    type Err = LayerError;
    /// `"max_norm"` (2, axis 0), `"non_neg"`, `"unit_norm"` (axis 0).
    fn from_str(name: &str) -> Result<Constraint, LayerError> {
        match name {
            "max_norm" => Ok(Constraint::MaxNorm {
                max_value: 2.0,
                axis: 0,
            }),
            "non_neg" => Ok(Constraint::NonNeg),
            "unit_norm" => Ok(Constraint::UnitNorm { axis: 0 }),
            _ => Err(LayerError::UnknownName {
                kind: "constraint",
                name: name.into(),
                valid: vec!["max_norm", "non_neg", "unit_norm"],
            }),
        }
    }
}

impl IntoSpec<Constraint> for Constraint {
    fn into_spec(self) -> Result<Constraint, LayerError> {
        Ok(self)
    }
}

impl IntoSpec<Constraint> for &str {
    fn into_spec(self) -> Result<Constraint, LayerError> {
        self.parse()
    }
}
