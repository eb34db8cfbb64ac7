//! Reuse of large tensor buffers within a thread.
//!
//! A training step creates and drops the same large tensors every step (a layer's weight
//! gradient, activations at large batch sizes). Allocating them anew costs page faults and
//! zero-filling every time, since the allocator hands memory of this size back to the system.
//! A tensor whose buffer holds at least [`MIN_LEN`] elements therefore returns it here when it
//! is dropped unshared, and kernels that overwrite their whole output take it back from here.
//! The pool is per thread and bounded ([`MAX_BUFFERS`], [`MAX_BYTES`]); it is freed when the
//! thread ends.

use std::cell::RefCell;

/// Buffers shorter than this are left to the allocator, which serves them quickly.
pub const MIN_LEN: usize = 4096;
/// At most this many buffers are kept per thread.
pub const MAX_BUFFERS: usize = 16;
/// At most this many bytes are kept per thread.
pub const MAX_BYTES: usize = 64 << 20;

#[derive(Default)]
struct Free {
    buffers: Vec<Vec<f32>>,
    bytes: usize,
}

thread_local! {
    static FREE: RefCell<Free> = RefCell::new(Free::default());
}

/// A vector of exactly `len` elements whose values are unspecified (whatever a dropped tensor
/// held, or zeros): for kernels that write every element.
pub(crate) fn take(len: usize) -> Vec<f32> {
    if len >= MIN_LEN {
        let reused = FREE
            .try_with(|free| {
                let mut free = free.borrow_mut();
                // The smallest buffer that fits, if it is not more than twice too large.
                let best = free
                    .buffers
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.capacity() >= len && b.capacity() <= 2 * len)
                    .min_by_key(|(_, b)| b.capacity())
                    .map(|(i, _)| i)?;
                let buffer = free.buffers.swap_remove(best);
                free.bytes -= buffer.capacity() * 4;
                Some(buffer)
            })
            .ok()
            .flatten();
        if let Some(mut buffer) = reused {
            if buffer.len() >= len {
                buffer.truncate(len);
            } else {
                buffer.resize(len, 0.0);
            }
            return buffer;
        }
    }
    vec![0.0; len]
}

/// Keeps `buffer` for a later [`take`] when it is large enough and the pool has room.
pub(crate) fn give(buffer: Vec<f32>) {
    let bytes = buffer.capacity() * 4;
    if buffer.capacity() < MIN_LEN || bytes > MAX_BYTES {
        return;
    }
    let _ = FREE.try_with(|free| {
        let mut free = free.borrow_mut();
        if free.buffers.len() == MAX_BUFFERS || free.bytes + bytes > MAX_BYTES {
            // Make room by dropping the oldest buffer.
            if free.buffers.is_empty() {
                return;
            }
            let old = free.buffers.remove(0);
            free.bytes -= old.capacity() * 4;
            if free.bytes + bytes > MAX_BYTES {
                return;
            }
        }
        free.bytes += bytes;
        free.buffers.push(buffer);
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
        assert_eq!(held().0, before);
        // A shared tensor's buffer is not pooled while a clone lives.
        let a = Tensor::zeros(&[5000]);
        let b = a.clone();
        drop(a);
        assert_eq!(held().0, before);
        drop(b);
        assert_eq!(held().0, before + 1);
        // Small buffers are left to the allocator.
        drop(Tensor::zeros(&[10]));
        assert_eq!(held().0, before + 1);
        for _ in 0..3 * MAX_BUFFERS {
            drop(Tensor::zeros(&[MIN_LEN]));
        }
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
