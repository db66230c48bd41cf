//! Adagrad (`torch.optim.Adagrad`).

use super::elementwise::{ElementStep, ElementwiseRule, Slots};
use super::stateful::{Optim, Rule};
use super::{check_eps, check_lr, check_nonneg, check_wd, Group, OptimizerKind, Pre};
use crate::{Float, Result};

/// Adagrad hyperparameters (PyTorch names and defaults).
///
/// Step t, g the gradient (negated when `maximize`):
///
/// ```text
/// g   ← g + weight_decay · θ                  (if weight_decay ≠ 0)
/// clr = lr / (1 + (t − 1) · lr_decay)
/// s   ← s + g²                                (s₀ = initial_accumulator_value)
/// θ   ← θ − clr · g / (√s + eps)
/// ```
///
/// State: `sum`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Learning-rate decay (default 0).
    pub lr_decay: f64,
    /// L2 penalty (default 0).
    pub weight_decay: f64,
    /// Starting value of the accumulator (default 0).
    pub initial_accumulator_value: f64,
    /// Term added to the denominator (default 1e-10).
    pub eps: f64,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

setters!(AdagradConfig {
    lr: f64,
    lr_decay: f64,
    weight_decay: f64,
    initial_accumulator_value: f64,
    eps: f64,
    maximize: bool,
});

/// `torch.optim.Adagrad` (see [`AdagradConfig`] for the formula).
pub type Adagrad<T, S> = Optim<T, AdagradConfig, S>;

impl Rule for AdagradConfig {
    const KIND: OptimizerKind = OptimizerKind::Adagrad;

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_nonneg("lr_decay", self.lr_decay)?;
        check_wd(self.weight_decay)?;
        check_nonneg("initial_accumulator_value", self.initial_accumulator_value)?;
        check_eps(self.eps)
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        self.weight_decay
    }
    fn slots(&self) -> usize {
        1
    }
    fn init_state<T: Float>(&self, state: &mut [T], _n: usize) {
        state.fill(T::from_f64(self.initial_accumulator_value));
    }
    super::elementwise_update!();
}

impl ElementwiseRule for AdagradConfig {
    type Step<T: Float> = AdagradStep<T>;

    fn group_step<T: Float>(
        &self,
        t: u64,
        _index: usize,
        group: &Group,
        _scalars: &[T],
    ) -> AdagradStep<T> {
        let clr = group.lr / (1.0 + (t - 1) as f64 * self.lr_decay);
        AdagradStep {
            pre: Pre::new(self.maximize, group.lr, group.weight_decay, false),
            eps: T::from_f64(self.eps),
            neg_clr: T::from_f64(-clr),
        }
    }
}

/// One group's Adagrad step (see [`AdagradConfig`]); slot `sum`.
#[derive(Clone, Copy)]
pub struct AdagradStep<T> {
    pre: Pre<T>,
    eps: T,
    neg_clr: T,
}

impl<T: Float> ElementStep<T> for AdagradStep<T> {
    #[inline(always)]
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>) {
        let [s, _, _] = slots;
        let (pre, eps, neg_clr) = (self.pre, self.eps, self.neg_clr);
        for ((p, &g), s) in p.iter_mut().zip(g).zip(s.iter_mut()) {
            let g = pre.apply(p, g);
            *s += T::ONE * g * g;
            let std = s.sqrt() + eps;
            *p += neg_clr * g / std;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn accumulator_starts_at_initial_value() {
        let mut st = [0.0f64; 1];
        let cfg = AdagradConfig::default()
            .lr(1.0)
            .initial_accumulator_value(3.0)
            .eps(0.0);
        let mut opt = Adagrad::new(cfg, 1, &mut st[..]).unwrap();
        let mut p = [0.0f64];
        opt.step(&mut p, &[1.0]).unwrap();
        assert_eq!(p[0], -0.5); // sum = 4, step = 1/2
    }
}
