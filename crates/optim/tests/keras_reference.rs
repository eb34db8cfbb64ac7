//! Keras fidelity of every optimizer and schedule. Reference: tests/golden/optim.json, written
//! by tools/golden/optim.py (Keras 3 on TensorFlow; versions recorded in the file).

use serde_json::Value;
use strata_autograd::{Gradients, Param, Tape};
use strata_optim::*;
use strata_tensor::Tensor;

#[path = "../../../tools/golden/non_finite.rs"]
mod non_finite;
use non_finite::floats_or_non_finite;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/optim.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn shape(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// Gradients equal to `gs` for `params`: the gradient of `Σ w ⊙ g` is `g`.
fn gradients(params: &[Param], gs: &[Tensor]) -> Gradients {
    let tape = Tape::new();
    let terms: Vec<_> = params
        .iter()
        .zip(gs)
        .map(|(p, g)| tape.param(p).mul_const(g).sum())
        .collect();
    let loss = terms.into_iter().reduce(|a, b| a + b).unwrap();
    tape.backward(loss)
}

fn config(name: &str) -> OptimizerConfig {
    match name {
        "sgd" => Sgd::new(0.05).into(),
        "sgd_momentum" => Sgd::new(0.05).momentum(0.9).into(),
        "sgd_nesterov" => Sgd::new(0.05).momentum(0.9).nesterov(true).into(),
        "sgd_weight_decay" => Sgd::new(0.05).momentum(0.5).weight_decay(0.1).into(),
        "sgd_clipvalue" => Sgd::new(0.05).clipvalue(0.5).into(),
        "sgd_clipnorm" => Sgd::new(0.05).clipnorm(0.5).into(),
        "sgd_global_clipnorm" => Sgd::new(0.05).global_clipnorm(0.5).into(),
        "sgd_exponential_decay" => Sgd::new(ExponentialDecay::new(0.1, 2, 0.5)).into(),
        "adagrad" => Adagrad::new(0.1).into(),
        "adagrad_weight_decay" => Adagrad::new(0.1).weight_decay(0.05).into(),
        "rmsprop" => RmsProp::new(0.01).into(),
        "rmsprop_momentum_centered" => RmsProp::new(0.01).momentum(0.9).centered(true).into(),
        "rmsprop_clipnorm" => RmsProp::new(0.01).clipnorm(1.0).into(),
        "adam" => Adam::new(0.01).into(),
        "adam_amsgrad" => Adam::new(0.01).amsgrad(true).into(),
        "adam_global_clipnorm" => Adam::new(0.01).global_clipnorm(1.0).into(),
        "adamw" => AdamW::new(0.01).weight_decay(0.1).into(),
        "adamax" => Adamax::new(0.01).into(),
        "adamax_clipvalue" => Adamax::new(0.01).clipvalue(0.3).into(),
        "nadam" => Nadam::new(0.01).into(),
        "nadam_weight_decay" => Nadam::new(0.01).weight_decay(0.05).into(),
        other => panic!("no Strata configuration for golden case {other}"),
    }
}

#[test]
fn every_optimizer_follows_keras_step_by_step() {
    let g = golden();
    let shapes: Vec<Vec<usize>> = g["shapes"].as_array().unwrap().iter().map(shape).collect();
    let initial: Vec<Tensor> = g["initial"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&shapes)
        .map(|(v, s)| Tensor::from_vec(s, floats(v)).unwrap())
        .collect();
    let steps: Vec<Vec<Tensor>> = g["gradients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            step.as_array()
                .unwrap()
                .iter()
                .zip(&shapes)
                .map(|(v, s)| Tensor::from_vec(s, floats(v)).unwrap())
                .collect()
        })
        .collect();
    let trajectories = g["trajectories"].as_object().unwrap();
    assert_eq!(trajectories.len(), 21);
    for (name, trajectory) in trajectories {
        let mut params: Vec<Param> = initial
            .iter()
            .enumerate()
            .map(|(i, t)| Param::new(format!("w{i}"), t.clone()))
            .collect();
        let mut optimizer = Optimizer::new(config(name)).unwrap();
        for (step, (gs, want)) in steps.iter().zip(trajectory.as_array().unwrap()).enumerate() {
            let grads = gradients(&params, gs);
            let mut refs: Vec<&mut Param> = params.iter_mut().collect();
            optimizer.apply(&mut refs, &grads).unwrap();
            for (p, w) in params.iter().zip(want.as_array().unwrap()) {
                for (i, (a, b)) in p.value.as_slice().iter().zip(floats(w)).enumerate() {
                    assert!(
                        (a - b).abs() <= 2e-6 + 2e-5 * b.abs(),
                        "{name}, step {}, {}[{i}]: {a} vs Keras {b}",
                        step + 1,
                        p.name()
                    );
                }
            }
        }
        assert_eq!(optimizer.iterations(), steps.len() as u64);
    }
}

#[test]
fn every_schedule_matches_keras_at_every_step() {
    let g = golden();
    let steps: Vec<u64> = g["schedule_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let schedules = g["schedules"].as_object().unwrap();
    let cases: Vec<(&str, LearningRate)> = vec![
        ("exponential", ExponentialDecay::new(0.1, 10, 0.5).into()),
        (
            "exponential_staircase",
            ExponentialDecay::new(0.1, 10, 0.5).staircase(true).into(),
        ),
        ("inverse_time", InverseTimeDecay::new(0.1, 5, 0.5).into()),
        (
            "inverse_time_staircase",
            InverseTimeDecay::new(0.1, 5, 0.5).staircase(true).into(),
        ),
        (
            "piecewise",
            PiecewiseConstantDecay::new(vec![5, 15], vec![0.1, 0.05, 0.01])
                .unwrap()
                .into(),
        ),
        ("polynomial", PolynomialDecay::new(0.1, 20).into()),
        (
            "polynomial_power_cycle",
            PolynomialDecay {
                end_learning_rate: 0.01,
                power: 2.0,
                cycle: true,
                ..PolynomialDecay::new(0.1, 15)
            }
            .into(),
        ),
        (
            "cosine",
            CosineDecay {
                alpha: 0.1,
                ..CosineDecay::new(0.1, 30)
            }
            .into(),
        ),
        (
            "cosine_warmup",
            CosineDecay::new(0.0, 25).warmup(0.2, 10).into(),
        ),
        ("cosine_restarts", CosineDecayRestarts::new(0.1, 5).into()),
        (
            "cosine_restarts_t1_m05",
            CosineDecayRestarts {
                t_mul: 1.0,
                m_mul: 0.5,
                alpha: 0.05,
                ..CosineDecayRestarts::new(0.1, 7)
            }
            .into(),
        ),
    ];
    for (name, schedule) in cases {
        for (&step, want) in steps.iter().zip(floats(&schedules[name])) {
            let got = schedule.at(step);
            assert!(
                (got - want).abs() <= 1e-7 + 1e-5 * want.abs(),
                "{name} at step {step}: {got} vs Keras {want}"
            );
        }
    }
}

#[test]
fn seed_exponential_schedule_reproduces_the_history_rates() {
    // The seed: lr0 · 0.1^(epoch / s) with lr0 = 0.01, s = 20, a per-epoch Python function
    // (float64) whose result Keras stores as float32. Through the rate API, the same function
    // in f64 gives the same float32 rates bit for bit.
    let want = floats(&golden()["schedules"]["seed_history_learning_rate"]);
    assert_eq!(want.len(), 16);
    let exponential_decay_fn = |epoch: u64| 0.01 * 0.1f64.powf(epoch as f64 / 20.0);
    let mut optimizer = Optimizer::new(Sgd::new(0.01)).unwrap();
    let mut got = Vec::new();
    for epoch in 0..16 {
        optimizer
            .set_learning_rate(exponential_decay_fn(epoch) as f32)
            .unwrap();
        got.push(optimizer.learning_rate());
    }
    assert_eq!(got, want, "bit-identical to float32");
    // As the seed's history prints them (float32 shown in float64).
    assert_eq!(format!("{:.10}", got[0] as f64), "0.0099999998");
    assert_eq!(format!("{:.10}", got[1] as f64), "0.0089125093");
    assert_eq!(format!("{:.10}", got[15] as f64), "0.0017782794");
    // The same curve as a per-step schedule agrees to within one float32 ulp.
    let schedule = LearningRate::from(ExponentialDecay::new(0.01, 20, 0.1));
    for (epoch, &w) in want.iter().enumerate() {
        let s = schedule.at(epoch as u64);
        assert!(
            (s - w).abs() <= f32::EPSILON * w,
            "epoch {epoch}: {s} vs {w}"
        );
    }
}

#[test]
fn one_cycle_rises_then_falls_as_the_book_defines_it() {
    let s = LearningRate::from(OneCycle::new(100, 0.1));
    // last_iterations = 11, half_iteration = 44, start_rate = 0.01, last_rate = 1e-5.
    assert!((s.at(0) - 0.01).abs() < 1e-9);
    assert!((s.at(22) - 0.055).abs() < 1e-6);
    assert!((s.at(44) - 0.1).abs() < 1e-7);
    assert!((s.at(88) - 0.01).abs() < 1e-7);
    assert!(s.at(99) < s.at(89) && s.at(99) > 0.0);
    assert!((s.at(100) - 1e-5).abs() < 1e-9);
}

#[test]
fn each_optimizer_drives_a_convex_problem_to_its_minimum() {
    // f(w) = Σ c_i (w_i − t_i)², minimum at t.
    let target = Tensor::from_vec(&[4], vec![1.0, -2.0, 0.5, 3.0]).unwrap();
    let weights = Tensor::from_vec(&[4], vec![1.0, 0.5, 2.0, 0.25]).unwrap();
    let cases: Vec<(&str, OptimizerConfig, usize)> = vec![
        ("SGD", Sgd::new(0.1).into(), 500),
        ("SGD momentum", Sgd::new(0.05).momentum(0.9).into(), 500),
        (
            "SGD Nesterov",
            Sgd::new(0.05).momentum(0.9).nesterov(true).into(),
            500,
        ),
        ("Adagrad", Adagrad::new(0.5).into(), 2000),
        ("RMSprop", RmsProp::new(0.01).into(), 2000),
        ("Adam", Adam::new(0.05).into(), 2000),
        ("AdamW", AdamW::new(0.05).weight_decay(0.0).into(), 2000),
        ("Adamax", Adamax::new(0.05).into(), 2000),
        ("Nadam", Nadam::new(0.05).into(), 2000),
    ];
    for (name, config, steps) in cases {
        let mut w = Param::new("w", Tensor::zeros(&[4]));
        let mut optimizer = Optimizer::new(config).unwrap();
        for _ in 0..steps {
            let tape = Tape::new();
            let loss = tape
                .param(&w)
                .sub_const_for_test(&target)
                .square()
                .mul_const(&weights)
                .sum();
            let grads = tape.backward(loss);
            optimizer.apply(&mut [&mut w], &grads).unwrap();
        }
        for (a, b) in w.value.as_slice().iter().zip(target.as_slice()) {
            assert!(
                (a - b).abs() < 2e-2,
                "{name}: reached {:?}, minimum {:?}",
                w.value.as_slice(),
                target.as_slice()
            );
        }
    }
}

trait SubConst<'t> {
    fn sub_const_for_test(self, c: &Tensor) -> strata_autograd::Var<'t>;
}

impl<'t> SubConst<'t> for strata_autograd::Var<'t> {
    fn sub_const_for_test(self, c: &Tensor) -> strata_autograd::Var<'t> {
        self.add_const(&c.scale(-1.0))
    }
}

#[test]
fn invalid_configurations_are_errors() {
    assert!(
        Optimizer::new(Sgd::new(0.1).clipnorm(1.0).clipvalue(1.0))
            .unwrap_err()
            .to_string()
            .contains("at most one")
    );
    assert!(Optimizer::new(Adam::new(0.1).beta_1(1.5)).is_err());
    assert!(Optimizer::new(Sgd::new(f32::NAN)).is_err());
    assert!(Optimizer::new(Sgd::new(0.1).momentum(-0.1)).is_err());
    assert!(PiecewiseConstantDecay::new(vec![5, 3], vec![1.0, 2.0, 3.0]).is_err());
    assert!(PiecewiseConstantDecay::new(vec![5], vec![1.0]).is_err());
}

#[test]
fn new_variables_after_building_are_an_error_as_in_keras() {
    let mut a = Param::new("a", Tensor::ones(&[2]));
    let mut b = Param::new("b", Tensor::ones(&[3]));
    let mut opt = Optimizer::new(Sgd::new(0.1)).unwrap();
    let grads = gradients(std::slice::from_ref(&a), &[Tensor::ones(&[2])]);
    opt.apply(&mut [&mut a], &grads).unwrap();
    let grads = gradients(
        &[a.clone(), b.clone()],
        &[Tensor::ones(&[2]), Tensor::ones(&[3])],
    );
    let err = opt.apply(&mut [&mut a, &mut b], &grads).unwrap_err();
    assert!(matches!(err, OptimError::VariablesChanged { .. }), "{err}");
    assert!(err.to_string().contains("compile again"), "{err}");
}

#[test]
fn learning_rate_can_be_set_unless_it_is_a_schedule() {
    let mut opt = Optimizer::new(Sgd::new(0.1)).unwrap();
    opt.set_learning_rate(0.05).unwrap();
    assert_eq!(opt.learning_rate(), 0.05);
    let mut scheduled = Optimizer::new(Sgd::new(ExponentialDecay::new(0.1, 10, 0.5))).unwrap();
    assert!(matches!(
        scheduled.set_learning_rate(0.1),
        Err(OptimError::ScheduledLearningRate("ExponentialDecay"))
    ));
}

#[test]
fn state_round_trips_through_serde_and_resumes_identically() {
    let mut w = Param::new("w", Tensor::from_vec(&[3], vec![1.0, -1.0, 2.0]).unwrap());
    let g = Tensor::from_vec(&[3], vec![0.3, -0.2, 0.1]).unwrap();
    let mut opt = Optimizer::new(Nadam::new(0.01)).unwrap();
    for _ in 0..3 {
        let grads = gradients(std::slice::from_ref(&w), std::slice::from_ref(&g));
        opt.apply(&mut [&mut w], &grads).unwrap();
    }
    let bytes = rmp_serde::to_vec_named(&opt).unwrap();
    let mut restored: Optimizer = rmp_serde::from_slice(&bytes).unwrap();
    let mut w2 = Param::new("w", w.value.clone());
    for _ in 0..3 {
        let grads = gradients(std::slice::from_ref(&w), std::slice::from_ref(&g));
        opt.apply(&mut [&mut w], &grads).unwrap();
        let grads = gradients(std::slice::from_ref(&w2), std::slice::from_ref(&g));
        restored.apply(&mut [&mut w2], &grads).unwrap();
    }
    assert_eq!(
        w.value, w2.value,
        "a restored optimizer continues bit-identically"
    );
    assert_eq!(restored.iterations(), 6);
}

#[test]
fn optimizer_param_count_follows_keras() {
    let mut k = Param::new("kernel", Tensor::ones(&[4, 3]));
    let mut b = Param::new("bias", Tensor::ones(&[3]));
    let mut opt = Optimizer::new(Sgd::new(0.01).momentum(0.9)).unwrap();
    assert_eq!(opt.count_params(), 0, "not built yet");
    let grads = gradients(
        &[k.clone(), b.clone()],
        &[Tensor::ones(&[4, 3]), Tensor::ones(&[3])],
    );
    let _ = grads;
    let grads = {
        let tape = Tape::new();
        let loss = tape.param(&k).sum() + tape.param(&b).sum();
        tape.backward(loss)
    };
    opt.apply(&mut [&mut k, &mut b], &grads).unwrap();
    // Keras: momentums (15) + iteration + learning_rate.
    assert_eq!(opt.count_params(), 17);
}

#[test]
fn constraints_are_applied_right_after_each_update() {
    // A max-norm-like projection passed to apply_with_constraints sees the updated value.
    let mut w = Param::new("w", Tensor::from_vec(&[2], vec![3.0, 4.0]).unwrap());
    let mut opt = Optimizer::new(Sgd::new(1.0)).unwrap();
    let grads = gradients(
        std::slice::from_ref(&w),
        &[Tensor::from_vec(&[2], vec![-3.0, -4.0]).unwrap()],
    );
    let mut seen = Vec::new();
    opt.apply_with_constraints(&mut [&mut w], &grads, |p| {
        seen.push(p.value.as_slice().to_vec());
        let norm = p.value.as_slice().iter().map(|v| v * v).sum::<f32>().sqrt();
        let scale = norm.min(5.0) / norm;
        p.value.as_mut_slice().iter_mut().for_each(|v| *v *= scale);
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![vec![6.0, 8.0]],
        "the constraint sees the updated weights"
    );
    assert_eq!(
        w.value.as_slice(),
        &[3.0, 4.0],
        "and its projection is kept"
    );
}

/// A variable large enough to be updated by several threads ends bit for bit where the same
/// elements end when held in two small variables (updated on one thread).
#[test]
fn large_variables_updated_in_parallel_equal_the_serial_update() {
    let n = 70_001;
    let split = 35_000;
    let value = |i: usize| ((i * 7919 % 1000) as f32 - 500.0) / 250.0;
    let grad = |step: usize, i: usize| (((i + 31 * step) * 104_729 % 997) as f32 - 498.0) / 300.0;
    for name in [
        "sgd",
        "sgd_momentum",
        "sgd_nesterov",
        "sgd_weight_decay",
        "sgd_clipvalue",
        "adagrad",
        "rmsprop",
        "rmsprop_momentum_centered",
        "adam",
        "adam_amsgrad",
        "adamw",
        "adamax",
        "nadam",
        "nadam_weight_decay",
    ] {
        let mut big = vec![Param::new("big", Tensor::from_fn(&[n], value))];
        let mut halves = vec![
            Param::new("low", Tensor::from_fn(&[split], value)),
            Param::new("high", Tensor::from_fn(&[n - split], |i| value(i + split))),
        ];
        let mut big_opt = Optimizer::new(config(name)).unwrap();
        let mut halves_opt = Optimizer::new(config(name)).unwrap();
        for step in 0..3 {
            let g_big = Tensor::from_fn(&[n], |i| grad(step, i));
            let g_low = Tensor::from_fn(&[split], |i| grad(step, i));
            let g_high = Tensor::from_fn(&[n - split], |i| grad(step, i + split));
            let grads = gradients(&big, &[g_big]);
            big_opt
                .apply(&mut big.iter_mut().collect::<Vec<_>>(), &grads)
                .unwrap();
            let grads = gradients(&halves, &[g_low, g_high]);
            halves_opt
                .apply(&mut halves.iter_mut().collect::<Vec<_>>(), &grads)
                .unwrap();
        }
        let joined: Vec<f32> = halves
            .iter()
            .flat_map(|p| p.value.as_slice().to_vec())
            .collect();
        let same = big[0]
            .value
            .as_slice()
            .iter()
            .zip(&joined)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "{name}: the parallel update differs from the serial one"
        );
    }
}

/// SGD adds a dense kernel's gradient straight from its factors (`W += −lr·Xᵀ·dY`, or with
/// momentum `m = μ·m − lr·Xᵀ·dY`, `W += m`; the gradient never formed); the result equals the
/// formed path but for the last bit, over several steps. Any configuration with something
/// between gradient and update (Nesterov, clipping, weight decay, another algorithm) forms the
/// gradient first.
#[test]
fn plain_sgd_updates_a_kernel_from_the_gradient_factors() {
    let x = Tensor::from_fn(&[32, 300], |i| ((i * 37 % 101) as f32 - 50.0) / 50.0);
    let dy = Tensor::from_fn(&[32, 240], |i| ((i * 53 % 97) as f32 - 48.0) / 480.0);
    let w0 = Tensor::from_fn(&[300, 240], |i| (i % 17) as f32 * 0.05 - 0.4);
    let formed = x.matmul_tn(&dy);
    let lr = 0.01f32;
    let configs: Vec<(&str, OptimizerConfig, bool)> = vec![
        ("sgd", Sgd::new(lr).into(), true),
        ("sgd momentum", Sgd::new(lr).momentum(0.9).into(), true),
        (
            "sgd nesterov",
            Sgd::new(lr).momentum(0.9).nesterov(true).into(),
            false,
        ),
        ("sgd clipnorm", Sgd::new(lr).clipnorm(10.0).into(), false),
        (
            "sgd weight decay",
            Sgd::new(lr).weight_decay(0.1).into(),
            false,
        ),
        ("adam", Adam::new(lr).into(), false),
    ];
    for (name, config, direct) in configs {
        let mut w = Param::new("kernel", w0.clone());
        let mut reference = Param::new("kernel", w0.clone());
        let mut fused_optimizer = Optimizer::new(config.clone()).unwrap();
        let mut reference_optimizer = Optimizer::new(config).unwrap();
        // Three steps, so that momentum carries over between them. The kernel (72,000
        // elements) is large enough for the update to be shared between threads.
        for step in 0..3 {
            let tape = Tape::new();
            let y = tape.constant(x.clone()).matmul(tape.param(&w));
            let grads = tape.backward(y.mul_const(&dy).sum());
            drop(tape);
            assert!(
                grads.product(&w).is_some(),
                "{name}: a product before the update"
            );
            let reference_grads = gradients(
                std::slice::from_ref(&reference),
                std::slice::from_ref(&formed),
            );
            reference_optimizer
                .apply(&mut [&mut reference], &reference_grads)
                .unwrap();
            fused_optimizer.apply(&mut [&mut w], &grads).unwrap();
            assert_eq!(
                grads.product(&w).is_some(),
                direct,
                "{name}: whether the gradient stayed unformed"
            );
            for (a, b) in w.value.as_slice().iter().zip(reference.value.as_slice()) {
                assert!(
                    (a - b).abs() <= 4.0 * f32::EPSILON * b.abs().max(1e-3),
                    "{name}, step {step}: {a} vs {b}"
                );
            }
        }
        assert_ne!(
            w.value.as_slice(),
            w0.as_slice(),
            "{name}: the kernel moved"
        );
    }
}

#[test]
fn a_nan_or_infinite_gradient_poisons_the_weights_keras_poisons() {
    // A NaN gradient must reach the weights Keras makes NaN (so the loss shows it), and
    // clipping must not spread it further or less far than Keras does.
    let g = golden();
    let shapes: Vec<Vec<usize>> = g["shapes"].as_array().unwrap().iter().map(shape).collect();
    let tensors = |v: &Value| -> Vec<Tensor> {
        v.as_array()
            .unwrap()
            .iter()
            .zip(&shapes)
            .map(|(v, s)| Tensor::from_vec(s, floats_or_non_finite(v)).unwrap())
            .collect()
    };
    let initial = tensors(&g["initial"]);
    let nf = &g["non_finite"];
    let cases = nf["after_one_step"].as_object().unwrap();
    assert_eq!(cases.len(), 8);
    for (name, want) in cases {
        let (config, grads): (OptimizerConfig, _) = match name.as_str() {
            "sgd_clipnorm" => (Sgd::new(0.05).clipnorm(0.5).into(), "gradients_nan"),
            "sgd_clipvalue" => (Sgd::new(0.05).clipvalue(0.5).into(), "gradients_nan"),
            "sgd_global_clipnorm" => (Sgd::new(0.05).global_clipnorm(0.5).into(), "gradients_nan"),
            "sgd_momentum" => (Sgd::new(0.05).momentum(0.9).into(), "gradients_nan"),
            "adam" => (Adam::new(0.01).into(), "gradients_nan"),
            "adamax" => (Adamax::new(0.01).into(), "gradients_nan"),
            "sgd_clipnorm_inf" => (Sgd::new(0.05).clipnorm(0.5).into(), "gradients_inf"),
            "sgd_clipvalue_inf" => (Sgd::new(0.05).clipvalue(0.5).into(), "gradients_inf"),
            other => panic!("no Strata configuration for golden case {other}"),
        };
        let mut params: Vec<Param> = initial
            .iter()
            .enumerate()
            .map(|(i, t)| Param::new(format!("w{i}"), t.clone()))
            .collect();
        let gradients = gradients(&params, &tensors(&nf[grads]));
        let mut optimizer = Optimizer::new(config).unwrap();
        let mut refs: Vec<&mut Param> = params.iter_mut().collect();
        optimizer.apply(&mut refs, &gradients).unwrap();
        for (p, w) in params.iter().zip(want.as_array().unwrap()) {
            for (i, (&a, b)) in p
                .value
                .as_slice()
                .iter()
                .zip(floats_or_non_finite(w))
                .enumerate()
            {
                let ok = if b.is_nan() {
                    a.is_nan()
                } else {
                    (a - b).abs() <= 2e-6 + 2e-5 * b.abs()
                };
                assert!(ok, "{name}, {}[{i}]: {a} vs Keras {b}", p.name());
            }
        }
    }
}
