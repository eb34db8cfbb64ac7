//! The densely connected layer.

use crate::layer::{expect_input, invalid};
use crate::{Activation, Constraint, Initializer, IntoSpec, Layer, LayerError, Mode, Regularizer};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use strata_autograd::{Param, Tape, Var};
use strata_tensor::ShapeError;

/// Densely connected layer: `activation(x · kernel + bias)`, with `kernel` of shape
/// `[input_dim, units]` (Keras's layout) and `bias` of shape `[units]`.
///
/// ```
/// use strata_layers::{Dense, Initializer};
/// // Keras: Dense(50, activation="relu", kernel_initializer="he_normal")
/// let dense = Dense::new(50).activation("relu").kernel_initializer("he_normal");
/// // Keras: VarianceScaling(scale=2, mode="fan_avg", distribution="uniform")
/// let init = Initializer::variance_scaling(2.0, "fan_avg", "uniform");
/// let dense = Dense::new(50).kernel_initializer(init);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dense {
    units: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel_regularizer: Option<Regularizer>,
    bias_regularizer: Option<Regularizer>,
    kernel_constraint: Option<Constraint>,
    bias_constraint: Option<Constraint>,
    trainable: bool,
    kernel: Option<Param>,
    bias: Option<Param>,
    /// A configuration error (e.g. an unknown activation name), reported at build.
    #[serde(skip)]
    pending_error: Option<LayerError>,
}

impl Dense {
    /// A layer of `units` outputs with Keras's defaults: no activation, a bias,
    /// `glorot_uniform` kernel, zero bias, no regularizers or constraints.
    pub fn new(units: usize) -> Dense {
        Dense {
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            kernel_constraint: None,
            bias_constraint: None,
            trainable: true,
            kernel: None,
            bias: None,
            pending_error: None,
        }
    }

    fn record<T>(&mut self, spec: Result<T, LayerError>, set: impl FnOnce(&mut Dense, T)) {
        match spec {
            Ok(v) => set(self, v),
            Err(e) => {
                self.pending_error.get_or_insert(e);
            }
        }
    }

    /// The activation, typed or by Keras name (an unknown name is reported when the layer is
    /// built or added to a model).
    pub fn activation(mut self, activation: impl IntoSpec<Activation>) -> Dense {
        self.record(activation.into_spec(), |d, a| d.activation = a);
        self
    }

    /// Whether to add a bias (Keras `use_bias`).
    pub fn use_bias(mut self, use_bias: bool) -> Dense {
        self.use_bias = use_bias;
        self
    }

    /// The kernel initializer, typed or by Keras name.
    pub fn kernel_initializer(mut self, init: impl IntoSpec<Initializer>) -> Dense {
        self.record(init.into_spec(), |d, i| d.kernel_initializer = i);
        self
    }

    /// The bias initializer, typed or by Keras name.
    pub fn bias_initializer(mut self, init: impl IntoSpec<Initializer>) -> Dense {
        self.record(init.into_spec(), |d, i| d.bias_initializer = i);
        self
    }

    /// A penalty on the kernel, typed or by Keras name.
    pub fn kernel_regularizer(mut self, regularizer: impl IntoSpec<Regularizer>) -> Dense {
        self.record(regularizer.into_spec(), |d, r| {
            d.kernel_regularizer = Some(r)
        });
        self
    }

    /// A penalty on the bias, typed or by Keras name.
    pub fn bias_regularizer(mut self, regularizer: impl IntoSpec<Regularizer>) -> Dense {
        self.record(regularizer.into_spec(), |d, r| d.bias_regularizer = Some(r));
        self
    }

    /// A constraint on the kernel, typed or by Keras name.
    pub fn kernel_constraint(mut self, constraint: impl IntoSpec<Constraint>) -> Dense {
        self.record(constraint.into_spec(), |d, c| d.kernel_constraint = Some(c));
        self
    }

    /// A constraint on the bias, typed or by Keras name.
    pub fn bias_constraint(mut self, constraint: impl IntoSpec<Constraint>) -> Dense {
        self.record(constraint.into_spec(), |d, c| d.bias_constraint = Some(c));
        self
    }

    /// The number of outputs.
    pub fn units(&self) -> usize {
        self.units
    }

    /// The configured activation.
    pub fn activation_fn(&self) -> Activation {
        self.activation
    }

    /// The kernel, once built.
    pub fn kernel(&self) -> Option<&Param> {
        self.kernel.as_ref()
    }

    /// The bias, once built (and if `use_bias`).
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }

    fn input_dim(&self) -> Option<usize> {
        self.kernel.as_ref().map(|k| k.shape()[0])
    }
}

impl Layer for Dense {
    fn class_name(&self) -> &'static str {
        "Dense"
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
        if let Some(e) = &self.pending_error {
            return Err(e.clone());
        }
        if self.units == 0 {
            return Err(invalid("Dense", "units must be at least 1"));
        }
        // The configuration is checked here, so that a layer from a file is held to the same
        // rules as one made by the builders.
        let check = |field: &str, r: Result<(), String>| {
            r.map_err(|m| invalid("Dense", format!("{field}: {m}")))
        };
        check("activation", self.activation.validate())?;
        check("kernel_initializer", self.kernel_initializer.validate())?;
        check("bias_initializer", self.bias_initializer.validate())?;
        for (field, r) in [
            ("kernel_regularizer", &self.kernel_regularizer),
            ("bias_regularizer", &self.bias_regularizer),
        ] {
            if let Some(r) = r {
                check(field, r.validate())?;
            }
        }
        for (field, c, rank) in [
            ("kernel_constraint", &self.kernel_constraint, 2),
            ("bias_constraint", &self.bias_constraint, 1),
        ] {
            if let Some(c) = c {
                check(field, c.validate(rank))?;
            }
        }
        if input_shape.len() != 1 {
            return Err(ShapeError::new(
                "Dense",
                "inputs of shape (None, features)",
                format!(
                    "(None, {}) — add a Flatten layer before it",
                    input_shape
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into());
        }
        if let Some(dim) = self.input_dim()
            && dim != input_shape[0]
        {
            return Err(ShapeError::new(
                "Dense",
                format!("inputs with {dim} features (it is built)"),
                format!("{} features", input_shape[0]),
            )
            .into());
        }
        Ok(vec![self.units])
    }

    fn build(&mut self, input_shape: &[usize], rng: &mut StdRng) -> Result<Vec<usize>, LayerError> {
        let out = self.output_shape(input_shape)?;
        if self.kernel.is_none() {
            let mut kernel = Param::new(
                "kernel",
                self.kernel_initializer
                    .sample(&[input_shape[0], self.units], rng),
            );
            kernel.trainable = self.trainable;
            self.kernel = Some(kernel);
            if self.use_bias {
                let mut bias = Param::new("bias", self.bias_initializer.sample(&[self.units], rng));
                bias.trainable = self.trainable;
                self.bias = Some(bias);
            }
        }
        Ok(out)
    }

    fn forward<'t>(&mut self, x: Var<'t>, _mode: Mode) -> Var<'t> {
        let kernel = self.kernel.as_ref().expect("Dense: forward before build");
        expect_input("Dense", &kernel.shape()[..1], &x);
        let tape = x.tape();
        let bias = self.bias.as_ref().map(|b| tape.param(b));
        match self.activation {
            // Softmax is not element-wise: fuse the product and the bias only.
            Activation::Softmax => x.dense(tape.param(kernel), bias, None).softmax(),
            _ => x.dense(tape.param(kernel), bias, self.activation.unary()),
        }
    }

    fn check_variables(&self, input_shape: &[usize]) -> Result<(), LayerError> {
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| invalid("Dense", "has no kernel (not built)"))?;
        let want = [input_shape.first().copied().unwrap_or(0), self.units];
        if kernel.shape() != want || input_shape.len() != 1 {
            return Err(invalid(
                "Dense",
                format!("kernel has shape {:?}, expected {want:?}", kernel.shape()),
            ));
        }
        match (&self.bias, self.use_bias) {
            (Some(b), true) if b.shape() == [self.units] => {}
            (None, false) => {}
            (b, _) => {
                return Err(invalid(
                    "Dense",
                    format!(
                        "bias {:?} does not match use_bias={} and {} units",
                        b.as_ref().map(|b| b.shape().to_vec()),
                        self.use_bias,
                        self.units
                    ),
                ));
            }
        }
        if self.variables().iter().any(|p| !p.value.is_finite()) {
            return Err(invalid("Dense", "weights hold NaN or infinite values"));
        }
        Ok(())
    }

    fn variables(&self) -> Vec<&Param> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }

    fn variables_mut(&mut self) -> Vec<&mut Param> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    fn for_each_variable_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        self.kernel
            .iter_mut()
            .chain(self.bias.iter_mut())
            .for_each(f)
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        let terms = [
            (&self.kernel, self.kernel_regularizer),
            (&self.bias, self.bias_regularizer),
        ];
        terms
            .into_iter()
            .filter_map(|(p, r)| match (p, r) {
                (Some(p), Some(r)) if p.trainable => Some(r.penalty(tape.param(p))),
                _ => None,
            })
            .reduce(|a, b| a + b)
    }

    fn apply_constraints(&mut self) {
        if let (Some(k), Some(c)) = (&mut self.kernel, self.kernel_constraint) {
            c.apply(&mut k.value);
        }
        if let (Some(b), Some(c)) = (&mut self.bias, self.bias_constraint) {
            c.apply(&mut b.value);
        }
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
        for p in self.variables_mut() {
            p.trainable = trainable;
        }
    }
}
