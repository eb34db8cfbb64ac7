//! The result of a backward pass.

use crate::{Param, ParamId, Var};
use std::collections::HashMap;
use strata_tensor::Tensor;

/// Gradients of a scalar loss with respect to the trainable parameters and variables recorded
/// on a tape. Constants and frozen parameters have none.
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    params: HashMap<ParamId, Tensor>,
    vars: HashMap<usize, Tensor>,
}

impl Gradients {
    pub(crate) fn add_param(&mut self, id: ParamId, grad: Tensor) {
        match self.params.get_mut(&id) {
            Some(existing) => existing.axpy(1.0, &grad),
            None => {
                self.params.insert(id, grad);
            }
        }
    }

    pub(crate) fn insert_var(&mut self, node: usize, grad: Tensor) {
        self.vars.insert(node, grad);
    }

    /// The gradient with respect to a parameter, if it was trainable and on the loss's path.
    pub fn get(&self, param: &Param) -> Option<&Tensor> {
        self.params.get(&param.id())
    }

    /// The gradient with respect to a parameter id.
    pub fn get_by_id(&self, id: ParamId) -> Option<&Tensor> {
        self.params.get(&id)
    }

    /// Mutable access to a parameter's gradient (for clipping).
    pub fn get_mut(&mut self, id: ParamId) -> Option<&mut Tensor> {
        self.params.get_mut(&id)
    }

    /// The gradient with respect to a variable created by [`crate::Tape::variable`].
    pub fn wrt(&self, var: Var<'_>) -> Option<&Tensor> {
        self.vars.get(&var.id())
    }

    /// Every parameter gradient (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Tensor)> {
        self.params.iter().map(|(&id, g)| (id, g))
    }

    /// Every parameter gradient, mutably (in no particular order).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ParamId, &mut Tensor)> {
        self.params.iter_mut().map(|(&id, g)| (id, g))
    }

    /// How many parameters have a gradient.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}
