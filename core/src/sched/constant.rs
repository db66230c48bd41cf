//! [`ConstantLR`]: scale the lr by `factor` for the first `total_iters` steps.

use super::codec::{ensure, params, Reader, Writer};
use super::{check_factor, check_lr};
use crate::error::Result;

/// PyTorch's `ConstantLR(optimizer, factor=1/3, total_iters=5)`, chainable form.
///
/// `lr_t = base_lr · factor` for `t < total_iters`, `base_lr` from then on. Computed as PyTorch
/// does: `lr_0 = base_lr · factor`, and at `t = total_iters >= 1`, `lr_t = lr_{t−1} · (1/factor)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConstantLR {
    base_lr: f64,
    factor: f64,
    total_iters: u64,
    last_epoch: u64,
    lr: f64,
}

impl ConstantLR {
    /// Default `factor` (1/3).
    pub const DEFAULT_FACTOR: f64 = 1.0 / 3.0;
    /// Default `total_iters` (5).
    pub const DEFAULT_TOTAL_ITERS: u64 = 5;

    /// Build for initial lr `base_lr`. Errors: `factor` outside `(0, 1]` or subnormal (PyTorch
    /// allows 0 and then divides by zero; a subnormal factor makes `1/factor` infinite and the
    /// restored lr `0 · ∞` = NaN), `lr` not finite or negative.
    pub fn new(base_lr: f64, factor: f64, total_iters: u64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_factor("factor", factor)?;
        Ok(ConstantLR {
            base_lr,
            factor,
            total_iters,
            last_epoch: 0,
            lr: base_lr * factor,
        })
    }

    /// The lr in effect for the current step.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Steps at the reduced lr (`total_iters`).
    pub fn total_iters(&self) -> u64 {
        self.total_iters
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance one step: at `t = total_iters`, `lr ← lr · (1/factor)`.
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.lr = self.chain(self.lr);
    }

    /// PyTorch's chainable step on the current lr `lr` (after `t` advanced): `lr / factor`
    /// (as `lr · (1 / factor)`) at `total_iters`, else `lr`.
    pub(crate) fn chain(&self, lr: f64) -> f64 {
        if self.last_epoch == self.total_iters {
            lr * (1.0 / self.factor)
        } else {
            lr
        }
    }

    /// The lr after construction when the current lr is `lr`: `lr · factor`.
    pub(crate) fn initial(&self, lr: f64) -> f64 {
        lr * self.factor
    }

    /// Back to `t = 0`, `lr = base_lr · factor`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.base_lr * self.factor;
    }

    /// PyTorch's closed form at `t = 0` (used by `SequentialLR` at a milestone):
    /// `base_lr · (factor + [0 >= total_iters]·(1 − factor))`.
    pub(crate) fn restart(&mut self) {
        self.last_epoch = 0;
        let tail = if self.total_iters == 0 {
            1.0 - self.factor
        } else {
            0.0
        };
        self.lr = self.base_lr * (self.factor + tail);
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.f64(self.factor);
        w.u64(self.total_iters);
        w.u64(self.last_epoch);
        w.f64(self.lr);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut s = params(Self::new(r.f64()?, r.f64()?, r.u64()?))?;
        s.last_epoch = r.u64()?;
        s.lr = r.f64()?;
        ensure(!s.lr.is_nan(), "ConstantLR lr is NaN")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_then_restored() {
        let mut s = ConstantLR::new(1.0, 0.5, 2).unwrap();
        let mut got = [0.0; 4];
        for g in &mut got {
            *g = s.lr();
            s.step();
        }
        assert_eq!(got, [0.5, 0.5, 1.0, 1.0]);
        assert!(ConstantLR::new(1.0, 0.0, 2).is_err());
        assert!(ConstantLR::new(1.0, 1.5, 2).is_err());
        assert!(ConstantLR::new(1.0, 1.6e-317, 2).is_err());
        assert!(ConstantLR::new(1.0, f64::MIN_POSITIVE, 2).is_ok());
    }
}
