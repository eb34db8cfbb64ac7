//! Weight penalties added to the training loss.

use crate::{IntoSpec, LayerError};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use strata_autograd::Var;

/// A weight penalty, as Keras defines it (`l2·Σw²`, not `½·l2·Σw²`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Regularizer {
    /// `l1·Σ|w|` (Keras `l1`, default 0.01).
    L1(f32),
    /// `l2·Σw²` (Keras `l2`, default 0.01).
    L2(f32),
    /// `l1·Σ|w| + l2·Σw²` (Keras `l1_l2`).
    L1L2 {
        /// L1 factor.
        l1: f32,
        /// L2 factor.
        l2: f32,
    },
}

impl Regularizer {
    /// The penalty of `w`, on `w`'s tape.
    pub fn penalty<'t>(&self, w: Var<'t>) -> Var<'t> {
        match *self {
            Regularizer::L1(l1) => w.abs().sum().scale(l1),
            Regularizer::L2(l2) => w.square().sum().scale(l2),
            Regularizer::L1L2 { l1, l2 } => w.abs().sum().scale(l1) + w.square().sum().scale(l2),
        }
    }

    /// Checks the factors: finite and ≥ 0, as Keras requires when a regularizer is made (a layer
    /// checks its regularizers when it is added to a model or loaded from a file).
    pub fn validate(&self) -> Result<(), String> {
        let (l1, l2) = match *self {
            Regularizer::L1(l1) => (l1, 0.0),
            Regularizer::L2(l2) => (0.0, l2),
            Regularizer::L1L2 { l1, l2 } => (l1, l2),
        };
        for (name, v) in [("l1", l1), ("l2", l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{name} must be finite and ≥ 0, found {v}"));
            }
        }
        Ok(())
    }

    /// The penalty's value for a plain tensor (for tests and reporting).
    pub fn value(&self, w: &strata_tensor::Tensor) -> f32 {
        let abs: f64 = w.as_slice().iter().map(|v| v.abs() as f64).sum();
        let sq: f64 = w.as_slice().iter().map(|v| (v * v) as f64).sum();
        match *self {
            Regularizer::L1(l1) => (l1 as f64 * abs) as f32,
            Regularizer::L2(l2) => (l2 as f64 * sq) as f32,
            Regularizer::L1L2 { l1, l2 } => (l1 as f64 * abs + l2 as f64 * sq) as f32,
        }
    }
}

impl FromStr for Regularizer {
    type Err = LayerError;
    /// `"l1"` and `"l2"` (0.01), and `"l1_l2"` (0.01 each, as Keras documents it).
    fn from_str(name: &str) -> Result<Regularizer, LayerError> {
        match name {
            "l1" => Ok(Regularizer::L1(0.01)),
            "l2" => Ok(Regularizer::L2(0.01)),
            "l1_l2" => Ok(Regularizer::L1L2 { l1: 0.01, l2: 0.01 }),
            _ => Err(LayerError::UnknownName {
                kind: "regularizer",
                name: name.into(),
                valid: vec!["l1", "l2", "l1_l2"],
            }),
        }
    }
}

impl IntoSpec<Regularizer> for Regularizer {
    fn into_spec(self) -> Result<Regularizer, LayerError> {
        Ok(self)
    }
}

impl IntoSpec<Regularizer> for &str {
    fn into_spec(self) -> Result<Regularizer, LayerError> {
        self.parse()
    }
}
