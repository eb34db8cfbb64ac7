//! `fit` against Keras 3's own `fit`, step for step: the same initial weights, the same data in
//! the same order (no shuffling), and then the loss and accuracy of every epoch and the final
//! weights must agree to rounding. This covers the whole training loop at once: the forward
//! pass, the loss and its gradient, backpropagation, the optimizer update (including its slots
//! and step count), batch-normalization's moving statistics, the partial last batch, and the
//! per-epoch averages of the history.
//!
//! Reference: tests/golden/fit.json, written by tools/golden/fit.py (Keras 3).

use serde_json::Value;
use strata::prelude::*;

const N: usize = 60;
const FEATURES: usize = 20;
const CLASSES: usize = 4;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/fit.json")).unwrap()
}

/// The dataset of tools/golden/fit.py, computed the same way (f64, then rounded to f32).
fn data() -> Dataset {
    let x: Vec<f32> = (0..N)
        .flat_map(|i| {
            (0..FEATURES).map(move |j| (((i * 7 + j * 3) % 11) as f64 / 10.0 - 0.5) as f32)
        })
        .collect();
    let y: Vec<u32> = (0..N).map(|i| ((i * 5 + i / 3) % CLASSES) as u32).collect();
    Dataset::from_tensor(&Tensor::from_vec(&[N, FEATURES], x).unwrap(), y).unwrap()
}

/// A nested JSON array of numbers as a tensor of the same shape.
fn tensor(v: &Value) -> Tensor {
    fn walk(v: &Value, depth: usize, shape: &mut Vec<usize>, out: &mut Vec<f32>) {
        match v {
            Value::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len());
                }
                for item in items {
                    walk(item, depth + 1, shape, out);
                }
            }
            _ => out.push(v.as_f64().unwrap() as f32),
        }
    }
    let (mut shape, mut out) = (Vec::new(), Vec::new());
    walk(v, 0, &mut shape, &mut out);
    Tensor::from_vec(&shape, out).unwrap()
}

fn mlp() -> Sequential {
    let mut m = Sequential::with_seed(&[FEATURES], 1);
    m.add(Dense::new(16).activation("relu")).unwrap();
    m.add(Dense::new(8).activation("relu")).unwrap();
    m.add(Dense::new(CLASSES).activation("softmax")).unwrap();
    m
}

fn bn() -> Sequential {
    let mut m = Sequential::with_seed(&[FEATURES], 1);
    m.add(Dense::new(16).use_bias(false)).unwrap();
    m.add(BatchNormalization::new()).unwrap();
    m.add(Activation::Relu).unwrap();
    m.add(Dense::new(CLASSES).activation("softmax")).unwrap();
    m
}

fn check(case: &str, mut model: Sequential, optimizer: impl Into<strata::optim::OptimizerConfig>) {
    let g = &golden()[case];
    let initial: Vec<Tensor> = g["initial_weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(tensor)
        .collect();
    model.set_weights(&initial).unwrap();
    model
        .compile(
            optimizer,
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    let history = model
        .fit(
            &data(),
            FitOptions::epochs(3)
                .batch_size(8)
                .shuffle(false)
                .verbose(0),
        )
        .unwrap();
    for key in ["loss", "accuracy"] {
        let want = tensor(&g[key]);
        let want = want.as_slice();
        let got = history.get(key).unwrap();
        assert_eq!(got.len(), want.len(), "{case} {key}");
        for (epoch, (x, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (x - w).abs() <= 1e-5 * w.abs().max(1.0),
                "{case} {key} epoch {epoch}: {x} vs Keras {w}"
            );
        }
    }
    let want: Vec<Tensor> = g["final_weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(tensor)
        .collect();
    let got = model.get_weights();
    assert_eq!(got.len(), want.len(), "{case}: number of weights");
    for (i, (x, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(x.shape(), w.shape(), "{case} weight {i}");
        for (a, b) in x.as_slice().iter().zip(w.as_slice()) {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{case} weight {i}: {a} vs Keras {b}"
            );
        }
    }
}

#[test]
fn fit_with_sgd_equals_keras_step_for_step() {
    check("mlp_sgd", mlp(), Sgd::new(0.1));
}

#[test]
fn fit_with_nesterov_momentum_equals_keras_step_for_step() {
    check(
        "mlp_sgd_nesterov",
        mlp(),
        Sgd::new(0.05).momentum(0.9).nesterov(true),
    );
}

#[test]
fn fit_with_batch_normalization_and_adam_equals_keras_step_for_step() {
    check("bn_adam", bn(), Adam::new(0.01));
}
