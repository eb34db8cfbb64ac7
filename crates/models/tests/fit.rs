//! compile / fit / evaluate / predict, losses against Keras, history and errors.

mod common;

use common::{blobs, same_bits, small_model};
use serde_json::Value;
use strata::prelude::*;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/models.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn fit_reaches_near_zero_loss_on_a_learnable_problem() {
    let data = blobs(300, 1);
    let mut model = small_model(7);
    model
        .compile(
            Adam::new(0.01),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    let history = model.fit(&data, FitOptions::epochs(30).verbose(0)).unwrap();
    let loss = history.get("loss").unwrap();
    assert!(*loss.last().unwrap() < 0.02, "final loss {:?}", loss.last());
    assert!(loss.last().unwrap() < &loss[0]);
    assert_eq!(*history.get("accuracy").unwrap().last().unwrap(), 1.0);
    let eval = model.evaluate(&data, 32).unwrap();
    assert!(eval.get("loss").unwrap() < 0.05);
    assert_eq!(eval.get("accuracy"), Some(1.0));
}

#[test]
fn history_keys_follow_keras_order_and_count_epochs() {
    let train = blobs(96, 2);
    let valid = blobs(30, 3);
    let mut model = small_model(1);
    model
        .compile(
            Sgd::new(0.05),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    let mut scheduler =
        LearningRateScheduler::new(|epoch, lr| if epoch == 0 { lr } else { lr * 0.5 });
    let history = model
        .fit(
            &train,
            FitOptions::epochs(3)
                .verbose(0)
                .validation_data(&valid)
                .callback(&mut scheduler),
        )
        .unwrap();
    assert_eq!(
        history.keys(),
        [
            "accuracy",
            "loss",
            "val_accuracy",
            "val_loss",
            "learning_rate"
        ]
    );
    assert_eq!(history.epochs, vec![0, 1, 2]);
    assert_eq!(
        history.get("learning_rate").unwrap(),
        &[0.05, 0.025, 0.0125]
    );
    // Without a rate callback there is no learning_rate key (as in Keras).
    let history = model.fit(&train, FitOptions::epochs(1).verbose(0)).unwrap();
    assert_eq!(history.keys(), ["accuracy", "loss"]);
}

#[test]
fn seed_learning_rate_function_is_recorded_exactly() {
    // lr0 · 0.1^(epoch / s), lr0 = 0.01, s = 20 (the seed's exponential_decay_fn).
    let want = floats(
        &serde_json::from_str::<Value>(include_str!("../../optim/tests/golden/optim.json"))
            .unwrap()["schedules"]["seed_history_learning_rate"],
    );
    let data = blobs(30, 4);
    let mut model = small_model(2);
    model
        .compile(
            Sgd::new(0.01),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[],
        )
        .unwrap();
    let mut scheduler =
        LearningRateScheduler::new(|epoch, _| 0.01 * 0.1f64.powf(epoch as f64 / 20.0));
    let history = model
        .fit(
            &data,
            FitOptions::epochs(16).verbose(0).callback(&mut scheduler),
        )
        .unwrap();
    assert_eq!(history.get("learning_rate").unwrap(), want.as_slice());
}

#[test]
fn every_loss_matches_keras() {
    let g = &golden()["losses"];
    let logits = Tensor::from_vec(&[6, 4], floats(&g["logits"])).unwrap();
    let probs = Tensor::from_vec(&[6, 4], floats(&g["probs"])).unwrap();
    let labels: Vec<u32> = g["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let bin_logits = Tensor::from_vec(&[6, 1], floats(&g["bin_logits"])).unwrap();
    let bin_probs = Tensor::from_vec(&[6, 1], floats(&g["bin_probs"])).unwrap();
    let bin_targets = Tensor::from_vec(&[6, 1], floats(&g["bin_targets"])).unwrap();
    let onehot = Tensor::from_fn(&[6, 4], |i| {
        if labels[i / 4] as usize == i % 4 {
            1.0
        } else {
            0.0
        }
    });
    // An identity model (Activation("linear")) evaluates the loss on the inputs themselves.
    let check = |x: &Tensor, data: Dataset, loss: Loss, key: &str| {
        let mut model = Sequential::with_seed(&[x.shape()[1]], 0);
        model.add(Activation::Linear).unwrap();
        model.compile(Sgd::new(0.1), loss, &[]).unwrap();
        let got = model.evaluate(&data, 6).unwrap().get("loss").unwrap();
        let want = g[key].as_f64().unwrap() as f32;
        assert!(
            (got - want).abs() <= 1e-5 + 1e-5 * want.abs(),
            "{key}: {got} vs Keras {want}"
        );
    };
    let sparse = |x: &Tensor| Dataset::from_tensor(x, labels.clone()).unwrap();
    check(
        &probs,
        sparse(&probs),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        "sparse_cce_probs",
    );
    check(
        &logits,
        sparse(&logits),
        Loss::SparseCategoricalCrossentropy { from_logits: true },
        "sparse_cce_logits",
    );
    check(
        &probs,
        Dataset::from_tensors(&probs, &onehot).unwrap(),
        Loss::CategoricalCrossentropy { from_logits: false },
        "cce_probs",
    );
    check(
        &logits,
        Dataset::from_tensors(&logits, &onehot).unwrap(),
        Loss::CategoricalCrossentropy { from_logits: true },
        "cce_logits",
    );
    check(
        &bin_probs,
        Dataset::from_tensors(&bin_probs, &bin_targets).unwrap(),
        Loss::BinaryCrossentropy { from_logits: false },
        "bce_probs",
    );
    check(
        &bin_logits,
        Dataset::from_tensors(&bin_logits, &bin_targets).unwrap(),
        Loss::BinaryCrossentropy { from_logits: true },
        "bce_logits",
    );
    check(
        &bin_probs,
        Dataset::from_tensors(&bin_probs, &bin_targets).unwrap(),
        Loss::MeanSquaredError,
        "mse",
    );
}

#[test]
fn regularization_penalties_are_in_the_reported_loss() {
    let data = blobs(30, 5);
    let build = |l2: f32| {
        let mut m = Sequential::with_seed(&[6], 3);
        m.add(
            Dense::new(3)
                .activation("softmax")
                .kernel_regularizer(Regularizer::L2(l2)),
        )
        .unwrap();
        m.compile(
            Sgd::new(0.0),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[],
        )
        .unwrap();
        m
    };
    let mut plain = build(0.0);
    let mut penalized = build(0.5);
    let kernel = plain.get_weights()[0].clone();
    let penalty = 0.5 * kernel.as_slice().iter().map(|v| v * v).sum::<f32>();
    let a = plain.evaluate(&data, 10).unwrap().get("loss").unwrap();
    let b = penalized.evaluate(&data, 10).unwrap().get("loss").unwrap();
    assert!(
        (b - a - penalty).abs() < 1e-4,
        "{b} - {a} should be the penalty {penalty}"
    );
    let h = penalized
        .fit(&data, FitOptions::epochs(1).verbose(0).shuffle(false))
        .unwrap();
    assert!(
        (h.get("loss").unwrap()[0] - b).abs() < 1e-4,
        "with lr 0 the training loss equals the evaluated one"
    );
}

#[test]
fn predict_is_batched_and_matches_a_single_batch() {
    let data = blobs(50, 6);
    let mut model = small_model(4);
    let x = data.inputs_tensor();
    let a = model.predict(&x, 7).unwrap();
    let b = model.predict(&x, 50).unwrap();
    assert_eq!(a.shape(), &[50, 3]);
    for (p, q) in a.as_slice().iter().zip(b.as_slice()) {
        assert!((p - q).abs() < 1e-6);
    }
    for row in a.as_slice().chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn mc_dropout_predictions_vary_and_their_mean_is_stable() {
    let data = blobs(20, 8);
    let mut model = Sequential::with_seed(&[6], 5);
    model.add(Dense::new(32).activation("relu")).unwrap();
    model.add(Dropout::new(0.5, 1)).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    let x = data.inputs_tensor();
    let a = model.predict_sample(&x, 20).unwrap();
    let b = model.predict_sample(&x, 20).unwrap();
    assert_ne!(a, b);
    assert_eq!(
        model.predict(&x, 20).unwrap(),
        model.predict(&x, 20).unwrap()
    );
}

#[test]
fn misuse_is_a_clear_error() {
    let data = blobs(30, 9);
    let mut model = small_model(5);
    assert!(matches!(
        model.fit(&data, FitOptions::epochs(1)),
        Err(ModelError::NotCompiled(_))
    ));
    model
        .compile(
            Sgd::new(0.1),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[],
        )
        .unwrap();
    let wrong = Dataset::from_tensor(&Tensor::zeros(&[4, 5]), vec![0; 4]).unwrap();
    let err = model
        .fit(&wrong, FitOptions::epochs(1).verbose(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[5]") && err.contains("[6]"), "{err}");
    let bad_labels = Dataset::from_tensor(&Tensor::zeros(&[4, 6]), vec![0, 1, 7, 2]).unwrap();
    let err = model
        .fit(&bad_labels, FitOptions::epochs(1).verbose(0))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("label 7") && err.contains("3 outputs"),
        "{err}"
    );
    assert!("sparse_categorical_crossentropyy".parse::<Loss>().is_err());
    assert!(
        model
            .fit(&data, FitOptions::epochs(1).batch_size(0))
            .is_err()
    );
    let err = Sequential::with_seed(&[28, 28], 0)
        .add(Dense::new(3))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("dense (Dense)") && err.contains("(None, 28, 28)") && err.contains("Flatten"),
        "{err}"
    );
}

/// Training and prediction give the same bits on one thread and on two: large products and
/// updates are split across threads without changing any sum (see `docs/architecture.md`).
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let n = 96;
    let x = Tensor::from_fn(&[n, 784], |i| ((i * 7919 % 1009) as f32 / 1009.0) - 0.3);
    let y: Vec<u32> = (0..n as u32).map(|i| (i * 7) % 10).collect();
    let data = Dataset::from_tensor(&x, y).unwrap();
    let wide = Tensor::from_fn(&[1100, 784], |i| {
        ((i * 104_729 % 1013) as f32 / 1013.0) - 0.5
    });
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut model = Sequential::with_seed(&[784], 5);
            // 784 → 100 is split by rows of the batch, 100 → 300 by columns; the first
            // kernel (78,400 weights) is updated on both threads.
            model.add(Dense::new(100).activation("relu")).unwrap();
            model.add(Dense::new(300).activation("relu")).unwrap();
            model.add(Dense::new(10).activation("softmax")).unwrap();
            model
                .compile(
                    Sgd::new(0.05).momentum(0.9),
                    "sparse_categorical_crossentropy".parse().unwrap(),
                    &[],
                )
                .unwrap();
            model.fit(&data, FitOptions::epochs(2).verbose(0)).unwrap();
            let mut predictions = model.predict(&x, n).unwrap().as_slice().to_vec();
            // Inference in pieces spread over the threads: batches of 32, and one batch of
            // 1,100 rows computed as four pieces.
            predictions.extend_from_slice(model.predict(&wide, 32).unwrap().as_slice());
            predictions.extend_from_slice(model.predict(&wide, 1100).unwrap().as_slice());
            let logs = model.evaluate(&data, 7).unwrap();
            predictions.push(logs.get("loss").unwrap());
            (
                model.get_weights(),
                Tensor::from_vec(&[predictions.len()], predictions).unwrap(),
            )
        })
    };
    // Two threads first, so that this process's helper threads exist for the split.
    let (w2, p2) = run(2);
    let (w1, p1) = run(1);
    assert!(
        same_bits(&w1, &w2),
        "weights differ between 1 and 2 threads"
    );
    assert!(
        same_bits(&[p1], &[p2]),
        "outputs differ between 1 and 2 threads"
    );
}

/// Splitting a step's kernels across threads or not, fixed or chosen as `fit` measures, gives
/// the same weights bit for bit (50 steps: the adaptive run measures a split and a serial
/// window after its warm-up, so it changes mode at least once).
#[test]
fn splitting_choice_does_not_change_the_results() {
    let n = 800;
    let x = Tensor::from_fn(&[n, 784], |i| ((i * 7919 % 1009) as f32 / 1009.0) - 0.3);
    let y: Vec<u32> = (0..n as u32).map(|i| (i * 7) % 10).collect();
    let data = Dataset::from_tensor(&x, y).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let run = |splitting: Splitting| {
        pool.install(|| {
            let mut model = Sequential::with_seed(&[784], 11);
            model.add(Dense::new(300).activation("relu")).unwrap();
            model.add(Dense::new(100).activation("relu")).unwrap();
            model.add(Dense::new(10).activation("softmax")).unwrap();
            model
                .compile(
                    Sgd::new(0.05),
                    "sparse_categorical_crossentropy".parse().unwrap(),
                    &[],
                )
                .unwrap();
            let history = model
                .fit(&data, FitOptions::epochs(2).verbose(0).splitting(splitting))
                .unwrap();
            (model.get_weights(), history.get("loss").unwrap().to_vec())
        })
    };
    let (always, loss) = run(Splitting::Always);
    assert!(loss[1] < loss[0], "training did not progress: {loss:?}");
    for splitting in [Splitting::Never, Splitting::Adaptive] {
        let (weights, other_loss) = run(splitting);
        assert_eq!(other_loss, loss, "{splitting:?}");
        assert!(
            same_bits(&always, &weights),
            "{splitting:?}: weights differ from Splitting::Always"
        );
    }
}
