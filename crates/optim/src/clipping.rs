//! Gradient clipping, as Keras's `clipvalue`, `clipnorm` and `global_clipnorm`.

use serde::{Deserialize, Serialize};
use strata_tensor::Tensor;

/// How gradients are clipped before an update (at most one kind per optimizer).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Clipping {
    /// Element-wise `clip(g, −v, v)` (Keras `clipvalue`).
    Value(f32),
    /// Per tensor `g·c / max(‖g‖₂, c)` (Keras `clipnorm`); a NaN norm makes that tensor NaN.
    Norm(f32),
    /// All tensors scaled by `c·min(1/N, 1/c)` with `N` the norm over all of them (Keras
    /// `global_clipnorm`); a NaN or infinite `N` makes every gradient NaN.
    GlobalNorm(f32),
}

fn norm(g: &Tensor) -> f64 {
    g.as_slice()
        .iter()
        .map(|&v| v as f64 * v as f64)
        .sum::<f64>()
        .sqrt()
}

impl Clipping {
    /// Clips the gradients in place.
    pub fn apply(&self, grads: &mut [Tensor]) {
        match *self {
            Clipping::Value(v) => {
                for g in grads {
                    g.as_mut_slice()
                        .iter_mut()
                        .for_each(|x| *x = x.clamp(-v, v));
                }
            }
            Clipping::Norm(c) => {
                for g in grads {
                    let n = norm(g) as f32;
                    // Keras: g·c / max(‖g‖, c), where a NaN norm makes the whole tensor NaN
                    // (`f32::max` would drop the NaN and leave the tensor's numbers as they are).
                    let s = if n.is_nan() {
                        f32::NAN
                    } else if n > c {
                        c / n
                    } else {
                        continue;
                    };
                    g.as_mut_slice().iter_mut().for_each(|x| *x *= s);
                }
            }
            Clipping::GlobalNorm(c) => {
                let n = grads.iter().map(|g| norm(g).powi(2)).sum::<f64>().sqrt() as f32;
                // Keras: scale = c·min(1/N, 1/c) + (N − N), so a NaN/∞ norm poisons everything.
                let scale = if n.is_finite() {
                    c * (1.0 / n).min(1.0 / c)
                } else {
                    f32::NAN
                };
                if scale != 1.0 {
                    for g in grads {
                        g.as_mut_slice().iter_mut().for_each(|x| *x *= scale);
                    }
                }
            }
        }
    }
}
