//! Element-wise activation functions and their derivatives.

use super::math::{self, INV_SQRT_2PI, SELU_ALPHA, SELU_SCALE, SQRT_2_OVER_PI};
use super::multiversion;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// An element-wise function with a derivative kernel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Unary {
    /// `max(x, 0)` (NaN stays NaN, as in Keras).
    Relu,
    /// `x` for `x ≥ 0`, `negative_slope · x` otherwise.
    LeakyRelu {
        /// Slope for negative inputs.
        negative_slope: f32,
    },
    /// `x` for `x > 0`, `alpha · (e^x − 1)` otherwise.
    Elu {
        /// Saturation value for negative inputs.
        alpha: f32,
    },
    /// `scale · elu(x, alpha)` with Klambauer et al.'s constants.
    Selu,
    /// Exact GELU, `x · Φ(x)` with the normal CDF `Φ`.
    Gelu,
    /// GELU's tanh approximation, `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    GeluTanh,
    /// SiLU / Swish, `x · σ(x)`.
    Silu,
    /// Mish, `x · tanh(softplus(x))`.
    Mish,
    /// Logistic sigmoid `1 / (1 + e^{−x})`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// `ln(1 + e^x)`.
    Softplus,
}

impl Unary {
    /// Every function, with representative parameters (for tests and benches).
    pub const ALL: [Unary; 11] = [
        Unary::Relu,
        Unary::LeakyRelu {
            negative_slope: 0.2,
        },
        Unary::Elu { alpha: 1.0 },
        Unary::Selu,
        Unary::Gelu,
        Unary::GeluTanh,
        Unary::Silu,
        Unary::Mish,
        Unary::Sigmoid,
        Unary::Tanh,
        Unary::Softplus,
    ];

    /// The function at one point (the scalar specification).
    #[inline(always)]
    pub fn eval(self, x: f32) -> f32 {
        match self {
            // Not `x.max(0.0)`, which returns 0 for NaN and so would hide a diverging model.
            Unary::Relu => {
                if x <= 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Unary::LeakyRelu { negative_slope } => {
                if x >= 0.0 {
                    x
                } else {
                    x * negative_slope
                }
            }
            Unary::Elu { alpha } => elu(x, alpha),
            Unary::Selu => SELU_SCALE * elu(x, SELU_ALPHA),
            Unary::Gelu => 0.5 * x * math::erfc(-x * std::f32::consts::FRAC_1_SQRT_2),
            Unary::GeluTanh => {
                let inner = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
                0.5 * x * (1.0 + math::tanh(inner))
            }
            Unary::Silu => x * math::sigmoid(x),
            Unary::Mish => x * math::tanh_softplus(x),
            Unary::Sigmoid => math::sigmoid(x),
            Unary::Tanh => math::tanh(x),
            Unary::Softplus => math::softplus(x),
        }
    }

    /// The derivative at `x`, given also the output `y = f(x)` (some rules are cheaper from it).
    #[inline(always)]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Unary::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Unary::LeakyRelu { negative_slope } => {
                if x >= 0.0 {
                    1.0
                } else {
                    negative_slope
                }
            }
            // d/dx α(e^x − 1) = α e^x = y + α.
            Unary::Elu { alpha } => {
                if x > 0.0 {
                    1.0
                } else {
                    y + alpha
                }
            }
            Unary::Selu => {
                if x > 0.0 {
                    SELU_SCALE
                } else {
                    y + SELU_SCALE * SELU_ALPHA
                }
            }
            // d/dx x·Φ(x) = Φ(x) + x·φ(x).
            Unary::Gelu => {
                let cdf = 0.5 * math::erfc(-x * std::f32::consts::FRAC_1_SQRT_2);
                cdf + x * INV_SQRT_2PI * math::exp(-0.5 * x * x)
            }
            Unary::GeluTanh => {
                let x2 = x * x;
                let t = math::tanh(SQRT_2_OVER_PI * (x + 0.044_715 * x2 * x));
                0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 0.134_145 * x2)
            }
            // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x))).
            Unary::Silu => {
                let s = math::sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }
            // d/dx x·t(x) with t = tanh(softplus(x)): t + x·(1 − t²)·σ(x).
            Unary::Mish => {
                let t = math::tanh_softplus(x);
                t + x * (1.0 - t * t) * math::sigmoid(x)
            }
            Unary::Sigmoid => y * (1.0 - y),
            Unary::Tanh => 1.0 - y * y,
            Unary::Softplus => math::sigmoid(x),
        }
    }
}

/// ELU; a NaN input gives NaN (as in Keras), not the `0` that `x.min(0.0)` would pass on.
#[inline(always)]
fn elu(x: f32, alpha: f32) -> f32 {
    // `exp_m1` sees x only where it is not positive (both sides are computed: no branch).
    let negative_part = if x > 0.0 { 0.0 } else { x };
    if x > 0.0 {
        x
    } else {
        alpha * math::exp_m1(negative_part)
    }
}

/// Runs `$body` in a `match` arm per variant of `Unary`, so that in each arm the variant is a
/// constant and the loop in `$body` is straight-line code the compiler vectorizes.
macro_rules! per_variant {
    ($f:ident => $body:expr) => {
        match $f {
            Unary::Relu => $body,
            Unary::LeakyRelu { .. } => $body,
            Unary::Elu { .. } => $body,
            Unary::Selu => $body,
            Unary::Gelu => $body,
            Unary::GeluTanh => $body,
            Unary::Silu => $body,
            Unary::Mish => $body,
            Unary::Sigmoid => $body,
            Unary::Tanh => $body,
            Unary::Softplus => $body,
        }
    };
}

#[inline(always)]
fn forward_generic(f: Unary, x: &[f32], y: &mut [f32]) {
    assert_eq!(
        x.len(),
        y.len(),
        "unary forward: input and output lengths differ"
    );
    per_variant!(f => for (y, &x) in y.iter_mut().zip(x) {
        *y = f.eval(x)
    });
}

#[inline(always)]
fn backward_generic(f: Unary, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    assert!(
        x.len() == y.len() && x.len() == dy.len() && x.len() == dx.len(),
        "unary backward: lengths {}, {}, {}, {} differ",
        x.len(),
        y.len(),
        dy.len(),
        dx.len()
    );
    per_variant!(f => for (((dx, &x), &y), &dy) in dx.iter_mut().zip(x).zip(y).zip(dy) {
        *dx = dy * f.derivative(x, y)
    });
}

#[inline(always)]
fn bias_unary_generic(row: &[f32], f: Option<Unary>, xy: &mut [f32]) {
    if !row.is_empty() {
        assert!(
            xy.len().is_multiple_of(row.len()),
            "bias_unary: a row of {} does not divide {} elements",
            row.len(),
            xy.len()
        );
        for chunk in xy.chunks_exact_mut(row.len()) {
            for (v, &r) in chunk.iter_mut().zip(row) {
                *v += r;
            }
        }
    }
    let Some(f) = f else { return };
    per_variant!(f => for v in xy.iter_mut() {
        *v = f.eval(*v)
    });
}

multiversion! {
    /// In place, `xy[i, j] = f(xy[i, j] + row[j])` (rows of `row.len()` elements; no bias when
    /// `row` is empty, no function when `f` is `None`): the epilogue of a fused dense layer,
    /// bit-identical to [`super::elementwise::add_row`] followed by [`forward`].
    pub fn bias_unary_in_place / bias_unary_in_place_with(row: &[f32], f: Option<Unary>, xy: &mut [f32]) => bias_unary_generic;
}

multiversion! {
    /// `y[i] = f(x[i])` on one thread.
    pub fn forward_serial / forward_serial_with(f: Unary, x: &[f32], y: &mut [f32]) => forward_generic;
}

multiversion! {
    /// `dx[i] = dy[i] · f'(x[i])` on one thread, where `y = f(x)` is the forward output.
    pub fn backward_serial / backward_serial_with(f: Unary, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) => backward_generic;
}

/// `y[i] = f(x[i])`, split over threads in fixed chunks when the input is large.
pub fn forward(f: Unary, x: &[f32], y: &mut [f32]) {
    if x.len() < super::PARALLEL_THRESHOLD {
        forward_serial(f, x, y);
    } else {
        let chunk = super::PARALLEL_CHUNK;
        y.par_chunks_mut(chunk)
            .zip(x.par_chunks(chunk))
            .for_each(|(y, x)| forward_serial(f, x, y));
    }
}

/// `dx[i] = dy[i] · f'(x[i])`, split over threads in fixed chunks when the input is large.
pub fn backward(f: Unary, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    if x.len() < super::PARALLEL_THRESHOLD {
        backward_serial(f, x, y, dy, dx);
    } else {
        let chunk = super::PARALLEL_CHUNK;
        dx.par_chunks_mut(chunk)
            .zip(x.par_chunks(chunk))
            .zip(y.par_chunks(chunk))
            .zip(dy.par_chunks(chunk))
            .for_each(|(((dx, x), y), dy)| backward_serial(f, x, y, dy, dx));
    }
}
