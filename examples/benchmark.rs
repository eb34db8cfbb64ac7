//! Epoch-level benchmark of the workloads in `../shared/bench/BASELINES.md`, with the same
//! settings as the peers (plain SGD, batch 32, reshuffled every epoch, 55,000/5,000 split):
//!
//! - `mlp` (W1): Flatten → Dense 300 relu → Dense 100 relu → Dense 10 softmax, lr 0.01;
//! - `bn` (W2): Dense 300 (no bias) → BN → ReLU → Dense 300 (no bias) → BN → ReLU → Dense 10
//!   softmax, lr 0.01;
//! - `transfer` (W3): Flatten → Dense 100 relu ×3 → Dense 1 sigmoid on T-shirt/top vs Sandal,
//!   lr 0.001, 4 epochs with the hidden layers frozen, then 16 with everything trainable;
//! - `infer` (W4): the trained W1 model predicting the 10,000 test images at batch 32 and as one
//!   batch of 10,000.
//!
//! The first epoch is a warm-up; the median of the others is reported. For `mlp` and `bn` a line
//! with the heap allocations per step of the last epoch comes first (a counting allocator wraps
//! the system one). Ends with one line of `key=value` pairs (`--verbose 1` times with the
//! progress bar drawn; `--seed N`, default 42, seeds the initial weights and the shuffling;
//! `--optimizer NAME` trains `mlp` or `bn` with `momentum`, `nesterov`, `adagrad`, `rmsprop`,
//! `adam`, `adamax`, `nadam` or `adamw` at Keras's defaults instead of plain SGD;
//! `--splitting adaptive|always|never` sets `FitOptions::splitting`, default `adaptive` as in
//! `fit`).
//! Run:
//! `cargo run --release --example benchmark -- --workload mlp --threads 1 --epochs 4`

#![allow(unsafe_code)] // the counting global allocator below

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use strata::prelude::*;

/// The system allocator, counting allocations and their bytes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
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

struct EpochTimer {
    start: Option<Instant>,
    seconds: Vec<f64>,
    /// Allocations and bytes during the last epoch.
    allocations: (u64, u64),
    at_start: (u64, u64),
}

fn allocation_counts() -> (u64, u64) {
    (
        ALLOCATIONS.load(Ordering::Relaxed),
        ALLOCATED_BYTES.load(Ordering::Relaxed),
    )
}

impl Callback for EpochTimer {
    fn on_epoch_begin(&mut self, _: usize, _: &mut Sequential) -> Result<(), ModelError> {
        self.at_start = allocation_counts();
        self.start = Some(Instant::now());
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &mut Logs,
        _: &mut Sequential,
    ) -> Result<(), ModelError> {
        self.seconds
            .push(self.start.take().map_or(0.0, |s| s.elapsed().as_secs_f64()));
        let now = allocation_counts();
        self.allocations = (now.0 - self.at_start.0, now.1 - self.at_start.1);
        Ok(())
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn mlp() -> Result<Sequential, ModelError> {
    let mut m = Sequential::with_seed(&[28, 28], seed());
    m.add(Flatten::new())?;
    m.add(
        Dense::new(300)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    m.add(
        Dense::new(100)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    m.add(Dense::new(10).activation("softmax"))?;
    Ok(m)
}

fn bn() -> Result<Sequential, ModelError> {
    let mut m = Sequential::with_seed(&[28, 28], seed());
    m.add(Flatten::new())?;
    for _ in 0..2 {
        m.add(
            Dense::new(300)
                .kernel_initializer("he_normal")
                .use_bias(false),
        )?;
        m.add(BatchNormalization::new())?;
        m.add(Activation::Relu)?;
    }
    m.add(Dense::new(10).activation("softmax"))?;
    Ok(m)
}

/// Epoch times, and the allocations and bytes of the last epoch.
fn train_timed(
    model: &mut Sequential,
    train: &Dataset,
    epochs: usize,
) -> Result<(Vec<f64>, (u64, u64)), ModelError> {
    let mut timer = EpochTimer {
        start: None,
        seconds: Vec::new(),
        allocations: (0, 0),
        at_start: (0, 0),
    };
    model.fit(
        train,
        FitOptions::epochs(epochs)
            .seed(seed())
            .verbose(VERBOSE.load(std::sync::atomic::Ordering::Relaxed))
            .splitting(SPLITTING.get().copied().unwrap_or_default())
            .callback(&mut timer),
    )?;
    Ok((timer.seconds, timer.allocations))
}

/// `--seed N` (default 42, the peers' seed): initial weights and shuffling.
static SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(42);

fn seed() -> u64 {
    SEED.load(std::sync::atomic::Ordering::Relaxed)
}

/// `--splitting adaptive|always|never` (default `adaptive`, `fit`'s default).
static SPLITTING: std::sync::OnceLock<Splitting> = std::sync::OnceLock::new();

/// `--verbose N` (default 0): the progress display used while timing (to measure its cost).
static VERBOSE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

fn main() -> Result<(), ModelError> {
    let args: Vec<String> = std::env::args().collect();
    let verbose: u8 = arg(&args, "--verbose", "0")
        .parse()
        .map_err(|_| ModelError::InvalidArgument("--verbose takes 0, 1 or 2".into()))?;
    VERBOSE.store(verbose, std::sync::atomic::Ordering::Relaxed);
    let seed_arg: u64 = arg(&args, "--seed", "42")
        .parse()
        .map_err(|_| ModelError::InvalidArgument("--seed takes a number".into()))?;
    SEED.store(seed_arg, std::sync::atomic::Ordering::Relaxed);
    let splitting = match arg(&args, "--splitting", "adaptive").as_str() {
        "adaptive" => Splitting::Adaptive,
        "always" => Splitting::Always,
        "never" => Splitting::Never,
        other => {
            return Err(ModelError::InvalidArgument(format!(
                "--splitting takes adaptive, always or never, not {other}"
            )));
        }
    };
    let _ = SPLITTING.set(splitting);
    let workload = arg(&args, "--workload", "mlp");
    let threads: usize = arg(&args, "--threads", "1")
        .parse()
        .map_err(|_| ModelError::InvalidArgument("--threads takes a number".into()))?;
    let epochs: usize = arg(&args, "--epochs", "4")
        .parse()
        .map_err(|_| ModelError::InvalidArgument("--epochs takes a number".into()))?;
    // `--optimizer NAME` (W1/W2; default `sgd`, the protocol of BASELINES.md): measures the
    // step with another optimizer at Keras's default settings for it.
    let optimizer = arg(&args, "--optimizer", "sgd");
    const OPTIMIZERS: [&str; 9] = [
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamax", "nadam", "adamw",
    ];
    if !OPTIMIZERS.contains(&optimizer.as_str()) {
        return Err(ModelError::InvalidArgument(format!(
            "--optimizer takes one of {}, not {optimizer}",
            OPTIMIZERS.join(", ")
        )));
    }
    if optimizer != "sgd" && !matches!(workload.as_str(), "mlp" | "bn") {
        return Err(ModelError::InvalidArgument(format!(
            "--optimizer applies to the mlp and bn workloads, not {workload} (which follows BASELINES.md's plain SGD)"
        )));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| ModelError::InvalidArgument(e.to_string()))?;
    let (train_full, test) = common::fashion_mnist_scaled();
    let (train, valid) = common::train_valid(&train_full);
    let sgd_sparse = |m: &mut Sequential, lr: f32| {
        let config: strata::optim::OptimizerConfig = match optimizer.as_str() {
            "sgd" => Sgd::new(lr).into(),
            "momentum" => Sgd::new(lr).momentum(0.9).into(),
            "nesterov" => Sgd::new(lr).momentum(0.9).nesterov(true).into(),
            "adagrad" => Adagrad::new(0.001).into(),
            "rmsprop" => RmsProp::new(0.001).into(),
            "adam" => Adam::new(0.001).into(),
            "adamax" => Adamax::new(0.001).into(),
            "nadam" => Nadam::new(0.001).into(),
            "adamw" => AdamW::new(0.001).into(),
            other => unreachable!("--optimizer {other} was checked above"),
        };
        m.compile(
            config,
            "sparse_categorical_crossentropy".parse()?,
            &[Metric::Accuracy],
        )
    };
    let line = match workload.as_str() {
        "mlp" | "bn" => {
            let mut model = if workload == "mlp" { mlp()? } else { bn()? };
            sgd_sparse(&mut model, 0.01)?;
            let (seconds, (allocations, bytes)) = train_timed(&mut model, &train, epochs)?;
            let epoch_s = median(&seconds[1.min(seconds.len() - 1)..]);
            let steps = train.len().div_ceil(32);
            emit(&format!(
                "allocations_per_step={:.1} allocated_bytes_per_step={:.0} (last epoch)",
                allocations as f64 / steps as f64,
                bytes as f64 / steps as f64
            ));
            let val = model
                .evaluate(&valid, 32)?
                .get("accuracy")
                .unwrap_or(f32::NAN);
            format!(
                "workload={workload} optimizer={optimizer} threads={threads} steps_per_epoch={steps} median_epoch_s={epoch_s:.4} us_per_step={:.1} val_accuracy={val:.4} peak_rss_mib={:.0}",
                epoch_s * 1e6 / steps as f64,
                peak_rss_mib()
            )
        }
        "transfer" => {
            let is_b = |y: u32| y == 0 || y == 5;
            let b_full = train_full.select(is_b)?.map_labels(|y| u32::from(y == 0))?;
            let (b_train, _) = b_full.split_at(b_full.len() - 100)?;
            let b_test = test.select(is_b)?.map_labels(|y| u32::from(y == 0))?;
            let start = Instant::now();
            let mut model = Sequential::with_seed(&[28, 28], seed());
            model.add(Flatten::new())?;
            for _ in 0..3 {
                model.add(
                    Dense::new(100)
                        .activation("relu")
                        .kernel_initializer("he_normal"),
                )?;
            }
            model.add(Dense::new(1).activation("sigmoid"))?;
            model.set_trainable(..4, false)?;
            model.compile(
                Sgd::new(0.001),
                "binary_crossentropy".parse()?,
                &[Metric::Accuracy],
            )?;
            let (frozen, _) = train_timed(&mut model, &b_train, 4)?;
            model.set_trainable(.., true)?;
            model.compile(
                Sgd::new(0.001),
                "binary_crossentropy".parse()?,
                &[Metric::Accuracy],
            )?;
            let (unfrozen, _) = train_timed(&mut model, &b_train, 16)?;
            let total = start.elapsed().as_secs_f64();
            let acc = model
                .evaluate(&b_test, 32)?
                .get("accuracy")
                .unwrap_or(f32::NAN);
            format!(
                "workload=transfer threads={threads} steps_per_epoch={} frozen_epoch_s={:.4} unfrozen_epoch_s={:.4} total_s={total:.3} test_accuracy={acc:.4} peak_rss_mib={:.0}",
                b_train.len().div_ceil(32),
                median(&frozen),
                median(&unfrozen),
                peak_rss_mib()
            )
        }
        "infer" => {
            let mut model = mlp()?;
            sgd_sparse(&mut model, 0.01)?;
            train_timed(&mut model, &train, epochs)?;
            let x = test.inputs_tensor();
            let mut time = |batch: usize, reps: usize| -> Result<f64, ModelError> {
                model.predict(&x, batch)?;
                let mut s = Vec::new();
                for _ in 0..reps {
                    let t = Instant::now();
                    std::hint::black_box(model.predict(&x, batch)?);
                    s.push(t.elapsed().as_secs_f64());
                }
                Ok(median(&s))
            };
            let (t32, t10k) = (time(32, 5)?, time(10_000, 10)?);
            format!(
                "workload=infer threads={threads} images_per_s_bs32={:.0} images_per_s_bs10000={:.0} peak_rss_mib={:.0}",
                10_000.0 / t32,
                10_000.0 / t10k,
                peak_rss_mib()
            )
        }
        other => {
            return Err(ModelError::InvalidArgument(format!(
                "unknown workload {other:?}; use mlp, bn, transfer or infer"
            )));
        }
    };
    emit(&line);
    Ok(())
}

/// Prints a line to stdout. A reader that went away (`| head -1`) ends the program quietly
/// instead of panicking; any other write error is reported and exits with status 1.
fn emit(line: &str) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("benchmark: cannot write the result: {e}");
        std::process::exit(1);
    }
}
