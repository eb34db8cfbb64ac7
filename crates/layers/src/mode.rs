//! How a forward pass runs.

/// Whether a forward pass trains, infers, or samples (Keras's `training` flag, made explicit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Training: dropout active, batch normalization uses and updates batch statistics
    /// (unless the layer is frozen, which makes it infer).
    Train,
    /// Inference: dropout off, batch normalization uses its moving statistics.
    Eval,
    /// Monte Carlo dropout sampling: dropout active, batch normalization uses its moving
    /// statistics and updates nothing (the book's `MCDropout`, without touching BN state).
    Sample,
}
