//! A thread whose product scratch is reserved (`gemm::reserve_thread_scratch`) forms the
//! products of a batch-32 training step without allocating, whatever it formed before.
//!
//! This is what lets a helper thread take a part of a split product at any step, for the
//! first time, without allocating: which thread forms which part is decided while the product
//! runs. A counting global allocator (this test binary's own) counts the allocations of the
//! thread under test only.

#![allow(unsafe_code)] // the counting global allocator below

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use strata_tensor::Transpose;
use strata_tensor::kernels::gemm;

thread_local! {
    /// Whether this thread's allocations are counted, and how many were.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

fn count() {
    // `try_with`: the allocator may run while this thread's locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// thread-local cells that do not allocate.
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

/// One product `C (+)= op(A)·op(B)` with its operands allocated up front.
struct Product {
    name: &'static str,
    a: Vec<f32>,
    trans_a: Transpose,
    b: Vec<f32>,
    trans_b: Transpose,
    mkn: (usize, usize, usize),
    c: Vec<f32>,
    accumulate: bool,
}

impl Product {
    fn new(
        name: &'static str,
        (m, k, n): (usize, usize, usize),
        trans_a: Transpose,
        trans_b: Transpose,
        accumulate: bool,
    ) -> Product {
        let fill = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * 7919 + seed) % 1000) as f32 / 1000.0 - 0.5)
                .collect()
        };
        Product {
            name,
            a: fill(m * k, 1),
            trans_a,
            b: fill(k * n, 2),
            trans_b,
            mkn: (m, k, n),
            c: vec![0.0; m * n],
            accumulate,
        }
    }

    fn run(&mut self) {
        let (m, k, n) = self.mkn;
        gemm::matmul(
            &self.a,
            self.trans_a,
            &self.b,
            self.trans_b,
            m,
            k,
            n,
            &mut self.c,
            self.accumulate,
        );
    }
}

/// The products of a batch-32 step of the 784-300-100-10 MLP that a helper may form a part
/// of (the forward products through the two large weights run as depth halves, whose sums the
/// calling thread keeps, and are left out), each formed whole.
fn step_products() -> Vec<Product> {
    use Transpose::{No, Yes};
    vec![
        // dX = dY · Wᵀ through the first weight (784×300): the batch kernel.
        Product::new("input gradient 32x300x784", (32, 300, 784), No, Yes, false),
        // dW = Xᵀ · dY for the first weight: the packed kernel.
        Product::new("weight gradient 784x32x300", (784, 32, 300), Yes, No, true),
        // The output layer forward (narrow batch output) and its weight gradient.
        Product::new("output forward 32x100x10", (32, 100, 10), No, No, false),
        Product::new(
            "output weight gradient 100x32x10",
            (100, 32, 10),
            Yes,
            No,
            true,
        ),
        Product::new(
            "hidden weight gradient 300x32x100",
            (300, 32, 100),
            Yes,
            No,
            true,
        ),
    ]
}

/// On a new thread: reserves the scratch if `reserve`, then counts the allocations of each
/// step product formed whole on that thread.
fn allocations_on_a_new_thread(reserve: bool) -> Vec<(&'static str, u64)> {
    std::thread::spawn(move || {
        let mut products = step_products();
        if reserve {
            gemm::reserve_thread_scratch();
        }
        let mut counts = Vec::with_capacity(products.len());
        for p in &mut products {
            COUNT.with(|c| c.set(0));
            COUNTING.with(|on| on.set(true));
            strata_tensor::parallel::serially(|| p.run());
            COUNTING.with(|on| on.set(false));
            counts.push((p.name, COUNT.with(|c| c.get())));
        }
        counts
    })
    .join()
    .unwrap()
}

#[test]
fn a_thread_with_reserved_scratch_forms_a_steps_products_without_allocating() {
    if !strata_tensor::Isa::Avx2.is_supported() {
        eprintln!("skipped: without AVX2 the `gemm` crate forms the products, and it allocates");
        return;
    }
    let reserved = allocations_on_a_new_thread(true);
    assert!(
        reserved.iter().all(|&(_, n)| n == 0),
        "allocations with the scratch reserved: {reserved:?}"
    );
    // The same products on a thread that did not reserve: its scratch grows, so the counter
    // sees allocations (a zero above is no accident of counting).
    let unreserved = allocations_on_a_new_thread(false);
    assert!(
        unreserved.iter().any(|&(_, n)| n > 0),
        "no allocation counted without the reservation: {unreserved:?}"
    );
}
