//! Activation functions by their Keras names; also usable as a layer (`layers.Activation`).

use crate::{Layer, LayerError, Mode};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use strata_autograd::Var;
use strata_tensor::Unary;

/// An activation function, as Keras names it. As a layer it is Keras's `Activation(...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// The identity (`"linear"`, Keras's `None`).
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x ≥ 0`, `negative_slope·x` otherwise; the string `"leaky_relu"` means 0.2.
    LeakyRelu {
        /// Slope for negative inputs.
        negative_slope: f32,
    },
    /// `x` for `x > 0`, `alpha·(e^x − 1)` otherwise; `"elu"` means `alpha = 1`.
    Elu {
        /// Saturation for negative inputs.
        alpha: f32,
    },
    /// Scaled ELU with the self-normalizing constants (pair with `lecun_normal`).
    Selu,
    /// GELU: exact (`x·Φ(x)`, Keras's default for `"gelu"`) or the tanh approximation.
    Gelu {
        /// Use `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))` instead of the exact form.
        approximate: bool,
    },
    /// SiLU / Swish, `x·σ(x)` (`"silu"` and `"swish"`).
    Silu,
    /// Mish, `x·tanh(softplus(x))`.
    Mish,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Softmax over the last axis.
    Softmax,
    /// `ln(1 + e^x)`.
    Softplus,
}

const NAMES: [&str; 14] = [
    "linear",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "sigmoid",
    "tanh",
    "softmax",
    "softplus",
    "gelu_approximate",
];

impl FromStr for Activation {
    type Err = LayerError;
    /// Parses a Keras activation name (`"relu"`, `"gelu"`, `"swish"`, …).
    fn from_str(name: &str) -> Result<Activation, LayerError> {
        Ok(match name {
            "linear" => Activation::Linear,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            "elu" => Activation::Elu { alpha: 1.0 },
            "selu" => Activation::Selu,
            "gelu" => Activation::Gelu { approximate: false },
            "gelu_approximate" => Activation::Gelu { approximate: true },
            "silu" | "swish" => Activation::Silu,
            "mish" => Activation::Mish,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            "softplus" => Activation::Softplus,
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "activation",
                    name: name.to_string(),
                    valid: NAMES.to_vec(),
                });
            }
        })
    }
}

impl Activation {
    /// The Keras name.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Gelu { .. } => "gelu",
            Activation::Silu => "silu",
            Activation::Mish => "mish",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Softplus => "softplus",
        }
    }

    /// Checks the parameters: a finite `negative_slope` or `alpha` (a layer checks its
    /// activation when it is added to a model or loaded from a file).
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Activation::LeakyRelu { negative_slope: v } | Activation::Elu { alpha: v }
                if !v.is_finite() =>
            {
                Err(format!(
                    "{} needs a finite parameter, found {v}",
                    self.name()
                ))
            }
            _ => Ok(()),
        }
    }

    /// The element-wise kernel, or `None` for linear and softmax.
    pub fn unary(&self) -> Option<Unary> {
        Some(match *self {
            Activation::Linear | Activation::Softmax => return None,
            Activation::Relu => Unary::Relu,
            Activation::LeakyRelu { negative_slope } => Unary::LeakyRelu { negative_slope },
            Activation::Elu { alpha } => Unary::Elu { alpha },
            Activation::Selu => Unary::Selu,
            Activation::Gelu { approximate: false } => Unary::Gelu,
            Activation::Gelu { approximate: true } => Unary::GeluTanh,
            Activation::Silu => Unary::Silu,
            Activation::Mish => Unary::Mish,
            Activation::Sigmoid => Unary::Sigmoid,
            Activation::Tanh => Unary::Tanh,
            Activation::Softplus => Unary::Softplus,
        })
    }

    /// Applies the activation on the tape.
    pub fn apply<'t>(&self, x: Var<'t>) -> Var<'t> {
        match (self, self.unary()) {
            (Activation::Softmax, _) => x.softmax(),
            (_, Some(f)) => x.unary(f),
            (_, None) => x,
        }
    }
}

/// Converts typed values and Keras string names into a configuration value.
pub trait IntoSpec<T> {
    /// The value, or an error naming the valid choices.
    fn into_spec(self) -> Result<T, LayerError>;
}

impl IntoSpec<Activation> for Activation {
    fn into_spec(self) -> Result<Activation, LayerError> {
        Ok(self)
    }
}

impl IntoSpec<Activation> for &str {
    fn into_spec(self) -> Result<Activation, LayerError> {
        self.parse()
    }
}

impl Layer for Activation {
    fn class_name(&self) -> &'static str {
        "Activation"
    }

    fn build(
        &mut self,
        input_shape: &[usize],
        _rng: &mut rand::rngs::StdRng,
    ) -> Result<Vec<usize>, LayerError> {
        Ok(input_shape.to_vec())
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
        Ok(input_shape.to_vec())
    }

    fn forward<'t>(&mut self, x: Var<'t>, _mode: Mode) -> Var<'t> {
        self.apply(x)
    }

    fn trainable(&self) -> bool {
        true
    }

    fn set_trainable(&mut self, _trainable: bool) {}
}
