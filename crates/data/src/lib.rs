//! MNIST and Fashion-MNIST loading, dataset preparation and batching.
//!
//! The IDX reader validates every file before it trusts it (see [`idx`]); the loaders find the
//! files where Keras users expect them to just be there; [`Dataset`] keeps pixels as bytes and
//! converts one mini-batch at a time, so an epoch never copies the dataset.
//!
//! ```no_run
//! use strata_data::{fashion_mnist, Order};
//!
//! let (train_full, test) = fashion_mnist::load_data()?;
//! // The chapter's task B: T-shirt/top (0) → 1 and Sandal (5) → 0, pixels in [0, 1].
//! let task_b = train_full.select(|y| y == 0 || y == 5)?.map_labels(|y| u32::from(y == 0))?.scaled(1.0 / 255.0);
//! let (train, valid) = task_b.split_at(task_b.len() - 100)?;
//! assert_eq!(train.batches(32, Order::Shuffled { seed: 42 }, 0)?.steps(), 372);
//! # Ok::<(), strata_data::DataError>(())
//! ```

mod batch;
mod dataset;
mod error;
mod family;
pub mod fashion_mnist;
pub mod idx;
pub mod mnist;

pub use batch::{Batch, Batches, Order};
pub use dataset::{Dataset, Features, Targets};
pub use error::DataError;
pub use family::DATA_DIR_ENV;
