//! Integration test on the real Fashion-MNIST from Debian's `dataset-fashion-mnist`.
//!
//! It skips with a message when the files are absent, unless `STRATA_REQUIRE_DATA=1` (as CI
//! sets it), in which case their absence fails the test.

use strata_data::fashion_mnist;

#[test]
fn real_fashion_mnist_has_the_published_counts_and_shapes() {
    let dir = match fashion_mnist::locate() {
        Ok(dir) => dir,
        Err(e) => {
            if std::env::var("STRATA_REQUIRE_DATA").is_ok_and(|v| v == "1") {
                panic!("STRATA_REQUIRE_DATA=1 but Fashion-MNIST is missing: {e}");
            }
            eprintln!(
                "SKIPPED: real Fashion-MNIST test ({e}). Run `apt-get install dataset-fashion-mnist` to enable it."
            );
            return;
        }
    };
    let (train, test) = fashion_mnist::load_data_from(&dir).unwrap();
    assert_eq!(train.len(), 60_000);
    assert_eq!(test.len(), 10_000);
    assert_eq!(train.sample_shape(), &[28, 28]);
    assert_eq!(train.class_counts(10), vec![6_000; 10]);
    assert_eq!(test.class_counts(10), vec![1_000; 10]);
    // The first training image is an ankle boot (label 9), as in Keras.
    assert_eq!(train.labels().unwrap()[0], 9);
    assert_eq!(fashion_mnist::CLASS_NAMES[9], "Ankle boot");
    let task_b = train.select(|y| y == 0 || y == 5).unwrap();
    assert_eq!(task_b.len(), 12_000);
    let (b_train, _) = task_b.split_at(task_b.len() - 100).unwrap();
    assert_eq!(
        b_train
            .batches(32, strata_data::Order::Shuffled { seed: 0 }, 0)
            .unwrap()
            .steps(),
        372
    );
}
