//! [`StepLR`]: multiply the learning rate by `gamma` every `step_size` steps.

use super::check_lr;
use super::codec::{ensure, params, Reader, Writer};
use crate::error::{check_arg, Result};

/// PyTorch's `StepLR(optimizer, step_size, gamma=0.1)`.
///
/// `lr_0 = base_lr`, and for `t >= 1`: `lr_t = lr_{t-1} · gamma` when `t mod step_size == 0`,
/// otherwise `lr_t = lr_{t-1}`; i.e. `lr_t = base_lr · gamma^⌊t / step_size⌋`, accumulated by
/// repeated multiplication exactly as PyTorch's chainable form rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLR {
    base_lr: f64,
    step_size: u64,
    gamma: f64,
    last_epoch: u64,
    lr: f64,
}

impl StepLR {
    /// Default `gamma` (0.1).
    pub const DEFAULT_GAMMA: f64 = 0.1;

    /// Build for an optimizer whose initial lr is `base_lr`; the lr in effect for step 0 is
    /// `base_lr`. Errors: `lr` not finite or negative, `step_size == 0`, `gamma` not finite
    /// or negative.
    pub fn new(base_lr: f64, step_size: u64, gamma: f64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_arg(step_size >= 1, "step_size", step_size as f64, ">= 1")?;
        check_arg(
            gamma.is_finite() && gamma >= 0.0,
            "gamma",
            gamma,
            "finite and >= 0",
        )?;
        Ok(StepLR {
            base_lr,
            step_size,
            gamma,
            last_epoch: 0,
            lr: base_lr,
        })
    }

    /// The lr in effect for the current step: `base_lr · gamma^⌊t / step_size⌋`.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Number of `step` calls so far (PyTorch's `last_epoch`, `t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance one step: `t += 1`; `lr *= gamma` when `t mod step_size == 0`.
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.lr = self.chain(self.lr);
    }

    /// PyTorch's chainable step on the current lr `lr` (after `t` advanced): `lr · gamma` at
    /// a multiple of `step_size`, else `lr`.
    pub(crate) fn chain(&self, lr: f64) -> f64 {
        if self.last_epoch.checked_rem(self.step_size) == Some(0) {
            lr * self.gamma
        } else {
            lr
        }
    }

    /// Back to the state right after construction (`t = 0`, `lr = base_lr`).
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.base_lr;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.u64(self.step_size);
        w.f64(self.gamma);
        w.u64(self.last_epoch);
        w.f64(self.lr);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut s = params(Self::new(r.f64()?, r.u64()?, r.f64()?))?;
        s.last_epoch = r.u64()?;
        s.lr = r.f64()?;
        ensure(!s.lr.is_nan(), "StepLR lr is NaN")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_every_step_size_steps() {
        let mut s = StepLR::new(1.0, 2, 0.5).unwrap();
        let mut got = [0.0; 6];
        for g in &mut got {
            *g = s.lr();
            s.step();
        }
        assert_eq!(got, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]);
        assert!(StepLR::new(1.0, 0, 0.5).is_err());
        assert!(StepLR::new(1.0, 1, -0.5).is_err());
        assert!(StepLR::new(f64::NAN, 1, 0.5).is_err());
    }
}
