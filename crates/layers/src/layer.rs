//! The layer contract.

use crate::{LayerError, Mode};
use rand::rngs::StdRng;
use strata_autograd::{Param, Tape, Var};
use strata_tensor::Tensor;

/// A building block of a model.
///
/// A layer is configured first (Keras style, e.g. `Dense::new(300).activation("relu")`), then
/// built for an input shape (which creates its weights), then run forward in a [`Mode`]. Shapes
/// here never include the batch axis. Freezing ([`Layer::set_trainable`]) and the forward mode
/// are different things: a frozen layer's variables get no gradient and no update, and a frozen
/// `BatchNormalization` infers with its moving statistics even in [`Mode::Train`] (Keras 3).
pub trait Layer {
    /// The Keras class name (`"Dense"`), used in summaries and default names.
    fn class_name(&self) -> &'static str;

    /// Creates the weights for `input_shape` and returns the output shape. Errors explain a
    /// shape the layer cannot take or a configuration it rejects.
    fn build(&mut self, input_shape: &[usize], rng: &mut StdRng) -> Result<Vec<usize>, LayerError>;

    /// The output shape for an input shape, without building.
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError>;

    /// Computes the output, recording differentiable work on `x`'s tape. The input must have
    /// the shape the layer was built for (plus the batch axis).
    fn forward<'t>(&mut self, x: Var<'t>, mode: Mode) -> Var<'t>;

    /// Checks that the variables (e.g. loaded from a file) have the shapes this configuration
    /// needs for `input_shape`, and are finite. Called by loaders before a layer is used.
    fn check_variables(&self, input_shape: &[usize]) -> Result<(), LayerError> {
        let _ = input_shape;
        for p in self.variables() {
            if !p.value.is_finite() {
                return Err(invalid(
                    self.class_name(),
                    format!("variable {} holds NaN or infinite values", p.name()),
                ));
            }
        }
        Ok(())
    }

    /// The variables in Keras's `get_weights` order (trainable or not).
    fn variables(&self) -> Vec<&Param> {
        Vec::new()
    }

    /// The variables, mutably, in the same order.
    fn variables_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }

    /// Calls `f` on each variable, mutably, in the order of [`Layer::variables_mut`], without
    /// collecting them (a training step uses this, so that it allocates nothing). The default
    /// goes through `variables_mut`; layers with variables override it.
    fn for_each_variable_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        for p in self.variables_mut() {
            f(p);
        }
    }

    /// The sum of the weight penalties of the *trainable* variables, if any.
    fn regularization<'t>(&self, _tape: &'t Tape) -> Option<Var<'t>> {
        None
    }

    /// Applies the weight constraints (after an optimizer update).
    fn apply_constraints(&mut self) {}

    /// Whether the layer is trainable (not frozen).
    fn trainable(&self) -> bool;

    /// Freezes (`false`) or unfreezes (`true`) the layer.
    fn set_trainable(&mut self, trainable: bool);

    /// The number of scalars in all variables.
    fn count_params(&self) -> usize {
        self.variables().iter().map(|p| p.value.len()).sum()
    }

    /// The number of scalars in trainable variables.
    fn count_trainable_params(&self) -> usize {
        self.variables()
            .iter()
            .filter(|p| p.trainable)
            .map(|p| p.value.len())
            .sum()
    }

    /// Copies of the variables' values, in Keras order.
    fn weights(&self) -> Vec<Tensor> {
        self.variables().iter().map(|p| p.value.clone()).collect()
    }

    /// Replaces the variables' values. The count and every shape are checked first; on any
    /// mismatch the layer is unchanged and the error names the layer and both shapes.
    fn set_weights(&mut self, weights: &[Tensor]) -> Result<(), LayerError> {
        let name = self.class_name().to_string();
        let mut vars = self.variables_mut();
        if vars.len() != weights.len() {
            return Err(LayerError::WeightsMismatch {
                layer: name,
                expected: format!("{} weight tensors", vars.len()),
                found: format!("{} weight tensors", weights.len()),
            });
        }
        for (var, w) in vars.iter().zip(weights) {
            if var.value.shape() != w.shape() {
                return Err(LayerError::WeightsMismatch {
                    layer: name,
                    expected: format!("{} of shape {:?}", var.name(), var.value.shape()),
                    found: format!("shape {:?}", w.shape()),
                });
            }
        }
        for (var, w) in vars.iter_mut().zip(weights) {
            var.value = w.clone();
        }
        Ok(())
    }
}

/// Panics with the layer name and both shapes when an input's feature shape is not the built one.
#[track_caller]
pub(crate) fn expect_input(layer: &str, built: &[usize], x: &Var<'_>) {
    let shape = x.shape();
    assert!(
        shape.len() == built.len() + 1 && shape[1..] == *built,
        "{layer}: built for inputs (None, {}), called on {shape:?}",
        built
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

pub(crate) fn invalid(layer: &str, message: impl Into<String>) -> LayerError {
    LayerError::InvalidArgument {
        layer: layer.to_string(),
        message: message.into(),
    }
}
