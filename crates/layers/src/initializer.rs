//! Weight initializers, as Keras names and defines them.

use crate::{IntoSpec, LayerError};
use rand::{Rng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use strata_tensor::Tensor;

/// Which fan `VarianceScaling` divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FanMode {
    /// Number of inputs.
    FanIn,
    /// Number of outputs.
    FanOut,
    /// Their mean.
    FanAvg,
}

/// Which distribution `VarianceScaling` draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Distribution {
    /// Normal truncated at ±2σ, rescaled so the result has the target variance.
    TruncatedNormal,
    /// Plain normal.
    UntruncatedNormal,
    /// Uniform on `±√(3·scale/n)`.
    Uniform,
}

/// A weight initializer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Initializer {
    /// All zeros (Keras's bias default).
    Zeros,
    /// All ones.
    Ones,
    /// Every element equal to the value.
    Constant(f32),
    /// Normal with `mean` and `stddev` (Keras default 0 and 0.05).
    RandomNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        stddev: f32,
    },
    /// Uniform on `[minval, maxval)` (Keras default ±0.05).
    RandomUniform {
        /// Lower bound.
        minval: f32,
        /// Upper bound.
        maxval: f32,
    },
    /// Normal truncated at two standard deviations (values beyond are redrawn).
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation before truncation.
        stddev: f32,
    },
    /// Keras's `VarianceScaling(scale, mode, distribution)`.
    VarianceScaling {
        /// Variance scale, > 0.
        scale: f32,
        /// Fan to divide by.
        mode: FanMode,
        /// Distribution to draw from.
        distribution: Distribution,
    },
}

#[allow(non_upper_case_globals)]
impl Initializer {
    /// `glorot_uniform`, the Dense kernel default: `VarianceScaling(1, fan_avg, uniform)`.
    pub const GlorotUniform: Initializer = Initializer::VarianceScaling {
        scale: 1.0,
        mode: FanMode::FanAvg,
        distribution: Distribution::Uniform,
    };
    /// `glorot_normal`: `VarianceScaling(1, fan_avg, truncated_normal)`.
    pub const GlorotNormal: Initializer = Initializer::VarianceScaling {
        scale: 1.0,
        mode: FanMode::FanAvg,
        distribution: Distribution::TruncatedNormal,
    };
    /// `he_normal`: `VarianceScaling(2, fan_in, truncated_normal)`.
    pub const HeNormal: Initializer = Initializer::VarianceScaling {
        scale: 2.0,
        mode: FanMode::FanIn,
        distribution: Distribution::TruncatedNormal,
    };
    /// `he_uniform`: `VarianceScaling(2, fan_in, uniform)`.
    pub const HeUniform: Initializer = Initializer::VarianceScaling {
        scale: 2.0,
        mode: FanMode::FanIn,
        distribution: Distribution::Uniform,
    };
    /// `lecun_normal`: `VarianceScaling(1, fan_in, truncated_normal)` (pairs with SELU).
    pub const LecunNormal: Initializer = Initializer::VarianceScaling {
        scale: 1.0,
        mode: FanMode::FanIn,
        distribution: Distribution::TruncatedNormal,
    };
    /// `lecun_uniform`: `VarianceScaling(1, fan_in, uniform)`.
    pub const LecunUniform: Initializer = Initializer::VarianceScaling {
        scale: 1.0,
        mode: FanMode::FanIn,
        distribution: Distribution::Uniform,
    };

    /// Checks the parameters: finite numbers, a standard deviation ≥ 0, `minval ≤ maxval`, a
    /// variance scale > 0 (as Keras's `VarianceScaling` requires). A layer checks its
    /// initializers when it is added to a model or loaded from a file.
    pub fn validate(&self) -> Result<(), String> {
        let ok = match *self {
            Initializer::Zeros | Initializer::Ones => true,
            Initializer::Constant(v) => v.is_finite(),
            Initializer::RandomNormal { mean, stddev }
            | Initializer::TruncatedNormal { mean, stddev } => {
                mean.is_finite() && stddev.is_finite() && stddev >= 0.0
            }
            Initializer::RandomUniform { minval, maxval } => {
                minval.is_finite() && maxval.is_finite() && minval <= maxval
            }
            Initializer::VarianceScaling { scale, .. } => scale.is_finite() && scale > 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("invalid parameters {self:?}"))
        }
    }

    /// Keras's `VarianceScaling(scale, mode, distribution)` from its string arguments
    /// (`"fan_in"`, `"fan_out"`, `"fan_avg"`; `"truncated_normal"` (alias `"normal"`),
    /// `"untruncated_normal"`, `"uniform"`).
    pub fn variance_scaling(
        scale: f32,
        mode: &str,
        distribution: &str,
    ) -> Result<Initializer, LayerError> {
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(LayerError::InvalidArgument {
                layer: "VarianceScaling".into(),
                message: format!("scale must be > 0, found {scale}"),
            });
        }
        let mode = match mode {
            "fan_in" => FanMode::FanIn,
            "fan_out" => FanMode::FanOut,
            "fan_avg" => FanMode::FanAvg,
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "VarianceScaling mode",
                    name: mode.into(),
                    valid: vec!["fan_in", "fan_out", "fan_avg"],
                });
            }
        };
        let distribution = match distribution {
            "truncated_normal" | "normal" => Distribution::TruncatedNormal,
            "untruncated_normal" => Distribution::UntruncatedNormal,
            "uniform" => Distribution::Uniform,
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "VarianceScaling distribution",
                    name: distribution.into(),
                    valid: vec![
                        "truncated_normal",
                        "normal",
                        "untruncated_normal",
                        "uniform",
                    ],
                });
            }
        };
        Ok(Initializer::VarianceScaling {
            scale,
            mode,
            distribution,
        })
    }

    /// Keras's `compute_fans`: `(fan_in, fan_out)` of a weight shape.
    pub fn fans(shape: &[usize]) -> (f64, f64) {
        match shape.len() {
            0 => (1.0, 1.0),
            1 => (shape[0] as f64, shape[0] as f64),
            n => {
                let receptive: usize = shape[..n - 2].iter().product();
                (
                    (shape[n - 2] * receptive) as f64,
                    (shape[n - 1] * receptive) as f64,
                )
            }
        }
    }

    /// The standard deviation (normal) or limit (uniform) `VarianceScaling` uses for `shape`.
    pub fn variance_scaling_parameter(
        scale: f32,
        mode: FanMode,
        distribution: Distribution,
        shape: &[usize],
    ) -> f64 {
        let (fan_in, fan_out) = Initializer::fans(shape);
        let n = match mode {
            FanMode::FanIn => fan_in.max(1.0),
            FanMode::FanOut => fan_out.max(1.0),
            FanMode::FanAvg => ((fan_in + fan_out) / 2.0).max(1.0),
        };
        let s = scale as f64 / n;
        match distribution {
            // 0.8796… is the stddev of a standard normal truncated to [−2, 2].
            Distribution::TruncatedNormal => s.sqrt() / 0.879_625_661_034_239_8,
            Distribution::UntruncatedNormal => s.sqrt(),
            Distribution::Uniform => (3.0 * s).sqrt(),
        }
    }

    /// Draws a tensor of `shape`.
    pub fn sample(&self, shape: &[usize], rng: &mut StdRng) -> Tensor {
        match *self {
            Initializer::Zeros => Tensor::zeros(shape),
            Initializer::Ones => Tensor::ones(shape),
            Initializer::Constant(v) => Tensor::full(shape, v),
            Initializer::RandomNormal { mean, stddev } => {
                Tensor::from_fn(shape, |_| mean + stddev * normal(rng))
            }
            Initializer::RandomUniform { minval, maxval } => {
                Tensor::from_fn(shape, |_| rng.random_range(minval..maxval))
            }
            Initializer::TruncatedNormal { mean, stddev } => {
                Tensor::from_fn(shape, |_| mean + stddev * truncated_normal(rng))
            }
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                let p = Initializer::variance_scaling_parameter(scale, mode, distribution, shape)
                    as f32;
                match distribution {
                    Distribution::TruncatedNormal => {
                        Tensor::from_fn(shape, |_| p * truncated_normal(rng))
                    }
                    Distribution::UntruncatedNormal => Tensor::from_fn(shape, |_| p * normal(rng)),
                    Distribution::Uniform => Tensor::from_fn(shape, |_| rng.random_range(-p..p)),
                }
            }
        }
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f32 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// A standard normal draw, redrawn until it lies within ±2.
fn truncated_normal(rng: &mut StdRng) -> f32 {
    loop {
        let v = normal(rng);
        if v.abs() <= 2.0 {
            return v;
        }
    }
}

const NAMES: [&str; 13] = [
    "zeros",
    "ones",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "constant",
];

impl FromStr for Initializer {
    type Err = LayerError;
    /// Parses a Keras initializer name with its default arguments.
    fn from_str(name: &str) -> Result<Initializer, LayerError> {
        Ok(match name {
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            "constant" => Initializer::Constant(0.0),
            "random_normal" => Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "random_uniform" => Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            "truncated_normal" => Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "variance_scaling" => Initializer::LecunNormal,
            "glorot_uniform" => Initializer::GlorotUniform,
            "glorot_normal" => Initializer::GlorotNormal,
            "he_normal" => Initializer::HeNormal,
            "he_uniform" => Initializer::HeUniform,
            "lecun_normal" => Initializer::LecunNormal,
            "lecun_uniform" => Initializer::LecunUniform,
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "initializer",
                    name: name.to_string(),
                    valid: NAMES.to_vec(),
                });
            }
        })
    }
}

impl IntoSpec<Initializer> for Initializer {
    fn into_spec(self) -> Result<Initializer, LayerError> {
        Ok(self)
    }
}

impl IntoSpec<Initializer> for &str {
    fn into_spec(self) -> Result<Initializer, LayerError> {
        self.parse()
    }
}

impl IntoSpec<Initializer> for Result<Initializer, LayerError> {
    fn into_spec(self) -> Result<Initializer, LayerError> {
        self
    }
}
