//! Flattening every axis but the batch.

use crate::{Layer, LayerError, Mode};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use strata_autograd::Var;

/// Keras's `Flatten()`: `(None, d1, d2, …)` to `(None, d1·d2·…)`. No weights.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Flatten;

impl Flatten {
    /// The layer.
    pub fn new() -> Flatten {
        Flatten
    }
}

impl Layer for Flatten {
    fn class_name(&self) -> &'static str {
        "Flatten"
    }

    fn build(
        &mut self,
        input_shape: &[usize],
        _rng: &mut StdRng,
    ) -> Result<Vec<usize>, LayerError> {
        self.output_shape(input_shape)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
        Ok(vec![input_shape.iter().product()])
    }

    fn forward<'t>(&mut self, x: Var<'t>, _mode: Mode) -> Var<'t> {
        x.flatten()
    }

    fn trainable(&self) -> bool {
        true
    }

    fn set_trainable(&mut self, _trainable: bool) {}
}
