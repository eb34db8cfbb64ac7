//! Training and inference steps at the chapter's sizes:
//!
//! - forward + backward of the 784-300-100-10 ReLU MLP at batch 32 on the raw tape (36 MFLOP of
//!   GEMM work: forward, weight gradients, and input gradients of layers 2 and 3);
//! - one full `fit` step (forward, backward, SGD update, metrics) of W1 (the MLP) and W2 (the
//!   batch-normalized MLP) at batch 32;
//! - inference of W1 on a batch of 10,000 images.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::hint::black_box;
use strata::prelude::*;
use strata_autograd::{Param, Tape};

fn random(shape: &[usize], seed: u64, scale: f32) -> Tensor {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::from_fn(shape, |_| rng.random_range(-scale..scale))
}

fn bench_mlp_forward_backward(c: &mut Criterion) {
    let sizes = [784, 300, 100, 10];
    let params: Vec<(Param, Param)> = sizes
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let limit = (6.0 / (w[0] + w[1]) as f32).sqrt();
            (
                Param::new("kernel", random(&[w[0], w[1]], i as u64, limit)),
                Param::new("bias", Tensor::zeros(&[w[1]])),
            )
        })
        .collect();
    let x = random(&[32, 784], 99, 1.0).map(f32::abs);
    let labels: Vec<usize> = (0..32).map(|i| i % 10).collect();
    let flops: usize = sizes
        .windows(2)
        .map(|w| 2 * 32 * w[0] * w[1])
        .sum::<usize>()
        * 2
        + 2 * 32 * (300 * 100 + 100 * 10);
    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements(flops as u64));
    group.bench_function("mlp 784-300-100-10 batch 32 forward+backward", |bench| {
        bench.iter(|| {
            let tape = Tape::new();
            let mut h = tape.constant(x.clone());
            for (i, (kernel, bias)) in params.iter().enumerate() {
                h = h.matmul(tape.param(kernel)).add_row(tape.param(bias));
                if i + 1 < params.len() {
                    h = h.relu();
                }
            }
            let loss = h.sparse_softmax_cross_entropy(&labels);
            let grads = tape.backward(loss);
            // `backward` leaves a weight gradient as the factors of its product until it is
            // read (the fused SGD update consumes the factors directly); form every gradient
            // here so that the step does all of its 36 MFLOP.
            for (kernel, bias) in &params {
                black_box(grads.get(kernel));
                black_box(grads.get(bias));
            }
        })
    });
    group.finish();
}

fn w1() -> Sequential {
    let mut m = Sequential::with_seed(&[28, 28], 42);
    m.add(Flatten::new()).unwrap();
    m.add(
        Dense::new(300)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )
    .unwrap();
    m.add(
        Dense::new(100)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )
    .unwrap();
    m.add(Dense::new(10).activation("softmax")).unwrap();
    m
}

fn w2() -> Sequential {
    let mut m = Sequential::with_seed(&[28, 28], 42);
    m.add(Flatten::new()).unwrap();
    for _ in 0..2 {
        m.add(
            Dense::new(300)
                .kernel_initializer("he_normal")
                .use_bias(false),
        )
        .unwrap();
        m.add(BatchNormalization::new()).unwrap();
        m.add(Activation::Relu).unwrap();
    }
    m.add(Dense::new(10).activation("softmax")).unwrap();
    m
}

fn bench_fit_steps(c: &mut Criterion) {
    let x = random(&[32, 28, 28], 5, 1.0).map(f32::abs);
    let batch = Dataset::from_tensor(&x, (0..32).map(|i| i % 10).collect()).unwrap();
    let mut group = c.benchmark_group("fit_step");
    group.throughput(Throughput::Elements(32));
    for (name, mut model) in [("W1 mlp batch 32", w1()), ("W2 bn batch 32", w2())] {
        model
            .compile(
                Sgd::new(0.01),
                "sparse_categorical_crossentropy".parse().unwrap(),
                &[Metric::Accuracy],
            )
            .unwrap();
        group.bench_function(name, |bench| {
            bench.iter(|| {
                black_box(
                    model
                        .fit(&batch, FitOptions::epochs(1).verbose(0).shuffle(false))
                        .unwrap(),
                )
            })
        });
    }
    group.finish();
}

fn bench_inference(c: &mut Criterion) {
    let x = random(&[10_000, 28, 28], 6, 1.0).map(f32::abs);
    let mut model = w1();
    let mut group = c.benchmark_group("inference");
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(10);
    group.bench_function("W1 predict batch 10000", |bench| {
        bench.iter(|| black_box(model.predict(&x, 10_000).unwrap()))
    });
    group.bench_function("W1 predict batch 32 (10000 images)", |bench| {
        bench.iter(|| black_box(model.predict(&x, 32).unwrap()))
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_mlp_forward_backward,
    bench_fit_steps,
    bench_inference
);
criterion_main!(benches);
