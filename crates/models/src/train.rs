//! `compile`, `fit`, `evaluate` and `predict`.

use crate::callback::Callback;
use crate::progress::Progress;
use crate::sequential::NamedLayer;
use crate::splitting::{Chooser, Splitting};
use crate::{History, Logs, Loss, Metric, ModelError, Sequential};
use std::sync::Mutex;
use std::time::Instant;
use strata_autograd::{Gradients, Param, ParamId, Tape};
use strata_data::{Batch, Dataset, Order};
use strata_layers::{Layer, Mode};
use strata_optim::{Optimizer, OptimizerConfig};
use strata_tensor::Tensor;
use strata_tensor::kernels::convert::Stores;

/// What `compile` sets up: the optimizer (with its state), the loss and the metrics.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub optimizer: Optimizer,
    pub loss: Loss,
    pub metrics: Vec<Metric>,
    /// The trainable variables when compiled; `fit` refuses to run if this changed.
    pub trainable: Vec<ParamId>,
    /// The gradients' storage, empty between steps and reused by each.
    pub grads: Gradients,
}

/// How `fit` runs (Keras's keyword arguments, with Keras's defaults).
pub struct FitOptions<'a> {
    /// Number of epochs (default 1).
    pub epochs: usize,
    /// Samples per step (default 32).
    pub batch_size: usize,
    /// Data evaluated at the end of every epoch (`val_*` logs).
    pub validation_data: Option<&'a Dataset>,
    /// Reshuffle the training data every epoch (default true).
    pub shuffle: bool,
    /// 0 silent, 1 progress bar, 2 one line per epoch (default 1).
    pub verbose: u8,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
    /// The callbacks, called in order.
    pub callbacks: Vec<&'a mut dyn Callback>,
    /// Whether the steps split their kernels across threads (default
    /// [`Splitting::Adaptive`]: when it measures faster). Never changes the results.
    pub splitting: Splitting,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            validation_data: None,
            shuffle: true,
            verbose: 1,
            seed: 42,
            callbacks: Vec::new(),
            splitting: Splitting::Adaptive,
        }
    }
}

impl<'a> FitOptions<'a> {
    /// Options for `epochs` epochs, everything else at Keras's defaults.
    pub fn epochs(epochs: usize) -> Self {
        FitOptions {
            epochs,
            ..FitOptions::default()
        }
    }

    /// Samples per step.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Validation data.
    pub fn validation_data(mut self, data: &'a Dataset) -> Self {
        self.validation_data = Some(data);
        self
    }

    /// Whether to reshuffle every epoch.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Whether the steps split their kernels across threads ([`Splitting`]).
    pub fn splitting(mut self, splitting: Splitting) -> Self {
        self.splitting = splitting;
        self
    }

    /// Verbosity: 0, 1 or 2.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }

    /// Seed of the shuffles.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Adds a callback.
    pub fn callback(mut self, callback: &'a mut dyn Callback) -> Self {
        self.callbacks.push(callback);
        self
    }
}

fn trainable_ids(model: &Sequential) -> Vec<ParamId> {
    model.trainable_variables().iter().map(|p| p.id()).collect()
}

impl Sequential {
    /// Configures training (Keras's `compile`): a fresh optimizer from `optimizer`'s
    /// configuration, the loss, and the metrics (`"accuracy"` resolves per loss). Call it
    /// again after freezing or unfreezing layers; `fit` refuses to train otherwise.
    pub fn compile(
        &mut self,
        optimizer: impl Into<OptimizerConfig>,
        loss: Loss,
        metrics: &[Metric],
    ) -> Result<(), ModelError> {
        let optimizer = Optimizer::new(optimizer)?;
        self.compiled = Some(Compiled {
            optimizer,
            loss,
            metrics: metrics.to_vec(),
            trainable: trainable_ids(self),
            grads: Gradients::default(),
        });
        Ok(())
    }

    pub(crate) fn recompiled_like(mut self, source: &Sequential) -> Sequential {
        if let Some(c) = &source.compiled {
            let optimizer = Optimizer::new(c.optimizer.config().clone())
                .expect("a valid configuration stays valid");
            self.compiled = Some(Compiled {
                optimizer,
                loss: c.loss,
                metrics: c.metrics.clone(),
                trainable: Vec::new(),
                grads: Gradients::default(),
            });
            let ids = trainable_ids(&self);
            if let Some(c) = &mut self.compiled {
                c.trainable = ids;
            }
        }
        self
    }

    /// The optimizer, once compiled (callbacks read and set its learning rate).
    pub fn optimizer(&self) -> Option<&Optimizer> {
        self.compiled.as_ref().map(|c| &c.optimizer)
    }

    /// The optimizer, mutably.
    pub fn optimizer_mut(&mut self) -> Option<&mut Optimizer> {
        self.compiled.as_mut().map(|c| &mut c.optimizer)
    }

    /// The compiled loss.
    pub fn loss(&self) -> Option<Loss> {
        self.compiled.as_ref().map(|c| c.loss)
    }

    fn check_data(&self, data: &Dataset, what: &str) -> Result<(), ModelError> {
        if data.sample_shape() != self.input_shape.as_slice() {
            return Err(ModelError::InvalidData(format!(
                "{what} samples have shape {:?}, the model expects {:?}",
                data.sample_shape(),
                self.input_shape
            )));
        }
        if data.is_empty() {
            return Err(ModelError::InvalidData(format!("{what} is empty")));
        }
        let width = self.output_shape().last().copied().unwrap_or(1);
        if let (Some(c), Some(labels)) = (&self.compiled, data.labels())
            && matches!(c.loss, Loss::SparseCategoricalCrossentropy { .. })
            && let Some((i, &l)) = labels
                .iter()
                .enumerate()
                .find(|&(_, &l)| l as usize >= width)
        {
            return Err(ModelError::InvalidData(format!(
                "{what}: label {l} of sample {i} is out of range for a model with {width} outputs"
            )));
        }
        Ok(())
    }

    /// One training step: forward, loss (+ penalties), backward, update, constraints.
    /// Returns the loss and the predictions.
    fn train_step(&mut self, batch: &Batch) -> Result<(f32, Tensor), ModelError> {
        let Sequential {
            layers, compiled, ..
        } = self;
        let compiled = compiled.as_mut().ok_or(ModelError::NotCompiled("fit"))?;
        let tape = Tape::new();
        let mut h = tape.constant(batch.inputs.clone());
        for l in layers.iter_mut() {
            h = l.layer.forward(h, Mode::Train);
        }
        let predictions = h.value();
        let mut loss = compiled.loss.compute(h, batch)?;
        for l in layers.iter() {
            if let Some(penalty) = l.layer.regularization(&tape) {
                loss = loss + penalty;
            }
        }
        let loss_value = loss.value().item();
        let mut grads = std::mem::take(&mut compiled.grads);
        tape.backward_into(loss, &mut grads);
        drop(tape);
        // The trainable variables, visited where the layers hold them (nothing collected).
        let applied = compiled.optimizer.apply_visiting(
            &mut |f: &mut dyn FnMut(&mut Param)| {
                for l in layers.iter_mut() {
                    l.layer.for_each_variable_mut(&mut |p| {
                        if p.trainable {
                            f(p)
                        }
                    });
                }
            },
            &grads,
            |_| {},
        );
        grads.clear();
        compiled.grads = grads;
        applied?;
        for l in layers.iter_mut().filter(|l| l.layer.trainable()) {
            l.layer.apply_constraints();
        }
        Ok((loss_value, predictions))
    }

    /// Trains for `options.epochs` epochs (Keras's `fit`) and returns the history.
    ///
    /// Logs and history keys follow Keras: training metrics and `loss` (sorted by name, as
    /// Keras 3 orders them: `accuracy`, `loss`), then the same with `val_`, then
    /// `learning_rate` when a rate callback wrote it. The reported loss includes the weight
    /// penalties of trainable layers.
    pub fn fit(
        &mut self,
        data: &Dataset,
        mut options: FitOptions<'_>,
    ) -> Result<History, ModelError> {
        let compiled = self
            .compiled
            .as_ref()
            .ok_or(ModelError::NotCompiled("fit"))?;
        let now = trainable_ids(self);
        if now != compiled.trainable {
            return Err(ModelError::TrainableChanged {
                before: compiled.trainable.len(),
                now: now.len(),
            });
        }
        if options.batch_size == 0 {
            return Err(ModelError::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        self.check_data(data, "training data")?;
        if let Some(v) = options.validation_data {
            self.check_data(v, "validation data")?;
        }
        self.stop_training = false;
        // Start the helper threads and reserve every thread's product scratch now, so that no
        // step allocates them (whichever thread a split product's parts land on).
        strata_tensor::parallel::start_helpers();
        let mut history = History::default();
        for cb in options.callbacks.iter_mut() {
            cb.on_train_begin(self)?;
        }
        let steps = data.len().div_ceil(options.batch_size);
        // The step's batch, reused: gathered at the start of each step, with streaming stores
        // when the step splits its kernels across threads (another core then reads part of
        // it; `Stores::Streaming`).
        let mut batch = Batch::default();
        // Split the step's kernels across threads or not, as measured (`Splitting`).
        let mut chooser = Chooser::new(options.splitting, strata_tensor::parallel::threads());
        for epoch in 0..options.epochs {
            for cb in options.callbacks.iter_mut() {
                cb.on_epoch_begin(epoch, self)?;
            }
            let mut progress = Progress::new(options.verbose, epoch, options.epochs, steps);
            let order = if options.shuffle {
                Order::Shuffled { seed: options.seed }
            } else {
                Order::Sequential
            };
            let mut batches = data.batches(options.batch_size, order, epoch as u64)?;
            let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0.0f64, 0usize);
            let metrics = self
                .compiled
                .as_ref()
                .map(|c| (c.loss, c.metrics.clone()))
                .expect("compiled");
            // Reused every step (its keys are set once).
            let mut batch_logs = Logs::default();
            for step in 0..batches.steps() {
                for cb in options.callbacks.iter_mut() {
                    cb.on_batch_begin(step, self)?;
                }
                let started = Instant::now();
                let mut run_step = || {
                    let stores = if strata_tensor::parallel::threads() == 1 {
                        Stores::Cached
                    } else {
                        Stores::Streaming
                    };
                    let filled = batches.fill_with(&mut batch, stores);
                    debug_assert!(filled, "an epoch has `batches.steps()` batches");
                    self.train_step(&batch)
                };
                let (loss, predictions) = if chooser.serial() {
                    strata_tensor::parallel::serially(run_step)
                } else {
                    run_step()
                }?;
                chooser.record(started.elapsed());
                let n = batch.len();
                seen += n;
                loss_sum += loss as f64 * n as f64;
                for m in &metrics.1 {
                    correct += m.correct(metrics.0, &predictions, &batch);
                }
                if !metrics.1.is_empty() {
                    batch_logs.insert("accuracy", (correct / seen as f64) as f32);
                }
                batch_logs.insert("loss", (loss_sum / seen as f64) as f32);
                progress.step(step + 1, &batch_logs);
                for cb in options.callbacks.iter_mut() {
                    cb.on_batch_end(step, &batch_logs, self)?;
                }
                if self.stop_training {
                    break;
                }
            }
            let mut logs = Logs::default();
            if !metrics.1.is_empty() {
                logs.insert("accuracy", (correct / seen.max(1) as f64) as f32);
            }
            logs.insert("loss", (loss_sum / seen.max(1) as f64) as f32);
            if let Some(v) = options.validation_data {
                let val = self.evaluate(v, options.batch_size)?;
                for (k, value) in val.iter() {
                    logs.insert(format!("val_{k}"), value);
                }
            }
            for cb in options.callbacks.iter_mut() {
                cb.on_epoch_end(epoch, &mut logs, self)?;
            }
            progress.finish(&logs);
            history.record(epoch, &logs);
            if self.stop_training {
                break;
            }
        }
        for cb in options.callbacks.iter_mut() {
            cb.on_train_end(&history, self)?;
        }
        Ok(history)
    }

    /// Loss (with weight penalties, as Keras reports it) and metrics on `data`, in inference
    /// mode (Keras's `evaluate`). With more than one thread the batches run in parallel, whole
    /// batches per thread; the result is the same, bit for bit, on any thread count.
    pub fn evaluate(&mut self, data: &Dataset, batch_size: usize) -> Result<Logs, ModelError> {
        let compiled = self
            .compiled
            .as_ref()
            .ok_or(ModelError::NotCompiled("evaluate"))?;
        let (loss_fn, metrics) = (compiled.loss, compiled.metrics.clone());
        if batch_size == 0 {
            return Err(ModelError::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        self.check_data(data, "evaluation data")?;
        let penalty = {
            let tape = Tape::no_grad();
            self.layers
                .iter()
                .filter_map(|l| l.layer.regularization(&tape))
                .map(|p| p.value().item() as f64)
                .sum::<f64>()
        };
        // Each batch's loss and metric counts, summed below in batch order whichever thread
        // computed them, so the result does not depend on the thread count.
        let n = data.len();
        let count = n.div_ceil(batch_size);
        type Outcome = Result<(f64, Vec<f64>), ModelError>;
        let outcomes: Vec<Mutex<Option<Outcome>>> = (0..count).map(|_| Mutex::new(None)).collect();
        let indices: Vec<usize> = (0..n).collect();
        self.for_each_piece::<Batch>(count, true, &|layers, batch, p| {
            let rows = &indices[p * batch_size..((p + 1) * batch_size).min(n)];
            let outcome = (|| -> Outcome {
                data.fill_batch(rows, batch)?;
                let tape = Tape::no_grad();
                let mut h = tape.constant(batch.inputs.clone());
                for l in layers.iter_mut() {
                    h = l.layer.forward(h, Mode::Eval);
                }
                let predictions = h.value();
                let loss = loss_fn.compute(h, batch)?.value().item();
                let counts = metrics
                    .iter()
                    .map(|m| m.correct(loss_fn, &predictions, batch))
                    .collect();
                Ok((loss as f64 * rows.len() as f64, counts))
            })();
            *lock(&outcomes[p]) = Some(outcome);
        });
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0.0f64, 0usize);
        for (p, outcome) in outcomes.into_iter().enumerate() {
            let (loss, counts) = outcome
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every piece ran")?;
            loss_sum += loss;
            seen += ((p + 1) * batch_size).min(n) - p * batch_size;
            for c in counts {
                correct += c;
            }
        }
        let mut logs = Logs::default();
        if !metrics.is_empty() {
            logs.insert("accuracy", (correct / seen as f64) as f32);
        }
        logs.insert("loss", (loss_sum / seen as f64 + penalty) as f32);
        Ok(logs)
    }

    /// Outputs for `inputs` (`[n, ...input_shape]`) in inference mode, `batch_size` rows at a
    /// time (Keras's `predict`). A batch of 512 rows or more is computed in pieces of 256 rows
    /// that stay in cache from layer to layer, and with more than one thread whole batches or
    /// pieces run in parallel; the outputs are the same, bit for bit, as one pass per batch on
    /// one thread.
    pub fn predict(&mut self, inputs: &Tensor, batch_size: usize) -> Result<Tensor, ModelError> {
        self.predict_in_mode(inputs, batch_size, Mode::Eval)
    }

    /// Outputs with dropout active and batch-normalization statistics untouched (MC dropout:
    /// average several calls to estimate the prediction and its uncertainty).
    pub fn predict_sample(
        &mut self,
        inputs: &Tensor,
        batch_size: usize,
    ) -> Result<Tensor, ModelError> {
        self.predict_in_mode(inputs, batch_size, Mode::Sample)
    }

    fn predict_in_mode(
        &mut self,
        inputs: &Tensor,
        batch_size: usize,
        mode: Mode,
    ) -> Result<Tensor, ModelError> {
        if batch_size == 0 {
            return Err(ModelError::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        let shape = inputs.shape();
        if shape.len() != self.input_shape.len() + 1 || shape[1..] != *self.input_shape {
            return Err(ModelError::InvalidData(format!(
                "inputs have shape {shape:?}, the model expects (n, {:?})",
                self.input_shape
            )));
        }
        let n = shape[0];
        let sample: usize = self.input_shape.iter().product();
        let out_sample: usize = self.output_shape().iter().product();
        let pieces = inference_pieces(n, batch_size, mode == Mode::Eval);
        let mut out = vec![0.0f32; n * out_sample];
        // Each piece's rows of the output, written by whichever thread computes the piece.
        let mut slots = Vec::with_capacity(pieces.len());
        let mut rest = out.as_mut_slice();
        for r in &pieces {
            let (head, tail) = rest.split_at_mut((r.end - r.start) * out_sample);
            slots.push(Mutex::new(head));
            rest = tail;
        }
        let input_shape = self.input_shape.clone();
        // Sampling mode draws dropout masks from the layers' generators, whose sequence must
        // not depend on which thread runs which batch: it stays on this thread, in order.
        self.for_each_piece::<Option<Tensor>>(
            pieces.len(),
            mode == Mode::Eval,
            &|layers, buffer, p| {
                let r = pieces[p].clone();
                // A piece covering everything shares the input; otherwise its rows are copied
                // into this thread's input buffer (reused from piece to piece: the tape's
                // handle on it is gone when the previous piece ends).
                let x = if r.start == 0 && r.end == n {
                    inputs.clone()
                } else {
                    let mut piece_shape = vec![r.end - r.start];
                    piece_shape.extend_from_slice(&input_shape);
                    let mut x = match buffer.take() {
                        Some(x) if x.shape() == piece_shape.as_slice() => x,
                        _ => Tensor::zeros(&piece_shape),
                    };
                    x.as_mut_slice()
                        .copy_from_slice(&inputs.as_slice()[r.start * sample..r.end * sample]);
                    *buffer = Some(x.clone());
                    x
                };
                let tape = Tape::no_grad();
                let mut h = tape.constant(x);
                for l in layers.iter_mut() {
                    h = l.layer.forward(h, mode);
                }
                lock(&slots[p]).copy_from_slice(h.value().as_slice());
            },
        );
        drop(slots);
        let mut out_shape = vec![n];
        out_shape.extend_from_slice(self.output_shape());
        Ok(Tensor::from_vec(&out_shape, out)?)
    }

    /// Runs `piece(layers, scratch, p)` for every piece `p < count` of an inference pass.
    ///
    /// With one thread, one piece, or `parallel` false, the pieces run on this thread in
    /// order with the model's own layers. Otherwise they are spread over the threads of
    /// [`strata_tensor::parallel`], claimed one at a time, each thread with its own copy of the
    /// layers (the copies share the weights' buffers) and its own `scratch`: whole pieces per
    /// thread, so that no product is split and the threads never wait for one another within
    /// a piece. A piece's result must not depend on the thread that computes it (inference
    /// changes no state), so the output is the same whatever the thread count.
    fn for_each_piece<S: Default + Send>(
        &mut self,
        count: usize,
        parallel: bool,
        piece: &(dyn Fn(&mut [NamedLayer], &mut S, usize) + Sync),
    ) {
        if !parallel || count <= 1 || strata_tensor::parallel::threads() == 1 {
            let mut scratch = S::default();
            for p in 0..count {
                piece(&mut self.layers, &mut scratch, p);
            }
            return;
        }
        let layers = &self.layers;
        let spare: Mutex<Vec<(Vec<NamedLayer>, S)>> = Mutex::new(Vec::new());
        strata_tensor::parallel::run_parts(count, &|p| {
            let taken = lock(&spare).pop();
            let (mut own, mut scratch) = taken.unwrap_or_else(|| (layers.clone(), S::default()));
            piece(&mut own, &mut scratch, p);
            lock(&spare).push((own, scratch));
        });
    }
}

/// Rows of one piece of an inference pass (see [`inference_pieces`]).
const PIECE_ROWS: usize = 256;

/// The row ranges an inference pass over `n` rows in batches of `batch_size` is computed in:
/// each batch, and with `split` each batch of at least `2·PIECE_ROWS` rows cut into pieces of
/// `PIECE_ROWS` rows (the last one fewer than twice that), so that a piece's activations stay
/// in cache from one layer to the next and whole pieces can run on different threads.
/// Inference treats rows independently, and a product of at least 65 rows forms each element
/// the same way whatever its row count (`strata_tensor::kernels::gemm`), so the pieces give
/// the same bits as the whole batch.
fn inference_pieces(n: usize, batch_size: usize, split: bool) -> Vec<std::ops::Range<usize>> {
    let mut pieces = Vec::with_capacity(n.div_ceil(batch_size.min(PIECE_ROWS)));
    let mut start = 0;
    while start < n {
        let end = (start + batch_size).min(n);
        let rows = end - start;
        let parts = if split && rows >= 2 * PIECE_ROWS {
            rows / PIECE_ROWS
        } else {
            1
        };
        // Pieces of one size (the last takes the remainder), so that a thread's input buffer
        // fits every piece it gets but the last.
        let size = rows / parts;
        for i in 0..parts {
            let end_of_piece = if i + 1 == parts {
                end
            } else {
                start + (i + 1) * size
            };
            pieces.push(start + i * size..end_of_piece);
        }
        start = end;
    }
    pieces
}

/// Locks a mutex, taking the data of a poisoned one (a panicking piece is re-raised by
/// `run_parts` after all pieces ran, so the data is never used then).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_layers::{BatchNormalization, Dense, Dropout};

    #[test]
    fn inference_pieces_cover_every_row_once_within_its_batch() {
        for n in [0, 1, 31, 32, 511, 512, 1100, 10_000] {
            for batch_size in [1, 32, 300, 511, 512, 1100, 10_000, 20_000] {
                for split in [false, true] {
                    let pieces = inference_pieces(n, batch_size, split);
                    let mut next = 0;
                    for r in &pieces {
                        assert_eq!(r.start, next, "n={n} batch={batch_size}");
                        assert!(r.end > r.start);
                        // A piece never crosses a batch boundary.
                        assert_eq!(r.start / batch_size, (r.end - 1) / batch_size);
                        let batch_rows = (r.start / batch_size * batch_size + batch_size).min(n)
                            - r.start / batch_size * batch_size;
                        if split && batch_rows >= 2 * PIECE_ROWS {
                            assert!((PIECE_ROWS..2 * PIECE_ROWS).contains(&(r.end - r.start)));
                        } else {
                            assert_eq!(r.end - r.start, batch_rows);
                        }
                        next = r.end;
                    }
                    assert_eq!(next, n);
                }
            }
        }
    }

    /// Predicting a batch in pieces (on however many threads) gives the bits of one forward
    /// pass over the whole batch.
    #[test]
    fn pieces_give_the_bits_of_the_whole_batch() {
        let mut model = Sequential::with_seed(&[784], 3);
        model.add(Dense::new(300).activation("relu")).unwrap();
        model.add(BatchNormalization::new()).unwrap();
        model.add(Dropout::new(0.3, 9)).unwrap();
        model.add(Dense::new(100).activation("elu")).unwrap();
        model.add(Dense::new(10).activation("softmax")).unwrap();
        let x = Tensor::from_fn(&[1100, 784], |i| ((i * 7919 % 1009) as f32 / 1009.0) - 0.4);
        let whole = |model: &mut Sequential, rows: std::ops::Range<usize>| {
            let tape = Tape::no_grad();
            let part = Tensor::from_vec(
                &[rows.len(), 784],
                x.as_slice()[rows.start * 784..rows.end * 784].to_vec(),
            )
            .unwrap();
            let mut h = tape.constant(part);
            for l in model.layers.iter_mut() {
                h = l.layer.forward(h, Mode::Eval);
            }
            h.value().as_slice().to_vec()
        };
        // One batch of 1,100 rows (four pieces), and batches of 600 (two pieces) and 500.
        let expected_one = whole(&mut model, 0..1100);
        let mut expected_two = whole(&mut model, 0..600);
        expected_two.extend(whole(&mut model, 600..1100));
        for (batch_size, expected) in [(1100, &expected_one), (600, &expected_two)] {
            let got = model.predict(&x, batch_size).unwrap();
            assert_eq!(got.shape(), &[1100, 10]);
            assert!(
                got.as_slice()
                    .iter()
                    .zip(expected.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "batch {batch_size}: pieces differ from the whole batch"
            );
        }
    }
}
