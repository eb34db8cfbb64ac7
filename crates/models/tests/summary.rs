//! `summary()` against Keras's own text for the seed's models.
//! Reference: tests/golden/models.json, written by tools/golden/models.py (Keras 3).

use serde_json::Value;
use strata::prelude::*;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/models.json")).unwrap()
}

fn seed_bn_model() -> Sequential {
    let mut model = Sequential::with_seed(&[28, 28], 42);
    model.add(Flatten::new()).unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model
        .add(
            Dense::new(300)
                .activation("relu")
                .kernel_initializer("he_normal"),
        )
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model
        .add(
            Dense::new(100)
                .activation("relu")
                .kernel_initializer("he_normal"),
        )
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    model
}

#[test]
fn seed_bn_model_summary_equals_keras() {
    let model = seed_bn_model();
    let want = golden()["bn_model_summary"]
        .as_str()
        .unwrap()
        .trim_end()
        .to_string();
    assert_eq!(model.summary().trim_end(), want);
    assert_eq!(model.count_params(), (271_346, 268_978, 2_368));
}

#[test]
fn summary_after_fit_adds_optimizer_params_like_keras() {
    let mut model = seed_bn_model();
    model
        .compile(
            Sgd::new(0.01).momentum(0.9),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    let x = Tensor::from_fn(&[64, 28, 28], |i| (i % 7) as f32 / 7.0);
    let data = Dataset::from_tensor(&x, (0..64).map(|i| (i % 10) as u32).collect()).unwrap();
    model.fit(&data, FitOptions::epochs(1).verbose(0)).unwrap();
    let want = golden()["bn_model_summary_after_fit"]
        .as_str()
        .unwrap()
        .trim_end()
        .to_string();
    assert_eq!(model.summary().trim_end(), want);
}

#[test]
fn bn_before_activation_summary_equals_keras() {
    let mut model = Sequential::with_seed(&[28, 28], 42);
    model.add(Flatten::new()).unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model
        .add(
            Dense::new(300)
                .kernel_initializer("he_normal")
                .use_bias(false),
        )
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(Activation::Relu).unwrap();
    model
        .add(
            Dense::new(100)
                .kernel_initializer("he_normal")
                .use_bias(false),
        )
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(Activation::Relu).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    let want = golden()["bn_before_activation_summary"]
        .as_str()
        .unwrap()
        .trim_end()
        .to_string();
    assert_eq!(model.summary().trim_end(), want);
}

#[test]
fn first_bn_layer_variables_print_as_the_seed_shows() {
    let model = seed_bn_model();
    let want: Vec<(String, bool)> = golden()["bn_layer_variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[0].as_str().unwrap().to_string(), v[1].as_bool().unwrap()))
        .collect();
    assert_eq!(model.layer_variables(1), want);
}
