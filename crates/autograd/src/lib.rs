//! Reverse-mode automatic differentiation on an explicit tape.
//!
//! A [`Tape`] records each operation of a forward pass with its derivative rule; a
//! [`Tape::backward`] sweep then yields [`Gradients`] for every trainable [`Param`] and every
//! variable. Constants (input batches, labels, masks) never get a gradient and no work is spent
//! on them: a matrix product whose left operand is a constant skips `dA` entirely.
//!
//! ```
//! use strata_autograd::{Param, Tape};
//! use strata_tensor::Tensor;
//!
//! let w = Param::new("kernel", Tensor::from_vec(&[2, 1], vec![0.5, -1.0]).unwrap());
//! let tape = Tape::new();
//! let x = tape.constant(Tensor::from_vec(&[1, 2], vec![2.0, 3.0]).unwrap());
//! let loss = x.matmul(tape.param(&w)).square().sum();
//! let grads = tape.backward(loss);
//! // L = (2·0.5 − 3)² = 4, dL/dw = 2·(−2)·x = [−8, −12].
//! assert_eq!(grads.get(&w).unwrap().as_slice(), &[-8.0, -12.0]);
//! ```

mod check;
mod gradients;
mod ops;
mod param;
mod tape;

pub use check::{Tolerance, check_gradients};
pub use gradients::{Gradients, Product};
pub use ops::BatchMoments;
pub use param::{Param, ParamId};
pub use tape::{Backward, INLINE_INPUTS, InputGrads, Tape, Var};
