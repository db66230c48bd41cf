//! RMSprop (`torch.optim.RMSprop`), plain, centered and with momentum.

use super::stateful::{Optim, Rule};
use super::{check_eps, check_lr, check_nonneg, check_wd, lerp, Group, OptimizerKind};
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
    fn update<T: Float>(
        &self,
        _t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let n = params.len();
        let alpha = T::from_f64(self.alpha);
        let c = T::from_f64(1.0 - self.alpha);
        let eps = T::from_f64(self.eps);
        let mom = T::from_f64(self.momentum);
        let use_mom = self.momentum > 0.0;
        let (sq_all, rest) = state.split_at_mut(n);
        let (buf_all, ga_all) = rest.split_at_mut(if use_mom { n } else { 0 });
        for grp in groups {
            let r = grp.range();
            let neg_lr = T::from_f64(-grp.lr);
            let wd = T::from_f64(grp.weight_decay);
            let use_wd = grp.weight_decay != 0.0;
            let p = &mut params[r.clone()];
            let g = &grads[r.clone()];
            let sq = &mut sq_all[r.clone()];
            // Optional buffers: empty slices when unused, padded with `None`.
            let buf = buf_all
                .get_mut(r.clone())
                .unwrap_or(&mut [])
                .iter_mut()
                .map(Some)
                .chain(core::iter::repeat_with(|| None));
            let ga = ga_all
                .get_mut(r)
                .unwrap_or(&mut [])
                .iter_mut()
                .map(Some)
                .chain(core::iter::repeat_with(|| None));
            for ((((p, &g), sq), b), ga) in p.iter_mut().zip(g).zip(sq.iter_mut()).zip(buf).zip(ga)
            {
                let mut g = if self.maximize { -g } else { g };
                if use_wd {
                    g += wd * *p;
                }
                *sq = *sq * alpha + c * g * g;
                let avg = match ga {
                    Some(ga) => {
                        *ga = lerp(*ga, g, c);
                        (*sq + -T::ONE * *ga * *ga).sqrt()
                    }
                    None => sq.sqrt(),
                };
                let avg = avg + eps;
                match b {
                    Some(b) => {
                        *b = *b * mom + g / avg;
                        *p += neg_lr * *b;
                    }
                    None => *p += neg_lr * g / avg,
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
