//! RMSprop (`torch.optim.RMSprop`), plain, centered and with momentum.

use super::elementwise::{ElementStep, ElementwiseRule, Slots};
use super::stateful::{Optim, Rule};
use super::{check_eps, check_lr, check_nonneg, check_wd, Group, Lerp, OptimizerKind, Pre};
use crate::{Float, Result};

/// RMSprop hyperparameters (PyTorch names and defaults).
///
/// Step t, g the gradient (negated when `maximize`):
///
/// ```text
/// g  ← g + weight_decay · θ                   (if weight_decay ≠ 0)
/// v  ← α v + (1 − α) g²
/// ḡ  ← lerp(ḡ, g, 1 − α)                      (centered)
/// a  = √(v − ḡ²) + eps  (centered)   or   √v + eps
/// b  ← momentum · b + g / a ;  θ ← θ − lr · b   (momentum > 0)
/// θ  ← θ − lr · g / a                          (otherwise)
/// ```
///
/// State: `square_avg`, then `momentum_buffer` (if momentum > 0), then `grad_avg` (centered).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Smoothing constant α (default 0.99).
    pub alpha: f64,
    /// Term added to the denominator (default 1e-8).
    pub eps: f64,
    /// L2 penalty (default 0).
    pub weight_decay: f64,
    /// Momentum factor (default 0).
    pub momentum: f64,
    /// Normalize by the estimated variance of the gradient (default false).
    pub centered: bool,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

setters!(RmsPropConfig {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    maximize: bool,
});

/// `torch.optim.RMSprop` (see [`RmsPropConfig`] for the formula).
pub type RmsProp<T, S> = Optim<T, RmsPropConfig, S>;

impl Rule for RmsPropConfig {
    const KIND: OptimizerKind = OptimizerKind::RmsProp;

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_eps(self.eps)?;
        check_nonneg("momentum", self.momentum)?;
        check_wd(self.weight_decay)?;
        check_nonneg("alpha", self.alpha)
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        self.weight_decay
    }
    super::momentum_field!();
    fn slots(&self) -> usize {
        1 + usize::from(self.momentum > 0.0) + usize::from(self.centered)
    }
    super::elementwise_update!();
}

impl ElementwiseRule for RmsPropConfig {
    type Step<T: Float> = RmsPropStep<T>;

    fn group_step<T: Float>(
        &self,
        _t: u64,
        _index: usize,
        group: &Group,
        _scalars: &[T],
    ) -> RmsPropStep<T> {
        RmsPropStep {
            pre: Pre::new(self.maximize, group.lr, group.weight_decay, false),
            alpha: T::from_f64(self.alpha),
            c: T::from_f64(1.0 - self.alpha),
            lerp: Lerp::new(1.0 - self.alpha),
            eps: T::from_f64(self.eps),
            mom: T::from_f64(self.momentum),
            neg_lr: T::from_f64(-group.lr),
            momentum: self.momentum > 0.0,
            centered: self.centered,
        }
    }
}

/// One group's RMSprop step (see [`RmsPropConfig`]); slots `square_avg`, then
/// `momentum_buffer` if momentum > 0, then `grad_avg` if centered.
#[derive(Clone, Copy)]
pub struct RmsPropStep<T> {
    pre: Pre<T>,
    alpha: T,
    c: T,
    lerp: Lerp<T>,
    eps: T,
    mom: T,
    neg_lr: T,
    momentum: bool,
    centered: bool,
}

impl<T: Float> RmsPropStep<T> {
    /// One element; `buf` and `ga` are the momentum buffer and the gradient average when used
    /// (constant per loop, so each of the four loops below compiles without the branches).
    #[inline(always)]
    fn one(&self, p: &mut T, g: T, sq: &mut T, buf: Option<&mut T>, ga: Option<&mut T>) {
        let g = self.pre.apply(p, g);
        *sq = *sq * self.alpha + self.c * g * g;
        let avg = match ga {
            Some(ga) => {
                *ga = self.lerp.apply(*ga, g);
                (*sq + -T::ONE * *ga * *ga).sqrt()
            }
            None => sq.sqrt(),
        };
        let avg = avg + self.eps;
        match buf {
            Some(b) => {
                *b = *b * self.mom + g / avg;
                *p += self.neg_lr * *b;
            }
            None => *p += self.neg_lr * g / avg,
        }
    }
}

impl<T: Float> ElementStep<T> for RmsPropStep<T> {
    #[inline(always)]
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>) {
        let [sq, s1, s2] = slots;
        let each = p.iter_mut().zip(g).zip(sq.iter_mut());
        match (self.momentum, self.centered) {
            (false, false) => {
                for ((p, &g), sq) in each {
                    self.one(p, g, sq, None, None);
                }
            }
            (true, false) => {
                for (((p, &g), sq), b) in each.zip(s1.iter_mut()) {
                    self.one(p, g, sq, Some(b), None);
                }
            }
            (false, true) => {
                for (((p, &g), sq), ga) in each.zip(s1.iter_mut()) {
                    self.one(p, g, sq, None, Some(ga));
                }
            }
            (true, true) => {
                for ((((p, &g), sq), b), ga) in each.zip(s1.iter_mut()).zip(s2.iter_mut()) {
                    self.one(p, g, sq, Some(b), Some(ga));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn state_layout_depends_on_flags() {
        let c = RmsPropConfig::default();
        assert_eq!(c.state_len(4), 4);
        assert_eq!(c.momentum(0.9).state_len(4), 8);
        assert_eq!(c.momentum(0.9).centered(true).state_len(4), 12);
        let mut st = [0.0f64; 2];
        let mut opt = RmsProp::new(c.lr(0.1).alpha(0.0).eps(0.0), 2, &mut st[..]).unwrap();
        let mut p = [1.0f64, 1.0];
        opt.step(&mut p, &[4.0, -2.0]).unwrap();
        assert_eq!(p, [0.9, 1.1]);
    }
}
