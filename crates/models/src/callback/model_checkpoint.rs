//! Saving the model during training.

use super::{Callback, MonitorMode};
use crate::{Logs, ModelError, Sequential};
use std::path::PathBuf;

/// Keras's `ModelCheckpoint(filepath, monitor="val_loss", save_best_only=False)`: saves the
/// model at the end of every epoch, or only when the monitored value improves. A model whose
/// loss or weights are not finite is never saved, so a good checkpoint is never overwritten by
/// a diverged one; saves are atomic (see `save`).
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    path: PathBuf,
    monitor: String,
    mode: MonitorMode,
    save_best_only: bool,
    best: Option<f32>,
    /// Epochs at which a checkpoint was written.
    pub saved_epochs: Vec<usize>,
}

impl ModelCheckpoint {
    /// Saves to `path` after every epoch.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            monitor: "val_loss".into(),
            mode: MonitorMode::Auto,
            save_best_only: false,
            best: None,
            saved_epochs: Vec::new(),
        }
    }

    /// Save only when the monitored value improves.
    pub fn save_best_only(mut self, save_best_only: bool) -> Self {
        self.save_best_only = save_best_only;
        self
    }

    /// The logged quantity to watch.
    pub fn monitor(mut self, monitor: &str) -> Self {
        self.monitor = monitor.into();
        self
    }

    /// Whether larger or smaller is better.
    pub fn mode(mut self, mode: MonitorMode) -> Self {
        self.mode = mode;
        self
    }
}

impl Callback for ModelCheckpoint {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        model: &mut Sequential,
    ) -> Result<(), ModelError> {
        let finite_logs = logs.iter().all(|(_, v)| v.is_finite());
        let finite_weights = model.variables().iter().all(|p| p.value.is_finite());
        if !finite_logs || !finite_weights {
            eprintln!(
                "ModelCheckpoint: epoch {} has non-finite loss or weights; not saving",
                epoch + 1
            );
            return Ok(());
        }
        if self.save_best_only {
            let Some(current) = logs.get(&self.monitor) else {
                eprintln!(
                    "ModelCheckpoint: {} is not in the logs; skipping",
                    self.monitor
                );
                return Ok(());
            };
            if !self.mode.improves(&self.monitor, current, self.best, 0.0) {
                return Ok(());
            }
            self.best = Some(current);
        }
        model.save(&self.path)?;
        self.saved_epochs.push(epoch);
        Ok(())
    }
}
