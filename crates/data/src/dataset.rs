//! An in-memory dataset: samples as bytes or floats, with class labels or value targets.

use crate::{Batches, DataError, Order};
use std::ops::Range;
use std::sync::Arc;
use strata_tensor::Tensor;

/// The input features of a dataset.
#[derive(Clone, Debug)]
pub enum Features {
    /// Unsigned bytes (pixels), converted to `f32` and multiplied by `scale` one batch at a
    /// time, so an epoch never copies the whole dataset.
    Bytes {
        /// `len · sample_len` bytes.
        data: Arc<Vec<u8>>,
        /// Factor applied on conversion (`1/255` scales pixels to `[0, 1]`).
        scale: f32,
    },
    /// Floats, used as they are.
    Floats(Arc<Vec<f32>>),
}

/// The targets of a dataset.
#[derive(Clone, Debug)]
pub enum Targets {
    /// One class index per sample.
    Classes(Arc<Vec<u32>>),
    /// `width` float values per sample (one-hot rows, regression targets).
    Values {
        /// `len · width` values.
        data: Arc<Vec<f32>>,
        /// Values per sample.
        width: usize,
    },
}

/// Samples and their targets, held in memory. Clones are cheap (the data is shared).
#[derive(Clone, Debug)]
pub struct Dataset {
    features: Features,
    sample_shape: Vec<usize>,
    targets: Targets,
}

fn invalid(message: String) -> DataError {
    DataError::InvalidArgument(message)
}

/// Rows `indices` of a row-major `data` with rows of `width` elements, one copy per row.
fn gather_rows<T: Copy>(data: &[T], width: usize, indices: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(indices.len() * width);
    for &i in indices {
        out.extend_from_slice(&data[i * width..(i + 1) * width]);
    }
    out
}

impl Dataset {
    /// A dataset of byte samples (e.g. images `[rows, cols]`) with class labels.
    pub fn from_bytes(
        data: Vec<u8>,
        sample_shape: &[usize],
        labels: Vec<u32>,
    ) -> Result<Dataset, DataError> {
        Dataset::new(
            Features::Bytes {
                data: Arc::new(data),
                scale: 1.0,
            },
            sample_shape,
            Targets::Classes(Arc::new(labels)),
        )
    }

    /// A dataset from any features and targets; lengths must agree.
    pub fn new(
        features: Features,
        sample_shape: &[usize],
        targets: Targets,
    ) -> Result<Dataset, DataError> {
        let sample_len: usize = sample_shape.iter().product();
        if sample_len == 0 {
            return Err(invalid(format!(
                "a sample shape {sample_shape:?} with no elements"
            )));
        }
        let values = match &features {
            Features::Bytes { data, .. } => data.len(),
            Features::Floats(data) => data.len(),
        };
        if values % sample_len != 0 {
            return Err(invalid(format!(
                "{values} feature values do not split into samples of shape {sample_shape:?}"
            )));
        }
        let len = values / sample_len;
        let target_len = match &targets {
            Targets::Classes(labels) => labels.len(),
            Targets::Values { data, width } => {
                if *width == 0 || data.len() % width != 0 {
                    return Err(invalid(format!(
                        "{} target values do not split into rows of {width}",
                        data.len()
                    )));
                }
                data.len() / width
            }
        };
        if target_len != len {
            return Err(invalid(format!("{len} samples but {target_len} targets")));
        }
        Ok(Dataset {
            features,
            sample_shape: sample_shape.to_vec(),
            targets,
        })
    }

    /// A dataset of float samples, from a tensor `[n, ...sample_shape]`, with class labels.
    pub fn from_tensor(inputs: &Tensor, labels: Vec<u32>) -> Result<Dataset, DataError> {
        let shape = inputs.shape();
        if shape.len() < 2 {
            return Err(invalid(format!(
                "inputs need a batch axis and a sample axis, found shape {shape:?}"
            )));
        }
        Dataset::new(
            Features::Floats(Arc::new(inputs.as_slice().to_vec())),
            &shape[1..],
            Targets::Classes(Arc::new(labels)),
        )
    }

    /// A dataset of float samples and float targets (`[n, ...]` and `[n, width]`).
    pub fn from_tensors(inputs: &Tensor, targets: &Tensor) -> Result<Dataset, DataError> {
        let (shape, tshape) = (inputs.shape(), targets.shape());
        if shape.len() < 2 || tshape.len() != 2 {
            return Err(invalid(format!(
                "expected inputs [n, ...] and targets [n, width], found {shape:?} and {tshape:?}"
            )));
        }
        Dataset::new(
            Features::Floats(Arc::new(inputs.as_slice().to_vec())),
            &shape[1..],
            Targets::Values {
                data: Arc::new(targets.as_slice().to_vec()),
                width: tshape[1],
            },
        )
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        match &self.targets {
            Targets::Classes(labels) => labels.len(),
            Targets::Values { data, width } => data.len() / width,
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one sample (e.g. `[28, 28]`).
    pub fn sample_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    /// Number of values in one sample.
    pub fn sample_len(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// The features.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The targets.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The class labels, if the targets are classes.
    pub fn labels(&self) -> Option<&[u32]> {
        match &self.targets {
            Targets::Classes(labels) => Some(labels),
            Targets::Values { .. } => None,
        }
    }

    /// Multiplies every feature by `factor` (lazily for bytes: applied at batch conversion).
    /// `dataset.scaled(1.0 / 255.0)` is Keras's `X / 255.0`.
    pub fn scaled(self, factor: f32) -> Dataset {
        let features = match self.features {
            Features::Bytes { data, scale } => Features::Bytes {
                data,
                scale: scale * factor,
            },
            Features::Floats(data) => {
                Features::Floats(Arc::new(data.iter().map(|v| v * factor).collect()))
            }
        };
        Dataset { features, ..self }
    }

    fn gather(&self, indices: &[usize]) -> Dataset {
        let l = self.sample_len();
        let features = match &self.features {
            Features::Bytes { data, scale } => Features::Bytes {
                data: Arc::new(gather_rows(data, l, indices)),
                scale: *scale,
            },
            Features::Floats(data) => Features::Floats(Arc::new(gather_rows(data, l, indices))),
        };
        let targets = match &self.targets {
            Targets::Classes(labels) => Targets::Classes(Arc::new(gather_rows(labels, 1, indices))),
            Targets::Values { data, width } => Targets::Values {
                data: Arc::new(gather_rows(data, *width, indices)),
                width: *width,
            },
        };
        Dataset {
            features,
            sample_shape: self.sample_shape.clone(),
            targets,
        }
    }

    /// The samples whose label satisfies `keep`, in their original order (Keras's
    /// `X[mask]` with a mask built from `y`).
    pub fn select(&self, keep: impl Fn(u32) -> bool) -> Result<Dataset, DataError> {
        let labels = self
            .labels()
            .ok_or_else(|| invalid("select needs class labels".to_string()))?;
        let indices: Vec<usize> = labels
            .iter()
            .enumerate()
            .filter(|&(_, &l)| keep(l))
            .map(|(i, _)| i)
            .collect();
        Ok(self.gather(&indices))
    }

    /// Replaces every label `l` with `relabel(l)` (e.g. T-shirt/top → 1, Sandal → 0).
    pub fn map_labels(&self, relabel: impl Fn(u32) -> u32) -> Result<Dataset, DataError> {
        let labels = self
            .labels()
            .ok_or_else(|| invalid("map_labels needs class labels".to_string()))?;
        let labels = labels.iter().map(|&l| relabel(l)).collect();
        Ok(Dataset {
            targets: Targets::Classes(Arc::new(labels)),
            ..self.clone()
        })
    }

    /// The samples in `range`.
    pub fn slice(&self, range: Range<usize>) -> Result<Dataset, DataError> {
        if range.start > range.end || range.end > self.len() {
            return Err(invalid(format!(
                "slice {range:?} is outside a dataset of {} samples",
                self.len()
            )));
        }
        Ok(self.gather(&range.collect::<Vec<_>>()))
    }

    /// The first `index` samples and the rest (`X[:index]`, `X[index:]`).
    pub fn split_at(&self, index: usize) -> Result<(Dataset, Dataset), DataError> {
        if index > self.len() {
            return Err(invalid(format!(
                "split at {index} is past the end of a dataset of {} samples",
                self.len()
            )));
        }
        Ok((self.slice(0..index)?, self.slice(index..self.len())?))
    }

    /// How many samples each class `0..classes` has.
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &l in self.labels().unwrap_or(&[]) {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// Every sample as one `f32` tensor `[n, ...sample_shape]` (scaled).
    pub fn inputs_tensor(&self) -> Tensor {
        let mut shape = vec![self.len()];
        shape.extend_from_slice(&self.sample_shape);
        let data = match &self.features {
            Features::Bytes { data, scale } => data.iter().map(|&b| b as f32 * scale).collect(),
            Features::Floats(data) => data.to_vec(),
        };
        Tensor::from_vec(&shape, data).expect("a dataset's shape matches its data")
    }

    /// Mini-batches of `batch_size` for epoch `epoch`, in order or shuffled from a seed. The
    /// last batch may be partial: 11,900 samples at batch 32 give 372 steps.
    pub fn batches(
        &self,
        batch_size: usize,
        order: Order,
        epoch: u64,
    ) -> Result<Batches<'_>, DataError> {
        Batches::new(self, batch_size, order, epoch)
    }
}
