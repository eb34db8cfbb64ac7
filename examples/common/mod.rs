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
