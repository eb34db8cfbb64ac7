//! The per-element rules of the optimizers (SGD, momentum, Nesterov, AdaGrad, RMSprop, Adam,
//! AMSGrad, Adamax, Nadam), as vectorized kernels.
//!
//! `strata-optim` decides *what* an optimizer step is (its constants, bias corrections,
//! learning rate); these kernels apply it to every element of a variable. Each rule is one
//! loop over equal-length slices with the branches hoisted out of it, so the compiler turns
//! the square roots and divisions into vector instructions (8 lanes with AVX2, 16 with
//! AVX-512, chosen at run time as for every kernel of [`crate::kernels`]). The expressions
//! are evaluated in the order written below (Keras's order), and Rust never fuses a multiply
//! and an add on its own, so every instruction set gives the same bits.

use super::multiversion;

/// One optimizer step's per-element rule and its constants. `w` is the variable, `g` its
/// gradient; the slot arrays named in each variant are passed to [`apply`] in the order
/// listed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// `w -= g·lr`. No slots.
    Sgd {
        /// Learning rate.
        lr: f32,
    },
    /// `m = m·momentum − g·lr`, then `w += m`, or with Nesterov `w += m·momentum − g·lr`.
    /// Slots: `m`.
    Momentum {
        /// Learning rate.
        lr: f32,
        /// Momentum factor.
        momentum: f32,
        /// Nesterov's look-ahead form.
        nesterov: bool,
    },
    /// `a += g²`, `w −= lr·g / √(a + ε)`. Slots: `a`.
    Adagrad {
        /// Learning rate.
        lr: f32,
        /// ε.
        epsilon: f32,
    },
    /// `v = ρ·v + (1 − ρ)·g²`; centered: `ā = ρ·ā + (1 − ρ)·g` and the denominator
    /// `√(v − ā² + ε)`, otherwise `√(v + ε)`; the increment `lr·g / denominator` is subtracted,
    /// or with momentum accumulated as `m = momentum·m + increment`, `w −= m`.
    /// Slots: `v`, then `m` when `momentum > 0`, then `ā` when `centered`.
    RmsProp {
        /// Learning rate.
        lr: f32,
        /// Discount ρ.
        rho: f32,
        /// Momentum factor (0: none).
        momentum: f32,
        /// ε.
        epsilon: f32,
        /// Whether the gradient's running mean is subtracted.
        centered: bool,
    },
    /// `m += (g − m)·(1 − β₁)`, `v += (g² − v)·(1 − β₂)`, `w −= m·alpha / (√v + ε)`, with
    /// `alpha` the bias-corrected rate; AMSGrad uses `v̂ = max(v̂, v)` in place of `v`.
    /// Slots: `m`, `v`, then `v̂` when `amsgrad`.
    Adam {
        /// `lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)`.
        alpha: f32,
        /// β₁.
        beta_1: f32,
        /// β₂.
        beta_2: f32,
        /// ε.
        epsilon: f32,
        /// AMSGrad's maximum of the second moments.
        amsgrad: bool,
    },
    /// `m += (g − m)·(1 − β₁)`, `u = max(β₂·u, |g|)`, `w −= lr·m / ((1 − β₁ᵗ)·(u + ε))`.
    /// Slots: `m`, `u`.
    Adamax {
        /// Learning rate.
        lr: f32,
        /// β₁.
        beta_1: f32,
        /// β₂.
        beta_2: f32,
        /// ε.
        epsilon: f32,
        /// β₁ᵗ.
        beta_1_power: f32,
    },
    /// Keras's Nadam: `m` and `v` as Adam, then
    /// `m̂ = u_{t+1}·m / (1 − Πu_{t+1}) + (1 − u_t)·g / (1 − Πu_t)`, `v̂ = v / (1 − β₂ᵗ)`,
    /// `w −= m̂·lr / (√v̂ + ε)`. Slots: `m`, `v`.
    Nadam {
        /// Learning rate.
        lr: f32,
        /// β₁.
        beta_1: f32,
        /// β₂.
        beta_2: f32,
        /// ε.
        epsilon: f32,
        /// The momentum schedule at this step, `u_t`.
        u_t: f32,
        /// The momentum schedule at the next step, `u_{t+1}`.
        u_t_1: f32,
        /// `Πu` up to this step.
        u_product_t: f32,
        /// `Πu` up to the next step.
        u_product_t_1: f32,
        /// β₂ᵗ.
        beta_2_power: f32,
    },
}

impl Rule {
    /// How many slot arrays [`apply`] expects for this rule.
    pub fn slots(&self) -> usize {
        match *self {
            Rule::Sgd { .. } => 0,
            Rule::Momentum { .. } | Rule::Adagrad { .. } => 1,
            Rule::RmsProp {
                momentum, centered, ..
            } => 1 + usize::from(momentum > 0.0) + usize::from(centered),
            Rule::Adam { amsgrad, .. } => 2 + usize::from(amsgrad),
            Rule::Adamax { .. } | Rule::Nadam { .. } => 2,
        }
    }
}

/// `s[..n]` for a slot, so that the loops below see equal lengths and need no bounds checks.
#[inline(always)]
fn take<'a>(slots: &'a mut [&mut [f32]], i: usize, n: usize) -> &'a mut [f32] {
    &mut slots[i][..n]
}

#[inline(always)]
fn apply_generic(rule: Rule, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
    let n = w.len();
    assert_eq!(
        g.len(),
        n,
        "update: gradient length differs from the variable's"
    );
    assert!(
        slots.len() >= rule.slots() && slots[..rule.slots()].iter().all(|s| s.len() == n),
        "update: {rule:?} needs {} slot arrays of {n} elements",
        rule.slots()
    );
    let g = &g[..n];
    match rule {
        Rule::Sgd { lr } => {
            for (w, &g) in w.iter_mut().zip(g) {
                *w -= g * lr;
            }
        }
        Rule::Momentum {
            lr,
            momentum,
            nesterov,
        } => {
            let m = take(slots, 0, n);
            if nesterov {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m) {
                    *m = *m * momentum - g * lr;
                    *w += *m * momentum - g * lr;
                }
            } else {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m) {
                    *m = *m * momentum - g * lr;
                    *w += *m;
                }
            }
        }
        Rule::Adagrad { lr, epsilon } => {
            let a = take(slots, 0, n);
            for ((w, &g), a) in w.iter_mut().zip(g).zip(a) {
                *a += g * g;
                *w -= lr * g / (*a + epsilon).sqrt();
            }
        }
        Rule::RmsProp {
            lr,
            rho,
            momentum,
            epsilon,
            centered,
        } => {
            let one_minus_rho = 1.0 - rho;
            let (v, rest) = slots
                .split_first_mut()
                .expect("RMSprop has a velocity slot");
            let v = &mut v[..n];
            match (momentum > 0.0, centered) {
                (false, false) => {
                    for ((w, &g), v) in w.iter_mut().zip(g).zip(v) {
                        *v = rho * *v + one_minus_rho * g * g;
                        *w -= lr * g / (*v + epsilon).sqrt();
                    }
                }
                (true, false) => {
                    let m = take(rest, 0, n);
                    for (((w, &g), v), m) in w.iter_mut().zip(g).zip(v).zip(m) {
                        *v = rho * *v + one_minus_rho * g * g;
                        *m = momentum * *m + lr * g / (*v + epsilon).sqrt();
                        *w -= *m;
                    }
                }
                (false, true) => {
                    let a = take(rest, 0, n);
                    for (((w, &g), v), a) in w.iter_mut().zip(g).zip(v).zip(a) {
                        *v = rho * *v + one_minus_rho * g * g;
                        *a = rho * *a + one_minus_rho * g;
                        *w -= lr * g / (*v - *a * *a + epsilon).sqrt();
                    }
                }
                (true, true) => {
                    let (m, rest) = rest.split_first_mut().expect("RMSprop momentum slot");
                    let (m, a) = (&mut m[..n], take(rest, 0, n));
                    for ((((w, &g), v), m), a) in w.iter_mut().zip(g).zip(v).zip(m).zip(a) {
                        *v = rho * *v + one_minus_rho * g * g;
                        *a = rho * *a + one_minus_rho * g;
                        *m = momentum * *m + lr * g / (*v - *a * *a + epsilon).sqrt();
                        *w -= *m;
                    }
                }
            }
        }
        Rule::Adam {
            alpha,
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
        } => {
            let (c1, c2) = (1.0 - beta_1, 1.0 - beta_2);
            let (m, rest) = slots.split_first_mut().expect("Adam slots");
            let (v, rest) = rest.split_first_mut().expect("Adam slots");
            let (m, v) = (&mut m[..n], &mut v[..n]);
            if amsgrad {
                let h = take(rest, 0, n);
                for ((((w, &g), m), v), h) in w.iter_mut().zip(g).zip(m).zip(v).zip(h) {
                    *m += (g - *m) * c1;
                    *v += (g * g - *v) * c2;
                    *h = h.max(*v);
                    *w -= (*m * alpha) / (h.sqrt() + epsilon);
                }
            } else {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                    *m += (g - *m) * c1;
                    *v += (g * g - *v) * c2;
                    *w -= (*m * alpha) / (v.sqrt() + epsilon);
                }
            }
        }
        Rule::Adamax {
            lr,
            beta_1,
            beta_2,
            epsilon,
            beta_1_power,
        } => {
            let (c1, correction) = (1.0 - beta_1, 1.0 - beta_1_power);
            let (m, rest) = slots.split_first_mut().expect("Adamax slots");
            let (m, u) = (&mut m[..n], take(rest, 0, n));
            for (((w, &g), m), u) in w.iter_mut().zip(g).zip(m).zip(u) {
                *m += (g - *m) * c1;
                *u = (beta_2 * *u).max(g.abs());
                *w -= (lr * *m) / (correction * (*u + epsilon));
            }
        }
        Rule::Nadam {
            lr,
            beta_1,
            beta_2,
            epsilon,
            u_t,
            u_t_1,
            u_product_t,
            u_product_t_1,
            beta_2_power,
        } => {
            let (c1, c2) = (1.0 - beta_1, 1.0 - beta_2);
            let (d_m, d_g, d_v, one_minus_u_t) = (
                1.0 - u_product_t_1,
                1.0 - u_product_t,
                1.0 - beta_2_power,
                1.0 - u_t,
            );
            let (m, rest) = slots.split_first_mut().expect("Nadam slots");
            let (m, v) = (&mut m[..n], take(rest, 0, n));
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                *m += (g - *m) * c1;
                *v += (g * g - *v) * c2;
                let m_hat = u_t_1 * *m / d_m + one_minus_u_t * g / d_g;
                let v_hat = *v / d_v;
                *w -= (m_hat * lr) / (v_hat.sqrt() + epsilon);
            }
        }
    }
}

multiversion! {
    /// Applies `rule` to every element of `w`, given its gradient `g` and the rule's slot
    /// arrays (in the order [`Rule`] lists them; [`Rule::slots`] says how many), on this
    /// thread.
    ///
    /// # Panics
    /// When `g` or one of the rule's slot arrays is not as long as `w`, or a slot array is
    /// missing.
    pub fn apply / apply_with(rule: Rule, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) => apply_generic;
}
