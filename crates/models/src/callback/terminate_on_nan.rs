//! Stopping on a diverged loss.

use super::Callback;
use crate::{Logs, ModelError, Sequential};

/// Keras's `TerminateOnNaN`: stops training as soon as a step's loss is NaN or infinite.
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN {
    /// Whether it stopped training.
    pub terminated: bool,
}

impl TerminateOnNaN {
    /// The callback.
    pub fn new() -> Self {
        TerminateOnNaN::default()
    }
}

impl Callback for TerminateOnNaN {
    fn on_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        model: &mut Sequential,
    ) -> Result<(), ModelError> {
        if logs.get("loss").is_some_and(|l| !l.is_finite()) {
            eprintln!("Batch {batch}: Invalid loss, terminating training");
            self.terminated = true;
            model.stop_training();
        }
        Ok(())
    }
}
