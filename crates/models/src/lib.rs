//! Strata: Keras-faithful deep-learning training in Rust.
//!
//! This facade re-exports the building blocks ([`tensor`], [`autograd`], [`layers`],
//! [`optim`], [`data`]) and adds the model: [`Sequential`] with `compile`, `fit`,
//! `evaluate`, `predict`, callbacks, `summary()`, weights, cloning and save/load.
//!
//! ```
//! use strata::prelude::*;
//!
//! // XOR-like toy data: 64 samples of 2 features, 2 classes.
//! let x = Tensor::from_fn(&[64, 2], |i| if (i / 2 + i % 2) % 3 == 0 { 1.0 } else { 0.0 });
//! let labels: Vec<u32> = (0..64).map(|i| ((i + i / 2) % 2) as u32).collect();
//! let data = Dataset::from_tensor(&x, labels)?;
//!
//! let mut model = Sequential::with_seed(&[2], 42);
//! model.add(Dense::new(16).activation("relu"))?;
//! model.add(Dense::new(2).activation("softmax"))?;
//! model.compile(Sgd::new(0.1), "sparse_categorical_crossentropy".parse()?, &[Metric::Accuracy])?;
//! let history = model.fit(&data, FitOptions::epochs(3).verbose(0))?;
//! assert_eq!(history.keys(), ["accuracy", "loss"]);
//! # Ok::<(), strata::ModelError>(())
//! ```

#![forbid(unsafe_code)]

pub mod callback;
mod error;
mod logs;
mod loss;
mod metric;
mod plot;
mod progress;
mod save;
mod sequential;
mod splitting;
mod train;

pub use strata_autograd as autograd;
pub use strata_data as data;
pub use strata_layers as layers;
pub use strata_optim as optim;
pub use strata_tensor as tensor;

pub use error::ModelError;
pub use logs::{History, Logs};
pub use loss::Loss;
pub use metric::Metric;
pub use plot::plot_series;
pub use save::{FORMAT_MAJOR, FORMAT_MINOR, MAGIC, MAX_FILE_BYTES, crc32};
pub use sequential::{NamedLayer, Sequential};
pub use splitting::Splitting;
pub use train::FitOptions;

/// The names an example or a quick script needs.
pub mod prelude {
    pub use crate::callback::{
        Callback, CsvLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, MonitorMode,
        OneCycleScheduler, ReduceLROnPlateau, TerminateOnNaN,
    };
    pub use crate::{FitOptions, History, Logs, Loss, Metric, ModelError, Sequential, Splitting};
    pub use strata_data::{Dataset, Order, fashion_mnist, mnist};
    pub use strata_layers::{
        Activation, AlphaDropout, AnyLayer, BatchNormalization, Constraint, Dense, Dropout, ELU,
        Flatten, Initializer, Layer, LeakyReLU, Mode, PReLU, ReLU, Regularizer,
    };
    pub use strata_optim::{
        Adagrad, Adam, AdamW, Adamax, CosineDecay, ExponentialDecay, InverseTimeDecay, Nadam,
        OneCycle, PiecewiseConstantDecay, PolynomialDecay, RmsProp, Sgd,
    };
    pub use strata_tensor::Tensor;
}
