//! A packed (BLIS-style) AVX2+FMA single-precision GEMM for large products.
//!
//! Both operands are copied into contiguous micro-panels before the arithmetic: `op(B)` in
//! blocks of `kc × NC` as panels of [`NR`] columns (`kc·NR` floats each, the order the
//! micro-kernel reads them), `op(A)` in blocks of `MC × kc` as panels of [`MR`] rows. Loops run
//! column block (`NC`) → k block (`kc`, B packed) → row block (`MC`, A packed) → B panel →
//! A panel → micro-kernel, so that a B panel stays in L1 or L2 while the A panels of the
//! block stream from L2, and the B block from L2/L3. Packing reads through the operands'
//! strides (with 8×8 register transposes where a panel needs one), so `Aᵀ` and `Bᵀ` cost no
//! more than the plain forms. Edges are packed with zeros to whole panels and their tiles
//! stored through a padded copy, so one 6×16 micro-kernel serves every tile.
//!
//! The k blocks are the `gemm` crate's ([`super::gemm::crate_depth_block`], 512 deep on this
//! project's machine): each block's sum is formed from zero by one FMA per step and added to
//! `C` with one rounding, as the crate does, so on the products both take (a side longer than
//! 64) this kernel gives the crate's bits, and which of the two `matmul` picks never changes
//! a result. Every element is formed the same way whatever the block of `C` a thread
//! computes, so the result does not depend on how the product is split either.
//!
//! The packing buffers are per thread and reused from call to call (grown to the largest
//! block the thread has packed, at most `MC·kc + kc·NC` floats, 2.3 MiB for 512-deep
//! blocks): in steady state a product allocates nothing.

use super::gemm::{Operands, Strides};
use super::gemm_avx2::{SendPtr, Store, in_blocks, through_padded_tile, transpose8x8};
use std::arch::x86_64::*;
use std::cell::RefCell;

/// Rows of a micro-tile.
pub(crate) const MR: usize = 6;
/// Columns of a micro-tile (two ymm vectors).
pub(crate) const NR: usize = 16;
/// Rows of a packed A block (a multiple of `MR`): 288 KiB of L2 for a 512-deep block.
const MC: usize = 144;
/// Columns of a packed B block (a multiple of `NR`): 2 MiB for a 512-deep block.
const NC: usize = 1024;

/// Floats of padding that let a buffer start on a 64-byte boundary (panels on cache lines;
/// the loads are unaligned ones, so nothing depends on it for correctness).
pub(crate) const ALIGN_PAD: usize = 16;
/// Floats a packed A block needs past its panels (see [`pack_a`]).
const SLACK: usize = 8;

thread_local! {
    /// This thread's packing buffers: (A block, B block).
    static PACKED: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Reserves this thread's packing buffers for the largest blocks the kernel packs when the
/// `gemm` crate's k blocks are at most `kc_max` deep (so that no later product grows them on
/// this thread; see [`super::gemm::reserve_thread_scratch`]).
pub(crate) fn reserve(kc_max: usize) {
    PACKED.with(|packed| {
        let (abuf, bbuf) = &mut *packed.borrow_mut();
        reserve_floats(abuf, MC.div_ceil(MR) * MR * kc_max + SLACK + ALIGN_PAD);
        reserve_floats(bbuf, NC * kc_max + ALIGN_PAD);
    });
}

/// Makes `buf`'s capacity at least `len` floats (its length is unchanged: the memory is only
/// reserved, and the pages of a large reservation are not touched until they are used).
pub(crate) fn reserve_floats(buf: &mut Vec<f32>, len: usize) {
    if buf.capacity() < len {
        buf.reserve_exact(len - buf.len());
    }
}

/// The first 64-byte-aligned `len` floats of `buf`, which is grown if it is too short.
pub(crate) fn aligned(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len + ALIGN_PAD {
        buf.resize(len + ALIGN_PAD, 0.0);
    }
    let skip = buf.as_ptr().align_offset(64).min(ALIGN_PAD);
    &mut buf[skip..skip + len]
}

/// Packs rows `i0..i0 + mc` and columns `p0..p0 + kc` of op(A) into `dst` as `⌈mc/MR⌉`
/// panels of `kc × MR` floats (element (i, p) of a panel at `p·MR + i`), rows past `mc` zero.
/// `dst` must have [`SLACK`] floats beyond the panels (the 8×8 transposes of a row-major A
/// store eight floats per column, of which the last two are overwritten by the next column).
///
/// # Safety
/// AVX2 must be available; the block must lie inside op(A), whose elements `a` holds at the
/// strides `s`.
#[target_feature(enable = "avx2")]
unsafe fn pack_a(
    a: &[f32],
    s: Strides,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
    dst: &mut [f32],
) {
    let panels = mc.div_ceil(MR);
    assert!(dst.len() >= panels * kc * MR + SLACK);
    for panel in 0..panels {
        let r0 = i0 + panel * MR;
        let rows = MR.min(i0 + mc - r0);
        if s.a_cs == 1 && rows == MR {
            // Rows of op(A) are contiguous along k: transpose 8 columns of the six rows at a
            // time (two zero rows make the 8×8 block).
            let src: [&[f32]; MR] = std::array::from_fn(|i| &a[(r0 + i) * s.a_rs + p0..][..kc]);
            let k8 = kc / 8 * 8;
            for p in (0..k8).step_by(8) {
                // SAFETY: each row slice holds kc ≥ p + 8 floats; the stores write floats
                // (p + q)·MR .. (p + q)·MR + 8 of this panel, at most SLACK past its end, which
                // `dst` has (asserted above) and which later stores overwrite.
                unsafe {
                    let zero = _mm256_setzero_ps();
                    let r = [
                        _mm256_loadu_ps(src[0].as_ptr().add(p)),
                        _mm256_loadu_ps(src[1].as_ptr().add(p)),
                        _mm256_loadu_ps(src[2].as_ptr().add(p)),
                        _mm256_loadu_ps(src[3].as_ptr().add(p)),
                        _mm256_loadu_ps(src[4].as_ptr().add(p)),
                        _mm256_loadu_ps(src[5].as_ptr().add(p)),
                        zero,
                        zero,
                    ];
                    let o = transpose8x8(r);
                    let at = dst.as_mut_ptr().add(panel * kc * MR + p * MR);
                    for (q, v) in o.iter().enumerate() {
                        _mm256_storeu_ps(at.add(q * MR), *v);
                    }
                }
            }
            for p in k8..kc {
                for (i, row) in src.iter().enumerate() {
                    dst[panel * kc * MR + p * MR + i] = row[p];
                }
            }
            continue;
        }
        let out = &mut dst[panel * kc * MR..(panel + 1) * kc * MR];
        if s.a_cs == 1 {
            for i in 0..MR {
                for p in 0..kc {
                    out[p * MR + i] = if i < rows {
                        a[(r0 + i) * s.a_rs + p0 + p]
                    } else {
                        0.0
                    };
                }
            }
        } else if rows == MR {
            // Aᵀ stored: the MR rows of each column of op(A) are contiguous.
            for p in 0..kc {
                let col: &[f32; MR] = a[(p0 + p) * s.a_cs + r0..][..MR].try_into().unwrap();
                let dst: &mut [f32; MR] = (&mut out[p * MR..(p + 1) * MR]).try_into().unwrap();
                *dst = *col;
            }
        } else {
            for p in 0..kc {
                let col = &a[(p0 + p) * s.a_cs + r0..];
                let dst = &mut out[p * MR..(p + 1) * MR];
                dst[..rows].copy_from_slice(&col[..rows]);
                dst[rows..].fill(0.0);
            }
        }
    }
}

/// Packs rows `p0..p0 + kc` and columns `j0..j0 + nc` of op(B) into `dst` as `⌈nc/NR⌉`
/// panels of `kc × NR` floats (element (p, j) of a panel at `p·NR + j`), columns past `nc`
/// zero.
///
/// # Safety
/// AVX2 must be available; the block must lie inside op(B), whose elements `b` holds at the
/// strides `s`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn pack_b(
    b: &[f32],
    s: Strides,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
    dst: &mut [f32],
) {
    let panels = nc.div_ceil(NR);
    assert!(dst.len() >= panels * kc * NR);
    for panel in 0..panels {
        let c0 = j0 + panel * NR;
        let cols = NR.min(j0 + nc - c0);
        let out = &mut dst[panel * kc * NR..(panel + 1) * kc * NR];
        if s.b_cs == 1 && cols == NR {
            // Rows of op(B) are contiguous: NR floats per p.
            for p in 0..kc {
                let row: &[f32; NR] = b[(p0 + p) * s.b_rs + c0..][..NR].try_into().unwrap();
                let dst: &mut [f32; NR] = (&mut out[p * NR..(p + 1) * NR]).try_into().unwrap();
                *dst = *row;
            }
        } else if s.b_cs == 1 {
            for p in 0..kc {
                let row = &b[(p0 + p) * s.b_rs + c0..];
                let dst = &mut out[p * NR..(p + 1) * NR];
                dst[..cols].copy_from_slice(&row[..cols]);
                dst[cols..].fill(0.0);
            }
        } else if cols == NR {
            // Bᵀ stored: each column of op(B) is contiguous along k; transpose 8 columns by
            // 8 k at a time.
            let src: [&[f32]; NR] = std::array::from_fn(|j| &b[(c0 + j) * s.b_cs + p0..][..kc]);
            let k8 = kc / 8 * 8;
            for half in 0..2 {
                for p in (0..k8).step_by(8) {
                    // SAFETY: each column slice holds kc ≥ p + 8 floats; the stores write
                    // floats (p + q)·NR + 8·half .. + 8 of this panel (p + q < kc).
                    unsafe {
                        let r: [__m256; 8] = std::array::from_fn(|j| {
                            _mm256_loadu_ps(src[8 * half + j].as_ptr().add(p))
                        });
                        let o = transpose8x8(r);
                        for (q, v) in o.iter().enumerate() {
                            _mm256_storeu_ps(out.as_mut_ptr().add((p + q) * NR + 8 * half), *v);
                        }
                    }
                }
            }
            for p in k8..kc {
                for (j, col) in src.iter().enumerate() {
                    out[p * NR + j] = col[p];
                }
            }
        } else {
            for j in 0..NR {
                for p in 0..kc {
                    out[p * NR + j] = if j < cols {
                        b[(c0 + j) * s.b_cs + p0 + p]
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// The 6×16 micro-kernel: `kc` steps of `acc += a_p ⊗ b_p` from packed panels, combined with
/// the tile at `c` (row stride `ldc`) as `store` says.
///
/// # Safety
/// AVX2 and FMA must be available; `a` must hold `kc·MR` floats, `b` `kc·NR`; `c` must be
/// readable (unless `store` overwrites) and writable at `i·ldc + 0..NR` for `i < MR`.
#[target_feature(enable = "avx2,fma")]
unsafe fn micro(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, store: Store) {
    // SAFETY: the caller guarantees the extents above and the instruction set.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        // The tile is read or written only after the loop: fetch it meanwhile.
        for i in 0..MR {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + NR - 1) as *const i8);
        }
        let (mut ap, mut bp) = (a, b);
        for _ in 0..kc {
            let b0 = _mm256_loadu_ps(bp);
            let b1 = _mm256_loadu_ps(bp.add(8));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*ap.add(i));
                row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                row[1] = _mm256_fmadd_ps(av, b1, row[1]);
            }
            ap = ap.add(MR);
            bp = bp.add(NR);
        }
        for (i, row) in acc.iter().enumerate() {
            store.write(c.add(i * ldc), row[0]);
            store.write(c.add(i * ldc + 8), row[1]);
        }
    }
}

/// `C[rows, cols] (op)= op(A)[rows, :]·op(B)[:, cols]` on this thread, `c` pointing at the
/// whole `m×n` row-major C. `rows` and `cols` start on multiples of `MR` and `NR` (so every
/// split shares the same tile grid).
///
/// # Safety
/// AVX2 and FMA must be available; `c` must be valid for reads and writes of `m·n` floats and
/// no one else may access the block during the call.
#[target_feature(enable = "avx2,fma")]
unsafe fn block(
    ops: Operands<'_>,
    s: Strides,
    c: *mut f32,
    store: Store,
    kc_max: usize,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) {
    let (k, n) = (ops.k, ops.n);
    PACKED.with(|packed| {
        let mut packed = packed.borrow_mut();
        let (abuf, bbuf) = &mut *packed;
        let mut edge = [0.0f32; MR * NR];
        let mut jc = cols.start;
        while jc < cols.end {
            let nc = NC.min(cols.end - jc);
            // The `gemm` crate's k blocks, so that every element gets the crate's bits.
            let mut pc = 0;
            while pc < k {
                let kc = kc_max.min(k - pc);
                let block_store = if pc == 0 {
                    store
                } else {
                    store.after_first_block()
                };
                let bp = aligned(bbuf, nc.div_ceil(NR) * NR * kc);
                // SAFETY: AVX2 is enabled here; the block lies inside op(B).
                unsafe { pack_b(ops.b, s, pc, kc, jc, nc, bp) };
                let mut ic = rows.start;
                while ic < rows.end {
                    let mc = MC.min(rows.end - ic);
                    let ap = aligned(abuf, mc.div_ceil(MR) * MR * kc + SLACK);
                    // SAFETY: AVX2 is enabled here; the block lies inside op(A).
                    unsafe { pack_a(ops.a, s, ic, mc, pc, kc, ap) };
                    let ap = &ap[..mc.div_ceil(MR) * MR * kc];
                    for (jp, bpanel) in bp.chunks_exact(kc * NR).enumerate() {
                        let j0 = jc + jp * NR;
                        let width = NR.min(jc + nc - j0);
                        for (ip, apanel) in ap.chunks_exact(kc * MR).enumerate() {
                            let i0 = ic + ip * MR;
                            let height = MR.min(ic + mc - i0);
                            if width == NR && height == MR {
                                // SAFETY: the tile (i0..i0 + MR, j0..j0 + NR) lies inside C and
                                // in this call's block; the panels hold kc·MR and kc·NR floats;
                                // AVX2+FMA are enabled here.
                                unsafe {
                                    micro(
                                        kc,
                                        apanel.as_ptr(),
                                        bpanel.as_ptr(),
                                        c.add(i0 * n + j0),
                                        n,
                                        block_store,
                                    )
                                };
                            } else {
                                // SAFETY: rows i0..i0 + height, columns j0..j0 + width lie
                                // inside the block; `edge` is a whole MR×NR tile; the panels
                                // as above.
                                unsafe {
                                    through_padded_tile(
                                        c.add(i0 * n + j0),
                                        n,
                                        (height, width),
                                        &mut edge,
                                        NR,
                                        block_store,
                                        |tile| {
                                            micro(
                                                kc,
                                                apanel.as_ptr(),
                                                bpanel.as_ptr(),
                                                tile,
                                                NR,
                                                block_store,
                                            )
                                        },
                                    )
                                };
                            }
                        }
                    }
                    ic += mc;
                }
                pc += kc;
            }
            jc += nc;
        }
    });
}

/// The packed GEMM; see [`super::gemm::matmul`] for the contract (lengths already checked,
/// `m, n, k > 0`). Runs as up to `parts` blocks of C (whole row tiles when `m ≥ n`, whole
/// column panels otherwise) shared between this thread and the helper threads
/// ([`crate::parallel::run_parts`]), each packing its own operands. The result does not
/// depend on `parts`, bit for bit.
///
/// `epilogue(i0, i1, j0, j1)`, when given, runs on each finished block on the thread that
/// computed it.
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
        "gemm_packed needs AVX2 and FMA"
    );
    let (m, k, n) = (ops.m, ops.k, ops.n);
    let s = ops.strides();
    let kc_max = super::gemm::crate_depth_block(m, k, n);
    let base = SendPtr(c);
    in_blocks((m, n), (MR, NR), parts, epilogue, &|rows, cols| {
        // SAFETY: AVX2 and FMA were detected above; C holds m·n floats and lives through the
        // call (caller's contract); `in_blocks` hands out disjoint blocks.
        unsafe { block(ops, s, base.get(), store, kc_max, rows, cols) }
    });
}
