//! The tape: a Wengert list of recorded operations, walked backwards once.
//!
//! A training loop records the same graph every step, so a tape keeps what it allocates for
//! the next one: dropping a tape hands its node list, input lists, scratch and the boxes of
//! its derivative rules (emptied) to the next tape created on the same thread, and a rule
//! recorded at the same position with the same type reuses its box. Together with the tensor
//! pool of `strata-tensor`, a steady-state training step allocates nothing.

use crate::{Gradients, Param, ParamId, Product};
use std::any::Any;
use std::cell::RefCell;
use strata_tensor::{Shape, Tensor};

/// How many inputs' gradients [`InputGrads`] holds without a heap allocation.
pub const INLINE_INPUTS: usize = 4;

/// The gradients a [`Backward`] rule returns, one per input in input order (`None` for an
/// input that needs none). Up to [`INLINE_INPUTS`] are held inline, so returning them
/// allocates nothing; build one from an array, `[da, db].into()`, or from a `Vec`.
pub struct InputGrads(Repr);

// Inline on purpose: returning the gradients must not allocate.
#[allow(clippy::large_enum_variant)]
enum Repr {
    Inline([Option<Tensor>; INLINE_INPUTS], usize),
    Heap(Vec<Option<Tensor>>),
}

impl InputGrads {
    /// The gradients, in input order.
    pub fn as_slice(&self) -> &[Option<Tensor>] {
        match &self.0 {
            Repr::Inline(items, len) => &items[..*len],
            Repr::Heap(items) => items,
        }
    }

    /// The gradients, mutably, in input order.
    pub fn as_mut_slice(&mut self) -> &mut [Option<Tensor>] {
        match &mut self.0 {
            Repr::Inline(items, len) => &mut items[..*len],
            Repr::Heap(items) => items,
        }
    }
}

impl std::ops::Deref for InputGrads {
    type Target = [Option<Tensor>];
    fn deref(&self) -> &[Option<Tensor>] {
        self.as_slice()
    }
}

impl std::ops::DerefMut for InputGrads {
    fn deref_mut(&mut self) -> &mut [Option<Tensor>] {
        self.as_mut_slice()
    }
}

impl<const N: usize> From<[Option<Tensor>; N]> for InputGrads {
    fn from(grads: [Option<Tensor>; N]) -> InputGrads {
        if N > INLINE_INPUTS {
            return InputGrads(Repr::Heap(grads.into()));
        }
        let mut items: [Option<Tensor>; INLINE_INPUTS] = Default::default();
        for (slot, g) in items.iter_mut().zip(grads) {
            *slot = g;
        }
        InputGrads(Repr::Inline(items, N))
    }
}

impl From<Vec<Option<Tensor>>> for InputGrads {
    fn from(grads: Vec<Option<Tensor>>) -> InputGrads {
        InputGrads(Repr::Heap(grads))
    }
}

impl std::fmt::Debug for InputGrads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

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
    ) -> InputGrads;

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
    /// This node's inputs are `inputs[start..end]` of the tape's input list.
    inputs: (u32, u32),
    rule: Option<Box<dyn RuleSlot>>,
    leaf: Leaf,
    requires_grad: bool,
}

/// A recorded rule in a box that outlives it: `release` drops the rule (and the tensors it
/// holds) but keeps the box for the next rule of the same type at the same position.
trait RuleSlot {
    fn rule(&self) -> &dyn Backward;
    fn release(&mut self);
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<R: Backward + 'static> RuleSlot for Option<R> {
    fn rule(&self) -> &dyn Backward {
        self.as_ref().expect("a recorded rule is present")
    }

    fn release(&mut self) {
        *self = None;
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Everything a tape allocates, kept from one tape to the next on the same thread.
#[derive(Default)]
struct Storage {
    nodes: Vec<Node>,
    /// The inputs of every node, concatenated.
    inputs: Vec<usize>,
    /// Emptied rule boxes, by the position of the node that last held them.
    spare: Vec<Option<Box<dyn RuleSlot>>>,
    /// The backward pass's gradient of each node (empty between passes).
    pending: Vec<Option<Pending>>,
}

/// Tapes longer than this do not leave their storage behind (a bound on what a thread keeps).
const MAX_KEPT_NODES: usize = 1 << 16;

thread_local! {
    static KEPT: RefCell<Option<Storage>> = const { RefCell::new(None) };
}

impl Storage {
    /// The storage the last tape dropped on this thread left behind, or a new one.
    fn reuse() -> Storage {
        KEPT.try_with(|kept| kept.borrow_mut().take())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Drops every node's value and rule, keeping the allocations.
    fn clear(&mut self) {
        if self.spare.len() < self.nodes.len() {
            self.spare.resize_with(self.nodes.len(), || None);
        }
        for (i, node) in self.nodes.drain(..).enumerate() {
            if let Some(mut rule) = node.rule {
                rule.release();
                self.spare[i] = Some(rule);
            }
        }
        self.inputs.clear();
        self.pending.clear();
    }
}

/// Records operations for one forward pass so that [`Tape::backward`] can differentiate them.
///
/// Nodes are appended after their inputs, so the reverse sweep is a plain loop. An operation
/// none of whose inputs needs a gradient records no rule, so inference costs almost nothing
/// beyond the arithmetic. Use one tape per step; dropping it frees every value it held and
/// leaves its (emptied) storage to the next tape made on this thread.
pub struct Tape {
    storage: RefCell<Storage>,
    no_grad: bool,
}

impl Default for Tape {
    fn default() -> Tape {
        Tape::new()
    }
}

impl Drop for Tape {
    fn drop(&mut self) {
        let storage = self.storage.get_mut();
        if storage.nodes.len() > MAX_KEPT_NODES {
            return;
        }
        storage.clear();
        let storage = std::mem::take(storage);
        let _ = KEPT.try_with(|kept| {
            let mut kept = kept.borrow_mut();
            // Two tapes alive at once: keep the larger storage.
            if kept
                .as_ref()
                .is_none_or(|k| k.nodes.capacity() <= storage.nodes.capacity())
            {
                *kept = Some(storage);
            }
        });
    }
}

/// A value on a tape. Cheap to copy; it cannot outlive its tape.
#[derive(Clone, Copy)]
pub struct Var<'t> {
    tape: &'t Tape,
    id: usize,
}

impl Tape {
    /// An empty tape (reusing the storage of the last tape dropped on this thread).
    pub fn new() -> Tape {
        Tape {
            storage: RefCell::new(Storage::reuse()),
            no_grad: false,
        }
    }

    /// A tape for inference: parameters are recorded as constants, so no derivative rule is
    /// kept and nothing is differentiable (Keras's `predict`, PyTorch's `no_grad`).
    pub fn no_grad() -> Tape {
        Tape {
            storage: RefCell::new(Storage::reuse()),
            no_grad: true,
        }
    }

    /// How many nodes the tape holds.
    pub fn len(&self) -> usize {
        self.storage.borrow().nodes.len()
    }

    /// Whether the tape holds no nodes.
    pub fn is_empty(&self) -> bool {
        self.storage.borrow().nodes.is_empty()
    }

    /// Forgets every node, keeping the storage for the next step.
    pub fn clear(&mut self) {
        self.storage.get_mut().clear();
    }

    fn push_leaf(&self, value: Tensor, leaf: Leaf, requires_grad: bool) -> Var<'_> {
        let mut storage = self.storage.borrow_mut();
        let at = storage.inputs.len() as u32;
        storage.nodes.push(Node {
            value,
            inputs: (at, at),
            rule: None,
            leaf,
            requires_grad,
        });
        Var {
            tape: self,
            id: storage.nodes.len() - 1,
        }
    }

    /// A value that never gets a gradient (inputs, labels, masks).
    pub fn constant(&self, value: Tensor) -> Var<'_> {
        self.push_leaf(value, Leaf::Constant, false)
    }

    /// A value that gets a gradient, readable with [`Gradients::wrt`] (tests, saliency).
    pub fn variable(&self, value: Tensor) -> Var<'_> {
        self.push_leaf(value, Leaf::Variable, true)
    }

    /// A parameter: differentiable when trainable, a constant when frozen.
    pub fn param(&self, param: &Param) -> Var<'_> {
        if param.trainable && !self.no_grad {
            self.push_leaf(param.value.clone(), Leaf::Param(param.id()), true)
        } else {
            self.constant(param.value.clone())
        }
    }

    /// Records an operation's output with its derivative rule. The rule is kept only when some
    /// input needs a gradient.
    ///
    /// # Panics
    /// When an input belongs to another tape.
    pub fn record<'t, R: Backward + 'static>(
        &'t self,
        rule: R,
        inputs: &[Var<'t>],
        value: Tensor,
    ) -> Var<'t> {
        let mut storage = self.storage.borrow_mut();
        let storage = &mut *storage;
        let mut requires_grad = false;
        for input in inputs {
            assert!(
                std::ptr::eq(input.tape, self),
                "record: an input belongs to another tape"
            );
            requires_grad |= storage.nodes[input.id].requires_grad;
        }
        let id = storage.nodes.len();
        let start = storage.inputs.len() as u32;
        let rule: Option<Box<dyn RuleSlot>> = if requires_grad {
            storage.inputs.extend(inputs.iter().map(|v| v.id));
            // The box the rule at this position had last time, if it has this rule's type.
            let mut reused = storage.spare.get_mut(id).and_then(Option::take);
            match reused
                .as_mut()
                .and_then(|slot| slot.as_any_mut().downcast_mut::<Option<R>>())
            {
                Some(slot) => {
                    *slot = Some(rule);
                    reused
                }
                None => Some(Box::new(Some(rule))),
            }
        } else {
            None
        };
        storage.nodes.push(Node {
            value,
            inputs: (start, storage.inputs.len() as u32),
            rule,
            leaf: Leaf::Op,
            requires_grad,
        });
        Var { tape: self, id }
    }

    /// Differentiates the scalar `loss` with respect to every trainable parameter and variable
    /// it depends on.
    ///
    /// # Panics
    /// When `loss` does not hold exactly one element or belongs to another tape.
    pub fn backward(&self, loss: Var<'_>) -> Gradients {
        let mut out = Gradients::default();
        self.backward_into(loss, &mut out);
        out
    }

    /// [`Tape::backward`] into `out`, which is cleared first: a training loop that keeps one
    /// [`Gradients`] across steps reuses its storage.
    ///
    /// # Panics
    /// When `loss` does not hold exactly one element or belongs to another tape.
    pub fn backward_into(&self, loss: Var<'_>, out: &mut Gradients) {
        assert!(
            std::ptr::eq(loss.tape, self),
            "backward: the loss belongs to another tape"
        );
        out.clear();
        let mut storage = self.storage.borrow_mut();
        let Storage {
            nodes,
            inputs: input_ids,
            pending: grads,
            ..
        } = &mut *storage;
        let root = &nodes[loss.id];
        assert_eq!(
            root.value.len(),
            1,
            "backward: the loss must be a scalar, found shape {:?}",
            root.value.shape()
        );
        if !root.requires_grad {
            return;
        }
        grads.clear();
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
                    let Some(slot) = &node.rule else { continue };
                    let rule = slot.rule();
                    let grad = pending.form();
                    let ids = &input_ids[node.inputs.0 as usize..node.inputs.1 as usize];
                    let values = InputValues::new(nodes, ids);
                    let inputs = values.as_slice();
                    let mut needs = [false; INLINE_INPUTS];
                    let mut needs_heap = Vec::new();
                    let needs: &mut [bool] = if ids.len() <= INLINE_INPUTS {
                        &mut needs[..ids.len()]
                    } else {
                        needs_heap.resize(ids.len(), false);
                        &mut needs_heap
                    };
                    for (need, &i) in needs.iter_mut().zip(ids) {
                        *need = nodes[i].requires_grad;
                    }
                    // A parameter's first gradient may stay a product of factors (see
                    // `Product`); the rule then skips forming it.
                    for (slot, &input) in ids.iter().enumerate() {
                        if needs[slot]
                            && matches!(nodes[input].leaf, Leaf::Param(_))
                            && grads[input].is_none()
                            && let Some(p) = rule.product(&grad, inputs, slot)
                        {
                            grads[input] = Some(Pending::Product(p));
                            needs[slot] = false;
                        }
                    }
                    let mut input_grads = rule.backward(&grad, inputs, &node.value, needs);
                    for ((&input, g), &need) in
                        ids.iter().zip(input_grads.as_mut_slice()).zip(&*needs)
                    {
                        let (Some(g), true) = (g.take(), need) else {
                            continue;
                        };
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
    }
}

/// The values of a node's inputs as a slice of references, inline for up to
/// [`INLINE_INPUTS`] inputs.
enum InputValues<'a> {
    Inline([&'a Tensor; INLINE_INPUTS], usize),
    Heap(Vec<&'a Tensor>),
}

impl<'a> InputValues<'a> {
    fn new(nodes: &'a [Node], ids: &[usize]) -> InputValues<'a> {
        match ids.first() {
            Some(&first) if ids.len() <= INLINE_INPUTS => {
                let mut refs = [&nodes[first].value; INLINE_INPUTS];
                for (r, &i) in refs.iter_mut().zip(ids) {
                    *r = &nodes[i].value;
                }
                InputValues::Inline(refs, ids.len())
            }
            _ => InputValues::Heap(ids.iter().map(|&i| &nodes[i].value).collect()),
        }
    }

    fn as_slice(&self) -> &[&'a Tensor] {
        match self {
            InputValues::Inline(refs, len) => &refs[..*len],
            InputValues::Heap(refs) => refs,
        }
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
        self.tape.storage.borrow().nodes[self.id].value.clone()
    }

    /// The shape of the value.
    pub fn shape(&self) -> Shape {
        self.tape.storage.borrow().nodes[self.id].value.dims()
    }

    /// Whether a gradient flows back through this value.
    pub fn requires_grad(&self) -> bool {
        self.tape.storage.borrow().nodes[self.id].requires_grad
    }

    /// Records `rule` with this value as the only input.
    pub fn record_unary<R: Backward + 'static>(self, rule: R, value: Tensor) -> Var<'t> {
        self.tape.record(rule, &[self], value)
    }
}
