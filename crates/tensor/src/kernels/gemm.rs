//! Single-precision matrix multiplication in the three forms backprop needs.
//!
//! Three kernels, chosen per product by [`GemmKernel::for_product`]: the `gemm` crate (built
//! with its `x86-v4` feature, so it has AVX-512 kernels and picks them at run time; the binary
//! stays portable), the default; a packed, BLIS-style AVX2+FMA kernel (`gemm_packed.rs`) for
//! weight gradients and large products on AVX2 CPUs, which gives the crate's bits; and a
//! hand-written AVX2+FMA kernel that reads its operands in place (`gemm_avx2.rs`) and needs no
//! heap memory, chosen with `STRATA_GEMM=own` for products up to [`OWN_MAX_MACS`]. All take
//! the operands through strides (the packed kernel packs through them), so `Aᵀ·B` and `A·Bᵀ`
//! cost no transpose of their own. For outputs of 16 or 32 rows (a batch) each block of `C` is
//! computed column-major into per-thread scratch memory, which is then transposed into `C` in
//! 8×8 register tiles: a 16×6 micro-kernel then spans the batch exactly (the crate's bits,
//! 10–40 % faster products; see [`GemmKernel::Crate`]), formed by Strata's own batch kernel
//! (`gemm_batch.rs`, the crate's arithmetic with a reused packing buffer); a batch's
//! forward product through a tall weight is formed there as two sums over the halves of `k`,
//! so that two threads split it the way the weight's update is split. All
//! kernels split large products into blocks of `C` claimed by the threads of
//! [`crate::parallel`], and run the same epilogue on each finished block.
//! `docs/performance.md` records the measurements behind the choice.

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    /// Use the operand as stored.
    No,
    /// Use the transpose of the stored operand.
    Yes,
}

/// Multiply-add counts (`m·k·n`) at or above which the product is split into blocks of `C`
/// shared by the threads ([`crate::parallel::threads`]), on every CPU but those of
/// [`PARALLEL_MACS_AVX2`]. Below it, handing a block to another thread costs more than it saves
/// (measured in `docs/performance.md`). See [`parallel_macs`] for the threshold in effect.
pub const PARALLEL_MACS: usize = 1 << 18;

/// [`PARALLEL_MACS`] for AMD CPUs of family 17h (Zen to Zen 2, whose L3 cache is shared by
/// complexes of four cores) where the `gemm` crate runs its AVX2 kernels: a batch-32 product
/// through a 100×100 weight (320k multiply-adds) stays on one thread, which made W3's unfrozen
/// epochs 12 % faster at 2 threads on a Zen 2 VM (`docs/performance.md`, item 31). On a Zen 3
/// VM (family 19h, eight cores per L3) splitting them made W3 8–30 % faster at 2 threads
/// (item 34), as on the AVX-512 machines.
pub const PARALLEL_MACS_AVX2: usize = 1 << 19;

/// The multiply-add count from which this CPU splits a product across threads:
/// [`PARALLEL_MACS_AVX2`] on an AMD family-17h CPU where the `gemm` crate runs its AVX2
/// kernels, [`PARALLEL_MACS`] elsewhere. It depends on the CPU alone, never on the thread count.
pub fn parallel_macs() -> usize {
    static MACS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MACS.get_or_init(|| {
        if crate_runs_avx2() && amd_family_17h() {
            PARALLEL_MACS_AVX2
        } else {
            PARALLEL_MACS
        }
    })
}

/// Reserves, on the calling thread, the scratch memory that Strata's product kernels keep per
/// thread (packing buffers, the column-major blocks of batch products), at the largest size
/// any product can ask of it, so that no later product grows it on this thread.
///
/// Which thread forms which part of a split product is decided while it runs (the first free
/// thread takes the next part), so without this a thread may meet a larger part than before,
/// and grow its scratch, at any step: on a loaded machine a helper that was late for every
/// part of the first steps did so in a later one. [`crate::parallel::start_helpers`] calls
/// this on every helper and on its caller; `fit` calls that before its first step.
///
/// The reservation is address space until used, its pages touched only as far as products
/// use them. Where the `gemm` crate runs its AVX2 kernels it is 3.4 MiB per thread with the
/// crate's 512-step k blocks (CPUs with a 32 KiB, 8-way L1 data cache), most of it the packed
/// kernel's 2 MiB `B` block, and about twice that with 1,024-step blocks (48 KiB, 12-way);
/// 33 KiB on AVX-512 CPUs; nothing elsewhere or with `STRATA_GEMM=crate`.
pub fn reserve_thread_scratch() {
    #[cfg(target_arch = "x86_64")]
    {
        if *Choice::get() == Choice::Crate {
            return;
        }
        if crate_runs_avx2() {
            // The crate's k blocks are at most this deep: 512 steps for products with both
            // sides at most 64 (`gemm_batch::crate_depth_block_of_call`), its cache-derived
            // block (a power of two times the L1 set span, at least 512) otherwise.
            let kc_max = crate_depth_block(1, 1 << 24, 1)
                .next_power_of_two()
                .max(512);
            super::gemm_packed::reserve(kc_max);
            super::gemm_batch::reserve(TRANSPOSED_MAX_ROWS, kc_max);
            TRANSPOSED_SCRATCH.with(|scratch| {
                super::gemm_packed::reserve_floats(
                    &mut scratch.borrow_mut(),
                    TRANSPOSED_MAX_ELEMENTS,
                )
            });
        }
        if super::Isa::Avx512.is_supported() {
            super::gemm_avx512::reserve();
        }
    }
}

/// Whether this CPU is an AMD one of family 17h (Zen, Zen+, Zen 2), read from `cpuid`.
fn amd_family_17h() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // Leaves 0 (vendor) and 1 (signature) exist on every x86-64 CPU.
        let (vendor, signature) = (
            std::arch::x86_64::__cpuid(0),
            std::arch::x86_64::__cpuid(1).eax,
        );
        // "AuthenticAMD" in ebx, edx, ecx.
        let amd =
            vendor.ebx == 0x6874_7541 && vendor.edx == 0x6974_6e65 && vendor.ecx == 0x444d_4163;
        let family = ((signature >> 8) & 0xf) + ((signature >> 20) & 0xff);
        amd && family == 0x17
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `C = op(A) · op(B)` (or `C += op(A) · op(B)` when `accumulate`), all row-major, by the
/// [`GemmKernel::for_product`] kernel.
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
        GemmKernel::for_product(m, k, n),
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
    /// otherwise. It packs operands into panels that it allocates on every call (and per
    /// block when a product is split across threads). On AVX2 CPUs, a product that overwrites
    /// a `C` of 16 or 32 rows is computed column-major into per-thread scratch and transposed
    /// into `C` (bit-identical to [`GemmKernel::CrateDirect`], and 10–40 % faster at batch
    /// 32: `docs/performance.md`, item 20), by Strata's own batch kernel, which does the
    /// crate's arithmetic with a packing buffer reused from call to call (item 33), except that
    /// a forward product through a tall weight (`k ≥ n > m`, large enough to split) is summed
    /// there as two sums over the halves of `k`, added at the end, on any number of threads
    /// (item 31). The default
    /// ([`GemmKernel::for_product`]).
    Crate,
    /// The `gemm` crate writing straight into the row-major `C` for every product, without
    /// the column-major scratch path [`GemmKernel::Crate`] takes for batch-16/32 outputs:
    /// the previous default, kept for comparisons (`STRATA_GEMM=direct`).
    CrateDirect,
    /// Strata's hand-written AVX2+FMA kernel (`gemm_avx2.rs`); needs AVX2 and FMA. It reads
    /// A and B in place (packing only `Bᵀ` panels and edges, into stack scratch) and allocates
    /// nothing. Used for products up to [`OWN_MAX_MACS`] multiply-adds with `STRATA_GEMM=own`.
    OwnAvx2,
    /// Strata's packed AVX2+FMA kernel (`gemm_packed.rs`, BLIS-style: both operands packed
    /// into micro-panels in per-thread buffers that are reused from call to call); needs AVX2
    /// and FMA.
    Packed,
    /// Strata's in-place AVX-512 kernel (`gemm_avx512.rs`: 8×48 tiles, operands read through
    /// their strides, column edges under lane masks, only `Bᵀ` panels copied, into a
    /// per-thread buffer reused from call to call); needs AVX-512.
    OwnAvx512,
}

/// Products whose `C` has both sides longer than 64 and at least this many elements go to
/// [`GemmKernel::Packed`] on AVX2 CPUs (see [`GemmKernel::for_product`]); smaller ones (a
/// 100×100 weight gradient, say) measured level or slower in it.
pub const PACKED_MIN_OUTPUT: usize = 1 << 14;

/// On AVX2 CPUs, products with `m > 64`, `k` at most this and at most [`OWN_MAX_MACS`]
/// multiply-adds that [`GemmKernel::Packed`] does not take (the weight gradients over a batch of
/// up to 64 whose output is small: a 100×10 or 100×100 weight) go to [`GemmKernel::OwnAvx2`],
/// which gives the crate's bits on them (one k block either way), ran them level with the crate
/// (`docs/performance.md`, item 33), and needs no heap memory where the crate allocates its
/// packing buffers on every call.
pub const OWN_AVX2_MAX_DEPTH: usize = 64;

/// On AVX-512 CPUs, products with `m` or `k` at most this (a batch of up to 64 rows forward or
/// backward, or a weight gradient summed over such a batch) go to [`GemmKernel::OwnAvx512`];
/// larger ones (batch 256, inference at batch 10,000, 1024³) stay with the `gemm` crate, whose
/// packed AVX-512 kernels measured faster there (`docs/performance.md`, item 25).
pub const OWN_AVX512_MAX_SIDE: usize = 64;

/// With `STRATA_GEMM=own`, products of at most this many multiply-adds (`m·k·n`) go to the
/// hand-written AVX2 kernel and larger ones to the `gemm` crate (see
/// [`GemmKernel::for_product`]). Measured in `docs/performance.md` (item 14): on isolated
/// products the hand-written kernel matches the crate up to batch 32 (7.5M multiply-adds),
/// trails it by 10–20 % at batch 256 (60M) and by half at 1024³.
pub const OWN_MAX_MACS: usize = 1 << 23;

impl GemmKernel {
    /// The kernel [`matmul`], [`matmul_add_scaled`] and [`matmul_bias_unary`] use for an
    /// `m×k · k×n` product.
    ///
    /// On a CPU with AVX2 and FMA but not AVX-512 (where the `gemm` crate runs its AVX2
    /// kernels; its AVX-512 ones were not measured here), products whose `C` has both sides
    /// longer than 64 and at least [`PACKED_MIN_OUTPUT`] elements go to
    /// [`GemmKernel::Packed`]: the weight gradients of a training step, inference pieces and
    /// large products, which it computed 4–40 % faster than the crate
    /// (`docs/performance.md`, item 24). Since it gives the crate's bits on those products,
    /// the choice never changes a result. Shallow products it does not take (`m > 64`, `k` at
    /// most [`OWN_AVX2_MAX_DEPTH`], at most [`OWN_MAX_MACS`] multiply-adds: the smaller weight
    /// gradients) go to [`GemmKernel::OwnAvx2`], which gives the crate's bits there too and
    /// allocates nothing. Everything else (the batch-32 products of a training step, where the
    /// column-major path is faster) goes to [`GemmKernel::Crate`].
    ///
    /// On a CPU with AVX-512, products with `m` or `k` at most [`OWN_AVX512_MAX_SIDE`] (every
    /// product of a training step at batch 32: forward, input and weight gradients) go to
    /// [`GemmKernel::OwnAvx512`], which computed them 0–35 % faster than the crate's AVX-512
    /// kernels on one thread and 7–67 % faster on two (item 25); the rest to the crate. It
    /// rounds differently from the crate (another summation order), so on such CPUs a
    /// batch-32 product and the same rows inside a larger product may differ in the last bits.
    ///
    /// The environment variable `STRATA_GEMM`, read once per process, changes this for
    /// comparisons: `crate` takes none of Strata's kernels (the `gemm` crate for every product,
    /// its column-major path included, as before item 24),
    /// `direct` takes [`GemmKernel::CrateDirect`] instead of [`GemmKernel::Crate`], and `own`
    /// sends the products of up to [`OWN_MAX_MACS`] multiply-adds to the hand-written
    /// in-place kernel, which needs no heap memory but made whole W1/W2 runs on two threads
    /// about 10 % slower here (item 14). The choice never depends on the thread count.
    pub fn for_product(m: usize, k: usize, n: usize) -> GemmKernel {
        let choice = Choice::get();
        let macs = m.saturating_mul(k).saturating_mul(n);
        if *choice == Choice::Own && macs <= OWN_MAX_MACS {
            GemmKernel::OwnAvx2
        } else if *choice != Choice::Crate
            && m > 64
            && n > 64
            && m.saturating_mul(n) >= PACKED_MIN_OUTPUT
            && crate_runs_avx2()
        {
            GemmKernel::Packed
        } else if *choice != Choice::Crate
            && m > 64
            && k <= OWN_AVX2_MAX_DEPTH
            && macs <= OWN_MAX_MACS
            && crate_runs_avx2()
        {
            GemmKernel::OwnAvx2
        } else if *choice != Choice::Crate
            && m.min(k) <= OWN_AVX512_MAX_SIDE
            && super::Isa::Avx512.is_supported()
        {
            GemmKernel::OwnAvx512
        } else if *choice == Choice::Direct {
            GemmKernel::CrateDirect
        } else {
            GemmKernel::Crate
        }
    }

    /// Every kernel this CPU can run.
    pub fn available() -> Vec<GemmKernel> {
        let mut kernels = vec![GemmKernel::Crate, GemmKernel::CrateDirect];
        if super::Isa::Avx2.is_supported() {
            kernels.push(GemmKernel::OwnAvx2);
            kernels.push(GemmKernel::Packed);
        }
        if super::Isa::Avx512.is_supported() {
            kernels.push(GemmKernel::OwnAvx512);
        }
        kernels
    }
}

/// The kernel choice `STRATA_GEMM` sets (read once per process): see
/// [`GemmKernel::for_product`].
#[derive(PartialEq)]
enum Choice {
    Default,
    Crate,
    Direct,
    Own,
}

impl Choice {
    /// This process's choice.
    fn get() -> &'static Choice {
        static CHOICE: std::sync::OnceLock<Choice> = std::sync::OnceLock::new();
        CHOICE.get_or_init(|| match std::env::var("STRATA_GEMM").as_deref() {
            Ok("crate") => Choice::Crate,
            Ok("direct") => Choice::Direct,
            Ok("own") if super::Isa::Avx2.is_supported() => Choice::Own,
            _ => Choice::Default,
        })
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
    let ops = Operands {
        a,
        trans_a,
        b,
        trans_b,
        m,
        k,
        n,
    };
    if !check_and_trivial("matmul", ops, c, accumulate) {
        return;
    }
    GemmView::new(ops, c, accumulate).run(kernel, parts_for(m, k, n), None);
}

/// `C = keep · C + scale · op(A) · op(B)` by the [`GemmKernel::for_product`] kernel, with shapes
/// as in [`matmul`]: a product added to an existing matrix without materialising it, e.g. a
/// weight updated by plain SGD straight from the factors of its gradient (`W += (−lr)·Xᵀ·dY`,
/// `keep = 1`), or SGD's momentum (`m = μ·m − lr·Xᵀ·dY`, `keep = μ`).
///
/// Both kernels combine each block of the product with `C` while it is still in registers:
/// for `keep = 1` as one fused multiply-add per element (a single rounding of `c + scale·p`),
/// otherwise as `keep·c + scale·p` with each product rounded, as written. (The hand-written
/// kernel does this per k block of 256, so for `k > 256` the later blocks' sums are added
/// in further such steps.) The result does not depend on the thread count.
///
/// # Panics
/// When a slice length does not match its stated shape.
#[allow(clippy::too_many_arguments)]
pub fn matmul_add_scaled(
    a: &[f32],
    trans_a: Transpose,
    b: &[f32],
    trans_b: Transpose,
    m: usize,
    k: usize,
    n: usize,
    keep: f32,
    scale: f32,
    c: &mut [f32],
) {
    matmul_add_scaled_with(
        GemmKernel::for_product(m, k, n),
        a,
        trans_a,
        b,
        trans_b,
        m,
        k,
        n,
        keep,
        scale,
        c,
    )
}

/// [`matmul_add_scaled`] with a given kernel (for tests and measurements).
///
/// # Panics
/// As [`matmul_add_scaled`]; also when `kernel` needs instructions the CPU lacks.
#[allow(clippy::too_many_arguments)]
pub fn matmul_add_scaled_with(
    kernel: GemmKernel,
    a: &[f32],
    trans_a: Transpose,
    b: &[f32],
    trans_b: Transpose,
    m: usize,
    k: usize,
    n: usize,
    keep: f32,
    scale: f32,
    c: &mut [f32],
) {
    let ops = Operands {
        a,
        trans_a,
        b,
        trans_b,
        m,
        k,
        n,
    };
    // An empty product adds nothing (C is still scaled by `keep`).
    if !check_and_trivial("matmul_add_scaled", ops, c, true) {
        if keep != 1.0 {
            c.iter_mut().for_each(|x| *x *= keep);
        }
        return;
    }
    let mut view = GemmView::new(ops, c, true);
    view.keep = keep;
    view.scale = scale;
    view.run(kernel, parts_for(m, k, n), None);
}

/// `C = A · B`, then `C[i, j] = f(C[i, j] + bias[j])` on each block of `C` while it is still in
/// cache (on the thread that computed it): a dense layer's forward pass in one sweep. `bias`
/// is empty for none. Bit-identical to [`matmul`] followed by the bias add and the activation.
///
/// # Panics
/// When a slice length does not match its stated shape, or `bias` is neither empty nor `n`
/// long.
#[allow(clippy::too_many_arguments)]
pub fn matmul_bias_unary(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    bias: &[f32],
    f: Option<super::activation::Unary>,
    c: &mut [f32],
) {
    assert!(
        bias.is_empty() || bias.len() == n,
        "matmul_bias_unary: bias has {} elements, expected {n}",
        bias.len()
    );
    let ops = Operands {
        a,
        trans_a: Transpose::No,
        b,
        trans_b: Transpose::No,
        m,
        k,
        n,
    };
    if !check_and_trivial("matmul_bias_unary", ops, c, false) {
        // An empty product is all zeros: the epilogue still applies.
        super::activation::bias_unary_in_place(bias, f, c);
        return;
    }
    let view = GemmView::new(ops, c, false);
    let epilogue = |i0: usize, i1: usize, j0: usize, j1: usize| {
        let row = if bias.is_empty() { bias } else { &bias[j0..j1] };
        for i in i0..i1 {
            // SAFETY: row i, columns j0..j1 of C lie inside `c` (i < m, j1 ≤ n) and belong to
            // the block this call just computed, which no other thread touches.
            let segment = unsafe { view.c_segment(i, j0, j1) };
            super::activation::bias_unary_in_place(row, f, segment);
        }
    };
    view.run(
        GemmKernel::for_product(m, k, n),
        parts_for(m, k, n),
        Some(&epilogue),
    );
}

/// Checks the slice lengths against the shapes, and finishes the products that need no
/// multiplication (`C` empty, or `k = 0`: `C` zeroed unless accumulating). Returns whether a
/// product is left to compute.
///
/// # Panics
/// When a length does not match its shape.
fn check_and_trivial(op: &str, ops: Operands<'_>, c: &mut [f32], accumulate: bool) -> bool {
    let Operands { a, b, m, k, n, .. } = ops;
    assert_eq!(
        a.len(),
        m * k,
        "{op}: A has {} elements, expected {m}×{k}",
        a.len()
    );
    assert_eq!(
        b.len(),
        k * n,
        "{op}: B has {} elements, expected {k}×{n}",
        b.len()
    );
    assert_eq!(
        c.len(),
        m * n,
        "{op}: C has {} elements, expected {m}×{n}",
        c.len()
    );
    if m == 0 || n == 0 {
        return false;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return false;
    }
    true
}

/// How many blocks a product is cut into: [`blocks_per_thread`] per thread from
/// [`parallel_macs`] multiply-adds on, otherwise one. The packed kernel takes one per thread
/// of these (see `GemmView::run`).
fn parts_for(m: usize, k: usize, n: usize) -> usize {
    let threads = crate::parallel::threads();
    if threads > 1 && m * n * k >= parallel_macs() {
        blocks_per_thread() * threads
    } else {
        1
    }
}

/// Blocks of a split product per thread: one on AVX-512 CPUs, two elsewhere. Two, claimed one
/// at a time, let unequal cores balance out, which paid on the AVX2 machine of sessions 1–10
/// (its two vCPUs ran the same product at different speeds); on the AVX-512 machine of the
/// eleventh session the vCPUs were level, and one block per thread, which packs the operand the
/// blocks share half as often, ran the `gemm` crate's batch-256 products 5–32 % and 1024³ 11 %
/// faster at 2 threads, and item 25's kernel level or up to 12 % faster (`docs/performance.md`,
/// item 26). The thread count never changes a result, so neither does this.
fn blocks_per_thread() -> usize {
    if super::Isa::Avx512.is_supported() {
        1
    } else {
        2
    }
}

/// The depth of the k blocks in which the `gemm` crate's AVX2 kernels (16×6 tiles of `f32`)
/// sum an `m×k · k×n` product that has a side longer than 64: every element of `C` is the sum
/// of its blocks' sums, each block's formed by one FMA per step from zero and added to `C`
/// with one rounding. [`GemmKernel::Packed`] sums in the same blocks, so it gives the crate's
/// bits.
#[cfg(target_arch = "x86_64")]
pub(crate) fn crate_depth_block(m: usize, k: usize, n: usize) -> usize {
    gemm_common::cache::kernel_params(m, n, k, 16, 6, std::mem::size_of::<f32>()).kc
}

/// The shortest side a block of a split product may have (see [`GemmView::run_in_parts`]).
const MIN_BLOCK: usize = 65;

/// The inputs of one product `op(A) · op(B)`: `op(A)` is `m×k`, `op(B)` is `k×n` (lengths
/// checked by the caller). Both kernels take the product in this form.
#[derive(Clone, Copy)]
pub(crate) struct Operands<'a> {
    pub(crate) a: &'a [f32],
    pub(crate) trans_a: Transpose,
    pub(crate) b: &'a [f32],
    pub(crate) trans_b: Transpose,
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
}

/// Where a product's operands keep their elements: element (i, p) of op(A) is at
/// `a[i·a_rs + p·a_cs]`, element (p, j) of op(B) at `b[p·b_rs + j·b_cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Strides {
    pub(crate) a_rs: usize,
    pub(crate) a_cs: usize,
    pub(crate) b_rs: usize,
    pub(crate) b_cs: usize,
}

impl Operands<'_> {
    /// The strides of row-major `A` and `B`, stored as given or transposed.
    pub(crate) fn strides(&self) -> Strides {
        let (a_rs, a_cs) = match self.trans_a {
            Transpose::No => (self.k, 1),
            Transpose::Yes => (1, self.m),
        };
        let (b_rs, b_cs) = match self.trans_b {
            Transpose::No => (self.n, 1),
            Transpose::Yes => (1, self.k),
        };
        Strides {
            a_rs,
            a_cs,
            b_rs,
            b_cs,
        }
    }
}

/// Raw operand pointers and strides of one product, so that disjoint blocks of `C` can be
/// computed on different threads.
#[derive(Clone, Copy)]
struct GemmView<'a> {
    ops: Operands<'a>,
    a: *const f32,
    a_rs: isize,
    a_cs: isize,
    b: *const f32,
    b_rs: isize,
    b_cs: isize,
    c: *mut f32,
    accumulate: bool,
    /// The product is multiplied by this before it is stored or added (1 but for
    /// [`matmul_add_scaled`]).
    scale: f32,
    /// An accumulated `C` is multiplied by this first (as `scale`).
    keep: f32,
    /// Whether each block is computed column-major into a scratch buffer that is then copied
    /// into `C` ([`stores_transposed`]), by [`GemmView::column_major_sum`].
    transposed: bool,
}

// SAFETY: the pointers come from slices borrowed for the whole product (`matmul_with` does not
// return before every block is done), inputs are only read, and concurrent `run` calls write
// disjoint blocks of `C`.
unsafe impl Send for GemmView<'_> {}
// SAFETY: as for `Send`.
unsafe impl Sync for GemmView<'_> {}

impl<'a> GemmView<'a> {
    /// The product `C (+)= op(A) · op(B)` into the row-major `m×n` slice `c` (lengths checked
    /// by the caller).
    fn new(ops: Operands<'a>, c: &mut [f32], accumulate: bool) -> GemmView<'a> {
        let s = ops.strides();
        GemmView {
            ops,
            a: ops.a.as_ptr(),
            a_rs: s.a_rs as isize,
            a_cs: s.a_cs as isize,
            b: ops.b.as_ptr(),
            b_rs: s.b_rs as isize,
            b_cs: s.b_cs as isize,
            c: c.as_mut_ptr(),
            accumulate,
            scale: 1.0,
            keep: 1.0,
            transposed: false,
        }
    }

    /// The whole product by `kernel` in up to `parts` blocks, with `epilogue` on each finished
    /// block.
    fn run(
        self,
        kernel: GemmKernel,
        parts: usize,
        epilogue: Option<&(dyn Fn(usize, usize, usize, usize) + Sync)>,
    ) {
        match kernel {
            GemmKernel::Crate => {
                let mut view = self;
                let Operands { m, k, n, .. } = self.ops;
                view.transposed = stores_transposed(m, k, n, self.accumulate);
                #[cfg(target_arch = "x86_64")]
                if view.transposed && in_depth_halves(&self.ops) {
                    return view.run_in_depth_halves(parts, epilogue);
                }
                view.run_in_parts(parts, epilogue)
            }
            GemmKernel::CrateDirect => self.run_in_parts(parts, epilogue),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `self.c` is the pointer of the `m×n` slice `C` this view was made from,
            // which the caller borrowed mutably for the whole call and reaches only through
            // this view from here on.
            GemmKernel::OwnAvx2 => unsafe {
                super::gemm_avx2::matmul(self.ops, self.c, self.store(), parts, epilogue)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as for `OwnAvx2`. One block per thread: each block packs its own copy of
            // the operand it shares with the others, and halving those copies measured faster
            // than the finer balance of two blocks per thread (`docs/performance.md`, item 24).
            GemmKernel::Packed => unsafe {
                let parts = parts.min(crate::parallel::threads()).max(1);
                super::gemm_packed::matmul(self.ops, self.c, self.store(), parts, epilogue)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as for `OwnAvx2`.
            GemmKernel::OwnAvx512 => unsafe {
                super::gemm_avx512::matmul(self.ops, self.c, self.store(), parts, epilogue)
            },
            #[cfg(not(target_arch = "x86_64"))]
            GemmKernel::OwnAvx2 | GemmKernel::Packed | GemmKernel::OwnAvx512 => {
                panic!("the hand-written GEMMs need x86-64")
            }
        }
    }

    /// How the hand-written kernels combine the product with `C`.
    #[cfg(target_arch = "x86_64")]
    fn store(&self) -> super::gemm_avx2::Store {
        use super::gemm_avx2::Store;
        match (self.accumulate, self.keep, self.scale) {
            (false, _, _) => Store::Overwrite,
            (true, 1.0, 1.0) => Store::Accumulate,
            (true, keep, scale) => Store::Scaled { keep, scale },
        }
    }

    /// The whole product as up to `parts` blocks of rows or columns of `C`, shared between this
    /// thread and the helper threads ([`crate::parallel::run_parts`]).
    ///
    /// The result does not depend on the number of blocks, bit for bit: the `gemm` crate forms
    /// each element's sum over `k` in blocks whose size depends on `k` alone as long as the
    /// product has a side longer than 64 (smaller products take other paths), so every block
    /// keeps a side of at least [`MIN_BLOCK`], and products without such a side, or too thin to
    /// split, run whole.
    ///
    /// `epilogue(i0, i1, j0, j1)`, when given, runs on each finished block of `C` on the thread
    /// that computed it.
    fn run_in_parts(
        self,
        parts: usize,
        epilogue: Option<&(dyn Fn(usize, usize, usize, usize) + Sync)>,
    ) {
        let Operands { m, n, .. } = self.ops;
        // Rows first: a row block of C is contiguous, so two threads share at most one cache
        // line of it, while a column split shares a line in every row (false sharing made a
        // 784×300 weight gradient 3× slower on two threads than on one). Otherwise columns; a
        // side too short for two blocks of MIN_BLOCK may still be cut into blocks of 16 when the
        // other side alone keeps every block in the product's class.
        let (split_n, split_len, min_part) = if m >= 2 * MIN_BLOCK {
            (false, m, MIN_BLOCK)
        } else if n >= 2 * MIN_BLOCK {
            (true, n, MIN_BLOCK)
        } else if n >= MIN_BLOCK && m >= 32 {
            (false, m, 16)
        } else if m >= MIN_BLOCK && n >= 32 {
            (true, n, 16)
        } else {
            (true, 1, 1)
        };
        let mut parts = parts.min(split_len / min_part).max(1);
        // The last block must stay long enough too.
        let mut step = split_len;
        while parts > 1 {
            step = split_len.div_ceil(parts);
            if split_len.saturating_sub((parts - 1) * step) >= min_part {
                break;
            }
            parts -= 1;
        }
        let finish = |i0: usize, i1: usize, j0: usize, j1: usize| {
            self.run_block(i0, i1, j0, j1);
            if let Some(epilogue) = epilogue
                && i1 > i0
                && j1 > j0
            {
                epilogue(i0, i1, j0, j1);
            }
        };
        if parts == 1 {
            finish(0, m, 0, n);
            return;
        }
        let block = move |p: usize| {
            let (lo, hi) = ((p * step).min(split_len), ((p + 1) * step).min(split_len));
            if split_n {
                finish(0, m, lo, hi);
            } else {
                finish(lo, hi, 0, n);
            }
        };
        crate::parallel::run_parts(parts, &block);
    }

    /// The whole product as two sums over the halves of `k` ([`in_depth_halves`]), each formed
    /// column-major ([`GemmView::column_major_sum`]) in one half of this thread's
    /// [`DEPTH_HALVES`] buffer (on two threads when `parts ≥ 2`, one after the other otherwise),
    /// then added and transposed into `C` on this thread, where `epilogue` runs once on all of
    /// `C`. The bits do not depend on `parts`: each half is the same sum whichever thread forms
    /// it.
    #[cfg(target_arch = "x86_64")]
    fn run_in_depth_halves(
        self,
        parts: usize,
        epilogue: Option<&(dyn Fn(usize, usize, usize, usize) + Sync)>,
    ) {
        debug_assert!(self.transposed && !self.accumulate);
        let Operands { m, k, n, .. } = self.ops;
        let half = depth_half(k);
        let len = m * n;
        DEPTH_HALVES.with(|halves| {
            let mut halves = halves.borrow_mut();
            if halves.len() < 2 * len {
                halves.resize(2 * len, 0.0);
            }
            let sums = super::gemm_avx2::SendPtr(halves.as_mut_ptr());
            let run = |part: usize| {
                let depth = if part == 0 { 0..half } else { half..k };
                // SAFETY: half `part` of the buffer holds m·n floats, addressed column-major
                // (column stride m), and is written by this part only while the calling thread
                // holds the buffer's borrow; the depth lies inside `0..k`.
                unsafe { self.column_major_sum((0, m, 0, n), depth, sums.get().add(part * len)) };
            };
            if parts >= 2 {
                crate::parallel::run_parts(2, &run);
            } else {
                run(0);
                run(1);
            }
            let (first, second) = halves[..2 * len].split_at_mut(len);
            super::elementwise::axpy(1.0, second, first);
            // SAFETY: `stores_transposed` held, so the CPU has AVX2; `first` holds m·n floats and
            // C (m×n, row stride n) is this view's own, not aliased by the buffer.
            unsafe { super::gemm_avx2::transpose_into(first, m, n, self.c, n) };
        });
        if let Some(epilogue) = epilogue {
            epilogue(0, m, 0, n);
        }
    }

    /// Row `i`, columns `j0..j1` of C.
    ///
    /// # Safety
    /// The segment must lie inside C and no other reference to it may exist while the returned
    /// one lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn c_segment(&self, i: usize, j0: usize, j1: usize) -> &mut [f32] {
        // SAFETY: forwarded contract.
        unsafe { std::slice::from_raw_parts_mut(self.c.add(i * self.ops.n + j0), j1 - j0) }
    }

    /// `C[i0..i1, j0..j1] (+)= op(A)[i0..i1, :] · op(B)[:, j0..j1]` on this thread, by the
    /// `gemm` crate.
    fn run_block(self, i0: usize, i1: usize, j0: usize, j1: usize) {
        if i1 <= i0 || j1 <= j0 {
            return;
        }
        if self.transposed {
            return self.run_block_transposed(i0, i1, j0, j1);
        }
        let n = self.ops.n;
        // SAFETY: `matmul_with` checked that C holds m×n elements; 0 ≤ i0 < i1 ≤ m and
        // 0 ≤ j0 < j1 ≤ n, so the block's rows (stride n) lie inside C, disjoint from any other
        // block written concurrently.
        unsafe {
            self.crate_block(
                (i0, i1, j0, j1),
                self.c.add(i0 * n + j0),
                (1, n as isize),
                self.accumulate,
                (self.keep, self.scale),
            )
        };
    }

    /// `dst = alpha·dst + beta·op(A)[i0..i1, :]·op(B)[:, j0..j1]` (`dst` read only when
    /// `read_dst`) by the `gemm` crate on this thread, with `dst`'s column and row strides
    /// `(cs, rs)`.
    ///
    /// # Safety
    /// `dst` must address an `(i1 − i0)×(j1 − j0)` block through those strides that no other
    /// thread touches, and the block must lie inside `C` (so A's and B's offsets and strides,
    /// checked by `matmul_with`, stay inside their slices).
    unsafe fn crate_block(
        self,
        (i0, i1, j0, j1): (usize, usize, usize, usize),
        dst: *mut f32,
        (cs, rs): (isize, isize),
        read_dst: bool,
        (alpha, beta): (f32, f32),
    ) {
        // SAFETY: forwarded contract; A's rows i0..i1 and B's columns j0..j1 lie inside their
        // slices for the strides `matmul_with` checked.
        unsafe {
            gemm::gemm(
                i1 - i0,
                j1 - j0,
                self.ops.k,
                dst,
                cs,
                rs,
                read_dst,
                self.a.offset(i0 as isize * self.a_rs),
                self.a_cs,
                self.a_rs,
                self.b.offset(j0 as isize * self.b_cs),
                self.b_cs,
                self.b_rs,
                alpha,
                beta,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }

    /// `dst = op(A)[i0..i1, depth] · op(B)[depth, j0..j1]`, with `dst` column-major (column
    /// stride `i1 − i0`) and the `gemm` crate's bits: by Strata's own batch kernel
    /// ([`super::gemm_batch::column_major_block`], which reuses its packing buffer) wherever it
    /// gives those bits, by the crate (which allocates its packing memory on every call)
    /// elsewhere and with `STRATA_GEMM=crate`.
    ///
    /// # Safety
    /// `dst` must be valid for writing `(i1 − i0)·(j1 − j0)` floats that no other thread
    /// touches; the block must lie inside `C` and `depth` inside `0..k`.
    unsafe fn column_major_sum(
        self,
        (i0, i1, j0, j1): (usize, usize, usize, usize),
        depth: std::ops::Range<usize>,
        dst: *mut f32,
    ) {
        #[cfg(target_arch = "x86_64")]
        if own_batch_takes(i1 - i0, depth.len(), j1 - j0) {
            // SAFETY: AVX2 and FMA are supported (checked with `Isa::Avx2`); `takes` holds; the
            // ranges lie inside the product and `dst` is the caller's (forwarded contract).
            unsafe { super::gemm_batch::column_major_block(self.ops, i0..i1, depth, j0..j1, dst) };
            return;
        }
        // SAFETY: forwarded contract.
        unsafe { self.crate_column_major_sum((i0, i1, j0, j1), depth, dst) }
    }

    /// [`GemmView::column_major_sum`] by the `gemm` crate.
    ///
    /// # Safety
    /// As [`GemmView::column_major_sum`].
    unsafe fn crate_column_major_sum(
        self,
        (i0, i1, j0, j1): (usize, usize, usize, usize),
        depth: std::ops::Range<usize>,
        dst: *mut f32,
    ) {
        let mut view = self;
        // SAFETY: depth.start < k, so these offsets stay inside A and B (lengths checked by
        // `matmul_with` for the strides of the whole product); the depth shrinks to match.
        unsafe {
            view.a = self.a.offset(depth.start as isize * self.a_cs);
            view.b = self.b.offset(depth.start as isize * self.b_rs);
        }
        view.ops.k = depth.len();
        // SAFETY: `dst` addresses the (i1 − i0)×(j1 − j0) block column-major (column stride
        // i1 − i0, row stride 1), which only this call touches (forwarded contract).
        unsafe {
            view.crate_block(
                (i0, i1, j0, j1),
                dst,
                ((i1 - i0) as isize, 1),
                false,
                (0.0, 1.0),
            )
        };
    }

    /// [`GemmView::run_block`] for a product that [`stores_transposed`]: the block is formed
    /// column-major in this thread's scratch buffer ([`GemmView::column_major_sum`]), then
    /// copied into the
    /// block of `C` (overwritten: such views never accumulate).
    fn run_block_transposed(self, i0: usize, i1: usize, j0: usize, j1: usize) {
        debug_assert!(!self.accumulate);
        let (rows, cols) = (i1 - i0, j1 - j0);
        TRANSPOSED_SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            if scratch.len() < rows * cols {
                scratch.resize(rows * cols, 0.0);
            }
            let t = &mut scratch[..rows * cols];
            // SAFETY: `t` holds rows×cols elements, addressed column-major (column stride
            // `rows`), and belongs to this thread; the block lies inside C.
            unsafe { self.column_major_sum((i0, i1, j0, j1), 0..self.ops.k, t.as_mut_ptr()) };
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `stores_transposed` chose this path only on a CPU with AVX2; `t` holds
            // rows×cols elements, and row i0 + i, columns j0..j1 of C lie inside C and belong
            // to this block, which no other thread touches (and which `t` does not alias).
            unsafe {
                let n = self.ops.n;
                super::gemm_avx2::transpose_into(t, rows, cols, self.c.add(i0 * n + j0), n);
            }
            #[cfg(not(target_arch = "x86_64"))]
            for i in 0..rows {
                // SAFETY: row i0 + i, columns j0..j1 of C lie inside C and belong to this
                // block, which no other thread touches.
                let row = unsafe { self.c_segment(i0 + i, j0, j1) };
                for (j, c) in row.iter_mut().enumerate() {
                    *c = t[j * rows + i];
                }
            }
        });
    }
}

/// Whether the `gemm` crate computes a product that [`stores_transposed`] as two sums over the
/// halves of `k`, added at the end ([`GemmView::run_in_depth_halves`]): a batch's forward
/// product `X·W` (`B` used as stored) large enough to be split (`m·k·n` ≥ [`parallel_macs`])
/// whose weight has at least as many rows as columns (`k ≥ n > m`). Such a `W`'s fused update
/// `W += s·Xᵀ·dY` goes to [`GemmKernel::Packed`] split by rows, so a forward product split by
/// depth at the same row ([`depth_half`]) reads on each core the rows of `W` that core wrote in
/// the previous update, where the usual split by columns moves half of `W` between the cores'
/// caches twice per step (W1's 940 KB weight does not even fit one core's L2 on the AVX2
/// machines measured; `docs/performance.md`, item 31). The rule depends on the product alone,
/// never on the thread count, so the bits are the same on any number of threads.
#[cfg(target_arch = "x86_64")]
fn in_depth_halves(ops: &Operands<'_>) -> bool {
    let (m, k, n) = (ops.m, ops.k, ops.n);
    ops.trans_b == Transpose::No
        && m < n
        && k >= n
        && m.saturating_mul(k).saturating_mul(n) >= parallel_macs()
}

/// The first step of the second half of `k` in [`in_depth_halves`]: the row at which the packed
/// kernel cuts the update of a `k × n` weight into two parts (whole tiles of its
/// [`super::gemm_packed::MR`] rows), so that each half of the forward product reads the rows of
/// `W` one part of the update wrote.
#[cfg(target_arch = "x86_64")]
fn depth_half(k: usize) -> usize {
    super::gemm_avx2::second_half_start(k, super::gemm_packed::MR)
}

thread_local! {
    #[cfg(target_arch = "x86_64")]
    /// The two depth halves' column-major sums of [`GemmView::run_in_depth_halves`] (`2·m·n`
    /// floats, on the thread that calls the product), grown to the largest product it has held.
    static DEPTH_HALVES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Per-thread scratch of [`GemmView::run_block_transposed`], grown to the largest block
    /// it has held (a batch-32 step's largest is 32×300 floats; never more than
    /// [`TRANSPOSED_MAX_ELEMENTS`]).
    static TRANSPOSED_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether a product `C = op(A) · op(B)` with an `m×n` row-major `C` is better computed as a
/// column-major block in scratch memory, then copied into `C` (by Strata's own batch kernel
/// since item 33, which does the crate's arithmetic, or by the crate).
///
/// The crate's AVX2 micro-kernel computes a tile of 16 elements along `C`'s contiguous
/// dimension by 6 along the other. For a row-major `C` with a batch of 16 or 32 rows, that
/// puts the 32 rows on the 6-wide side (five tiles and a third of one: a ninth of the work
/// wasted) and the features on the 16-wide side; a column-major `C` puts the 32 rows exactly
/// on two vectors, the crate then reads `B` in place instead of packing it (input gradients
/// `dY·Wᵀ` always had `W` packed), and the copy costs far less than it saves: measured 8–25 %
/// faster on batch-32 forward products and 30–45 % on input gradients
/// (`docs/performance.md`, item 20). Rows other than 16 and 32 (24, 64, 8) measured slower,
/// so they keep the direct path. Narrow outputs (fewer than 32 columns: a 10-class output
/// layer) measured slower this way in the crate, and take it only where Strata's own batch
/// kernel forms the whole product (item 33; it gives the direct path's bits there too). Only
/// products that overwrite `C` (the forward pass and input gradients; the fused weight updates
/// accumulate) and only where the crate runs its AVX2 kernels (its AVX-512 ones have other
/// tile shapes, not measured here). [`GemmKernel::CrateDirect`] never takes this path.
fn stores_transposed(m: usize, k: usize, n: usize, accumulate: bool) -> bool {
    crate_runs_avx2()
        && !accumulate
        && (m == 16 || m == TRANSPOSED_MAX_ROWS)
        && (n >= 32 || own_batch_takes(m, k, n))
        && m * n <= TRANSPOSED_MAX_ELEMENTS
}

/// Whether Strata's own batch kernel forms a column-major `m×n` block summed over `k` steps
/// (see [`GemmView::column_major_sum`]).
fn own_batch_takes(m: usize, k: usize, n: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        *Choice::get() != Choice::Crate
            && super::gemm_batch::takes(m, k, n)
            && super::Isa::Avx2.is_supported()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, k, n);
        false
    }
}

/// The most rows (the batch) of a product [`stores_transposed`] sends through the per-thread
/// scratch.
const TRANSPOSED_MAX_ROWS: usize = 32;

/// The largest output [`stores_transposed`] sends through the per-thread scratch (1 MiB of
/// `f32`, 8,192 columns at batch 32), so that the scratch a thread keeps stays bounded; wider
/// outputs take the direct path.
const TRANSPOSED_MAX_ELEMENTS: usize = 1 << 18;

/// Whether the `gemm` crate runs its AVX2 kernels on this CPU (AVX2 and FMA, no AVX-512): the
/// kernels [`stores_transposed`]'s path and [`GemmKernel::Packed`]'s choice were measured
/// against.
pub(crate) fn crate_runs_avx2() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        let avx512 = is_x86_feature_detected!("avx512f");
        #[cfg(not(target_arch = "x86_64"))]
        let avx512 = true;
        super::Isa::Avx2.is_supported() && !avx512
    })
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic operands of an `m×k · k×n` product (`a` with `m·k` elements, `b` with
    /// `k·n`), shared by the kernels' tests.
    pub(crate) fn test_operands(m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
        let a = (0..m * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let b = (0..k * n)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 9.0)
            .collect();
        (a, b)
    }

    /// The `gemm` crate's column-major sum of a block of the product (the fallback of
    /// [`GemmView::column_major_sum`]): the bits Strata's batch kernel must give.
    pub(crate) fn crate_column_major(
        ops: Operands<'_>,
        rows: std::ops::Range<usize>,
        depth: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
    ) -> Vec<f32> {
        let mut c = vec![0.0f32; ops.m * ops.n];
        let view = GemmView::new(ops, &mut c, false);
        let mut t = vec![f32::NAN; rows.len() * cols.len()];
        // SAFETY: `t` holds the block column-major and is this call's own; the ranges lie inside
        // the product (the caller's choice, checked by the crate's reads through the strides
        // `matmul_with` would check).
        unsafe {
            view.crate_column_major_sum(
                (rows.start, rows.end, cols.start, cols.end),
                depth,
                t.as_mut_ptr(),
            )
        };
        t
    }

    /// Calls `f(m, k, n, ta, tb, a, b)` for every shape in `shapes` and the three forms
    /// backprop uses, with deterministic operands.
    fn each_product(
        shapes: &[(usize, usize, usize)],
        mut f: impl FnMut(usize, usize, usize, Transpose, Transpose, &[f32], &[f32]),
    ) {
        for &(m, k, n) in shapes {
            for (ta, tb) in [
                (Transpose::No, Transpose::No),
                (Transpose::Yes, Transpose::No),
                (Transpose::No, Transpose::Yes),
            ] {
                let (a, b) = test_operands(m, k, n);
                f(m, k, n, ta, tb, &a, &b);
            }
        }
    }

    /// Splitting `C` into blocks on several threads gives the same bits as one call, for every
    /// kernel, and the epilogue runs exactly once on every element.
    #[test]
    fn split_products_equal_the_single_call_bit_for_bit() {
        let shapes = [
            (32, 784, 300),
            (784, 32, 300),
            (7, 13, 5),
            (33, 17, 129),
            (130, 9, 20),
            (32, 300, 100),
            (32, 784, 100),
            (16, 100, 70),
            (64, 40, 17),
        ];
        each_product(&shapes, |m, k, n, ta, tb, a, b| {
            for kernel in GemmKernel::available() {
                let run = |parts: usize, accumulate: bool| {
                    let mut c: Vec<f32> = (0..m * n).map(|i| i as f32 * 0.25).collect();
                    let ops = Operands {
                        a,
                        trans_a: ta,
                        b,
                        trans_b: tb,
                        m,
                        k,
                        n,
                    };
                    let view = GemmView::new(ops, &mut c, accumulate);
                    // Every block's epilogue runs once: it marks the block's elements.
                    let marks: Vec<std::sync::atomic::AtomicU32> =
                        (0..m * n).map(|_| Default::default()).collect();
                    let epilogue = |i0: usize, i1: usize, j0: usize, j1: usize| {
                        for i in i0..i1 {
                            for j in j0..j1 {
                                marks[i * n + j].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    };
                    view.run(kernel, parts, Some(&epilogue));
                    assert!(
                        marks
                            .iter()
                            .all(|x| x.load(std::sync::atomic::Ordering::Relaxed) == 1),
                        "{kernel:?} {m}x{k}x{n} in {parts} parts: epilogue coverage"
                    );
                    c
                };
                // The rounding error of an f32 sum grows with the sum of its terms' magnitudes,
                // not with the (possibly cancelled) result.
                let abs = |x: &[f32]| x.iter().map(|v| v.abs()).collect::<Vec<_>>();
                let mut magnitude = vec![0.0; m * n];
                matmul_reference(&abs(a), ta, &abs(b), tb, m, k, n, &mut magnitude, false);
                for accumulate in [false, true] {
                    let one = run(1, accumulate);
                    let mut reference = (0..m * n).map(|i| i as f32 * 0.25).collect::<Vec<_>>();
                    matmul_reference(a, ta, b, tb, m, k, n, &mut reference, accumulate);
                    for ((x, r), t) in one.iter().zip(&reference).zip(&magnitude) {
                        let tol = 1e-3 * r.abs().max(1.0) + 1e-6 * t;
                        assert!((x - r).abs() <= tol, "{m}x{k}x{n}: {x} vs {r}");
                    }
                    for parts in [2, 3, 4, 7, 8] {
                        let split = run(parts, accumulate);
                        assert_same_bits(
                            &split,
                            &one,
                            &format!("{kernel:?} {m}x{k}x{n} {ta:?} {tb:?} in {parts} parts"),
                        );
                    }
                }
            }
        });
    }

    /// The packed kernel across its block boundaries (more than one row block of 144, column
    /// block of 1,024 and k block of 256, edges in every direction, k blocks of 201: not a
    /// multiple of the 8×8 transposes) agrees with the reference
    /// in the three forms, for every store mode, and gives the same bits whatever the split.
    #[test]
    fn packed_kernel_crosses_its_blocks_and_matches_the_reference() {
        crosses_its_blocks(GemmKernel::Packed, (151, 603, 1043));
    }

    /// The AVX-512 kernel across its block boundaries (two row blocks of 256 and a row edge of
    /// 7, four k blocks of 121 and a last of 119 (one step past and one short of the 8×8
    /// transposes), a column panel of 48 and a
    /// last, four-vector panel of 53 whose last vector is masked to 5 lanes, `Bᵀ` panels with a
    /// remainder past them), as for the packed kernel.
    #[test]
    fn avx512_kernel_crosses_its_blocks_and_matches_the_reference() {
        crosses_its_blocks(GemmKernel::OwnAvx512, (263, 603, 101));
    }

    /// `kernel` on an `m×k·k×n` product in every form and store mode against the reference,
    /// and split in 2 and 3 parts against one (skipped where the CPU cannot run `kernel`).
    fn crosses_its_blocks(kernel: GemmKernel, shape: (usize, usize, usize)) {
        if !GemmKernel::available().contains(&kernel) {
            return;
        }
        each_product(&[shape], |m, k, n, ta, tb, a, b| {
            let ops = Operands {
                a,
                trans_a: ta,
                b,
                trans_b: tb,
                m,
                k,
                n,
            };
            let c0: Vec<f32> = (0..m * n).map(|i| (i % 13) as f32 * 0.5 - 3.0).collect();
            let mut product = vec![0.0; m * n];
            matmul_reference(a, ta, b, tb, m, k, n, &mut product, false);
            let abs = |x: &[f32]| x.iter().map(|v| v.abs()).collect::<Vec<_>>();
            let mut magnitude = vec![0.0; m * n];
            matmul_reference(&abs(a), ta, &abs(b), tb, m, k, n, &mut magnitude, false);
            for (accumulate, keep, scale) in [
                (false, 1.0, 1.0),
                (true, 1.0, 1.0),
                (true, 1.0, -0.5),
                (true, 0.9, 2.0),
            ] {
                let run = |parts: usize| {
                    let mut c = c0.clone();
                    let mut view = GemmView::new(ops, &mut c, accumulate);
                    view.keep = keep;
                    view.scale = scale;
                    view.run(kernel, parts, None);
                    c
                };
                let one = run(1);
                for (i, x) in one.iter().enumerate() {
                    let r = if accumulate {
                        keep * c0[i] + scale * product[i]
                    } else {
                        product[i]
                    };
                    let tol = 1e-5 * scale.abs() * magnitude[i] + 1e-5 * r.abs().max(1.0);
                    assert!(
                        (x - r).abs() <= tol,
                        "{kernel:?} {m}x{k}x{n} {ta:?} {tb:?} at {i}: {x} vs {r}"
                    );
                }
                for parts in [2, 3] {
                    assert_same_bits(
                        &run(parts),
                        &one,
                        &format!("{kernel:?} {m}x{k}x{n} {ta:?} {tb:?} in {parts} parts"),
                    );
                }
            }
        });
    }

    /// Where the crate runs its AVX2 kernels, the packed kernel gives the crate's bits on
    /// products with a side longer than 64, in every form and store mode: which of the two
    /// `matmul` chooses never changes a result (a batch predicted in pieces equals the whole
    /// batch, whichever kernel each size gets).
    #[test]
    fn packed_kernel_gives_the_crate_bits() {
        if !crate_runs_avx2() {
            return;
        }
        let shapes = [
            (151, 603, 1043),
            (256, 784, 300),
            (70, 1100, 65),
            (300, 32, 784),
        ];
        each_stored_product(&shapes, |case, run| {
            let packed = run(GemmKernel::Packed, 2);
            for kernel in [GemmKernel::CrateDirect, GemmKernel::Crate] {
                assert_same_bits(&packed, &run(kernel, 1), &format!("{case}: {kernel:?}"));
            }
        });
    }

    /// Where the crate runs its AVX2 kernels, the in-place AVX2 kernel gives the crate's bits on
    /// the shallow products it takes ([`OWN_AVX2_MAX_DEPTH`]: weight gradients over a batch
    /// whose output is too small for the packed kernel), stored, added or scaled, whole or split.
    #[test]
    fn shallow_products_get_the_crate_bits_in_place() {
        if !crate_runs_avx2() {
            return;
        }
        let shapes = [
            (100, 32, 10),
            (100, 32, 100),
            (300, 64, 7),
            (70, 3, 65),
            (1000, 16, 40),
        ];
        for &(m, k, n) in &shapes {
            assert_eq!(GemmKernel::for_product(m, k, n), GemmKernel::OwnAvx2);
        }
        each_stored_product(&shapes, |case, run| {
            let want = run(GemmKernel::CrateDirect, 1);
            for parts in [1, 2] {
                let got = run(GemmKernel::OwnAvx2, parts);
                assert_same_bits(&got, &want, &format!("{case} in {parts} parts"));
            }
        });
    }

    /// Calls `f(case, run)` for every shape in `shapes`, the three forms backprop uses and each
    /// way of combining the product with `C` (overwritten, added, scaled with `keep = 1` and
    /// with `keep ≠ 1`), where `run(kernel, parts)` computes that product with `kernel` in up
    /// to `parts` blocks into a copy of one fixed starting `C`, and `case` names it.
    fn each_stored_product(
        shapes: &[(usize, usize, usize)],
        mut f: impl FnMut(&str, &dyn Fn(GemmKernel, usize) -> Vec<f32>),
    ) {
        each_product(shapes, |m, k, n, ta, tb, a, b| {
            let ops = Operands {
                a,
                trans_a: ta,
                b,
                trans_b: tb,
                m,
                k,
                n,
            };
            let c0: Vec<f32> = (0..m * n).map(|i| (i % 13) as f32 * 0.5 - 3.0).collect();
            for (accumulate, keep, scale) in [
                (false, 1.0, 1.0),
                (true, 1.0, 1.0),
                (true, 1.0, -0.01),
                (true, 0.9, -0.01),
            ] {
                let run = |kernel: GemmKernel, parts: usize| {
                    let mut c = c0.clone();
                    let mut view = GemmView::new(ops, &mut c, accumulate);
                    view.keep = keep;
                    view.scale = scale;
                    view.run(kernel, parts, None);
                    c
                };
                let case = format!("{m}x{k}x{n} {ta:?} {tb:?} {accumulate} {keep} {scale}");
                f(&case, &run);
            }
        });
    }

    /// Asserts that `got` and `want` hold the same floats, bit for bit.
    pub(crate) fn assert_same_bits(got: &[f32], want: &[f32], case: &str) {
        assert_eq!(got.len(), want.len(), "{case}");
        let differ = got
            .iter()
            .zip(want)
            .filter(|(x, y)| x.to_bits() != y.to_bits())
            .count();
        assert_eq!(differ, 0, "{case}: {differ} elements differ");
    }

    /// Weight gradients and large products go to the packed kernel where the crate runs AVX2
    /// kernels, batch-32 products and small outputs never (the shallow ones among those to the
    /// in-place AVX2 kernel); on AVX-512 CPUs the products of a
    /// batch of up to 64 go to the AVX-512 kernel; either way `matmul` computes the product.
    #[test]
    fn products_choose_their_kernel() {
        let packed = crate_runs_avx2();
        for (m, k, n) in [
            (1024, 1024, 1024),
            (784, 32, 300),
            (300, 32, 100),
            (256, 784, 300),
        ] {
            assert_eq!(
                GemmKernel::for_product(m, k, n) == GemmKernel::Packed,
                packed
            );
        }
        for (m, k, n) in [
            (32, 784, 300),
            (32, 100, 300),
            (100, 32, 100),
            (100_000, 10, 64),
        ] {
            assert_ne!(GemmKernel::for_product(m, k, n), GemmKernel::Packed);
        }
        // Shallow products too small for the packed kernel take the in-place AVX2 kernel there;
        // batch products, deep ones and large ones do not.
        for (m, k, n) in [(100, 32, 10), (100, 32, 100), (784, 64, 64)] {
            assert_eq!(
                GemmKernel::for_product(m, k, n) == GemmKernel::OwnAvx2,
                packed,
                "{m}x{k}x{n}"
            );
        }
        for (m, k, n) in [
            (32, 100, 10),
            (100, 65, 10),
            (100_000, 10, 64),
            (784, 32, 300),
        ] {
            assert_ne!(GemmKernel::for_product(m, k, n), GemmKernel::OwnAvx2);
        }
        // On AVX-512 CPUs the batch-32 products (and weight gradients over a batch of 32) take
        // the in-place AVX-512 kernel, the large ones the crate.
        let avx512 = crate::kernels::Isa::Avx512.is_supported();
        for (m, k, n) in [
            (32, 784, 300),
            (784, 32, 300),
            (32, 100, 300),
            (64, 1024, 1024),
        ] {
            assert_eq!(
                GemmKernel::for_product(m, k, n) == GemmKernel::OwnAvx512,
                avx512,
                "{m}x{k}x{n}"
            );
        }
        for (m, k, n) in [
            (256, 784, 300),
            (10_000, 784, 300),
            (1024, 1024, 1024),
            (65, 65, 8),
        ] {
            assert_ne!(GemmKernel::for_product(m, k, n), GemmKernel::OwnAvx512);
        }
        let (m, k, n) = (512, 256, 512);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7 % 23) as f32 - 11.0) / 8.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 5 % 19) as f32 - 9.0) / 8.0)
            .collect();
        let mut c = vec![f32::NAN; m * n];
        matmul(&a, Transpose::No, &b, Transpose::No, m, k, n, &mut c, false);
        let mut reference = vec![0.0; m * n];
        matmul_reference(
            &a,
            Transpose::No,
            &b,
            Transpose::No,
            m,
            k,
            n,
            &mut reference,
            false,
        );
        for (x, r) in c.iter().zip(&reference) {
            assert!((x - r).abs() <= 1e-3 * r.abs().max(1.0), "{x} vs {r}");
        }
    }

    /// The column-major scratch path of [`stores_transposed`] gives the bits of the direct
    /// path, whole or split, on the shapes it is chosen for (but for the forward products it
    /// sums in depth halves, whose bits
    /// `a_forward_product_in_depth_halves_adds_its_two_halves` checks).
    #[test]
    fn the_transposed_store_equals_the_direct_one_bit_for_bit() {
        let shapes = [
            (32, 784, 300),
            (32, 784, 100),
            (32, 100, 100),
            (16, 100, 70),
            (32, 600, 33),
            (32, 100, 10),
            (32, 600, 9),
        ];
        each_product(&shapes, |m, k, n, ta, tb, a, b| {
            let ops = Operands {
                a,
                trans_a: ta,
                b,
                trans_b: tb,
                m,
                k,
                n,
            };
            assert!(!crate_runs_avx2() || stores_transposed(m, k, n, false));
            assert!(!stores_transposed(
                32,
                100,
                TRANSPOSED_MAX_ELEMENTS / 32 + 1,
                false
            ));
            let run = |kernel: GemmKernel, parts: usize| {
                let mut c = vec![f32::NAN; m * n];
                GemmView::new(ops, &mut c, false).run(kernel, parts, None);
                c
            };
            #[cfg(target_arch = "x86_64")]
            if in_depth_halves(&ops) {
                return;
            }
            let direct = run(GemmKernel::CrateDirect, 1);
            for parts in [1, 2, 4] {
                let transposed = run(GemmKernel::Crate, parts);
                assert_same_bits(
                    &transposed,
                    &direct,
                    &format!("{m}x{k}x{n} {ta:?} {tb:?} in {parts} parts: the transposed store"),
                );
            }
        });
    }

    /// `C = keep·C + s·op(A)·op(B)` agrees with the reference for every kernel and form, leaves `C`
    /// alone for an empty product, and gives the same bits whatever the split.
    #[test]
    fn scaled_add_matches_the_reference_whatever_the_split() {
        let shapes = [(32, 784, 300), (784, 32, 300), (7, 13, 5), (130, 9, 20)];
        each_product(&shapes, |m, k, n, ta, tb, a, b| {
            let c0: Vec<f32> = (0..m * n).map(|i| (i % 11) as f32 * 0.25 - 1.0).collect();
            for (keep, scale) in [(1.0, 1.0), (1.0, -0.01), (1.0, 2.5), (0.9, -0.01)] {
                let mut product = vec![0.0; m * n];
                matmul_reference(a, ta, b, tb, m, k, n, &mut product, false);
                for kernel in GemmKernel::available() {
                    let mut c = c0.clone();
                    matmul_add_scaled_with(kernel, a, ta, b, tb, m, k, n, keep, scale, &mut c);
                    for ((x, p), c0) in c.iter().zip(&product).zip(&c0) {
                        let r = keep * c0 + scale * p;
                        let tol = 1e-3 * (scale * p).abs().max(1.0);
                        assert!((x - r).abs() <= tol, "{kernel:?} {m}x{k}x{n}: {x} vs {r}");
                    }
                }
                let ops = Operands {
                    a,
                    trans_a: ta,
                    b,
                    trans_b: tb,
                    m,
                    k,
                    n,
                };
                for kernel in GemmKernel::available() {
                    let run = |parts: usize| {
                        let mut c = c0.clone();
                        let mut view = GemmView::new(ops, &mut c, true);
                        view.keep = keep;
                        view.scale = scale;
                        view.run(kernel, parts, None);
                        c
                    };
                    let one = run(1);
                    for parts in [2, 3, 4, 7] {
                        assert_same_bits(
                            &run(parts),
                            &one,
                            &format!("{kernel:?} {m}x{k}x{n} scaled add in {parts} parts"),
                        );
                    }
                }
            }
        });
        // k = 0: nothing is added, C is still scaled by `keep`.
        let empty = |keep: f32, c: &mut [f32]| {
            matmul_add_scaled(
                &[],
                Transpose::No,
                &[],
                Transpose::No,
                2,
                0,
                3,
                keep,
                -1.0,
                c,
            )
        };
        let mut c = vec![3.0; 6];
        empty(1.0, &mut c);
        assert_eq!(c, vec![3.0; 6]);
        empty(0.5, &mut c);
        assert_eq!(c, vec![1.5; 6]);
    }

    /// On AVX2 CPUs the forward products of W1–W3's first layers at batch 32 are computed by
    /// the crate in depth halves; their weight updates and input gradients, products too small
    /// to split and layers with fewer inputs than outputs are not.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn forward_products_of_tall_weights_run_in_depth_halves() {
        let none: [f32; 0] = [];
        let with = |(m, k, n): (usize, usize, usize), trans_b| {
            in_depth_halves(&Operands {
                a: &none,
                trans_a: Transpose::No,
                b: &none,
                trans_b,
                m,
                k,
                n,
            })
        };
        for shape in [
            (32, 784, 300),
            (32, 300, 100),
            (32, 784, 100),
            (32, 300, 300),
        ] {
            assert!(with(shape, Transpose::No), "{shape:?}");
            assert!(!with(shape, Transpose::Yes), "{shape:?}");
        }
        for shape in [
            (784, 32, 300), // the update's shape
            (32, 100, 10),  // m ≥ n
            (32, 100, 300), // k < n
            (16, 64, 60),   // too small to split
        ] {
            assert!(!with(shape, Transpose::No), "{shape:?}");
        }
        // 320k multiply-adds: split (and so in depth halves) only where the threshold is 2^18.
        assert_eq!(
            with((32, 100, 100), Transpose::No),
            32 * 100 * 100 >= parallel_macs()
        );
        assert_eq!(
            crate_runs_avx2() && amd_family_17h(),
            parallel_macs() == PARALLEL_MACS_AVX2
        );
    }

    /// The second half of the depth starts at the row where the packed kernel cuts the update
    /// of the same weight (`k × n`, split in two by rows), so that each half of the forward
    /// product reads the rows one part of the update wrote.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn depth_halves_meet_where_the_update_is_split() {
        use crate::kernels::gemm_packed::{MR, NR};
        for (k, n) in [(784, 300), (300, 100), (784, 100), (603, 101), (100, 100)] {
            let cut = std::sync::Mutex::new(Vec::new());
            crate::kernels::gemm_avx2::in_blocks((k, n), (MR, NR), 2, None, &|rows, _| {
                cut.lock().unwrap().push(rows.start)
            });
            let mut starts = cut.into_inner().unwrap();
            starts.sort();
            assert_eq!(starts, vec![0, depth_half(k)], "k = {k}, n = {n}");
        }
    }

    /// Where the crate runs its AVX2 kernels, a batch's forward product through a tall weight is
    /// the sum of the crate's products over the two halves of `k`, added with one rounding, on
    /// one thread or split; it differs from the crate's straight product.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_forward_product_in_depth_halves_adds_its_two_halves() {
        if !crate_runs_avx2() {
            return;
        }
        let (m, k, n) = (32, 784, 300);
        let (a, b) = test_operands(m, k, n);
        let half = depth_half(k);
        let part = |p0: usize, p1: usize| {
            let a_part: Vec<f32> = (0..m)
                .flat_map(|i| a[i * k + p0..i * k + p1].to_vec())
                .collect();
            let mut c = vec![0.0f32; m * n];
            matmul_with(
                GemmKernel::CrateDirect,
                &a_part,
                Transpose::No,
                &b[p0 * n..p1 * n],
                Transpose::No,
                m,
                p1 - p0,
                n,
                &mut c,
                false,
            );
            c
        };
        let halves: Vec<f32> = part(0, half)
            .iter()
            .zip(&part(half, k))
            .map(|(x, y)| x + y)
            .collect();
        let straight = part(0, k);
        for parts in [1, 2] {
            let mut got = vec![0.0f32; m * n];
            let ops = Operands {
                a: &a,
                trans_a: Transpose::No,
                b: &b,
                trans_b: Transpose::No,
                m,
                k,
                n,
            };
            GemmView::new(ops, &mut got, false).run(GemmKernel::Crate, parts, None);
            assert_same_bits(&got, &halves, &format!("{parts} parts"));
            assert!(
                got.iter()
                    .zip(&straight)
                    .any(|(x, y)| x.to_bits() != y.to_bits())
            );
        }
    }
}
