//! The Sequential model: building, freezing, weights, cloning and `summary()`.

use crate::ModelError;
use crate::train::Compiled;
use rand::{SeedableRng, rngs::StdRng};
use strata_autograd::Param;
use strata_layers::{AnyLayer, Layer};
use strata_tensor::{Shape, Tensor};

/// A layer in a model, with its Keras-style name (`dense`, `dense_1`, …).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NamedLayer {
    /// The name shown in summaries.
    pub name: String,
    /// The layer.
    pub layer: AnyLayer,
}

/// A linear stack of layers (Keras's `Sequential`).
///
/// Layers are built when added, so a shape mismatch is reported by [`Sequential::add`], naming
/// the layer and both shapes. A model owns its layers: building a model from another's layers
/// ([`Sequential::from_layers_of`]) copies them, so training the new model never changes the
/// old one (Keras shares them silently; see `docs/guide.md`). To move layers instead, consume
/// the model with [`Sequential::into_layers`].
pub struct Sequential {
    pub(crate) name: String,
    pub(crate) input_shape: Vec<usize>,
    pub(crate) layers: Vec<NamedLayer>,
    pub(crate) shapes: Vec<Vec<usize>>,
    pub(crate) rng: StdRng,
    pub(crate) compiled: Option<Compiled>,
    pub(crate) stop_training: bool,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequential")
            .field("name", &self.name)
            .field("input_shape", &self.input_shape)
            .field("layers", &self.layers.len())
            .finish()
    }
}

/// Keras's `to_snake_case` of a class name (`BatchNormalization` → `batch_normalization`,
/// `LeakyReLU` → `leaky_re_lu`).
fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class.chars().collect();
    let mut step1 = String::new();
    // (.)([A-Z][a-z]+) → \1_\2
    for (i, &c) in chars.iter().enumerate() {
        if i > 0
            && c.is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
        {
            step1.push('_');
        }
        step1.push(c);
    }
    // ([a-z])([A-Z]) → \1_\2
    let chars: Vec<char> = step1.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.push(c);
    }
    out.to_lowercase()
}

/// `(None, 28, 28)`, as Keras prints shapes.
pub(crate) fn keras_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    if dims.is_empty() {
        "(None,)".into()
    } else {
        format!("(None, {})", dims.join(", "))
    }
}

impl Sequential {
    /// An empty model for samples of `input_shape` (Keras: `Sequential([Input(shape)])`),
    /// initializing weights from a random seed.
    pub fn new(input_shape: &[usize]) -> Sequential {
        Sequential::with_seed(input_shape, rand::random())
    }

    /// An empty model whose weight initialization is reproducible from `seed`.
    pub fn with_seed(input_shape: &[usize], seed: u64) -> Sequential {
        Sequential {
            name: "sequential".into(),
            input_shape: input_shape.to_vec(),
            layers: Vec::new(),
            shapes: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            compiled: None,
            stop_training: false,
        }
    }

    /// Sets the model's name (shown by `summary`).
    pub fn named(mut self, name: &str) -> Sequential {
        self.name = name.to_string();
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shape of one input sample.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The shape of one output sample.
    pub fn output_shape(&self) -> &[usize] {
        self.shapes
            .last()
            .map_or(&self.input_shape, |s| s.as_slice())
    }

    fn next_name(&self, class: &str) -> String {
        let base = snake_case(class);
        let taken = |n: &str| self.layers.iter().any(|l| l.name == n);
        if !taken(&base) {
            return base;
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !taken(n))
            .expect("an unused name exists")
    }

    /// Appends a layer, building it for the current output shape. On error the model is
    /// unchanged and the message names the layer and both shapes.
    pub fn add(&mut self, layer: impl Into<AnyLayer>) -> Result<&mut Sequential, ModelError> {
        let mut layer = layer.into();
        let name = self.next_name(layer.class_name());
        self.push_named(name, &mut layer)?;
        Ok(self)
    }

    fn push_named(&mut self, name: String, layer: &mut AnyLayer) -> Result<(), ModelError> {
        Shape::new(&self.input_shape)?;
        let input = self.output_shape().to_vec();
        let label = format!("{name} ({})", layer.class_name());
        let index = self.layers.len();
        let incompatible = |source: strata_layers::LayerError| ModelError::IncompatibleLayer {
            index,
            layer: label.clone(),
            input: keras_shape(&input),
            source: Box::new(source),
        };
        let out = match layer.build(&input, &mut self.rng) {
            Ok(out) => out,
            Err(e) => return Err(incompatible(e)),
        };
        if let Err(e) = layer.check_variables(&input) {
            return Err(incompatible(e));
        }
        self.layers.push(NamedLayer {
            name,
            layer: layer.clone(),
        });
        self.shapes.push(out);
        Ok(())
    }

    /// Adds an already-built layer under a given name (cloning and loading use this).
    pub fn add_named(
        &mut self,
        name: &str,
        layer: AnyLayer,
    ) -> Result<&mut Sequential, ModelError> {
        let mut layer = layer;
        if self.layers.iter().any(|l| l.name == name) {
            return Err(ModelError::InvalidArgument(format!(
                "a layer named {name:?} is already in the model"
            )));
        }
        self.push_named(name.to_string(), &mut layer)?;
        Ok(self)
    }

    /// Removes and returns the last layer.
    pub fn pop(&mut self) -> Option<NamedLayer> {
        self.shapes.pop();
        self.layers.pop()
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[NamedLayer] {
        &self.layers
    }

    /// The layer at `index`.
    pub fn layer(&self, index: usize) -> Option<&AnyLayer> {
        self.layers.get(index).map(|l| &l.layer)
    }

    /// The layer at `index`, mutably (e.g. to freeze it with `set_trainable(false)`).
    pub fn layer_mut(&mut self, index: usize) -> Option<&mut AnyLayer> {
        self.layers.get_mut(index).map(|l| &mut l.layer)
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the model has no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Freezes (`false`) or unfreezes (`true`) every layer in `range` (Keras:
    /// `for layer in model.layers[:-1]: layer.trainable = False`). Takes effect at the next
    /// `compile`, as in Keras.
    pub fn set_trainable(
        &mut self,
        range: impl std::ops::RangeBounds<usize>,
        trainable: bool,
    ) -> Result<&mut Sequential, ModelError> {
        let range = (range.start_bound().cloned(), range.end_bound().cloned());
        let len = self.layers.len();
        let layers = self.layers.get_mut(range).ok_or_else(|| {
            ModelError::InvalidArgument(format!(
                "layer range {range:?} is out of bounds for {len} layers"
            ))
        })?;
        for l in layers {
            l.layer.set_trainable(trainable);
        }
        Ok(self)
    }

    /// A new model of copies of `source`'s layers in `range` (weights included, fresh
    /// identities), for the same input shape: the seed's `Sequential(model_A.layers[:-1])`,
    /// without sharing. Continue with [`Sequential::add`].
    pub fn from_layers_of(
        source: &Sequential,
        range: impl std::ops::RangeBounds<usize>,
    ) -> Result<Sequential, ModelError> {
        let range = (range.start_bound().cloned(), range.end_bound().cloned());
        let chosen = source.layers.get(range).ok_or_else(|| {
            ModelError::InvalidArgument(format!(
                "layer range out of bounds for {} layers",
                source.len()
            ))
        })?;
        let first = source
            .layers
            .iter()
            .position(|l| chosen.first().is_some_and(|c| std::ptr::eq(c, l)))
            .unwrap_or(0);
        let input = if first == 0 {
            source.input_shape.clone()
        } else {
            source.shapes[first - 1].clone()
        };
        let mut model = Sequential {
            rng: source.rng.clone(),
            ..Sequential::with_seed(&input, 0)
        };
        model.name = format!("{}_copy", source.name);
        for l in chosen {
            model.add_named(&l.name, l.layer.clone())?;
        }
        Ok(model)
    }

    /// The layers, moved out of the model (to reuse them without copying).
    pub fn into_layers(self) -> Vec<NamedLayer> {
        self.layers
    }

    /// Every variable, in Keras's `model.weights` order (layer by layer).
    pub fn variables(&self) -> Vec<&Param> {
        self.layers
            .iter()
            .flat_map(|l| l.layer.variables())
            .collect()
    }

    /// The trainable variables.
    pub fn trainable_variables(&self) -> Vec<&Param> {
        self.variables()
            .into_iter()
            .filter(|p| p.trainable)
            .collect()
    }

    /// Copies of every variable's value, in Keras's `get_weights` order.
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.variables().iter().map(|p| p.value.clone()).collect()
    }

    /// Sets every variable from `weights` (Keras order). Checks the count and every shape
    /// first: on any mismatch the model is unchanged and the error names the variable.
    pub fn set_weights(&mut self, weights: &[Tensor]) -> Result<(), ModelError> {
        let expected: Vec<(String, Vec<usize>)> = self
            .layers
            .iter()
            .flat_map(|l| {
                l.layer
                    .variables()
                    .into_iter()
                    .map(|p| (format!("{}/{}", l.name, p.name()), p.shape().to_vec()))
            })
            .collect();
        if expected.len() != weights.len() {
            return Err(ModelError::Layer(
                strata_layers::LayerError::WeightsMismatch {
                    layer: self.name.clone(),
                    expected: format!("{} weight tensors", expected.len()),
                    found: format!("{} weight tensors", weights.len()),
                },
            ));
        }
        for ((name, shape), w) in expected.iter().zip(weights) {
            if shape.as_slice() != w.shape() {
                return Err(ModelError::Layer(
                    strata_layers::LayerError::WeightsMismatch {
                        layer: self.name.clone(),
                        expected: format!("{name} of shape {shape:?}"),
                        found: format!("shape {:?}", w.shape()),
                    },
                ));
            }
        }
        let mut it = weights.iter();
        for l in &mut self.layers {
            for p in l.layer.variables_mut() {
                p.value = it.next().expect("counted above").clone();
            }
        }
        Ok(())
    }

    /// Total, trainable and non-trainable parameter counts.
    pub fn count_params(&self) -> (usize, usize, usize) {
        let total: usize = self.layers.iter().map(|l| l.layer.count_params()).sum();
        let trainable: usize = self
            .layers
            .iter()
            .map(|l| l.layer.count_trainable_params())
            .sum();
        (total, trainable, total - trainable)
    }

    /// The names and trainable flags of layer `index`'s variables, as the seed prints them:
    /// `[("gamma", true), ("beta", true), ("moving_mean", false), ("moving_variance", false)]`.
    pub fn layer_variables(&self, index: usize) -> Vec<(String, bool)> {
        self.layer(index)
            .map(|l| {
                l.variables()
                    .iter()
                    .map(|p| (p.name().to_string(), p.trainable))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asks `fit` to stop after the current batch or epoch (Keras's `model.stop_training = True`).
    pub fn stop_training(&mut self) {
        self.stop_training = true;
    }

    /// Keras's `model.summary()` table, as text.
    pub fn summary(&self) -> String {
        const W: [usize; 3] = [33, 24, 15];
        let line = |l: char, m: char, r: char, fill: char| {
            let parts: Vec<String> = W.iter().map(|&w| fill.to_string().repeat(w)).collect();
            format!("{l}{}{r}\n", parts.join(&m.to_string()))
        };
        let row = |cells: [&str; 3], sep: char| {
            let a = format!(" {:<w$} ", cells[0], w = W[0] - 2);
            let b = format!(" {:<w$} ", cells[1], w = W[1] - 2);
            let c = format!(" {:>w$} ", cells[2], w = W[2] - 2);
            format!("{sep}{a}{sep}{b}{sep}{c}{sep}\n")
        };
        let mut out = format!("Model: \"{}\"\n", self.name);
        out += &line('┏', '┳', '┓', '━');
        out += &row(["Layer (type)", "Output Shape", "Param #"], '┃');
        out += &line('┡', '╇', '┩', '━');
        for (i, (l, shape)) in self.layers.iter().zip(&self.shapes).enumerate() {
            if i > 0 {
                out += &line('├', '┼', '┤', '─');
            }
            let label = format!("{} ({})", l.name, l.layer.class_name());
            let lines: Vec<String> = if label.chars().count() <= W[0] - 2 {
                vec![label]
            } else {
                vec![l.name.clone(), format!("({})", l.layer.class_name())]
            };
            for (j, text) in lines.iter().enumerate() {
                let (s, p) = if j == 0 {
                    (keras_shape(shape), thousands(l.layer.count_params()))
                } else {
                    (String::new(), String::new())
                };
                out += &row([text, &s, &p], '│');
            }
        }
        out += &line('└', '┴', '┘', '─');
        let (total, trainable, frozen) = self.count_params();
        let optimizer = self
            .compiled
            .as_ref()
            .map_or(0, |c| c.optimizer.count_params());
        out += &format!(
            " Total params: {} ({})\n",
            thousands(total + optimizer),
            memory(total + optimizer)
        );
        out += &format!(
            " Trainable params: {} ({})\n",
            thousands(trainable),
            memory(trainable)
        );
        out += &format!(
            " Non-trainable params: {} ({})\n",
            thousands(frozen),
            memory(frozen)
        );
        if optimizer > 0 {
            out += &format!(
                " Optimizer params: {} ({})\n",
                thousands(optimizer),
                memory(optimizer)
            );
        }
        out
    }
}

/// `267810` → `267,810`.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras's `readable_memory_size` of `count` float32 values (base 1024, two decimals).
fn memory(count: usize) -> String {
    let mut size = (count * 4) as f64;
    for unit in ["B", "KB", "MB", "GB", "TB"] {
        if size / 1024.0 < 1.0 {
            return format!("{size:.2} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.2} PB")
}

impl Clone for Sequential {
    /// An independent copy: same architecture, copied weights, fresh variable identities.
    /// A compiled model's copy is compiled with a fresh optimizer of the same configuration
    /// (Keras's `clone_model` + `set_weights`, and its recompiling of compiled sources).
    fn clone(&self) -> Sequential {
        Sequential {
            name: self.name.clone(),
            input_shape: self.input_shape.clone(),
            layers: self.layers.clone(),
            shapes: self.shapes.clone(),
            rng: self.rng.clone(),
            compiled: None,
            stop_training: false,
        }
        .recompiled_like(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_follows_keras() {
        assert_eq!(snake_case("Dense"), "dense");
        assert_eq!(snake_case("BatchNormalization"), "batch_normalization");
        assert_eq!(snake_case("LeakyReLU"), "leaky_re_lu");
        assert_eq!(snake_case("PReLU"), "p_re_lu");
        assert_eq!(snake_case("ELU"), "elu");
        assert_eq!(snake_case("AlphaDropout"), "alpha_dropout");
    }

    #[test]
    fn memory_sizes_follow_keras() {
        assert_eq!(memory(267_810), "1.02 MB");
        assert_eq!(memory(600), "2.34 KB");
        assert_eq!(memory(0), "0.00 B");
        assert_eq!(thousands(535_022), "535,022");
        assert_eq!(thousands(100), "100");
    }
}
