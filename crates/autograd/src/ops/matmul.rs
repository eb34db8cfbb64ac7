//! Matrix product and bias add.

use crate::{Backward, Var};
use strata_tensor::Tensor;

struct MatMul;
impl Backward for MatMul {
    // C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC. Neither transpose is materialised, and dA is skipped
    // entirely when A is a constant (the input batch), which saves a third of a layer's FLOPs.
    fn backward(
        &self,
        g: &Tensor,
        x: &[&Tensor],
        _: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>> {
        vec![
            needs[0].then(|| g.matmul_nt(x[1])),
            needs[1].then(|| x[0].matmul_tn(g)),
        ]
    }
}

struct AddRow;
impl Backward for AddRow {
    // y[i, j] = x[i, j] + b[j]: dx = dy, db[j] = Σ_i dy[i, j].
    fn backward(
        &self,
        g: &Tensor,
        x: &[&Tensor],
        _: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>> {
        let k = x[1].len();
        let db = needs[1].then(|| {
            let rows = g.len() / k.max(1);
            g.reshape(&[rows, k])
                .expect("same element count")
                .sum_axis(0)
        });
        vec![needs[0].then(|| g.clone()), db]
    }
}

impl<'t> Var<'t> {
    /// Matrix product of a `[m, k]` and a `[k, n]` value.
    ///
    /// # Panics
    /// When either is not 2-D or the inner dimensions differ.
    #[track_caller]
    pub fn matmul(self, rhs: Var<'t>) -> Var<'t> {
        let y = self.value().matmul(&rhs.value());
        self.tape().record(MatMul, &[self, rhs], y)
    }

    /// Adds a `[k]` row (a bias) to every row of a value whose last dimension is `k`.
    #[track_caller]
    pub fn add_row(self, row: Var<'t>) -> Var<'t> {
        let y = self.value().add_row(&row.value());
        self.tape().record(AddRow, &[self, row], y)
    }
}
