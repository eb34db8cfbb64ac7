//! One finite-difference gradient check per differentiable op (criteria in `check.rs`).

// `&[x.clone()]` reads better than `std::slice::from_ref(&x)` in a table of checks.
#![allow(clippy::cloned_ref_to_slice_refs)]

use rand::{Rng, SeedableRng, rngs::StdRng};
use strata_autograd::{InputGrads, Tape, Tolerance, Var, check_gradients};
use strata_tensor::{Tensor, Unary};

/// Random values in `±scale`, pushed at least `gap` away from zero (off the kinks of ReLU-like
/// functions, and of `abs`).
fn away_from_zero(shape: &[usize], seed: u64, scale: f32, gap: f32) -> Tensor {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::from_fn(shape, |_| {
        let v: f32 = rng.random_range(gap..scale);
        if rng.random_bool(0.5) { v } else { -v }
    })
}

fn positive(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::from_fn(shape, |_| rng.random_range(0.5..2.0))
}

#[track_caller]
fn check<F>(name: &str, f: F, inputs: &[Tensor])
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Var<'t>,
{
    if let Err(e) = check_gradients(f, inputs, Tolerance::default()) {
        panic!("{name}: {e}");
    }
}

#[test]
fn grad_elementwise_arithmetic() {
    let a = away_from_zero(&[3, 4], 1, 2.0, 0.1);
    let b = away_from_zero(&[3, 4], 2, 2.0, 0.5);
    check("add", |_, x| x[0] + x[1], &[a.clone(), b.clone()]);
    check("sub", |_, x| x[0] - x[1], &[a.clone(), b.clone()]);
    check("mul", |_, x| x[0] * x[1], &[a.clone(), b.clone()]);
    check("div", |_, x| x[0] / x[1], &[a.clone(), b.clone()]);
    check("scale", |_, x| x[0].scale(-1.7), &[a.clone()]);
    check("add_scalar", |_, x| x[0].add_scalar(0.3), &[a.clone()]);
    check("square", |_, x| x[0].square(), &[a.clone()]);
    check("abs", |_, x| x[0].abs(), &[a.clone()]);
    let mask = Tensor::from_fn(&[3, 4], |i| if i % 3 == 0 { 0.0 } else { 1.25 });
    check(
        "mul_const (dropout with a given mask)",
        move |_, x| x[0].mul_const(&mask),
        &[a.clone()],
    );
    let shift = positive(&[3, 4], 3);
    check("add_const", move |_, x| x[0].add_const(&shift), &[a]);
}

#[test]
fn grad_matmul_and_bias() {
    let a = away_from_zero(&[3, 5], 4, 1.0, 0.0);
    let w = away_from_zero(&[5, 2], 5, 1.0, 0.0);
    let b = away_from_zero(&[2], 6, 1.0, 0.0);
    check("matmul", |_, x| x[0].matmul(x[1]), &[a.clone(), w.clone()]);
    check(
        "add_row",
        |_, x| x[0].add_row(x[1]),
        &[a.clone(), away_from_zero(&[5], 7, 1.0, 0.0)],
    );
    check(
        "dense",
        |_, x| x[0].matmul(x[1]).add_row(x[2]).relu(),
        &[a.clone(), w.clone(), b.clone()],
    );
    for f in [None, Some(Unary::Relu), Some(Unary::Tanh)] {
        check(
            &format!("fused dense {f:?}"),
            move |_, x| x[0].dense(x[1], Some(x[2]), f),
            &[a.clone(), w.clone(), b.clone()],
        );
    }
    check(
        "fused dense without bias",
        |_, x| x[0].dense(x[1], None, Some(Unary::Silu)),
        &[a.clone(), w.clone()],
    );
    // Without any gradient the fused sweep runs; it gives the same bits as the recorded ops.
    let tape = strata_autograd::Tape::no_grad();
    let fused = tape
        .constant(a.clone())
        .dense(
            tape.constant(w.clone()),
            Some(tape.constant(b.clone())),
            Some(Unary::Gelu),
        )
        .value();
    let tape = strata_autograd::Tape::new();
    let recorded = tape
        .variable(a)
        .dense(tape.constant(w), Some(tape.constant(b)), Some(Unary::Gelu))
        .value();
    assert_eq!(fused.as_slice(), recorded.as_slice());
}

#[test]
fn grad_every_activation() {
    let x = away_from_zero(&[4, 5], 8, 3.0, 0.1);
    for f in Unary::ALL {
        check(&format!("{f:?}"), move |_, v| v[0].unary(f), &[x.clone()]);
    }
    check("softmax", |_, v| v[0].softmax(), &[x.clone()]);
    check("log_softmax", |_, v| v[0].log_softmax(), &[x.clone()]);
    let alpha = away_from_zero(&[5], 9, 0.5, 0.0);
    check("prelu", |_, v| v[0].prelu(v[1]), &[x, alpha]);
}

#[test]
fn grad_reductions_and_shapes() {
    let x = away_from_zero(&[2, 3, 4], 10, 2.0, 0.0);
    check("sum", |_, v| v[0].sum(), &[x.clone()]);
    check("mean", |_, v| v[0].mean(), &[x.clone()]);
    check("flatten", |_, v| v[0].flatten().square(), &[x.clone()]);
    check(
        "reshape",
        |_, v| v[0].reshape(&[4, 6]).unwrap().square(),
        &[x],
    );
}

#[test]
fn grad_losses() {
    let logits = away_from_zero(&[4, 3], 11, 2.0, 0.0);
    let labels = [0usize, 2, 1, 2];
    check(
        "sparse_softmax_cross_entropy",
        move |_, v| v[0].sparse_softmax_cross_entropy(&labels),
        &[logits.clone()],
    );
    let targets = Tensor::from_vec(
        &[4, 3],
        vec![1.0, 0.0, 0.0, 0.2, 0.3, 0.5, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    )
    .unwrap();
    let t = targets.clone();
    check(
        "softmax_cross_entropy",
        move |_, v| v[0].softmax_cross_entropy(&t),
        &[logits.clone()],
    );
    // From probabilities: differentiate through softmax so inputs stay valid distributions.
    check(
        "sparse_categorical_crossentropy_from_probs",
        move |_, v| {
            v[0].softmax()
                .sparse_categorical_crossentropy_from_probs(&labels)
        },
        &[logits.clone()],
    );
    let t = targets.clone();
    check(
        "categorical_crossentropy_from_probs",
        move |_, v| v[0].softmax().categorical_crossentropy_from_probs(&t),
        &[logits.clone()],
    );
    let probs = positive(&[4, 3], 12);
    let t = targets.clone();
    check(
        "categorical_crossentropy_from_unnormalized_probs",
        move |_, v| v[0].categorical_crossentropy_from_probs(&t),
        &[probs],
    );
    let bin = Tensor::from_vec(&[6, 1], vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.3]).unwrap();
    let z = away_from_zero(&[6, 1], 13, 3.0, 0.0);
    let t = bin.clone();
    check(
        "sigmoid_binary_cross_entropy",
        move |_, v| v[0].sigmoid_binary_cross_entropy(&t),
        &[z.clone()],
    );
    let t = bin.clone();
    check(
        "binary_crossentropy_from_probs",
        move |_, v| v[0].sigmoid().binary_crossentropy_from_probs(&t),
        &[z.clone()],
    );
    check(
        "mean_squared_error",
        move |_, v| v[0].mean_squared_error(&bin),
        &[z],
    );
}

#[test]
fn grad_batch_normalization() {
    let x = away_from_zero(&[5, 3], 14, 2.0, 0.0);
    let gamma = positive(&[3], 15);
    let beta = away_from_zero(&[3], 16, 1.0, 0.0);
    check(
        "batch_norm (training)",
        |_, v| v[0].batch_norm(v[1], v[2], 1e-3).0,
        &[x.clone(), gamma.clone(), beta.clone()],
    );
    let mean = away_from_zero(&[3], 17, 0.5, 0.0);
    let var = positive(&[3], 18);
    check(
        "batch_norm_inference",
        move |_, v| v[0].batch_norm_inference(v[1], v[2], &mean, &var, 1e-3),
        &[x, gamma, beta],
    );
}

#[test]
fn grad_whole_tiny_model() {
    // 6 → 5 (dense) → BN → ReLU → dropout (fixed mask) → 3 (dense) → softmax cross-entropy.
    let x = away_from_zero(&[4, 6], 20, 1.0, 0.0);
    let w1 = away_from_zero(&[6, 5], 21, 0.8, 0.0);
    let w2 = away_from_zero(&[5, 3], 22, 0.8, 0.0);
    let gamma = positive(&[5], 23);
    let beta = away_from_zero(&[5], 24, 0.5, 0.0);
    let mask = Tensor::from_fn(&[4, 5], |i| if i % 4 == 1 { 0.0 } else { 1.25 });
    let labels = [2usize, 0, 1, 1];
    check(
        "tiny model",
        move |_, v| {
            let (h, _) = v[0].matmul(v[1]).batch_norm(v[3], v[4], 1e-3);
            h.relu()
                .mul_const(&mask)
                .matmul(v[2])
                .sparse_softmax_cross_entropy(&labels)
        },
        &[x, w1, w2, gamma, beta],
    );
}

#[test]
fn a_broken_rule_is_caught() {
    use strata_autograd::Backward;
    struct WrongSquare;
    impl Backward for WrongSquare {
        // Deliberately ignores the upstream gradient.
        fn backward(&self, _: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
            [Some(x[0].scale(2.0))].into()
        }
    }
    let x = away_from_zero(&[3], 30, 1.0, 0.1);
    let result = check_gradients(
        |_, v| {
            let y = v[0].value().map(|a| a * a);
            v[0].record_unary(WrongSquare, y)
        },
        &[x],
        Tolerance::default(),
    );
    assert!(
        result.is_err(),
        "the checker must reject a rule that ignores its upstream gradient"
    );
}
