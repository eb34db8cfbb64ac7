//! What one core of this machine computes at most, and how much of it a product from cache
//! reaches, second by second.
//!
//! Each second alternates ~1 ms windows of two loads on the calling thread:
//! - **peak**: twelve independent 8-lane FMA chains in registers (no memory traffic), the
//!   ceiling that `docs/performance.md` states the FLOP limits against (AVX2+FMA; 0 without);
//! - **gemm**: Strata's default GEMM on W1's batch-256 forward product, 256×784×300 (1.4 MB
//!   of operands: it runs from L2 and L3).
//!
//! On a quiet machine both stay flat. On a shared VM a phase in which the product slows down
//! while the peak does not is contention for the caches and memory, not for the core.
//!
//! ```sh
//! cargo run --release --example fma_peak -- [--seconds S]
//! ```
#![allow(unsafe_code)]

use std::time::Instant;
use strata_tensor::Transpose;
use strata_tensor::kernels::gemm::matmul;

/// Runs `iters` steps of twelve independent FMA chains and returns a value that depends on
/// all of them (so that none is optimised away).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_chains(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(0.0); 12];
    let a = _mm256_set1_ps(0.999);
    let b = _mm256_set1_ps(0.001);
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm256_fmadd_ps(a, *r, b);
        }
    }
    let mut sum = _mm256_setzero_ps();
    for r in acc {
        sum = _mm256_add_ps(sum, r);
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 floats, the width of one unaligned store.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    lanes.iter().sum()
}

/// GFLOP/s of `iters` steps of [`fma_chains`], or `None` without AVX2 and FMA.
fn peak(iters: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        let start = Instant::now();
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        let value = unsafe { fma_chains(iters) };
        std::hint::black_box(value);
        return Some((iters * 12 * 16) as f64 / start.elapsed().as_secs_f64() / 1e9);
    }
    let _ = iters;
    None
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = match args.as_slice() {
        [] => 10,
        [flag, s] if flag == "--seconds" => match s.parse::<usize>() {
            Ok(s) if s > 0 => s,
            _ => {
                eprintln!("--seconds takes a positive whole number");
                std::process::exit(2);
            }
        },
        _ => {
            eprintln!("usage: fma_peak [--seconds S]");
            std::process::exit(2);
        }
    };
    // One thread: the product must not be split.
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
    {
        eprintln!("could not size the thread pool: {e}");
        std::process::exit(1);
    }
    let (m, k, n) = (256, 784, 300);
    let a: Vec<f32> = (0..m * k)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
        .collect();
    let b: Vec<f32> = (0..k * n)
        .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
        .collect();
    let mut c = vec![0.0f32; m * n];
    let flop = 2.0 * (m * k * n) as f64;
    println!(
        "second  peak GFLOP/s (min / median / max)  gemm 256x784x300 GFLOP/s (min / median / max)"
    );
    for second in 1..=seconds {
        let (mut peaks, mut products) = (Vec::new(), Vec::new());
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < 1.0 {
            match peak(500_000) {
                Some(g) => peaks.push(g),
                None => peaks.push(0.0),
            }
            let t = Instant::now();
            matmul(&a, Transpose::No, &b, Transpose::No, m, k, n, &mut c, false);
            products.push(flop / t.elapsed().as_secs_f64() / 1e9);
        }
        let (p_min, p_max) = (
            peaks.iter().copied().fold(f64::MAX, f64::min),
            peaks.iter().copied().fold(0.0, f64::max),
        );
        let (g_min, g_max) = (
            products.iter().copied().fold(f64::MAX, f64::min),
            products.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "{second:>6}  {p_min:6.1} / {:6.1} / {p_max:6.1}              {g_min:6.1} / {:6.1} / {g_max:6.1}",
            median(&mut peaks),
            median(&mut products)
        );
    }
}
