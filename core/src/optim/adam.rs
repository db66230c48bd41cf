//! Adam (`torch.optim.Adam`), with AMSGrad, L2 weight decay and `maximize`.

use super::stateful::{Optim, Rule};
use super::{
    check_beta, check_eps, check_lr, check_wd, maximum, powf64, split_slots, Group, Lerp,
    OptimizerKind, Pre,
};
use crate::{Float, Result};

/// Adam hyperparameters (PyTorch names and defaults).
///
/// Step t, g the gradient (negated when `maximize`):
///
/// ```text
/// g  ← g + weight_decay · θ                 (if weight_decay ≠ 0)
/// m  ← lerp(m, g, 1 − β₁)                   = β₁ m + (1 − β₁) g
/// v  ← β₂ v + (1 − β₂) g²
/// v̂  ← max(v̂, v)                            (amsgrad; v̂ is used instead of v below)
/// denom = √v / √(1 − β₂ᵗ) + eps
/// θ  ← θ − (lr / (1 − β₁ᵗ)) · m / denom
/// ```
///
/// State: `exp_avg`, `exp_avg_sq` (+ `max_exp_avg_sq` with amsgrad).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Term added to the denominator (default 1e-8).
    pub eps: f64,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f64,
    /// Use the AMSGrad variant (default false).
    pub amsgrad: bool,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
        }
    }
}

setters!(AdamConfig {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    maximize: bool,
});

/// `torch.optim.Adam` (see [`AdamConfig`] for the formula).
pub type Adam<T, S> = Optim<T, AdamConfig, S>;

/// Shared validation of Adam-family hyperparameters.
pub(crate) fn validate_adam(lr: f64, betas: (f64, f64), eps: f64, wd: f64) -> Result<()> {
    check_lr(lr)?;
    check_eps(eps)?;
    check_beta("betas[0]", betas.0)?;
    check_beta("betas[1]", betas.1)?;
    check_wd(wd)
}

/// The Adam / AdamW update; `decoupled` selects AdamW's `θ ← θ (1 − lr · weight_decay)`.
/// The per-group, per-step coefficients of an Adam / AdamW update, computed once (in f64 like
/// PyTorch) and then applied element-wise by [`AdamStep::apply`] to any chunk of the group.
///
/// With `g' = (maximize ? -g : g) (+ wd p for Adam's L2)` and (AdamW) `p <- p (1 - lr wd)`:
/// `m <- lerp(m, g', 1 - beta1)`, `v <- beta2 v + (1 - beta2) g'^2`,
/// (AMSGrad) `vmax <- max(vmax, v)`, `p <- p - (lr / (1 - beta1^t)) m /
/// (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)`.
///
/// This is the seam fast kernels use: `descent-kernels` runs `apply` on chunks in parallel and
/// compiled for the CPU's widest vectors, with results bitwise equal to [`Adam`]'s own step.
#[derive(Clone, Copy)]
pub struct AdamStep<T> {
    pre: Pre<T>,
    lerp: Lerp<T>,
    b2t: T,
    c2: T,
    eps: T,
    bc2_sqrt: T,
    neg_step_size: T,
}

impl<T: Float> AdamStep<T> {
    /// Coefficients of step `t` (1-based) for a group with learning rate `lr` and weight decay
    /// `wd`; `decoupled` selects AdamW's decay.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        t: u64,
        lr: f64,
        wd: f64,
        betas: (f64, f64),
        eps: f64,
        maximize: bool,
        decoupled: bool,
    ) -> Self {
        let (b1, b2) = betas;
        let step = t as f64;
        let bc1 = 1.0 - powf64(b1, step);
        let bc2 = 1.0 - powf64(b2, step);
        Self {
            pre: Pre::<T>::new(maximize, lr, wd, decoupled),
            lerp: Lerp::<T>::new(1.0 - b1),
            b2t: T::from_f64(b2),
            c2: T::from_f64(1.0 - b2),
            eps: T::from_f64(eps),
            bc2_sqrt: T::from_f64(<f64 as Float>::sqrt(bc2)),
            neg_step_size: T::from_f64(-(lr / bc1)),
        }
    }

    /// The scalars [`apply`](Self::apply) uses, for kernels that vectorize the same element
    /// formula by hand (see [`AdamScalars`]).
    pub fn scalars(&self) -> AdamScalars<T> {
        AdamScalars {
            sign: self.pre.sign,
            weight_decay: self.pre.wd,
            l2: self.pre.l2,
            decay: self.pre.decay,
            lerp_weight: self.lerp.w,
            lerp_one_minus_weight: self.lerp.one_minus_w,
            lerp_small: self.lerp.small,
            beta2: self.b2t,
            one_minus_beta2: self.c2,
            eps: self.eps,
            bias_correction2_sqrt: self.bc2_sqrt,
            neg_step_size: self.neg_step_size,
        }
    }

    /// Apply the update to one chunk: `p`, `g`, `m`, `v` (and `vmax` for AMSGrad) of equal
    /// length (checked: extra elements of longer slices are not touched).
    #[inline(always)]
    pub fn apply(&self, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], vmax: Option<&mut [T]>) {
        let (pre, lerp, b2t, c2) = (self.pre, self.lerp, self.b2t, self.c2);
        let (eps, bc2_sqrt, neg_step_size) = (self.eps, self.bc2_sqrt, self.neg_step_size);
        let moments = |p: &mut T, g: T, m: &mut T, v: &mut T| {
            let g = pre.apply(p, g);
            *m = lerp.apply(*m, g);
            *v = *v * b2t + c2 * g * g;
        };
        match vmax {
            Some(vmax) => {
                for ((((p, &g), m), v), vm) in p
                    .iter_mut()
                    .zip(g)
                    .zip(m.iter_mut())
                    .zip(v.iter_mut())
                    .zip(vmax.iter_mut())
                {
                    moments(p, g, m, v);
                    *vm = maximum(*vm, *v);
                    let denom = vm.sqrt() / bc2_sqrt + eps;
                    *p += neg_step_size * *m / denom;
                }
            }
            None => {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    moments(p, g, m, v);
                    let denom = v.sqrt() / bc2_sqrt + eps;
                    *p += neg_step_size * *m / denom;
                }
            }
        }
    }
}

/// The scalars of one [`AdamStep`], in the element type, and the exact order in which
/// [`AdamStep::apply`] combines them per element (every operation rounds to `T`; no fused
/// multiply-add):
///
/// ```text
/// g  = g · sign;  g₂ = g + weight_decay · p;  p = p · decay;  g = l2 ? g₂ : g
/// d  = g − m;     m = lerp_small ? m + lerp_weight · d : g − d · lerp_one_minus_weight
/// v  = v · beta2 + (one_minus_beta2 · g) · g
/// v̂  = max(v̂, v) (AMSGrad; NaN if either is NaN), then v̂ in place of v below
/// denom = √v / bias_correction2_sqrt + eps
/// p  = p + (neg_step_size · m) / denom
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamScalars<T> {
    /// −1 when maximizing, else 1.
    pub sign: T,
    /// Weight decay `wd` (used in `g₂` whether or not `l2` is set).
    pub weight_decay: T,
    /// Adam's L2 decay: the gradient becomes `g + wd · p`.
    pub l2: bool,
    /// AdamW's decoupled factor `1 − lr · wd` (exactly 1 otherwise).
    pub decay: T,
    /// The lerp weight `1 − β₁`.
    pub lerp_weight: T,
    /// `1 − lerp_weight`, rounded to `T`.
    pub lerp_one_minus_weight: T,
    /// `|lerp_weight| < 0.5`: which of torch's two lerp forms applies.
    pub lerp_small: bool,
    /// `β₂`.
    pub beta2: T,
    /// `1 − β₂`.
    pub one_minus_beta2: T,
    /// `eps`.
    pub eps: T,
    /// `√(1 − β₂ᵗ)` (computed in f64, then rounded to `T`).
    pub bias_correction2_sqrt: T,
    /// `−lr / (1 − β₁ᵗ)` (computed in f64, then rounded to `T`).
    pub neg_step_size: T,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn adam_update<T: Float>(
    t: u64,
    groups: &[Group],
    params: &mut [T],
    grads: &[T],
    state: &mut [T],
    betas: (f64, f64),
    eps: f64,
    amsgrad: bool,
    maximize: bool,
    decoupled: bool,
) {
    let n = params.len();
    let (mv, vmax_all) = state.split_at_mut(2 * n);
    let [m_all, v_all] = split_slots::<T, 2>(mv, n);
    for grp in groups {
        let r = grp.range();
        let c = AdamStep::<T>::new(t, grp.lr, grp.weight_decay, betas, eps, maximize, decoupled);
        let vmax = amsgrad.then(|| &mut vmax_all[r.clone()]);
        c.apply(
            &mut params[r.clone()],
            &grads[r.clone()],
            &mut m_all[r.clone()],
            &mut v_all[r],
            vmax,
        );
    }
}

impl Rule for AdamConfig {
    const KIND: OptimizerKind = OptimizerKind::Adam;

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
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn first_step_moves_by_lr_times_sign() {
        // After one step m̂ = g, v̂ = g², so θ moves by ≈ lr · sign(g).
        let mut st = [0.0f64; 6];
        let mut opt = Adam::new(AdamConfig::default().lr(0.1), 2, &mut st[..]).unwrap();
        let mut p = [0.0f64, 0.0];
        opt.step(&mut p, &[3.0, -0.5]).unwrap();
        assert!((p[0] + 0.1).abs() < 1e-8 && (p[1] - 0.1).abs() < 1e-8);
        assert_eq!(AdamConfig::default().amsgrad(true).state_len(5), 15);
    }
}
