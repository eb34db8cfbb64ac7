//! Batch normalization over the rows of a `[batch, channels]` value.

use crate::{Backward, InputGrads, Var};
use strata_tensor::{Tensor, kernels::reduce};

/// The batch statistics a training-mode batch normalization computed (for moving averages).
#[derive(Clone, Debug)]
pub struct BatchMoments {
    /// Per-channel mean of the batch.
    pub mean: Tensor,
    /// Per-channel biased (population) variance of the batch, as Keras uses it.
    pub variance: Tensor,
}

struct BatchNormTrain {
    x_hat: Tensor,
    inv_std: Tensor,
}

impl Backward for BatchNormTrain {
    // y = γ·x̂ + β with x̂ = (x − μ)/√(σ² + ε) and μ, σ² the batch moments:
    // dβ = Σ dy, dγ = Σ dy·x̂, dx = γ/(n√(σ² + ε)) · (n·dy − dβ − x̂·dγ).
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
        let c = self.inv_std.len();
        let n = g.len() / c.max(1);
        let gamma = x[1].as_slice();
        let xh = self.x_hat.as_slice();
        let gs = g.as_slice();
        let inv_std = self.inv_std.as_slice();
        let mut dbeta_t = Tensor::zeros(&[c]);
        let mut dgamma_t = Tensor::zeros(&[c]);
        let (dbeta, dgamma) = (dbeta_t.as_mut_slice(), dgamma_t.as_mut_slice());
        for (row_g, row_x) in gs.chunks_exact(c).zip(xh.chunks_exact(c)) {
            for j in 0..c {
                dbeta[j] += row_g[j];
                dgamma[j] += row_g[j] * row_x[j];
            }
        }
        let dx = needs[0].then(|| {
            let inv_n = 1.0 / n as f32;
            let mut dx_t = Tensor::zeros(g.shape());
            for ((row_dx, row_g), row_x) in dx_t
                .as_mut_slice()
                .chunks_exact_mut(c)
                .zip(gs.chunks_exact(c))
                .zip(xh.chunks_exact(c))
            {
                for j in 0..c {
                    let k = gamma[j] * inv_std[j] * inv_n;
                    row_dx[j] = k * (n as f32 * row_g[j] - dbeta[j] - row_x[j] * dgamma[j]);
                }
            }
            dx_t
        });
        [
            dx,
            needs[1].then_some(dgamma_t),
            needs[2].then_some(dbeta_t),
        ]
        .into()
    }
}

struct ScaleShift {
    scale: Vec<f32>,
    x_hat: Tensor,
}

impl Backward for ScaleShift {
    // Inference: y = γ·(x − m)/√(v + ε) + β with fixed m, v: dx = dy·γ/√(v + ε),
    // dγ = Σ dy·x̂, dβ = Σ dy.
    fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
        let c = self.scale.len();
        let gs = g.as_slice();
        let dx = needs[0].then(|| {
            let data = gs
                .iter()
                .enumerate()
                .map(|(i, &g)| g * self.scale[i % c])
                .collect();
            Tensor::from_vec(g.shape(), data).expect("same shape")
        });
        let mut dgamma = vec![0.0f32; c];
        let mut dbeta = vec![0.0f32; c];
        for (row_g, row_x) in gs
            .chunks_exact(c)
            .zip(self.x_hat.as_slice().chunks_exact(c))
        {
            for j in 0..c {
                dbeta[j] += row_g[j];
                dgamma[j] += row_g[j] * row_x[j];
            }
        }
        [
            dx,
            needs[1].then(|| Tensor::from_vec(&[c], dgamma).expect("shape [c]")),
            needs[2].then(|| Tensor::from_vec(&[c], dbeta).expect("shape [c]")),
        ]
        .into()
    }
}

#[track_caller]
fn check(op: &str, x: &Tensor, params: &[&Tensor]) -> usize {
    let c = x.shape().last().copied().unwrap_or(0);
    assert!(
        x.ndim() >= 2 && c > 0,
        "{op}: expected a [batch, channels] input, found {:?}",
        x.shape()
    );
    for p in params {
        assert_eq!(
            p.shape(),
            [c],
            "{op}: a per-channel parameter has shape {:?}, expected [{c}]",
            p.shape()
        );
    }
    c
}

impl<'t> Var<'t> {
    /// Training-mode batch normalization over every axis but the last: normalizes with the
    /// batch's mean and biased variance, then scales by `gamma` and shifts by `beta` (both `[c]`).
    /// Returns the output and the batch moments (for the moving averages).
    #[track_caller]
    pub fn batch_norm(
        self,
        gamma: Var<'t>,
        beta: Var<'t>,
        epsilon: f32,
    ) -> (Var<'t>, BatchMoments) {
        let x = self.value();
        let (gv, bv) = (gamma.value(), beta.value());
        let c = check("batch_norm", &x, &[&gv, &bv]);
        let n = x.len() / c;
        let mut mean = Tensor::zeros(&[c]);
        let mut variance = Tensor::zeros(&[c]);
        reduce::column_moments(
            x.as_slice(),
            n,
            c,
            mean.as_mut_slice(),
            variance.as_mut_slice(),
        );
        let inv_std = variance.map(|v| 1.0 / (v + epsilon).sqrt());
        let mut x_hat = Tensor::zeros(x.shape());
        let mut y = Tensor::zeros(x.shape());
        let (gs, bs) = (gv.as_slice(), bv.as_slice());
        let (m, s) = (mean.as_slice(), inv_std.as_slice());
        for ((row_h, row_y), row_x) in x_hat
            .as_mut_slice()
            .chunks_exact_mut(c)
            .zip(y.as_mut_slice().chunks_exact_mut(c))
            .zip(x.as_slice().chunks_exact(c))
        {
            for j in 0..c {
                let h = (row_x[j] - m[j]) * s[j];
                row_h[j] = h;
                row_y[j] = gs[j] * h + bs[j];
            }
        }
        let moments = BatchMoments { mean, variance };
        (
            self.tape()
                .record(BatchNormTrain { x_hat, inv_std }, &[self, gamma, beta], y),
            moments,
        )
    }

    /// Inference-mode batch normalization with fixed statistics:
    /// `y = gamma · (x − mean) / √(variance + epsilon) + beta`.
    #[track_caller]
    pub fn batch_norm_inference(
        self,
        gamma: Var<'t>,
        beta: Var<'t>,
        mean: &Tensor,
        variance: &Tensor,
        epsilon: f32,
    ) -> Var<'t> {
        let x = self.value();
        let (gv, bv) = (gamma.value(), beta.value());
        let c = check("batch_norm_inference", &x, &[&gv, &bv, mean, variance]);
        let inv_std: Vec<f32> = variance
            .as_slice()
            .iter()
            .map(|v| 1.0 / (v + epsilon).sqrt())
            .collect();
        let scale: Vec<f32> = inv_std
            .iter()
            .zip(gv.as_slice())
            .map(|(s, g)| s * g)
            .collect();
        let (m, bs) = (mean.as_slice(), bv.as_slice());
        let mut x_hat = vec![0.0; x.len()];
        let mut y = vec![0.0; x.len()];
        for ((row_h, row_y), row_x) in x_hat
            .chunks_exact_mut(c)
            .zip(y.chunks_exact_mut(c))
            .zip(x.as_slice().chunks_exact(c))
        {
            for j in 0..c {
                let h = (row_x[j] - m[j]) * inv_std[j];
                row_h[j] = h;
                row_y[j] = gv.as_slice()[j] * h + bs[j];
            }
        }
        let x_hat = Tensor::from_vec(x.shape(), x_hat).expect("same shape");
        let y = Tensor::from_vec(x.shape(), y).expect("same shape");
        self.tape()
            .record(ScaleShift { scale, x_hat }, &[self, gamma, beta], y)
    }
}
