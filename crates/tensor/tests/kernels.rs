//! Kernel tests: every SIMD path equals the portable path, GEMM matches the triple loop, the
//! elementary functions match `f64` references, and reductions ignore the thread count.

use rand::{Rng, SeedableRng, rngs::StdRng};
use strata_tensor::kernels::update::{self, Rule};
use strata_tensor::kernels::{activation, elementwise, gemm, reduce, softmax};
use strata_tensor::kernels::{elementwise::Binary, gemm::Transpose};
use strata_tensor::{Isa, Tensor, Unary};

fn random(len: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-scale..scale)).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn at_least_the_portable_path_is_available() {
    assert!(Isa::available().contains(&Isa::Scalar));
    assert!(strata_tensor::kernels::isa().is_supported());
}

#[test]
fn simd_activations_equal_scalar_on_lengths_0_to_67() {
    for f in Unary::ALL {
        for len in 0..=67 {
            let x = random(len, len as u64, 12.0);
            let dy = random(len, 1000 + len as u64, 1.0);
            let mut y_ref = vec![0.0; len];
            activation::forward_serial_with(Isa::Scalar, f, &x, &mut y_ref);
            let mut dx_ref = vec![0.0; len];
            activation::backward_serial_with(Isa::Scalar, f, &x, &y_ref, &dy, &mut dx_ref);
            for isa in Isa::available() {
                let mut y = vec![0.0; len];
                activation::forward_serial_with(isa, f, &x, &mut y);
                assert_eq!(
                    bits(&y),
                    bits(&y_ref),
                    "{f:?} forward, {isa:?}, length {len}"
                );
                let mut dx = vec![0.0; len];
                activation::backward_serial_with(isa, f, &x, &y, &dy, &mut dx);
                assert_eq!(
                    bits(&dx),
                    bits(&dx_ref),
                    "{f:?} backward, {isa:?}, length {len}"
                );
            }
        }
    }
}

/// Equal bits, or both NaN (a NaN's payload may differ between paths).
fn same_or_both_nan(got: &[f32], want: &[f32]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()))
}

#[test]
fn nan_inputs_give_nan_on_every_path_and_infinities_agree_with_scalar() {
    // A diverging model must show NaN (Keras does): no function may turn NaN into a number.
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e30,
        -1e30,
        0.5,
        -0.5,
    ];
    for f in Unary::ALL {
        for len in 1..=67 {
            let x: Vec<f32> = (0..len).map(|i| specials[i % specials.len()]).collect();
            let dy = vec![1.0; len];
            let mut y_ref = vec![0.0; len];
            activation::forward_serial_with(Isa::Scalar, f, &x, &mut y_ref);
            for (i, (&x, &y)) in x.iter().zip(&y_ref).enumerate() {
                assert!(!x.is_nan() || y.is_nan(), "{f:?}(NaN) = {y} at {i}");
            }
            let mut dx_ref = vec![0.0; len];
            activation::backward_serial_with(Isa::Scalar, f, &x, &y_ref, &dy, &mut dx_ref);
            for isa in Isa::available() {
                let mut y = vec![0.0; len];
                activation::forward_serial_with(isa, f, &x, &mut y);
                assert!(
                    same_or_both_nan(&y, &y_ref),
                    "{f:?} forward, {isa:?}, length {len}: {y:?} vs {y_ref:?}"
                );
                let mut dx = vec![0.0; len];
                activation::backward_serial_with(isa, f, &x, &y, &dy, &mut dx);
                assert!(
                    same_or_both_nan(&dx, &dx_ref),
                    "{f:?} backward, {isa:?}, length {len}: {dx:?} vs {dx_ref:?}"
                );
            }
        }
    }
    // A row holding NaN is NaN throughout after softmax and log-softmax; other rows are not.
    for cols in 1..=67 {
        let mut x = random(2 * cols, cols as u64, 5.0);
        x[cols / 2] = f32::NAN;
        for isa in Isa::available() {
            let mut sm = vec![0.0; 2 * cols];
            softmax::softmax_rows_with(isa, &x, cols, &mut sm);
            let mut lsm = vec![0.0; 2 * cols];
            softmax::log_softmax_rows_with(isa, &x, cols, &mut lsm);
            for out in [&sm, &lsm] {
                assert!(
                    out[..cols].iter().all(|v| v.is_nan()),
                    "{isa:?} width {cols}"
                );
                assert!(
                    out[cols..].iter().all(|v| v.is_finite()),
                    "{isa:?} width {cols}"
                );
            }
        }
    }
}

#[test]
fn simd_elementwise_kernels_equal_scalar_on_lengths_0_to_67() {
    for len in 0..=67 {
        let a = random(len, 1, 3.0);
        let b: Vec<f32> = random(len, 2, 3.0).iter().map(|v| v + 4.0).collect();
        for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
            let mut want = vec![0.0; len];
            elementwise::binary_with(Isa::Scalar, op, &a, &b, &mut want);
            for isa in Isa::available() {
                let mut got = vec![0.0; len];
                elementwise::binary_with(isa, op, &a, &b, &mut got);
                assert_eq!(bits(&got), bits(&want), "{op:?} {isa:?} length {len}");
            }
        }
        let mut want = b.clone();
        elementwise::axpy_with(Isa::Scalar, 0.37, &a, &mut want);
        let mut scaled = vec![0.0; len];
        elementwise::scale_with(Isa::Scalar, -1.5, &a, &mut scaled);
        let block = reduce::block_sum_with(Isa::Scalar, &a);
        for isa in Isa::available() {
            let mut got = b.clone();
            elementwise::axpy_with(isa, 0.37, &a, &mut got);
            assert_eq!(bits(&got), bits(&want), "axpy {isa:?} length {len}");
            let mut got = vec![0.0; len];
            elementwise::scale_with(isa, -1.5, &a, &mut got);
            assert_eq!(bits(&got), bits(&scaled), "scale {isa:?} length {len}");
            let sum = reduce::block_sum_with(isa, &a);
            assert_eq!(
                sum.to_bits(),
                block.to_bits(),
                "block_sum {isa:?} length {len}"
            );
        }
    }
}

/// Every optimizer rule, in every variant.
fn update_rules() -> Vec<Rule> {
    let mut rules = vec![
        Rule::Sgd { lr: 0.01 },
        Rule::Adagrad {
            lr: 0.1,
            epsilon: 1e-7,
        },
        Rule::Adamax {
            lr: 0.002,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            beta_1_power: 0.729,
        },
        Rule::Nadam {
            lr: 0.002,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            u_t: 0.4608,
            u_t_1: 0.4623,
            u_product_t: 0.2128,
            u_product_t_1: 0.0984,
            beta_2_power: 0.997,
        },
    ];
    for nesterov in [false, true] {
        rules.push(Rule::Momentum {
            lr: 0.01,
            momentum: 0.9,
            nesterov,
        });
    }
    for momentum in [0.0, 0.9] {
        for centered in [false, true] {
            rules.push(Rule::RmsProp {
                lr: 0.001,
                rho: 0.9,
                momentum,
                epsilon: 1e-7,
                centered,
            });
        }
    }
    for amsgrad in [false, true] {
        rules.push(Rule::Adam {
            alpha: 0.0003,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad,
        });
    }
    rules
}

#[test]
fn simd_optimizer_updates_equal_scalar_on_lengths_0_to_67() {
    for rule in update_rules() {
        for len in 0..=67 {
            let start = random(len, 3, 1.0);
            // Second moments positive (and above the squared running means of centered
            // RMSprop), first moments of either sign.
            let slots0: Vec<Vec<f32>> = (0..rule.slots())
                .map(|s| {
                    let r = random(len, 10 + s as u64, 0.1);
                    if s == 0 {
                        r
                    } else {
                        r.iter().map(|v| v.abs() + 1.0).collect()
                    }
                })
                .collect();
            let run = |isa: Isa| {
                let (mut w, mut slots) = (start.clone(), slots0.clone());
                for step in 0..3 {
                    let g = random(len, 100 + step, 1.0);
                    let mut views: Vec<&mut [f32]> =
                        slots.iter_mut().map(|s| s.as_mut_slice()).collect();
                    update::apply_with(isa, rule, &mut w, &g, &mut views);
                }
                (w, slots)
            };
            let (want_w, want_slots) = run(Isa::Scalar);
            if len > 0 {
                assert_ne!(bits(&want_w), bits(&start), "{rule:?} changed nothing");
            }
            for isa in Isa::available() {
                let (w, slots) = run(isa);
                assert_eq!(bits(&w), bits(&want_w), "{rule:?} {isa:?} length {len}");
                for (got, want) in slots.iter().zip(&want_slots) {
                    assert_eq!(bits(got), bits(want), "{rule:?} {isa:?} slot, length {len}");
                }
            }
        }
    }
}

#[test]
fn optimizer_update_rules_follow_their_formulas() {
    // One element, three steps, against the formulas written out in f32 here.
    let g = [0.5f32, -0.25, 1.0];
    let (lr, b1, b2, eps) = (0.01f32, 0.9f32, 0.999f32, 1e-7f32);
    let (mut w, mut m, mut v) = ([1.0f32], [0.0f32], [0.0f32]);
    let (mut w_ref, mut m_ref, mut v_ref) = (1.0f32, 0.0f32, 0.0f32);
    for (t, &gt) in g.iter().enumerate() {
        let t = t as i32 + 1;
        let alpha = lr * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        let rule = Rule::Adam {
            alpha,
            beta_1: b1,
            beta_2: b2,
            epsilon: eps,
            amsgrad: false,
        };
        update::apply(rule, &mut w, &[gt], &mut [&mut m, &mut v]);
        m_ref += (gt - m_ref) * (1.0 - b1);
        v_ref += (gt * gt - v_ref) * (1.0 - b2);
        w_ref -= m_ref * alpha / (v_ref.sqrt() + eps);
        assert_eq!((w[0], m[0], v[0]), (w_ref, m_ref, v_ref), "Adam step {t}");
    }
    let (mut w, mut a) = ([2.0f32], [0.1f32]);
    update::apply(
        Rule::Adagrad { lr, epsilon: eps },
        &mut w,
        &[0.5],
        &mut [&mut a],
    );
    assert_eq!(a[0], 0.1 + 0.25);
    assert_eq!(w[0], 2.0 - lr * 0.5 / (0.35f32 + eps).sqrt());
}

#[test]
#[should_panic(expected = "needs 2 slot arrays of 3 elements")]
fn optimizer_update_rejects_a_short_slot() {
    let (mut w, mut m, mut v) = ([0.0f32; 3], [0.0f32; 3], [0.0f32; 2]);
    update::apply(
        Rule::Adamax {
            lr: 0.1,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            beta_1_power: 0.9,
        },
        &mut w,
        &[1.0; 3],
        &mut [&mut m, &mut v],
    );
}

#[test]
fn simd_row_kernels_equal_scalar_on_widths_1_to_67() {
    for cols in 1..=67 {
        let rows = 3;
        let x = random(rows * cols, cols as u64, 20.0);
        let row = random(cols, 7 + cols as u64, 1.0);
        let mut want_bias = vec![0.0; rows * cols];
        elementwise::add_row_with(Isa::Scalar, &x, &row, &mut want_bias);
        let mut want_sm = vec![0.0; rows * cols];
        softmax::softmax_rows_with(Isa::Scalar, &x, cols, &mut want_sm);
        let mut want_lsm = vec![0.0; rows * cols];
        softmax::log_softmax_rows_with(Isa::Scalar, &x, cols, &mut want_lsm);
        let mut want_sum = vec![0.0; cols];
        reduce::sum_axis_serial_with(Isa::Scalar, &x, 1, rows, cols, &mut want_sum);
        for isa in Isa::available() {
            let mut got = vec![0.0; rows * cols];
            elementwise::add_row_with(isa, &x, &row, &mut got);
            assert_eq!(bits(&got), bits(&want_bias), "add_row {isa:?} width {cols}");
            softmax::softmax_rows_with(isa, &x, cols, &mut got);
            assert_eq!(bits(&got), bits(&want_sm), "softmax {isa:?} width {cols}");
            softmax::log_softmax_rows_with(isa, &x, cols, &mut got);
            assert_eq!(
                bits(&got),
                bits(&want_lsm),
                "log_softmax {isa:?} width {cols}"
            );
            let mut sum = vec![0.0; cols];
            reduce::sum_axis_serial_with(isa, &x, 1, rows, cols, &mut sum);
            assert_eq!(bits(&sum), bits(&want_sum), "sum_axis {isa:?} width {cols}");
        }
    }
}

/// References in `f64` from the textbook formulas (libm's exp, tanh, ln_1p; erf by series).
fn reference(f: Unary, x: f64) -> f64 {
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    let elu = |x: f64, a: f64| if x > 0.0 { x } else { a * x.exp_m1() };
    match f {
        Unary::Relu => x.max(0.0),
        Unary::LeakyRelu { negative_slope } => {
            if x >= 0.0 {
                x
            } else {
                negative_slope as f64 * x
            }
        }
        Unary::Elu { alpha } => elu(x, alpha as f64),
        Unary::Selu => 1.050_700_987_355_480_5 * elu(x, 1.673_263_242_354_377_3),
        Unary::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        Unary::GeluTanh => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
        }
        Unary::Silu => x * sigmoid(x),
        Unary::Mish => x * softplus(x).tanh(),
        Unary::Sigmoid => sigmoid(x),
        Unary::Tanh => x.tanh(),
        Unary::Softplus => softplus(x),
    }
}

/// erf by its Taylor series (|x| < 3) or continued fraction of erfc, to ~1e-15.
fn erf(x: f64) -> f64 {
    if x.abs() < 3.0 {
        let mut term = x;
        let mut total = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            total += term / (2 * n + 1) as f64;
        }
        total * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        let z = x.abs();
        let mut frac = 0.0;
        for n in (1..200).rev() {
            frac = n as f64 / 2.0 / (z + frac);
        }
        let erfc = (-z * z).exp() / std::f64::consts::PI.sqrt() / (z + frac);
        x.signum() * (1.0 - erfc)
    }
}

#[test]
fn activations_match_f64_references() {
    let xs: Vec<f32> = (0..=4000).map(|i| -20.0 + i as f32 * 0.01).collect();
    for f in Unary::ALL {
        let y = Tensor::from_vec(&[xs.len()], xs.clone()).unwrap().unary(f);
        for (&x, &y) in xs.iter().zip(y.as_slice()) {
            let want = reference(f, x as f64);
            let err = (y as f64 - want).abs();
            assert!(
                err <= 2e-6 + 2e-6 * want.abs(),
                "{f:?}({x}) = {y}, reference {want}"
            );
        }
    }
}

#[test]
fn activation_derivatives_match_central_differences_in_f64() {
    let xs: Vec<f32> = (0..=400).map(|i| -8.0 + i as f32 * 0.04 + 0.013).collect();
    for f in Unary::ALL {
        let x = Tensor::from_vec(&[xs.len()], xs.clone()).unwrap();
        let y = x.unary(f);
        let dx = x.unary_backward(f, &y, &Tensor::ones(&[xs.len()]));
        for (&x, &d) in xs.iter().zip(dx.as_slice()) {
            let h = 1e-5;
            let want = (reference(f, x as f64 + h) - reference(f, x as f64 - h)) / (2.0 * h);
            assert!(
                (d as f64 - want).abs() <= 1e-5 + 1e-5 * want.abs(),
                "{f:?}'({x}) = {d}, reference {want}"
            );
        }
    }
}

fn check_gemm(m: usize, k: usize, n: usize, ta: Transpose, tb: Transpose, accumulate: bool) {
    let a = random(m * k, 11, 1.0);
    let b = random(k * n, 12, 1.0);
    let start = random(m * n, 13, 1.0);
    let mut want = start.clone();
    gemm::matmul_reference(&a, ta, &b, tb, m, k, n, &mut want, accumulate);
    for kernel in gemm::GemmKernel::available() {
        let mut got = start.clone();
        gemm::matmul_with(kernel, &a, ta, &b, tb, m, k, n, &mut got, accumulate);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let tol = 1e-5 * (k as f32).sqrt() * 4.0 + 1e-6;
            assert!(
                (g - w).abs() <= tol,
                "{kernel:?} {m}x{k}x{n} {ta:?}/{tb:?} acc={accumulate}: [{i}] {g} vs {w}"
            );
        }
    }
}

#[test]
fn gemm_matches_triple_loop_in_all_three_forms_and_edge_sizes() {
    let shapes = [
        (1, 1, 1),
        (0, 3, 2),
        (2, 0, 3),
        (3, 2, 0),
        (63, 65, 67),
        (32, 784, 30),
        (32, 300, 100),
        (16, 40, 33),
        (5, 17, 33),
        (64, 64, 64),
    ];
    for &(m, k, n) in &shapes {
        for (ta, tb) in [
            (Transpose::No, Transpose::No),
            (Transpose::Yes, Transpose::No),
            (Transpose::No, Transpose::Yes),
            (Transpose::Yes, Transpose::Yes),
        ] {
            check_gemm(m, k, n, ta, tb, false);
            check_gemm(m, k, n, ta, tb, true);
        }
    }
}

#[test]
fn large_gemm_is_correct_when_threaded() {
    // Above `parallel_macs()` (2^18 or 2^19 multiply-adds) the product is split across threads.
    check_gemm(256, 256, 256, Transpose::No, Transpose::No, false);
    check_gemm(256, 256, 256, Transpose::Yes, Transpose::No, true);
    check_gemm(200, 300, 170, Transpose::No, Transpose::Yes, true);
    in_pool(2, || {
        check_gemm(256, 300, 161, Transpose::No, Transpose::No, false)
    });
}

#[test]
fn tensor_matmul_forms_agree_with_explicit_transposes() {
    let a = Tensor::from_vec(&[4, 3], random(12, 1, 1.0)).unwrap();
    let b = Tensor::from_vec(&[4, 5], random(20, 2, 1.0)).unwrap();
    let c = Tensor::from_vec(&[5, 3], random(15, 3, 1.0)).unwrap();
    let tn = a.matmul_tn(&b);
    let explicit = a.transpose().matmul(&b);
    assert_eq!(tn.shape(), &[3, 5]);
    for (x, y) in tn.as_slice().iter().zip(explicit.as_slice()) {
        assert!((x - y).abs() < 1e-6);
    }
    let nt = a.matmul_nt(&c);
    let explicit = a.matmul(&c.transpose());
    assert_eq!(nt.shape(), &[4, 5]);
    for (x, y) in nt.as_slice().iter().zip(explicit.as_slice()) {
        assert!((x - y).abs() < 1e-6);
    }
}

#[test]
#[should_panic(expected = "matmul: inner dimensions differ for shapes [2, 3] and [4, 5]")]
fn matmul_shape_mismatch_names_both_shapes() {
    let _ = Tensor::zeros(&[2, 3]).matmul(&Tensor::zeros(&[4, 5]));
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn reductions_are_identical_on_one_and_two_threads() {
    let x = Tensor::from_vec(&[300, 700], random(300 * 700, 5, 1.0)).unwrap();
    let y = Tensor::from_vec(&[4, 50_000], random(200_000, 6, 1.0)).unwrap();
    let run = || {
        (
            x.sum_axis(0),
            x.sum_axis(1),
            x.sum(),
            y.sum_axis(1),
            x.var_axis(0),
            x.unary(Unary::Gelu),
        )
    };
    let one = in_pool(1, run);
    let two = in_pool(2, run);
    assert_eq!(bits(one.0.as_slice()), bits(two.0.as_slice()));
    assert_eq!(bits(one.1.as_slice()), bits(two.1.as_slice()));
    assert_eq!(one.2.to_bits(), two.2.to_bits());
    assert_eq!(bits(one.3.as_slice()), bits(two.3.as_slice()));
    assert_eq!(bits(one.4.as_slice()), bits(two.4.as_slice()));
    assert_eq!(bits(one.5.as_slice()), bits(two.5.as_slice()));
}

#[test]
fn reductions_match_f64_sums() {
    let data = random(3 * 4 * 5, 9, 1.0);
    let x = Tensor::from_vec(&[3, 4, 5], data.clone()).unwrap();
    let s = x.sum_axis(1);
    assert_eq!(s.shape(), &[3, 5]);
    for o in 0..3 {
        for i in 0..5 {
            let want: f64 = (0..4).map(|a| data[(o * 4 + a) * 5 + i] as f64).sum();
            assert!((s.as_slice()[o * 5 + i] as f64 - want).abs() < 1e-6);
        }
    }
    let total: f64 = data.iter().map(|&v| v as f64).sum();
    assert!((x.sum() as f64 - total).abs() < 1e-6);
    let v = x.var_axis(0);
    let m = x.mean_axis(0);
    for i in 0..20 {
        let mean: f64 = (0..3).map(|o| data[o * 20 + i] as f64).sum::<f64>() / 3.0;
        let var: f64 = (0..3)
            .map(|o| (data[o * 20 + i] as f64 - mean).powi(2))
            .sum::<f64>()
            / 3.0;
        assert!((m.as_slice()[i] as f64 - mean).abs() < 1e-6);
        assert!((v.as_slice()[i] as f64 - var).abs() < 1e-6);
    }
}

#[test]
fn softmax_is_stable_and_normalized() {
    let x = Tensor::from_vec(&[2, 3], vec![1000.0, 1001.0, 1002.0, -1000.0, 0.0, 1000.0]).unwrap();
    let s = x.softmax();
    assert!(s.is_finite());
    for row in s.as_slice().chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    let l = x.log_softmax();
    assert!(l.is_finite());
    // log Σ e^{0,1,2} = 2.407605964 (ln(1 + e + e²)).
    let want = [-2.407_606, -1.407_606, -0.407_606];
    for (g, w) in l.as_slice()[..3].iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
    assert!((l.as_slice()[3] + 2000.0).abs() < 1e-3);
}

#[test]
fn bad_shapes_are_typed_errors() {
    let e = Tensor::from_vec(&[2, 3], vec![0.0; 5]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Tensor::from_vec: expected 6 elements for shape [2, 3], found 5 elements"
    );
    assert!(Tensor::zeros(&[2, 3]).reshape(&[4, 2]).is_err());
    assert!(Tensor::from_vec(&[usize::MAX, 2], vec![]).is_err());
    assert!(Tensor::from_vec(&[1, 1, 1, 1, 1, 1, 1], vec![1.0]).is_err());
}

#[test]
fn ndarray_conversions_round_trip() {
    let a = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32);
    let t = Tensor::from_array(a.clone()).unwrap();
    assert_eq!(t.shape(), &[3, 4]);
    assert_eq!(t.view(), a.clone().into_dyn().view());
    let transposed = Tensor::from_array(a.t().to_owned()).unwrap();
    assert_eq!(transposed, t.transpose());
    let back: ndarray::ArrayD<f32> = t.into();
    assert_eq!(back, a.into_dyn());
}

#[test]
fn clones_are_copy_on_write() {
    let a = Tensor::ones(&[4]);
    let mut b = a.clone();
    b.as_mut_slice()[0] = 5.0;
    assert_eq!(a.as_slice(), &[1.0; 4]);
    assert_eq!(b.as_slice(), &[5.0, 1.0, 1.0, 1.0]);
}

#[test]
fn serde_round_trips_and_rejects_lying_shapes() {
    let t = Tensor::from_vec(&[2, 3], random(6, 3, 1.0)).unwrap();
    let bytes = rmp_serde::to_vec_named(&t).unwrap();
    let back: Tensor = rmp_serde::from_slice(&bytes).unwrap();
    assert_eq!(bits(back.as_slice()), bits(t.as_slice()));
    assert_eq!(back.shape(), t.shape());

    #[derive(serde::Serialize)]
    struct Lying<'a> {
        shape: Vec<usize>,
        #[serde(with = "bytes_as_bin")]
        data: &'a [u8],
    }
    mod bytes_as_bin {
        pub fn serialize<S: serde::Serializer>(v: &&[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }
    for shape in [vec![3, 3], vec![usize::MAX, 4], vec![1; 9]] {
        let bytes = rmp_serde::to_vec_named(&Lying {
            shape,
            data: &[0u8; 24],
        })
        .unwrap();
        assert!(rmp_serde::from_slice::<Tensor>(&bytes).is_err());
    }
}

#[test]
fn simd_bias_activation_epilogue_equals_scalar_and_the_unfused_ops() {
    for cols in 1..=67 {
        let rows = 3;
        let x = random(rows * cols, 40 + cols as u64, 4.0);
        let row = random(cols, 90 + cols as u64, 1.0);
        for f in std::iter::once(None).chain(Unary::ALL.map(Some)) {
            for bias in [&row[..], &[][..]] {
                // Unfused: bias add, then the activation.
                let mut want = x.clone();
                if !bias.is_empty() {
                    elementwise::add_row_with(Isa::Scalar, &x, bias, &mut want);
                }
                if let Some(f) = f {
                    let z = want.clone();
                    activation::forward_serial_with(Isa::Scalar, f, &z, &mut want);
                }
                for isa in Isa::available() {
                    let mut got = x.clone();
                    activation::bias_unary_in_place_with(isa, bias, f, &mut got);
                    assert_eq!(bits(&got), bits(&want), "{f:?} {isa:?} width {cols}");
                }
            }
        }
    }
}

#[test]
fn fused_dense_forward_equals_product_bias_and_activation_bit_for_bit() {
    for &(m, k, n) in &[
        (32, 784, 300),
        (300, 32, 100),
        (7, 5, 3),
        (1, 9, 200),
        (0, 4, 3),
        (3, 0, 2),
    ] {
        let a = Tensor::from_vec(&[m, k], random(m * k, 3, 1.0)).unwrap();
        let w = Tensor::from_vec(&[k, n], random(k * n, 4, 0.2)).unwrap();
        let b = Tensor::from_vec(&[n], random(n, 5, 1.0)).unwrap();
        for f in [
            None,
            Some(Unary::Relu),
            Some(Unary::Gelu),
            Some(Unary::Sigmoid),
        ] {
            let mut want = a.matmul(&w).add_row(&b);
            if let Some(f) = f {
                want = want.unary(f);
            }
            let got = a.matmul_bias_unary(&w, Some(&b), f);
            assert_eq!(got.shape(), want.shape());
            assert_eq!(
                bits(got.as_slice()),
                bits(want.as_slice()),
                "{m}x{k}x{n} {f:?}"
            );
            let no_bias = a.matmul_bias_unary(&w, None, f);
            let mut want = a.matmul(&w);
            if let Some(f) = f {
                want = want.unary(f);
            }
            assert_eq!(
                bits(no_bias.as_slice()),
                bits(want.as_slice()),
                "{m}x{k}x{n} {f:?} no bias"
            );
        }
    }
}
