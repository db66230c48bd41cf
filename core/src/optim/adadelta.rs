//! Adadelta (`torch.optim.Adadelta`).

use super::elementwise::{ElementStep, ElementwiseRule, Slots};
use super::stateful::{Optim, Rule};
use super::{check_eps, check_lr, check_wd, Group, OptimizerKind, Pre};
use crate::error::check_arg;
use crate::{Float, Result};

/// Adadelta hyperparameters (PyTorch names and defaults).
///
/// Step t, g the gradient (negated when `maximize`):
///
/// ```text
/// g  ← g + weight_decay · θ                   (if weight_decay ≠ 0)
/// v  ← ρ v + (1 − ρ) g²
/// δ  = √(u + eps) / √(v + eps) · g
/// u  ← ρ u + (1 − ρ) δ²
/// θ  ← θ − lr · δ
/// ```
///
/// State: `square_avg` (v), `acc_delta` (u).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdadeltaConfig {
    /// Scale applied to δ (default 1.0).
    pub lr: f64,
    /// Decay rate ρ of the running averages (default 0.9).
    pub rho: f64,
    /// Term added inside the square roots (default 1e-6).
    pub eps: f64,
    /// L2 penalty (default 0).
    pub weight_decay: f64,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        Self {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

setters!(AdadeltaConfig {
    lr: f64,
    rho: f64,
    eps: f64,
    weight_decay: f64,
    maximize: bool,
});

/// `torch.optim.Adadelta` (see [`AdadeltaConfig`] for the formula).
pub type Adadelta<T, S> = Optim<T, AdadeltaConfig, S>;

impl Rule for AdadeltaConfig {
    const KIND: OptimizerKind = OptimizerKind::Adadelta;

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_arg(
            (0.0..=1.0).contains(&self.rho),
            "rho",
            self.rho,
            "in [0, 1]",
        )?;
        check_eps(self.eps)?;
        check_wd(self.weight_decay)
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        self.weight_decay
    }
    fn slots(&self) -> usize {
        2
    }
    super::elementwise_update!();
}

impl ElementwiseRule for AdadeltaConfig {
    type Step<T: Float> = AdadeltaStep<T>;

    fn group_step<T: Float>(
        &self,
        _t: u64,
        _index: usize,
        group: &Group,
        _scalars: &[T],
    ) -> AdadeltaStep<T> {
        AdadeltaStep {
            pre: Pre::new(self.maximize, group.lr, group.weight_decay, false),
            rho: T::from_f64(self.rho),
            c: T::from_f64(1.0 - self.rho),
            eps: T::from_f64(self.eps),
            neg_lr: T::from_f64(-group.lr),
        }
    }
}

/// One group's Adadelta step (see [`AdadeltaConfig`]); slots `square_avg`, `acc_delta`.
#[derive(Clone, Copy)]
pub struct AdadeltaStep<T> {
    pre: Pre<T>,
    rho: T,
    c: T,
    eps: T,
    neg_lr: T,
}

impl<T: Float> ElementStep<T> for AdadeltaStep<T> {
    #[inline(always)]
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>) {
        let [v, u, _] = slots;
        let (pre, rho, c, eps, neg_lr) = (self.pre, self.rho, self.c, self.eps, self.neg_lr);
        for (((p, &g), v), u) in p.iter_mut().zip(g).zip(v.iter_mut()).zip(u.iter_mut()) {
            let g = pre.apply(p, g);
            *v = *v * rho + c * g * g;
            let std = (*v + eps).sqrt();
            let delta = (*u + eps).sqrt() / std * g;
            *u = *u * rho + c * delta * delta;
            *p += neg_lr * delta;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn first_step_is_tiny() {
        // δ₁ = √eps / √((1−ρ) g² + eps) · g  ≈ √(eps/(1−ρ)) sign(g)
        let mut st = [0.0f64; 2];
        let mut opt = Adadelta::new(AdadeltaConfig::default(), 1, &mut st[..]).unwrap();
        let mut p = [0.0f64];
        opt.step(&mut p, &[1.0]).unwrap();
        let want = -(1e-6f64).sqrt() / (0.1f64 + 1e-6).sqrt();
        assert!((p[0] - want).abs() < 1e-15);
    }
}
