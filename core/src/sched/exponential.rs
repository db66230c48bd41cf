//! [`ExponentialLR`]: multiply the learning rate by `gamma` every step.

use super::check_lr;
use super::codec::{ensure, params, Reader, Writer};
use crate::error::{check_arg, Result};

/// PyTorch's `ExponentialLR(optimizer, gamma)`.
///
/// `lr_0 = base_lr`, `lr_t = lr_{t-1} · gamma` (`= base_lr · gamma^t`, accumulated by repeated
/// multiplication like PyTorch's chainable form).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialLR {
    base_lr: f64,
    gamma: f64,
    last_epoch: u64,
    lr: f64,
}

impl ExponentialLR {
    /// Build for initial lr `base_lr`. Errors: `lr` or `gamma` not finite or negative.
    pub fn new(base_lr: f64, gamma: f64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_arg(
            gamma.is_finite() && gamma >= 0.0,
            "gamma",
            gamma,
            "finite and >= 0",
        )?;
        Ok(ExponentialLR {
            base_lr,
            gamma,
            last_epoch: 0,
            lr: base_lr,
        })
    }

    /// The lr in effect for the current step: `base_lr · gamma^t`.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance one step: `lr ← lr · gamma`.
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.lr = self.chain(self.lr);
    }

    /// PyTorch's chainable step on the current lr `lr`: `lr · gamma`.
    pub(crate) fn chain(&self, lr: f64) -> f64 {
        lr * self.gamma
    }

    /// Back to `t = 0`, `lr = base_lr`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.base_lr;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.f64(self.gamma);
        w.u64(self.last_epoch);
        w.f64(self.lr);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut s = params(Self::new(r.f64()?, r.f64()?))?;
        s.last_epoch = r.u64()?;
        s.lr = r.f64()?;
        ensure(!s.lr.is_nan(), "ExponentialLR lr is NaN")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric() {
        let mut s = ExponentialLR::new(2.0, 0.5).unwrap();
        s.step();
        s.step();
        assert_eq!(s.lr(), 0.5);
        assert_eq!(s.last_epoch(), 2);
        assert!(ExponentialLR::new(1.0, -0.1).is_err());
        assert!(ExponentialLR::new(1.0, f64::INFINITY).is_err());
    }
}
