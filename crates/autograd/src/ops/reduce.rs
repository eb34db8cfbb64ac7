//! Reductions to a scalar.

use crate::{Backward, InputGrads, Var};
use strata_tensor::Tensor;

struct Sum;
impl Backward for Sum {
    // d Σx = 1 for every element.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        [Some(Tensor::full(x[0].shape(), g.item()))].into()
    }
}

struct Mean;
impl Backward for Mean {
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        let n = x[0].len().max(1) as f32;
        [Some(Tensor::full(x[0].shape(), g.item() / n))].into()
    }
}

impl<'t> Var<'t> {
    /// Sum of all elements, as a scalar.
    pub fn sum(self) -> Var<'t> {
        let y = Tensor::scalar(self.value().sum());
        self.record_unary(Sum, y)
    }

    /// Mean of all elements, as a scalar.
    pub fn mean(self) -> Var<'t> {
        let y = Tensor::scalar(self.value().mean());
        self.record_unary(Mean, y)
    }
}
