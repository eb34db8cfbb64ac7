//! Dropout and alpha dropout.

use crate::layer::invalid;
use crate::rng::MaskRng;
use crate::{Layer, LayerError, Mode};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use strata_autograd::Var;
use strata_tensor::Tensor;

fn check_rate(layer: &str, rate: f32) -> Result<(), LayerError> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(invalid(
            layer,
            format!("rate must be in [0, 1], found {rate}"),
        ))
    }
}

/// Keras's `Dropout(rate, seed)`: in training, zeroes each input with probability `rate` and
/// scales the rest by `1 / (1 − rate)`, so inference needs no rescaling. Active in
/// [`Mode::Train`] and [`Mode::Sample`] (MC dropout), the identity in [`Mode::Eval`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dropout {
    rate: f32,
    rng: MaskRng,
}

impl Dropout {
    /// Dropout with `rate`, masks drawn from a generator seeded with `seed`.
    pub fn new(rate: f32, seed: u64) -> Dropout {
        Dropout {
            rate,
            rng: MaskRng::new(seed),
        }
    }

    /// The drop probability.
    pub fn rate(&self) -> f32 {
        self.rate
    }
}

impl Layer for Dropout {
    fn class_name(&self) -> &'static str {
        "Dropout"
    }

    fn build(
        &mut self,
        input_shape: &[usize],
        _rng: &mut StdRng,
    ) -> Result<Vec<usize>, LayerError> {
        self.output_shape(input_shape)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
        check_rate("Dropout", self.rate)?;
        Ok(input_shape.to_vec())
    }

    fn forward<'t>(&mut self, x: Var<'t>, mode: Mode) -> Var<'t> {
        if mode == Mode::Eval || self.rate == 0.0 {
            return x;
        }
        let shape = x.shape();
        let keep = 1.0 - self.rate;
        // Scale at training time so inference needs no rescaling; rate 1 gives zeros.
        let scale = if keep > 0.0 { 1.0 / keep } else { 0.0 };
        let mut mask = Tensor::zeros(&shape);
        self.rng
            .fill_mask(mask.as_mut_slice(), self.rate, scale, 0.0);
        x.mul_const(&mask)
    }

    fn trainable(&self) -> bool {
        true
    }

    fn set_trainable(&mut self, _trainable: bool) {}
}

/// SELU's α.
const ALPHA: f32 = 1.673_263_2;
/// SELU's scale.
const SCALE: f32 = 1.050_701;

/// Keras's `AlphaDropout(rate, seed)`: dropout that keeps SELU's self-normalizing mean and
/// variance. Dropped inputs are set to `α' = −scale·α`, then `y = a·x' + b` with
/// `a = ((1 − rate)(1 + rate·α'²))^(−1/2)` and `b = −a·α'·rate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AlphaDropout {
    rate: f32,
    rng: MaskRng,
}

impl AlphaDropout {
    /// Alpha dropout with `rate`, masks drawn from a generator seeded with `seed`.
    pub fn new(rate: f32, seed: u64) -> AlphaDropout {
        AlphaDropout {
            rate,
            rng: MaskRng::new(seed),
        }
    }
}

impl Layer for AlphaDropout {
    fn class_name(&self) -> &'static str {
        "AlphaDropout"
    }

    fn build(
        &mut self,
        input_shape: &[usize],
        _rng: &mut StdRng,
    ) -> Result<Vec<usize>, LayerError> {
        self.output_shape(input_shape)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
        check_rate("AlphaDropout", self.rate)?;
        if self.rate >= 1.0 {
            return Err(invalid("AlphaDropout", "rate must be below 1"));
        }
        Ok(input_shape.to_vec())
    }

    fn forward<'t>(&mut self, x: Var<'t>, mode: Mode) -> Var<'t> {
        if mode == Mode::Eval || self.rate == 0.0 {
            return x;
        }
        let shape = x.shape();
        let rate = self.rate;
        let alpha_p = -ALPHA * SCALE;
        let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
        let b = -a * alpha_p * rate;
        // y = a·(x·keep + α'·(1 − keep)) + b = x·(a·keep) + (a·α'·(1 − keep) + b). One draw
        // per element: the shift is read off the scale (a > 0 for every rate below 1).
        let mut scale = Tensor::zeros(&shape);
        self.rng.fill_mask(scale.as_mut_slice(), rate, a, 0.0);
        let dropped = a * alpha_p + b;
        let shift = scale.map(|s| if s != 0.0 { b } else { dropped });
        x.mul_const(&scale).add_const(&shift)
    }

    fn trainable(&self) -> bool {
        true
    }

    fn set_trainable(&mut self, _trainable: bool) {}
}
