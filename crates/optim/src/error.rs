//! The optim crate's error type.

/// An optimizer that cannot be configured or cannot apply gradients.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A hyperparameter out of range, or clipping options that exclude each other.
    #[error("{optimizer}: {message}")]
    InvalidArgument {
        /// The optimizer or schedule.
        optimizer: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The optimizer was built for other variables (Keras: "optimizer was built with N
    /// variables"). Recompile (which makes a fresh optimizer) after changing what is trainable.
    #[error(
        "the optimizer was built for {expected} trainable variables and is now given {found}; compile again after freezing or unfreezing layers"
    )]
    VariablesChanged {
        /// What it was built for.
        expected: String,
        /// What it was given.
        found: String,
    },
    /// The learning rate is a schedule, so it cannot be set directly (Keras raises TypeError).
    #[error("the learning rate is a schedule ({0}); it cannot be set to a value")]
    ScheduledLearningRate(&'static str),
}
