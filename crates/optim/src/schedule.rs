//! Learning-rate schedules, evaluated per optimizer step (Keras's `LearningRateSchedule`s,
//! plus Géron's 1cycle).

use crate::OptimError;
use serde::{Deserialize, Serialize};

fn invalid(schedule: &'static str, message: impl Into<String>) -> OptimError {
    OptimError::InvalidArgument {
        optimizer: schedule,
        message: message.into(),
    }
}

/// Keras's `ExponentialDecay`: `lr0 · decay_rate^(step / decay_steps)` (exponent floored when
/// `staircase`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExponentialDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f32,
    /// Steps per decay period.
    pub decay_steps: u64,
    /// Factor per period.
    pub decay_rate: f32,
    /// Decay in whole periods.
    pub staircase: bool,
}

impl ExponentialDecay {
    /// A smooth exponential decay.
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Self {
        ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Decays in whole periods.
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

/// Keras's `InverseTimeDecay` (Géron's power scheduling): `lr0 / (1 + decay_rate·p)` with
/// `p = step / decay_steps` (floored when `staircase`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InverseTimeDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f32,
    /// Steps per unit of `p`.
    pub decay_steps: u64,
    /// Decay rate.
    pub decay_rate: f32,
    /// Decay in whole periods.
    pub staircase: bool,
}

impl InverseTimeDecay {
    /// A smooth inverse-time decay.
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Self {
        InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Decays in whole periods.
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

/// Keras's `PiecewiseConstantDecay`: `values[0]` while `step ≤ boundaries[0]`, `values[i]`
/// while `boundaries[i−1] < step ≤ boundaries[i]`, and `values[last]` after the last boundary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PiecewiseConstantDecay {
    /// Increasing step boundaries.
    pub boundaries: Vec<u64>,
    /// One more value than boundaries.
    pub values: Vec<f32>,
}

impl PiecewiseConstantDecay {
    /// Checks that there is one more value than boundaries and that boundaries increase.
    pub fn new(boundaries: Vec<u64>, values: Vec<f32>) -> Result<Self, OptimError> {
        if values.len() != boundaries.len() + 1 {
            return Err(invalid(
                "PiecewiseConstantDecay",
                format!(
                    "needs one more value than boundaries, found {} values and {} boundaries",
                    values.len(),
                    boundaries.len()
                ),
            ));
        }
        if boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid(
                "PiecewiseConstantDecay",
                format!("boundaries must increase, found {boundaries:?}"),
            ));
        }
        Ok(PiecewiseConstantDecay { boundaries, values })
    }
}

/// Keras's `PolynomialDecay`: `(lr0 − end)·(1 − step/decay_steps)^power + end`, with `step`
/// capped at `decay_steps` (or, with `cycle`, `decay_steps` stretched to the next multiple).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolynomialDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f32,
    /// Steps to reach the end rate.
    pub decay_steps: u64,
    /// Final rate (Keras default 1e-4).
    pub end_learning_rate: f32,
    /// Polynomial power (default 1, linear).
    pub power: f32,
    /// Restart after `decay_steps`.
    pub cycle: bool,
}

impl PolynomialDecay {
    /// Linear decay to 1e-4 (Keras's defaults).
    pub fn new(initial_learning_rate: f32, decay_steps: u64) -> Self {
        PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate: 1e-4,
            power: 1.0,
            cycle: false,
        }
    }
}

/// Keras's `CosineDecay`, with optional linear warm-up from `initial_learning_rate` to
/// `warmup_target` over `warmup_steps`, then a cosine decay from there to `alpha·target`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosineDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f32,
    /// Steps of the cosine part.
    pub decay_steps: u64,
    /// Final fraction of the rate.
    pub alpha: f32,
    /// Peak rate after warm-up (`None`: no warm-up).
    pub warmup_target: Option<f32>,
    /// Warm-up steps.
    pub warmup_steps: u64,
}

impl CosineDecay {
    /// A cosine decay to 0 without warm-up.
    pub fn new(initial_learning_rate: f32, decay_steps: u64) -> Self {
        CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0,
        }
    }

    /// Adds a linear warm-up to `target` over `steps`.
    pub fn warmup(mut self, target: f32, steps: u64) -> Self {
        self.warmup_target = Some(target);
        self.warmup_steps = steps;
        self
    }
}

/// Keras's `CosineDecayRestarts` (SGDR): cosine periods that grow by `t_mul` and restart at
/// `m_mul` times the previous peak.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosineDecayRestarts {
    /// Rate at step 0.
    pub initial_learning_rate: f32,
    /// Length of the first period.
    pub first_decay_steps: u64,
    /// Period growth factor (default 2).
    pub t_mul: f32,
    /// Peak factor per restart (default 1).
    pub m_mul: f32,
    /// Final fraction of the rate.
    pub alpha: f32,
}

impl CosineDecayRestarts {
    /// Keras's defaults: `t_mul = 2`, `m_mul = 1`, `alpha = 0`.
    pub fn new(initial_learning_rate: f32, first_decay_steps: u64) -> Self {
        CosineDecayRestarts {
            initial_learning_rate,
            first_decay_steps,
            t_mul: 2.0,
            m_mul: 1.0,
            alpha: 0.0,
        }
    }
}

/// Géron's 1cycle schedule (not in Keras): linear from `start_rate` up to `max_rate` over the
/// first half of `iterations − last_iterations` steps, back down to `start_rate` over the
/// second half, then down to `last_rate` over the last `last_iterations` steps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneCycle {
    /// Total steps.
    pub iterations: u64,
    /// Peak rate.
    pub max_rate: f32,
    /// Rate at the start (default `max_rate / 10`).
    pub start_rate: f32,
    /// Steps of the final annealing (default `iterations / 10 + 1`).
    pub last_iterations: u64,
    /// Final rate (default `start_rate / 1000`).
    pub last_rate: f32,
}

impl OneCycle {
    /// The book's defaults for everything but the length and the peak.
    pub fn new(iterations: u64, max_rate: f32) -> Self {
        let start_rate = max_rate / 10.0;
        OneCycle {
            iterations,
            max_rate,
            start_rate,
            last_iterations: iterations / 10 + 1,
            last_rate: start_rate / 1000.0,
        }
    }

    fn half_iteration(&self) -> u64 {
        self.iterations.saturating_sub(self.last_iterations) / 2
    }
}

/// A learning rate: a constant or a schedule of the optimizer's step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LearningRate {
    /// A constant (settable between steps).
    Constant(f32),
    /// [`ExponentialDecay`].
    ExponentialDecay(ExponentialDecay),
    /// [`InverseTimeDecay`].
    InverseTimeDecay(InverseTimeDecay),
    /// [`PiecewiseConstantDecay`].
    PiecewiseConstantDecay(PiecewiseConstantDecay),
    /// [`PolynomialDecay`].
    PolynomialDecay(PolynomialDecay),
    /// [`CosineDecay`].
    CosineDecay(CosineDecay),
    /// [`CosineDecayRestarts`].
    CosineDecayRestarts(CosineDecayRestarts),
    /// [`OneCycle`].
    OneCycle(OneCycle),
}

impl LearningRate {
    /// The schedule's name (`"Constant"`, `"ExponentialDecay"`, …).
    pub fn name(&self) -> &'static str {
        match self {
            LearningRate::Constant(_) => "Constant",
            LearningRate::ExponentialDecay(_) => "ExponentialDecay",
            LearningRate::InverseTimeDecay(_) => "InverseTimeDecay",
            LearningRate::PiecewiseConstantDecay(_) => "PiecewiseConstantDecay",
            LearningRate::PolynomialDecay(_) => "PolynomialDecay",
            LearningRate::CosineDecay(_) => "CosineDecay",
            LearningRate::CosineDecayRestarts(_) => "CosineDecayRestarts",
            LearningRate::OneCycle(_) => "OneCycle",
        }
    }

    /// Checks the parameters (positive steps, finite rates, …).
    pub fn validate(&self) -> Result<(), OptimError> {
        let name = self.name();
        let finite = |v: f32, what: &str| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(invalid(
                    name,
                    format!("{what} must be finite and ≥ 0, found {v}"),
                ))
            }
        };
        let positive = |v: u64, what: &str| {
            if v > 0 {
                Ok(())
            } else {
                Err(invalid(name, format!("{what} must be > 0")))
            }
        };
        match self {
            LearningRate::Constant(lr) => finite(*lr, "learning_rate"),
            LearningRate::ExponentialDecay(s) => {
                finite(s.initial_learning_rate, "initial_learning_rate")?;
                positive(s.decay_steps, "decay_steps")
            }
            LearningRate::InverseTimeDecay(s) => {
                finite(s.initial_learning_rate, "initial_learning_rate")?;
                positive(s.decay_steps, "decay_steps")
            }
            LearningRate::PiecewiseConstantDecay(s) => {
                s.values.iter().try_for_each(|&v| finite(v, "values"))
            }
            LearningRate::PolynomialDecay(s) => {
                finite(s.initial_learning_rate, "initial_learning_rate")?;
                positive(s.decay_steps, "decay_steps")
            }
            LearningRate::CosineDecay(s) => {
                finite(s.initial_learning_rate, "initial_learning_rate")?;
                positive(s.decay_steps, "decay_steps")
            }
            LearningRate::CosineDecayRestarts(s) => {
                finite(s.initial_learning_rate, "initial_learning_rate")?;
                positive(s.first_decay_steps, "first_decay_steps")
            }
            LearningRate::OneCycle(s) => {
                finite(s.max_rate, "max_rate")?;
                positive(s.iterations, "iterations")
            }
        }
    }

    /// The rate at optimizer step `step` (0-based: the first update uses step 0).
    pub fn at(&self, step: u64) -> f32 {
        let step_f = step as f64;
        let rate = match self {
            LearningRate::Constant(lr) => *lr as f64,
            LearningRate::ExponentialDecay(s) => {
                let mut p = step_f / s.decay_steps as f64;
                if s.staircase {
                    p = p.floor();
                }
                s.initial_learning_rate as f64 * (s.decay_rate as f64).powf(p)
            }
            LearningRate::InverseTimeDecay(s) => {
                let mut p = step_f / s.decay_steps as f64;
                if s.staircase {
                    p = p.floor();
                }
                s.initial_learning_rate as f64 / (1.0 + s.decay_rate as f64 * p)
            }
            LearningRate::PiecewiseConstantDecay(s) => {
                let index = s
                    .boundaries
                    .iter()
                    .position(|&b| step <= b)
                    .unwrap_or(s.boundaries.len());
                s.values[index] as f64
            }
            LearningRate::PolynomialDecay(s) => {
                let mut decay_steps = s.decay_steps as f64;
                let mut step = step_f;
                if s.cycle {
                    let multiplier = if step == 0.0 {
                        1.0
                    } else {
                        (step / decay_steps).ceil()
                    };
                    decay_steps *= multiplier;
                } else {
                    step = step.min(decay_steps);
                }
                let (lr0, end) = (s.initial_learning_rate as f64, s.end_learning_rate as f64);
                (lr0 - end) * (1.0 - step / decay_steps).powf(s.power as f64) + end
            }
            LearningRate::CosineDecay(s) => {
                let decay = |step: f64, from: f64| {
                    let fraction = step / s.decay_steps as f64;
                    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * fraction).cos());
                    from * ((1.0 - s.alpha as f64) * cosine + s.alpha as f64)
                };
                match s.warmup_target {
                    None => decay(
                        step_f.min(s.decay_steps as f64),
                        s.initial_learning_rate as f64,
                    ),
                    Some(target) => {
                        let step = step_f.min((s.decay_steps + s.warmup_steps) as f64);
                        if step < s.warmup_steps as f64 {
                            let fraction = step / s.warmup_steps as f64;
                            (target as f64 - s.initial_learning_rate as f64) * fraction
                                + s.initial_learning_rate as f64
                        } else {
                            decay(step - s.warmup_steps as f64, target as f64)
                        }
                    }
                }
            }
            LearningRate::CosineDecayRestarts(s) => {
                let mut fraction = step_f / s.first_decay_steps as f64;
                let t_mul = s.t_mul as f64;
                let i_restart;
                if t_mul == 1.0 {
                    i_restart = fraction.floor();
                    fraction -= i_restart;
                } else {
                    i_restart = ((1.0 - fraction * (1.0 - t_mul)).ln() / t_mul.ln()).floor();
                    let sum_r = (1.0 - t_mul.powf(i_restart)) / (1.0 - t_mul);
                    fraction = (fraction - sum_r) / t_mul.powf(i_restart);
                }
                let m_fac = (s.m_mul as f64).powf(i_restart);
                let cosine = 0.5 * m_fac * (1.0 + (std::f64::consts::PI * fraction).cos());
                s.initial_learning_rate as f64 * ((1.0 - s.alpha as f64) * cosine + s.alpha as f64)
            }
            LearningRate::OneCycle(s) => {
                let half = s.half_iteration();
                let interpolate = |i1: u64, i2: u64, r1: f32, r2: f32| {
                    let span = (i2 as f64 - i1 as f64).max(1.0);
                    (r2 as f64 - r1 as f64) * (step_f - i1 as f64) / span + r1 as f64
                };
                if step < half {
                    interpolate(0, half, s.start_rate, s.max_rate)
                } else if step < 2 * half {
                    interpolate(half, 2 * half, s.max_rate, s.start_rate)
                } else {
                    interpolate(2 * half, s.iterations, s.start_rate, s.last_rate)
                        .max(s.last_rate.min(s.start_rate) as f64)
                }
            }
        };
        rate as f32
    }
}

impl From<f32> for LearningRate {
    fn from(lr: f32) -> Self {
        LearningRate::Constant(lr)
    }
}

macro_rules! schedule_into {
    ($($t:ident),*) => {$(
        impl From<$t> for LearningRate {
            fn from(s: $t) -> Self {
                LearningRate::$t(s)
            }
        }
    )*};
}
schedule_into!(
    ExponentialDecay,
    InverseTimeDecay,
    PiecewiseConstantDecay,
    PolynomialDecay,
    CosineDecay,
    CosineDecayRestarts,
    OneCycle
);
