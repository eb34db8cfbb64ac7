//! Per-epoch learning-rate function.

use super::{Callback, learning_rate, set_learning_rate};
use crate::{Logs, ModelError, Sequential};

/// Keras's `LearningRateScheduler(schedule)`: before each epoch, sets the rate to
/// `schedule(epoch, current_rate)` (epochs are 0-based) and records it as `learning_rate` in
/// the epoch's logs. The function computes in `f64`, as the book's Python functions do, and the
/// result is stored as `f32`, so History holds the same numbers as Keras.
pub struct LearningRateScheduler<F: FnMut(usize, f64) -> f64> {
    schedule: F,
}

impl<F: FnMut(usize, f64) -> f64> LearningRateScheduler<F> {
    /// A scheduler calling `schedule(epoch, current_rate)`.
    pub fn new(schedule: F) -> Self {
        LearningRateScheduler { schedule }
    }
}

impl<F: FnMut(usize, f64) -> f64> Callback for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> Result<(), ModelError> {
        let current = learning_rate(model)? as f64;
        let next = (self.schedule)(epoch, current);
        if !next.is_finite() {
            return Err(ModelError::InvalidArgument(format!(
                "LearningRateScheduler: the schedule returned {next} at epoch {epoch}"
            )));
        }
        set_learning_rate(model, next as f32)
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &mut Logs,
        model: &mut Sequential,
    ) -> Result<(), ModelError> {
        logs.insert("learning_rate", learning_rate(model)?);
        Ok(())
    }
}
