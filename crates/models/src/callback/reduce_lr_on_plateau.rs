//! Performance scheduling.

use super::{Callback, MonitorMode, learning_rate, set_learning_rate};
use crate::{Logs, ModelError, Sequential};

/// Keras's `ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10, mode="auto",
/// min_delta=1e-4, cooldown=0, min_lr=0)`: multiplies the rate by `factor` when the monitored
/// value has not improved by `min_delta` for `patience` epochs; records `learning_rate`.
/// The book's performance scheduling is `ReduceLROnPlateau::new().factor(0.5).patience(5)`.
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    monitor: String,
    factor: f32,
    patience: usize,
    mode: MonitorMode,
    min_delta: f32,
    cooldown: usize,
    min_lr: f32,
    best: Option<f32>,
    wait: usize,
    cooldown_counter: usize,
}

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        ReduceLROnPlateau::new()
    }
}

impl ReduceLROnPlateau {
    /// Keras's defaults.
    pub fn new() -> Self {
        ReduceLROnPlateau {
            monitor: "val_loss".into(),
            factor: 0.1,
            patience: 10,
            mode: MonitorMode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            best: None,
            wait: 0,
            cooldown_counter: 0,
        }
    }

    /// The logged quantity to watch.
    pub fn monitor(mut self, monitor: &str) -> Self {
        self.monitor = monitor.into();
        self
    }

    /// Multiplier of the rate on a plateau (must be < 1).
    pub fn factor(mut self, factor: f32) -> Self {
        self.factor = factor;
        self
    }

    /// Epochs without improvement before reducing.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Smallest change that counts as improvement.
    pub fn min_delta(mut self, min_delta: f32) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Epochs to wait after a reduction.
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Lower bound on the rate.
    pub fn min_lr(mut self, min_lr: f32) -> Self {
        self.min_lr = min_lr;
        self
    }

    /// Whether larger or smaller is better.
    pub fn mode(mut self, mode: MonitorMode) -> Self {
        self.mode = mode;
        self
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _model: &mut Sequential) -> Result<(), ModelError> {
        if !(self.factor < 1.0 && self.factor >= 0.0) {
            return Err(ModelError::InvalidArgument(format!(
                "ReduceLROnPlateau: factor must be in [0, 1), found {}",
                self.factor
            )));
        }
        self.best = None;
        self.wait = 0;
        self.cooldown_counter = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &mut Logs,
        model: &mut Sequential,
    ) -> Result<(), ModelError> {
        let lr = learning_rate(model)?;
        logs.insert("learning_rate", lr);
        let Some(current) = logs.get(&self.monitor) else {
            eprintln!(
                "ReduceLROnPlateau: {} is not in the logs ({}); skipping",
                self.monitor,
                logs.keys().join(", ")
            );
            return Ok(());
        };
        let improved = self
            .mode
            .improves(&self.monitor, current, self.best, self.min_delta);
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if improved {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience && lr > self.min_lr {
                let new = (lr * self.factor).max(self.min_lr);
                set_learning_rate(model, new)?;
                self.cooldown_counter = self.cooldown;
                self.wait = 0;
            }
        }
        Ok(())
    }
}
