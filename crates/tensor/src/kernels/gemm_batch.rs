//! Batch products into column-major scratch, without the `gemm` crate: AVX2+FMA.
//!
//! On AVX2 CPUs a product whose `C` has 16 or 32 rows (a batch: the forward products and input
//! gradients of a training step) is formed column-major in scratch memory and then transposed
//! into `C` (`gemm.rs`, `stores_transposed`). This module forms that column-major block the way
//! the `gemm` crate's AVX2 kernels do, and so with the crate's bits, but with its packing in a
//! per-thread buffer reused from call to call rather than memory allocated on every call:
//!
//! - rows `i0..i0 + rows` of `op(A)` are packed, one k block at a time, into panels of
//!   [`PANEL`] rows (`kc × 16` floats, element `(p, i)` at `p·16 + i`) by the packed kernel's
//!   `pack_b` (applied to `op(A)ᵀ`);
//! - `op(B)` is read in place: each step of the 16×6 micro-kernel loads two vectors of the
//!   panel and broadcasts six elements of row `p` of `op(B)`;
//! - the k blocks are the crate's for the same call ([`crate_depth_block_of_call`]): each
//!   block's sum is formed from zero by one FMA per step and added to the block before it with
//!   one rounding, so every element gets the crate's bits.

use super::gemm::{Operands, Strides};
use super::gemm_avx2::Store;
use super::gemm_packed::{aligned, pack_b, reserve_floats};
use std::arch::x86_64::*;
use std::cell::RefCell;
use std::ops::Range;

/// Rows of a packed panel of `op(A)` (two ymm vectors): the number of rows a block must be a
/// multiple of.
pub(crate) const PANEL: usize = 16;
/// Columns of `C` per micro-tile (broadcasts per step).
const COLS: usize = 6;

// The panels are packed by the packed kernel's `pack_b`, whose panels are `NR` wide.
const _: () = assert!(PANEL == super::gemm_packed::NR);

thread_local! {
    /// This thread's packed rows of `op(A)`, grown to the largest k block of rows it has held
    /// (32 rows by 512 steps: 64 KiB).
    static PACKED_ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Reserves this thread's packed rows for blocks of up to `rows` rows by `kc_max` steps (see
/// [`super::gemm::reserve_thread_scratch`]).
pub(crate) fn reserve(rows: usize, kc_max: usize) {
    PACKED_ROWS.with(|packed| {
        reserve_floats(
            &mut packed.borrow_mut(),
            rows.next_multiple_of(PANEL) * kc_max + super::gemm_packed::ALIGN_PAD,
        )
    });
}

/// The depth of the k blocks in which the `gemm` crate sums a `m×n` destination over `k`
/// steps: `k` up to 512 deep in plain blocks when both sides are at most 64 (the crate's
/// small-size rule), otherwise its cache-derived blocks ([`super::gemm::crate_depth_block`]).
pub(crate) fn crate_depth_block_of_call(m: usize, k: usize, n: usize) -> usize {
    if m <= 64 && n <= 64 {
        k.min(512)
    } else {
        super::gemm::crate_depth_block(m, k, n)
    }
}

/// Whether [`column_major_block`] gives the `gemm` crate's bits for a block of `rows × cols`
/// summed over `depth` steps: rows in whole panels, more than two steps (the crate sums one or
/// two steps by another path) and more than 16×16 elements (the crate takes smaller blocks
/// with contiguous operands through another kernel).
pub(crate) fn takes(rows: usize, depth: usize, cols: usize) -> bool {
    rows > 0 && rows.is_multiple_of(PANEL) && cols > 0 && depth > 2 && rows * cols > 256
}

/// `T = op(A)[rows, depth] · op(B)[depth, cols]`, with `T` column-major (element `(i, j)` of
/// the block at `t[j·rows.len() + i]`), formed as the `gemm` crate forms it for the same block
/// (same bits) without allocating.
///
/// # Safety
/// AVX2 and FMA must be available; [`takes`] must hold for the block's sizes; the ranges must
/// lie inside the product (`rows` in `0..m`, `depth` in `0..k`, `cols` in `0..n`); `t` must be
/// valid for writing `rows.len() · cols.len()` floats that nothing else accesses meanwhile.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn column_major_block(
    ops: Operands<'_>,
    rows: Range<usize>,
    depth: Range<usize>,
    cols: Range<usize>,
    t: *mut f32,
) {
    let (m, k, n) = (ops.m, ops.k, ops.n);
    let (height, width, len) = (rows.len(), cols.len(), depth.len());
    debug_assert!(takes(height, len, width));
    debug_assert!(rows.end <= m && depth.end <= k && cols.end <= n);
    let s = ops.strides();
    // op(A)ᵀ as the "B" of the packed kernel's `pack_b`: its element (p, i) is op(A)(i, p).
    let rows_t = Strides {
        a_rs: 0,
        a_cs: 0,
        b_rs: s.a_cs,
        b_cs: s.a_rs,
    };
    let (b_rs, b_cs) = (s.b_rs, s.b_cs);
    let kc_max = crate_depth_block_of_call(height, len, width);
    let panels = height / PANEL;
    PACKED_ROWS.with(|packed| {
        let mut packed = packed.borrow_mut();
        let mut pc = depth.start;
        while pc < depth.end {
            let kc = kc_max.min(depth.end - pc);
            let store = if pc == depth.start {
                Store::Overwrite
            } else {
                Store::Accumulate
            };
            let ap = aligned(&mut packed, panels * PANEL * kc);
            // SAFETY: AVX2 is enabled here; rows × (pc..pc + kc) lies inside op(A) (caller's
            // contract), which `ops.a` holds at these strides.
            unsafe { pack_b(ops.a, rows_t, pc, kc, rows.start, height, ap) };
            let mut j = 0;
            while j < width {
                let w = COLS.min(width - j);
                // Columns past the block's edge repeat its last column (computed, not stored).
                let bcols: [*const f32; COLS] = std::array::from_fn(|c| {
                    let col = cols.start + j + c.min(w - 1);
                    // SAFETY: (pc, col) lies inside op(B), whose elements `ops.b` holds at these
                    // strides.
                    unsafe { ops.b.as_ptr().add(pc * b_rs + col * b_cs) }
                });
                for (panel, apanel) in ap.chunks_exact(kc * PANEL).enumerate() {
                    // SAFETY: the panel holds kc·16 floats; each column pointer reads kc steps
                    // of b_rs inside op(B) (pc + kc ≤ depth.end ≤ k); columns j..j + w of the
                    // block's rows panel·16.. + 16 lie inside `t`; AVX2+FMA are enabled here.
                    unsafe {
                        micro(
                            kc,
                            apanel.as_ptr(),
                            bcols,
                            b_rs,
                            t.add(j * height + panel * PANEL),
                            height,
                            w,
                            store,
                        )
                    };
                }
                j += w;
            }
            pc += kc;
        }
    });
}

/// The 16×6 micro-kernel: `kc` steps of `acc[c] += a_p · b[c][p·b_rs]` (panel `a`, 16 floats
/// per step), its first `w` columns combined with the column-major tile at `t` (column `c` at
/// `t + c·ldt`) as `store` says.
///
/// # Safety
/// AVX2 and FMA must be available; `a` must hold `kc·16` floats, each `b[c]` `kc` elements at
/// stride `b_rs`; `t + c·ldt` must be valid for 16 floats for `c < w`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn micro(
    kc: usize,
    a: *const f32,
    b: [*const f32; COLS],
    b_rs: usize,
    t: *mut f32,
    ldt: usize,
    w: usize,
    store: Store,
) {
    // SAFETY: the caller guarantees the extents above and the instruction set.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; COLS];
        let mut ap = a;
        let mut off = 0;
        for _ in 0..kc {
            let a0 = _mm256_loadu_ps(ap);
            let a1 = _mm256_loadu_ps(ap.add(8));
            for (c, col) in acc.iter_mut().enumerate() {
                let bv = _mm256_broadcast_ss(&*b[c].add(off));
                col[0] = _mm256_fmadd_ps(a0, bv, col[0]);
                col[1] = _mm256_fmadd_ps(a1, bv, col[1]);
            }
            ap = ap.add(PANEL);
            off += b_rs;
        }
        for (c, col) in acc.iter().enumerate().take(w) {
            store.write(t.add(c * ldt), col[0]);
            store.write(t.add(c * ldt + 8), col[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gemm::Transpose;

    /// The column-major block of `op(A)[rows, depth] · op(B)[depth, cols]` summed in the
    /// kernel's documented order, in scalar code: per k block of
    /// [`crate_depth_block_of_call`] steps a sum from zero with one fused multiply-add per
    /// step, added to the blocks before it with one rounding.
    fn summed_in_crate_order(
        ops: Operands<'_>,
        rows: Range<usize>,
        depth: Range<usize>,
        cols: Range<usize>,
    ) -> Vec<f32> {
        let s = ops.strides();
        let kc_max = crate_depth_block_of_call(rows.len(), depth.len(), cols.len());
        let mut t = Vec::with_capacity(rows.len() * cols.len());
        for j in cols.clone() {
            for i in rows.clone() {
                let mut sum = 0.0f32;
                let mut pc = depth.start;
                while pc < depth.end {
                    let kc = kc_max.min(depth.end - pc);
                    let block = (pc..pc + kc).fold(0.0f32, |acc, p| {
                        ops.a[i * s.a_rs + p * s.a_cs].mul_add(ops.b[p * s.b_rs + j * s.b_cs], acc)
                    });
                    sum = if pc == depth.start {
                        block
                    } else {
                        sum + block
                    };
                    pc += kc;
                }
                t.push(sum);
            }
        }
        t
    }

    /// Every block size the kernel takes, in the three forms, is summed in the crate's order
    /// (on every CPU with AVX2) and gives the crate's bits (where the crate runs its AVX2
    /// kernels, the only CPUs that call this kernel; on AVX-512 CPUs the crate's kernels sum
    /// in another order): widths that end in every partial micro-tile, one and several k
    /// blocks (the crate's small-size rule at 512 steps and its cache-derived blocks),
    /// offsets inside the product, and a depth range that starts inside `k` (a depth half).
    #[test]
    fn blocks_give_the_crate_bits() {
        if !crate::kernels::Isa::Avx2.is_supported() {
            return;
        }
        use crate::kernels::gemm::tests::assert_same_bits;
        let against_crate = crate::kernels::gemm::crate_runs_avx2();
        for (m, k, n) in [(32, 9, 23), (48, 600, 70), (32, 784, 300), (16, 1100, 40)] {
            for (ta, tb) in [
                (Transpose::No, Transpose::No),
                (Transpose::Yes, Transpose::No),
                (Transpose::No, Transpose::Yes),
            ] {
                let (a, b) = crate::kernels::gemm::tests::test_operands(m, k, n);
                let ops = Operands {
                    a: &a,
                    trans_a: ta,
                    b: &b,
                    trans_b: tb,
                    m,
                    k,
                    n,
                };
                let mut blocks = vec![(0..m, 0..k, 0..n), (0..16, 3..k, 1..n)];
                blocks.extend((1..=13).map(|w| (m - 16..m, 0..k, n - w..n)));
                for (rows, depth, cols) in blocks {
                    if !takes(rows.len(), depth.len(), cols.len()) {
                        continue;
                    }
                    let what = format!(
                        "{m}x{k}x{n} {ta:?} {tb:?}: rows {rows:?} depth {depth:?} cols {cols:?}"
                    );
                    let model =
                        summed_in_crate_order(ops, rows.clone(), depth.clone(), cols.clone());
                    let mut got = vec![f32::NAN; model.len()];
                    // SAFETY: AVX2 and FMA checked above; `takes` holds; the block lies inside
                    // the product and `got` holds it.
                    unsafe {
                        column_major_block(
                            ops,
                            rows.clone(),
                            depth.clone(),
                            cols.clone(),
                            got.as_mut_ptr(),
                        )
                    };
                    assert_same_bits(&got, &model, &format!("order: {what}"));
                    if against_crate {
                        let want = crate::kernels::gemm::tests::crate_column_major(
                            ops,
                            rows.clone(),
                            depth.clone(),
                            cols.clone(),
                        );
                        assert_same_bits(&got, &want, &format!("crate bits: {what}"));
                    }
                }
            }
        }
    }

    /// The kernel takes only blocks of whole panels, more than two steps deep and larger than
    /// 16×16; the k blocks follow the crate's two rules.
    #[test]
    fn takes_what_it_can_match() {
        assert!(takes(32, 784, 300));
        assert!(takes(16, 3, 17));
        assert!(!takes(16, 3, 16));
        assert!(!takes(24, 100, 100));
        assert!(!takes(32, 2, 100));
        assert!(!takes(0, 100, 100));
        assert_eq!(crate_depth_block_of_call(32, 1100, 40), 512);
        assert_eq!(crate_depth_block_of_call(32, 300, 40), 300);
        assert_eq!(
            crate_depth_block_of_call(32, 784, 300),
            crate::kernels::gemm::crate_depth_block(32, 784, 300)
        );
    }
}
