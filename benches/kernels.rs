//! Kernel throughput: GEMM GFLOP/s in the three backprop forms at the chapter's shapes and at
//! 1024³, element-wise activations (forward and derivative), softmax and batch-norm, and the
//! gathering of a training batch from `u8` pixels.
//! The GEMM group also times the two Rust GEMM crates called directly, for the comparison in
//! `docs/performance.md` (hence the unsafe calls, allowed in this file only).
#![allow(unsafe_code)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::hint::black_box;
use strata_tensor::kernels::gemm as strata_gemm;
use strata_tensor::kernels::{activation, softmax};
use strata_tensor::{Isa, Transpose, Unary};

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn bench_gemm(c: &mut Criterion) {
    // matrixmultiply sizes its own pool from MATMUL_NUM_THREADS (all cores when unset): give it
    // rayon's thread count so that every row of the comparison uses the same number of threads.
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        let threads = rayon::current_num_threads().to_string();
        // SAFETY: no other thread reads or writes the environment here: criterion runs the
        // benches on this thread, and rayon's workers never touch the environment.
        unsafe { std::env::set_var("MATMUL_NUM_THREADS", threads) };
    }
    let mut group = c.benchmark_group("gemm");
    for &(m, k, n) in &[
        (32, 784, 300),
        (32, 300, 100),
        (256, 784, 300),
        (1024, 1024, 1024),
    ] {
        let a = random(m * k, 1);
        let b = random(k * n, 2);
        let mut out = vec![0.0; m * n];
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let label = format!("{m}x{k}x{n}");
        // "A·B" is the kernel `matmul` chooses for the shape; the others name one kernel.
        let chosen = strata_gemm::GemmKernel::for_product(m, k, n);
        for kernel in strata_gemm::GemmKernel::available() {
            let name = match kernel {
                _ if kernel == chosen => "A·B",
                strata_gemm::GemmKernel::Crate => "strata-crate A·B",
                strata_gemm::GemmKernel::CrateDirect => "gemm-direct A·B",
                strata_gemm::GemmKernel::OwnAvx2 => "strata-avx2 A·B",
                strata_gemm::GemmKernel::Packed => "strata-packed A·B",
                strata_gemm::GemmKernel::OwnAvx512 => "strata-avx512 A·B",
            };
            group.bench_function(BenchmarkId::new(name, &label), |bench| {
                bench.iter(|| {
                    strata_gemm::matmul_with(
                        kernel,
                        black_box(&a),
                        Transpose::No,
                        &b,
                        Transpose::No,
                        m,
                        k,
                        n,
                        &mut out,
                        false,
                    )
                })
            });
        }
        group.bench_function(BenchmarkId::new("matrixmultiply A·B", &label), |bench| {
            // SAFETY: the pointers and strides describe the live slices `a`, `b` and `out`.
            bench.iter(|| unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    k as isize,
                    1,
                    b.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    out.as_mut_ptr(),
                    n as isize,
                    1,
                )
            })
        });
        group.bench_function(BenchmarkId::new("gemm-crate A·B", &label), |bench| {
            // SAFETY: the pointers and strides describe the live slices `a`, `b` and `out`.
            bench.iter(|| unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    1,
                    k as isize,
                    b.as_ptr(),
                    1,
                    n as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                )
            })
        });
        // The weight gradient of a layer: Xᵀ·dY with X stored [m, k] (here A is read as k×m).
        let at = random(k * m, 3);
        group.bench_function(BenchmarkId::new("Aᵀ·B", &label), |bench| {
            bench.iter(|| {
                strata_gemm::matmul(
                    black_box(&at),
                    Transpose::Yes,
                    &b,
                    Transpose::No,
                    m,
                    k,
                    n,
                    &mut out,
                    false,
                )
            })
        });
        // The input gradient: dY·Wᵀ with W stored [n, k].
        let bt = random(n * k, 4);
        group.bench_function(BenchmarkId::new("A·Bᵀ", &label), |bench| {
            bench.iter(|| {
                strata_gemm::matmul(
                    black_box(&a),
                    Transpose::No,
                    &bt,
                    Transpose::Yes,
                    m,
                    k,
                    n,
                    &mut out,
                    false,
                )
            })
        });
    }
    group.finish();
}

fn bench_activations(c: &mut Criterion) {
    let mut group = c.benchmark_group("activation");
    let len = 32 * 300;
    let x: Vec<f32> = random(len, 5).iter().map(|v| v * 4.0).collect();
    let dy = random(len, 6);
    let mut y = vec![0.0; len];
    let mut dx = vec![0.0; len];
    group.throughput(Throughput::Elements(len as u64));
    for f in Unary::ALL {
        for isa in Isa::available() {
            let name = format!("{f:?}/{isa:?}");
            group.bench_function(BenchmarkId::new("forward", &name), |bench| {
                bench.iter(|| activation::forward_serial_with(isa, f, black_box(&x), &mut y))
            });
            activation::forward_serial_with(isa, f, &x, &mut y);
            group.bench_function(BenchmarkId::new("derivative", &name), |bench| {
                bench.iter(|| {
                    activation::backward_serial_with(isa, f, black_box(&x), &y, &dy, &mut dx)
                })
            });
        }
    }
    group.finish();
}

fn bench_softmax_and_batch_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("rows");
    let (rows, cols) = (32, 10);
    let x = random(rows * cols, 7);
    let mut out = vec![0.0; rows * cols];
    group.throughput(Throughput::Elements((rows * cols) as u64));
    group.bench_function("softmax 32x10", |bench| {
        bench.iter(|| softmax::softmax_rows(black_box(&x), cols, &mut out))
    });
    group.bench_function("log_softmax 32x10", |bench| {
        bench.iter(|| softmax::log_softmax_rows(black_box(&x), cols, &mut out))
    });
    let x = strata_tensor::Tensor::from_vec(&[32, 300], random(32 * 300, 8)).unwrap();
    let gamma = strata_autograd::Param::new("gamma", strata_tensor::Tensor::ones(&[300]));
    let beta = strata_autograd::Param::new("beta", strata_tensor::Tensor::zeros(&[300]));
    group.throughput(Throughput::Elements(32 * 300));
    group.bench_function("batch_norm forward+backward 32x300", |bench| {
        bench.iter(|| {
            let tape = strata_autograd::Tape::new();
            let input = tape.variable(x.clone());
            let (y, _) = input.batch_norm(tape.param(&gamma), tape.param(&beta), 1e-3);
            black_box(tape.backward(y.sum()));
        })
    });
    group.finish();
}

/// `n` synthetic 28×28 `u8` images with labels, as a byte dataset.
fn byte_images(n: usize) -> strata::data::Dataset {
    let pixels: Vec<u8> = (0..n * 784).map(|i| (i * 7919 % 251) as u8).collect();
    let labels: Vec<u32> = (0..n).map(|i| (i % 10) as u32).collect();
    strata::data::Dataset::from_bytes(pixels, &[28, 28], labels).expect("valid dataset")
}

/// Times `iters` calls of `Batches::fill_with(stores)` for batches of 32 of `data`, shuffled,
/// starting a new epoch whenever one ends; `between(batch)` runs untimed before each call,
/// with the batch the previous call wrote.
fn timed_fills(
    data: &strata::data::Dataset,
    iters: u64,
    stores: strata_tensor::kernels::convert::Stores,
    mut between: impl FnMut(&strata::data::Batch),
) -> std::time::Duration {
    use strata::data::{Batch, Order};
    let mut batch = Batch::default();
    let mut epoch = 0;
    let mut batches = data
        .batches(32, Order::Shuffled { seed: 1 }, epoch)
        .unwrap();
    let mut total = std::time::Duration::ZERO;
    for _ in 0..iters {
        between(&batch);
        let start = std::time::Instant::now();
        let filled = batches.fill_with(&mut batch, stores);
        total += start.elapsed();
        if !filled {
            epoch += 1;
            batches = data
                .batches(32, Order::Shuffled { seed: 1 }, epoch)
                .unwrap();
        }
    }
    total
}

/// `Batches::fill` for batches of 32 shuffled 28×28 `u8` images (a Fashion-MNIST-sized set of
/// 60,000), timed alone while other memory traffic runs between calls as a training step's
/// would: 0 (everything the previous call prefetched is still cached), 2 MB (a W3-sized step)
/// and 12 MB (more than a W1 step moves).
fn bench_batch_gathering(c: &mut Criterion) {
    use strata_tensor::kernels::convert::Stores;
    let data = byte_images(60_000);
    let mut group = c.benchmark_group("data");
    for traffic_mb in [0usize, 2, 12] {
        let mut other = vec![1.0f32; traffic_mb << 18];
        group.bench_function(
            BenchmarkId::new("fill batch 32", format!("{traffic_mb} MB between")),
            |bench| {
                bench.iter_custom(|iters| {
                    timed_fills(&data, iters, Stores::Cached, |_| {
                        // One cache line in every 16 floats: the traffic, not the arithmetic.
                        for x in other.iter_mut().step_by(16) {
                            *x += 1.0;
                        }
                        black_box(&other);
                    })
                });
            },
        );
    }
    group.finish();
}

/// `Batches::fill_with` for batches of 32 shuffled 28×28 `u8` images, with ordinary and with
/// streaming stores, when between calls both cores read half of each row of the batch (as
/// the depth halves of a split first product do): the case `fit`'s streaming stores are for
/// (`docs/performance.md`, item 32). Two dataset sizes: W3's 11,900 images (9 MB, within the
/// L3 of the machines measured) and W1's 55,000 (43 MB). Only the fill is timed; with one
/// thread both halves are read on this core.
fn bench_batch_gathering_read_on_two_cores(c: &mut Criterion) {
    use std::sync::atomic::{AtomicU32, Ordering};
    use strata_tensor::kernels::convert::Stores;
    strata_tensor::parallel::start_helpers();
    let mut group = c.benchmark_group("data");
    for n in [11_900usize, 55_000] {
        let data = byte_images(n);
        for (name, stores) in [("cached", Stores::Cached), ("streaming", Stores::Streaming)] {
            group.bench_function(
                BenchmarkId::new(
                    "fill batch 32, read on two cores",
                    format!("{name}, {n} images"),
                ),
                |bench| {
                    bench.iter_custom(|iters| {
                        timed_fills(&data, iters, stores, |batch| {
                            // Each part sums its half of every row, as a depth half reads it.
                            let x = batch.inputs.as_slice();
                            let sums = [AtomicU32::new(0), AtomicU32::new(0)];
                            strata_tensor::parallel::run_parts(2, &|p| {
                                let s: f32 = x
                                    .chunks_exact(784)
                                    .map(|row| row[p * 392..(p + 1) * 392].iter().sum::<f32>())
                                    .sum();
                                sums[p].store(s.to_bits(), Ordering::Relaxed);
                            });
                            black_box(&sums);
                        })
                    });
                },
            );
        }
    }
    group.finish();
}

/// One optimizer step on W1's first kernel (784×300), for each per-element rule and
/// instruction set: the update pass of the adaptive optimizers (memory-bound once vectorized).
fn bench_optimizer_updates(c: &mut Criterion) {
    use strata_tensor::kernels::update::{self, Rule};
    let mut group = c.benchmark_group("update");
    let len = 784 * 300;
    let g = random(len, 11);
    let rules = [
        ("sgd", Rule::Sgd { lr: 0.01 }),
        (
            "momentum",
            Rule::Momentum {
                lr: 0.01,
                momentum: 0.9,
                nesterov: false,
            },
        ),
        (
            "rmsprop",
            Rule::RmsProp {
                lr: 0.001,
                rho: 0.9,
                momentum: 0.0,
                epsilon: 1e-7,
                centered: false,
            },
        ),
        (
            "adam",
            Rule::Adam {
                alpha: 0.0003,
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
        ),
        (
            "nadam",
            Rule::Nadam {
                lr: 0.001,
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                u_t: 0.4608,
                u_t_1: 0.4623,
                u_product_t: 0.2128,
                u_product_t_1: 0.0984,
                beta_2_power: 0.997,
            },
        ),
    ];
    group.throughput(Throughput::Elements(len as u64));
    for (name, rule) in rules {
        for isa in Isa::available() {
            let mut w = random(len, 12);
            let mut slots: Vec<Vec<f32>> = (0..rule.slots())
                .map(|s| random(len, 13 + s as u64).iter().map(|v| v.abs()).collect())
                .collect();
            group.bench_function(
                BenchmarkId::new(name, format!("{isa:?}, 784x300")),
                |bench| {
                    bench.iter(|| {
                        let mut views: Vec<&mut [f32]> =
                            slots.iter_mut().map(|s| s.as_mut_slice()).collect();
                        update::apply_with(isa, rule, &mut w, black_box(&g), &mut views)
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_gemm,
    bench_activations,
    bench_softmax_and_batch_norm,
    bench_batch_gathering,
    bench_batch_gathering_read_on_two_cores,
    bench_optimizer_updates
);
criterion_main!(benches);
