//! Tensor shapes and the shape error.

use std::fmt;
use std::ops::Deref;

/// The largest number of dimensions a tensor can have.
pub const MAX_DIMS: usize = 6;

/// A tensor shape stored inline (no heap allocation), at most [`MAX_DIMS`] dimensions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Shape {
    dims: [usize; MAX_DIMS],
    ndim: u8,
}

impl Shape {
    /// Builds a shape from its dimensions, checking the rank and that the element count fits
    /// in `usize`.
    pub fn new(dims: &[usize]) -> Result<Shape, ShapeError> {
        if dims.len() > MAX_DIMS {
            return Err(ShapeError::new(
                "shape",
                format!("at most {MAX_DIMS} dimensions"),
                format!("{} dimensions {dims:?}", dims.len()),
            ));
        }
        if dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .is_none()
        {
            return Err(ShapeError::new(
                "shape",
                "an element count that fits in memory",
                format!("{dims:?}, whose product overflows"),
            ));
        }
        let mut stored = [0; MAX_DIMS];
        stored[..dims.len()].copy_from_slice(dims);
        Ok(Shape {
            dims: stored,
            ndim: dims.len() as u8,
        })
    }

    /// The number of elements (the product of the dimensions; 1 for a scalar).
    pub fn numel(&self) -> usize {
        self.iter().product()
    }
}

impl Deref for Shape {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.dims[..self.ndim as usize]
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A shape that does not fit an operation: what the operation expected and what it found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{op}: expected {expected}, found {found}")]
pub struct ShapeError {
    /// The operation that rejected the shape.
    pub op: String,
    /// What the operation needs.
    pub expected: String,
    /// What it was given.
    pub found: String,
}

impl ShapeError {
    /// Builds an error for operation `op`.
    pub fn new(
        op: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        ShapeError {
            op: op.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}
