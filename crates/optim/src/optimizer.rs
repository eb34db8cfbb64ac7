//! The optimizer: one update loop shared by every algorithm, with Keras's order of work.

use crate::{Clipping, LearningRate, OptimError};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use strata_autograd::{Gradients, Param, ParamId};
use strata_tensor::Tensor;
use strata_tensor::kernels::update::{self, Rule};

/// The update rule and its hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Algorithm {
    /// Stochastic gradient descent with optional (Nesterov) momentum.
    Sgd {
        /// Momentum (0 disables it).
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// AdaGrad.
    Adagrad {
        /// Starting value of the squared-gradient accumulator.
        initial_accumulator_value: f32,
        /// Added inside the square root.
        epsilon: f32,
    },
    /// RMSprop.
    RmsProp {
        /// Decay of the squared-gradient average.
        rho: f32,
        /// Momentum (0 disables it).
        momentum: f32,
        /// Added inside the square root.
        epsilon: f32,
        /// Normalize by the centered second moment.
        centered: bool,
    },
    /// Adam (and AdamW, which is Adam with decoupled weight decay).
    Adam {
        /// First-moment decay.
        beta_1: f32,
        /// Second-moment decay.
        beta_2: f32,
        /// Added to `√v` (Keras's "epsilon hat").
        epsilon: f32,
        /// Use the running maximum of `v`.
        amsgrad: bool,
    },
    /// Adamax (Adam with the infinity norm).
    Adamax {
        /// First-moment decay.
        beta_1: f32,
        /// Infinity-norm decay.
        beta_2: f32,
        /// Added to `u`.
        epsilon: f32,
    },
    /// Nadam (Adam with Nesterov momentum, Keras's momentum schedule).
    Nadam {
        /// First-moment decay.
        beta_1: f32,
        /// Second-moment decay.
        beta_2: f32,
        /// Added to `√v̂`.
        epsilon: f32,
    },
}

impl Algorithm {
    /// The Keras class name.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Sgd { .. } => "SGD",
            Algorithm::Adagrad { .. } => "Adagrad",
            Algorithm::RmsProp { .. } => "RMSprop",
            Algorithm::Adam { .. } => "Adam",
            Algorithm::Adamax { .. } => "Adamax",
            Algorithm::Nadam { .. } => "Nadam",
        }
    }

    /// Number of state tensors per variable.
    fn slots(&self) -> usize {
        match *self {
            Algorithm::Sgd { momentum, .. } => usize::from(momentum != 0.0),
            Algorithm::Adagrad { .. } => 1,
            Algorithm::RmsProp {
                momentum, centered, ..
            } => 1 + usize::from(momentum > 0.0) + usize::from(centered),
            Algorithm::Adam { amsgrad, .. } => 2 + usize::from(amsgrad),
            Algorithm::Adamax { .. } | Algorithm::Nadam { .. } => 2,
        }
    }

    fn initial_slot(&self, index: usize) -> f32 {
        match *self {
            Algorithm::Adagrad {
                initial_accumulator_value,
                ..
            } if index == 0 => initial_accumulator_value,
            _ => 0.0,
        }
    }
}

/// Everything an optimizer is configured with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// The update rule.
    pub algorithm: Algorithm,
    /// The learning rate or schedule.
    pub learning_rate: LearningRate,
    /// Decoupled weight decay: `w ← w − w·wd·lr` before each update.
    pub weight_decay: Option<f32>,
    /// Gradient clipping.
    pub clipping: Option<Clipping>,
    /// Set when more than one clipping option was given (an error at build).
    #[serde(skip)]
    pub(crate) clipping_conflict: bool,
}

/// An optimizer with its state: the iteration counter and per-variable slots (momentums,
/// velocities, …), all serializable for checkpoints.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Optimizer {
    config: OptimizerConfig,
    iterations: u64,
    /// Per trainable variable, in the order the optimizer was built with.
    slots: Vec<Vec<Tensor>>,
    /// Shapes of the variables it was built for.
    shapes: Vec<Vec<usize>>,
    /// Nadam's running product of momentum factors.
    u_product: f64,
    /// The variables' identities (not saved: after loading, the first update binds them).
    #[serde(skip)]
    bound: Option<Vec<ParamId>>,
    built: bool,
    /// The clipped gradients of a step, kept so that a step allocates nothing.
    #[serde(skip)]
    clipped: Vec<Tensor>,
}

/// Panics unless a variable's gradient has the variable's shape.
#[track_caller]
fn check_gradient_shape(p: &Param, shape: &[usize]) {
    assert_eq!(
        shape,
        p.shape(),
        "optimizer: gradient of {} has shape {:?}, the variable {:?}",
        p.name(),
        shape,
        p.shape()
    );
}

/// The trainable variables given to [`Optimizer::apply_visiting`]: called with `f`, it calls
/// `f` on every variable, in the same order every time.
pub type VisitVariables<'a> = dyn FnMut(&mut dyn FnMut(&mut Param)) + 'a;

/// The most slot variables any algorithm keeps per variable (Adam with AMSGrad, centered
/// RMSProp with momentum: 3).
const MAX_SLOTS: usize = 3;

fn check(
    ok: bool,
    optimizer: &'static str,
    message: impl FnOnce() -> String,
) -> Result<(), OptimError> {
    if ok {
        Ok(())
    } else {
        Err(OptimError::InvalidArgument {
            optimizer,
            message: message(),
        })
    }
}

impl Optimizer {
    /// Validates a configuration and makes a fresh optimizer.
    pub fn new(config: impl Into<OptimizerConfig>) -> Result<Optimizer, OptimError> {
        let config = config.into();
        let name = config.algorithm.name();
        check(!config.clipping_conflict, name, || {
            "set at most one of clipnorm, clipvalue and global_clipnorm".into()
        })?;
        config.learning_rate.validate()?;
        if let Some(wd) = config.weight_decay {
            check(wd.is_finite() && wd >= 0.0, name, || {
                format!("weight_decay must be ≥ 0, found {wd}")
            })?;
        }
        if let Some(c) = config.clipping {
            let v = match c {
                Clipping::Value(v) | Clipping::Norm(v) | Clipping::GlobalNorm(v) => v,
            };
            check(v > 0.0 && v.is_finite(), name, || {
                format!("clipping threshold must be > 0, found {v}")
            })?;
        }
        let unit = |v: f32, what: &str| {
            check((0.0..1.0).contains(&v), name, || {
                format!("{what} must be in [0, 1), found {v}")
            })
        };
        let eps = |v: f32| {
            check(v >= 0.0 && v.is_finite(), name, || {
                format!("epsilon must be ≥ 0, found {v}")
            })
        };
        match config.algorithm {
            Algorithm::Sgd { momentum, .. } => {
                check((0.0..=1.0).contains(&momentum), name, || {
                    format!("momentum must be in [0, 1], found {momentum}")
                })?
            }
            Algorithm::Adagrad {
                initial_accumulator_value,
                epsilon,
            } => {
                eps(epsilon)?;
                check(initial_accumulator_value >= 0.0, name, || {
                    "initial_accumulator_value must be ≥ 0".into()
                })?
            }
            Algorithm::RmsProp {
                rho,
                momentum,
                epsilon,
                ..
            } => {
                unit(rho, "rho")?;
                eps(epsilon)?;
                check((0.0..=1.0).contains(&momentum), name, || {
                    format!("momentum must be in [0, 1], found {momentum}")
                })?
            }
            Algorithm::Adam {
                beta_1,
                beta_2,
                epsilon,
                ..
            }
            | Algorithm::Adamax {
                beta_1,
                beta_2,
                epsilon,
            }
            | Algorithm::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                unit(beta_1, "beta_1")?;
                unit(beta_2, "beta_2")?;
                eps(epsilon)?
            }
        }
        Ok(Optimizer {
            config,
            iterations: 0,
            slots: Vec::new(),
            shapes: Vec::new(),
            u_product: 1.0,
            bound: None,
            built: false,
            clipped: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Number of updates applied so far (Keras's `iterations`).
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// The learning rate the next update will use.
    pub fn learning_rate(&self) -> f32 {
        self.config.learning_rate.at(self.iterations)
    }

    /// Sets a constant learning rate between steps (callbacks such as `ReduceLROnPlateau` use
    /// this). An error when the rate is a schedule, as in Keras.
    pub fn set_learning_rate(&mut self, learning_rate: f32) -> Result<(), OptimError> {
        match self.config.learning_rate {
            LearningRate::Constant(_) => {
                check(
                    learning_rate.is_finite() && learning_rate >= 0.0,
                    self.config.algorithm.name(),
                    || format!("learning_rate must be finite and ≥ 0, found {learning_rate}"),
                )?;
                self.config.learning_rate = LearningRate::Constant(learning_rate);
                Ok(())
            }
            ref schedule => Err(OptimError::ScheduledLearningRate(schedule.name())),
        }
    }

    /// Checks a deserialized optimizer's internal consistency (slot counts and shapes, finite
    /// values, a valid configuration), so that a hostile checkpoint is an error, not a panic.
    pub fn check_state(&self) -> Result<(), OptimError> {
        let fresh = Optimizer::new(self.config.clone())?;
        let _ = fresh;
        let name = self.config.algorithm.name();
        let bad = |message: String| OptimError::InvalidArgument {
            optimizer: name,
            message,
        };
        if !self.built {
            return if self.slots.is_empty() && self.shapes.is_empty() {
                Ok(())
            } else {
                Err(bad("state present in an unbuilt optimizer".into()))
            };
        }
        if self.slots.len() != self.shapes.len() {
            return Err(bad(format!(
                "{} slot groups for {} variables",
                self.slots.len(),
                self.shapes.len()
            )));
        }
        let per = self.config.algorithm.slots();
        for (slots, shape) in self.slots.iter().zip(&self.shapes) {
            if slots.len() != per {
                return Err(bad(format!(
                    "{} slots per variable, expected {per}",
                    slots.len()
                )));
            }
            if let Some(s) = slots
                .iter()
                .find(|s| s.shape() != shape.as_slice() || !s.is_finite())
            {
                return Err(bad(format!(
                    "a slot of shape {:?} (or non-finite) for a variable of shape {shape:?}",
                    s.shape()
                )));
            }
        }
        if !self.u_product.is_finite() {
            return Err(bad("non-finite Nadam momentum product".into()));
        }
        Ok(())
    }

    /// Whether the optimizer has built its state (after its first update).
    pub fn is_built(&self) -> bool {
        self.built
    }

    /// Number of scalars of optimizer state (Keras's "Optimizer params", which also counts the
    /// iteration counter and, for a constant rate, the learning rate).
    pub fn count_params(&self) -> usize {
        if !self.built {
            return 0;
        }
        let slots: usize = self.slots.iter().flatten().map(Tensor::len).sum();
        let nadam = usize::from(matches!(self.config.algorithm, Algorithm::Nadam { .. }));
        slots
            + 1
            + usize::from(matches!(
                self.config.learning_rate,
                LearningRate::Constant(_)
            ))
            + nadam
    }

    fn bind(&mut self, visit: &mut VisitVariables<'_>) -> Result<(), OptimError> {
        if !self.built {
            let n = self.config.algorithm.slots();
            let (mut ids, mut slots, mut shapes) = (Vec::new(), Vec::new(), Vec::new());
            visit(&mut |p: &mut Param| {
                ids.push(p.id());
                slots.push(
                    (0..n)
                        .map(|i| Tensor::full(p.shape(), self.config.algorithm.initial_slot(i)))
                        .collect(),
                );
                shapes.push(p.shape().to_vec());
            });
            self.slots = slots;
            self.shapes = shapes;
            self.built = true;
            self.bound = Some(ids);
            return Ok(());
        }
        // The usual case, checked without allocating: the same variables as last step.
        if let Some(bound) = &self.bound {
            let (mut index, mut same) = (0, true);
            visit(&mut |p: &mut Param| {
                same &= bound.get(index) == Some(&p.id());
                index += 1;
            });
            if same && index == bound.len() {
                return Ok(());
            }
        }
        let (mut ids, mut shapes) = (Vec::new(), Vec::new());
        visit(&mut |p: &mut Param| {
            ids.push(p.id());
            shapes.push(p.shape().to_vec());
        });
        let describe = |shapes: &[Vec<usize>]| {
            format!(
                "{} ({})",
                shapes.len(),
                shapes
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        if self.bound.is_some() || shapes != self.shapes {
            return Err(OptimError::VariablesChanged {
                expected: describe(&self.shapes),
                found: describe(&shapes),
            });
        }
        // Loaded from a checkpoint: bound to variables of the same count and shapes.
        self.bound = Some(ids);
        Ok(())
    }

    /// Applies one update to the trainable variables `vars` from their gradients, in Keras's
    /// order: clip the gradients, apply decoupled weight decay, update, then count the step.
    /// Variables without a gradient are left alone. Constraints are the caller's to apply
    /// afterwards (see [`Optimizer::apply_with_constraints`]).
    ///
    /// The first call builds the state for `vars`; later calls must pass the same variables
    /// (an error otherwise, as Keras raises after unfreezing without recompiling).
    pub fn apply(&mut self, vars: &mut [&mut Param], grads: &Gradients) -> Result<(), OptimError> {
        self.apply_with_constraints(vars, grads, |_| {})
    }

    /// [`Optimizer::apply`], then `constrain` on each updated variable (Keras applies a
    /// variable's constraint right after its update).
    pub fn apply_with_constraints(
        &mut self,
        vars: &mut [&mut Param],
        grads: &Gradients,
        constrain: impl FnMut(&mut Param),
    ) -> Result<(), OptimError> {
        self.apply_visiting(
            &mut |f: &mut dyn FnMut(&mut Param)| vars.iter_mut().for_each(|p| f(p)),
            grads,
            constrain,
        )
    }

    /// [`Optimizer::apply_with_constraints`] for variables reached through a visitor instead
    /// of a slice (see [`VisitVariables`]), so that a model can hand over the variables its
    /// layers own without collecting them: a step in steady state allocates nothing. The
    /// visitor is called a few times per step and must present the same variables in the
    /// same order each time.
    pub fn apply_visiting(
        &mut self,
        visit: &mut VisitVariables<'_>,
        grads: &Gradients,
        mut constrain: impl FnMut(&mut Param),
    ) -> Result<(), OptimError> {
        self.bind(visit)?;
        let lr = self.learning_rate();
        // SGD (plain, or with momentum but not Nesterov's) with nothing between the gradient
        // and the update (no clipping, no weight decay) takes a gradient that is still a
        // product of factors (a dense kernel's `Xᵀ·dY`) straight into the variable or its
        // momentum: `W += (−lr)·Xᵀ·dY`, or `m = μ·m − lr·Xᵀ·dY` then `W += m`. The gradient is
        // never formed, which saves writing it and a pass reading it back. Plain SGD rounds
        // `w + (−lr)·g` once (a fused multiply-add) where the formed path rounds `lr·g` first,
        // so the weight can differ in the last bit; the momentum update rounds as Keras's
        // `m·μ − g·lr` does.
        let direct = matches!(
            self.config.algorithm,
            Algorithm::Sgd { momentum, nesterov } if momentum == 0.0 || !nesterov
        ) && self.config.clipping.is_none()
            && self.config.weight_decay.is_none_or(|wd| wd <= 0.0);
        let decay = self.config.weight_decay.filter(|&wd| wd > 0.0);
        if let Algorithm::Nadam { beta_1, .. } = self.config.algorithm {
            let t = (self.iterations + 1) as f64;
            self.u_product *= beta_1 as f64 * (1.0 - 0.5 * 0.96f64.powf(t));
        }
        // Clipping needs every gradient before any update, so only then are they collected
        // (and clipped) in a first visit; otherwise one visit does everything.
        let clipping = self.config.clipping;
        let mut clipped = std::mem::take(&mut self.clipped);
        clipped.clear();
        if let Some(clipping) = clipping {
            visit(&mut |p: &mut Param| {
                if let Some(g) = grads.get(p) {
                    check_gradient_shape(p, g.shape());
                    clipped.push(g.clone());
                }
            });
            clipping.apply(&mut clipped);
        }
        // Every variable's decay and update depend on that variable alone, so they run
        // variable by variable.
        let (mut index, mut next_clipped) = (0, 0);
        visit(&mut |p: &mut Param| {
            let i = index;
            index += 1;
            if direct && let Some(product) = grads.product(p) {
                check_gradient_shape(p, &product.shape());
                match self.config.algorithm {
                    Algorithm::Sgd { momentum, .. } if momentum != 0.0 => {
                        let m = &mut self.slots[i][0];
                        product.scale_add_to(momentum, -lr, m);
                        add_assign(p.value.as_mut_slice(), m.as_slice());
                    }
                    _ => product.add_scaled_to(-lr, &mut p.value),
                }
                constrain(p);
                return;
            }
            let Some(mut g) = grads.get(p) else {
                return;
            };
            if clipping.is_some() {
                g = &clipped[next_clipped];
                next_clipped += 1;
            } else {
                check_gradient_shape(p, g.shape());
            }
            if let Some(wd) = decay {
                let k = wd * lr;
                p.value.as_mut_slice().iter_mut().for_each(|v| *v -= *v * k);
            }
            self.update(i, &mut p.value, g, lr);
            constrain(p);
        });
        clipped.clear();
        self.clipped = clipped;
        self.iterations += 1;
        Ok(())
    }

    /// One variable's update rule, fused into a single pass over its elements; a large
    /// variable is cut into one contiguous range per thread (every element's update is
    /// independent, so the result does not depend on the thread count).
    fn update(&mut self, index: usize, w: &mut Tensor, g: &Tensor, lr: f32) {
        let step = Step {
            algorithm: self.config.algorithm,
            t: (self.iterations + 1) as i32,
            lr,
            u_product: self.u_product as f32,
        };
        let rule = step.rule();
        let mut slots: [&mut [f32]; MAX_SLOTS] = Default::default();
        let count = self.slots[index].len();
        for (slot, s) in slots.iter_mut().zip(self.slots[index].iter_mut()) {
            *slot = s.as_mut_slice();
        }
        for_each_range(
            w.as_mut_slice(),
            g.as_slice(),
            slots,
            count,
            &|w, g, slots| update::apply(rule, w, g, slots),
        );
    }
}

/// Runs `f` on matching ranges of `w`, `g` and the first `count` of `slots`: the whole
/// variable at once when it is small or there is one thread, otherwise several ranges per
/// thread, claimed one at a time so that unequal cores balance out. Every element's update is
/// independent, so the result does not depend on the thread count. Allocates nothing.
fn for_each_range(
    w: &mut [f32],
    g: &[f32],
    mut slots: [&mut [f32]; MAX_SLOTS],
    count: usize,
    f: &RangeUpdate,
) {
    let threads = strata_tensor::parallel::threads();
    if threads == 1 || w.len() < PARALLEL_ELEMENTS {
        f(w, g, &mut slots[..count]);
        return;
    }
    let chunk = w.len().div_ceil(2 * threads).next_multiple_of(16);
    let parts = w.len().div_ceil(chunk);
    // Each part takes the next range of every array under one lock.
    let ranges = Mutex::new((
        w.chunks_mut(chunk),
        g.chunks(chunk),
        slots.map(|s| s.chunks_mut(chunk)),
    ));
    strata_tensor::parallel::run_parts(parts, &|_| {
        let (w, g, mut slots) = {
            let mut ranges = ranges.lock().unwrap_or_else(|e| e.into_inner());
            let (w, g) = (ranges.0.next(), ranges.1.next());
            let slots: [&mut [f32]; MAX_SLOTS] =
                std::array::from_fn(|i| ranges.2[i].next().unwrap_or_default());
            (w, g, slots)
        };
        if let (Some(w), Some(g)) = (w, g) {
            f(w, g, &mut slots[..count]);
        }
    });
}

/// `w += m`, on all threads for a large variable ([`for_each_range`]).
fn add_assign(w: &mut [f32], m: &[f32]) {
    for_each_range(w, m, Default::default(), 0, &|w, m, _| {
        w.iter_mut().zip(m).for_each(|(w, &m)| *w += m)
    });
}

/// What [`for_each_range`] runs on each range: elements, gradients, slot elements.
type RangeUpdate<'a> = dyn Fn(&mut [f32], &[f32], &mut [&mut [f32]]) + Sync + 'a;

/// Variables with at least this many elements are updated by all threads.
const PARALLEL_ELEMENTS: usize = 1 << 16;

/// What one update needs besides the elements.
#[derive(Clone, Copy)]
struct Step {
    algorithm: Algorithm,
    t: i32,
    lr: f32,
    u_product: f32,
}

impl Step {
    /// This step's per-element rule: the algorithm's constants and bias corrections for step
    /// `t`, for the vectorized kernels of [`strata_tensor::kernels::update`].
    fn rule(&self) -> Rule {
        let (t, lr) = (self.t, self.lr);
        match self.algorithm {
            Algorithm::Sgd { momentum, nesterov } => {
                if momentum == 0.0 {
                    Rule::Sgd { lr }
                } else {
                    Rule::Momentum {
                        lr,
                        momentum,
                        nesterov,
                    }
                }
            }
            Algorithm::Adagrad { epsilon, .. } => Rule::Adagrad { lr, epsilon },
            Algorithm::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => Rule::RmsProp {
                lr,
                rho,
                momentum,
                epsilon,
                centered,
            },
            Algorithm::Adam {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
            } => Rule::Adam {
                alpha: lr * (1.0 - beta_2.powi(t)).sqrt() / (1.0 - beta_1.powi(t)),
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
            },
            Algorithm::Adamax {
                beta_1,
                beta_2,
                epsilon,
            } => Rule::Adamax {
                lr,
                beta_1,
                beta_2,
                epsilon,
                beta_1_power: beta_1.powi(t),
            },
            Algorithm::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                let decay = 0.96f32;
                let u_t_1 = beta_1 * (1.0 - 0.5 * decay.powi(t + 1));
                Rule::Nadam {
                    lr,
                    beta_1,
                    beta_2,
                    epsilon,
                    u_t: beta_1 * (1.0 - 0.5 * decay.powi(t)),
                    u_t_1,
                    u_product_t: self.u_product,
                    u_product_t_1: self.u_product * u_t_1,
                    beta_2_power: beta_2.powi(t),
                }
            }
        }
    }
}
