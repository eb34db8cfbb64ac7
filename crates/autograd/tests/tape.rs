//! Structural tests of the tape (RELIABILITY.md T2).

use strata_autograd::{InputGrads, Param, Tape};
use strata_tensor::Tensor;

#[test]
fn tape_fan_out_accumulates_gradients() {
    // y = x·x + x, so dy/dx = 2x + 1.
    let tape = Tape::new();
    let x = tape.variable(Tensor::from_vec(&[3], vec![1.0, -2.0, 0.5]).unwrap());
    let y = (x * x + x).sum();
    let grads = tape.backward(y);
    assert_eq!(grads.wrt(x).unwrap().as_slice(), &[3.0, -3.0, 2.0]);
}

#[test]
fn tape_param_used_twice_gets_the_summed_gradient() {
    let w = Param::new("w", Tensor::from_vec(&[2], vec![3.0, 4.0]).unwrap());
    let tape = Tape::new();
    let a = tape.param(&w);
    let b = tape.param(&w);
    let loss = (a * b).sum();
    let grads = tape.backward(loss);
    assert_eq!(grads.get(&w).unwrap().as_slice(), &[6.0, 8.0]);
}

#[test]
fn tape_frozen_params_and_constants_get_no_gradient_and_record_no_rule() {
    let mut frozen = Param::new("kernel", Tensor::ones(&[3, 2]));
    frozen.trainable = false;
    let tape = Tape::new();
    let x = tape.constant(Tensor::ones(&[4, 3]));
    let y = x.matmul(tape.param(&frozen)).relu().sum();
    assert!(!y.requires_grad(), "nothing on the path needs a gradient");
    let grads = tape.backward(y);
    assert!(grads.is_empty());
    assert!(grads.get(&frozen).is_none());
}

#[test]
fn tape_input_gradient_is_not_computed_for_constants() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use strata_autograd::Backward;
    static ASKED_FOR_INPUT: AtomicBool = AtomicBool::new(false);
    struct Probe;
    impl Backward for Probe {
        fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
            ASKED_FOR_INPUT.store(needs[0], Ordering::SeqCst);
            [needs[0].then(|| g.clone()), needs[1].then(|| g.clone())].into()
        }
    }
    let w = Param::new("w", Tensor::ones(&[2]));
    let tape = Tape::new();
    let x = tape.constant(Tensor::ones(&[2]));
    let wv = tape.param(&w);
    let y = tape.record(Probe, &[x, wv], Tensor::ones(&[2])).sum();
    let grads = tape.backward(y);
    assert!(
        !ASKED_FOR_INPUT.load(Ordering::SeqCst),
        "the rule was told the constant input needs a gradient"
    );
    assert_eq!(grads.get(&w).unwrap().as_slice(), &[1.0, 1.0]);
}

#[test]
fn tape_clear_empties_it() {
    let mut tape = Tape::new();
    {
        let x = tape.variable(Tensor::ones(&[2]));
        let _ = x.square().sum();
    }
    assert_eq!(tape.len(), 3);
    tape.clear();
    assert!(tape.is_empty());
}

#[test]
fn tape_cloned_param_has_a_fresh_identity() {
    let w = Param::new("kernel", Tensor::ones(&[2]));
    let c = w.clone();
    assert_ne!(w.id(), c.id());
    assert_eq!(w.value, c.value);
    let tape = Tape::new();
    let loss = tape.param(&c).sum();
    let grads = tape.backward(loss);
    assert!(grads.get(&w).is_none());
    assert!(grads.get(&c).is_some());
}

#[test]
#[should_panic(expected = "backward: the loss must be a scalar")]
fn tape_backward_from_a_non_scalar_panics() {
    let tape = Tape::new();
    let x = tape.variable(Tensor::ones(&[2]));
    let _ = tape.backward(x.square());
}

/// A product's weight gradient stays in factors until read; reading it gives the same bits as
/// forming it in the rule, and a second contribution to the same parameter forms it.
#[test]
fn tape_weight_gradients_stay_products_until_read() {
    let x = Tensor::from_fn(&[5, 4], |i| (i % 7) as f32 * 0.3 - 1.0);
    let dy_mask = Tensor::from_fn(&[5, 3], |i| (i % 5) as f32 * 0.2 - 0.4);
    let w = Param::new("kernel", Tensor::from_fn(&[4, 3], |i| i as f32 * 0.1 - 0.5));
    let expected = x.matmul_tn(&dy_mask);

    let tape = Tape::new();
    let y = tape.constant(x.clone()).matmul(tape.param(&w));
    let grads = tape.backward(y.mul_const(&dy_mask).sum());
    let product = grads
        .product(&w)
        .expect("the kernel's gradient is left as Xᵀ·dY");
    assert_eq!(product.shape(), [4, 3]);
    let formed = grads.get(&w).unwrap();
    assert_eq!(formed.as_slice(), expected.as_slice(), "bit for bit");
    assert!(grads.product(&w).is_none(), "formed once read");

    // The same parameter also under a penalty: one formed, summed gradient.
    let tape = Tape::new();
    let y = tape.constant(x.clone()).matmul(tape.param(&w));
    let loss = y.mul_const(&dy_mask).sum() + tape.param(&w).square().sum();
    let grads = tape.backward(loss);
    assert!(grads.product(&w).is_none());
    let g = grads.get(&w).unwrap();
    for ((g, e), w) in g
        .as_slice()
        .iter()
        .zip(expected.as_slice())
        .zip(w.value.as_slice())
    {
        assert!((g - (e + 2.0 * w)).abs() < 1e-6, "{g} vs {}", e + 2.0 * w);
    }

    // Added straight into a target: target += s·Xᵀ·dY.
    let tape = Tape::new();
    let y = tape.constant(x.clone()).matmul(tape.param(&w));
    let grads = tape.backward(y.mul_const(&dy_mask).sum());
    let mut target = w.value.clone();
    grads.product(&w).unwrap().add_scaled_to(-0.5, &mut target);
    for ((t, e), w) in target
        .as_slice()
        .iter()
        .zip(expected.as_slice())
        .zip(w.value.as_slice())
    {
        assert!((t - (w - 0.5 * e)).abs() < 1e-6);
    }
}
