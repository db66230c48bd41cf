//! NAdam (`torch.optim.NAdam`): Adam with Nesterov momentum and a momentum schedule.

use super::adam::validate_adam;
use super::elementwise::{ElementStep, ElementwiseRule, Slots};
use super::stateful::{Optim, Rule};
use super::{check_nonneg, powf64, Group, Lerp, OptimizerKind, Pre};
use crate::{Float, Result};

/// NAdam hyperparameters (PyTorch names and defaults).
///
/// Step t, g the gradient (negated when `maximize`):
///
/// ```text
/// θ  ← θ (1 − lr · wd)  (decoupled)   or   g ← g + wd · θ   (if wd ≠ 0)
/// μ_t = β₁ (1 − ½ · 0.96^(t · momentum_decay)),  μ_{t+1} likewise
/// Π_t = Π_{t−1} · μ_t                          (`mu_product`, kept in T like PyTorch)
/// m  ← lerp(m, g, 1 − β₁) ;  v ← β₂ v + (1 − β₂) g²
/// d  = √(v / (1 − β₂ᵗ)) + eps
/// θ  ← θ − lr (1 − μ_t)/(1 − Π_t) · g / d − lr μ_{t+1}/(1 − Π_t μ_{t+1}) · m / d
/// ```
///
/// State: `exp_avg`, `exp_avg_sq`, then the scalar `mu_product`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NAdamConfig {
    /// Learning rate (default 2e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Term added to the denominator (default 1e-8).
    pub eps: f64,
    /// Weight decay (default 0).
    pub weight_decay: f64,
    /// Momentum decay ψ (default 4e-3).
    pub momentum_decay: f64,
    /// Decoupled (AdamW-style) weight decay (default false).
    pub decoupled_weight_decay: bool,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for NAdamConfig {
    fn default() -> Self {
        Self {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
            decoupled_weight_decay: false,
            maximize: false,
        }
    }
}

setters!(NAdamConfig {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    momentum_decay: f64,
    decoupled_weight_decay: bool,
    maximize: bool,
});

/// `torch.optim.NAdam` (see [`NAdamConfig`] for the formula).
pub type NAdam<T, S> = Optim<T, NAdamConfig, S>;

impl Rule for NAdamConfig {
    const KIND: OptimizerKind = OptimizerKind::NAdam;

    fn validate(&self) -> Result<()> {
        validate_adam(self.lr, self.betas, self.eps, self.weight_decay)?;
        check_nonneg("momentum_decay", self.momentum_decay)
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
    fn scalars(&self) -> usize {
        1
    }
    fn init_state<T: Float>(&self, state: &mut [T], _n: usize) {
        state.fill(T::ZERO);
        if let Some(mp) = state.last_mut() {
            *mp = T::ONE;
        }
    }
    super::elementwise_update!();
}

impl NAdamConfig {
    /// μ at step `step`: β₁ (1 − ½ · 0.96^(step · momentum_decay)).
    fn mu(&self, step: f64) -> f64 {
        self.betas.0 * (1.0 - 0.5 * powf64(0.96, step * self.momentum_decay))
    }
}

impl ElementwiseRule for NAdamConfig {
    type Step<T: Float> = NAdamStep<T>;

    /// `mu_product ← mu_product · μ_t`, in `T` (a tensor of the parameters' dtype in PyTorch).
    fn advance<T: Float>(&self, t: u64, scalars: &mut [T]) {
        scalars[0] *= T::from_f64(self.mu(t as f64));
    }

    fn group_step<T: Float>(
        &self,
        t: u64,
        _index: usize,
        group: &Group,
        scalars: &[T],
    ) -> NAdamStep<T> {
        let (b1, b2) = self.betas;
        let step = t as f64;
        let (mu, mu_next) = (self.mu(step), self.mu(step + 1.0));
        let mp = scalars[0].to_f64();
        let mp_next = mp * mu_next;
        let lr = group.lr;
        NAdamStep {
            pre: Pre::new(
                self.maximize,
                lr,
                group.weight_decay,
                self.decoupled_weight_decay,
            ),
            lerp: Lerp::new(1.0 - b1),
            b2t: T::from_f64(b2),
            c2: T::from_f64(1.0 - b2),
            bc2: T::from_f64(1.0 - powf64(b2, step)),
            eps: T::from_f64(self.eps),
            c_grad: T::from_f64(-lr * (1.0 - mu) / (1.0 - mp)),
            c_avg: T::from_f64((-lr * mu_next) / (1.0 - mp_next)),
        }
    }
}

/// One group's NAdam step (see [`NAdamConfig`]); slots `exp_avg`, `exp_avg_sq`.
#[derive(Clone, Copy)]
pub struct NAdamStep<T> {
    pre: Pre<T>,
    lerp: Lerp<T>,
    b2t: T,
    c2: T,
    bc2: T,
    eps: T,
    c_grad: T,
    c_avg: T,
}

impl<T: Float> ElementStep<T> for NAdamStep<T> {
    #[inline(always)]
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>) {
        let [m, v, _] = slots;
        let s = *self;
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = s.pre.apply(p, g);
            *m = s.lerp.apply(*m, g);
            *v = *v * s.b2t + s.c2 * g * g;
            let denom = (*v / s.bc2).sqrt() + s.eps;
            *p += s.c_grad * g / denom;
            *p += s.c_avg * *m / denom;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn mu_product_accumulates() {
        let cfg = NAdamConfig::default();
        let mut st = [0.0f64; 5];
        let mut opt = NAdam::new(cfg, 2, &mut st[..]).unwrap();
        assert_eq!(opt.state()[4], 1.0);
        let mut p = [0.0f64; 2];
        opt.step(&mut p, &[1.0, 1.0]).unwrap();
        opt.step(&mut p, &[1.0, 1.0]).unwrap();
        let mu = |t: f64| 0.9 * (1.0 - 0.5 * 0.96f64.powf(t * 4e-3));
        assert!((opt.state()[4] - mu(1.0) * mu(2.0)).abs() < 1e-15);
    }
}
