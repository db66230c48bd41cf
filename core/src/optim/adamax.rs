//! Adamax (`torch.optim.Adamax`): Adam with the infinity norm.

use super::adam::validate_adam;
use super::elementwise::{ElementStep, ElementwiseRule, Slots};
use super::stateful::{Optim, Rule};
use super::{maximum, powf64, Group, Lerp, OptimizerKind, Pre};
use crate::{Float, Result};

/// Adamax hyperparameters (PyTorch names and defaults).
///
/// Step t, g the gradient (negated when `maximize`):
///
/// ```text
/// g  ← g + weight_decay · θ                   (if weight_decay ≠ 0)
/// m  ← lerp(m, g, 1 − β₁)
/// u  ← max(β₂ u, |g| + eps)
/// θ  ← θ − (lr / (1 − β₁ᵗ)) · m / u
/// ```
///
/// State: `exp_avg` (m), `exp_inf` (u).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamaxConfig {
    /// Learning rate (default 2e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Term added to |g| (default 1e-8).
    pub eps: f64,
    /// L2 penalty (default 0).
    pub weight_decay: f64,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for AdamaxConfig {
    fn default() -> Self {
        Self {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

setters!(AdamaxConfig {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    maximize: bool,
});

/// `torch.optim.Adamax` (see [`AdamaxConfig`] for the formula).
pub type Adamax<T, S> = Optim<T, AdamaxConfig, S>;

impl Rule for AdamaxConfig {
    const KIND: OptimizerKind = OptimizerKind::Adamax;

    fn validate(&self) -> Result<()> {
        validate_adam(self.lr, self.betas, self.eps, self.weight_decay)
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        self.weight_decay
    }
    super::beta1_momentum!();
    fn slots(&self) -> usize {
        2
    }
    super::elementwise_update!();
}

impl ElementwiseRule for AdamaxConfig {
    type Step<T: Float> = AdamaxStep<T>;

    fn group_step<T: Float>(
        &self,
        t: u64,
        _index: usize,
        group: &Group,
        _scalars: &[T],
    ) -> AdamaxStep<T> {
        let (b1, b2) = self.betas;
        let bc = 1.0 - powf64(b1, t as f64);
        AdamaxStep {
            pre: Pre::new(self.maximize, group.lr, group.weight_decay, false),
            lerp: Lerp::new(1.0 - b1),
            b2t: T::from_f64(b2),
            eps: T::from_f64(self.eps),
            neg_clr: T::from_f64(-(group.lr / bc)),
        }
    }
}

/// One group's Adamax step (see [`AdamaxConfig`]); slots `exp_avg`, `exp_inf`.
#[derive(Clone, Copy)]
pub struct AdamaxStep<T> {
    pre: Pre<T>,
    lerp: Lerp<T>,
    b2t: T,
    eps: T,
    neg_clr: T,
}

impl<T: Float> ElementStep<T> for AdamaxStep<T> {
    #[inline(always)]
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>) {
        let [m, u, _] = slots;
        let (pre, lerp, b2t, eps, neg_clr) =
            (self.pre, self.lerp, self.b2t, self.eps, self.neg_clr);
        for (((p, &g), m), u) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(u.iter_mut()) {
            let g = pre.apply(p, g);
            *m = lerp.apply(*m, g);
            *u = maximum(*u * b2t, g.abs() + eps);
            *p += neg_clr * *m / *u;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn first_step_is_lr_times_sign() {
        let mut st = [0.0f64; 4];
        let cfg = AdamaxConfig::default().lr(0.1).eps(0.0);
        let mut opt = Adamax::new(cfg, 2, &mut st[..]).unwrap();
        let mut p = [0.0f64, 0.0];
        opt.step(&mut p, &[5.0, -0.25]).unwrap();
        assert!((p[0] + 0.1).abs() < 1e-12 && (p[1] - 0.1).abs() < 1e-12);
    }
}
