//! Activations, softmax and PReLU.

use crate::{Backward, InputGrads, Var};
use strata_tensor::{Tensor, Unary};

struct Activation(Unary);
impl Backward for Activation {
    // dx = dy · f'(x), with f' from the SIMD derivative kernel.
    fn backward(&self, g: &Tensor, x: &[&Tensor], y: &Tensor, _: &[bool]) -> InputGrads {
        [Some(x[0].unary_backward(self.0, y, g))].into()
    }
}

struct Softmax;
impl Backward for Softmax {
    // y = softmax(x) per row: dx = y ⊙ (dy − Σ_j dy_j y_j).
    fn backward(&self, g: &Tensor, _: &[&Tensor], y: &Tensor, _: &[bool]) -> InputGrads {
        let cols = y.shape().last().copied().unwrap_or(1).max(1);
        let mut dx_t = Tensor::zeros(y.shape());
        let dx = dx_t.as_mut_slice();
        for ((dx, y), g) in dx
            .chunks_exact_mut(cols)
            .zip(y.as_slice().chunks_exact(cols))
            .zip(g.as_slice().chunks_exact(cols))
        {
            let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
            for ((dx, &y), &g) in dx.iter_mut().zip(y).zip(g) {
                *dx = y * (g - dot);
            }
        }
        [Some(dx_t)].into()
    }
}

struct LogSoftmax;
impl Backward for LogSoftmax {
    // y = log softmax(x) per row: dx = dy − softmax(x) · Σ_j dy_j, with softmax(x) = e^y.
    fn backward(&self, g: &Tensor, _: &[&Tensor], y: &Tensor, _: &[bool]) -> InputGrads {
        let cols = y.shape().last().copied().unwrap_or(1).max(1);
        let mut dx_t = Tensor::zeros(y.shape());
        let dx = dx_t.as_mut_slice();
        for ((dx, y), g) in dx
            .chunks_exact_mut(cols)
            .zip(y.as_slice().chunks_exact(cols))
            .zip(g.as_slice().chunks_exact(cols))
        {
            let total: f32 = g.iter().sum();
            for ((dx, &y), &g) in dx.iter_mut().zip(y).zip(g) {
                *dx = g - y.exp() * total;
            }
        }
        [Some(dx_t)].into()
    }
}

struct PRelu;
impl Backward for PRelu {
    // y = x for x > 0, α·x otherwise (α per unit, broadcast over rows):
    // dx = dy for x > 0, α·dy otherwise; dα_j = Σ_i [x_ij ≤ 0] x_ij dy_ij.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
        let alpha = x[1].as_slice();
        let k = alpha.len().max(1);
        let xs = x[0].as_slice();
        let gs = g.as_slice();
        let dx = needs[0].then(|| {
            let data = xs
                .iter()
                .zip(gs)
                .enumerate()
                .map(|(i, (&x, &g))| if x > 0.0 { g } else { alpha[i % k] * g })
                .collect();
            Tensor::from_vec(x[0].shape(), data).expect("same shape")
        });
        let dalpha = needs[1].then(|| {
            let mut da_t = Tensor::zeros(x[1].shape());
            let da = da_t.as_mut_slice();
            for (row_x, row_g) in xs.chunks_exact(k).zip(gs.chunks_exact(k)) {
                for ((da, &x), &g) in da.iter_mut().zip(row_x).zip(row_g) {
                    if x <= 0.0 {
                        *da += x * g;
                    }
                }
            }
            da_t
        });
        [dx, dalpha].into()
    }
}

impl<'t> Var<'t> {
    /// Applies an element-wise activation ([`Unary`]), differentiably.
    pub fn unary(self, f: Unary) -> Var<'t> {
        let y = self.value().unary(f);
        self.record_unary(Activation(f), y)
    }

    /// Rectified linear unit, `max(x, 0)`.
    pub fn relu(self) -> Var<'t> {
        self.unary(Unary::Relu)
    }

    /// Logistic sigmoid.
    pub fn sigmoid(self) -> Var<'t> {
        self.unary(Unary::Sigmoid)
    }

    /// Hyperbolic tangent.
    pub fn tanh(self) -> Var<'t> {
        self.unary(Unary::Tanh)
    }

    /// Softmax over the last axis.
    pub fn softmax(self) -> Var<'t> {
        let y = self.value().softmax();
        self.record_unary(Softmax, y)
    }

    /// Log-softmax over the last axis.
    pub fn log_softmax(self) -> Var<'t> {
        let y = self.value().log_softmax();
        self.record_unary(LogSoftmax, y)
    }

    /// Parametric ReLU with one learned slope per unit: `alpha` has the shape of the last axis.
    ///
    /// # Panics
    /// When `alpha`'s length differs from the last dimension of `self`.
    #[track_caller]
    pub fn prelu(self, alpha: Var<'t>) -> Var<'t> {
        let x = self.value();
        let a = alpha.value();
        let k = a.len();
        assert_eq!(
            x.shape().last().copied(),
            Some(k),
            "prelu: alpha of shape {:?} does not match input {:?}",
            a.shape(),
            x.shape()
        );
        let av = a.as_slice();
        let data = x
            .as_slice()
            .iter()
            .enumerate()
            .map(|(i, &v)| if v > 0.0 { v } else { av[i % k] * v })
            .collect();
        let y = Tensor::from_vec(x.shape(), data).expect("same shape");
        self.tape().record(PRelu, &[self, alpha], y)
    }
}
