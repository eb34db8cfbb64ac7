//! One forward + backward pass of the chapter's 784-300-100-10 ReLU MLP at batch 32
//! (36 MFLOP of GEMM work: forward, weight gradients, and input gradients of layers 2 and 3).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::hint::black_box;
use strata_autograd::{Param, Tape};
use strata_tensor::Tensor;

fn random(shape: &[usize], seed: u64, scale: f32) -> Tensor {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::from_fn(shape, |_| rng.random_range(-scale..scale))
}

fn bench_mlp_step(c: &mut Criterion) {
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
        + 2 * 2 * 32 * (300 * 100 + 100 * 10);
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
            black_box(tape.backward(loss));
        })
    });
    group.finish();
}

criterion_group!(benches, bench_mlp_step);
criterion_main!(benches);
