//! AdamW (`torch.optim.AdamW`): Adam with decoupled weight decay.

use super::adam::{adam_update, validate_adam};
use super::stateful::{Optim, Rule};
use super::{Group, OptimizerKind};
use crate::{Float, Result};

/// AdamW hyperparameters (PyTorch names and defaults; note `weight_decay` defaults to 1e-2).
///
/// Step t, g the gradient (negated when `maximize`):
///
/// ```text
/// θ  ← θ · (1 − lr · weight_decay)
/// m  ← lerp(m, g, 1 − β₁)
/// v  ← β₂ v + (1 − β₂) g²
/// v̂  ← max(v̂, v)                            (amsgrad; v̂ is used instead of v below)
/// θ  ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps)
/// ```
///
/// State: `exp_avg`, `exp_avg_sq` (+ `max_exp_avg_sq` with amsgrad).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Term added to the denominator (default 1e-8).
    pub eps: f64,
    /// Decoupled weight decay (default 1e-2).
    pub weight_decay: f64,
    /// Use the AMSGrad variant (default false).
    pub amsgrad: bool,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
            maximize: false,
        }
    }
}

setters!(AdamWConfig {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    maximize: bool,
});

/// `torch.optim.AdamW` (see [`AdamWConfig`] for the formula).
pub type AdamW<T, S> = Optim<T, AdamWConfig, S>;

impl Rule for AdamWConfig {
    const KIND: OptimizerKind = OptimizerKind::AdamW;

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
        2 + usize::from(self.amsgrad)
    }
    fn update<T: Float>(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        adam_update(
            t,
            groups,
            params,
            grads,
            state,
            self.betas,
            self.eps,
            self.amsgrad,
            self.maximize,
            true,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn zero_gradient_only_decays() {
        let mut st = [0.0f64; 2];
        let cfg = AdamWConfig::default().lr(0.1).weight_decay(0.5);
        let mut opt = AdamW::new(cfg, 1, &mut st[..]).unwrap();
        let mut p = [2.0f64];
        opt.step(&mut p, &[0.0]).unwrap();
        assert_eq!(p[0], 2.0 * (1.0 - 0.05));
    }
}
