//! Batch normalization over the last axis.

use crate::layer::invalid;
use crate::{Initializer, IntoSpec, Layer, LayerError, Mode};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use strata_autograd::{Param, Var};
use strata_tensor::Tensor;

/// Keras's `BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True)`.
///
/// Variables, in Keras order: `gamma` (trainable, if `scale`), `beta` (trainable, if
/// `center`), `moving_mean` and `moving_variance` (never trainable).
///
/// In [`Mode::Train`] a trainable layer normalizes with the batch's mean and **biased**
/// variance and updates `moving = moving·momentum + batch·(1 − momentum)`. In [`Mode::Eval`]
/// and [`Mode::Sample`] it normalizes with the moving statistics. **A frozen layer
/// (`set_trainable(false)`) runs in inference mode even in [`Mode::Train`]** and its moving
/// statistics never change, as in Keras 3.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchNormalization {
    momentum: f32,
    epsilon: f32,
    center: bool,
    scale: bool,
    beta_initializer: Initializer,
    gamma_initializer: Initializer,
    moving_mean_initializer: Initializer,
    moving_variance_initializer: Initializer,
    trainable: bool,
    gamma: Option<Param>,
    beta: Option<Param>,
    moving_mean: Option<Param>,
    moving_variance: Option<Param>,
    #[serde(skip)]
    pending_error: Option<LayerError>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization::new()
    }
}

impl BatchNormalization {
    /// The variables' places, in Keras's order (gamma, beta, moving mean, moving variance).
    fn slots_mut(&mut self) -> [&mut Option<Param>; 4] {
        [
            &mut self.gamma,
            &mut self.beta,
            &mut self.moving_mean,
            &mut self.moving_variance,
        ]
    }

    /// A layer with Keras's defaults.
    pub fn new() -> BatchNormalization {
        BatchNormalization {
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            beta_initializer: Initializer::Zeros,
            gamma_initializer: Initializer::Ones,
            moving_mean_initializer: Initializer::Zeros,
            moving_variance_initializer: Initializer::Ones,
            trainable: true,
            gamma: None,
            beta: None,
            moving_mean: None,
            moving_variance: None,
            pending_error: None,
        }
    }

    /// The moving-average momentum (Keras keeps `momentum` of the old value).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// The variance epsilon.
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Whether to learn the offset `beta`.
    pub fn center(mut self, center: bool) -> Self {
        self.center = center;
        self
    }

    /// Whether to learn the scale `gamma`.
    pub fn scale(mut self, scale: bool) -> Self {
        self.scale = scale;
        self
    }

    fn set_init(
        mut self,
        init: impl IntoSpec<Initializer>,
        field: fn(&mut Self) -> &mut Initializer,
    ) -> Self {
        match init.into_spec() {
            Ok(i) => *field(&mut self) = i,
            Err(e) => {
                self.pending_error.get_or_insert(e);
            }
        }
        self
    }

    /// The initializer of `beta`.
    pub fn beta_initializer(self, init: impl IntoSpec<Initializer>) -> Self {
        self.set_init(init, |s| &mut s.beta_initializer)
    }

    /// The initializer of `gamma`.
    pub fn gamma_initializer(self, init: impl IntoSpec<Initializer>) -> Self {
        self.set_init(init, |s| &mut s.gamma_initializer)
    }

    /// The initializer of `moving_mean`.
    pub fn moving_mean_initializer(self, init: impl IntoSpec<Initializer>) -> Self {
        self.set_init(init, |s| &mut s.moving_mean_initializer)
    }

    /// The initializer of `moving_variance`.
    pub fn moving_variance_initializer(self, init: impl IntoSpec<Initializer>) -> Self {
        self.set_init(init, |s| &mut s.moving_variance_initializer)
    }

    /// The moving mean, once built.
    pub fn moving_mean(&self) -> Option<&Tensor> {
        self.moving_mean.as_ref().map(|p| &p.value)
    }

    /// The moving variance, once built.
    pub fn moving_variance(&self) -> Option<&Tensor> {
        self.moving_variance.as_ref().map(|p| &p.value)
    }

    fn channels(&self) -> usize {
        self.moving_mean.as_ref().map_or(0, |p| p.value.len())
    }
}

impl Layer for BatchNormalization {
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
        if let Some(e) = &self.pending_error {
            return Err(e.clone());
        }
        let valid =
            (0.0..=1.0).contains(&self.momentum) && self.epsilon > 0.0 && self.epsilon.is_finite();
        if !valid {
            return Err(invalid(
                "BatchNormalization",
                format!(
                    "momentum must be in [0, 1] and epsilon finite and > 0, found {} and {}",
                    self.momentum, self.epsilon
                ),
            ));
        }
        for (field, init) in [
            ("beta_initializer", &self.beta_initializer),
            ("gamma_initializer", &self.gamma_initializer),
            ("moving_mean_initializer", &self.moving_mean_initializer),
            (
                "moving_variance_initializer",
                &self.moving_variance_initializer,
            ),
        ] {
            init.validate()
                .map_err(|m| invalid("BatchNormalization", format!("{field}: {m}")))?;
        }
        match input_shape.last() {
            Some(&c) if c > 0 => {}
            _ => {
                return Err(invalid(
                    "BatchNormalization",
                    format!("needs inputs with a feature axis, found (None, {input_shape:?})"),
                ));
            }
        }
        let built = self.channels();
        if built > 0 && built != input_shape[input_shape.len() - 1] {
            return Err(invalid(
                "BatchNormalization",
                format!(
                    "built for {built} features, found {}",
                    input_shape[input_shape.len() - 1]
                ),
            ));
        }
        Ok(input_shape.to_vec())
    }

    fn build(&mut self, input_shape: &[usize], rng: &mut StdRng) -> Result<Vec<usize>, LayerError> {
        let out = self.output_shape(input_shape)?;
        if self.moving_mean.is_none() {
            let c = [input_shape[input_shape.len() - 1]];
            if self.scale {
                let mut gamma = Param::new("gamma", self.gamma_initializer.sample(&c, rng));
                gamma.trainable = self.trainable;
                self.gamma = Some(gamma);
            }
            if self.center {
                let mut beta = Param::new("beta", self.beta_initializer.sample(&c, rng));
                beta.trainable = self.trainable;
                self.beta = Some(beta);
            }
            self.moving_mean = Some(Param::non_trainable(
                "moving_mean",
                self.moving_mean_initializer.sample(&c, rng),
            ));
            self.moving_variance = Some(Param::non_trainable(
                "moving_variance",
                self.moving_variance_initializer.sample(&c, rng),
            ));
        }
        Ok(out)
    }

    fn forward<'t>(&mut self, x: Var<'t>, mode: Mode) -> Var<'t> {
        let c = self.channels();
        assert!(c > 0, "BatchNormalization: forward before build");
        let shape = x.shape();
        assert_eq!(
            shape.last(),
            Some(&c),
            "BatchNormalization: built for {c} features, called on {shape:?}"
        );
        let tape = x.tape();
        let gamma = match &self.gamma {
            Some(p) => tape.param(p),
            None => tape.constant(Tensor::ones(&[c])),
        };
        let beta = match &self.beta {
            Some(p) => tape.param(p),
            None => tape.constant(Tensor::zeros(&[c])),
        };
        let (mean, variance) = match (&mut self.moving_mean, &mut self.moving_variance) {
            (Some(m), Some(v)) => (m, v),
            _ => unreachable!("built above"),
        };
        if mode == Mode::Train && self.trainable {
            let (y, moments) = x.batch_norm(gamma, beta, self.epsilon);
            let keep = self.momentum;
            mean.value = mean
                .value
                .zip_map(&moments.mean, |m, b| m * keep + b * (1.0 - keep));
            variance.value = variance
                .value
                .zip_map(&moments.variance, |v, b| v * keep + b * (1.0 - keep));
            y
        } else {
            x.batch_norm_inference(gamma, beta, &mean.value, &variance.value, self.epsilon)
        }
    }

    fn check_variables(&self, input_shape: &[usize]) -> Result<(), LayerError> {
        let c = [input_shape.last().copied().unwrap_or(0)];
        let present = [
            (self.gamma.is_some(), self.scale),
            (self.beta.is_some(), self.center),
        ];
        if present.iter().any(|(has, wants)| has != wants)
            || self.moving_mean.is_none()
            || self.moving_variance.is_none()
        {
            return Err(invalid(
                "BatchNormalization",
                "variables do not match center/scale (or it is not built)",
            ));
        }
        for p in self.variables() {
            if p.shape() != c || !p.value.is_finite() {
                return Err(invalid(
                    "BatchNormalization",
                    format!(
                        "{} has shape {:?} (expected {c:?}) or non-finite values",
                        p.name(),
                        p.shape()
                    ),
                ));
            }
        }
        if self
            .moving_variance
            .as_ref()
            .is_some_and(|v| v.value.as_slice().iter().any(|&x| x < 0.0))
        {
            return Err(invalid(
                "BatchNormalization",
                "moving_variance has negative values",
            ));
        }
        Ok(())
    }

    fn variables(&self) -> Vec<&Param> {
        [
            &self.gamma,
            &self.beta,
            &self.moving_mean,
            &self.moving_variance,
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn variables_mut(&mut self) -> Vec<&mut Param> {
        self.slots_mut().into_iter().flatten().collect()
    }

    fn for_each_variable_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        self.slots_mut().into_iter().flatten().for_each(f)
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
        for p in [&mut self.gamma, &mut self.beta].into_iter().flatten() {
            p.trainable = trainable;
        }
    }
}
