//! Shape changes.

use crate::{Backward, InputGrads, Var};
use strata_tensor::{ShapeError, Tensor};

struct Reshape;
impl Backward for Reshape {
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        [Some(g.reshape(x[0].shape()).expect("same element count"))].into()
    }
}

impl<'t> Var<'t> {
    /// The same values under another shape with the same element count.
    pub fn reshape(self, shape: &[usize]) -> Result<Var<'t>, ShapeError> {
        let y = self.value().reshape(shape)?;
        Ok(self.record_unary(Reshape, y))
    }

    /// Flattens every dimension but the first (the batch): `[n, d1, d2, …]` to `[n, d1·d2·…]`.
    pub fn flatten(self) -> Var<'t> {
        let shape = self.shape();
        let batch = shape.first().copied().unwrap_or(1);
        let rest: usize = shape.iter().skip(1).product();
        self.reshape(&[batch, rest])
            .expect("flatten keeps the element count")
    }
}
