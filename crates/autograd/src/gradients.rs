//! The result of a backward pass.

use crate::{Param, ParamId, Var};
use std::collections::HashMap;
use std::sync::OnceLock;
use strata_tensor::{Tensor, Transpose};

/// A gradient left as the matrix product of two tensors, `op(a) · op(b)`: what a weight's
/// gradient is when the weight is the right operand of a product, `dW = Xᵀ · dY`.
///
/// [`Tape::backward`](crate::Tape::backward) leaves such gradients unformed so that a consumer
/// able to use the factors directly skips the product's buffer and a pass over it: plain SGD
/// adds `−lr · Xᵀ · dY` straight into `W` ([`Tensor::scale_add_product`]). Anyone else gets
/// the formed product from [`Gradients::get`], computed on first use.
#[derive(Clone, Debug)]
pub struct Product {
    /// Left factor, as stored.
    pub a: Tensor,
    /// Whether the left factor is used transposed.
    pub trans_a: Transpose,
    /// Right factor, as stored.
    pub b: Tensor,
    /// Whether the right factor is used transposed.
    pub trans_b: Transpose,
}

impl Product {
    /// The formed product `op(a) · op(b)`.
    pub fn compute(&self) -> Tensor {
        match (self.trans_a, self.trans_b) {
            (Transpose::No, Transpose::No) => self.a.matmul(&self.b),
            (Transpose::Yes, Transpose::No) => self.a.matmul_tn(&self.b),
            (Transpose::No, Transpose::Yes) => self.a.matmul_nt(&self.b),
            (Transpose::Yes, Transpose::Yes) => self.a.transpose().matmul_nt(&self.b),
        }
    }

    /// `target += scale · op(a) · op(b)`, without forming the product.
    ///
    /// # Panics
    /// When the product's shape is not `target`'s.
    #[track_caller]
    pub fn add_scaled_to(&self, scale: f32, target: &mut Tensor) {
        self.scale_add_to(1.0, scale, target);
    }

    /// `target = keep · target + scale · op(a) · op(b)`, without forming the product.
    ///
    /// # Panics
    /// When the product's shape is not `target`'s.
    #[track_caller]
    pub fn scale_add_to(&self, keep: f32, scale: f32, target: &mut Tensor) {
        target.scale_add_product(keep, scale, &self.a, self.trans_a, &self.b, self.trans_b);
    }

    /// The shape of the product, `[rows, columns]`.
    pub fn shape(&self) -> [usize; 2] {
        let dims = |t: &Tensor, trans: Transpose| {
            let s = t.shape();
            let (r, c) = (
                s.first().copied().unwrap_or(1),
                s.get(1).copied().unwrap_or(1),
            );
            if trans == Transpose::No {
                (r, c)
            } else {
                (c, r)
            }
        };
        [dims(&self.a, self.trans_a).0, dims(&self.b, self.trans_b).1]
    }
}

/// One parameter's gradient: formed, or still a product (formed on first use).
#[derive(Clone, Debug)]
struct Entry {
    formed: OnceLock<Tensor>,
    product: Option<Product>,
}

impl Entry {
    fn formed(grad: Tensor) -> Entry {
        Entry {
            formed: OnceLock::from(grad),
            product: None,
        }
    }

    fn get(&self) -> &Tensor {
        self.formed.get_or_init(|| {
            self.product
                .as_ref()
                .expect("an unformed gradient holds its product")
                .compute()
        })
    }

    fn get_mut(&mut self) -> &mut Tensor {
        self.get();
        self.product = None;
        self.formed.get_mut().expect("formed just above")
    }
}

/// Gradients of a scalar loss with respect to the trainable parameters and variables recorded
/// on a tape. Constants and frozen parameters have none.
///
/// A parameter's gradient may be kept as a [`Product`] until it is first read; every accessor
/// that returns a tensor forms it (once), so callers see no difference but in what they can
/// skip with [`Gradients::product`].
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    params: HashMap<ParamId, Entry>,
    vars: HashMap<usize, Tensor>,
}

impl Gradients {
    /// Forgets every gradient, keeping the storage (see [`crate::Tape::backward_into`]).
    pub fn clear(&mut self) {
        self.params.clear();
        self.vars.clear();
    }

    pub(crate) fn add_param(&mut self, id: ParamId, grad: Tensor) {
        match self.params.get_mut(&id) {
            Some(existing) => existing.get_mut().axpy(1.0, &grad),
            None => {
                self.params.insert(id, Entry::formed(grad));
            }
        }
    }

    pub(crate) fn add_param_product(&mut self, id: ParamId, product: Product) {
        match self.params.get_mut(&id) {
            Some(existing) => product.add_scaled_to(1.0, existing.get_mut()),
            None => {
                self.params.insert(
                    id,
                    Entry {
                        formed: OnceLock::new(),
                        product: Some(product),
                    },
                );
            }
        }
    }

    pub(crate) fn insert_var(&mut self, node: usize, grad: Tensor) {
        self.vars.insert(node, grad);
    }

    /// The gradient with respect to a parameter, if it was trainable and on the loss's path.
    pub fn get(&self, param: &Param) -> Option<&Tensor> {
        self.get_by_id(param.id())
    }

    /// The gradient with respect to a parameter id.
    pub fn get_by_id(&self, id: ParamId) -> Option<&Tensor> {
        self.params.get(&id).map(Entry::get)
    }

    /// The factors of a parameter's gradient when it is a single matrix product that nobody
    /// has formed yet (see [`Product`]); `None` otherwise, including when the parameter has no
    /// gradient. Using them instead of [`Gradients::get`] saves forming the product.
    pub fn product(&self, param: &Param) -> Option<&Product> {
        let entry = self.params.get(&param.id())?;
        if entry.formed.get().is_some() {
            return None;
        }
        entry.product.as_ref()
    }

    /// Mutable access to a parameter's gradient (for clipping).
    pub fn get_mut(&mut self, id: ParamId) -> Option<&mut Tensor> {
        self.params.get_mut(&id).map(Entry::get_mut)
    }

    /// The gradient with respect to a variable created by [`crate::Tape::variable`].
    pub fn wrt(&self, var: Var<'_>) -> Option<&Tensor> {
        self.vars.get(&var.id())
    }

    /// Every parameter gradient (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Tensor)> {
        self.params.iter().map(|(&id, g)| (id, g.get()))
    }

    /// Every parameter gradient, mutably (in no particular order).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ParamId, &mut Tensor)> {
        self.params.iter_mut().map(|(&id, g)| (id, g.get_mut()))
    }

    /// How many parameters have a gradient.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}
