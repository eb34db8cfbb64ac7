//! Every layer passes the shared conformance check (`strata_layers::testing::check_layer`).

use rand::{Rng, SeedableRng, rngs::StdRng};
use strata_layers::testing::{Expectation, check_layer};
use strata_layers::*;
use strata_tensor::Tensor;

/// Inputs away from zero, where ReLU-like kinks would spoil finite differences.
fn input(shape: &[usize]) -> Tensor {
    let mut rng = StdRng::seed_from_u64(3);
    Tensor::from_fn(shape, |_| {
        let v: f32 = rng.random_range(0.15..1.5);
        if rng.random_bool(0.5) { v } else { -v }
    })
}

fn expect(variables: usize, trainable_variables: usize, params: usize) -> Expectation {
    Expectation {
        variables,
        trainable_variables,
        params,
        deterministic_training: true,
    }
}

#[test]
fn dense_conforms() {
    check_layer(
        Dense::new(3).activation("tanh").kernel_regularizer("l2"),
        &input(&[4, 5]),
        expect(2, 2, 18),
    );
    check_layer(
        Dense::new(3).use_bias(false).activation("gelu"),
        &input(&[4, 5]),
        expect(1, 1, 15),
    );
}

#[test]
fn batch_normalization_conforms() {
    check_layer(BatchNormalization::new(), &input(&[6, 3]), expect(4, 2, 12));
    check_layer(
        BatchNormalization::new().center(false).scale(false),
        &input(&[6, 3]),
        expect(2, 0, 6),
    );
}

#[test]
fn dropout_family_conforms() {
    let random = Expectation {
        deterministic_training: false,
        ..expect(0, 0, 0)
    };
    check_layer(Dropout::new(0.3, 1), &input(&[4, 6]), random.clone());
    check_layer(AlphaDropout::new(0.3, 1), &input(&[4, 6]), random);
}

#[test]
fn activation_layers_conform() {
    for name in [
        "relu",
        "elu",
        "selu",
        "gelu",
        "silu",
        "mish",
        "sigmoid",
        "tanh",
        "softmax",
        "softplus",
        "linear",
        "leaky_relu",
    ] {
        check_layer(
            name.parse::<Activation>().unwrap(),
            &input(&[3, 4]),
            expect(0, 0, 0),
        );
    }
    check_layer(ReLU::new(), &input(&[3, 4]), expect(0, 0, 0));
    check_layer(LeakyReLU::new(0.2), &input(&[3, 4]), expect(0, 0, 0));
    check_layer(ELU::new(0.7), &input(&[3, 4]), expect(0, 0, 0));
    check_layer(
        PReLU::new().alpha_initializer(Initializer::Constant(0.25)),
        &input(&[3, 4]),
        expect(1, 1, 4),
    );
    check_layer(Flatten::new(), &input(&[2, 3, 4]), expect(0, 0, 0));
}

#[test]
fn any_layer_conforms_through_the_enum() {
    check_layer(
        AnyLayer::from(Dense::new(2).activation("relu")),
        &input(&[3, 4]),
        expect(2, 2, 10),
    );
    check_layer(
        AnyLayer::from(BatchNormalization::new()),
        &input(&[5, 2]),
        expect(4, 2, 8),
    );
}

#[test]
fn set_weights_mismatch_names_the_layer_and_shapes_and_changes_nothing() {
    let mut dense = Dense::new(3);
    dense.build(&[2], &mut StdRng::seed_from_u64(1)).unwrap();
    let before = dense.weights();
    let err = dense
        .set_weights(&[Tensor::zeros(&[2, 3]), Tensor::zeros(&[4])])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dense: set_weights expected bias of shape [3], found shape [4]; the layer is unchanged"
    );
    assert_eq!(dense.weights(), before);
    let err = dense.set_weights(&[Tensor::zeros(&[2, 3])]).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected 2 weight tensors, found 1 weight tensors"),
        "{err}"
    );
    assert_eq!(dense.weights(), before);
}

#[test]
fn shape_errors_name_the_layer_and_both_shapes() {
    let mut rng = StdRng::seed_from_u64(0);
    let err = Dense::new(3)
        .build(&[28, 28], &mut rng)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Dense") && err.contains("(None, 28, 28)") && err.contains("Flatten"),
        "{err}"
    );
    let mut built = Dense::new(3);
    built.build(&[5], &mut rng).unwrap();
    let err = built.output_shape(&[4]).unwrap_err().to_string();
    assert!(
        err.contains("5 features") && err.contains("4 features"),
        "{err}"
    );
    assert!(Dropout::new(1.5, 0).build(&[3], &mut rng).is_err());
    assert!(
        Dense::new(2)
            .kernel_initializer("he_normale")
            .build(&[3], &mut rng)
            .unwrap_err()
            .to_string()
            .contains("he_normal")
    );
}

#[test]
fn max_norm_is_applied_by_apply_constraints() {
    let mut dense = Dense::new(2).kernel_constraint(Constraint::MaxNorm {
        max_value: 1.0,
        axis: 0,
    });
    dense.build(&[3], &mut StdRng::seed_from_u64(0)).unwrap();
    dense
        .set_weights(&[Tensor::full(&[3, 2], 5.0), Tensor::zeros(&[2])])
        .unwrap();
    dense.apply_constraints();
    let k = &dense.weights()[0];
    for col in 0..2 {
        let norm: f32 = (0..3)
            .map(|r| k.as_slice()[r * 2 + col].powi(2))
            .sum::<f32>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "column norm {norm}");
    }
}

#[test]
fn regularization_only_counts_trainable_weights() {
    let mut dense = Dense::new(2).kernel_regularizer(Regularizer::L2(0.5));
    dense.build(&[2], &mut StdRng::seed_from_u64(0)).unwrap();
    dense
        .set_weights(&[Tensor::ones(&[2, 2]), Tensor::zeros(&[2])])
        .unwrap();
    let tape = strata_autograd::Tape::new();
    assert_eq!(dense.regularization(&tape).unwrap().value().item(), 2.0);
    dense.set_trainable(false);
    assert!(dense.regularization(&tape).is_none());
}

#[test]
fn mc_dropout_samples_vary_and_leave_batch_norm_statistics_alone() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut bn = BatchNormalization::new();
    bn.build(&[4], &mut rng).unwrap();
    let mut drop = Dropout::new(0.5, 3);
    let x = input(&[8, 4]);
    let before = bn.weights();
    let sample = |bn: &mut BatchNormalization, drop: &mut Dropout| {
        let tape = strata_autograd::Tape::new();
        let h = bn.forward(tape.constant(x.clone()), Mode::Sample);
        drop.forward(h, Mode::Sample).value()
    };
    let a = sample(&mut bn, &mut drop);
    let b = sample(&mut bn, &mut drop);
    assert_ne!(a, b, "MC dropout samples should differ");
    assert_eq!(
        bn.weights(),
        before,
        "sampling must not touch BN statistics"
    );
}

/// Builds `layer` for `input` features and returns the error's text (the layer must refuse).
fn refused(mut layer: impl Layer, input: &[usize]) -> String {
    let mut rng = StdRng::seed_from_u64(1);
    match layer.build(input, &mut rng) {
        Ok(_) => panic!("{} accepted an invalid configuration", layer.class_name()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn configurations_no_builder_should_accept_are_refused_when_the_layer_is_built() {
    // The checks run when a layer is built or loaded, so a file is held to the same rules.
    let nan = f32::NAN;
    let cases = [
        (
            refused(Dense::new(2).kernel_regularizer(Regularizer::L2(nan)), &[3]),
            "kernel_regularizer",
        ),
        (
            refused(Dense::new(2).bias_regularizer(Regularizer::L1(-0.5)), &[3]),
            "bias_regularizer",
        ),
        (
            refused(
                Dense::new(2).kernel_constraint(Constraint::MaxNorm {
                    max_value: f32::INFINITY,
                    axis: 0,
                }),
                &[3],
            ),
            "kernel_constraint",
        ),
        (
            refused(
                Dense::new(2).kernel_constraint(Constraint::UnitNorm { axis: 2 }),
                &[3],
            ),
            "axis 2 is out of range",
        ),
        (
            refused(
                Dense::new(2).bias_constraint(Constraint::MaxNorm {
                    max_value: 1.0,
                    axis: 1,
                }),
                &[3],
            ),
            "bias_constraint",
        ),
        (
            refused(
                Dense::new(2).kernel_initializer(Initializer::RandomNormal {
                    mean: 0.0,
                    stddev: -1.0,
                }),
                &[3],
            ),
            "kernel_initializer",
        ),
        (
            refused(
                Dense::new(2).kernel_initializer(Initializer::VarianceScaling {
                    scale: nan,
                    mode: FanMode::FanIn,
                    distribution: Distribution::Uniform,
                }),
                &[3],
            ),
            "kernel_initializer",
        ),
        (
            refused(
                Dense::new(2).activation(Activation::Elu {
                    alpha: f32::INFINITY,
                }),
                &[3],
            ),
            "activation",
        ),
        (
            refused(BatchNormalization::new().epsilon(nan), &[3]),
            "epsilon",
        ),
        (
            refused(BatchNormalization::new().epsilon(f32::INFINITY), &[3]),
            "epsilon",
        ),
        (refused(LeakyReLU::new(-0.1), &[3]), "negative_slope"),
        (refused(LeakyReLU::new(nan), &[3]), "negative_slope"),
        (refused(ELU::new(nan), &[3]), "alpha"),
        (refused(Dropout::new(nan, 1), &[3]), "rate"),
    ];
    for (message, expected) in cases {
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}
