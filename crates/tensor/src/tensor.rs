//! The dense `f32` tensor.

use crate::kernels::{self, activation::Unary, elementwise::Binary, gemm::Transpose};
use crate::{Shape, ShapeError};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use std::fmt;
use std::sync::Arc;

/// A dense, row-major, contiguous, dynamically shaped array of `f32`.
///
/// Cloning is cheap: the data is shared and copied only when a shared tensor is written
/// ([`Tensor::as_mut_slice`] is copy-on-write). Element-wise operators (`+ - * /`) between
/// tensors require equal shapes; broadcasting is always a named method such as
/// [`Tensor::add_row`].
#[derive(Clone)]
pub struct Tensor {
    shape: Shape,
    data: Arc<Vec<f32>>,
}

/// An unshared buffer goes back to this thread's pool (see `pool.rs`).
impl Drop for Tensor {
    fn drop(&mut self) {
        if Arc::get_mut(&mut self.data).is_some() {
            let data = std::mem::replace(&mut self.data, empty());
            crate::pool::give(data);
        }
    }
}

/// The shared empty buffer a dropped tensor holds while its own goes back to the pool.
fn empty() -> Arc<Vec<f32>> {
    static EMPTY: std::sync::OnceLock<Arc<Vec<f32>>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::new(Vec::new())))
}

#[track_caller]
fn shape_of(dims: &[usize]) -> Shape {
    match Shape::new(dims) {
        Ok(shape) => shape,
        Err(e) => panic!("{e}"),
    }
}

impl Tensor {
    pub(crate) fn from_parts(shape: Shape, data: Arc<Vec<f32>>) -> Tensor {
        debug_assert_eq!(shape.numel(), data.len());
        Tensor { shape, data }
    }

    /// A tensor of `shape` whose elements `fill` writes, in a buffer from this thread's pool
    /// (`fill` sees unspecified values and must write every element).
    fn pooled(shape: Shape, fill: impl FnOnce(&mut [f32])) -> Tensor {
        let mut data = crate::pool::take(shape.numel());
        fill(Arc::get_mut(&mut data).expect("pooled buffers are unshared"));
        Tensor { shape, data }
    }

    /// A tensor of zeros.
    ///
    /// # Panics
    /// When `shape` has more than [`crate::MAX_DIMS`] dimensions or its size overflows.
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// A tensor of ones.
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// A tensor with every element equal to `value`.
    #[track_caller]
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::pooled(shape_of(shape), |out| out.fill(value))
    }

    /// A rank-0 tensor holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::pooled(Shape::default(), |out| out.fill(value))
    }

    /// A tensor from row-major data; the length must equal the shape's element count.
    pub fn from_vec(shape: &[usize], data: Vec<f32>) -> Result<Tensor, ShapeError> {
        let shape = Shape::new(shape)?;
        if shape.numel() != data.len() {
            return Err(ShapeError::new(
                "Tensor::from_vec",
                format!("{} elements for shape {:?}", shape.numel(), &*shape),
                format!("{} elements", data.len()),
            ));
        }
        Ok(Tensor {
            shape,
            data: Arc::new(data),
        })
    }

    /// A 1-D tensor of `count` evenly spaced values from `start` to `end` inclusive.
    pub fn linspace(start: f32, end: f32, count: usize) -> Tensor {
        let step = if count > 1 {
            (end - start) / (count - 1) as f32
        } else {
            0.0
        };
        let data = (0..count).map(|i| start + step * i as f32).collect();
        Tensor {
            shape: shape_of(&[count]),
            data: Arc::new(data),
        }
    }

    /// A tensor whose element at flat index `i` is `f(i)`.
    #[track_caller]
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> f32) -> Tensor {
        let mut f = f;
        Tensor::pooled(shape_of(shape), |out| {
            for (i, o) in out.iter_mut().enumerate() {
                *o = f(i);
            }
        })
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The dimensions as a [`Shape`] (a copy, no allocation).
    pub fn dims(&self) -> Shape {
        self.shape
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Mutable access to the elements; copies the data first if it is shared with a clone.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        Arc::make_mut(&mut self.data).as_mut_slice()
    }

    /// The elements as a vector (free when the data is not shared).
    pub fn into_vec(mut self) -> Vec<f32> {
        match Arc::get_mut(&mut self.data) {
            Some(data) => std::mem::take(data),
            None => (*self.data).clone(),
        }
    }

    /// The single value of a one-element tensor.
    ///
    /// # Panics
    /// When the tensor does not have exactly one element.
    #[track_caller]
    pub fn item(&self) -> f32 {
        assert_eq!(
            self.len(),
            1,
            "item: tensor of shape {:?} is not a single value",
            self.shape()
        );
        self.data[0]
    }

    /// Whether every element is finite (no NaN or infinity).
    pub fn is_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }

    /// The same data under another shape with the same element count (no copy).
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor, ShapeError> {
        let new = Shape::new(shape)?;
        if new.numel() != self.len() {
            return Err(ShapeError::new(
                "reshape",
                format!(
                    "a shape with {} elements (from {:?})",
                    self.len(),
                    self.shape()
                ),
                format!("{shape:?} with {} elements", new.numel()),
            ));
        }
        Ok(Tensor {
            shape: new,
            data: Arc::clone(&self.data),
        })
    }

    /// Converts from any ndarray array; free when the array is in standard layout.
    pub fn from_array<D: ndarray::Dimension>(
        array: ndarray::Array<f32, D>,
    ) -> Result<Tensor, ShapeError> {
        let shape = array.shape().to_vec();
        let array = if array.is_standard_layout() {
            array
        } else {
            array.as_standard_layout().into_owned()
        };
        let (data, offset) = array.into_raw_vec_and_offset();
        let data = match offset {
            Some(0) | None => data,
            Some(start) => data[start..].to_vec(),
        };
        Tensor::from_vec(&shape, data)
    }

    /// A borrowed ndarray view of the data (no copy).
    pub fn view(&self) -> ArrayViewD<'_, f32> {
        ArrayViewD::from_shape(IxDyn(self.shape()), self.as_slice())
            .expect("a tensor's shape always matches its data")
    }

    /// An owned ndarray array (copies the data unless it is unshared).
    pub fn into_array(self) -> ArrayD<f32> {
        let shape = self.shape.to_vec();
        ArrayD::from_shape_vec(IxDyn(&shape), self.into_vec())
            .expect("a tensor's shape always matches its data")
    }

    #[track_caller]
    fn rows_cols(&self, op: &str) -> (usize, usize) {
        assert_eq!(
            self.ndim(),
            2,
            "{op}: expected a 2-D tensor, found shape {:?}",
            self.shape()
        );
        (self.shape[0], self.shape[1])
    }

    /// `(m, k, n)` of `op(self) · op(rhs)`, checking that both are 2-D and fit.
    #[track_caller]
    fn product_dims(
        &self,
        ta: Transpose,
        rhs: &Tensor,
        tb: Transpose,
        op: &str,
    ) -> (usize, usize, usize) {
        let (ar, ac) = self.rows_cols(op);
        let (br, bc) = rhs.rows_cols(op);
        let (m, k) = if ta == Transpose::No {
            (ar, ac)
        } else {
            (ac, ar)
        };
        let (k2, n) = if tb == Transpose::No {
            (br, bc)
        } else {
            (bc, br)
        };
        assert_eq!(
            k,
            k2,
            "{op}: inner dimensions differ for shapes {:?} and {:?}",
            self.shape(),
            rhs.shape()
        );
        (m, k, n)
    }

    #[track_caller]
    fn gemm(&self, ta: Transpose, rhs: &Tensor, tb: Transpose, op: &str) -> Tensor {
        let (m, k, n) = self.product_dims(ta, rhs, tb, op);
        // Every element is overwritten (accumulate = false), so a reused buffer will do.
        Tensor::pooled(shape_of(&[m, n]), |out| {
            kernels::gemm::matmul(self.as_slice(), ta, rhs.as_slice(), tb, m, k, n, out, false)
        })
    }

    /// `f(self · w + bias)` for a `[m, k]` input, a `[k, n]` weight and a `[n]` bias, in one
    /// sweep: the bias and the activation are applied to each block of the product while it is
    /// in cache. Bit-identical to `self.matmul(w).add_row(bias).unary(f)`; `None` skips a step.
    ///
    /// # Panics
    /// When the shapes do not fit as stated.
    #[track_caller]
    pub fn matmul_bias_unary(&self, w: &Tensor, bias: Option<&Tensor>, f: Option<Unary>) -> Tensor {
        let (m, k, n) = self.product_dims(Transpose::No, w, Transpose::No, "matmul_bias_unary");
        let bias = match bias {
            Some(b) => {
                assert!(
                    b.ndim() == 1 && b.len() == n,
                    "matmul_bias_unary: bias of shape {:?} for {n} columns",
                    b.shape()
                );
                b.as_slice()
            }
            None => &[],
        };
        Tensor::pooled(shape_of(&[m, n]), |out| {
            kernels::gemm::matmul_bias_unary(self.as_slice(), w.as_slice(), m, k, n, bias, f, out)
        })
    }

    /// Matrix product `self · rhs` of a `[m, k]` and a `[k, n]` tensor.
    ///
    /// # Panics
    /// When either is not 2-D or the inner dimensions differ; the message names both shapes.
    #[track_caller]
    pub fn matmul(&self, rhs: &Tensor) -> Tensor {
        self.gemm(Transpose::No, rhs, Transpose::No, "matmul")
    }

    /// `selfᵀ · rhs` of a `[k, m]` and a `[k, n]` tensor, without materialising the transpose.
    #[track_caller]
    pub fn matmul_tn(&self, rhs: &Tensor) -> Tensor {
        self.gemm(Transpose::Yes, rhs, Transpose::No, "matmul_tn")
    }

    /// `self · rhsᵀ` of a `[m, k]` and a `[n, k]` tensor, without materialising the transpose.
    #[track_caller]
    pub fn matmul_nt(&self, rhs: &Tensor) -> Tensor {
        self.gemm(Transpose::No, rhs, Transpose::Yes, "matmul_nt")
    }

    /// The transpose of a 2-D tensor (materialised).
    #[track_caller]
    pub fn transpose(&self) -> Tensor {
        let (r, c) = self.rows_cols("transpose");
        let src = self.as_slice();
        Tensor::pooled(shape_of(&[c, r]), |out| {
            for (i, o) in out.iter_mut().enumerate() {
                *o = src[(i % r) * c + i / r];
            }
        })
    }

    /// Adds `row` (shape `[k]`) to every row of `self` (last dimension `k`).
    #[track_caller]
    pub fn add_row(&self, row: &Tensor) -> Tensor {
        let k = *self.shape().last().unwrap_or(&1);
        assert!(
            row.ndim() == 1 && row.len() == k && k > 0,
            "add_row: cannot broadcast a row of shape {:?} over shape {:?}",
            row.shape(),
            self.shape()
        );
        Tensor::pooled(self.shape, |out| {
            kernels::elementwise::add_row(self.as_slice(), row.as_slice(), out)
        })
    }

    /// Sum over one axis, which is removed from the shape.
    #[track_caller]
    pub fn sum_axis(&self, axis: usize) -> Tensor {
        assert!(
            axis < self.ndim(),
            "sum_axis: axis {axis} out of range for shape {:?}",
            self.shape()
        );
        let dims = self.shape();
        let outer: usize = dims[..axis].iter().product();
        let inner: usize = dims[axis + 1..].iter().product();
        let mut new = [0; crate::MAX_DIMS];
        new[..axis].copy_from_slice(&dims[..axis]);
        new[axis..dims.len() - 1].copy_from_slice(&dims[axis + 1..]);
        Tensor::pooled(shape_of(&new[..dims.len() - 1]), |out| {
            out.fill(0.0);
            kernels::reduce::sum_axis(self.as_slice(), outer, dims[axis], inner, out)
        })
    }

    /// Mean over one axis, which is removed from the shape.
    #[track_caller]
    pub fn mean_axis(&self, axis: usize) -> Tensor {
        let n = self.shape().get(axis).copied().unwrap_or(1).max(1);
        self.sum_axis(axis).scale(1.0 / n as f32)
    }

    /// Biased (population) variance over one axis, which is removed from the shape.
    #[track_caller]
    pub fn var_axis(&self, axis: usize) -> Tensor {
        let n = self.shape().get(axis).copied().unwrap_or(1).max(1);
        let mean = self.mean_axis(axis);
        let dims = self.shape();
        let outer: usize = dims[..axis].iter().product();
        let inner: usize = dims[axis + 1..].iter().product();
        let src = self.as_slice();
        let m = mean.as_slice();
        Tensor::pooled(self.shape, |squares| {
            for o in 0..outer {
                for a in 0..n {
                    for i in 0..inner {
                        let idx = (o * n + a) * inner + i;
                        let d = src[idx] - m[o * inner + i];
                        squares[idx] = d * d;
                    }
                }
            }
        })
        .mean_axis(axis)
    }

    /// Sum of all elements (accumulated in `f64`, in a fixed order).
    pub fn sum(&self) -> f32 {
        kernels::reduce::sum(self.as_slice())
    }

    /// Mean of all elements (NaN for an empty tensor).
    pub fn mean(&self) -> f32 {
        self.sum() / self.len() as f32
    }

    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Tensor {
        Tensor::pooled(self.shape, |out| {
            for (o, &v) in out.iter_mut().zip(self.data.iter()) {
                *o = f(v);
            }
        })
    }

    /// Combines two same-shaped tensors element by element.
    #[track_caller]
    pub fn zip_map(&self, other: &Tensor, f: impl Fn(f32, f32) -> f32) -> Tensor {
        expect_same_shape("zip_map", self, other);
        Tensor::pooled(self.shape, |out| {
            for ((o, &a), &b) in out.iter_mut().zip(self.data.iter()).zip(other.data.iter()) {
                *o = f(a, b);
            }
        })
    }

    /// Every element multiplied by `alpha`.
    pub fn scale(&self, alpha: f32) -> Tensor {
        Tensor::pooled(self.shape, |out| {
            kernels::elementwise::scale(alpha, self.as_slice(), out)
        })
    }

    /// `self += alpha · x` in place.
    #[track_caller]
    pub fn axpy(&mut self, alpha: f32, x: &Tensor) {
        expect_same_shape("axpy", self, x);
        kernels::elementwise::axpy(alpha, x.as_slice(), self.as_mut_slice());
    }

    /// `self = keep · self + scale · op(a) · op(b)` for 2-D operands, without materialising
    /// the product ([`kernels::gemm::matmul_add_scaled`]): how SGD applies a weight gradient
    /// that is still a pair of factors, `W += (−lr) · Xᵀ · dY` (`keep = 1`), or updates its
    /// momentum, `m = μ·m − lr · Xᵀ · dY` (`keep = μ`).
    ///
    /// # Panics
    /// When an operand is not 2-D, the inner dimensions differ, or the product's shape is not
    /// `self`'s.
    #[track_caller]
    pub fn scale_add_product(
        &mut self,
        keep: f32,
        scale: f32,
        a: &Tensor,
        ta: Transpose,
        b: &Tensor,
        tb: Transpose,
    ) {
        let (m, k, n) = a.product_dims(ta, b, tb, "scale_add_product");
        assert!(
            self.shape() == [m, n],
            "scale_add_product: the product is {m}×{n}, the target has shape {:?}",
            self.shape()
        );
        kernels::gemm::matmul_add_scaled(
            a.as_slice(),
            ta,
            b.as_slice(),
            tb,
            m,
            k,
            n,
            keep,
            scale,
            self.as_mut_slice(),
        );
    }

    /// The element-wise function `f` (an activation), SIMD-dispatched.
    pub fn unary(&self, f: Unary) -> Tensor {
        Tensor::pooled(self.shape, |out| {
            kernels::activation::forward(f, self.as_slice(), out)
        })
    }

    /// `dy · f'(self)` where `y = f(self)`: the backward pass of [`Tensor::unary`].
    #[track_caller]
    pub fn unary_backward(&self, f: Unary, y: &Tensor, dy: &Tensor) -> Tensor {
        expect_same_shape("unary_backward", self, y);
        expect_same_shape("unary_backward", self, dy);
        Tensor::pooled(self.shape, |out| {
            kernels::activation::backward(f, self.as_slice(), y.as_slice(), dy.as_slice(), out)
        })
    }

    /// Softmax over the last axis, computed stably.
    pub fn softmax(&self) -> Tensor {
        let cols = self.shape().last().copied().unwrap_or(1);
        Tensor::pooled(self.shape, |out| {
            kernels::softmax::softmax_rows(self.as_slice(), cols, out)
        })
    }

    /// Log-softmax over the last axis, computed stably.
    pub fn log_softmax(&self) -> Tensor {
        let cols = self.shape().last().copied().unwrap_or(1);
        Tensor::pooled(self.shape, |out| {
            kernels::softmax::log_softmax_rows(self.as_slice(), cols, out)
        })
    }

    #[track_caller]
    fn binary(&self, rhs: &Tensor, op: Binary) -> Tensor {
        expect_same_shape(op_name(op), self, rhs);
        Tensor::pooled(self.shape, |out| {
            kernels::elementwise::binary(op, self.as_slice(), rhs.as_slice(), out)
        })
    }
}

fn op_name(op: Binary) -> &'static str {
    match op {
        Binary::Add => "add",
        Binary::Sub => "sub",
        Binary::Mul => "mul",
        Binary::Div => "div",
    }
}

/// Panics, naming the operation and both shapes, when two tensors' shapes differ.
#[track_caller]
pub fn expect_same_shape(op: &str, lhs: &Tensor, rhs: &Tensor) {
    assert_eq!(
        lhs.shape(),
        rhs.shape(),
        "{op}: shapes {:?} and {:?} differ",
        lhs.shape(),
        rhs.shape()
    );
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl std::ops::$trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                self.binary(rhs, $op)
            }
        }
        impl std::ops::$trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                self.binary(&rhs, $op)
            }
        }
    };
}
binary_operator!(Add, add, Binary::Add);
binary_operator!(Sub, sub, Binary::Sub);
binary_operator!(Mul, mul, Binary::Mul);
binary_operator!(Div, div, Binary::Div);

impl std::ops::Mul<f32> for &Tensor {
    type Output = Tensor;
    fn mul(self, rhs: f32) -> Tensor {
        self.scale(rhs)
    }
}

impl std::ops::Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        self.scale(-1.0)
    }
}

impl PartialEq for Tensor {
    fn eq(&self, other: &Tensor) -> bool {
        self.shape == other.shape && self.data == other.data
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        write!(f, "Tensor{:?} [", self.shape())?;
        for (i, v) in self.data.iter().take(SHOWN).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{v}")?;
        }
        if self.len() > SHOWN {
            write!(f, ", … ({} more)", self.len() - SHOWN)?;
        }
        write!(f, "]")
    }
}

impl TryFrom<ArrayD<f32>> for Tensor {
    type Error = ShapeError;
    fn try_from(array: ArrayD<f32>) -> Result<Tensor, ShapeError> {
        Tensor::from_array(array)
    }
}

impl From<Tensor> for ArrayD<f32> {
    fn from(tensor: Tensor) -> ArrayD<f32> {
        tensor.into_array()
    }
}
