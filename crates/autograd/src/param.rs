//! Trainable parameters: tensors that persist across steps and that the tape differentiates.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use strata_tensor::Tensor;

/// A process-unique identity of a [`Param`]; optimizers key their state by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(u64);

impl ParamId {
    /// A fresh identity, never returned before in this process.
    pub fn fresh() -> ParamId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ParamId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A named tensor that the tape treats as a differentiable leaf while it is trainable.
///
/// Cloning gives a *new* parameter (a fresh [`ParamId`]) that starts with the same value, so a
/// clone never shares optimizer state or gradients with its source.
#[derive(Debug, Serialize, Deserialize)]
pub struct Param {
    #[serde(skip, default = "ParamId::fresh")]
    id: ParamId,
    name: String,
    /// The current value.
    pub value: Tensor,
    /// Whether the tape records gradients for it and optimizers update it.
    pub trainable: bool,
}

impl Param {
    /// A trainable parameter.
    pub fn new(name: impl Into<String>, value: Tensor) -> Param {
        Param {
            id: ParamId::fresh(),
            name: name.into(),
            value,
            trainable: true,
        }
    }

    /// A non-trainable parameter (state such as batch-normalization moving statistics).
    pub fn non_trainable(name: impl Into<String>, value: Tensor) -> Param {
        Param {
            trainable: false,
            ..Param::new(name, value)
        }
    }

    /// The identity optimizers and gradients are keyed by.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The short Keras-style name (`kernel`, `bias`, `gamma`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shape of the value.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }
}

impl Clone for Param {
    fn clone(&self) -> Param {
        Param {
            id: ParamId::fresh(),
            name: self.name.clone(),
            value: self.value.clone(),
            trainable: self.trainable,
        }
    }
}
