//! Structural tests of the tape (RELIABILITY.md T2).

use strata_autograd::{Param, Tape};
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
        fn backward(
            &self,
            g: &Tensor,
            _: &[&Tensor],
            _: &Tensor,
            needs: &[bool],
        ) -> Vec<Option<Tensor>> {
            ASKED_FOR_INPUT.store(needs[0], Ordering::SeqCst);
            vec![needs[0].then(|| g.clone()), needs[1].then(|| g.clone())]
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
