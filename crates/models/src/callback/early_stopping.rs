//! Early stopping.

use super::{Callback, MonitorMode};
use crate::{History, Logs, ModelError, Sequential};
use strata_tensor::Tensor;

/// Keras's `EarlyStopping(monitor="val_loss", min_delta=0, patience=0, mode="auto",
/// restore_best_weights=False)`: stops when the monitored value has not improved by more than
/// `min_delta` for `patience` epochs; optionally restores the best epoch's weights.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: String,
    min_delta: f32,
    patience: usize,
    mode: MonitorMode,
    restore_best_weights: bool,
    best: Option<f32>,
    best_weights: Option<Vec<Tensor>>,
    best_epoch: usize,
    wait: usize,
    /// The epoch training stopped at, if it stopped early.
    pub stopped_epoch: Option<usize>,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping::new()
    }
}

impl EarlyStopping {
    /// Keras's defaults.
    pub fn new() -> Self {
        EarlyStopping {
            monitor: "val_loss".into(),
            min_delta: 0.0,
            patience: 0,
            mode: MonitorMode::Auto,
            restore_best_weights: false,
            best: None,
            best_weights: None,
            best_epoch: 0,
            wait: 0,
            stopped_epoch: None,
        }
    }

    /// The logged quantity to watch.
    pub fn monitor(mut self, monitor: &str) -> Self {
        self.monitor = monitor.into();
        self
    }

    /// Epochs without improvement before stopping.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Smallest change that counts as improvement.
    pub fn min_delta(mut self, min_delta: f32) -> Self {
        self.min_delta = min_delta.abs();
        self
    }

    /// Whether larger or smaller is better.
    pub fn mode(mut self, mode: MonitorMode) -> Self {
        self.mode = mode;
        self
    }

    /// Restore the best epoch's weights when stopping (or at the end).
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// The epoch with the best monitored value.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut Sequential) -> Result<(), ModelError> {
        self.best = None;
        self.best_weights = None;
        self.wait = 0;
        self.stopped_epoch = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        model: &mut Sequential,
    ) -> Result<(), ModelError> {
        let Some(current) = logs.get(&self.monitor) else {
            eprintln!(
                "EarlyStopping: {} is not in the logs ({}); skipping",
                self.monitor,
                logs.keys().join(", ")
            );
            return Ok(());
        };
        let improved = self
            .mode
            .improves(&self.monitor, current, self.best, self.min_delta);
        if improved {
            self.best = Some(current);
            self.best_epoch = epoch;
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            return Ok(());
        }
        // Keras: stop once `wait >= patience` epochs passed without improvement (not at epoch 0).
        self.wait += 1;
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            model.stop_training();
            if let Some(w) = self.best_weights.take() {
                model.set_weights(&w)?;
            }
        }
        Ok(())
    }

    fn on_train_end(
        &mut self,
        _history: &History,
        model: &mut Sequential,
    ) -> Result<(), ModelError> {
        if let Some(w) = self.best_weights.take() {
            model.set_weights(&w)?;
        }
        Ok(())
    }
}
