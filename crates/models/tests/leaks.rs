//! No memory is kept from one epoch, evaluation or prediction to the next.
//!
//! A global allocator of this test binary's own tracks the bytes live on the heap (allocated
//! minus freed). The test runs everything on one thread (rayon's pool is built with one
//! thread, so no helper threads exist) and subtracts what that thread's tensor pool holds on
//! purpose (bounded buffers kept for reuse, `strata_tensor::pool`). After the first rounds
//! (pool, tape, optimizer slots set up), training, evaluating and predicting over and over may
//! not grow what remains, except by the few bytes `History` adds per epoch: a leak of one
//! batch, one tape or one gradient per epoch would show as tens of kilobytes.

#![allow(unsafe_code)] // the tracking global allocator below

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use strata::prelude::*;

mod common;

struct Tracking;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is atomic.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Live heap bytes other than the tensor pool's buffers.
fn retained() -> i64 {
    LIVE.load(Ordering::Relaxed) - strata::tensor::pool::held().1 as i64
}

/// `n` samples of 256 features and 10 classes (a batch of 32 is 32 KiB of inputs).
fn data(n: usize, seed: u64) -> Dataset {
    common::random_classes(n, &[256], seed)
}

/// Records the retained heap at the end of every epoch.
struct RetainedAtEpochEnd(Vec<i64>);

impl Callback for RetainedAtEpochEnd {
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _model: &mut Sequential,
    ) -> Result<(), ModelError> {
        self.0.push(retained());
        Ok(())
    }
}

#[test]
fn training_evaluating_and_predicting_again_and_again_keep_no_memory() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("this test binary's only test builds the pool first");
    let train = data(1024, 7);
    let valid = data(256, 8);
    let mut model = Sequential::with_seed(&[256], 3);
    model
        .add(
            Dense::new(128)
                .activation("relu")
                .kernel_regularizer(Regularizer::L2(1e-4)),
        )
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(Dropout::new(0.2, 5)).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    model
        .compile(
            Adam::new(1e-3).clipnorm(1.0),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();

    // Twelve epochs with validation, shuffling and two callbacks; History's vectors grow by
    // doubling, so between epochs 6 and 12 they grow at most once (a few dozen bytes per key).
    let mut probe = RetainedAtEpochEnd(Vec::with_capacity(16));
    let mut plateau = ReduceLROnPlateau::new().patience(2);
    model
        .fit(
            &train,
            FitOptions::epochs(12)
                .validation_data(&valid)
                .verbose(0)
                .callback(&mut plateau)
                .callback(&mut probe),
        )
        .unwrap();
    let per_epoch = &probe.0;
    let growth = per_epoch[11] - per_epoch[5];
    assert!(
        growth <= 1024,
        "the retained heap grew by {growth} bytes from epoch 6 to epoch 12: {per_epoch:?}"
    );

    // Evaluating and predicting (with and without MC dropout) leave nothing behind either.
    let x = valid.inputs_tensor();
    // Reserved up front: the record itself must not allocate.
    let mut after = Vec::with_capacity(16);
    for _ in 0..16 {
        model.evaluate(&valid, 32).unwrap();
        drop(model.predict(&x, 32).unwrap());
        drop(model.predict(&x, 256).unwrap());
        drop(model.predict_sample(&x, 32).unwrap());
        after.push(retained());
    }
    let growth = after[15] - after[3];
    assert!(
        growth <= 0,
        "the retained heap grew by {growth} bytes over twelve rounds of evaluate and predict: {after:?}"
    );
    println!(
        "retained after each epoch: {per_epoch:?}\nafter each round of evaluate and predict: {after:?}"
    );
}
