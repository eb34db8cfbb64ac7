//! Keras fidelity. Reference: tests/golden/layers.json, written by tools/golden/layers.py
//! (Keras 3 on TensorFlow; the versions are recorded in the file).

use rand::{SeedableRng, rngs::StdRng};
use serde_json::Value;
use strata_autograd::Tape;
use strata_layers::*;
use strata_tensor::Tensor;

#[path = "../../../tools/golden/non_finite.rs"]
mod non_finite;
use non_finite::floats_or_non_finite;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/layers.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn tensor(v: &Value, shape: &[usize]) -> Tensor {
    Tensor::from_vec(shape, floats(v)).unwrap()
}

#[track_caller]
fn assert_close(got: &[f32], want: &[f32], atol: f32, rtol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: {g} vs Keras {w}"
        );
    }
}

fn run(layer: &mut impl Layer, x: &Tensor, mode: Mode) -> Tensor {
    let tape = Tape::new();
    layer.forward(tape.constant(x.clone()), mode).value()
}

#[test]
fn every_activation_matches_keras() {
    let g = golden();
    let x = floats(&g["activations"]["x"]);
    let xt = Tensor::from_vec(&[1, x.len()], x.clone()).unwrap();
    let outputs = g["activations"]["outputs"].as_object().unwrap();
    for name in [
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "silu",
        "swish",
        "mish",
        "sigmoid",
        "tanh",
        "softplus",
        "linear",
        "gelu_approximate",
    ] {
        let act: Activation = name.parse().unwrap();
        let tape = Tape::new();
        let y = act.apply(tape.constant(xt.clone())).value();
        assert_close(y.as_slice(), &floats(&outputs[name]), 1e-6, 1e-5, name);
    }
    let rows = tensor(&outputs["softmax_input"], &[4, 5]);
    let tape = Tape::new();
    let y = Activation::Softmax.apply(tape.constant(rows)).value();
    assert_close(
        y.as_slice(),
        &floats(&outputs["softmax"]),
        1e-7,
        1e-5,
        "softmax",
    );

    let mut leaky = LeakyReLU::default();
    assert_close(
        run(&mut leaky, &xt, Mode::Eval).as_slice(),
        &floats(&outputs["layer_leaky_relu_default"]),
        1e-6,
        1e-6,
        "LeakyReLU()",
    );
    let mut elu = ELU::new(0.5);
    assert_close(
        run(&mut elu, &xt, Mode::Eval).as_slice(),
        &floats(&outputs["layer_elu_0.5"]),
        1e-6,
        1e-5,
        "ELU(0.5)",
    );
}

/// Keras's NaN must be NaN where the input is NaN and non-finite elsewhere (Keras's own NaN
/// there comes from `∞ − ∞` or `∞ · 0`, which Strata's clamped exponential may form as ±∞);
/// Keras's ±∞ must be the same infinity; finite values must be close.
#[track_caller]
fn assert_like_keras(got: &[f32], want: &[f32], input_is_nan: &[bool], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if input_is_nan[i] {
            g.is_nan()
        } else if w.is_nan() {
            !g.is_finite()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= 1e-6 + 1e-5 * w.abs()
        };
        assert!(ok, "{what}[{i}]: {g} vs Keras {w}");
    }
}

#[test]
fn non_finite_inputs_give_what_keras_gives() {
    let g = golden();
    let nf = &g["non_finite"];
    let x = floats_or_non_finite(&nf["x"]);
    let x_is_nan: Vec<bool> = x.iter().map(|v| v.is_nan()).collect();
    let xt = Tensor::from_vec(&[1, x.len()], x.clone()).unwrap();
    let outputs = nf["outputs"].as_object().unwrap();
    assert_eq!(
        outputs.len(),
        11,
        "every activation of the fixture is checked"
    );
    for (name, want) in outputs {
        let act: Activation = name.parse().unwrap();
        let tape = Tape::new();
        let y = act.apply(tape.constant(xt.clone())).value();
        assert_like_keras(y.as_slice(), &floats_or_non_finite(want), &x_is_nan, name);
    }
    // Rows: [NaN, 1, 2], [∞, 1, 2], [−∞, 1, 2], [1, 2, 3].
    let rows = floats_or_non_finite(&nf["softmax_input"]);
    let row_has_nan: Vec<bool> = rows
        .chunks(3)
        .flat_map(|r| [r.iter().any(|v| v.is_nan()); 3])
        .collect();
    let rt = Tensor::from_vec(&[4, 3], rows).unwrap();
    let tape = Tape::new();
    let z = tape.constant(rt);
    for (name, y) in [
        ("softmax", z.softmax().value()),
        ("log_softmax", z.log_softmax().value()),
    ] {
        assert_like_keras(
            y.as_slice(),
            &floats_or_non_finite(&nf[name]),
            &row_has_nan,
            name,
        );
    }
    let labels: Vec<usize> = nf["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let want = floats_or_non_finite(&nf["sparse_ce_from_logits_per_row"]);
    for (i, row) in floats_or_non_finite(&nf["softmax_input"])
        .chunks(3)
        .enumerate()
    {
        let tape = Tape::new();
        let z = tape.constant(Tensor::from_vec(&[1, 3], row.to_vec()).unwrap());
        let loss = z
            .sparse_softmax_cross_entropy(&labels[i..i + 1])
            .value()
            .item();
        assert_like_keras(
            &[loss],
            &want[i..i + 1],
            &[row.iter().any(|v| v.is_nan())],
            &format!("sparse cross-entropy from logits, row {i}"),
        );
    }
}

#[test]
fn unknown_activation_lists_the_valid_names() {
    let err = "relux".parse::<Activation>().unwrap_err().to_string();
    assert!(err.contains("unknown activation \"relux\""), "{err}");
    assert!(
        err.contains("relu") && err.contains("mish") && err.contains("softmax"),
        "{err}"
    );
}

#[test]
fn prelu_matches_keras_and_starts_at_zero() {
    let g = &golden()["prelu"];
    let x = tensor(&g["x"], &[3, 4]);
    let mut layer = PReLU::new();
    layer.build(&[4], &mut StdRng::seed_from_u64(0)).unwrap();
    assert_eq!(
        layer.weights()[0].as_slice(),
        &[0.0; 4],
        "Keras initializes alpha to zeros"
    );
    layer.set_weights(&[tensor(&g["alpha"], &[4])]).unwrap();
    assert_close(
        run(&mut layer, &x, Mode::Eval).as_slice(),
        &floats(&g["y"]),
        1e-7,
        1e-6,
        "PReLU",
    );
}

#[test]
fn initializer_statistics_match_keras() {
    let g = &golden()["initializers"]["stats"];
    let mut rng = StdRng::seed_from_u64(42);
    let cases: Vec<(&str, Initializer)> = vec![
        ("glorot_uniform", "glorot_uniform".parse().unwrap()),
        ("glorot_normal", "glorot_normal".parse().unwrap()),
        ("he_normal", "he_normal".parse().unwrap()),
        ("he_uniform", "he_uniform".parse().unwrap()),
        ("lecun_normal", "lecun_normal".parse().unwrap()),
        ("lecun_uniform", "lecun_uniform".parse().unwrap()),
        (
            "variance_scaling_2_fan_avg_uniform",
            Initializer::variance_scaling(2.0, "fan_avg", "uniform").unwrap(),
        ),
        ("random_normal", "random_normal".parse().unwrap()),
        ("random_uniform", "random_uniform".parse().unwrap()),
        ("truncated_normal", "truncated_normal".parse().unwrap()),
    ];
    for (name, init) in cases {
        let w = init.sample(&[784, 300], &mut rng);
        let n = w.len() as f64;
        let mean = w.as_slice().iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (w
            .as_slice()
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let max_abs = w.as_slice().iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
        let want_std = g[name]["std"].as_f64().unwrap();
        let want_max = g[name]["max_abs"].as_f64().unwrap();
        // 235,200 draws: the sample std is within 1% of the target; bounds within 2%.
        assert!(
            (std / want_std - 1.0).abs() < 0.01,
            "{name}: std {std} vs Keras {want_std}"
        );
        assert!(
            mean.abs() < 0.01 * want_std.max(0.01) * 10.0,
            "{name}: mean {mean}"
        );
        // Bounded draws (uniform, truncated normal) reach their bound; a plain normal's
        // extreme is itself random, so only its std is compared.
        if name != "random_normal" {
            assert!(
                (max_abs / want_max - 1.0).abs() < 0.02,
                "{name}: max |w| {max_abs} vs Keras {want_max}"
            );
        }
    }
}

#[test]
fn dense_matches_keras_reference() {
    let g = &golden()["dense"];
    let mut dense = Dense::new(3).activation(g["activation"].as_str().unwrap());
    dense.build(&[6], &mut StdRng::seed_from_u64(0)).unwrap();
    dense
        .set_weights(&[tensor(&g["kernel"], &[6, 3]), tensor(&g["bias"], &[3])])
        .unwrap();
    let y = run(&mut dense, &tensor(&g["x"], &[5, 6]), Mode::Eval);
    assert_close(y.as_slice(), &floats(&g["y"]), 1e-5, 1e-5, "Dense(selu)");
}

#[test]
fn batch_normalization_matches_keras_in_both_modes_and_updates_like_keras() {
    let g = &golden()["batch_normalization"];
    let x = tensor(&g["x"], &[8, 4]);
    let mut bn = BatchNormalization::new();
    bn.build(&[4], &mut StdRng::seed_from_u64(0)).unwrap();
    let names: Vec<&str> = bn.variables().iter().map(|p| p.name()).collect();
    let keras_names: Vec<&str> = g["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, keras_names);
    let flags: Vec<bool> = bn.variables().iter().map(|p| p.trainable).collect();
    assert_eq!(flags, [true, true, false, false]);
    bn.set_weights(&[
        tensor(&g["gamma"], &[4]),
        tensor(&g["beta"], &[4]),
        tensor(&g["moving_mean"], &[4]),
        tensor(&g["moving_variance"], &[4]),
    ])
    .unwrap();
    assert_close(
        run(&mut bn, &x, Mode::Eval).as_slice(),
        &floats(&g["y_inference"]),
        1e-5,
        1e-5,
        "BN inference",
    );
    assert_close(
        run(&mut bn, &x, Mode::Train).as_slice(),
        &floats(&g["y_training"]),
        1e-5,
        1e-5,
        "BN training",
    );
    assert_close(
        bn.moving_mean().unwrap().as_slice(),
        &floats(&g["moving_mean_after"]),
        1e-6,
        1e-5,
        "moving_mean",
    );
    assert_close(
        bn.moving_variance().unwrap().as_slice(),
        &floats(&g["moving_variance_after"]),
        1e-6,
        1e-5,
        "moving_variance (biased)",
    );
    assert_close(
        run(&mut bn, &x, Mode::Eval).as_slice(),
        &floats(&g["y_inference_after"]),
        1e-5,
        1e-5,
        "BN inference after",
    );
    bn.set_trainable(false);
    let before = bn.weights();
    assert_close(
        run(&mut bn, &x, Mode::Train).as_slice(),
        &floats(&g["y_frozen_training"]),
        1e-5,
        1e-5,
        "frozen BN in training",
    );
    assert_eq!(
        bn.weights(),
        before,
        "a frozen BN must not update its moving statistics"
    );
}

#[test]
fn alpha_dropout_keeps_selu_statistics_like_keras() {
    let g = &golden()["alpha_dropout"];
    let n = 200_000;
    let mut rng = StdRng::seed_from_u64(5);
    let x = Initializer::RandomNormal {
        mean: 0.0,
        stddev: 1.0,
    }
    .sample(&[1, n], &mut rng);
    let mut layer = AlphaDropout::new(0.2, 9);
    let y = run(&mut layer, &x, Mode::Train);
    let mean = y.as_slice().iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let std = (y
        .as_slice()
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n as f64)
        .sqrt();
    let (km, ks) = (g["mean"].as_f64().unwrap(), g["std"].as_f64().unwrap());
    assert!((mean - km).abs() < 0.01, "mean {mean} vs Keras {km}");
    assert!((std - ks).abs() < 0.01, "std {std} vs Keras {ks}");
    assert_eq!(
        run(&mut layer, &x, Mode::Eval),
        x,
        "inference is the identity"
    );
}

#[test]
fn penalties_match_keras() {
    let g = &golden()["regularizers"];
    let w = tensor(&g["w"], &[4, 3]);
    let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-6 + 1e-5 * b.abs();
    assert!(close(
        Regularizer::L1(0.01).value(&w),
        g["l1_0.01"].as_f64().unwrap()
    ));
    assert!(close(
        Regularizer::L2(0.01).value(&w),
        g["l2_0.01"].as_f64().unwrap()
    ));
    assert!(close(
        Regularizer::L1L2 { l1: 0.01, l2: 0.02 }.value(&w),
        g["l1_l2_0.01_0.02"].as_f64().unwrap()
    ));
    let tape = Tape::new();
    let p = Regularizer::L2(0.01)
        .penalty(tape.constant(w.clone()))
        .value()
        .item();
    assert!(close(p, g["l2_0.01"].as_f64().unwrap()));
}

#[test]
fn constraints_match_keras() {
    let g = &golden()["constraints"];
    let w = tensor(&g["w"], &[4, 3]);
    for (c, key) in [
        (
            Constraint::MaxNorm {
                max_value: 1.0,
                axis: 0,
            },
            "max_norm_1_axis0",
        ),
        (
            Constraint::MaxNorm {
                max_value: 1.0,
                axis: 1,
            },
            "max_norm_1_axis1",
        ),
        (Constraint::NonNeg, "non_neg"),
        (Constraint::UnitNorm { axis: 0 }, "unit_norm_axis0"),
    ] {
        let mut v = w.clone();
        c.apply(&mut v);
        assert_close(v.as_slice(), &floats(&g[key]), 1e-6, 1e-5, key);
    }
}
