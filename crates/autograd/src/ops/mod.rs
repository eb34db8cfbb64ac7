//! Differentiable operations, as methods on [`crate::Var`], each beside its derivative rule.

mod activation;
mod arithmetic;
mod loss;
mod matmul;
mod normalization;
mod reduce;
mod shape;

pub use normalization::BatchMoments;
