//! Géron's 1cycle as a per-batch callback.

use super::{Callback, learning_rate, set_learning_rate};
use crate::{Logs, ModelError, Sequential};
use strata_optim::{LearningRate, OneCycle};

/// The book's `OneCycleScheduler`: sets the rate before every step from a [`OneCycle`]
/// schedule of the step count (counted across epochs) and records `learning_rate` per epoch.
/// (A `OneCycle` can also be given directly as an optimizer's learning rate.)
pub struct OneCycleScheduler {
    schedule: LearningRate,
    iteration: u64,
}

impl OneCycleScheduler {
    /// 1cycle over `iterations` steps peaking at `max_rate`, with the book's other defaults.
    pub fn new(iterations: u64, max_rate: f32) -> Self {
        OneCycleScheduler::from_schedule(OneCycle::new(iterations, max_rate))
    }

    /// 1cycle with every parameter given.
    pub fn from_schedule(schedule: OneCycle) -> Self {
        OneCycleScheduler {
            schedule: schedule.into(),
            iteration: 0,
        }
    }
}

impl Callback for OneCycleScheduler {
    fn on_batch_begin(&mut self, _batch: usize, model: &mut Sequential) -> Result<(), ModelError> {
        set_learning_rate(model, self.schedule.at(self.iteration))?;
        self.iteration += 1;
        Ok(())
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
