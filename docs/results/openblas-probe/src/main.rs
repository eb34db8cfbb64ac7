//! Times Strata's GEMM kernels and OpenBLAS on the same operands in one process, in turns
//! (ABBA order across rounds), so that both see the same phase of a noisy VM.
//!
//! `openblas-probe ROUNDS SHAPE...` with SHAPE `MxKxN` or `MxKxN:ab` (`a`, `b` each `n` or
//! `t`: whether op(A), op(B) are transposed). Thread counts come from `RAYON_NUM_THREADS`
//! (Strata) and `OPENBLAS_NUM_THREADS` (OpenBLAS). Prints one line per round, shape and
//! kernel with the median and best GFLOP/s of the calls timed in that turn (~0.25 s), then
//! per shape the median over rounds of each kernel's ratio to OpenBLAS in the same round.

use std::time::Instant;
use strata_tensor::kernels::gemm::{GemmKernel, Transpose, matmul_with};

unsafe extern "C" {
    fn scipy_cblas_sgemm64_(
        order: i32,
        trans_a: i32,
        trans_b: i32,
        m: i64,
        n: i64,
        k: i64,
        alpha: f32,
        a: *const f32,
        lda: i64,
        b: *const f32,
        ldb: i64,
        beta: f32,
        c: *mut f32,
        ldc: i64,
    );
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernel {
    OpenBlas,
    Strata(GemmKernel),
}

struct Shape {
    m: usize,
    k: usize,
    n: usize,
    ta: Transpose,
    tb: Transpose,
    label: String,
}

fn parse(spec: &str) -> Shape {
    let (dims, trans) = spec.split_once(':').unwrap_or((spec, "nn"));
    let d: Vec<usize> = dims.split('x').map(|x| x.parse().expect("MxKxN")).collect();
    let t = |c: char| if c == 't' { Transpose::Yes } else { Transpose::No };
    let mut tc = trans.chars();
    Shape {
        m: d[0],
        k: d[1],
        n: d[2],
        ta: t(tc.next().unwrap()),
        tb: t(tc.next().unwrap()),
        label: spec.to_string(),
    }
}

fn call(kernel: Kernel, s: &Shape, a: &[f32], b: &[f32], c: &mut [f32]) {
    match kernel {
        Kernel::Strata(g) => matmul_with(g, a, s.ta, b, s.tb, s.m, s.k, s.n, c, false),
        Kernel::OpenBlas => {
            let ta = if s.ta == Transpose::Yes { 112 } else { 111 };
            let tb = if s.tb == Transpose::Yes { 112 } else { 111 };
            let lda = if s.ta == Transpose::Yes { s.m } else { s.k } as i64;
            let ldb = if s.tb == Transpose::Yes { s.k } else { s.n } as i64;
            // SAFETY: a holds m·k, b k·n and c m·n floats with the leading dimensions given.
            unsafe {
                scipy_cblas_sgemm64_(
                    101,
                    ta,
                    tb,
                    s.m as i64,
                    s.n as i64,
                    s.k as i64,
                    1.0,
                    a.as_ptr(),
                    lda,
                    b.as_ptr(),
                    ldb,
                    0.0,
                    c.as_mut_ptr(),
                    s.n as i64,
                )
            }
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args[0].parse().expect("ROUNDS");
    let shapes: Vec<Shape> = args[1..].iter().map(|s| parse(s)).collect();
    let mut kernels = vec![Kernel::OpenBlas];
    let wanted = std::env::var("KERNELS").unwrap_or_else(|_| "crate,own".into());
    for name in wanted.split(',') {
        kernels.push(match name {
            "crate" => Kernel::Strata(GemmKernel::Crate),
            "direct" => Kernel::Strata(GemmKernel::CrateDirect),
            "own" => Kernel::Strata(GemmKernel::OwnAvx2),
            "packed" => Kernel::Strata(GemmKernel::Packed),
            other => panic!("unknown kernel {other}"),
        });
    }
    let threads = strata_tensor::parallel::threads();
    println!(
        "# strata threads={threads} OPENBLAS_NUM_THREADS={}",
        std::env::var("OPENBLAS_NUM_THREADS").unwrap_or_default()
    );
    let mut ratios: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); kernels.len()]; shapes.len()];
    let mut seed = 0x2545_f491u32;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed as f32 / u32::MAX as f32) - 0.5
    };
    let data: Vec<(Vec<f32>, Vec<f32>)> = shapes
        .iter()
        .map(|s| {
            let a = (0..s.m * s.k).map(|_| rnd()).collect();
            let b = (0..s.k * s.n).map(|_| rnd()).collect();
            (a, b)
        })
        .collect();
    for round in 0..rounds {
        for (si, s) in shapes.iter().enumerate() {
            let (a, b) = &data[si];
            let mut c = vec![0.0f32; s.m * s.n];
            let flop = 2.0 * (s.m * s.k * s.n) as f64;
            let mut order: Vec<usize> = (0..kernels.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            let mut gflops = vec![0.0; kernels.len()];
            for &ki in &order {
                for _ in 0..2 {
                    call(kernels[ki], s, a, b, &mut c);
                }
                let mut times = Vec::new();
                let start = Instant::now();
                while times.len() < 3 || start.elapsed().as_secs_f64() < 0.25 {
                    let t = Instant::now();
                    call(kernels[ki], s, a, b, &mut c);
                    times.push(t.elapsed().as_secs_f64());
                }
                let best = times.iter().cloned().fold(f64::MAX, f64::min);
                let med = median(&mut times);
                gflops[ki] = flop / med / 1e9;
                println!(
                    "round={round} shape={} kernel={:?} calls={} median_gflops={:.1} best_gflops={:.1}",
                    s.label,
                    kernels[ki],
                    times.len(),
                    flop / med / 1e9,
                    flop / best / 1e9
                );
            }
            for ki in 0..kernels.len() {
                ratios[si][ki].push(gflops[ki] / gflops[0]);
            }
        }
    }
    for (si, s) in shapes.iter().enumerate() {
        for (ki, k) in kernels.iter().enumerate().skip(1) {
            let r = &mut ratios[si][ki].clone();
            let all: Vec<String> = ratios[si][ki].iter().map(|x| format!("{x:.2}")).collect();
            println!(
                "summary shape={} kernel={:?} median_ratio_to_openblas={:.2} rounds=[{}]",
                s.label,
                k,
                median(r),
                all.join(" ")
            );
        }
    }
}
