//! Transfer learning, the chapter's main job, on the real Fashion-MNIST.
//!
//! Model A learns the eight classes other than T-shirt/top and Sandal. Model B reuses all of
//! A's layers but the last, with a new sigmoid head, to tell T-shirt/top (1) from Sandal (0):
//! first with the reused layers frozen (4 epochs), then unfrozen (16 more epochs), then with the
//! seed's exponential learning-rate schedule. A is saved, loaded back, and stays intact.
//!
//! Run: `cargo run --release --example transfer_learning` (needs `apt-get install
//! dataset-fashion-mnist`, or STRATA_DATA_DIR). Writes `target/transfer_learning_curves.svg`.

mod common;

use strata::prelude::*;

const T_SHIRT: u32 = 0;
const SANDAL: u32 = 5;

fn main() -> Result<(), ModelError> {
    let (train_full, test) = common::fashion_mnist_scaled();

    // Task A: the 8 other classes, relabeled 0..8 in order.
    let relabel_a = |y: u32| y - u32::from(y > T_SHIRT) - u32::from(y > SANDAL);
    let is_b = |y: u32| y == T_SHIRT || y == SANDAL;
    let a_full = train_full.select(|y| !is_b(y))?.map_labels(relabel_a)?;
    let (a_train, a_valid) = a_full.split_at(a_full.len() - 5_000)?;
    // Task B: T-shirt/top → 1, Sandal → 0; the last 100 images are the validation set.
    let b_full = train_full
        .select(is_b)?
        .map_labels(|y| u32::from(y == T_SHIRT))?;
    let (b_train, b_valid) = b_full.split_at(b_full.len() - 100)?;
    let b_test = test.select(is_b)?.map_labels(|y| u32::from(y == T_SHIRT))?;
    println!(
        "task A: {} train / {} valid; task B: {} train / {} valid / {} test",
        a_train.len(),
        a_valid.len(),
        b_train.len(),
        b_valid.len(),
        b_test.len()
    );

    // Model A.
    let mut model_a = Sequential::with_seed(&[28, 28], 42).named("model_A");
    model_a.add(Flatten::new())?;
    for _ in 0..3 {
        model_a.add(
            Dense::new(100)
                .activation("relu")
                .kernel_initializer("he_normal"),
        )?;
    }
    model_a.add(Dense::new(8).activation("softmax"))?;
    model_a.compile(
        Sgd::new(0.01),
        "sparse_categorical_crossentropy".parse()?,
        &[Metric::Accuracy],
    )?;
    println!("{}", model_a.summary());
    let history_a = common::timed("model A training", || {
        model_a.fit(
            &a_train,
            FitOptions::epochs(10).validation_data(&a_valid).verbose(2),
        )
    })?;
    println!(
        "model A validation accuracy: {:.4}",
        history_a.get("val_accuracy").unwrap().last().unwrap()
    );

    let path = std::path::Path::new("target").join("my_model_A.strata");
    std::fs::create_dir_all("target").map_err(|e| ModelError::Io {
        path: "target".into(),
        source: e,
    })?;
    model_a.save(&path)?;
    let model_a = Sequential::load(&path)?;
    let weights_a = model_a.get_weights();

    // Model B on (copies of) A's layers: Keras's Sequential(model_A.layers[:-1]) shares the
    // layers and would change A; Strata copies them (a clone of A, with its weights).
    let mut model_b =
        Sequential::from_layers_of(&model_a, ..model_a.len() - 1)?.named("model_B_on_A");
    model_b.add(Dense::new(1).activation("sigmoid"))?;
    let reused = model_b.len() - 1;
    model_b.set_trainable(..reused, false)?;
    model_b.compile(
        Sgd::new(0.001),
        "binary_crossentropy".parse()?,
        &[Metric::Accuracy],
    )?;
    println!("{}", model_b.summary());
    let mut history = common::timed("model B, reused layers frozen (4 epochs)", || {
        model_b.fit(
            &b_train,
            FitOptions::epochs(4).validation_data(&b_valid).verbose(2),
        )
    })?;

    model_b.set_trainable(..reused, true)?;
    model_b.compile(
        Sgd::new(0.001),
        "binary_crossentropy".parse()?,
        &[Metric::Accuracy],
    )?;
    let unfrozen = common::timed("model B, unfrozen (16 epochs)", || {
        model_b.fit(
            &b_train,
            FitOptions::epochs(16).validation_data(&b_valid).verbose(2),
        )
    })?;
    history.extend(&unfrozen);
    let evaluation = model_b.evaluate(&b_test, 32)?;
    println!(
        "model B test: accuracy {:.4}, loss {:.4}",
        evaluation.get("accuracy").unwrap(),
        evaluation.get("loss").unwrap()
    );

    // The seed's exponential schedule: lr0 · 0.1^(epoch / s), lr0 = 0.01, s = 20.
    let exponential_decay_fn = |epoch: usize, _lr: f64| 0.01 * 0.1f64.powf(epoch as f64 / 20.0);
    let mut scheduler = LearningRateScheduler::new(exponential_decay_fn);
    model_b.compile(
        Sgd::new(0.01),
        "binary_crossentropy".parse()?,
        &[Metric::Accuracy],
    )?;
    let scheduled = model_b.fit(
        &b_train,
        FitOptions::epochs(16)
            .validation_data(&b_valid)
            .verbose(0)
            .callback(&mut scheduler),
    )?;
    let rates: Vec<String> = scheduled
        .get("learning_rate")
        .unwrap()
        .iter()
        .map(|r| format!("{:.10}", *r as f64))
        .collect();
    println!(
        "learning rates recorded by the schedule: [{}]",
        rates.join(", ")
    );

    let curves = std::path::Path::new("target").join("transfer_learning_curves.svg");
    history.plot(
        &curves,
        "Model B learning curves (4 frozen + 16 unfrozen epochs)",
    )?;
    println!("learning curves: {}", curves.display());

    assert_eq!(
        model_a.get_weights(),
        weights_a,
        "model A must be unchanged by model B's training"
    );
    println!("model A unchanged after model B's training: yes");
    let final_eval = model_b.evaluate(&b_test, 32)?;
    println!(
        "test_accuracy={:.4} test_loss={:.4}",
        final_eval.get("accuracy").unwrap(),
        final_eval.get("loss").unwrap()
    );
    Ok(())
}
