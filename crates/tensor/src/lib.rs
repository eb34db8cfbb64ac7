//! Dense row-major `f32` tensors and the CPU kernels behind Strata.
//!
//! [`Tensor`] is a dynamically shaped, contiguous array with cheap clones (shared,
//! copy-on-write) and free conversion from and to [`ndarray`] arrays in standard layout. The
//! [`kernels`] module holds the SIMD kernels (AVX-512, AVX2+FMA, portable), chosen once at run
//! time, and the GEMM in the three forms backprop needs.
//!
//! ```
//! use strata_tensor::{Tensor, Unary};
//!
//! let x = Tensor::from_vec(&[2, 3], vec![1.0, -2.0, 3.0, -4.0, 5.0, -6.0]).unwrap();
//! let w = Tensor::from_vec(&[3, 1], vec![1.0, 1.0, 1.0]).unwrap();
//! let y = x.matmul(&w).unary(Unary::Relu);
//! assert_eq!(y.as_slice(), &[2.0, 0.0]);
//! ```

pub mod kernels;
pub mod parallel;
pub mod pool;
mod serde;
mod shape;
mod tensor;

pub use kernels::Isa;
pub use kernels::activation::Unary;
pub use kernels::gemm::Transpose;
pub use shape::{MAX_DIMS, Shape, ShapeError};
pub use tensor::{Tensor, expect_same_shape};
