//! Fused Adam / AdamW over plain caller slices (no [`Optim`](descent_core::optim::Optim)
//! wrapper): the same element formula as descent-core's [`AdamStep`], vectorized and split
//! into rayon chunks above [`PAR_THRESHOLD`](super::PAR_THRESHOLD) elements.

use descent_core::error::{check_arg, check_len};
use descent_core::optim::{AdamConfig, AdamStep, Rule};
use descent_core::Result;

/// Hyperparameters of one Adam / AdamW step (PyTorch names and defaults).
///
/// Step `t` (1-based), `g` the gradient, negated when `maximize`:
///
/// ```text
/// p  ← p (1 − lr · weight_decay)            (decoupled = true: AdamW)
/// g  ← g + weight_decay · p                 (decoupled = false: Adam's L2, if weight_decay ≠ 0)
/// m  ← β₁ m + (1 − β₁) g                    (as torch's lerp(m, g, 1 − β₁))
/// v  ← β₂ v + (1 − β₂) g²
/// v̂  ← max(v̂, v)                            (AMSGrad, when a `vmax` buffer is given)
/// denom = √v / √(1 − β₂ᵗ) + eps             (√v̂ with AMSGrad)
/// p  ← p − (lr / (1 − β₁ᵗ)) · m / denom
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParams {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Term added to the denominator (default 1e-8).
    pub eps: f64,
    /// Weight decay: L2 added to the gradient (Adam) or decoupled (AdamW) (default 0).
    pub weight_decay: f64,
    /// Maximize the objective (default false).
    pub maximize: bool,
    /// AdamW's decoupled weight decay instead of Adam's L2 (default false).
    pub decoupled: bool,
}

impl Default for AdamParams {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            maximize: false,
            decoupled: false,
        }
    }
}

/// One fused Adam / AdamW step (formula on [`AdamParams`]) over caller buffers: `params`,
/// `grads`, first moment `m`, second moment `v` and, for AMSGrad, the running maximum `vmax`,
/// all of one length; `step` is the 1-based step number `t` (the moments start at zero, as
/// torch's state). Each buffer is read once and the written ones written once.
///
/// Errors (nothing is written): `ShapeMismatch` naming the buffer whose length differs from
/// `params`; `InvalidArgument` for `step == 0`, a non-finite or negative `lr`, `eps` or
/// `weight_decay`, or betas outside `[0, 1)`.
pub fn adam_step(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vmax: Option<&mut [f32]>,
    hp: &AdamParams,
    step: u64,
) -> Result<()> {
    let n = params.len();
    check_len("adam_step grads", grads.len(), n)?;
    check_len("adam_step m", m.len(), n)?;
    check_len("adam_step v", v.len(), n)?;
    if let Some(vm) = vmax.as_deref() {
        check_len("adam_step vmax", vm.len(), n)?;
    }
    check_arg(step >= 1, "step", step as f64, "a 1-based step number >= 1")?;
    // The hyperparameters are checked by descent-core's own Adam rule (same names and ranges).
    AdamConfig {
        lr: hp.lr,
        betas: hp.betas,
        eps: hp.eps,
        weight_decay: hp.weight_decay,
        amsgrad: vmax.is_some(),
        maximize: hp.maximize,
    }
    .validate()?;

    let k = AdamStep::<f32>::new(
        step,
        hp.lr,
        hp.weight_decay,
        hp.betas,
        hp.eps,
        hp.maximize,
        hp.decoupled,
    );
    super::adam::run_adam(&k, params, grads, m, v, vmax);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_sign() {
        // t = 1: m = (1-b1) g, v = (1-b2) g², update = lr g/|g| (up to eps).
        let mut p = [1.0f32, -2.0, 0.5];
        let g = [0.3f32, -0.7, 0.0];
        let (mut m, mut v) = ([0f32; 3], [0f32; 3]);
        adam_step(&mut p, &g, &mut m, &mut v, None, &AdamParams::default(), 1).unwrap();
        assert!((p[0] - (1.0 - 1e-3)).abs() < 1e-6);
        assert!((p[1] - (-2.0 + 1e-3)).abs() < 1e-6);
        assert_eq!(p[2], 0.5);
    }

    #[test]
    fn rejects_bad_input_without_writing() {
        let mut p = [1.0f32; 4];
        let (mut m, mut v, mut vm3) = ([0f32; 4], [0f32; 4], [0f32; 3]);
        let hp = AdamParams::default();
        assert!(adam_step(&mut p, &[0.0; 3], &mut m, &mut v, None, &hp, 1).is_err());
        assert!(adam_step(&mut p, &[1.0; 4], &mut m, &mut v, Some(&mut vm3), &hp, 1).is_err());
        assert!(adam_step(&mut p, &[1.0; 4], &mut m, &mut v, None, &hp, 0).is_err());
        let bad = AdamParams {
            betas: (1.0, 0.999),
            ..hp
        };
        assert!(adam_step(&mut p, &[1.0; 4], &mut m, &mut v, None, &bad, 1).is_err());
        assert_eq!(p, [1.0; 4]);
        assert_eq!(m, [0.0; 4]);
    }
}
