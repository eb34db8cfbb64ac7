//! GFLOP/s of every GEMM kernel on the products of a W1 training step (the 784-300-100-10 MLP
//! at batch 32) and of W3 (784-100-100-100-1), in the form each product really has: the
//! forward products `X·W`, the weight gradients `Xᵀ·dY` (k = 32) and the input gradients
//! `dY·Wᵀ` (W1's output layer's too); two alignment probes beside W1's first forward product and weight gradient, with
//! n = 304 instead of 300 (rows of B and C on 64-byte boundaries; `docs/performance.md`,
//! item 29); the same at batch 256 (with the second and third forward products), one of
//! W4's 272-row inference pieces, two forward products whose weight is 1 MiB (256×512·512×512
//! and 512×1024·1024×256), W4's first layer at batch 10,000 and 1024³ for scale
//! (skip the products of more than 16M multiply-adds with `--small`, or keep only those with
//! `--large`; `--kernels Crate,OwnAvx512` times only the kernels named, as `GemmKernel`'s
//! variants are spelled).
//!
//! The kernels are timed in turns, round after round, so that the noise of a shared machine
//! falls on all of them alike; each line gives the best and the median round.
//!
//! ```sh
//! cargo run --release --example gemm_shapes -- [--threads N] [--rounds R] [--small|--large]
//!     [--kernels K1,K2]
//! ```

use std::time::Instant;
use strata_tensor::Transpose;
use strata_tensor::kernels::gemm::{GemmKernel, matmul_with};

/// One product of the step: name, `op(A)` is m×k, `op(B)` is k×n.
struct Product {
    name: &'static str,
    m: usize,
    k: usize,
    n: usize,
    trans_a: Transpose,
    trans_b: Transpose,
}

fn main() {
    let mut threads = 1;
    let mut rounds = 30;
    let mut small = false;
    let mut large = false;
    let mut only: Option<Vec<String>> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse::<usize>().ok());
        match (args[i].as_str(), value) {
            ("--threads", Some(v)) if v > 0 => threads = v,
            ("--rounds", Some(v)) if v > 0 => rounds = v,
            ("--small", _) => {
                small = true;
                i += 1;
                continue;
            }
            ("--large", _) => {
                large = true;
                i += 1;
                continue;
            }
            ("--kernels", _) if i + 1 < args.len() => {
                only = Some(args[i + 1].split(',').map(str::to_owned).collect());
            }
            _ => {
                eprintln!(
                    "usage: gemm_shapes [--threads N] [--rounds R] [--small|--large] \
                     [--kernels K1,K2]"
                );
                std::process::exit(2);
            }
        }
        i += 2;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    if let Err(e) = pool {
        eprintln!("could not size the thread pool: {e}");
        std::process::exit(1);
    }
    let products = [
        Product {
            name: "forward 1  X·W",
            m: 32,
            k: 784,
            n: 300,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "probe 304  X·W",
            m: 32,
            k: 784,
            n: 304,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "forward 2  X·W",
            m: 32,
            k: 300,
            n: 100,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "dW 1       Xᵀ·dY",
            m: 784,
            k: 32,
            n: 300,
            trans_a: Transpose::Yes,
            trans_b: Transpose::No,
        },
        Product {
            name: "dW probe   Xᵀ·dY",
            m: 784,
            k: 32,
            n: 304,
            trans_a: Transpose::Yes,
            trans_b: Transpose::No,
        },
        Product {
            name: "dW 2       Xᵀ·dY",
            m: 300,
            k: 32,
            n: 100,
            trans_a: Transpose::Yes,
            trans_b: Transpose::No,
        },
        Product {
            name: "dX 2       dY·Wᵀ",
            m: 32,
            k: 100,
            n: 300,
            trans_a: Transpose::No,
            trans_b: Transpose::Yes,
        },
        Product {
            name: "forward 3  X·W",
            m: 32,
            k: 100,
            n: 10,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "dW 3       Xᵀ·dY",
            m: 100,
            k: 32,
            n: 10,
            trans_a: Transpose::Yes,
            trans_b: Transpose::No,
        },
        Product {
            name: "dX 3       dY·Wᵀ",
            m: 32,
            k: 10,
            n: 100,
            trans_a: Transpose::No,
            trans_b: Transpose::Yes,
        },
        Product {
            name: "W3 fwd 1   X·W",
            m: 32,
            k: 784,
            n: 100,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "W3 fwd 2   X·W",
            m: 32,
            k: 100,
            n: 100,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "W3 dW 1    Xᵀ·dY",
            m: 784,
            k: 32,
            n: 100,
            trans_a: Transpose::Yes,
            trans_b: Transpose::No,
        },
        Product {
            name: "W3 dW 2    Xᵀ·dY",
            m: 100,
            k: 32,
            n: 100,
            trans_a: Transpose::Yes,
            trans_b: Transpose::No,
        },
        Product {
            name: "W3 dX 2    dY·Wᵀ",
            m: 32,
            k: 100,
            n: 100,
            trans_a: Transpose::No,
            trans_b: Transpose::Yes,
        },
        Product {
            name: "bs256 fwd  X·W",
            m: 256,
            k: 784,
            n: 300,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "bs256 fwd2 X·W",
            m: 256,
            k: 300,
            n: 100,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "bs256 fwd3 X·W",
            m: 256,
            k: 100,
            n: 10,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "W4 piece   X·W",
            m: 272,
            k: 784,
            n: 300,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "wide 512²  X·W",
            m: 256,
            k: 512,
            n: 512,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "deep 1024  X·W",
            m: 512,
            k: 1024,
            n: 256,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "bs256 dW   Xᵀ·dY",
            m: 784,
            k: 256,
            n: 300,
            trans_a: Transpose::Yes,
            trans_b: Transpose::No,
        },
        Product {
            name: "bs256 dX   dY·Wᵀ",
            m: 256,
            k: 300,
            n: 784,
            trans_a: Transpose::No,
            trans_b: Transpose::Yes,
        },
        Product {
            name: "W4 bs1e4  X·W",
            m: 10_000,
            k: 784,
            n: 300,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
        Product {
            name: "1024³      A·B",
            m: 1024,
            k: 1024,
            n: 1024,
            trans_a: Transpose::No,
            trans_b: Transpose::No,
        },
    ];
    let kernels: Vec<GemmKernel> = GemmKernel::available()
        .into_iter()
        .filter(|k| {
            only.as_ref()
                .is_none_or(|names| names.iter().any(|n| *n == format!("{k:?}")))
        })
        .collect();
    if kernels.is_empty() {
        eprintln!(
            "no kernel of --kernels runs on this CPU; available: {:?}",
            GemmKernel::available()
        );
        std::process::exit(2);
    }
    println!("threads={threads} rounds={rounds}");
    for p in products
        .iter()
        .filter(|p| !small || p.m * p.k * p.n < 1 << 24)
        .filter(|p| !large || p.m * p.k * p.n >= 1 << 24)
    {
        let a: Vec<f32> = (0..p.m * p.k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let b: Vec<f32> = (0..p.k * p.n)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
            .collect();
        let mut c = vec![0.0f32; p.m * p.n];
        let flop = 2.0 * (p.m * p.k * p.n) as f64;
        // Enough repetitions per round for ~2 ms of work.
        let reps = ((2e-3 * 50e9 / flop) as usize).clamp(1, 2000);
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); kernels.len()];
        for round in 0..=rounds {
            for (slot, &kernel) in kernels.iter().enumerate() {
                let start = Instant::now();
                for _ in 0..reps {
                    matmul_with(
                        kernel,
                        std::hint::black_box(&a),
                        p.trans_a,
                        &b,
                        p.trans_b,
                        p.m,
                        p.k,
                        p.n,
                        &mut c,
                        false,
                    );
                }
                // Round 0 warms caches, pools and threads.
                if round > 0 {
                    times[slot].push(start.elapsed().as_secs_f64() / reps as f64);
                }
            }
        }
        for (kernel, t) in kernels.iter().zip(&mut times) {
            t.sort_by(f64::total_cmp);
            let best = flop / t[0] / 1e9;
            let median = flop / t[t.len() / 2] / 1e9;
            println!(
                "{:<18} {:>4}x{:<4}x{:<4} {:<8} best {:6.1} GFLOP/s  median {:6.1}  ({:.1} µs)",
                p.name,
                p.m,
                p.k,
                p.n,
                format!("{kernel:?}"),
                best,
                median,
                t[t.len() / 2] * 1e6
            );
        }
    }
}
