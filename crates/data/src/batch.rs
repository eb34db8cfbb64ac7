//! Mini-batch iteration with reused buffers.

use crate::{DataError, Dataset, Features, Targets};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};
use strata_tensor::Tensor;
use strata_tensor::kernels::convert::{Stores, gather_bytes_to_f32, gather_f32};
use strata_tensor::kernels::prefetch;

/// The order in which an epoch visits the samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Sample order, as stored.
    Sequential,
    /// A fresh permutation every epoch, determined by the seed and the epoch number.
    Shuffled {
        /// The seed.
        seed: u64,
    },
}

/// One mini-batch: inputs `[b, ...sample_shape]` as `f32`, and the targets.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The scaled inputs.
    pub inputs: Tensor,
    /// Class labels (empty when the dataset has value targets).
    pub labels: Vec<usize>,
    /// Value targets `[b, width]` (`None` when the dataset has class labels).
    pub targets: Option<Tensor>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            inputs: Tensor::zeros(&[0]),
            labels: Vec::new(),
            targets: None,
        }
    }
}

impl Batch {
    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.inputs.shape().first().copied().unwrap_or(0)
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Iterates over one epoch's mini-batches.
///
/// [`Batches::fill`] writes the next batch into a caller's [`Batch`], reusing its buffers
/// (no allocation in steady state as long as the caller dropped the previous batch's tensors).
/// The [`Iterator`] implementation is the convenient, allocating form.
pub struct Batches<'d> {
    dataset: &'d Dataset,
    order: Vec<usize>,
    position: usize,
    batch_size: usize,
}

impl<'d> Batches<'d> {
    pub(crate) fn new(
        dataset: &'d Dataset,
        batch_size: usize,
        order: Order,
        epoch: u64,
    ) -> Result<Batches<'d>, DataError> {
        if batch_size == 0 {
            return Err(DataError::InvalidArgument(
                "batch_size must be at least 1".to_string(),
            ));
        }
        let mut indices: Vec<usize> = (0..dataset.len()).collect();
        if let Order::Shuffled { seed } = order {
            let mut rng = StdRng::seed_from_u64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            indices.shuffle(&mut rng);
        }
        Ok(Batches {
            dataset,
            order: indices,
            position: 0,
            batch_size,
        })
    }

    /// Number of batches in the epoch (`ceil(n / batch_size)`).
    pub fn steps(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// The sample indices of the epoch, in visiting order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The sample indices of the next batch, moving past it (`None` at the end of the epoch):
    /// for callers that gather the batch themselves with [`Dataset::fill_batch`], e.g. on
    /// another thread while the current batch is in use.
    pub fn next_indices(&mut self) -> Option<&[usize]> {
        let range = self.advance()?;
        Some(&self.order[range])
    }

    /// Writes the next batch into `batch`; returns `false` at the end of the epoch.
    pub fn fill(&mut self, batch: &mut Batch) -> bool {
        self.fill_with(batch, Stores::Cached)
    }

    /// [`Batches::fill`], writing the inputs with `stores`: [`Stores::Streaming`] for a
    /// batch that kernels split across cores read next (`fit` does so when its step splits).
    /// The bits are the same either way.
    pub fn fill_with(&mut self, batch: &mut Batch, stores: Stores) -> bool {
        let Some(range) = self.advance() else {
            return false;
        };
        let end = range.end;
        // Every index of the order is a sample of the dataset.
        self.dataset
            .fill_batch_unchecked(&self.order[range], batch, stores);
        // Start fetching the next batch's rows (random places of a dataset far larger than the
        // caches) so that they arrive while this step computes; when the step's own traffic
        // evicts them again, the prefetch at the top of the next call still overlaps the loads.
        let next = &self.order[end..(end + self.batch_size).min(self.order.len())];
        self.dataset.prefetch_rows(next);
        true
    }

    /// The positions in the order of the next batch, moving past it (`None` at the end).
    fn advance(&mut self) -> Option<std::ops::Range<usize>> {
        let end = (self.position + self.batch_size).min(self.order.len());
        if self.position >= end {
            return None;
        }
        let start = std::mem::replace(&mut self.position, end);
        Some(start..end)
    }
}

impl Dataset {
    /// Writes the samples `indices`, in that order, into `batch` (inputs scaled to `f32`,
    /// labels or value targets), reusing its buffers when the shapes match: the random-access
    /// form of [`Batches::fill`], for callers that gather batches in their own order or on
    /// several threads. The batch is left unchanged when an index is out of range.
    pub fn fill_batch(&self, indices: &[usize], batch: &mut Batch) -> Result<(), DataError> {
        self.fill_batch_with(indices, batch, Stores::Cached)
    }

    /// [`Dataset::fill_batch`], writing the inputs with `stores` (see
    /// [`Batches::fill_with`]). The bits are the same either way.
    pub fn fill_batch_with(
        &self,
        indices: &[usize],
        batch: &mut Batch,
        stores: Stores,
    ) -> Result<(), DataError> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::InvalidArgument(format!(
                "sample index {bad} is outside a dataset of {} samples",
                self.len()
            )));
        }
        self.fill_batch_unchecked(indices, batch, stores);
        Ok(())
    }

    /// [`Dataset::fill_batch_with`] for indices known to be in range.
    fn fill_batch_unchecked(&self, indices: &[usize], batch: &mut Batch, stores: Stores) {
        let l = self.sample_len();
        let n = indices.len();
        let sample_shape = self.sample_shape();
        let same_shape = batch
            .inputs
            .shape()
            .split_first()
            .is_some_and(|(&rows, rest)| rows == n && rest == sample_shape);
        if !same_shape {
            let mut shape = Vec::with_capacity(1 + sample_shape.len());
            shape.push(n);
            shape.extend_from_slice(sample_shape);
            batch.inputs = Tensor::zeros(&shape);
        }
        // Ask for every row of this batch before converting any: the rows are scattered over
        // the dataset, and a step's traffic has often evicted what the previous call
        // prefetched, so issuing all the loads first overlaps their latencies.
        self.prefetch_rows(indices);
        let out = batch.inputs.as_mut_slice();
        match self.features() {
            Features::Bytes { data, scale } => {
                gather_bytes_to_f32(data, l, indices, *scale, out, stores);
            }
            Features::Floats(data) => gather_f32(data, l, indices, out, stores),
        }
        batch.labels.clear();
        match self.targets() {
            Targets::Classes(labels) => {
                batch
                    .labels
                    .extend(indices.iter().map(|&i| labels[i] as usize));
                batch.targets = None;
            }
            Targets::Values { data, width } => {
                let w = *width;
                let needs_new = batch.targets.as_ref().is_none_or(|t| t.shape() != [n, w]);
                if needs_new {
                    batch.targets = Some(Tensor::zeros(&[n, w]));
                }
                let t = batch.targets.as_mut().expect("set above").as_mut_slice();
                for (row, &i) in t.chunks_exact_mut(w).zip(indices) {
                    row.copy_from_slice(&data[i * w..(i + 1) * w]);
                }
            }
        }
    }
}

impl Dataset {
    /// Prefetches the samples `indices` (a hint; no effect on results).
    fn prefetch_rows(&self, indices: &[usize]) {
        let l = self.sample_len();
        for &i in indices {
            match self.features() {
                Features::Bytes { data, .. } => prefetch(&data[i * l..(i + 1) * l]),
                Features::Floats(data) => prefetch(&data[i * l..(i + 1) * l]),
            }
        }
    }
}

impl Iterator for Batches<'_> {
    type Item = Batch;
    fn next(&mut self) -> Option<Batch> {
        let mut batch = Batch::default();
        self.fill(&mut batch).then_some(batch)
    }
}
