//! Adamax (`torch.optim.Adamax`): Adam with the infinity norm.

use super::adam::validate_adam;
use super::stateful::{Optim, Rule};
use super::{lerp, maximum, powf64, split_slots, Group, OptimizerKind};
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
    fn update<T: Float>(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let n = params.len();
        let (b1, b2) = self.betas;
        let w1 = T::from_f64(1.0 - b1);
        let b2t = T::from_f64(b2);
        let eps = T::from_f64(self.eps);
        let bc = 1.0 - powf64(b1, t as f64);
        let [m_all, u_all] = split_slots::<T, 2>(state, n);
        for grp in groups {
            let r = grp.range();
            let neg_clr = T::from_f64(-(grp.lr / bc));
            let wd = T::from_f64(grp.weight_decay);
            let use_wd = grp.weight_decay != 0.0;
            let p = &mut params[r.clone()];
            let g = &grads[r.clone()];
            let m = &mut m_all[r.clone()];
            let u = &mut u_all[r];
            for (((p, &g), m), u) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(u.iter_mut()) {
                let mut g = if self.maximize { -g } else { g };
                if use_wd {
                    g += wd * *p;
                }
                *m = lerp(*m, g, w1);
                *u = maximum(*u * b2t, g.abs() + eps);
                *p += neg_clr * *m / *u;
            }
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
