//! Fork-join for splitting one kernel call across cores, with a hand-off in well under a
//! microsecond.
//!
//! A training step at batch 32 is a chain of products of 10–200 µs each. Handing half of one
//! to a rayon worker that has gone to sleep since the last product costs a wake-up that is
//! often as long as the half itself (measured in `docs/performance.md`). [`run_parts`] instead
//! shares the parts with dedicated helper threads that keep polling for [`SPIN`] after their
//! last call, so during training they are always awake, and that sleep when training stops.
//! Parts are claimed one at a time, so a thread on a slower core (a shared VM's cores often
//! differ by a third) takes fewer of them.
//!
//! There are as many helpers as rayon has threads, minus one (so `RAYON_NUM_THREADS` and
//! `rayon::ThreadPoolBuilder::build_global`, called before the first split, size them; outside
//! [`serially`], [`threads`] answers rayon's count). Calls never nest and never wait on one
//! another: a call that finds the helpers busy (another thread's kernel, or a part that
//! itself splits) runs all its parts on its own thread.
//!
//! [`serially`] keeps the kernels of a closure on the calling thread (`fit` uses it when a
//! step measures faster that way).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long a helper keeps polling for work after its last part before it sleeps.
pub const SPIN: Duration = Duration::from_micros(300);

const IDLE: u32 = 0;
const POSTED: u32 = 1;
const CLAIMED: u32 = 2;
const DONE: u32 = 3;

/// A call posted to a helper: the shared closure and the counter parts are claimed from
/// (both on the caller's stack, lifetimes erased), and the number of parts.
#[derive(Clone, Copy)]
struct Job {
    work: *const (dyn Fn(usize) + Sync),
    next: *const AtomicUsize,
    parts: usize,
}

// SAFETY: `work` points to a `Sync` closure and `next` to an atomic that `run_parts` keeps
// alive until the helper has reported done (or the caller took the job back); only shared
// access is made through them.
unsafe impl Send for Job {}

/// Runs parts claimed from `next` until none is left; the first panic is returned after.
fn claim_parts(work: &(dyn Fn(usize) + Sync), next: &AtomicUsize, parts: usize) -> Option<Payload> {
    let mut panic = None;
    loop {
        let part = next.fetch_add(1, Ordering::Relaxed);
        if part >= parts {
            return panic;
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| work(part))) {
            panic.get_or_insert(payload);
        }
    }
}

type Payload = Box<dyn std::any::Any + Send>;

/// One job at a time handed from a caller to a helper: `IDLE` → `POSTED` (by the caller) →
/// `CLAIMED` (by the helper) → `DONE` (helper) → `IDLE` (caller), or `POSTED` → `IDLE` when
/// the caller takes back a job the helper has not started.
struct Channel<J> {
    state: AtomicU32,
    job: Mutex<Option<J>>,
    panic: Mutex<Option<Payload>>,
}

impl<J: Copy> Channel<J> {
    fn new() -> Channel<J> {
        Channel {
            state: AtomicU32::new(IDLE),
            job: Mutex::new(None),
            panic: Mutex::new(None),
        }
    }

    /// Caller: hands `job` over.
    fn post(&self, job: J) {
        *self.job.lock().unwrap_or_else(|e| e.into_inner()) = Some(job);
        self.state.store(POSTED, Ordering::SeqCst);
    }

    /// Whether a job waits to be claimed (sequentially consistent, for the sleep handshake).
    fn is_posted(&self) -> bool {
        self.state.load(Ordering::SeqCst) == POSTED
    }

    /// Helper: the posted job, if any, now claimed.
    fn try_claim(&self) -> Option<J> {
        if self.state.load(Ordering::Acquire) != POSTED
            || self
                .state
                .compare_exchange(POSTED, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return None;
        }
        Some(
            self.job
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .expect("a posted channel holds a job"),
        )
    }

    /// Helper: reports the claimed job done, with its panic if it had one.
    fn finish(&self, panic: Option<Payload>) {
        if let Some(payload) = panic {
            *self.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(payload);
        }
        self.state.store(DONE, Ordering::Release);
    }

    /// Caller: takes the job back if the helper has not claimed it.
    fn take_back(&self) -> bool {
        self.state
            .compare_exchange(POSTED, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Caller, after the helper claimed the job: waits until it is done, frees the channel
    /// and returns the job's panic, if any.
    fn wait_done(&self) -> Option<Payload> {
        let mut polls = 0u32;
        while self.state.load(Ordering::Acquire) != DONE {
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(64) {
                thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        let panic = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.state.store(IDLE, Ordering::Release);
        panic
    }
}

struct Slot {
    /// Parts of a [`run_parts`] call.
    parts: Channel<Job>,
    sleeping: AtomicBool,
    thread: OnceLock<Thread>,
    /// Set by the helper once its thread runs its loop.
    started: AtomicBool,
}

impl Slot {
    /// Unparks the helper if it went to sleep (after a job was posted).
    fn wake(&self) {
        if self.sleeping.load(Ordering::SeqCst)
            && let Some(t) = self.thread.get()
        {
            t.unpark();
        }
    }
}

struct Helpers {
    slots: Vec<Arc<Slot>>,
    busy: AtomicBool,
}

thread_local! {
    static IS_HELPER: Cell<bool> = const { Cell::new(false) };
    /// Set inside [`serially`].
    static SERIAL: Cell<bool> = const { Cell::new(false) };
}

/// How many threads kernels called from this thread split their work across: rayon's
/// thread count, or 1 inside [`serially`].
pub fn threads() -> usize {
    if SERIAL.with(|s| s.get()) {
        1
    } else {
        pool_threads()
    }
}

/// Rayon's thread count: the helpers are this many minus one.
fn pool_threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// Runs `f` with every kernel it calls kept whole on this thread: [`threads`] answers 1 (so
/// kernels do not cut their work) and [`run_parts`] runs all parts here. Results are
/// unchanged, since kernels give the same bits on any thread count; only the helpers stay
/// out. Calls may nest; the previous setting is restored when `f` returns or unwinds.
///
/// Used by `fit` when a step measures faster without splitting (a shared VM whose cores are
/// slow to exchange data, `docs/performance.md` item 23).
pub fn serially<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERIAL.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SERIAL.with(|s| s.replace(true)));
    f()
}

fn helpers() -> &'static Helpers {
    static HELPERS: OnceLock<Helpers> = OnceLock::new();
    HELPERS.get_or_init(|| {
        let count = pool_threads() - 1;
        let mut slots = Vec::with_capacity(count);
        for i in 0..count {
            let slot = Arc::new(Slot {
                parts: Channel::new(),
                sleeping: AtomicBool::new(false),
                thread: OnceLock::new(),
                started: AtomicBool::new(false),
            });
            let worker = Arc::clone(&slot);
            let spawned = thread::Builder::new()
                .name(format!("strata-helper-{i}"))
                .spawn(move || helper_loop(&worker));
            match spawned {
                Ok(handle) => {
                    // Set once, here, before the slot is published.
                    let _ = slot.thread.set(handle.thread().clone());
                    slots.push(slot);
                }
                // No thread available: fewer helpers (the work still runs, on fewer cores).
                Err(_) => break,
            }
        }
        Helpers {
            slots,
            busy: AtomicBool::new(false),
        }
    })
}

fn helper_loop(slot: &Slot) {
    IS_HELPER.with(|h| h.set(true));
    crate::kernels::gemm::reserve_thread_scratch();
    slot.started.store(true, Ordering::Release);
    let mut last_work = Instant::now();
    let mut polls = 0u32;
    loop {
        if let Some(job) = slot.parts.try_claim() {
            // SAFETY: the caller of `run_parts` posted this job and does not return before it
            // sees DONE, so the closure and the counter behind the pointers are alive.
            let (work, next) = unsafe { (&*job.work, &*job.next) };
            slot.parts.finish(claim_parts(work, next, job.parts));
            last_work = Instant::now();
            polls = 0;
            continue;
        }
        polls = polls.wrapping_add(1);
        if !polls.is_multiple_of(64) {
            std::hint::spin_loop();
            continue;
        }
        if last_work.elapsed() < SPIN {
            // Let another runnable thread have the core while we wait.
            thread::yield_now();
            continue;
        }
        slot.sleeping.store(true, Ordering::SeqCst);
        if !slot.parts.is_posted() {
            thread::park();
        }
        slot.sleeping.store(false, Ordering::SeqCst);
        last_work = Instant::now();
    }
}

/// Starts the helper threads now, if they are not running yet, and returns once each runs,
/// with the product scratch of every helper and of the calling thread reserved
/// ([`crate::kernels::gemm::reserve_thread_scratch`]).
///
/// The first split would start them otherwise, and each thread's scratch would grow as
/// parts of products came its way; `fit`, a benchmark or a test that must not see this
/// (thread creation and growth allocate) calls this first.
pub fn start_helpers() {
    crate::kernels::gemm::reserve_thread_scratch();
    for slot in &helpers().slots {
        while !slot.started.load(Ordering::Acquire) {
            thread::yield_now();
        }
    }
}

/// Runs `work(0)`, `work(1)`, …, `work(parts - 1)` and returns when all are done. This thread
/// and the free helpers claim parts one at a time, so a thread on a slower core simply takes
/// fewer of them (inside [`serially`], or from a helper, this thread runs them all). Parts
/// must be independent. A panic in any part is propagated after every part has finished.
pub fn run_parts(parts: usize, work: &(dyn Fn(usize) + Sync)) {
    let serial = || (0..parts).for_each(work);
    if parts <= 1 || IS_HELPER.with(|h| h.get()) || SERIAL.with(|s| s.get()) {
        return serial();
    }
    let helpers = helpers();
    if helpers.slots.is_empty()
        || helpers
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        return serial();
    }
    let next = AtomicUsize::new(0);
    // SAFETY: only the lifetime is erased; `run_parts` waits below until no helper can still
    // use `work` or `next` before it returns or unwinds.
    let erased: *const (dyn Fn(usize) + Sync) = unsafe {
        std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const (dyn Fn(usize) + Sync)>(
            work,
        )
    };
    let slots = &helpers.slots[..(parts - 1).min(helpers.slots.len())];
    for slot in slots {
        slot.parts.post(Job {
            work: erased,
            next: &next,
            parts,
        });
        slot.wake();
    }
    let mut panic = claim_parts(work, &next, parts);
    for slot in slots {
        // A helper that has not started yet is told to skip the call: nothing is left.
        if slot.parts.take_back() {
            continue;
        }
        if let Some(payload) = slot.parts.wait_done() {
            panic.get_or_insert(payload);
        }
    }
    helpers.busy.store(false, Ordering::Release);
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_exactly_once() {
        for parts in 0..12 {
            let hits: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..200 {
                run_parts(parts, &|p| {
                    hits[p].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 200));
        }
    }

    #[test]
    fn nested_and_concurrent_calls_complete() {
        let total = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..100 {
                        run_parts(2, &|_| {
                            run_parts(2, &|_| {
                                total.fetch_add(1, Ordering::Relaxed);
                            });
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 3 * 100 * 4);
    }

    #[test]
    fn serially_keeps_every_part_on_the_calling_thread() {
        let me = thread::current().id();
        let outside = threads();
        for _ in 0..50 {
            let order = Mutex::new(Vec::new());
            let result = serially(|| {
                assert_eq!(threads(), 1);
                run_parts(6, &|p| {
                    assert_eq!(thread::current().id(), me);
                    order
                        .lock()
                        .unwrap()
                        .push(["p0", "p1", "p2", "p3", "p4", "p5"][p]);
                });
                // Nested: still serial inside, and after.
                serially(|| assert_eq!(threads(), 1));
                assert_eq!(threads(), 1);
                7
            });
            assert_eq!(result, 7);
            assert_eq!(*order.lock().unwrap(), ["p0", "p1", "p2", "p3", "p4", "p5"]);
            assert_eq!(threads(), outside);
        }
        // Restored after a panic too.
        let caught = catch_unwind(|| serially(|| panic!("inside")));
        assert!(caught.is_err());
        assert_eq!(threads(), outside);
    }

    #[test]
    fn a_panicking_part_is_propagated_after_all_parts_finish() {
        let finished = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            run_parts(2, &|p| {
                if p == 1 {
                    panic!("part one fails");
                }
                thread::sleep(Duration::from_millis(5));
                finished.fetch_add(1, Ordering::Relaxed);
            })
        }));
        assert!(result.is_err());
        assert_eq!(finished.load(Ordering::Relaxed), 1);
        // The helpers are usable afterwards.
        let hits = AtomicUsize::new(0);
        run_parts(2, &|_| {
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 2);
    }
}
