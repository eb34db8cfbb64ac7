//! Shared by the examples: loading Fashion-MNIST with a helpful message, and the chapter's
//! splits.
#![allow(dead_code)]

use strata::prelude::*;

/// Loads Fashion-MNIST (train, test) with pixels scaled to [0, 1], or exits with the loader's
/// explanation of where it looked and how to install the data.
pub fn fashion_mnist_scaled() -> (Dataset, Dataset) {
    match fashion_mnist::load_data() {
        Ok((train, test)) => (train.scaled(1.0 / 255.0), test.scaled(1.0 / 255.0)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

/// The chapter's split: the first 55,000 training images for training, the last 5,000 for
/// validation (as the benchmarks and Géron's `X_train_full[:-5000]` do).
pub fn train_valid(train_full: &Dataset) -> (Dataset, Dataset) {
    train_full
        .split_at(train_full.len() - 5_000)
        .expect("60,000 images")
}

/// Runs `f`, printing how long it took.
pub fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = f();
    println!("{what}: {:.2} s", start.elapsed().as_secs_f64());
    out
}

/// Compiles `model` with `optimizer` and sparse categorical cross-entropy, trains it for
/// `epochs` epochs with validation, and prints a table row: final loss, validation accuracy and
/// time.
pub fn train_row(
    label: &str,
    model: &mut Sequential,
    optimizer: impl Into<strata::optim::OptimizerConfig>,
    (train, valid): (&Dataset, &Dataset),
    epochs: usize,
) -> Result<History, ModelError> {
    model.compile(
        optimizer,
        "sparse_categorical_crossentropy".parse()?,
        &[Metric::Accuracy],
    )?;
    let start = std::time::Instant::now();
    let mut guard = TerminateOnNaN::new();
    let history = model.fit(
        train,
        FitOptions::epochs(epochs)
            .validation_data(valid)
            .verbose(0)
            .callback(&mut guard),
    )?;
    let last = |key: &str| {
        history
            .get(key)
            .and_then(|v| v.last().copied())
            .unwrap_or(f32::NAN)
    };
    println!(
        "{label:<26} {:>10.4} {:>10.4} {:>10.2}",
        last("loss"),
        last("val_accuracy"),
        start.elapsed().as_secs_f64()
    );
    Ok(history)
}

/// The header of the [`train_row`] table.
pub fn train_header(first: &str) {
    println!(
        "{first:<26} {:>10} {:>10} {:>10}",
        "loss", "val_acc", "time (s)"
    );
}
