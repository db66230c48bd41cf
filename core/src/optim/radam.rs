//! RAdam (`torch.optim.RAdam`): Adam with a rectified adaptive learning rate.

use super::adam::validate_adam;
use super::elementwise::{ElementStep, ElementwiseRule, Slots};
use super::stateful::{Optim, Rule};
use super::{powf64, Group, Lerp, OptimizerKind, Pre};
use crate::{Float, Result};

/// RAdam hyperparameters (PyTorch names and defaults).
///
/// Step t, g the gradient (negated when `maximize`):
///
/// ```text
/// θ  ← θ (1 − lr · wd)  (decoupled)   or   g ← g + wd · θ   (if wd ≠ 0)
/// m  ← lerp(m, g, 1 − β₁) ;  v ← β₂ v + (1 − β₂) g²
/// m̂  = m / (1 − β₁ᵗ)
/// ρ∞ = 2/(1 − β₂) − 1 ;  ρ_t = ρ∞ − 2 t β₂ᵗ / (1 − β₂ᵗ)
/// if ρ_t > 5:  θ ← θ − m̂ · lr · (√(1 − β₂ᵗ) / (√v + eps)) · r_t,
///              r_t = √((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t))
/// else:        θ ← θ − m̂ · lr
/// ```
///
/// State: `exp_avg`, `exp_avg_sq`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RAdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Term added to the denominator (default 1e-8).
    pub eps: f64,
    /// Weight decay (default 0).
    pub weight_decay: f64,
    /// Decoupled (AdamW-style) weight decay (default false).
    pub decoupled_weight_decay: bool,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for RAdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            maximize: false,
        }
    }
}

setters!(RAdamConfig {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    maximize: bool,
});

/// `torch.optim.RAdam` (see [`RAdamConfig`] for the formula).
pub type RAdam<T, S> = Optim<T, RAdamConfig, S>;

impl Rule for RAdamConfig {
    const KIND: OptimizerKind = OptimizerKind::RAdam;

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

impl ElementwiseRule for RAdamConfig {
    type Step<T: Float> = RAdamStep<T>;

    fn group_step<T: Float>(
        &self,
        t: u64,
        _index: usize,
        group: &Group,
        _scalars: &[T],
    ) -> RAdamStep<T> {
        let (b1, b2) = self.betas;
        let step = t as f64;
        let bc1 = 1.0 - powf64(b1, step);
        let b2_pow = powf64(b2, step);
        let bc2 = 1.0 - b2_pow;
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * step * b2_pow / bc2;
        let rectify = rho_t > 5.0;
        let rect = if rectify {
            <f64 as Float>::sqrt(
                (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t),
            )
        } else {
            0.0
        };
        RAdamStep {
            pre: Pre::new(
                self.maximize,
                group.lr,
                group.weight_decay,
                self.decoupled_weight_decay,
            ),
            lerp: Lerp::new(1.0 - b1),
            b2t: T::from_f64(b2),
            c2: T::from_f64(1.0 - b2),
            bc1: T::from_f64(bc1),
            bc2_sqrt: T::from_f64(<f64 as Float>::sqrt(bc2)),
            eps: T::from_f64(self.eps),
            lr: T::from_f64(group.lr),
            rect: T::from_f64(rect),
            rectify,
        }
    }
}

/// One group's RAdam step (see [`RAdamConfig`]); slots `exp_avg`, `exp_avg_sq`.
#[derive(Clone, Copy)]
pub struct RAdamStep<T> {
    pre: Pre<T>,
    lerp: Lerp<T>,
    b2t: T,
    c2: T,
    bc1: T,
    bc2_sqrt: T,
    eps: T,
    lr: T,
    rect: T,
    rectify: bool,
}

impl<T: Float> ElementStep<T> for RAdamStep<T> {
    #[inline(always)]
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>) {
        let [m, v, _] = slots;
        let s = *self;
        let moments = |p: &mut T, g: T, m: &mut T, v: &mut T| {
            let g = s.pre.apply(p, g);
            *m = s.lerp.apply(*m, g);
            *v = *v * s.b2t + s.c2 * g * g;
        };
        let each = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
        if s.rectify {
            for (((p, &g), m), v) in each {
                moments(p, g, m, v);
                let m_hat = *m / s.bc1;
                let adaptive = s.bc2_sqrt / (v.sqrt() + s.eps);
                *p += -T::ONE * (m_hat * s.lr * adaptive * s.rect);
            }
        } else {
            for (((p, &g), m), v) in each {
                moments(p, g, m, v);
                let m_hat = *m / s.bc1;
                *p += -T::ONE * (m_hat * s.lr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn early_steps_are_sgd_with_momentum() {
        // ρ_t ≤ 5 for the first steps with β₂ = 0.999, so θ ← θ − lr · m̂ (= lr · g at t = 1).
        let mut st = [0.0f64; 2];
        let mut opt = RAdam::new(RAdamConfig::default().lr(0.5), 1, &mut st[..]).unwrap();
        let mut p = [1.0f64];
        opt.step(&mut p, &[2.0]).unwrap();
        assert!((p[0] - 0.0).abs() < 1e-12);
    }
}
