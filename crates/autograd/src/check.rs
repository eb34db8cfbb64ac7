//! Finite-difference gradient checking.
//!
//! The checked function `f` is scalarized as `L = Σ v ⊙ f(x)` with a *random* upstream `v`, so a
//! rule that ignores its incoming gradient fails. Analytic gradients come from one backward
//! pass; numeric ones from central differences of `L`. The engine is `f32`-only, so the
//! differences use a step of `1e-2` (smaller steps drown in rounding), `L` is accumulated in
//! `f64`, and the default tolerance is `|a − n| ≤ 1e-3 + 1e-2·|n|`. A second backward pass on a
//! fresh tape must give bitwise-identical gradients (re-entrancy).

use crate::{Tape, Var};
use rand::{Rng, SeedableRng, rngs::StdRng};
use strata_tensor::Tensor;

/// Step and tolerance of [`check_gradients`].
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    /// Central-difference step.
    pub step: f32,
    /// Absolute tolerance.
    pub atol: f32,
    /// Relative tolerance (of the numeric value).
    pub rtol: f32,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            step: 1e-2,
            atol: 1e-3,
            rtol: 1e-2,
        }
    }
}

fn scalarized(
    f: &dyn Fn(&Tape, &[Var<'_>]) -> Tensor,
    inputs: &[Tensor],
    upstream: &Option<Tensor>,
) -> (f64, Tensor) {
    let tape = Tape::new();
    let vars: Vec<Var<'_>> = inputs.iter().map(|x| tape.constant(x.clone())).collect();
    let y = f(&tape, &vars);
    let v = upstream.clone().unwrap_or_else(|| Tensor::zeros(y.shape()));
    let total = y
        .as_slice()
        .iter()
        .zip(v.as_slice())
        .map(|(&y, &v)| y as f64 * v as f64)
        .sum();
    (total, y)
}

/// Checks the gradient of `f` with respect to every input by finite differences.
///
/// `f` builds its output from the input variables on the given tape. Returns a description of
/// the first mismatch, or of a non-deterministic backward pass, as the error.
pub fn check_gradients<F>(f: F, inputs: &[Tensor], tolerance: Tolerance) -> Result<(), String>
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Var<'t>,
{
    let mut rng = StdRng::seed_from_u64(0x5EED);
    let value_of = |tape: &Tape, vars: &[Var<'_>]| -> Tensor {
        // SAFETY-free trick: the closure is higher-ranked, so it can run on any tape.
        let _ = tape;
        f(vars[0].tape(), vars).value()
    };
    let (_, y) = scalarized(&value_of, inputs, &None);
    let upstream = Tensor::from_fn(y.shape(), |_| rng.random_range(-1.0..1.0));

    let analytic = |()| {
        let tape = Tape::new();
        let vars: Vec<Var<'_>> = inputs.iter().map(|x| tape.variable(x.clone())).collect();
        let out = f(&tape, &vars);
        let loss = out.mul_const(&upstream).sum();
        let grads = tape.backward(loss);
        vars.iter()
            .map(|&v| {
                grads
                    .wrt(v)
                    .cloned()
                    .unwrap_or_else(|| Tensor::zeros(v.value().shape()))
            })
            .collect::<Vec<Tensor>>()
    };
    let first = analytic(());
    let second = analytic(());
    for (i, (a, b)) in first.iter().zip(&second).enumerate() {
        let same = a
            .as_slice()
            .iter()
            .zip(b.as_slice())
            .all(|(x, y)| x.to_bits() == y.to_bits());
        if !same {
            return Err(format!(
                "input {i}: two backward passes gave different gradients"
            ));
        }
    }

    let upstream = Some(upstream.clone());
    for (i, grad) in first.iter().enumerate() {
        if grad.shape() != inputs[i].shape() {
            return Err(format!(
                "input {i}: gradient shape {:?} differs from input shape {:?}",
                grad.shape(),
                inputs[i].shape()
            ));
        }
        for j in 0..inputs[i].len() {
            let mut plus = inputs.to_vec();
            plus[i].as_mut_slice()[j] += tolerance.step;
            let mut minus = inputs.to_vec();
            minus[i].as_mut_slice()[j] -= tolerance.step;
            let (lp, _) = scalarized(&value_of, &plus, &upstream);
            let (lm, _) = scalarized(&value_of, &minus, &upstream);
            let numeric = ((lp - lm) / (2.0 * tolerance.step as f64)) as f32;
            let a = grad.as_slice()[j];
            if !a.is_finite()
                || (a - numeric).abs() > tolerance.atol + tolerance.rtol * numeric.abs()
            {
                return Err(format!(
                    "input {i}, element {j}: analytic {a} vs numeric {numeric}"
                ));
            }
        }
    }
    Ok(())
}
