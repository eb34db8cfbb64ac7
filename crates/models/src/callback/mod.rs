//! Callbacks: hooks into `fit` that can read and change the model and stop training.

mod csv_logger;
mod early_stopping;
mod learning_rate_scheduler;
mod model_checkpoint;
mod one_cycle_scheduler;
mod reduce_lr_on_plateau;
mod terminate_on_nan;

pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStopping;
pub use learning_rate_scheduler::LearningRateScheduler;
pub use model_checkpoint::ModelCheckpoint;
pub use one_cycle_scheduler::OneCycleScheduler;
pub use reduce_lr_on_plateau::ReduceLROnPlateau;
pub use terminate_on_nan::TerminateOnNaN;

use crate::{History, Logs, ModelError, Sequential};

/// A hook into training. Every method has a default that does nothing. To stop training,
/// call [`Sequential::stop_training`] (Keras's `model.stop_training = True`); an error stops
/// `fit` and is returned from it.
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _model: &mut Sequential) -> Result<(), ModelError> {
        Ok(())
    }

    /// Before each epoch (0-based).
    fn on_epoch_begin(&mut self, _epoch: usize, _model: &mut Sequential) -> Result<(), ModelError> {
        Ok(())
    }

    /// Before each training step (0-based within the epoch).
    fn on_batch_begin(&mut self, _batch: usize, _model: &mut Sequential) -> Result<(), ModelError> {
        Ok(())
    }

    /// After each training step, with the running epoch averages.
    fn on_batch_end(
        &mut self,
        _batch: usize,
        _logs: &Logs,
        _model: &mut Sequential,
    ) -> Result<(), ModelError> {
        Ok(())
    }

    /// After each epoch, with its logs (which the callback may extend, e.g. `learning_rate`).
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _model: &mut Sequential,
    ) -> Result<(), ModelError> {
        Ok(())
    }

    /// After the last epoch.
    fn on_train_end(
        &mut self,
        _history: &History,
        _model: &mut Sequential,
    ) -> Result<(), ModelError> {
        Ok(())
    }
}

/// Whether larger values of a monitored quantity are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorMode {
    /// Decide from the name: `*loss*` is minimized, anything else (accuracy) maximized.
    Auto,
    /// Smaller is better.
    Min,
    /// Larger is better.
    Max,
}

impl MonitorMode {
    pub(crate) fn minimizes(self, monitor: &str) -> bool {
        match self {
            MonitorMode::Min => true,
            MonitorMode::Max => false,
            MonitorMode::Auto => !(monitor.contains("acc") || monitor.contains("auc")),
        }
    }

    /// Whether `current` improves on `best` by more than `min_delta` for the quantity
    /// `monitor` (the first value always does; a NaN never does).
    pub(crate) fn improves(
        self,
        monitor: &str,
        current: f32,
        best: Option<f32>,
        min_delta: f32,
    ) -> bool {
        match best {
            _ if !current.is_finite() => false,
            None => true,
            Some(best) if self.minimizes(monitor) => current < best - min_delta,
            Some(best) => current > best + min_delta,
        }
    }
}

pub(crate) fn learning_rate(model: &Sequential) -> Result<f32, ModelError> {
    model
        .optimizer()
        .map(|o| o.learning_rate())
        .ok_or(ModelError::NotCompiled("a learning-rate callback"))
}

pub(crate) fn set_learning_rate(model: &mut Sequential, lr: f32) -> Result<(), ModelError> {
    model
        .optimizer_mut()
        .ok_or(ModelError::NotCompiled("a learning-rate callback"))?
        .set_learning_rate(lr)?;
    Ok(())
}
