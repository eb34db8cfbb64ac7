//! Losses, fused with their final activation where that is more stable and faster.
//!
//! Every loss returns the mean over the batch (Keras's `sum_over_batch_size` reduction). The
//! "from probabilities" forms reproduce Keras 3's TensorFlow backend: probabilities are clipped
//! to `[ε, 1 − ε]` with `ε = 1e-7` before the logarithm, and no gradient flows through a
//! clipped element.

use crate::{Backward, InputGrads, Var};
use strata_tensor::{Tensor, expect_same_shape};

/// Keras's `backend.epsilon()`.
pub const EPSILON: f32 = 1e-7;

#[track_caller]
fn rows_cols(op: &str, x: &Tensor) -> (usize, usize) {
    assert_eq!(
        x.ndim(),
        2,
        "{op}: expected [batch, classes], found {:?}",
        x.shape()
    );
    (x.shape()[0], x.shape()[1])
}

#[track_caller]
fn check_labels(op: &str, labels: &[usize], rows: usize, cols: usize) {
    assert_eq!(
        labels.len(),
        rows,
        "{op}: {} labels for a batch of {rows}",
        labels.len()
    );
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= cols) {
        panic!("{op}: label {l} at index {i} is out of range for {cols} classes");
    }
}

/// The labels as a pooled `f32` tensor, which a rule can hold without a per-step allocation
/// (exact: [`check_labels`] has bounded them by the class count, at most 2²⁴ here).
#[track_caller]
fn label_tensor(op: &str, labels: &[usize], cols: usize) -> Tensor {
    assert!(
        cols <= 1 << 24,
        "{op}: {cols} classes; at most 2^24 are supported"
    );
    Tensor::from_fn(&[labels.len()], |i| labels[i] as f32)
}

/// The labels a rule holds, as indices.
fn labels_of(labels: &Tensor) -> impl Iterator<Item = usize> + '_ {
    labels.as_slice().iter().map(|&y| y as usize)
}

struct SparseSoftmaxCe {
    softmax: Tensor,
    labels: Tensor,
}
impl Backward for SparseSoftmaxCe {
    // L = mean_i(−log softmax(z_i)[y_i]): dz_i = (softmax(z_i) − onehot(y_i)) / n.
    fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        let (n, c) = (self.labels.len(), self.softmax.shape()[1]);
        let k = g.item() / n as f32;
        let mut dz = self.softmax.scale(k);
        let d = dz.as_mut_slice();
        for (i, y) in labels_of(&self.labels).enumerate() {
            d[i * c + y] -= k;
        }
        [Some(dz)].into()
    }
}

struct SoftmaxCe {
    softmax: Tensor,
    targets: Tensor,
}
impl Backward for SoftmaxCe {
    // L = mean_i(−Σ_j t_ij log softmax(z_i)_j): dz_i = (softmax(z_i)·Σ_j t_ij − t_i) / n.
    fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        let (n, c) = (self.softmax.shape()[0], self.softmax.shape()[1]);
        let k = g.item() / n as f32;
        let mut dz_t = Tensor::zeros(&[n, c]);
        let dz = dz_t.as_mut_slice();
        for ((d, s), t) in dz
            .chunks_exact_mut(c)
            .zip(self.softmax.as_slice().chunks_exact(c))
            .zip(self.targets.as_slice().chunks_exact(c))
        {
            let total: f32 = t.iter().sum();
            for ((d, &s), &t) in d.iter_mut().zip(s).zip(t) {
                *d = k * (s * total - t);
            }
        }
        [Some(dz_t)].into()
    }
}

struct SparseCeProbs {
    labels: Tensor,
}
impl Backward for SparseCeProbs {
    // With c = clip(p, ε, 1 − ε) and S = Σ_j c_j: L_i = −log c_iy + log S_i (Keras takes the log
    // of the clipped probabilities as logits), so dp_ij = [c unclipped] (1/S_i − [j = y]/c_iy) / n.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        let (n, c) = rows_cols("sparse_categorical_crossentropy", x[0]);
        let k = g.item() / n as f32;
        let mut dp_t = Tensor::zeros(&[n, c]);
        let dp = dp_t.as_mut_slice();
        for ((d, p), y) in dp
            .chunks_exact_mut(c)
            .zip(x[0].as_slice().chunks_exact(c))
            .zip(labels_of(&self.labels))
        {
            let total: f32 = p.iter().map(|&p| p.clamp(EPSILON, 1.0 - EPSILON)).sum();
            for (j, (d, &p)) in d.iter_mut().zip(p).enumerate() {
                if p > EPSILON && p < 1.0 - EPSILON {
                    let own = if j == y { 1.0 / p } else { 0.0 };
                    *d = k * (1.0 / total - own);
                }
            }
        }
        [Some(dp_t)].into()
    }
}

struct CeProbs {
    targets: Tensor,
}
impl Backward for CeProbs {
    // With S = Σ_j p_j, q = p/S and c = clip(q, ε, 1 − ε): L_i = −Σ_j t_j log c_j.
    // dL/dq_j = −t_j/q_j where unclipped, and dq_j/dp_k = ([j = k] − q_j)/S, so
    // dp_k = (−t_k/q_k·[k unclipped] + Σ_j t_j [j unclipped]) / S, all divided by n.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        let (n, c) = rows_cols("categorical_crossentropy", x[0]);
        let k = g.item() / n as f32;
        let mut dp_t = Tensor::zeros(&[n, c]);
        let dp = dp_t.as_mut_slice();
        for ((d, p), t) in dp
            .chunks_exact_mut(c)
            .zip(x[0].as_slice().chunks_exact(c))
            .zip(self.targets.as_slice().chunks_exact(c))
        {
            let s: f32 = p.iter().sum();
            let unclipped = |q: f32| q > EPSILON && q < 1.0 - EPSILON;
            let total: f32 = p
                .iter()
                .zip(t)
                .filter(|&(&p, _)| unclipped(p / s))
                .map(|(_, &t)| t)
                .sum();
            for ((d, &p), &t) in d.iter_mut().zip(p).zip(t) {
                let q = p / s;
                let own = if unclipped(q) { -t / q } else { 0.0 };
                *d = k * (own + total) / s;
            }
        }
        [Some(dp_t)].into()
    }
}

struct SigmoidBce {
    targets: Tensor,
}
impl Backward for SigmoidBce {
    // L = mean(max(z, 0) − z·t + log(1 + e^{−|z|})): dz = (σ(z) − t) / N.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        let k = g.item() / x[0].len().max(1) as f32;
        let s = x[0].unary(strata_tensor::Unary::Sigmoid);
        [Some(s.zip_map(&self.targets, |s, t| k * (s - t)))].into()
    }
}

struct BceProbs {
    targets: Tensor,
}
impl Backward for BceProbs {
    // c = clip(p, ε, 1 − ε); L = mean(−t·log(c + ε) − (1 − t)·log(1 − c + ε)):
    // dp = [p unclipped]·(−t/(c + ε) + (1 − t)/(1 − c + ε)) / N.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        let k = g.item() / x[0].len().max(1) as f32;
        let dp = x[0].zip_map(&self.targets, |p, t| {
            if p > EPSILON && p < 1.0 - EPSILON {
                k * (-t / (p + EPSILON) + (1.0 - t) / (1.0 - p + EPSILON))
            } else {
                0.0
            }
        });
        [Some(dp)].into()
    }
}

struct Mse {
    targets: Tensor,
}
impl Backward for Mse {
    // L = mean((p − t)²): dp = 2(p − t) / N.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        let k = 2.0 * g.item() / x[0].len().max(1) as f32;
        [Some(x[0].zip_map(&self.targets, |p, t| k * (p - t)))].into()
    }
}

impl<'t> Var<'t> {
    /// Sparse categorical cross-entropy from logits `[batch, classes]` and integer labels,
    /// fused with the softmax (log-sum-exp), averaged over the batch.
    ///
    /// # Panics
    /// When the label count differs from the batch or a label is out of range.
    #[track_caller]
    pub fn sparse_softmax_cross_entropy(self, labels: &[usize]) -> Var<'t> {
        let z = self.value();
        let (n, c) = rows_cols("sparse_softmax_cross_entropy", &z);
        check_labels("sparse_softmax_cross_entropy", labels, n, c);
        let log_p = z.log_softmax();
        let loss = -labels
            .iter()
            .enumerate()
            .map(|(i, &y)| log_p.as_slice()[i * c + y] as f64)
            .sum::<f64>()
            / n.max(1) as f64;
        let softmax = log_p.map(f32::exp);
        self.record_unary(
            SparseSoftmaxCe {
                softmax,
                labels: label_tensor("sparse_softmax_cross_entropy", labels, c),
            },
            Tensor::scalar(loss as f32),
        )
    }

    /// Categorical cross-entropy from logits and target distributions (one-hot or soft),
    /// fused with the softmax, averaged over the batch.
    #[track_caller]
    pub fn softmax_cross_entropy(self, targets: &Tensor) -> Var<'t> {
        let z = self.value();
        let (n, _) = rows_cols("softmax_cross_entropy", &z);
        expect_same_shape("softmax_cross_entropy", &z, targets);
        let log_p = z.log_softmax();
        let loss = -log_p
            .as_slice()
            .iter()
            .zip(targets.as_slice())
            .map(|(&l, &t)| (l * t) as f64)
            .sum::<f64>()
            / n.max(1) as f64;
        let softmax = log_p.map(f32::exp);
        self.record_unary(
            SoftmaxCe {
                softmax,
                targets: targets.clone(),
            },
            Tensor::scalar(loss as f32),
        )
    }

    /// Sparse categorical cross-entropy from probabilities, as Keras computes it when
    /// `from_logits=False`.
    #[track_caller]
    pub fn sparse_categorical_crossentropy_from_probs(self, labels: &[usize]) -> Var<'t> {
        let p = self.value();
        let (n, c) = rows_cols("sparse_categorical_crossentropy", &p);
        check_labels("sparse_categorical_crossentropy", labels, n, c);
        let mut loss = 0.0f64;
        for (row, &y) in p.as_slice().chunks_exact(c).zip(labels) {
            let total: f32 = row.iter().map(|&p| p.clamp(EPSILON, 1.0 - EPSILON)).sum();
            loss += (total.ln() - row[y].clamp(EPSILON, 1.0 - EPSILON).ln()) as f64;
        }
        let loss = loss / n.max(1) as f64;
        self.record_unary(
            SparseCeProbs {
                labels: label_tensor("sparse_categorical_crossentropy", labels, c),
            },
            Tensor::scalar(loss as f32),
        )
    }

    /// Categorical cross-entropy from probabilities and target distributions, as Keras
    /// computes it when `from_logits=False` (probabilities renormalized, then clipped).
    #[track_caller]
    pub fn categorical_crossentropy_from_probs(self, targets: &Tensor) -> Var<'t> {
        let p = self.value();
        let (n, c) = rows_cols("categorical_crossentropy", &p);
        expect_same_shape("categorical_crossentropy", &p, targets);
        let mut loss = 0.0f64;
        for (row, t) in p
            .as_slice()
            .chunks_exact(c)
            .zip(targets.as_slice().chunks_exact(c))
        {
            let s: f32 = row.iter().sum();
            for (&p, &t) in row.iter().zip(t) {
                loss -= (t * (p / s).clamp(EPSILON, 1.0 - EPSILON).ln()) as f64;
            }
        }
        let loss = loss / n.max(1) as f64;
        self.record_unary(
            CeProbs {
                targets: targets.clone(),
            },
            Tensor::scalar(loss as f32),
        )
    }

    /// Binary cross-entropy from logits, fused with the sigmoid, averaged over all elements.
    #[track_caller]
    pub fn sigmoid_binary_cross_entropy(self, targets: &Tensor) -> Var<'t> {
        let z = self.value();
        expect_same_shape("sigmoid_binary_cross_entropy", &z, targets);
        let total: f64 = z
            .as_slice()
            .iter()
            .zip(targets.as_slice())
            .map(|(&z, &t)| (z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()) as f64)
            .sum();
        let loss = total / z.len().max(1) as f64;
        self.record_unary(
            SigmoidBce {
                targets: targets.clone(),
            },
            Tensor::scalar(loss as f32),
        )
    }

    /// Binary cross-entropy from probabilities, as Keras computes it when `from_logits=False`.
    #[track_caller]
    pub fn binary_crossentropy_from_probs(self, targets: &Tensor) -> Var<'t> {
        let p = self.value();
        expect_same_shape("binary_crossentropy", &p, targets);
        let total: f64 = p
            .as_slice()
            .iter()
            .zip(targets.as_slice())
            .map(|(&p, &t)| {
                let c = p.clamp(EPSILON, 1.0 - EPSILON);
                -(t * (c + EPSILON).ln() + (1.0 - t) * (1.0 - c + EPSILON).ln()) as f64
            })
            .sum();
        let loss = total / p.len().max(1) as f64;
        self.record_unary(
            BceProbs {
                targets: targets.clone(),
            },
            Tensor::scalar(loss as f32),
        )
    }

    /// Mean squared error against constant targets.
    #[track_caller]
    pub fn mean_squared_error(self, targets: &Tensor) -> Var<'t> {
        let p = self.value();
        expect_same_shape("mean_squared_error", &p, targets);
        let total: f64 = p
            .as_slice()
            .iter()
            .zip(targets.as_slice())
            .map(|(&p, &t)| ((p - t) * (p - t)) as f64)
            .sum();
        let loss = total / p.len().max(1) as f64;
        self.record_unary(
            Mse {
                targets: targets.clone(),
            },
            Tensor::scalar(loss as f32),
        )
    }
}
