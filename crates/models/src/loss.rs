//! Losses by their Keras names.

use crate::ModelError;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use strata_autograd::Var;
use strata_data::Batch;
use strata_tensor::Tensor;

/// A loss, averaged over the batch (Keras's default `sum_over_batch_size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loss {
    /// Integer labels against class probabilities (or logits).
    SparseCategoricalCrossentropy {
        /// Predictions are logits (softmax folded into the loss).
        from_logits: bool,
    },
    /// One-hot (or soft) targets against class probabilities (or logits).
    CategoricalCrossentropy {
        /// Predictions are logits.
        from_logits: bool,
    },
    /// 0/1 targets against probabilities (or logits) of one or more outputs.
    BinaryCrossentropy {
        /// Predictions are logits (sigmoid folded into the loss).
        from_logits: bool,
    },
    /// Mean squared error.
    MeanSquaredError,
}

impl FromStr for Loss {
    type Err = ModelError;
    /// Keras's names: `"sparse_categorical_crossentropy"`, `"categorical_crossentropy"`,
    /// `"binary_crossentropy"`, `"mean_squared_error"` (or `"mse"`); all from probabilities.
    fn from_str(name: &str) -> Result<Loss, ModelError> {
        Ok(match name {
            "sparse_categorical_crossentropy" => {
                Loss::SparseCategoricalCrossentropy { from_logits: false }
            }
            "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits: false },
            "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits: false },
            "mean_squared_error" | "mse" => Loss::MeanSquaredError,
            _ => {
                return Err(ModelError::InvalidArgument(format!(
                    "unknown loss {name:?}; valid names are: sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy, mean_squared_error, mse"
                )));
            }
        })
    }
}

/// Float targets for losses that need them: the batch's value targets, or its class labels
/// as a `[b, 1]` column (binary cross-entropy with 0/1 labels, as Keras accepts them).
pub(crate) fn float_targets(batch: &Batch, width: usize, loss: &str) -> Result<Tensor, ModelError> {
    if let Some(t) = &batch.targets {
        if t.shape()[1] != width {
            return Err(ModelError::InvalidData(format!(
                "{loss}: targets have {} columns, the model outputs {width}",
                t.shape()[1]
            )));
        }
        return Ok(t.clone());
    }
    if width != 1 {
        return Err(ModelError::InvalidData(format!(
            "{loss}: the model outputs {width} values per sample but the data has one class label each; use sparse_categorical_crossentropy for integer labels, or one-hot targets"
        )));
    }
    let labels = &batch.labels;
    Ok(Tensor::from_fn(&[labels.len(), 1], |i| labels[i] as f32))
}

impl Loss {
    /// The Keras name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
        }
    }

    /// Checks that a batch has class labels within `width` outputs (sparse losses).
    fn check_labels(batch: &Batch, width: usize) -> Result<(), ModelError> {
        if batch.targets.is_some() {
            return Err(ModelError::InvalidData("sparse_categorical_crossentropy needs integer class labels, found value targets (use categorical_crossentropy for one-hot targets)".into()));
        }
        if let Some((i, &l)) = batch.labels.iter().enumerate().find(|&(_, &l)| l >= width) {
            return Err(ModelError::InvalidData(format!(
                "label {l} (sample {i} of the batch) is out of range for a model with {width} outputs"
            )));
        }
        Ok(())
    }

    /// The loss of predictions `pred` (`[b, width]`) for a batch, on the tape. A batch that does
    /// not fit the loss (labels out of range, missing or wrongly sized targets) is an error.
    pub(crate) fn compute<'t>(&self, pred: Var<'t>, batch: &Batch) -> Result<Var<'t>, ModelError> {
        let width = pred.shape()[1];
        if let Loss::SparseCategoricalCrossentropy { .. } = self {
            Loss::check_labels(batch, width)?;
        }
        Ok(match *self {
            Loss::SparseCategoricalCrossentropy { from_logits: true } => {
                pred.sparse_softmax_cross_entropy(&batch.labels)
            }
            Loss::SparseCategoricalCrossentropy { from_logits: false } => {
                pred.sparse_categorical_crossentropy_from_probs(&batch.labels)
            }
            Loss::CategoricalCrossentropy { from_logits: true } => {
                pred.softmax_cross_entropy(&float_targets(batch, width, self.name())?)
            }
            Loss::CategoricalCrossentropy { from_logits: false } => {
                pred.categorical_crossentropy_from_probs(&float_targets(batch, width, self.name())?)
            }
            Loss::BinaryCrossentropy { from_logits: true } => {
                pred.sigmoid_binary_cross_entropy(&float_targets(batch, width, self.name())?)
            }
            Loss::BinaryCrossentropy { from_logits: false } => {
                pred.binary_crossentropy_from_probs(&float_targets(batch, width, self.name())?)
            }
            Loss::MeanSquaredError => {
                pred.mean_squared_error(&float_targets(batch, width, self.name())?)
            }
        })
    }
}
