//! The closed set of layers a model stores, clones and saves.

use crate::*;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use strata_autograd::{Param, Tape, Var};

macro_rules! any_layer {
    ($($variant:ident),* $(,)?) => {
        /// Any layer of this crate. The trait is the contract; the enum is the storage: it gives
        /// `Clone` and serde (save/load) with no registry, and adding a variant makes the
        /// compiler list every place that must handle it.
        #[derive(Clone, Debug, Serialize, Deserialize)]
        pub enum AnyLayer {
            $(
                #[doc = concat!("A [`", stringify!($variant), "`].")]
                $variant($variant),
            )*
        }

        $(
            impl From<$variant> for AnyLayer {
                fn from(layer: $variant) -> AnyLayer {
                    AnyLayer::$variant(layer)
                }
            }
        )*

        impl AnyLayer {
            fn inner(&self) -> &dyn Layer {
                match self { $(AnyLayer::$variant(l) => l,)* }
            }

            fn inner_mut(&mut self) -> &mut dyn Layer {
                match self { $(AnyLayer::$variant(l) => l,)* }
            }
        }
    };
}

any_layer!(
    Dense,
    BatchNormalization,
    Dropout,
    AlphaDropout,
    Activation,
    Flatten,
    ReLU,
    LeakyReLU,
    ELU,
    PReLU
);

impl Layer for AnyLayer {
    fn class_name(&self) -> &'static str {
        self.inner().class_name()
    }

    fn build(&mut self, input_shape: &[usize], rng: &mut StdRng) -> Result<Vec<usize>, LayerError> {
        self.inner_mut().build(input_shape, rng)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, LayerError> {
        self.inner().output_shape(input_shape)
    }

    fn forward<'t>(&mut self, x: Var<'t>, mode: Mode) -> Var<'t> {
        self.inner_mut().forward(x, mode)
    }

    fn check_variables(&self, input_shape: &[usize]) -> Result<(), LayerError> {
        self.inner().check_variables(input_shape)
    }

    fn variables(&self) -> Vec<&Param> {
        self.inner().variables()
    }

    fn variables_mut(&mut self) -> Vec<&mut Param> {
        self.inner_mut().variables_mut()
    }

    fn for_each_variable_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        self.inner_mut().for_each_variable_mut(f)
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        self.inner().regularization(tape)
    }

    fn apply_constraints(&mut self) {
        self.inner_mut().apply_constraints()
    }

    fn trainable(&self) -> bool {
        self.inner().trainable()
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.inner_mut().set_trainable(trainable)
    }
}
