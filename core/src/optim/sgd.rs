//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay
//! (`torch.optim.SGD`).

use super::stateful::{Optim, Rule};
use super::{check_lr, check_nonneg, check_wd, Group, OptimizerKind};
use crate::error::check_arg;
use crate::{Float, Result};

/// SGD hyperparameters (PyTorch names and defaults).
///
/// Update for step t, with g the gradient (negated when `maximize`):
///
/// ```text
/// g  ← g + weight_decay · θ                       (if weight_decay ≠ 0)
/// b₁ ← g                                          (first step, if momentum ≠ 0)
/// b_t ← momentum · b_{t-1} + (1 − dampening) · g  (later steps)
/// g  ← g + momentum · b_t   (nesterov)   or   g ← b_t   (plain momentum)
/// θ  ← θ − lr · g
/// ```
///
/// **Heavy ball.** With dampening 0 and no weight decay, writing v_t = lr·b_t gives
/// θ_{t+1} = θ_t − lr·g_t + momentum·(θ_t − θ_{t−1}): Polyak's heavy-ball method with step
/// a = lr and momentum b = momentum (and θ_0 − θ_{−1} = 0).
///
/// **Nesterov.** With `nesterov`, θ_{t+1} = θ_t − lr·(g_t + momentum·b_t). PyTorch's iterate is
/// the look-ahead point φ_t = ϑ_t + μ v_t of Sutskever et al.'s form
/// v_{t+1} = μ v_t − lr ∇f(ϑ_t + μ v_t), ϑ_{t+1} = ϑ_t + v_{t+1}, with μ = momentum and
/// v_t = −lr·b_{t−1} (v_1 = 0): the gradient is taken at the look-ahead point.
/// (`tests/optim_props.rs` checks both identities on random quadratics.)
///
/// State: one buffer (`momentum_buffer`) if momentum ≠ 0, none otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Momentum factor (default 0).
    pub momentum: f64,
    /// Dampening for momentum (default 0).
    pub dampening: f64,
    /// L2 penalty (default 0).
    pub weight_decay: f64,
    /// Nesterov momentum (default false; needs momentum > 0 and dampening = 0).
    pub nesterov: bool,
    /// Maximize the objective instead of minimizing (default false).
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

setters!(SgdConfig {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    maximize: bool,
});

/// `torch.optim.SGD` (see [`SgdConfig`] for the formula).
pub type Sgd<T, S> = Optim<T, SgdConfig, S>;

impl Rule for SgdConfig {
    const KIND: OptimizerKind = OptimizerKind::Sgd;

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_nonneg("momentum", self.momentum)?;
        check_nonneg("dampening", self.dampening)?;
        check_wd(self.weight_decay)?;
        if self.nesterov {
            check_arg(
                self.momentum > 0.0,
                "momentum",
                self.momentum,
                "> 0 when nesterov is set",
            )?;
            check_arg(
                self.dampening == 0.0,
                "dampening",
                self.dampening,
                "0 when nesterov is set",
            )?;
        }
        Ok(())
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        self.weight_decay
    }
    super::momentum_field!();
    fn slots(&self) -> usize {
        usize::from(self.momentum != 0.0)
    }

    fn update<T: Float>(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let mom = T::from_f64(self.momentum);
        let damp1 = T::from_f64(1.0 - self.dampening);
        let use_mom = self.momentum != 0.0;
        let first = t == 1;
        for grp in groups {
            let r = grp.range();
            let neg_lr = T::from_f64(-grp.lr);
            let wd = T::from_f64(grp.weight_decay);
            let use_wd = grp.weight_decay != 0.0;
            let p = &mut params[r.clone()];
            let g = &grads[r.clone()];
            if use_mom {
                let buf = &mut state[r];
                for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                    let mut g = if self.maximize { -g } else { g };
                    if use_wd {
                        g += wd * *p;
                    }
                    *b = if first { g } else { *b * mom + damp1 * g };
                    let d = if self.nesterov { g + mom * *b } else { *b };
                    *p += neg_lr * d;
                }
            } else {
                for (p, &g) in p.iter_mut().zip(g) {
                    let mut g = if self.maximize { -g } else { g };
                    if use_wd {
                        g += wd * *p;
                    }
                    *p += neg_lr * g;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;
    use crate::Error;

    #[test]
    fn first_step_initialises_buffer_with_gradient() {
        let cfg = SgdConfig::default().lr(0.1).momentum(0.9).dampening(0.5);
        let mut st = [0.0f64; 1];
        let mut opt = Sgd::new(cfg, 1, &mut st[..]).unwrap();
        let mut p = [1.0f64];
        opt.step(&mut p, &[2.0]).unwrap();
        // buf = g (no dampening on the first step)
        assert_eq!(p[0], 1.0 - 0.1 * 2.0);
        opt.step(&mut p, &[2.0]).unwrap();
        // buf = 0.9*2 + 0.5*2 = 2.8
        assert!((p[0] - (0.8 - 0.1 * 2.8)).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_hyperparameters() {
        let mut st = [0.0f32; 4];
        let mut bad = |c: SgdConfig| Sgd::<f32, _>::new(c, 2, &mut st[..]).err();
        assert!(matches!(
            bad(SgdConfig::default().lr(-1.0)),
            Some(Error::InvalidArgument { name: "lr", .. })
        ));
        assert!(matches!(
            bad(SgdConfig::default().nesterov(true)),
            Some(Error::InvalidArgument {
                name: "momentum",
                ..
            })
        ));
    }
}
