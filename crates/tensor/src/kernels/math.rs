//! Branch-free scalar elementary functions.
//!
//! These are the *specification* of every element-wise kernel: the SIMD paths are the very same
//! code compiled under `#[target_feature]` (see `kernels/mod.rs`), which LLVM vectorizes because
//! nothing here branches or calls libm. Rust never contracts `a * b + c` into an FMA on its own,
//! so the vector paths produce bit-identical results to this scalar path.

// Polynomial coefficients are kept exactly as their published tables give them.
#![allow(clippy::excessive_precision)]

/// `1.5 · 2²³`: adding it rounds an `f32` of magnitude below 2²² to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `e^x` for `f32`, relative error below 2 ulp on `[-87.3, 88.7]`; inputs are clamped to that
/// range, so the result is never infinite or denormal.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.7);
    // x = n·ln2 + r, |r| ≤ ln2/2, with ln2 split in a high and low part (Cody–Waite).
    let shifted = x * std::f32::consts::LOG2_E + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    // Minimax polynomial for e^r on [-ln2/2, ln2/2] (Cephes expf).
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let er = p * r * r + r + 1.0;
    // 2^n from the integer sitting in the low mantissa bits of `shifted`.
    let n_int = (shifted.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let scale = f32::from_bits((n_int.wrapping_add(127) << 23) as u32);
    er * scale
}

/// Natural logarithm for positive normal `f32`; `ln(0)` returns about −88 instead of −∞, while
/// NaN and +∞ are returned unchanged (the bit arithmetic below would make them finite).
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let input = x;
    // Not `x.max(..)`, which would turn NaN into the bound.
    let x = if x < f32::MIN_POSITIVE {
        f32::MIN_POSITIVE
    } else {
        x
    };
    let bits = x.to_bits() as i32;
    // x = m · 2^e with m in [√½, √2).
    let mut e = ((bits >> 23) & 0xFF) - 127;
    let mut m = f32::from_bits(((bits & 0x007F_FFFF) | 0x3F80_0000) as u32);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e = if big { e + 1 } else { e };
    let f = m - 1.0;
    let z = f * f;
    // Cephes logf polynomial: ln(1+f) = f − f²/2 + f³·P(f).
    let p = 7.037_683_6e-2;
    let p = p * f - 1.151_461e-1;
    let p = p * f + 1.167_699_9e-1;
    let p = p * f - 1.242_014_1e-1;
    let p = p * f + 1.424_932_3e-1;
    let p = p * f - 1.666_805_8e-1;
    let p = p * f + 2.000_071_4e-1;
    let p = p * f - 2.499_999_4e-1;
    let p = p * f + 3.333_333e-1;
    let y = f * z * p - 0.5 * z;
    let ef = e as f32;
    let result = f + y + ef * std::f32::consts::LN_2;
    if input.is_nan() || input == f32::INFINITY {
        input
    } else {
        result
    }
}

/// `ln(1 + u)` for `u ≥ 0`, accurate for tiny `u` (Goldberg's trick).
#[inline(always)]
pub fn ln_1p(u: f32) -> f32 {
    let w = 1.0 + u;
    let d = w - 1.0;
    if d == 0.0 { u } else { ln(w) * (u / d) }
}

/// `e^x − 1`, accurate near zero (Taylor series there, `exp` elsewhere).
#[inline(always)]
pub fn exp_m1(x: f32) -> f32 {
    let small = x.abs() < 0.35;
    let t = x * (1.0 / 5040.0) + (1.0 / 720.0);
    let t = t * x + (1.0 / 120.0);
    let t = t * x + (1.0 / 24.0);
    let t = t * x + (1.0 / 6.0);
    let t = t * x + 0.5;
    let series = (t * x) * x + x;
    if small { series } else { exp(x) - 1.0 }
}

/// Logistic sigmoid `1 / (1 + e^{−x})`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Hyperbolic tangent (Cephes tanhf: odd polynomial near zero, exponentials elsewhere); NaN
/// gives NaN.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let p = -5.704_988_7e-3;
    let p = p * z + 2.063_908_9e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z - 3.333_328_2e-1;
    let small = p * z * x + x;
    // Not `a.min(9.5)`, which would turn NaN into 9.5 and so tanh(NaN) into 1.
    let e = exp(-2.0 * if a > 9.5 { 9.5 } else { a });
    let large = (1.0 - e) / (1.0 + e);
    let large = if x < 0.0 { -large } else { large };
    if a < 0.625 { small } else { large }
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
#[inline(always)]
pub fn erfc(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let p = 0.170_872_77;
    let p = p * t - 0.822_152_23;
    let p = p * t + 1.488_515_9;
    let p = p * t - 1.135_203_98;
    let p = p * t + 0.278_868_07;
    let p = p * t - 0.186_288_06;
    let p = p * t + 0.096_784_18;
    let p = p * t + 0.374_091_96;
    let p = p * t + 1.000_023_7;
    let p = p * t - 1.265_512_2;
    let ans = t * exp(-z * z + p);
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// Softplus `ln(1 + e^x)`, computed stably as `max(x, 0) + ln(1 + e^{−|x|})`.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + ln_1p(exp(-x.abs()))
}

/// `tanh(softplus(x))`, the gate of Mish, without overflow: with `n = e^x (e^x + 2)`,
/// `tanh(ln(1 + e^x)) = n / (n + 2)`.
#[inline(always)]
pub fn tanh_softplus(x: f32) -> f32 {
    let e = exp(x.min(20.0));
    let n = e * (e + 2.0);
    n / (n + 2.0)
}

/// `1 / √(2π)`.
pub const INV_SQRT_2PI: f32 = 0.398_942_3;
/// `√(2/π)`.
pub const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// SELU's α (Klambauer et al., as in Keras).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU's scale λ (Klambauer et al., as in Keras).
pub const SELU_SCALE: f32 = 1.050_701;
