//! The tape: a Wengert list of recorded operations, walked backwards once.

use crate::{Gradients, Param, ParamId, Product};
use std::cell::RefCell;
use strata_tensor::Tensor;

/// The derivative rule of one recorded operation.
pub trait Backward {
    /// Gradients with respect to each input, in input order, given the gradient with respect to
    /// the output. `needs[i]` says whether input `i` wants a gradient; rules skip the work (and
    /// return `None`) for inputs that do not, such as a layer's input images.
    fn backward(
        &self,
        grad: &Tensor,
        inputs: &[&Tensor],
        output: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>>;

    /// The gradient with respect to input `index` as an unformed matrix product, for rules
    /// where it is one (a product's weight gradient, `Xᵀ·dY`). The tape asks only for inputs
    /// that are trainable parameters and then leaves that input out of `needs` when it calls
    /// [`Backward::backward`]; the default, `None`, leaves everything to `backward`.
    fn product(&self, _grad: &Tensor, _inputs: &[&Tensor], _index: usize) -> Option<Product> {
        None
    }
}

/// A gradient flowing back to a node: a tensor, or a parameter's gradient still in factors.
enum Pending {
    Formed(Tensor),
    Product(Product),
}

impl Pending {
    fn form(self) -> Tensor {
        match self {
            Pending::Formed(t) => t,
            Pending::Product(p) => p.compute(),
        }
    }

    /// Adds `g`, forming a product first.
    fn add(&mut self, g: Tensor) {
        match self {
            Pending::Formed(existing) => existing.axpy(1.0, &g),
            Pending::Product(p) => {
                let mut sum = g;
                p.add_scaled_to(1.0, &mut sum);
                *self = Pending::Formed(sum);
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf {
    Constant,
    Variable,
    Param(ParamId),
    Op,
}

struct Node {
    value: Tensor,
    inputs: Vec<usize>,
    rule: Option<Box<dyn Backward>>,
    leaf: Leaf,
    requires_grad: bool,
}

/// Records operations for one forward pass so that [`Tape::backward`] can differentiate them.
///
/// Nodes are appended after their inputs, so the reverse sweep is a plain loop. An operation
/// none of whose inputs needs a gradient records no rule, so inference costs almost nothing
/// beyond the arithmetic. Use one tape per step; dropping it frees everything it held.
#[derive(Default)]
pub struct Tape {
    nodes: RefCell<Vec<Node>>,
    no_grad: bool,
}

/// A value on a tape. Cheap to copy; it cannot outlive its tape.
#[derive(Clone, Copy)]
pub struct Var<'t> {
    tape: &'t Tape,
    id: usize,
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Tape {
        Tape::default()
    }

    /// A tape for inference: parameters are recorded as constants, so no derivative rule is
    /// kept and nothing is differentiable (Keras's `predict`, PyTorch's `no_grad`).
    pub fn no_grad() -> Tape {
        Tape {
            nodes: RefCell::default(),
            no_grad: true,
        }
    }

    /// How many nodes the tape holds.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether the tape holds no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.borrow().is_empty()
    }

    /// Forgets every node, keeping the node list's storage for the next step.
    pub fn clear(&mut self) {
        self.nodes.get_mut().clear();
    }

    fn push(
        &self,
        value: Tensor,
        inputs: Vec<usize>,
        rule: Option<Box<dyn Backward>>,
        leaf: Leaf,
        requires_grad: bool,
    ) -> Var<'_> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node {
            value,
            inputs,
            rule,
            leaf,
            requires_grad,
        });
        Var {
            tape: self,
            id: nodes.len() - 1,
        }
    }

    /// A value that never gets a gradient (inputs, labels, masks).
    pub fn constant(&self, value: Tensor) -> Var<'_> {
        self.push(value, Vec::new(), None, Leaf::Constant, false)
    }

    /// A value that gets a gradient, readable with [`Gradients::wrt`] (tests, saliency).
    pub fn variable(&self, value: Tensor) -> Var<'_> {
        self.push(value, Vec::new(), None, Leaf::Variable, true)
    }

    /// A parameter: differentiable when trainable, a constant when frozen.
    pub fn param(&self, param: &Param) -> Var<'_> {
        if param.trainable && !self.no_grad {
            self.push(
                param.value.clone(),
                Vec::new(),
                None,
                Leaf::Param(param.id()),
                true,
            )
        } else {
            self.constant(param.value.clone())
        }
    }

    /// Records an operation's output with its derivative rule. The rule is kept only when some
    /// input needs a gradient.
    ///
    /// # Panics
    /// When an input belongs to another tape.
    pub fn record<'t>(
        &'t self,
        rule: impl Backward + 'static,
        inputs: &[Var<'t>],
        value: Tensor,
    ) -> Var<'t> {
        let mut requires_grad = false;
        {
            let nodes = self.nodes.borrow();
            for input in inputs {
                assert!(
                    std::ptr::eq(input.tape, self),
                    "record: an input belongs to another tape"
                );
                requires_grad |= nodes[input.id].requires_grad;
            }
        }
        if requires_grad {
            let ids = inputs.iter().map(|v| v.id).collect();
            self.push(value, ids, Some(Box::new(rule)), Leaf::Op, true)
        } else {
            self.push(value, Vec::new(), None, Leaf::Op, false)
        }
    }

    /// Differentiates the scalar `loss` with respect to every trainable parameter and variable
    /// it depends on.
    ///
    /// # Panics
    /// When `loss` does not hold exactly one element or belongs to another tape.
    pub fn backward(&self, loss: Var<'_>) -> Gradients {
        assert!(
            std::ptr::eq(loss.tape, self),
            "backward: the loss belongs to another tape"
        );
        let nodes = self.nodes.borrow();
        let root = &nodes[loss.id];
        assert_eq!(
            root.value.len(),
            1,
            "backward: the loss must be a scalar, found shape {:?}",
            root.value.shape()
        );
        let mut out = Gradients::default();
        if !root.requires_grad {
            return out;
        }
        let mut grads: Vec<Option<Pending>> = Vec::new();
        grads.resize_with(loss.id + 1, || None);
        grads[loss.id] = Some(Pending::Formed(Tensor::ones(root.value.shape())));
        for id in (0..=loss.id).rev() {
            let Some(pending) = grads[id].take() else {
                continue;
            };
            let node = &nodes[id];
            match node.leaf {
                Leaf::Param(pid) => match pending {
                    Pending::Formed(g) => out.add_param(pid, g),
                    Pending::Product(p) => out.add_param_product(pid, p),
                },
                Leaf::Variable => out.insert_var(id, pending.form()),
                Leaf::Constant => {}
                Leaf::Op => {
                    let Some(rule) = &node.rule else { continue };
                    let grad = pending.form();
                    let inputs: Vec<&Tensor> =
                        node.inputs.iter().map(|&i| &nodes[i].value).collect();
                    let mut needs: Vec<bool> = node
                        .inputs
                        .iter()
                        .map(|&i| nodes[i].requires_grad)
                        .collect();
                    // A parameter's first gradient may stay a product of factors (see
                    // `Product`); the rule then skips forming it.
                    for (slot, &input) in node.inputs.iter().enumerate() {
                        if needs[slot]
                            && matches!(nodes[input].leaf, Leaf::Param(_))
                            && grads[input].is_none()
                            && let Some(p) = rule.product(&grad, &inputs, slot)
                        {
                            grads[input] = Some(Pending::Product(p));
                            needs[slot] = false;
                        }
                    }
                    let input_grads = rule.backward(&grad, &inputs, &node.value, &needs);
                    for ((&input, g), &need) in node.inputs.iter().zip(input_grads).zip(&needs) {
                        let (Some(g), true) = (g, need) else { continue };
                        debug_assert_eq!(
                            g.shape(),
                            nodes[input].value.shape(),
                            "gradient shape of input {input}"
                        );
                        match &mut grads[input] {
                            Some(existing) => existing.add(g),
                            slot => *slot = Some(Pending::Formed(g)),
                        }
                    }
                }
            }
        }
        out
    }
}

impl<'t> Var<'t> {
    /// The tape this value lives on.
    pub fn tape(&self) -> &'t Tape {
        self.tape
    }

    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// The value (a cheap, shared copy).
    pub fn value(&self) -> Tensor {
        self.tape.nodes.borrow()[self.id].value.clone()
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.tape.nodes.borrow()[self.id].value.shape().to_vec()
    }

    /// Whether a gradient flows back through this value.
    pub fn requires_grad(&self) -> bool {
        self.tape.nodes.borrow()[self.id].requires_grad
    }

    /// Records `rule` with this value as the only input.
    pub fn record_unary(self, rule: impl Backward + 'static, value: Tensor) -> Var<'t> {
        self.tape.record(rule, &[self], value)
    }
}
