//! Matrix product and bias add.

use crate::{Backward, InputGrads, Product, Var};
use strata_tensor::{Tensor, Transpose, Unary};

struct MatMul;
impl Backward for MatMul {
    // C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC. Neither transpose is materialised, and dA is skipped
    // entirely when A is a constant (the input batch), which saves a third of a layer's FLOPs.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
        [
            needs[0].then(|| g.matmul_nt(x[1])),
            needs[1].then(|| x[0].matmul_tn(g)),
        ]
        .into()
    }

    // A parameter operand's gradient left in factors: dA = dC·Bᵀ, dB = Aᵀ·dC.
    fn product(&self, g: &Tensor, x: &[&Tensor], index: usize) -> Option<Product> {
        match index {
            0 => Some(Product {
                a: g.clone(),
                trans_a: Transpose::No,
                b: x[1].clone(),
                trans_b: Transpose::Yes,
            }),
            1 => Some(Product {
                a: x[0].clone(),
                trans_a: Transpose::Yes,
                b: g.clone(),
                trans_b: Transpose::No,
            }),
            _ => None,
        }
    }
}

struct AddRow;
impl Backward for AddRow {
    // y[i, j] = x[i, j] + b[j]: dx = dy, db[j] = Σ_i dy[i, j].
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
        let k = x[1].len();
        let db = needs[1].then(|| {
            let rows = g.len() / k.max(1);
            g.reshape(&[rows, k])
                .expect("same element count")
                .sum_axis(0)
        });
        [needs[0].then(|| g.clone()), db].into()
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

    /// A dense layer's forward pass, `f(self · w + bias)` (`None` skips a step). When nothing
    /// needs a gradient (inference, or a frozen layer on constant inputs) it runs as one fused
    /// sweep ([`Tensor::matmul_bias_unary`]) and records no rule; otherwise it records the
    /// product, the bias add and the activation as separate differentiable operations. Both
    /// give the same bits.
    #[track_caller]
    pub fn dense(self, w: Var<'t>, bias: Option<Var<'t>>, f: Option<Unary>) -> Var<'t> {
        let needs_grad =
            self.requires_grad() || w.requires_grad() || bias.is_some_and(|b| b.requires_grad());
        if !needs_grad {
            let y = self
                .value()
                .matmul_bias_unary(&w.value(), bias.map(|b| b.value()).as_ref(), f);
            return self.tape().constant(y);
        }
        let mut y = self.matmul(w);
        if let Some(b) = bias {
            y = y.add_row(b);
        }
        match f {
            Some(f) => y.unary(f),
            None => y,
        }
    }

    /// Adds a `[k]` row (a bias) to every row of a value whose last dimension is `k`.
    #[track_caller]
    pub fn add_row(self, row: Var<'t>) -> Var<'t> {
        let y = self.value().add_row(&row.value());
        self.tape().record(AddRow, &[self, row], y)
    }
}
