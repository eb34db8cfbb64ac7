//! A hand-written AVX-512 single-precision GEMM that reads its operands in place, for the
//! products of a training step (a batch of 32 to a few hundred rows, or a weight gradient
//! with k = batch).
//!
//! The micro-kernel computes an 8×48 tile of C in 24 zmm accumulators: per step of `k` it
//! loads 48 floats of B (three zmm) and broadcasts eight elements of A, then issues 24 FMAs.
//! The last of a tile's vectors is loaded and stored under a lane mask, so a column edge
//! needs neither a padded copy of B nor of C; a block's last 49–64 columns run as one panel
//! of four vectors in 6-row tiles (n = 300 = 5·48 + 60, not 6·48 + 12, whose last tiles would
//! issue one FMA per broadcast); row edges go through instances of the kernel with fewer rows. Loops run row block ([`MC`]) → column panel (48
//! wide) → k block ([`KC`]) → row tile (8): a B panel block (`KC×48` floats, at most 25 KiB) is read
//! once from memory and then from L1/L2 by every row tile, and A is read in place through its
//! strides, so `Aᵀ` (a weight gradient `Xᵀ·dY`) costs nothing. B is read in place when its
//! rows are contiguous (`A·B`, `Aᵀ·B`); for `A·Bᵀ` each panel block is first transposed into a
//! per-thread buffer that is reused from call to call.
//!
//! A batch's forward product through a weight with at least as many rows as columns (`X·W`,
//! `m ≤ 64`, `k ≥ n > m`, large enough to split) runs as two sums over the halves of `k`, one
//! per thread, added at the end: each half reads the rows of `W` that the same thread wrote in
//! the previous update `W += s·Xᵀ·dY` (split by rows), where a split by columns would move half
//! of `W` between the cores' caches twice per step ([`in_depth_halves`]). On one thread the
//! halves run one after the other, so the bits do not depend on the thread count.
//!
//! Each element of C is the sum of its k blocks' sums, each formed from zero by one FMA per
//! step and combined with C as [`Store`] says (`C = keep·C + scale·sum` for a fused SGD
//! update), so the result does not depend on the tile an element falls in nor on how the
//! product is split across threads. It differs from the `gemm` crate's bits by the rounding
//! of a different summation order.

use super::gemm::{Operands, Transpose};
use super::gemm_avx2::{SendPtr, Store, in_blocks, second_half_start};
use std::arch::x86_64::*;
use std::cell::RefCell;

/// Rows of a micro-tile.
const MR: usize = 8;
/// Vectors of 16 floats in a micro-tile's row.
const NV: usize = 3;
/// Columns of a micro-tile.
const NR: usize = NV * 16;
/// The widest last panel: a block's last 49–64 columns run as one panel of four vectors in
/// tiles of [`MR_WIDE`] rows (so that n = 300 ends in a 60-wide panel, not in a 12-wide one
/// whose tiles would issue one FMA per broadcast).
const NR_WIDE: usize = 64;
/// Rows of a four-vector tile (24 accumulators, as the 8×48 tile).
const MR_WIDE: usize = 6;
/// Greatest depth of a k block. `k` is cut into as few blocks as this allows, of equal depth
/// ([`even_depth`]): each depth half of W1's forward product (k = 392, [`in_depth_halves`])
/// into three blocks of 131, whose `131 × 48` panel block of B spans 25–33 KiB of cache lines
/// (33 when B's rows are not 64-byte aligned, as W1's 300-float rows are not), so that it stays
/// in a 48 KiB L1 beside the tile's rows of A. A limit of 256 (blocks of 196, 37–50 KiB of
/// lines) ran W1's forward product 7–37 % slower on an Ice Lake core (`docs/performance.md`,
/// item 29); 128 instead of 132 (four blocks of 98 per half) 7 % slower on a Sapphire
/// Rapids-class core (item 30).
pub(crate) const KC: usize = 132;
/// Rows of a row block (the part of A the column panels of one pass share).
const MC: usize = 256;

thread_local! {
    /// This thread's buffer for transposed B panel blocks (`KC × NR_WIDE` floats).
    static PACKED_BT: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The sum over the second half of `k` of a product computed in depth halves
    /// ([`in_depth_halves`]), on the thread that calls the product (`m × n` floats).
    static SECOND_HALF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Reserves this thread's buffer for transposed B panel blocks (see
/// [`super::gemm::reserve_thread_scratch`]).
pub(crate) fn reserve() {
    PACKED_BT
        .with(|packed| super::gemm_packed::reserve_floats(&mut packed.borrow_mut(), KC * NR_WIDE));
}

/// Whether a product is computed as two sums over the halves of `k`, added at the end
/// ([`matmul`]): a batch's forward product `X·W` (at most 64 rows, `B` used as stored, `C`
/// overwritten) large enough to be split (`m·k·n` ≥ [`super::gemm::PARALLEL_MACS`]) whose
/// weight has at least as many rows as columns (`k ≥ n`, and `m < n`). Such a `W`'s update
/// `W += s·Xᵀ·dY` (`m = k_forward ≥ n`) is split by rows, so the forward product split by
/// depth reads on each core the rows of `W` that core wrote in the previous update; the usual
/// split by columns would move half of `W` between the cores' caches twice per step
/// (`docs/performance.md`, item 30). The rule depends on the product alone, never on the
/// thread count, so the bits are the same on any number of threads.
fn in_depth_halves(ops: &Operands<'_>, store: Store) -> bool {
    let (m, k, n) = (ops.m, ops.k, ops.n);
    store == Store::Overwrite
        && ops.trans_b == Transpose::No
        && m <= super::gemm::OWN_AVX512_MAX_SIDE
        && m < n
        && k >= n
        && m.saturating_mul(k).saturating_mul(n) >= super::gemm::PARALLEL_MACS
}

/// The first step of the second half of `k` in [`in_depth_halves`]: the row at which
/// [`in_blocks`] cuts the update of a `k × n` weight (`m ≥ n`, two parts of whole [`MR`]-row
/// tiles), so that each half of the forward product reads the rows of `W` one part of the
/// update wrote.
fn depth_half(k: usize) -> usize {
    second_half_start(k, MR)
}

/// The depth of `k`'s blocks: as few as blocks of at most `max` allow, of equal depth (so that
/// with `max` = 128 k = 784 runs as seven blocks of 112, not six of 128 and one of 16 whose
/// tiles would spend about as long loading and storing C as on their 16 steps).
fn even_depth(k: usize, max: usize) -> usize {
    let blocks = k.div_ceil(max).max(1);
    k.div_ceil(blocks)
}

/// Element (i, p) of op(A) is at `a[i·a_rs + p·a_cs]`.
#[derive(Clone, Copy)]
struct Geometry {
    a_rs: usize,
    a_cs: usize,
}

/// The lanes of the last vector of a `width`-column tile (`width > 0`).
fn last_mask(width: usize) -> __mmask16 {
    let rest = width - (width - 1) / 16 * 16;
    if rest == 16 {
        0xFFFF
    } else {
        (1u16 << rest) - 1
    }
}

/// Combines the sums `sum` with the elements of `C` at `at` under `mask` as `store` says.
///
/// # Safety
/// AVX-512F must be available; `at + lane` must be valid for reading (unless overwriting) and
/// writing for every lane set in `mask`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn write(store: Store, at: *mut f32, sum: __m512, mask: __mmask16) {
    // SAFETY: the caller guarantees the extent and the instruction set; masked-off lanes are
    // neither read nor written.
    unsafe {
        let new = match store {
            Store::Overwrite => sum,
            Store::Accumulate => _mm512_add_ps(_mm512_maskz_loadu_ps(mask, at), sum),
            Store::Scaled { keep, scale } => {
                let old = _mm512_maskz_loadu_ps(mask, at);
                if keep == 1.0 {
                    _mm512_fmadd_ps(_mm512_set1_ps(scale), sum, old)
                } else {
                    _mm512_add_ps(
                        _mm512_mul_ps(_mm512_set1_ps(keep), old),
                        _mm512_mul_ps(_mm512_set1_ps(scale), sum),
                    )
                }
            }
        };
        _mm512_mask_storeu_ps(at, mask, new);
    }
}

/// Computes one `ROWS × 16·VECS` tile (its last vector under `mask`) over `kc` steps.
///
/// # Safety
/// AVX-512F must be available; `a` must be readable at `i·a_rs + p·a_cs` for `i < ROWS,
/// p < kc`; `b` at `p·ldb + 0..16·(VECS − 1)` and at the lanes of `mask` after that, for
/// `p < kc`; `c` readable (unless `store` overwrites) and writable at the same columns of
/// `i·ldc` for `i < ROWS`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn tile<const ROWS: usize, const VECS: usize>(
    kc: usize,
    a: *const f32,
    g: Geometry,
    b: *const f32,
    ldb: usize,
    mask: __mmask16,
    c: *mut f32,
    ldc: usize,
    store: Store,
) {
    // SAFETY: the caller guarantees every offset below is in bounds (masked-off lanes are not
    // accessed) and that AVX-512F exists.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); VECS]; ROWS];
        let (mut ap, mut bp) = (a, b);
        for _ in 0..kc {
            let bv: [__m512; VECS] = std::array::from_fn(|v| {
                if v + 1 == VECS {
                    _mm512_maskz_loadu_ps(mask, bp.add(16 * v))
                } else {
                    _mm512_loadu_ps(bp.add(16 * v))
                }
            });
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.add(i * g.a_rs));
                for (reg, &bvec) in row.iter_mut().zip(&bv) {
                    *reg = _mm512_fmadd_ps(av, bvec, *reg);
                }
            }
            ap = ap.add(g.a_cs);
            bp = bp.add(ldb);
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, reg) in row.iter().enumerate() {
                let lanes = if v + 1 == VECS { mask } else { 0xFFFF };
                write(store, c.add(i * ldc + 16 * v), *reg, lanes);
            }
        }
    }
}

/// Dispatches a tile of `rows` (1..=MR) rows and `vecs` (1..=NV) vectors, or of up to
/// [`MR_WIDE`] rows and four vectors, to its kernel.
///
/// # Safety
/// As [`tile`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn tile_dispatch(
    rows: usize,
    vecs: usize,
    kc: usize,
    a: *const f32,
    g: Geometry,
    b: *const f32,
    ldb: usize,
    mask: __mmask16,
    c: *mut f32,
    ldc: usize,
    store: Store,
) {
    // Four-vector tiles exist for up to MR_WIDE rows only (more would not fit the registers):
    // `go_narrow` serves the 7- and 8-row tiles.
    macro_rules! go {
        ($r:literal) => {
            match vecs {
                4 => tile::<$r, 4>(kc, a, g, b, ldb, mask, c, ldc, store),
                3 => tile::<$r, 3>(kc, a, g, b, ldb, mask, c, ldc, store),
                2 => tile::<$r, 2>(kc, a, g, b, ldb, mask, c, ldc, store),
                _ => tile::<$r, 1>(kc, a, g, b, ldb, mask, c, ldc, store),
            }
        };
    }
    macro_rules! go_narrow {
        ($r:literal) => {
            match vecs {
                3 => tile::<$r, 3>(kc, a, g, b, ldb, mask, c, ldc, store),
                2 => tile::<$r, 2>(kc, a, g, b, ldb, mask, c, ldc, store),
                _ => tile::<$r, 1>(kc, a, g, b, ldb, mask, c, ldc, store),
            }
        };
    }
    debug_assert!(vecs <= NV || rows <= MR_WIDE);
    // SAFETY: forwarded contract.
    unsafe {
        match rows {
            8 => go_narrow!(8),
            7 => go_narrow!(7),
            6 => go!(6),
            5 => go!(5),
            4 => go!(4),
            3 => go!(3),
            2 => go!(2),
            _ => go!(1),
        }
    }
}

/// Transposes rows `j0..j0 + width` (columns `p0..p0 + kc`) of the row-major `n×k` matrix
/// `bt` (that is, a `kc × width` block of op(B) = Btᵀ) into `dst`, `NR_WIDE` floats per k step,
/// with eight-row register transposes where whole.
///
/// # Safety
/// AVX2 must be available; the block must lie inside `bt` (`(j0 + width)·k ≤ bt.len()`,
/// `p0 + kc ≤ k`, `width ≤ NR_WIDE`); `dst` must hold `kc·NR_WIDE` floats.
#[target_feature(enable = "avx2")]
unsafe fn pack_bt(
    bt: &[f32],
    k: usize,
    p0: usize,
    kc: usize,
    j0: usize,
    width: usize,
    dst: &mut [f32],
) {
    let k8 = kc / 8 * 8;
    let mut jj = 0;
    while jj + 8 <= width {
        let src: [&[f32]; 8] = std::array::from_fn(|r| &bt[(j0 + jj + r) * k + p0..][..kc]);
        for p in (0..k8).step_by(8) {
            // SAFETY: each source row holds kc ≥ p + 8 floats; the stores write floats
            // (p + q)·NR_WIDE + jj .. + 8 with p + q < kc and jj + 8 ≤ width ≤ NR_WIDE.
            unsafe {
                let r: [__m256; 8] =
                    std::array::from_fn(|r| _mm256_loadu_ps(src[r].as_ptr().add(p)));
                let o = super::gemm_avx2::transpose8x8(r);
                for (q, v) in o.iter().enumerate() {
                    _mm256_storeu_ps(dst.as_mut_ptr().add((p + q) * NR_WIDE + jj), *v);
                }
            }
        }
        for p in k8..kc {
            for (r, row) in src.iter().enumerate() {
                dst[p * NR_WIDE + jj + r] = row[p];
            }
        }
        jj += 8;
    }
    for j in jj..width {
        let row = &bt[(j0 + j) * k + p0..][..kc];
        for (p, &v) in row.iter().enumerate() {
            dst[p * NR_WIDE + j] = v;
        }
    }
}

/// `C (op)= op(A)·op(B)` for rows `rows` and columns `cols` of C (`c` points at the whole
/// `m×n` output), summed over the steps `depth` of `k` only; `rows.start` a multiple of [`MR`]
/// and `cols.start` of [`NR`].
///
/// # Safety
/// AVX-512F and AVX2 must be available; `c` must be valid for reads and writes of `m·n`
/// floats, and no one else may access that block of it during the call.
#[target_feature(enable = "avx512f,avx2")]
unsafe fn block(
    ops: Operands<'_>,
    c: *mut f32,
    store: Store,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    depth: std::ops::Range<usize>,
) {
    let Operands {
        a,
        trans_a,
        b,
        trans_b,
        m,
        k,
        n,
    } = ops;
    let g = match trans_a {
        Transpose::No => Geometry { a_rs: k, a_cs: 1 },
        Transpose::Yes => Geometry { a_rs: 1, a_cs: m },
    };
    let kc_even = even_depth(depth.len(), KC);
    PACKED_BT.with(|packed| {
        let mut packed = packed.borrow_mut();
        if trans_b == Transpose::Yes && packed.len() < KC * NR_WIDE {
            packed.resize(KC * NR_WIDE, 0.0);
        }
        let mut ic = rows.start;
        while ic < rows.end {
            let mc = MC.min(rows.end - ic);
            let mut j0 = cols.start;
            while j0 < cols.end {
                let rest = cols.end - j0;
                let width = if rest <= NR_WIDE { rest } else { NR };
                let vecs = width.div_ceil(16);
                let mr = if vecs > NV { MR_WIDE } else { MR };
                let mask = last_mask(width);
                let mut p0 = depth.start;
                while p0 < depth.end {
                    let kc = kc_even.min(depth.end - p0);
                    let (bptr, ldb) = match trans_b {
                        Transpose::No => (b[p0 * n + j0..].as_ptr(), n),
                        Transpose::Yes => {
                            // SAFETY: AVX2 is enabled here; rows j0..j0 + width, columns
                            // p0..p0 + kc lie inside the n×k matrix `b`; `packed` holds
                            // KC·NR_WIDE floats.
                            unsafe { pack_bt(b, k, p0, kc, j0, width, &mut packed) };
                            (packed.as_ptr(), NR_WIDE)
                        }
                    };
                    let block_store = if p0 == depth.start {
                        store
                    } else {
                        store.after_first_block()
                    };
                    let mut i0 = ic;
                    while i0 < ic + mc {
                        let tile_rows = mr.min(ic + mc - i0);
                        let aptr = a[i0 * g.a_rs + p0 * g.a_cs..].as_ptr();
                        // SAFETY: A is read at (i0 + i)·a_rs + (p0 + p)·a_cs < m·k for
                        // i < tile_rows, p < kc; B at p·ldb + the tile's columns (direct:
                        // (p0 + p)·n + j0 + width ≤ k·n; packed: < KC·NR_WIDE), the last vector
                        // under `mask`; C at (i0 + i)·n + j0 + 0..width, inside this block.
                        // AVX-512F is enabled on this function.
                        unsafe {
                            tile_dispatch(
                                tile_rows,
                                vecs,
                                kc,
                                aptr,
                                g,
                                bptr,
                                ldb,
                                mask,
                                c.add(i0 * n + j0),
                                n,
                                block_store,
                            )
                        };
                        i0 += tile_rows;
                    }
                    p0 += kc;
                }
                j0 += width;
            }
            ic += mc;
        }
    });
}

/// The AVX-512 GEMM; see [`super::gemm::matmul`] for the contract (lengths already checked,
/// `m, n, k > 0`). Runs as up to `parts` blocks of C (whole row tiles when `m ≥ n`, whole
/// column panels otherwise) shared between this thread and the helper threads
/// ([`crate::parallel::run_parts`]); the operands are read in place, so a split copies
/// nothing. A product [`in_depth_halves`] runs instead as its two depth halves (on two
/// threads when `parts ≥ 2`), added on this thread. The result does not depend on `parts`,
/// bit for bit.
///
/// `epilogue(i0, i1, j0, j1)`, when given, runs on each finished block on the thread that
/// computed it (for a product in depth halves, once on all of C, on this thread).
///
/// # Safety
/// `c` must be valid for reads and writes of `m·n` floats and nothing else may access them
/// during the call (the epilogue may, for its own block).
pub(crate) unsafe fn matmul(
    ops: Operands<'_>,
    c: *mut f32,
    store: Store,
    parts: usize,
    epilogue: Option<&(dyn Fn(usize, usize, usize, usize) + Sync)>,
) {
    assert!(
        super::Isa::Avx512.is_supported(),
        "gemm_avx512 needs AVX-512F and AVX2"
    );
    let base = SendPtr(c);
    let (m, k, n) = (ops.m, ops.k, ops.n);
    if in_depth_halves(&ops, store) {
        let half = depth_half(k);
        SECOND_HALF.with(|second| {
            let mut second = second.borrow_mut();
            if second.len() < m * n {
                second.resize(m * n, 0.0);
            }
            let second_ptr = SendPtr(second.as_mut_ptr());
            let run = |part: usize| {
                if part == 0 {
                    // SAFETY: AVX-512F and AVX2 were checked above; C holds m·n floats (the
                    // caller's contract), written by this part only.
                    unsafe { block(ops, base.get(), store, 0..m, 0..n, 0..half) }
                } else {
                    // SAFETY: as above; `second` holds at least m·n floats and is written by
                    // this part only, while the calling thread holds its borrow.
                    unsafe { block(ops, second_ptr.get(), Store::Overwrite, 0..m, 0..n, half..k) }
                }
            };
            if parts >= 2 {
                crate::parallel::run_parts(2, &run);
            } else {
                run(0);
                run(1);
            }
            // SAFETY: both parts are done; C holds m·n floats, `second` at least as many.
            let (out, rest) = unsafe {
                (
                    std::slice::from_raw_parts_mut(base.get(), m * n),
                    std::slice::from_raw_parts(second_ptr.get(), m * n),
                )
            };
            super::elementwise::axpy(1.0, rest, out);
        });
        if let Some(epilogue) = epilogue {
            epilogue(0, m, 0, n);
        }
        return;
    }
    in_blocks((m, n), (MR, NR), parts, epilogue, &|rows, cols| {
        // SAFETY: AVX-512F and AVX2 were checked above; C holds m·n floats and lives through
        // the call (caller's contract); `in_blocks` hands out disjoint blocks.
        unsafe { block(ops, base.get(), store, rows, cols, 0..k) }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops<'a>(a: &'a [f32], b: &'a [f32], (m, k, n): (usize, usize, usize)) -> Operands<'a> {
        Operands {
            a,
            trans_a: Transpose::No,
            b,
            trans_b: Transpose::No,
            m,
            k,
            n,
        }
    }

    /// The forward products of W1–W3's layers at batch 32 are computed in depth halves; their
    /// weight updates, input gradients, accumulating stores, products too small to split and
    /// layers with fewer inputs than outputs are not.
    #[test]
    fn forward_products_of_tall_weights_run_in_depth_halves() {
        let none: [f32; 0] = [];
        let with = |shape: (usize, usize, usize), ta, tb, store| {
            let mut o = ops(&none, &none, shape);
            o.trans_a = ta;
            o.trans_b = tb;
            in_depth_halves(&o, store)
        };
        use Transpose::{No, Yes};
        for shape in [
            (32, 784, 300),
            (32, 300, 100),
            (32, 784, 100),
            (32, 100, 100),
        ] {
            assert!(with(shape, No, No, Store::Overwrite), "{shape:?}");
            assert!(!with(shape, No, No, Store::Accumulate), "{shape:?}");
            assert!(!with(shape, No, Yes, Store::Overwrite), "{shape:?}");
        }
        for shape in [
            (784, 32, 300),  // the update's shape
            (32, 100, 10),   // m ≥ n
            (32, 100, 300),  // k < n
            (256, 784, 300), // more than 64 rows
            (8, 64, 60),     // too small to split
        ] {
            assert!(!with(shape, No, No, Store::Overwrite), "{shape:?}");
        }
    }

    /// The second half of the depth starts at the row where the update of the same weight
    /// (`k × n`, split in two by rows) is cut, so that each half of the forward product reads
    /// the rows one part of the update wrote.
    #[test]
    fn depth_halves_meet_where_the_update_is_split() {
        for (k, n) in [(784, 300), (300, 100), (603, 101), (100, 100), (17, 9)] {
            let cut = std::sync::Mutex::new(Vec::new());
            in_blocks((k, n), (MR, NR), 2, None, &|rows, _| {
                cut.lock().unwrap().push(rows.start)
            });
            let mut starts = cut.into_inner().unwrap();
            starts.sort();
            assert_eq!(starts, vec![0, depth_half(k)], "k = {k}, n = {n}");
        }
    }

    /// A product in depth halves is the sum of its two halves, each summed in k blocks as
    /// usual, added with one rounding; it differs from one sum straight through `k`.
    #[test]
    fn a_product_in_depth_halves_adds_its_two_halves() {
        if !crate::kernels::Isa::Avx512.is_supported() {
            return;
        }
        let shape @ (m, k, n) = (32, 784, 300);
        let (a, b) = super::super::gemm::tests::test_operands(m, k, n);
        let o = ops(&a, &b, shape);
        let half = depth_half(k);
        let mut got = vec![0.0f32; m * n];
        let (mut first, mut second, mut straight) = (
            vec![0.0f32; m * n],
            vec![0.0f32; m * n],
            vec![0.0f32; m * n],
        );
        // SAFETY: AVX-512 was checked above; every output holds m·n floats.
        unsafe {
            matmul(o, got.as_mut_ptr(), Store::Overwrite, 2, None);
            block(o, first.as_mut_ptr(), Store::Overwrite, 0..m, 0..n, 0..half);
            block(
                o,
                second.as_mut_ptr(),
                Store::Overwrite,
                0..m,
                0..n,
                half..k,
            );
            block(o, straight.as_mut_ptr(), Store::Overwrite, 0..m, 0..n, 0..k);
        }
        let halves: Vec<f32> = first.iter().zip(&second).map(|(x, y)| x + y).collect();
        super::super::gemm::tests::assert_same_bits(&got, &halves, "the sum of the two halves");
        assert!(
            got.iter()
                .zip(&straight)
                .any(|(x, y)| x.to_bits() != y.to_bits())
        );
    }
}
