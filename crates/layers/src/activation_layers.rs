//! The activation layers with parameters: `ReLU`, `LeakyReLU`, `ELU` and `PReLU`.

use crate::layer::invalid;
use crate::{Initializer, Layer, LayerError, Mode};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use strata_autograd::{Param, Var};
use strata_tensor::Unary;

macro_rules! elementwise_layer {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty = $default:expr),* } => $class:literal, $unary:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Serialize, Deserialize)]
        pub struct $name {
            $($field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default),* }
            }
        }

        impl Layer for $name {
            fn class_name(&self) -> &'static str {
                $class
            }

            fn build(&mut self, input_shape: &[usize], _rng: &mut StdRng) -> Result<Vec<usize>, LayerError> {
                self.output_shape(input_shape)
            }

            fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
                // The parameters are checked here, when the layer is added or loaded.
                let check: fn(&Self) -> Result<(), String> = $check;
                check(self).map_err(|m| invalid($class, m))?;
                Ok(input_shape.to_vec())
            }

            fn forward<'t>(&mut self, x: Var<'t>, _mode: Mode) -> Var<'t> {
                let f: fn(&Self) -> Unary = $unary;
                x.unary(f(self))
            }

            fn trainable(&self) -> bool {
                true
            }

            fn set_trainable(&mut self, _trainable: bool) {}
        }
    };
}

elementwise_layer! {
    /// Keras's `ReLU()` layer, `max(x, 0)`.
    ReLU {} => "ReLU", |_| Unary::Relu, |_| Ok(())
}

elementwise_layer! {
    /// Keras's `LeakyReLU(negative_slope=0.3)` layer (note: the layer's default is 0.3, the
    /// `"leaky_relu"` function's is 0.2).
    LeakyReLU { negative_slope: f32 = 0.3 } => "LeakyReLU", |l| Unary::LeakyRelu { negative_slope: l.negative_slope },
    // Keras's rule: "cannot be None or negative".
    |l| if l.negative_slope.is_finite() && l.negative_slope >= 0.0 {
        Ok(())
    } else {
        Err(format!("negative_slope must be finite and ≥ 0, found {}", l.negative_slope))
    }
}

elementwise_layer! {
    /// Keras's `ELU(alpha=1.0)` layer.
    ELU { alpha: f32 = 1.0 } => "ELU", |l| Unary::Elu { alpha: l.alpha },
    |l| if l.alpha.is_finite() {
        Ok(())
    } else {
        Err(format!("alpha must be finite, found {}", l.alpha))
    }
}

impl ReLU {
    /// The layer.
    pub fn new() -> ReLU {
        ReLU {}
    }
}

impl LeakyReLU {
    /// A leaky ReLU with the given slope for negative inputs (Keras `negative_slope`).
    pub fn new(negative_slope: f32) -> LeakyReLU {
        LeakyReLU { negative_slope }
    }
}

impl ELU {
    /// An ELU saturating at `−alpha`.
    pub fn new(alpha: f32) -> ELU {
        ELU { alpha }
    }
}

/// Keras's `PReLU()`: `x` for `x > 0`, `alpha·x` otherwise, with one learned `alpha` per
/// feature, initialized to zeros (Keras's default; PyTorch uses 0.25).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PReLU {
    alpha_initializer: Initializer,
    trainable: bool,
    alpha: Option<Param>,
}

impl Default for PReLU {
    fn default() -> Self {
        PReLU::new()
    }
}

impl PReLU {
    /// A PReLU with zero-initialized slopes.
    pub fn new() -> PReLU {
        PReLU {
            alpha_initializer: Initializer::Zeros,
            trainable: true,
            alpha: None,
        }
    }

    /// The initializer of `alpha`.
    pub fn alpha_initializer(mut self, init: Initializer) -> PReLU {
        self.alpha_initializer = init;
        self
    }
}

impl Layer for PReLU {
    fn class_name(&self) -> &'static str {
        "PReLU"
    }

    fn build(&mut self, input_shape: &[usize], rng: &mut StdRng) -> Result<Vec<usize>, LayerError> {
        let out = self.output_shape(input_shape)?;
        if self.alpha.is_none() {
            let mut alpha = Param::new("alpha", self.alpha_initializer.sample(input_shape, rng));
            alpha.trainable = self.trainable;
            self.alpha = Some(alpha);
        }
        Ok(out)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
        self.alpha_initializer
            .validate()
            .map_err(|m| invalid("PReLU", format!("alpha_initializer: {m}")))?;
        if input_shape.len() != 1 {
            return Err(invalid(
                "PReLU",
                format!("supports inputs (None, features), found (None, {input_shape:?})"),
            ));
        }
        if let Some(a) = &self.alpha
            && a.shape() != input_shape
        {
            return Err(invalid(
                "PReLU",
                format!("built for {:?} features, found {input_shape:?}", a.shape()),
            ));
        }
        Ok(input_shape.to_vec())
    }

    fn forward<'t>(&mut self, x: Var<'t>, _mode: Mode) -> Var<'t> {
        let alpha = self.alpha.as_ref().expect("PReLU: forward before build");
        x.prelu(x.tape().param(alpha))
    }

    fn check_variables(&self, input_shape: &[usize]) -> Result<(), LayerError> {
        match &self.alpha {
            Some(a) if a.shape() == input_shape && a.value.is_finite() => Ok(()),
            _ => Err(invalid(
                "PReLU",
                format!("alpha must have shape {input_shape:?} and finite values"),
            )),
        }
    }

    fn variables(&self) -> Vec<&Param> {
        self.alpha.iter().collect()
    }

    fn variables_mut(&mut self) -> Vec<&mut Param> {
        self.alpha.iter_mut().collect()
    }

    fn for_each_variable_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        self.alpha.iter_mut().for_each(f)
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
        if let Some(a) = &mut self.alpha {
            a.trainable = trainable;
        }
    }
}
