//! Metrics, resolved from Keras's `"accuracy"` according to the loss.

use crate::{Loss, ModelError};
use serde::{Deserialize, Serialize};
use strata_data::Batch;
use strata_tensor::Tensor;

/// A metric as compiled; [`Metric::Accuracy`] resolves to the right accuracy for the loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    /// `"accuracy"`: sparse categorical, categorical or binary accuracy as the loss implies.
    Accuracy,
}

impl std::str::FromStr for Metric {
    type Err = ModelError;
    fn from_str(name: &str) -> Result<Metric, ModelError> {
        match name {
            "accuracy" | "acc" => Ok(Metric::Accuracy),
            _ => Err(ModelError::InvalidArgument(format!(
                "unknown metric {name:?}; valid names are: accuracy"
            ))),
        }
    }
}

impl Metric {
    /// The key in logs and history.
    pub fn name(&self) -> &'static str {
        "accuracy"
    }

    /// The number of correct samples in a batch (summed; the epoch value is its mean).
    pub(crate) fn correct(&self, loss: Loss, pred: &Tensor, batch: &Batch) -> f64 {
        let width = pred.shape()[1];
        let rows = pred.as_slice().chunks_exact(width.max(1));
        let argmax = |row: &[f32]| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv { (i, v) } else { (bi, bv) }
                })
                .0
        };
        match loss {
            Loss::SparseCategoricalCrossentropy { .. } => rows
                .zip(&batch.labels)
                .filter(|(row, l)| argmax(row) == **l)
                .count() as f64,
            Loss::CategoricalCrossentropy { .. } => match &batch.targets {
                Some(t) => rows
                    .zip(t.as_slice().chunks_exact(width))
                    .filter(|(row, t)| argmax(row) == argmax(t))
                    .count() as f64,
                None => 0.0,
            },
            Loss::BinaryCrossentropy { .. } => {
                // Keras's binary_accuracy thresholds predictions at 0.5 (even for logits).
                let hits = |targets: &mut dyn Iterator<Item = f32>| {
                    pred.as_slice()
                        .iter()
                        .zip(targets)
                        .filter(|&(&p, t)| (p > 0.5) == (t > 0.5))
                        .count()
                };
                let hits = match &batch.targets {
                    Some(t) => hits(&mut t.as_slice().iter().copied()),
                    None => hits(&mut batch.labels.iter().map(|&l| l as f32)),
                };
                hits as f64 / width.max(1) as f64
            }
            Loss::MeanSquaredError => match &batch.targets {
                Some(t) => {
                    pred.as_slice()
                        .iter()
                        .zip(t.as_slice())
                        .filter(|(p, t)| p == t)
                        .count() as f64
                        / width.max(1) as f64
                }
                None => 0.0,
            },
        }
    }
}
