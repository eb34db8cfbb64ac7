//! Element-wise arithmetic.

use crate::{Backward, InputGrads, Var};
use strata_tensor::{Tensor, expect_same_shape};

struct Add;
impl Backward for Add {
    // d(a + b) = da + db.
    fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
        [needs[0].then(|| g.clone()), needs[1].then(|| g.clone())].into()
    }
}

struct Sub;
impl Backward for Sub {
    // d(a − b) = da − db.
    fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
        [needs[0].then(|| g.clone()), needs[1].then(|| -g)].into()
    }
}

struct Mul;
impl Backward for Mul {
    // d(a·b) = b·da + a·db.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, needs: &[bool]) -> InputGrads {
        [needs[0].then(|| g * x[1]), needs[1].then(|| g * x[0])].into()
    }
}

struct Div;
impl Backward for Div {
    // d(a/b) = da/b − a·db/b².
    fn backward(&self, g: &Tensor, x: &[&Tensor], y: &Tensor, needs: &[bool]) -> InputGrads {
        let da = needs[0].then(|| g / x[1]);
        let db = needs[1].then(|| -&(&(g * y) / x[1]));
        [da, db].into()
    }
}

struct Scale(f32);
impl Backward for Scale {
    fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        [Some(g.scale(self.0))].into()
    }
}

struct Shift;
impl Backward for Shift {
    fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        [Some(g.clone())].into()
    }
}

struct MulConst(Tensor);
impl Backward for MulConst {
    // d(x·m) = m·dx for a constant m (a dropout mask, a target).
    fn backward(&self, g: &Tensor, _: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        [Some(g * &self.0)].into()
    }
}

struct Square;
impl Backward for Square {
    // d x² = 2x·dx.
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        [Some(g.zip_map(x[0], |g, x| 2.0 * x * g))].into()
    }
}

struct Abs;
impl Backward for Abs {
    // d|x| = sign(x)·dx (0 at 0, as TensorFlow does).
    fn backward(&self, g: &Tensor, x: &[&Tensor], _: &Tensor, _: &[bool]) -> InputGrads {
        [Some(g.zip_map(x[0], |g, x| {
            if x > 0.0 {
                g
            } else if x < 0.0 {
                -g
            } else {
                0.0
            }
        }))]
        .into()
    }
}

impl<'t> Var<'t> {
    /// Every element times a constant.
    pub fn scale(self, alpha: f32) -> Var<'t> {
        let y = self.value().scale(alpha);
        self.record_unary(Scale(alpha), y)
    }

    /// Every element plus a constant.
    pub fn add_scalar(self, c: f32) -> Var<'t> {
        let y = self.value().map(|v| v + c);
        self.record_unary(Shift, y)
    }

    /// Element-wise product with a constant tensor (no gradient flows to it), e.g. a dropout
    /// mask already scaled by `1 / (1 − rate)`.
    #[track_caller]
    pub fn mul_const(self, mask: &Tensor) -> Var<'t> {
        let x = self.value();
        expect_same_shape("mul_const", &x, mask);
        self.record_unary(MulConst(mask.clone()), &x * mask)
    }

    /// Element-wise sum with a constant tensor (no gradient flows to it).
    #[track_caller]
    pub fn add_const(self, c: &Tensor) -> Var<'t> {
        let x = self.value();
        expect_same_shape("add_const", &x, c);
        self.record_unary(Shift, &x + c)
    }

    /// Element-wise square.
    pub fn square(self) -> Var<'t> {
        let y = self.value().map(|v| v * v);
        self.record_unary(Square, y)
    }

    /// Element-wise absolute value.
    pub fn abs(self) -> Var<'t> {
        let y = self.value().map(f32::abs);
        self.record_unary(Abs, y)
    }
}

macro_rules! var_operator {
    ($trait:ident, $method:ident, $rule:expr, $name:literal, $op:tt) => {
        impl<'t> std::ops::$trait for Var<'t> {
            type Output = Var<'t>;
            /// Element-wise, between two same-shaped values.
            #[track_caller]
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                let (a, b) = (self.value(), rhs.value());
                expect_same_shape($name, &a, &b);
                self.tape().record($rule, &[self, rhs], &a $op &b)
            }
        }
    };
}
var_operator!(Add, add, Add, "add", +);
var_operator!(Sub, sub, Sub, "sub", -);
var_operator!(Mul, mul, Mul, "mul", *);
var_operator!(Div, div, Div, "div", /);
