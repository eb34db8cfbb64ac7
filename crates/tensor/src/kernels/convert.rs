//! Conversion of stored samples to `f32`: the kernels that write a training batch.

use super::multiversion;

/// How a kernel writes its output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stores {
    /// Ordinary stores: each line of the output is first fetched into this core's cache and
    /// stays there, ready for work on this core. The default.
    #[default]
    Cached,
    /// Non-temporal ("streaming") stores where the CPU has AVX2 (elsewhere ordinary ones): the
    /// output goes to memory without its lines being fetched first, and copies of them in
    /// other cores' caches are simply dropped. For output that work on *several* cores reads
    /// next, such as a batch whose first product is split across threads: on the 2-core VM of
    /// `docs/performance.md` (item 32) writing a 32×784 batch took 20 µs with ordinary stores
    /// once the other core had read half of the previous one, and 7 µs streamed.
    Streaming,
}

#[inline(always)]
fn bytes_to_f32_generic(bytes: &[u8], scale: f32, out: &mut [f32]) {
    assert_eq!(bytes.len(), out.len(), "bytes_to_f32: lengths differ");
    for (o, &b) in out.iter_mut().zip(bytes) {
        *o = f32::from(b) * scale;
    }
}

multiversion! {
    /// `out[i] = bytes[i] as f32 · scale` with ordinary stores.
    fn bytes_to_f32_cached / bytes_to_f32_cached_with(bytes: &[u8], scale: f32, out: &mut [f32]) => bytes_to_f32_generic;
}

/// `out[i] = bytes[i] as f32 · scale`, written as `stores` asks. Both ways give the same bits
/// (one rounding of the product, as `f32::from(b) * scale`).
///
/// # Panics
/// When the lengths differ.
pub fn bytes_to_f32(bytes: &[u8], scale: f32, out: &mut [f32], stores: Stores) {
    assert_eq!(bytes.len(), out.len(), "bytes_to_f32: lengths differ");
    // One row, gathered: the same store choice and fence as a batch.
    gather_bytes_to_f32(bytes, bytes.len(), &[0], scale, out, stores);
}

/// Gathers rows of the row-major byte matrix `bytes` (rows of `row_len`) into `out`:
/// `out[r·row_len + j] = bytes[rows[r]·row_len + j] as f32 · scale`, written as `stores`
/// asks (one store fence at the end when streaming). The bits are the same either way.
///
/// # Panics
/// When `out` does not hold `rows.len()` rows, or a row lies outside `bytes`.
pub fn gather_bytes_to_f32(
    bytes: &[u8],
    row_len: usize,
    rows: &[usize],
    scale: f32,
    out: &mut [f32],
    stores: Stores,
) {
    gather_rows(
        "gather_bytes_to_f32",
        (bytes, row_len, rows, out, stores),
        |src, o| bytes_to_f32_cached(src, scale, o),
        |src, o| {
            // SAFETY: `gather_rows` calls this only on a CPU with AVX2, with a source row and
            // an output row of the same length.
            unsafe { bytes_to_f32_streaming(src, scale, o) }
        },
    );
}

/// Gathers rows of the row-major `f32` matrix `values` (rows of `row_len`) into `out`:
/// `out[r·row_len + j] = values[rows[r]·row_len + j]`, written as `stores` asks (one store
/// fence at the end when streaming). A copy: the bits are those of `values`.
///
/// # Panics
/// When `out` does not hold `rows.len()` rows, or a row lies outside `values`.
pub fn gather_f32(values: &[f32], row_len: usize, rows: &[usize], out: &mut [f32], stores: Stores) {
    gather_rows(
        "gather_f32",
        (values, row_len, rows, out, stores),
        |src, o| o.copy_from_slice(src),
        |src, o| {
            // SAFETY: `gather_rows` calls this only on a CPU with AVX2, with two rows of the
            // same length.
            unsafe { copy_streaming(src, o) }
        },
    );
}

/// A gather's source matrix, row length, rows, output and store kind.
type GatherArgs<'a, T> = (&'a [T], usize, &'a [usize], &'a mut [f32], Stores);

/// The row loop of both gathers: checks that `out` holds `rows.len()` rows, then writes row
/// `rows[r]` of `src` into row `r` of `out` with `cached`, or, when `stores` asks to stream
/// and the CPU has AVX2, with `streaming` followed by one store fence. `streaming` is called
/// only on such a CPU, with two rows of `row_len` values.
fn gather_rows<T>(
    what: &str,
    (src, row_len, rows, out, stores): GatherArgs<'_, T>,
    cached: impl Fn(&[T], &mut [f32]),
    streaming: impl Fn(&[T], &mut [f32]),
) {
    assert_eq!(
        out.len(),
        rows.len() * row_len,
        "{what}: the output does not hold {} rows of {row_len}",
        rows.len()
    );
    if row_len == 0 {
        return;
    }
    let pairs = out
        .chunks_exact_mut(row_len)
        .zip(rows)
        .map(|(o, &i)| (&src[i * row_len..(i + 1) * row_len], o));
    #[cfg(target_arch = "x86_64")]
    if stores == Stores::Streaming && super::Isa::Avx2.is_supported() {
        pairs.for_each(|(row, o)| streaming(row, o));
        // Streaming stores are weakly ordered: fence them before the caller publishes `out`.
        // SAFETY: SSE is part of the x86-64 baseline.
        unsafe { std::arch::x86_64::_mm_sfence() };
        return;
    }
    let _ = (stores, &streaming);
    pairs.for_each(|(row, o)| cached(row, o));
}

/// `out.copy_from_slice(values)` with non-temporal stores for the 32-byte-aligned body of
/// `out` (ordinary ones before and after it). No fence: the caller issues one.
///
/// # Safety
/// The CPU must support AVX2, and `values` and `out` must have the same length.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn copy_streaming(values: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::{_mm256_loadu_ps, _mm256_stream_ps};
    debug_assert_eq!(values.len(), out.len());
    let n = out.len();
    let head = ((32 - out.as_ptr() as usize % 32) % 32 / 4).min(n);
    out[..head].copy_from_slice(&values[..head]);
    let body = (n - head) / 8 * 8;
    let (src, dst) = (values[head..].as_ptr(), out[head..].as_mut_ptr());
    let mut i = 0;
    while i < body {
        // SAFETY: i + 8 ≤ body ≤ n − head, so the 8 floats read and written lie inside
        // `values[head..]` and `out[head..]`; `dst + i` is 32-byte aligned, as the streaming
        // store needs.
        unsafe { _mm256_stream_ps(dst.add(i), _mm256_loadu_ps(src.add(i))) };
        i += 8;
    }
    let tail = head + body;
    out[tail..].copy_from_slice(&values[tail..]);
}

/// `out[i] = bytes[i] as f32 · scale` with non-temporal stores for the 32-byte-aligned body of
/// `out` (ordinary ones for the few elements before and after it). No fence: the caller
/// issues one after its last call.
///
/// # Safety
/// The CPU must support AVX2, and `bytes` and `out` must have the same length.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bytes_to_f32_streaming(bytes: &[u8], scale: f32, out: &mut [f32]) {
    use std::arch::x86_64::{
        _mm_loadl_epi64, _mm256_cvtepi32_ps, _mm256_cvtepu8_epi32, _mm256_mul_ps, _mm256_set1_ps,
        _mm256_stream_ps,
    };
    debug_assert_eq!(bytes.len(), out.len());
    let n = out.len();
    // Elements before the first 32-byte boundary of `out` (f32 is 4-byte aligned).
    let head = ((32 - out.as_ptr() as usize % 32) % 32 / 4).min(n);
    bytes_to_f32_generic(&bytes[..head], scale, &mut out[..head]);
    let body = (n - head) / 8 * 8;
    let factor = _mm256_set1_ps(scale);
    let (src, dst) = (bytes[head..].as_ptr(), out[head..].as_mut_ptr());
    let mut i = 0;
    while i < body {
        // SAFETY: i + 8 ≤ body ≤ n − head, so the 8 bytes read and the 8 floats written lie
        // inside `bytes[head..]` and `out[head..]`; `dst + i` is 32-byte aligned (head reached
        // the boundary, and i is a multiple of 8 floats), as the streaming store needs.
        unsafe {
            let b = _mm_loadl_epi64(src.add(i).cast());
            let v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b)), factor);
            _mm256_stream_ps(dst.add(i), v);
        }
        i += 8;
    }
    let tail = head + body;
    bytes_to_f32_generic(&bytes[tail..], scale, &mut out[tail..]);
}

/// Elsewhere than on x86-64 nothing streams; [`gather_rows`] never calls this.
///
/// # Safety
/// None beyond equal lengths (checked).
#[cfg(not(target_arch = "x86_64"))]
unsafe fn bytes_to_f32_streaming(bytes: &[u8], scale: f32, out: &mut [f32]) {
    bytes_to_f32_generic(bytes, scale, out);
}

/// Elsewhere than on x86-64 nothing streams; [`gather_rows`] never calls this.
///
/// # Safety
/// None beyond equal lengths (checked).
#[cfg(not(target_arch = "x86_64"))]
unsafe fn copy_streaming(values: &[f32], out: &mut [f32]) {
    out.copy_from_slice(values);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Isa;

    /// Both store kinds, every instruction set and every offset of the output against a
    /// 32-byte boundary give the scalar path's bits, edges included.
    #[test]
    fn every_path_gives_the_scalar_bits() {
        let scale = 1.0 / 255.0;
        for len in 0..=67 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut want = vec![0.0; len];
            bytes_to_f32_generic(&bytes, scale, &mut want);
            for offset in 0..8 {
                for stores in [Stores::Cached, Stores::Streaming] {
                    let mut buf = vec![f32::NAN; len + 8];
                    bytes_to_f32(&bytes, scale, &mut buf[offset..offset + len], stores);
                    assert_eq!(
                        buf[offset..offset + len]
                            .iter()
                            .map(|v| v.to_bits())
                            .collect::<Vec<_>>(),
                        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        "len {len}, offset {offset}, {stores:?}"
                    );
                    assert!(
                        buf[..offset]
                            .iter()
                            .chain(&buf[offset + len..])
                            .all(|v| v.is_nan())
                    );
                }
            }
            for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
                let mut got = vec![0.0; len];
                bytes_to_f32_cached_with(isa, &bytes, scale, &mut got);
                assert_eq!(got, want, "len {len}, {isa:?}");
            }
        }
    }

    /// Gathering rows in any order, with both store kinds, gives the scalar bits row by row.
    #[test]
    fn gathered_rows_match_the_scalar_conversion() {
        let (n, row_len) = (9, 13);
        let bytes: Vec<u8> = (0..n * row_len).map(|i| (i * 91 + 7) as u8).collect();
        let rows = [8, 0, 3, 3, 5];
        for stores in [Stores::Cached, Stores::Streaming] {
            let mut out = vec![0.0; rows.len() * row_len];
            gather_bytes_to_f32(&bytes, row_len, &rows, 0.5, &mut out, stores);
            for (r, &i) in rows.iter().enumerate() {
                for j in 0..row_len {
                    assert_eq!(
                        out[r * row_len + j],
                        f32::from(bytes[i * row_len + j]) * 0.5
                    );
                }
            }
        }
    }

    /// Gathering `f32` rows copies them exactly, with both store kinds, at every alignment.
    #[test]
    fn gathered_float_rows_are_exact_copies() {
        let (n, row_len) = (7, 21);
        let values: Vec<f32> = (0..n * row_len).map(|i| (i as f32).sin() * 1e3).collect();
        let rows = [6, 1, 1, 0];
        for offset in 0..8 {
            for stores in [Stores::Cached, Stores::Streaming] {
                let mut buf = vec![f32::NAN; rows.len() * row_len + 8];
                let out = &mut buf[offset..offset + rows.len() * row_len];
                gather_f32(&values, row_len, &rows, out, stores);
                for (r, &i) in rows.iter().enumerate() {
                    assert_eq!(
                        &out[r * row_len..(r + 1) * row_len],
                        &values[i * row_len..(i + 1) * row_len],
                        "offset {offset}, {stores:?}"
                    );
                }
                let outside = buf[..offset]
                    .iter()
                    .chain(&buf[offset + rows.len() * row_len..]);
                assert!(outside.clone().all(|v| v.is_nan()));
            }
        }
    }

    #[test]
    #[should_panic(expected = "does not hold")]
    fn a_short_output_panics() {
        gather_bytes_to_f32(&[0; 8], 4, &[0, 1], 1.0, &mut [0.0; 7], Stores::Cached);
    }

    #[test]
    #[should_panic(expected = "lengths differ")]
    fn different_lengths_panic() {
        bytes_to_f32(&[1, 2, 3], 1.0, &mut [0.0; 2], Stores::Streaming);
    }
}
