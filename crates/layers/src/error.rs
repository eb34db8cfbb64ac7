//! The layers crate's error type.

use strata_tensor::ShapeError;

/// A layer that cannot be configured, built or given weights.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// An input shape the layer cannot take.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// A Keras string name that does not name anything of its kind.
    #[error("unknown {kind} {name:?}; valid names are: {}", .valid.join(", "))]
    UnknownName {
        /// What was being named (`activation`, `initializer`, …).
        kind: &'static str,
        /// The name given.
        name: String,
        /// Every valid name.
        valid: Vec<&'static str>,
    },
    /// An argument out of its valid range.
    #[error("{layer}: {message}")]
    InvalidArgument {
        /// The layer or object.
        layer: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// `set_weights` got the wrong number of tensors or a wrongly shaped one; nothing changed.
    #[error("{layer}: set_weights expected {expected}, found {found}; the layer is unchanged")]
    WeightsMismatch {
        /// The layer.
        layer: String,
        /// What was expected (count or shape).
        expected: String,
        /// What was given.
        found: String,
    },
}
