//! Reuse of tensor buffers within a thread.
//!
//! A training step creates and drops the same tensors every step (activations, their
//! gradients, a layer's weight gradient). Allocating them anew costs an allocator call for the
//! buffer and one for its shared header, page faults and zero-filling for large ones. A tensor
//! whose buffer is unshared when it is dropped therefore hands the whole shared buffer (header
//! and storage) back here, and tensor constructors take one from here, so a training loop in
//! steady state allocates nothing. The pool is per thread and bounded ([`MAX_BUFFERS`],
//! [`MAX_BYTES`]); it is freed when the thread ends.

use std::cell::RefCell;
use std::sync::Arc;

/// At most this many buffers are kept per thread.
pub const MAX_BUFFERS: usize = 96;
/// At most this many bytes are kept per thread.
pub const MAX_BYTES: usize = 64 << 20;

#[derive(Default)]
struct Free {
    /// Each buffer with its capacity, so that a search reads one contiguous list.
    buffers: Vec<(usize, Arc<Vec<f32>>)>,
    bytes: usize,
}

thread_local! {
    static FREE: RefCell<Free> = RefCell::new(Free::default());
}

/// An unshared buffer of exactly `len` elements whose values are unspecified (whatever a
/// dropped tensor held, or zeros): for constructors that write every element.
pub(crate) fn take(len: usize) -> Arc<Vec<f32>> {
    let reused = FREE
        .try_with(|free| {
            let mut free = free.borrow_mut();
            // A buffer of exactly this capacity (the usual case in a loop), else the smallest
            // that fits, if it is not more than twice too large.
            let best = free
                .buffers
                .iter()
                .position(|&(cap, _)| cap == len)
                .or_else(|| {
                    free.buffers
                        .iter()
                        .enumerate()
                        .filter(|&(_, &(cap, _))| cap >= len && cap <= 2 * len)
                        .min_by_key(|&(_, &(cap, _))| cap)
                        .map(|(i, _)| i)
                })?;
            let (cap, buffer) = free.buffers.swap_remove(best);
            free.bytes -= cap * 4;
            Some(buffer)
        })
        .ok()
        .flatten();
    match reused {
        Some(mut buffer) => {
            let data = Arc::get_mut(&mut buffer).expect("pooled buffers are unshared");
            if data.len() >= len {
                data.truncate(len);
            } else {
                data.resize(len, 0.0);
            }
            buffer
        }
        None => Arc::new(vec![0.0; len]),
    }
}

/// Keeps `buffer` (unshared) for a later [`take`] when the pool has room.
pub(crate) fn give(buffer: Arc<Vec<f32>>) {
    let bytes = buffer.capacity() * 4;
    if buffer.capacity() == 0 || bytes > MAX_BYTES {
        return;
    }
    debug_assert_eq!(Arc::strong_count(&buffer), 1);
    let _ = FREE.try_with(|free| {
        let mut free = free.borrow_mut();
        // Make room by dropping the oldest buffers.
        while !free.buffers.is_empty()
            && (free.buffers.len() == MAX_BUFFERS || free.bytes + bytes > MAX_BYTES)
        {
            let (cap, _) = free.buffers.remove(0);
            free.bytes -= cap * 4;
        }
        if free.buffers.capacity() == 0 {
            free.buffers.reserve_exact(MAX_BUFFERS);
        }
        free.bytes += bytes;
        free.buffers.push((buffer.capacity(), buffer));
    });
}

/// How many buffers and bytes this thread's pool holds (for tests and measurements).
pub fn held() -> (usize, usize) {
    FREE.try_with(|free| {
        let free = free.borrow();
        (free.buffers.len(), free.bytes)
    })
    .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    #[test]
    fn a_dropped_large_tensor_buffer_is_reused_and_the_pool_stays_bounded() {
        let t = Tensor::full(&[64, 100], 3.0);
        let ptr = t.as_slice().as_ptr();
        let before = held().0;
        drop(t);
        assert_eq!(held().0, before + 1);
        let v = take(6000);
        assert_eq!(v.len(), 6000);
        assert_eq!(v.as_ptr(), ptr, "the dropped buffer is handed out again");
        drop(v);
        assert_eq!(held().0, before);
        // A shared tensor's buffer is not pooled while a clone lives.
        let a = Tensor::zeros(&[5000]);
        let b = a.clone();
        drop(a);
        assert_eq!(held().0, before);
        drop(b);
        assert_eq!(held().0, before + 1);
        // Small buffers are kept too, header and all.
        let small = Tensor::zeros(&[10]);
        let header = small.as_slice().as_ptr();
        drop(small);
        assert_eq!(held().0, before + 2);
        let again = Tensor::full(&[2, 5], 1.5);
        assert_eq!(again.as_slice().as_ptr(), header, "the same buffer");
        assert_eq!(again.as_slice(), &[1.5; 10]);
        let live: Vec<Tensor> = (0..3 * MAX_BUFFERS)
            .map(|i| Tensor::zeros(&[i + 1]))
            .collect();
        drop(live);
        let (count, bytes) = held();
        assert!(count <= MAX_BUFFERS && bytes <= MAX_BYTES);
    }

    #[test]
    fn products_into_reused_buffers_do_not_see_stale_values() {
        let a = Tensor::from_fn(&[70, 80], |i| (i % 13) as f32 - 6.0);
        let b = Tensor::from_fn(&[80, 90], |i| (i % 7) as f32 * 0.5);
        let first = a.matmul(&b).into_vec();
        // Fill the pool with a buffer of the same size full of NaN, then multiply again.
        drop(Tensor::full(&[70, 90], f32::NAN));
        let second = a.matmul(&b);
        assert_eq!(second.as_slice(), &first[..]);
    }
}
