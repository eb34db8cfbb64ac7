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
fn scale_by_norm(w: &mut Tensor, axis: usize, factor: impl Fn(f32) -> f32) {
    let shape = w.shape().to_vec();
    let axis = axis.min(shape.len().saturating_sub(1));
    if shape.is_empty() {
        let n = w.as_slice()[0].abs();
        w.as_mut_slice()[0] *= factor(n);
        return;
    }
    let outer: usize = shape[..axis].iter().product();
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let data = w.as_mut_slice();
    for o in 0..outer {
        for i in 0..inner {
            let at = |a: usize| (o * len + a) * inner + i;
            let norm = (0..len)
                .map(|a| (data[at(a)] as f64).powi(2))
                .sum::<f64>()
                .sqrt() as f32;
            let f = factor(norm);
            for a in 0..len {
                data[at(a)] *= f;
            }
        }
    }
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
