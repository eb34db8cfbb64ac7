//! Single-precision matrix multiplication in the three forms backprop needs.
//!
//! The micro-kernels come from the `gemm` crate (built with its `x86-v4` feature, so it has
//! AVX-512 kernels and picks them at run time; the binary stays portable). It takes arbitrary
//! row and column strides, so `Aᵀ·B` and `A·Bᵀ` read the stored operand in place; no transpose
//! is ever materialised. `docs/performance.md` records the measurements behind this choice.

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    /// Use the operand as stored.
    No,
    /// Use the transpose of the stored operand.
    Yes,
}

/// Multiply-add counts (`m·k·n`) at or above which the multiplication uses every rayon thread.
/// Below it, waking a second thread costs more than it saves (see `docs/performance.md`).
pub const PARALLEL_MACS: usize = 1 << 23;

/// `C = op(A) · op(B)` (or `C += op(A) · op(B)` when `accumulate`), all row-major.
///
/// `op(A)` is `m×k`: with [`Transpose::No`] `a` holds `m×k`, with [`Transpose::Yes`] it holds
/// `k×m`. `op(B)` is `k×n`: `b` holds `k×n` or, transposed, `n×k`. `c` holds `m×n`.
///
/// # Panics
/// When a slice length does not match its stated shape.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: &[f32],
    trans_a: Transpose,
    b: &[f32],
    trans_b: Transpose,
    m: usize,
    k: usize,
    n: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    matmul_with(
        GemmKernel::selected(),
        a,
        trans_a,
        b,
        trans_b,
        m,
        k,
        n,
        c,
        accumulate,
    )
}

/// A GEMM implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmKernel {
    /// The `gemm` crate: AVX-512 micro-kernels when the CPU has them, AVX2 or portable ones
    /// otherwise. The default, by measurement (`docs/performance.md`).
    Crate,
    /// Strata's hand-written AVX2+FMA kernel (`gemm_avx2.rs`); needs AVX2 and FMA.
    OwnAvx2,
}

impl GemmKernel {
    /// The kernel `matmul` uses: [`GemmKernel::Crate`], unless `STRATA_GEMM=own` selects the
    /// hand-written AVX2 kernel on a CPU that has AVX2 and FMA.
    pub fn selected() -> GemmKernel {
        static CHOICE: std::sync::OnceLock<GemmKernel> = std::sync::OnceLock::new();
        *CHOICE.get_or_init(|| match std::env::var("STRATA_GEMM").as_deref() {
            Ok("own") if super::Isa::Avx2.is_supported() => GemmKernel::OwnAvx2,
            _ => GemmKernel::Crate,
        })
    }

    /// Every kernel this CPU can run.
    pub fn available() -> Vec<GemmKernel> {
        let mut kernels = vec![GemmKernel::Crate];
        if super::Isa::Avx2.is_supported() {
            kernels.push(GemmKernel::OwnAvx2);
        }
        kernels
    }
}

/// [`matmul`] with a given kernel (for tests and measurements).
///
/// # Panics
/// As [`matmul`]; also when `kernel` needs instructions the CPU lacks.
#[allow(clippy::too_many_arguments)]
pub fn matmul_with(
    kernel: GemmKernel,
    a: &[f32],
    trans_a: Transpose,
    b: &[f32],
    trans_b: Transpose,
    m: usize,
    k: usize,
    n: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    assert_eq!(
        a.len(),
        m * k,
        "matmul: A has {} elements, expected {m}×{k}",
        a.len()
    );
    assert_eq!(
        b.len(),
        k * n,
        "matmul: B has {} elements, expected {k}×{n}",
        b.len()
    );
    assert_eq!(
        c.len(),
        m * n,
        "matmul: C has {} elements, expected {m}×{n}",
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let (a_rs, a_cs) = match trans_a {
        Transpose::No => (k as isize, 1),
        Transpose::Yes => (1, m as isize),
    };
    let (b_rs, b_cs) = match trans_b {
        Transpose::No => (n as isize, 1),
        Transpose::Yes => (1, k as isize),
    };
    if kernel == GemmKernel::OwnAvx2 {
        #[cfg(target_arch = "x86_64")]
        {
            super::gemm_avx2::matmul(
                a,
                trans_a,
                b,
                trans_b,
                m,
                k,
                n,
                c,
                accumulate,
                m * n * k >= super::gemm_avx2::PARALLEL_MACS,
            );
            return;
        }
        #[cfg(not(target_arch = "x86_64"))]
        panic!("the hand-written AVX2 GEMM needs x86-64");
    }
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 && m * n * k >= PARALLEL_MACS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above guarantee that every index the strides describe lies inside its
    // slice: A is read at i·a_rs + p·a_cs < m·k, B at p·b_rs + j·b_cs < k·n, and C is written at
    // i·n + j < m·n. `c` is a unique borrow, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The plain triple loop, accumulated in `f64`: the reference the fast path is tested against.
#[allow(clippy::too_many_arguments)]
pub fn matmul_reference(
    a: &[f32],
    trans_a: Transpose,
    b: &[f32],
    trans_b: Transpose,
    m: usize,
    k: usize,
    n: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    assert_eq!(a.len(), m * k, "matmul_reference: A length");
    assert_eq!(b.len(), k * n, "matmul_reference: B length");
    assert_eq!(c.len(), m * n, "matmul_reference: C length");
    for i in 0..m {
        for j in 0..n {
            let mut total = 0.0f64;
            for p in 0..k {
                let av = match trans_a {
                    Transpose::No => a[i * k + p],
                    Transpose::Yes => a[p * m + i],
                };
                let bv = match trans_b {
                    Transpose::No => b[p * n + j],
                    Transpose::Yes => b[j * k + p],
                };
                total += av as f64 * bv as f64;
            }
            let cell = &mut c[i * n + j];
            *cell = if accumulate {
                *cell + total as f32
            } else {
                total as f32
            };
        }
    }
}
