//! Keras-faithful layers: initializers, activations, `Dense`, batch normalization, the dropout
//! family, regularizers and constraints.
//!
//! Names, defaults and formulas follow Keras 3 (where Keras and PyTorch differ, Keras wins):
//! `LeakyReLU()` slopes 0.3 but `"leaky_relu"` 0.2, `"gelu"` is exact, `PReLU` starts at 0,
//! `BatchNormalization` keeps `momentum = 0.99` of the old moving statistics and updates the
//! variance with the biased batch variance, and a frozen `BatchNormalization` infers.
//!
//! ```
//! use strata_layers::{Dense, Layer, LeakyReLU, Mode};
//! use rand::{SeedableRng, rngs::StdRng};
//!
//! let mut dense = Dense::new(50).activation("relu").kernel_initializer("he_normal");
//! let out = dense.build(&[784], &mut StdRng::seed_from_u64(42)).unwrap();
//! assert_eq!(out, vec![50]);
//! let names: Vec<&str> = dense.variables().iter().map(|p| p.name()).collect();
//! assert_eq!(names, ["kernel", "bias"]);
//! assert!(Dense::new(3).activation("relux").build(&[2], &mut StdRng::seed_from_u64(0)).is_err());
//! ```

mod activation;
mod activation_layers;
mod any_layer;
mod batch_normalization;
mod constraint;
mod dense;
mod dropout;
mod error;
mod flatten;
mod initializer;
mod layer;
mod mode;
mod regularizer;
mod rng;
#[cfg(feature = "testing")]
pub mod testing;

pub use activation::{Activation, IntoSpec};
pub use activation_layers::{ELU, LeakyReLU, PReLU, ReLU};
pub use any_layer::AnyLayer;
pub use batch_normalization::BatchNormalization;
pub use constraint::Constraint;
pub use dense::Dense;
pub use dropout::{AlphaDropout, Dropout};
pub use error::LayerError;
pub use flatten::Flatten;
pub use initializer::{Distribution, FanMode, Initializer};
pub use layer::Layer;
pub use mode::Mode;
pub use regularizer::Regularizer;
