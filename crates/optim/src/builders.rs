//! Keras-named constructors with Keras's defaults: `Sgd`, `Adagrad`, `RmsProp`, `Adam`,
//! `AdamW`, `Adamax`, `Nadam`.

use crate::{Algorithm, Clipping, LearningRate, OptimizerConfig};

macro_rules! common_options {
    ($t:ident) => {
        impl $t {
            /// Decoupled weight decay (`w ← w − w·wd·lr` before each update).
            pub fn weight_decay(mut self, weight_decay: f32) -> Self {
                self.0.weight_decay = Some(weight_decay);
                self
            }

            fn clip(mut self, clipping: Clipping) -> Self {
                if self.0.clipping.is_some() {
                    self.0.clipping_conflict = true;
                }
                self.0.clipping = Some(clipping);
                self
            }

            /// Clips each gradient element to `±value` (Keras `clipvalue`).
            pub fn clipvalue(self, value: f32) -> Self {
                self.clip(Clipping::Value(value))
            }

            /// Clips each gradient tensor to norm `norm` (Keras `clipnorm`).
            pub fn clipnorm(self, norm: f32) -> Self {
                self.clip(Clipping::Norm(norm))
            }

            /// Clips all gradients together to global norm `norm` (Keras `global_clipnorm`).
            pub fn global_clipnorm(self, norm: f32) -> Self {
                self.clip(Clipping::GlobalNorm(norm))
            }

            /// The configuration.
            pub fn config(&self) -> &OptimizerConfig {
                &self.0
            }
        }

        impl From<$t> for OptimizerConfig {
            fn from(b: $t) -> OptimizerConfig {
                b.0
            }
        }
    };
}

fn config(algorithm: Algorithm, learning_rate: impl Into<LearningRate>) -> OptimizerConfig {
    OptimizerConfig {
        algorithm,
        learning_rate: learning_rate.into(),
        weight_decay: None,
        clipping: None,
        clipping_conflict: false,
    }
}

/// Keras's `SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
#[derive(Clone, Debug)]
pub struct Sgd(OptimizerConfig);
common_options!(Sgd);

impl Default for Sgd {
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

impl Sgd {
    /// Plain SGD with a rate or schedule.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Sgd {
        Sgd(config(
            Algorithm::Sgd {
                momentum: 0.0,
                nesterov: false,
            },
            learning_rate,
        ))
    }

    /// Momentum: `v ← m·v − lr·g; w ← w + v`.
    pub fn momentum(mut self, momentum: f32) -> Sgd {
        if let Algorithm::Sgd { momentum: m, .. } = &mut self.0.algorithm {
            *m = momentum;
        }
        self
    }

    /// Nesterov momentum: `w ← w + m·v − lr·g`.
    pub fn nesterov(mut self, nesterov: bool) -> Sgd {
        if let Algorithm::Sgd { nesterov: n, .. } = &mut self.0.algorithm {
            *n = nesterov;
        }
        self
    }
}

/// Keras's `Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)`.
#[derive(Clone, Debug)]
pub struct Adagrad(OptimizerConfig);
common_options!(Adagrad);

impl Default for Adagrad {
    fn default() -> Self {
        Adagrad::new(0.001)
    }
}

impl Adagrad {
    /// AdaGrad with Keras's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adagrad {
        Adagrad(config(
            Algorithm::Adagrad {
                initial_accumulator_value: 0.1,
                epsilon: 1e-7,
            },
            learning_rate,
        ))
    }

    /// Starting value of the accumulator.
    pub fn initial_accumulator_value(mut self, value: f32) -> Adagrad {
        if let Algorithm::Adagrad {
            initial_accumulator_value,
            ..
        } = &mut self.0.algorithm
        {
            *initial_accumulator_value = value;
        }
        self
    }
}

/// Keras's `RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)`.
#[derive(Clone, Debug)]
pub struct RmsProp(OptimizerConfig);
common_options!(RmsProp);

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp::new(0.001)
    }
}

impl RmsProp {
    /// RMSprop with Keras's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> RmsProp {
        RmsProp(config(
            Algorithm::RmsProp {
                rho: 0.9,
                momentum: 0.0,
                epsilon: 1e-7,
                centered: false,
            },
            learning_rate,
        ))
    }

    /// Decay of the squared-gradient average.
    pub fn rho(mut self, value: f32) -> RmsProp {
        if let Algorithm::RmsProp { rho, .. } = &mut self.0.algorithm {
            *rho = value;
        }
        self
    }

    /// Momentum.
    pub fn momentum(mut self, value: f32) -> RmsProp {
        if let Algorithm::RmsProp { momentum, .. } = &mut self.0.algorithm {
            *momentum = value;
        }
        self
    }

    /// Centered variant.
    pub fn centered(mut self, value: bool) -> RmsProp {
        if let Algorithm::RmsProp { centered, .. } = &mut self.0.algorithm {
            *centered = value;
        }
        self
    }
}

/// Keras's `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)`.
#[derive(Clone, Debug)]
pub struct Adam(OptimizerConfig);
common_options!(Adam);

impl Default for Adam {
    fn default() -> Self {
        Adam::new(0.001)
    }
}

fn set_betas(algorithm: &mut Algorithm, b1: Option<f32>, b2: Option<f32>) {
    if let Algorithm::Adam { beta_1, beta_2, .. }
    | Algorithm::Adamax { beta_1, beta_2, .. }
    | Algorithm::Nadam { beta_1, beta_2, .. } = algorithm
    {
        if let Some(b) = b1 {
            *beta_1 = b;
        }
        if let Some(b) = b2 {
            *beta_2 = b;
        }
    }
}

macro_rules! beta_options {
    ($t:ident) => {
        impl $t {
            /// First-moment decay.
            pub fn beta_1(mut self, beta: f32) -> Self {
                set_betas(&mut self.0.algorithm, Some(beta), None);
                self
            }

            /// Second-moment decay.
            pub fn beta_2(mut self, beta: f32) -> Self {
                set_betas(&mut self.0.algorithm, None, Some(beta));
                self
            }
        }
    };
}
beta_options!(Adam);
beta_options!(AdamW);
beta_options!(Adamax);
beta_options!(Nadam);

impl Adam {
    /// Adam with Keras's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adam {
        Adam(config(
            Algorithm::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            learning_rate,
        ))
    }

    /// The AMSGrad variant.
    pub fn amsgrad(mut self, value: bool) -> Adam {
        if let Algorithm::Adam { amsgrad, .. } = &mut self.0.algorithm {
            *amsgrad = value;
        }
        self
    }
}

/// Keras's `AdamW(learning_rate=0.001, weight_decay=0.004, …)`: Adam with decoupled decay.
#[derive(Clone, Debug)]
pub struct AdamW(OptimizerConfig);
common_options!(AdamW);

impl Default for AdamW {
    fn default() -> Self {
        AdamW::new(0.001)
    }
}

impl AdamW {
    /// AdamW with Keras's defaults (weight decay 0.004).
    pub fn new(learning_rate: impl Into<LearningRate>) -> AdamW {
        let mut c = config(
            Algorithm::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            learning_rate,
        );
        c.weight_decay = Some(0.004);
        AdamW(c)
    }
}

/// Keras's `Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
#[derive(Clone, Debug)]
pub struct Adamax(OptimizerConfig);
common_options!(Adamax);

impl Default for Adamax {
    fn default() -> Self {
        Adamax::new(0.001)
    }
}

impl Adamax {
    /// Adamax with Keras's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adamax {
        Adamax(config(
            Algorithm::Adamax {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
            learning_rate,
        ))
    }
}

/// Keras's `Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
#[derive(Clone, Debug)]
pub struct Nadam(OptimizerConfig);
common_options!(Nadam);

impl Default for Nadam {
    fn default() -> Self {
        Nadam::new(0.001)
    }
}

impl Nadam {
    /// Nadam with Keras's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Nadam {
        Nadam(config(
            Algorithm::Nadam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
            learning_rate,
        ))
    }
}
