//! Steady-state training steps allocate nothing on the heap.
//!
//! A counting global allocator (this test binary's own) counts every allocation made by any
//! thread between the end of one training step and the end of the next: the loop's batch
//! gathering, callbacks and logs, the forward pass, backward pass, optimizer update and
//! constraints. After a few warm-up steps (pools, tape storage and optimizer slots filled,
//! the helper threads started) the count must be zero for every step.
//!
//! It runs with the default kernels, which on x86-64 CPUs with AVX2 form every product of these
//! steps without the `gemm` crate (which allocates its packing buffers on every call): on AVX2
//! CPUs the batch kernel, the packed kernel and the in-place AVX2 kernel (item 33 of
//! `docs/performance.md`), on AVX-512 CPUs the AVX-512 kernel (item 25). Elsewhere the crate
//! takes the products, and the test says it is skipped.
//!
//! Set `STRATA_ALLOC_TRACE=1` (and pass `--nocapture`) to print a backtrace of each counted
//! allocation.

#![allow(unsafe_code)] // the counting global allocator below

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use strata::prelude::*;

mod common;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);
static TRACE: AtomicBool = AtomicBool::new(false);

thread_local! {
    static IN_TRACE: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if !ARMED.load(Ordering::Relaxed) {
        return;
    }
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    if TRACE.load(Ordering::Relaxed) && !IN_TRACE.with(|t| t.replace(true)) {
        eprintln!(
            "--- allocation\n{}",
            std::backtrace::Backtrace::force_capture()
        );
        IN_TRACE.with(|t| t.set(false));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Records the allocations of each step after `warmup` steps (the record's storage is
/// reserved up front, so recording allocates nothing).
struct PerStep {
    warmup: usize,
    counts: Vec<u64>,
}

impl Callback for PerStep {
    fn on_batch_end(
        &mut self,
        batch: usize,
        _logs: &Logs,
        _model: &mut Sequential,
    ) -> Result<(), ModelError> {
        if batch + 1 == self.warmup {
            ALLOCATIONS.store(0, Ordering::Relaxed);
            ARMED.store(true, Ordering::Relaxed);
        } else if batch + 1 > self.warmup {
            let n = ALLOCATIONS.swap(0, Ordering::Relaxed);
            if self.counts.len() < self.counts.capacity() {
                self.counts.push(n);
            }
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _model: &mut Sequential,
    ) -> Result<(), ModelError> {
        ARMED.store(false, Ordering::Relaxed);
        Ok(())
    }
}

/// Fashion-MNIST-shaped random data: `n` images of 28×28 in [0, 1), 10 classes.
fn data(n: usize) -> Dataset {
    common::random_classes(n, &[28, 28], 0x9e37_79b9_7f4a_7c15)
}

/// Trains one epoch of `model` on `train` and returns the allocation count of each step after
/// warm-up.
fn steady_state_allocations_on(model: &mut Sequential, train: &Dataset) -> Vec<u64> {
    TRACE.store(
        std::env::var_os("STRATA_ALLOC_TRACE").is_some(),
        Ordering::Relaxed,
    );
    // Thread start-up allocates, on the new thread, whenever the OS runs it: start rayon's
    // workers and Strata's helpers (and wait until they run) before counting.
    rayon::broadcast(|_| ());
    strata::tensor::parallel::start_helpers();
    let mut per_step = PerStep {
        warmup: 4,
        counts: Vec::with_capacity(64),
    };
    model
        .fit(
            train,
            FitOptions::epochs(1)
                .batch_size(32)
                .verbose(0)
                .seed(3)
                .callback(&mut per_step),
        )
        .unwrap();
    ARMED.store(false, Ordering::Relaxed);
    assert_eq!(per_step.counts.len(), 16 - 4, "steps after warm-up");
    per_step.counts
}

fn steady_state_allocations(model: &mut Sequential) -> Vec<u64> {
    steady_state_allocations_on(model, &data(32 * 16))
}

fn assert_none(counts: &[u64]) {
    assert!(
        counts.iter().all(|&n| n == 0),
        "allocations per step: {counts:?}"
    );
}

fn mlp(seed: u64) -> Sequential {
    let mut model = Sequential::with_seed(&[28, 28], seed);
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(300).activation("relu")).unwrap();
    model.add(Dense::new(100).activation("relu")).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    model
}

fn compile(model: &mut Sequential, optimizer: impl Into<strata::optim::OptimizerConfig>) {
    model
        .compile(
            optimizer,
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
}

/// W1 of the benchmarks: the 784-300-100-10 MLP with plain SGD.
fn an_mlp_step_with_sgd_allocates_nothing() {
    let mut model = mlp(1);
    compile(&mut model, Sgd::new(0.01));
    assert_none(&steady_state_allocations(&mut model));
}

fn an_mlp_step_with_momentum_adam_or_nadam_allocates_nothing() {
    let optimizers: [strata::optim::OptimizerConfig; 4] = [
        Sgd::new(0.01).momentum(0.9).into(),
        Sgd::new(0.01).momentum(0.9).nesterov(true).into(),
        Adam::new(0.001).into(),
        Nadam::new(0.001).into(),
    ];
    for optimizer in optimizers {
        let mut model = mlp(2);
        compile(&mut model, optimizer);
        assert_none(&steady_state_allocations(&mut model));
    }
}

/// W2: batch normalization after each hidden layer.
fn a_batch_norm_step_allocates_nothing() {
    let mut model = Sequential::with_seed(&[28, 28], 3);
    model.add(Flatten::new()).unwrap();
    for units in [300, 100] {
        model
            .add(Dense::new(units).activation("relu").use_bias(false))
            .unwrap();
        model.add(BatchNormalization::new()).unwrap();
    }
    model.add(Dense::new(10).activation("softmax")).unwrap();
    compile(&mut model, Sgd::new(0.01));
    assert_none(&steady_state_allocations(&mut model));
}

/// W3: a binary head on frozen hidden layers, then everything trainable.
fn a_step_with_frozen_layers_and_a_binary_loss_allocates_nothing() {
    let n = 32 * 16;
    let labels: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
    let images = Tensor::from_fn(&[n, 28, 28], |i| ((i * 7919) % 1000) as f32 / 1e3);
    let train = Dataset::from_tensor(&images, labels).unwrap();
    let mut model = Sequential::with_seed(&[28, 28], 4);
    model.add(Flatten::new()).unwrap();
    for _ in 0..3 {
        model.add(Dense::new(100).activation("relu")).unwrap();
    }
    model.add(Dense::new(1).activation("sigmoid")).unwrap();
    for frozen in [true, false] {
        model.set_trainable(..4, !frozen).unwrap();
        model
            .compile(
                Sgd::new(0.01),
                "binary_crossentropy".parse().unwrap(),
                &[Metric::Accuracy],
            )
            .unwrap();
        assert_none(&steady_state_allocations_on(&mut model, &train));
    }
}

fn a_step_with_dropout_and_weight_penalties_allocates_nothing() {
    let mut model = Sequential::with_seed(&[28, 28], 5);
    model.add(Flatten::new()).unwrap();
    model
        .add(
            Dense::new(300)
                .activation("elu")
                .kernel_initializer("he_normal")
                .kernel_regularizer(Regularizer::L2(1e-4)),
        )
        .unwrap();
    model.add(Dropout::new(0.2, 7)).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    compile(&mut model, Sgd::new(0.01));
    assert_none(&steady_state_allocations(&mut model));
}

/// A new thread with its product scratch reserved (`gemm::reserve_thread_scratch`, as every
/// helper does when it starts and `fit` does on its caller) forms the products of a batch-32
/// step of the 784-300-100-10 MLP without allocating, whatever it formed before; without the
/// reservation its buffers grow, and the same products allocate. This is what lets a helper
/// take its first part of a split product at any step (`docs/performance.md`, item 35). The
/// forward products through the two large weights are left out: they run in depth halves,
/// whose sums the calling thread keeps and grows in the first step.
fn a_thread_with_reserved_scratch_forms_a_steps_products_without_allocating() {
    use strata::tensor::Transpose::{No, Yes};
    use strata::tensor::kernels::gemm;
    // (m, k, n, op(A) transposed, op(B) transposed, accumulate)
    let products = [
        (32, 300, 784, No, Yes, false), // dY·W₁ᵀ: the batch kernel
        (784, 32, 300, Yes, No, true),  // Xᵀ·dY for W₁: the packed kernel
        (32, 100, 10, No, No, false),   // the output layer: a narrow batch output
        (100, 32, 10, Yes, No, true),   // its weight gradient: the in-place kernel
        (300, 32, 100, Yes, No, true),  // W₂'s weight gradient
    ];
    let on_a_new_thread = |reserve: bool| -> Vec<u64> {
        std::thread::spawn(move || {
            let operands: Vec<_> = products
                .iter()
                .map(|&(m, k, n, ..)| (vec![0.5f32; m * k], vec![0.25f32; k * n], vec![0.0; m * n]))
                .collect();
            if reserve {
                gemm::reserve_thread_scratch();
            }
            let mut counts = Vec::with_capacity(products.len());
            for (&(m, k, n, ta, tb, acc), (a, b, mut c)) in products.iter().zip(operands) {
                ALLOCATIONS.store(0, Ordering::Relaxed);
                ARMED.store(true, Ordering::Relaxed);
                strata::tensor::parallel::serially(|| {
                    gemm::matmul(&a, ta, &b, tb, m, k, n, &mut c, acc)
                });
                ARMED.store(false, Ordering::Relaxed);
                counts.push(ALLOCATIONS.load(Ordering::Relaxed));
            }
            counts
        })
        .join()
        .unwrap()
    };
    let reserved = on_a_new_thread(true);
    assert!(
        reserved.iter().all(|&n| n == 0),
        "allocations per product with the scratch reserved: {reserved:?}"
    );
    let unreserved = on_a_new_thread(false);
    assert!(
        unreserved.iter().any(|&n| n > 0),
        "no allocation counted without the reservation: {unreserved:?}"
    );
}

/// The counter sees allocations (so a zero above means none were made).
fn the_counter_counts_allocations() {
    ALLOCATIONS.store(0, Ordering::Relaxed);
    ARMED.store(true, Ordering::Relaxed);
    let v: Vec<u64> = std::hint::black_box(Vec::with_capacity(8));
    ARMED.store(false, Ordering::Relaxed);
    drop(v);
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), 1);
}

/// One test for all cases: the counter is global, and the test harness's own threads
/// (another test starting) would be counted too.
#[test]
fn steady_state_training_steps_allocate_nothing() {
    if !strata::tensor::Isa::Avx2.is_supported() {
        eprintln!("skipped: without AVX2 the `gemm` crate forms the products, and it allocates");
        return;
    }
    the_counter_counts_allocations();
    a_thread_with_reserved_scratch_forms_a_steps_products_without_allocating();
    an_mlp_step_with_sgd_allocates_nothing();
    an_mlp_step_with_momentum_adam_or_nadam_allocates_nothing();
    a_batch_norm_step_allocates_nothing();
    a_step_with_frozen_layers_and_a_binary_loss_allocates_nothing();
    a_step_with_dropout_and_weight_penalties_allocates_nothing();
}
