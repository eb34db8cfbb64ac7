//! The facade's error type.

use std::path::PathBuf;
use strata_data::DataError;
use strata_layers::LayerError;
use strata_optim::OptimError;
use strata_tensor::ShapeError;

/// Everything that can go wrong building, training, saving or loading a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A layer rejected its configuration, input shape or weights.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// The optimizer rejected its configuration or variables.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// Data could not be loaded or prepared.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A tensor shape that does not fit.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A layer added to a model does not fit the previous output.
    #[error("layer {index} ({layer}) cannot follow output shape {input}: {source}")]
    IncompatibleLayer {
        /// Position the layer would take.
        index: usize,
        /// The layer's name and type.
        layer: String,
        /// The incoming shape, as Keras prints it.
        input: String,
        /// Why.
        source: Box<LayerError>,
    },
    /// `fit`, `evaluate` or `summary`'s optimizer line need `compile` first.
    #[error("the model must be compiled before {0}; call compile(optimizer, loss, metrics) first")]
    NotCompiled(&'static str),
    /// Which layers are trainable changed after `compile`.
    #[error(
        "trainable layers changed since compile ({before} trainable variables then, {now} now); call compile again so the optimizer covers the right variables"
    )]
    TrainableChanged {
        /// Trainable variables at compile.
        before: usize,
        /// Trainable variables now.
        now: usize,
    },
    /// Data that does not fit the model or its loss.
    #[error("{0}")]
    InvalidData(String),
    /// An argument out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// A saved model that cannot be read.
    #[error("{}: {reason}", .path.display())]
    BadModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

pub(crate) fn io_error(path: &std::path::Path, source: std::io::Error) -> ModelError {
    ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}
