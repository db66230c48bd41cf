//! Rprop (`torch.optim.Rprop`): resilient backpropagation, a per-parameter step size adapted
//! from the signs of successive gradients.

use super::elementwise::{ElementStep, ElementwiseRule, Slots};
use super::stateful::{Optim, Rule};
use super::{check_lr, Group, OptimizerKind};
use crate::error::check_arg;
use crate::{Float, Result};

/// Rprop hyperparameters (PyTorch names and defaults).
///
/// Step t, g the gradient (negated when `maximize`), per element:
///
/// ```text
/// s  ← lr                                       (at step 1: PyTorch's lazy state init)
/// f  = η₊ if g · prev > 0,  η₋ if g · prev < 0,  1 if g · prev = 0
/// s  ← clamp(s · f, step_sizes.0, step_sizes.1)
/// g  ← 0                                        (if f = η₋: no step after a sign change)
/// θ  ← θ − sign(g) · s
/// prev ← g
/// ```
///
/// The learning rate only sets the initial step size: changing it after the first step (a
/// scheduler) changes nothing, as in PyTorch. Rprop has no weight decay; a parameter group's
/// `weight_decay` is not used. State: `prev`, `step_size`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RpropConfig {
    /// Initial step size (default 1e-2).
    pub lr: f64,
    /// (η₋, η₊): step-size factors after a sign change and after an agreeing sign
    /// (default (0.5, 1.2); `0 < η₋ < 1 < η₊`).
    pub etas: (f64, f64),
    /// (minimum, maximum) step size (default (1e-6, 50); `0 <= min <= max`).
    pub step_sizes: (f64, f64),
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for RpropConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            etas: (0.5, 1.2),
            step_sizes: (1e-6, 50.0),
            maximize: false,
        }
    }
}

setters!(RpropConfig {
    lr: f64,
    etas: (f64, f64),
    step_sizes: (f64, f64),
    maximize: bool,
});

/// `torch.optim.Rprop` (see [`RpropConfig`] for the formula).
pub type Rprop<T, S> = Optim<T, RpropConfig, S>;

impl Rule for RpropConfig {
    const KIND: OptimizerKind = OptimizerKind::Rprop;

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        let (minus, plus) = self.etas;
        check_arg(0.0 < minus && minus < 1.0, "etas[0]", minus, "in (0, 1)")?;
        check_arg(
            plus > 1.0 && plus.is_finite(),
            "etas[1]",
            plus,
            "finite and > 1",
        )?;
        let (lo, hi) = self.step_sizes;
        check_arg(lo >= 0.0, "step_sizes[0]", lo, ">= 0")?;
        // Also rejects NaN; infinity is allowed (no upper bound).
        check_arg(hi >= lo, "step_sizes[1]", hi, ">= step_sizes[0]")
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        0.0
    }
    fn slots(&self) -> usize {
        2
    }
    super::elementwise_update!();
}

impl ElementwiseRule for RpropConfig {
    type Step<T: Float> = RpropStep<T>;

    fn group_step<T: Float>(
        &self,
        t: u64,
        _index: usize,
        group: &Group,
        _scalars: &[T],
    ) -> RpropStep<T> {
        RpropStep {
            sign: if self.maximize { -T::ONE } else { T::ONE },
            minus: T::from_f64(self.etas.0),
            plus: T::from_f64(self.etas.1),
            lo: T::from_f64(self.step_sizes.0),
            hi: T::from_f64(self.step_sizes.1),
            first: t == 1,
            lr: T::from_f64(group.lr),
        }
    }
}

/// One group's Rprop step (see [`RpropConfig`]); slots `prev`, `step_size`.
#[derive(Clone, Copy)]
pub struct RpropStep<T> {
    sign: T,
    minus: T,
    plus: T,
    lo: T,
    hi: T,
    first: bool,
    lr: T,
}

impl<T: Float> ElementStep<T> for RpropStep<T> {
    #[inline(always)]
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>) {
        let [prev, size, _] = slots;
        let s = *self;
        for (((p, &g), prev), size) in p
            .iter_mut()
            .zip(g)
            .zip(prev.iter_mut())
            .zip(size.iter_mut())
        {
            let g = g * s.sign;
            let d = g * *prev;
            // NaN (a NaN gradient or history) keeps `d`, as PyTorch's masked assignments do.
            let f = if d > T::ZERO {
                s.plus
            } else if d < T::ZERO {
                s.minus
            } else if d == T::ZERO {
                T::ONE
            } else {
                d
            };
            let old = if s.first { s.lr } else { *size };
            // torch.clamp: NaN stays NaN.
            let mut ss = old * f;
            if ss < s.lo {
                ss = s.lo;
            }
            if ss > s.hi {
                ss = s.hi;
            }
            *size = ss;
            let g = if f == s.minus { T::ZERO } else { g };
            *p += -T::ONE * g.signum0() * ss;
            *prev = g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn step_sizes_grow_shrink_and_skip_after_a_sign_change() {
        let cfg = RpropConfig::default().lr(0.1);
        let mut st = [0.0f64; 4];
        let mut opt = Rprop::new(cfg, 2, &mut st[..]).unwrap();
        let mut p = [0.0f64, 0.0];
        opt.step(&mut p, &[1.0, -2.0]).unwrap();
        // First step: prev = 0, so f = 1 and the step is lr against the gradient's sign.
        assert_eq!(p, [-0.1, 0.1]);
        opt.step(&mut p, &[3.0, 1.0]).unwrap();
        // Same sign: step 0.12; sign change: step size halves, no move, prev zeroed.
        assert!((p[0] + 0.22).abs() < 1e-15 && p[1] == 0.1);
        assert_eq!(opt.state()[1], 0.0);
        assert!((opt.state()[2] - 0.12).abs() < 1e-15 && opt.state()[3] == 0.05);
        opt.step(&mut p, &[1.0, 1.0]).unwrap();
        // After the skipped element's prev = 0: f = 1, it moves by its halved step.
        assert!((p[1] - 0.05).abs() < 1e-15);
    }

    #[test]
    fn hyperparameters_are_checked() {
        let ok = RpropConfig::default();
        assert!(ok.validate().is_ok());
        assert!(ok.etas((1.0, 1.2)).validate().is_err());
        assert!(ok.etas((0.5, 1.0)).validate().is_err());
        assert!(ok.etas((0.0, 1.2)).validate().is_err());
        assert!(ok.step_sizes((1.0, 0.5)).validate().is_err());
        assert!(ok.step_sizes((-1.0, 0.5)).validate().is_err());
        assert!(ok.step_sizes((0.0, f64::NAN)).validate().is_err());
        assert!(ok.step_sizes((0.0, f64::INFINITY)).validate().is_ok());
        assert!(ok.lr(-1.0).validate().is_err());
    }
}
