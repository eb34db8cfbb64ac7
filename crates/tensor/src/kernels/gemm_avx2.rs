//! A hand-written AVX2+FMA single-precision GEMM, tuned for the chapter's small batches.
//!
//! The micro-kernel computes a 6×16 tile of C in twelve ymm accumulators: per step of `k` it
//! broadcasts six elements of A and loads sixteen of B (two ymm), then issues twelve FMAs (a
//! 4×24 tile, which divides the chapter's sizes exactly, spilled registers and ran slower).
//! Loops run row block (128) → column panel (16 wide) → k block (256) → row tile (6): the A
//! block stays in L2 and a B panel block (256×16 floats, 16 KiB) is read once and then served
//! from L1 to every row tile. B is read in place when its rows are contiguous (`A·B`, `Aᵀ·B`);
//! for `A·Bᵀ` each panel is first packed (transposed) into a small buffer. A is read in place
//! through its strides, so `Aᵀ` costs nothing. Edges (fewer than 6 rows or 16 columns) go
//! through narrower instances of the same kernel, on zero-padded copies for columns.
//!
//! The tile's sum is stored, added to `C`, or combined as `keep·C + scale·sum` while still in
//! registers ([`Store`]), so a scaled update such as SGD's `W −= lr·Xᵀ·dY` never forms the
//! product in memory. The kernel needs no heap memory: its scratch lives on the stack.
//!
//! [`transpose_into`], the 8×8 register transpose with which the default (`gemm` crate) path
//! copies a column-major batch product into `C`, lives here with the other AVX2 code.

use super::gemm::{Operands, Transpose};
use std::arch::x86_64::*;

const MR: usize = 6;
const NV: usize = 2;
const NR: usize = NV * 8;
const KC: usize = 256;
const MC: usize = 128;

/// How a tile's sum is combined with `C`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Store {
    /// `C = sum`.
    Overwrite,
    /// `C += sum`, the block's sum added with one rounding.
    Accumulate,
    /// `C = keep·C + scale·sum`: for `keep = 1` one fused multiply-add per element (a single
    /// rounding of `c + scale·sum`), otherwise `keep·c` and `scale·sum` each rounded, then added.
    Scaled {
        /// Factor on the existing `C`.
        keep: f32,
        /// Factor on the product.
        scale: f32,
    },
}

impl Store {
    /// The mode of the k blocks after the first: their partial sums are added to what the
    /// first block stored.
    pub(crate) fn after_first_block(self) -> Store {
        match self {
            Store::Overwrite | Store::Accumulate => Store::Accumulate,
            Store::Scaled { scale, .. } => Store::Scaled { keep: 1.0, scale },
        }
    }

    /// Whether the current value of `C` is read.
    pub(crate) fn reads_c(self) -> bool {
        self != Store::Overwrite
    }

    /// Combines the eight sums `sum` with the eight elements of `C` at `at` as this mode says
    /// (the sum is added with one rounding, as the `gemm` crate does).
    ///
    /// # Safety
    /// AVX2 and FMA must be available; `at` must be valid for reading (unless overwriting)
    /// and writing eight floats.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn write(self, at: *mut f32, sum: __m256) {
        // SAFETY: the caller guarantees the extent and the instruction set.
        unsafe {
            let new = match self {
                Store::Overwrite => sum,
                Store::Accumulate => _mm256_add_ps(_mm256_loadu_ps(at), sum),
                Store::Scaled { keep, scale } => {
                    let old = _mm256_loadu_ps(at);
                    if keep == 1.0 {
                        _mm256_fmadd_ps(_mm256_set1_ps(scale), sum, old)
                    } else {
                        _mm256_add_ps(
                            _mm256_mul_ps(_mm256_set1_ps(keep), old),
                            _mm256_mul_ps(_mm256_set1_ps(scale), sum),
                        )
                    }
                }
            };
            _mm256_storeu_ps(at, new);
        }
    }
}

/// Operand geometry: element (i, p) of op(A) is at `a[i·a_rs + p·a_cs]`.
#[derive(Clone, Copy)]
struct Geometry {
    a_rs: usize,
    a_cs: usize,
}

/// Computes one `ROWS × 8·VECS` tile over `kc` steps.
///
/// # Safety
/// AVX2 and FMA must be available; `a` must be readable at `i·a_rs + p·a_cs` for
/// `i < ROWS, p < kc`; `b` at `p·ldb + 0..8·VECS` for `p < kc`; `c` readable (unless `store` overwrites)
/// and writable at `i·ldc + 0..8·VECS`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const ROWS: usize, const VECS: usize>(
    kc: usize,
    a: *const f32,
    g: Geometry,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    store: Store,
) {
    // SAFETY: the caller guarantees every offset below is in bounds and that AVX2+FMA exist.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); VECS]; ROWS];
        let mut bp = b;
        let mut ap = a;
        for _ in 0..kc {
            let mut bv = [_mm256_setzero_ps(); VECS];
            for (v, reg) in bv.iter_mut().enumerate() {
                *reg = _mm256_loadu_ps(bp.add(8 * v));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*ap.add(i * g.a_rs));
                for (reg, &bvec) in row.iter_mut().zip(&bv) {
                    *reg = _mm256_fmadd_ps(av, bvec, *reg);
                }
            }
            bp = bp.add(ldb);
            ap = ap.add(g.a_cs);
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, reg) in row.iter().enumerate() {
                store.write(c.add(i * ldc + 8 * v), *reg);
            }
        }
    }
}

/// Dispatches a tile of `rows` (1..=MR) rows and `vecs` (1..=NV) vectors to its kernel.
///
/// # Safety
/// As [`tile`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_dispatch(
    rows: usize,
    vecs: usize,
    kc: usize,
    a: *const f32,
    g: Geometry,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    store: Store,
) {
    macro_rules! go {
        ($r:literal) => {
            match vecs {
                2 => tile::<$r, 2>(kc, a, g, b, ldb, c, ldc, store),
                _ => tile::<$r, 1>(kc, a, g, b, ldb, c, ldc, store),
            }
        };
    }
    // SAFETY: forwarded contract.
    unsafe {
        match rows {
            6 => go!(6),
            5 => go!(5),
            4 => go!(4),
            3 => go!(3),
            2 => go!(2),
            _ => go!(1),
        }
    }
}

/// `C = op(A)·op(B)` (or `C += …`, or `C = keep·C + scale·…`, as `store` says) for columns
/// `cols` of C; `c` points at the whole `m×n` output.
///
/// # Safety
/// AVX2 and FMA must be available; `c` must be valid for reads and writes of `m·n` floats, and
/// no one else may access columns `cols` of it during the call.
#[target_feature(enable = "avx2,fma")]
unsafe fn panels(ops: Operands<'_>, c: *mut f32, store: Store, cols: std::ops::Range<usize>) {
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
    // Scratch: a packed / zero-padded B panel block, and a padded C tile for edges.
    let mut packed = [0.0f32; KC * NR];
    let mut c_tile = [0.0f32; MR * NR];
    // Row blocks of MC keep the A block (MC×KC floats) in L2 across the column panels.
    let mut ic = 0;
    while ic < m {
        let mc = MC.min(m - ic);
        let mut j0 = cols.start;
        while j0 < cols.end {
            let width = NR.min(cols.end - j0);
            let vecs = width.div_ceil(8);
            let padded = vecs * 8;
            let mut p0 = 0;
            while p0 < k {
                let kc = KC.min(k - p0);
                // Where this block of the B panel lives, and its row stride.
                let direct = trans_b == Transpose::No && width == padded;
                let (bptr, ldb) = if direct {
                    (b[p0 * n + j0..].as_ptr(), n)
                } else {
                    match trans_b {
                        Transpose::No => {
                            for p in 0..kc {
                                let row = &mut packed[p * padded..(p + 1) * padded];
                                row[..width].copy_from_slice(
                                    &b[(p0 + p) * n + j0..(p0 + p) * n + j0 + width],
                                );
                                row[width..].fill(0.0);
                            }
                        }
                        Transpose::Yes => {
                            // Read B's rows contiguously; write the transposed panel.
                            for jj in 0..padded {
                                if jj < width {
                                    let src = &b[(j0 + jj) * k + p0..(j0 + jj) * k + p0 + kc];
                                    for (p, &v) in src.iter().enumerate() {
                                        packed[p * padded + jj] = v;
                                    }
                                } else {
                                    for p in 0..kc {
                                        packed[p * padded + jj] = 0.0;
                                    }
                                }
                            }
                        }
                    }
                    (packed.as_ptr(), padded)
                };
                let block_store = if p0 == 0 {
                    store
                } else {
                    store.after_first_block()
                };
                let mut i0 = ic;
                while i0 < ic + mc {
                    let rows = MR.min(ic + mc - i0);
                    let aptr = a[i0 * g.a_rs + p0 * g.a_cs..].as_ptr();
                    if width == padded {
                        // SAFETY: i0·n + j0 < m·n.
                        let cptr = unsafe { c.add(i0 * n + j0) };
                        // SAFETY: A is read at (i0 + i)·a_rs + (p0 + p)·a_cs < m·k for i < rows,
                        // p < kc; B at p·ldb + 0..width (direct: (p0 + p)·n + j0 + width ≤ k·n;
                        // packed: < KC·NR); C at (i0 + i)·n + j0 + 0..width ≤ m·n, within `cols`.
                        // AVX2+FMA are enabled on this function, which is only called when the
                        // CPU has them.
                        unsafe {
                            tile_dispatch(rows, vecs, kc, aptr, g, bptr, ldb, cptr, n, block_store)
                        };
                    } else {
                        // SAFETY: rows i0..i0 + rows, columns j0..j0 + width lie in columns
                        // `cols` of C; `c_tile` holds MR rows of `padded` floats; A and the
                        // packed B as above.
                        unsafe {
                            through_padded_tile(
                                c.add(i0 * n + j0),
                                n,
                                (rows, width),
                                &mut c_tile,
                                padded,
                                block_store,
                                |tile| {
                                    tile_dispatch(
                                        rows,
                                        vecs,
                                        kc,
                                        aptr,
                                        g,
                                        bptr,
                                        ldb,
                                        tile,
                                        padded,
                                        block_store,
                                    )
                                },
                            )
                        };
                    }
                    i0 += rows;
                }
                p0 += kc;
            }
            j0 += width;
        }
        ic += mc;
    }
}

/// Runs `kernel` on a padded copy of the `rows × cols` block of `C` at `c` (row stride `ldc`)
/// instead of on `C` itself, for tiles at the edges of `C`: the copy, `tile` with row stride
/// `padded`, holds `C`'s values where `store` reads them and zeros everywhere else; afterwards
/// the block is copied back. `kernel` receives the copy's pointer.
///
/// # Safety
/// `c + i·ldc + 0..cols` must be valid for reads and writes for every `i < rows`, and `kernel`
/// must be safe to call on `tile` with row stride `padded` (`cols ≤ padded`).
pub(crate) unsafe fn through_padded_tile(
    c: *mut f32,
    ldc: usize,
    (rows, cols): (usize, usize),
    tile: &mut [f32],
    padded: usize,
    store: Store,
    kernel: impl FnOnce(*mut f32),
) {
    for (i, row) in tile.chunks_exact_mut(padded).enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = if i < rows && j < cols && store.reads_c() {
                // SAFETY: (i, j) lies inside the block (caller's contract).
                unsafe { *c.add(i * ldc + j) }
            } else {
                0.0
            };
        }
    }
    kernel(tile.as_mut_ptr());
    for i in 0..rows {
        // SAFETY: row i of the block holds `cols` floats (caller's contract); `tile` does not
        // alias C.
        unsafe { std::ptr::copy_nonoverlapping(tile[i * padded..].as_ptr(), c.add(i * ldc), cols) };
    }
}

/// The AVX2 GEMM; see [`super::gemm::matmul`] for the contract (lengths already checked,
/// `m, n, k > 0`). Runs as up to `parts` blocks of whole column panels of C, shared between
/// this thread and the helper threads ([`crate::parallel::run_parts`]); the blocks read B in
/// place, so a split repacks nothing. Each element is formed by the same sequence of FMAs
/// whatever the split, so the result does not depend on `parts`, bit for bit.
///
/// `epilogue(0, m, j0, j1)`, when given, runs on each finished block of columns `j0..j1` on
/// the thread that computed it.
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
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"),
        "gemm_avx2 needs AVX2 and FMA"
    );
    let base = SendPtr(c);
    let run = move |cols: std::ops::Range<usize>| {
        // SAFETY: AVX2 and FMA were detected above; C holds m·n floats and lives through the
        // call (caller's contract); each caller below passes its own disjoint columns.
        unsafe { panels(ops, base.get(), store, cols.clone()) };
        if let Some(epilogue) = epilogue {
            epilogue(0, ops.m, cols.start, cols.end);
        }
    };
    // Whole panels per block, spread evenly: each block writes only its own columns of C, so
    // the blocks are disjoint even though they interleave in memory.
    let n = ops.n;
    let panel_count = n.div_ceil(NR);
    let parts = parts.clamp(1, panel_count);
    if parts == 1 {
        run(0..n);
        return;
    }
    crate::parallel::run_parts(parts, &|p| {
        let first = p * panel_count / parts;
        let last = (p + 1) * panel_count / parts;
        run((first * NR).min(n)..(last * NR).min(n));
    });
}

/// The output pointer of a split product, shared with the threads that compute its blocks.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut f32);
// SAFETY: the GEMMs of this module and `gemm_packed` use the pointer only to write disjoint
// blocks, and return only after every part is done.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}
impl SendPtr {
    /// The pointer.
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

/// Where part `p` of `parts` (at most `len.div_ceil(unit)`) starts when `len` rows or columns
/// are cut into whole `unit`s spread evenly ([`in_blocks`]'s cut; `p = parts` gives `len`).
pub(crate) fn part_start(len: usize, unit: usize, parts: usize, p: usize) -> usize {
    (p * len.div_ceil(unit) / parts * unit).min(len)
}

/// Where the second of two parts starts when `len` rows are cut into whole `unit`s
/// ([`in_blocks`]' cut into two): the row at which a weight's update is split, and so where the
/// depth halves of its forward product meet (`gemm.rs` and `gemm_avx512.rs`).
pub(crate) fn second_half_start(len: usize, unit: usize) -> usize {
    part_start(len, unit, 2.min(len.div_ceil(unit)), 1)
}

/// Cuts an `m×n` `C` into up to `parts` blocks (whole units of `unit_rows` rows when `m ≥ n`,
/// of `unit_cols` columns otherwise, spread evenly) and runs `block(rows, cols)` and then
/// `epilogue(i0, i1, j0, j1)` on each, shared between this thread and the helper threads
/// ([`crate::parallel::run_parts`]): the split of the packed and the AVX-512 kernels.
pub(crate) fn in_blocks(
    (m, n): (usize, usize),
    (unit_rows, unit_cols): (usize, usize),
    parts: usize,
    epilogue: Option<&(dyn Fn(usize, usize, usize, usize) + Sync)>,
    block: &(dyn Fn(std::ops::Range<usize>, std::ops::Range<usize>) + Sync),
) {
    let by_rows = m >= n;
    let (unit, len) = if by_rows {
        (unit_rows, m)
    } else {
        (unit_cols, n)
    };
    let parts = parts.clamp(1, len.div_ceil(unit));
    let run = move |p: usize| {
        let lo = part_start(len, unit, parts, p);
        let hi = part_start(len, unit, parts, p + 1);
        if lo >= hi {
            return;
        }
        let (rows, cols) = if by_rows {
            (lo..hi, 0..n)
        } else {
            (0..m, lo..hi)
        };
        block(rows.clone(), cols.clone());
        if let Some(epilogue) = epilogue {
            epilogue(rows.start, rows.end, cols.start, cols.end);
        }
    };
    if parts == 1 {
        run(0);
    } else {
        crate::parallel::run_parts(parts, &run);
    }
}

/// Copies the column-major `rows × cols` block `t` (element `(i, j)` at `t[j·rows + i]`) into
/// a row-major block whose row `i` starts at `out + i·ld`. Whole 8×8 tiles are transposed in
/// registers (eight loads, eight stores, 24 shuffles), the edges element by element.
///
/// # Safety
/// The CPU must support AVX2; `t` must hold `rows·cols` elements, and `out + i·ld` must be
/// valid for writing `cols` elements for every `i < rows`, none of them aliasing `t`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn transpose_into(t: &[f32], rows: usize, cols: usize, out: *mut f32, ld: usize) {
    debug_assert!(t.len() >= rows * cols);
    let (rows8, cols8) = (rows / 8 * 8, cols / 8 * 8);
    let src = t.as_ptr();
    let row = |i: usize| {
        // SAFETY: called with i < rows only, so the row lies inside the caller's block.
        unsafe { out.add(i * ld) }
    };
    for i in (0..rows8).step_by(8) {
        let dst: [*mut f32; 8] = std::array::from_fn(|r| row(i + r));
        for j in (0..cols8).step_by(8) {
            // SAFETY: (i + 7) < rows and (j + 7) < cols, so every load reads inside `t` and
            // every store writes inside row i + r's first `cols` elements.
            unsafe {
                let r: [__m256; 8] =
                    std::array::from_fn(|c| _mm256_loadu_ps(src.add((j + c) * rows + i)));
                let o = transpose8x8(r);
                for (r, v) in o.iter().enumerate() {
                    _mm256_storeu_ps(dst[r].add(j), *v);
                }
            }
        }
        for (r, &d) in dst.iter().enumerate() {
            for j in cols8..cols {
                // SAFETY: inside `t` and inside row i + r's first `cols` elements.
                unsafe { *d.add(j) = *src.add(j * rows + i + r) };
            }
        }
    }
    for i in rows8..rows {
        let d = row(i);
        for j in 0..cols {
            // SAFETY: as above.
            unsafe { *d.add(j) = *src.add(j * rows + i) };
        }
    }
}

/// The transpose of the 8×8 block whose rows are `r`: row `i` of the result holds element `i`
/// of every input row (24 shuffles).
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn transpose8x8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

#[cfg(test)]
mod tests {
    /// The register transpose moves every element of every shape, edges included, to its
    /// place, and writes nothing past a row's first `cols` elements.
    #[test]
    fn transpose_into_matches_the_index_formula() {
        if !super::super::Isa::Avx2.is_supported() {
            return;
        }
        for rows in 1..=19 {
            for cols in 1..=19 {
                let t: Vec<f32> = (0..rows * cols).map(|x| x as f32).collect();
                let stride = cols + 3;
                let mut c = vec![-1.0f32; rows * stride];
                // SAFETY: AVX2 is supported; row i starts at i·stride and has room for
                // `cols` (< stride) elements; `t` holds rows·cols elements.
                unsafe { super::transpose_into(&t, rows, cols, c.as_mut_ptr(), stride) };
                for i in 0..rows {
                    for j in 0..stride {
                        let want = if j < cols {
                            (j * rows + i) as f32
                        } else {
                            -1.0
                        };
                        assert_eq!(c[i * stride + j], want, "{rows}×{cols} at ({i}, {j})");
                    }
                }
            }
        }
    }
}
