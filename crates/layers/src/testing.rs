//! The layer conformance check (Keras's `run_layer_test`, sized for us). Behind the `testing`
//! feature.

use crate::{Layer, Mode};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Serialize, de::DeserializeOwned};
use strata_autograd::Tape;
use strata_tensor::Tensor;

/// What [`check_layer`] expects of a layer.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// Number of variables.
    pub variables: usize,
    /// Number of trainable variables when unfrozen.
    pub trainable_variables: usize,
    /// Number of scalars in all variables.
    pub params: usize,
    /// Whether `Mode::Train` is deterministic for a given layer state (false for dropout).
    pub deterministic_training: bool,
}

/// Runs the conformance checks on `layer` (unbuilt) for `input` (`[batch, ...features]`):
///
/// 1. build gives the declared output shape, and forward produces it;
/// 2. variable and parameter counts, trainable and frozen;
/// 3. finite-difference gradients, in training mode, with respect to the input and every
///    trainable variable (the layer is cloned before each evaluation, so dropout masks and
///    moving statistics are the same in every one);
/// 4. inference is deterministic and leaves the layer unchanged;
/// 5. serde (MessagePack) round-trips to a layer with an identical output;
/// 6. once frozen, no variable gets a gradient.
///
/// # Panics
/// With a message naming the failed check.
pub fn check_layer<L>(mut layer: L, input: &Tensor, expect: Expectation)
where
    L: Layer + Clone + Serialize + DeserializeOwned,
{
    let name = layer.class_name();
    let mut rng = StdRng::seed_from_u64(7);
    let features = &input.shape()[1..];
    let out_shape = layer
        .build(features, &mut rng)
        .unwrap_or_else(|e| panic!("{name}: build failed: {e}"));
    assert_eq!(
        layer.output_shape(features).unwrap(),
        out_shape,
        "{name}: output_shape after build"
    );

    // 1. Shapes.
    let tape = Tape::new();
    let y = layer
        .clone()
        .forward(tape.constant(input.clone()), Mode::Train)
        .value();
    assert_eq!(
        &y.shape()[1..],
        out_shape.as_slice(),
        "{name}: forward output shape"
    );
    assert_eq!(y.shape()[0], input.shape()[0], "{name}: batch axis");

    // 2. Counts.
    assert_eq!(
        layer.variables().len(),
        expect.variables,
        "{name}: variable count"
    );
    assert_eq!(
        layer.variables().iter().filter(|p| p.trainable).count(),
        expect.trainable_variables,
        "{name}: trainable variables"
    );
    assert_eq!(
        layer.count_params(),
        expect.params,
        "{name}: parameter count"
    );
    let mut frozen = layer.clone();
    frozen.set_trainable(false);
    assert_eq!(
        frozen.count_trainable_params(),
        0,
        "{name}: a frozen layer has no trainable parameters"
    );
    assert_eq!(
        frozen.count_params(),
        expect.params,
        "{name}: freezing keeps the parameters"
    );
    frozen.set_trainable(true);
    assert_eq!(
        frozen.variables().iter().filter(|p| p.trainable).count(),
        expect.trainable_variables,
        "{name}: unfreezing restores trainability"
    );

    // 3. Gradients.
    let upstream = {
        let mut r = StdRng::seed_from_u64(11);
        Tensor::from_fn(y.shape(), |_| r.random_range(-1.0..1.0))
    };
    let loss_of = |layer: &L, x: &Tensor| -> f64 {
        let tape = Tape::new();
        let y = layer
            .clone()
            .forward(tape.constant(x.clone()), Mode::Train)
            .value();
        y.as_slice()
            .iter()
            .zip(upstream.as_slice())
            .map(|(&a, &b)| a as f64 * b as f64)
            .sum()
    };
    let tape = Tape::new();
    let xv = tape.variable(input.clone());
    let mut probe = layer.clone();
    let out = probe.forward(xv, Mode::Train);
    let grads = tape.backward(out.mul_const(&upstream).sum());
    let step = 1e-2f32;
    let close = |a: f32, n: f32| (a - n).abs() <= 2e-3 + 2e-2 * n.abs();
    let dx = grads
        .wrt(xv)
        .cloned()
        .unwrap_or_else(|| Tensor::zeros(input.shape()));
    for j in 0..input.len() {
        let mut plus = input.clone();
        plus.as_mut_slice()[j] += step;
        let mut minus = input.clone();
        minus.as_mut_slice()[j] -= step;
        let numeric =
            ((loss_of(&layer, &plus) - loss_of(&layer, &minus)) / (2.0 * step as f64)) as f32;
        assert!(
            close(dx.as_slice()[j], numeric),
            "{name}: d/dx[{j}] analytic {} vs numeric {numeric}",
            dx.as_slice()[j]
        );
    }
    let trainable: Vec<usize> = layer
        .variables()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.trainable)
        .map(|(i, _)| i)
        .collect();
    for &v in &trainable {
        // The probe is a clone, so its parameters (fresh ids) are the ones with gradients.
        let param = probe.variables()[v];
        let analytic = grads
            .get(param)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: no gradient for {}", param.name()));
        for j in 0..param.value.len() {
            let perturbed = |delta: f32| {
                let mut l = layer.clone();
                l.variables_mut()[v].value.as_mut_slice()[j] += delta;
                loss_of(&l, input)
            };
            let numeric = ((perturbed(step) - perturbed(-step)) / (2.0 * step as f64)) as f32;
            assert!(
                close(analytic.as_slice()[j], numeric),
                "{name}: d/d{}[{j}] analytic {} vs numeric {numeric}",
                param.name(),
                analytic.as_slice()[j]
            );
        }
    }

    // 4. Inference determinism (and no state change).
    let before = layer.weights();
    let eval = |l: &mut L| {
        let tape = Tape::new();
        l.forward(tape.constant(input.clone()), Mode::Eval).value()
    };
    let a = eval(&mut layer);
    let b = eval(&mut layer);
    assert_eq!(a, b, "{name}: inference is not deterministic");
    assert_eq!(
        layer.weights(),
        before,
        "{name}: inference changed the layer's variables"
    );
    if expect.deterministic_training {
        let t1 = Tape::new();
        let t2 = Tape::new();
        let y1 = layer
            .clone()
            .forward(t1.constant(input.clone()), Mode::Train)
            .value();
        let y2 = layer
            .clone()
            .forward(t2.constant(input.clone()), Mode::Train)
            .value();
        assert_eq!(
            y1, y2,
            "{name}: training forward of identical layers differs"
        );
    }

    // 5. Serde round trip.
    let bytes = rmp_serde_roundtrip(&layer);
    let mut restored: L = bytes;
    assert_eq!(
        eval(&mut restored),
        a,
        "{name}: a deserialized layer computes differently"
    );
    assert_eq!(
        restored.weights(),
        layer.weights(),
        "{name}: deserialized weights differ"
    );

    // 6. Frozen layers get no gradients.
    let mut frozen = layer.clone();
    frozen.set_trainable(false);
    let tape = Tape::new();
    let out = frozen.forward(tape.variable(input.clone()), Mode::Train);
    let grads = tape.backward(out.sum());
    for p in frozen.variables() {
        assert!(
            grads.get(p).is_none(),
            "{name}: frozen variable {} got a gradient",
            p.name()
        );
    }
}

/// Serializes to MessagePack (the format models are saved in) and back.
fn rmp_serde_roundtrip<L: Serialize + DeserializeOwned>(layer: &L) -> L {
    let bytes = rmp_serde::to_vec_named(layer).expect("serialize");
    rmp_serde::from_slice(&bytes).expect("deserialize")
}
