//! The transfer-learning flow on the real Fashion-MNIST (release mode; CI installs
//! `dataset-fashion-mnist` and sets STRATA_REQUIRE_DATA=1, elsewhere this skips when the data
//! is absent). Asserts the accuracy the `transfer_learning` example reaches, and that model A
//! is unchanged by model B's training.

use strata::prelude::*;

#[test]
fn transfer_learning_reaches_99_percent_and_leaves_model_a_intact() {
    let (train_full, test) = match fashion_mnist::load_data() {
        Ok(data) => data,
        Err(e) => {
            if std::env::var("STRATA_REQUIRE_DATA").is_ok_and(|v| v == "1") {
                panic!("STRATA_REQUIRE_DATA=1 but Fashion-MNIST is missing: {e}");
            }
            eprintln!(
                "SKIPPED: real-data transfer test ({e}). Run `apt-get install dataset-fashion-mnist` to enable it."
            );
            return;
        }
    };
    let (train_full, test) = (train_full.scaled(1.0 / 255.0), test.scaled(1.0 / 255.0));
    let is_b = |y: u32| y == 0 || y == 5;
    let a_train = train_full
        .select(|y| !is_b(y))
        .unwrap()
        .map_labels(|y| y - u32::from(y > 0) - u32::from(y > 5))
        .unwrap();
    let b_full = train_full
        .select(is_b)
        .unwrap()
        .map_labels(|y| u32::from(y == 0))
        .unwrap();
    let (b_train, _b_valid) = b_full.split_at(b_full.len() - 100).unwrap();
    let b_test = test
        .select(is_b)
        .unwrap()
        .map_labels(|y| u32::from(y == 0))
        .unwrap();
    assert_eq!((b_train.len(), b_test.len()), (11_900, 2_000));

    let mut model_a = Sequential::with_seed(&[28, 28], 42);
    model_a.add(Flatten::new()).unwrap();
    for _ in 0..3 {
        model_a
            .add(
                Dense::new(100)
                    .activation("relu")
                    .kernel_initializer("he_normal"),
            )
            .unwrap();
    }
    model_a.add(Dense::new(8).activation("softmax")).unwrap();
    model_a
        .compile(
            Sgd::new(0.01),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    let history = model_a
        .fit(&a_train, FitOptions::epochs(5).verbose(0))
        .unwrap();
    assert!(*history.get("accuracy").unwrap().last().unwrap() > 0.85);
    let weights_a = model_a.get_weights();

    let mut model_b = Sequential::from_layers_of(&model_a, ..model_a.len() - 1).unwrap();
    model_b.add(Dense::new(1).activation("sigmoid")).unwrap();
    model_b.set_trainable(..model_b.len() - 1, false).unwrap();
    model_b
        .compile(
            Sgd::new(0.001),
            "binary_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    model_b
        .fit(&b_train, FitOptions::epochs(4).verbose(0))
        .unwrap();
    model_b.set_trainable(.., true).unwrap();
    model_b
        .compile(
            Sgd::new(0.001),
            "binary_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    model_b
        .fit(&b_train, FitOptions::epochs(16).verbose(0))
        .unwrap();
    let accuracy = model_b
        .evaluate(&b_test, 32)
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(accuracy >= 0.99, "test accuracy {accuracy}");
    assert_eq!(model_a.get_weights(), weights_a, "model A changed");
}
