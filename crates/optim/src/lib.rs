//! Optimizers, gradient clipping and learning-rate schedules, faithful to Keras 3.
//!
//! Every optimizer shares one update loop with Keras's order of work: clip the gradients
//! (`clipvalue`, `clipnorm` or `global_clipnorm`), apply decoupled weight decay, run the
//! algorithm's update (fused into one pass per variable), then count the step. Learning rates
//! are constants or schedules of the step; the whole state serializes for checkpoints.
//!
//! ```
//! use strata_autograd::{Param, Tape};
//! use strata_optim::{ExponentialDecay, Optimizer, Sgd};
//! use strata_tensor::Tensor;
//!
//! let mut w = Param::new("w", Tensor::from_vec(&[1], vec![3.0]).unwrap());
//! let mut sgd = Optimizer::new(Sgd::new(ExponentialDecay::new(0.1, 100, 0.5)).momentum(0.9))?;
//! for _ in 0..100 {
//!     let tape = Tape::new();
//!     let loss = tape.param(&w).square().sum(); // minimum at w = 0
//!     let grads = tape.backward(loss);
//!     sgd.apply(&mut [&mut w], &grads)?;
//! }
//! assert!(w.value.as_slice()[0].abs() < 1e-2);
//! # Ok::<(), strata_optim::OptimError>(())
//! ```

mod builders;
mod clipping;
mod error;
mod optimizer;
mod schedule;

pub use builders::{Adagrad, Adam, AdamW, Adamax, Nadam, RmsProp, Sgd};
pub use clipping::Clipping;
pub use error::OptimError;
pub use optimizer::{Algorithm, Optimizer, OptimizerConfig, VisitVariables};
pub use schedule::{
    CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay, LearningRate, OneCycle,
    PiecewiseConstantDecay, PolynomialDecay,
};
