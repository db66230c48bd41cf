//! NAdam (`torch.optim.NAdam`): Adam with Nesterov momentum and a momentum schedule.

use super::adam::validate_adam;
use super::stateful::{Optim, Rule};
use super::{check_nonneg, lerp, powf64, split_slots, Group, OptimizerKind};
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
        let step = t as f64;
        let bc2 = T::from_f64(1.0 - powf64(b2, step));
        let mu = b1 * (1.0 - 0.5 * powf64(0.96, step * self.momentum_decay));
        let mu_next = b1 * (1.0 - 0.5 * powf64(0.96, (step + 1.0) * self.momentum_decay));
        let w1 = T::from_f64(1.0 - b1);
        let b2t = T::from_f64(b2);
        let c2 = T::from_f64(1.0 - b2);
        let eps = T::from_f64(self.eps);
        let (bufs, scalars) = state.split_at_mut(2 * n);
        let [m_all, v_all] = split_slots::<T, 2>(bufs, n);
        // mu_product is a tensor of dtype T in PyTorch: multiply in T, read back as f64.
        let mp_t = scalars[0] * T::from_f64(mu);
        scalars[0] = mp_t;
        let mp = mp_t.to_f64();
        let mp_next = mp * mu_next;
        for grp in groups {
            let r = grp.range();
            let lr = grp.lr;
            let c_grad = T::from_f64(-lr * (1.0 - mu) / (1.0 - mp));
            let c_avg = T::from_f64((-lr * mu_next) / (1.0 - mp_next));
            let wd = T::from_f64(grp.weight_decay);
            let use_wd = grp.weight_decay != 0.0;
            let decay = T::from_f64(1.0 - lr * grp.weight_decay);
            let p = &mut params[r.clone()];
            let g = &grads[r.clone()];
            let m = &mut m_all[r.clone()];
            let v = &mut v_all[r];
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let mut g = if self.maximize { -g } else { g };
                if use_wd {
                    if self.decoupled_weight_decay {
                        *p *= decay;
                    } else {
                        g += wd * *p;
                    }
                }
                *m = lerp(*m, g, w1);
                *v = *v * b2t + c2 * g * g;
                let denom = (*v / bc2).sqrt() + eps;
                *p += c_grad * g / denom;
                *p += c_avg * *m / denom;
            }
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
