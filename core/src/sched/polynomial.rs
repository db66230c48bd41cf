//! [`PolynomialLR`]: polynomial decay to zero over `total_iters` steps.

use super::check_lr;
use super::codec::{ensure, params, Reader, Writer};
use crate::error::{check_arg, Result};

/// PyTorch's `PolynomialLR(optimizer, total_iters=5, power=1.0)`, chainable form.
///
/// Closed form `lr_t = base_lr · (1 − min(t, T)/T)^power` with `T = total_iters` (0 from `T`
/// on). Computed as PyTorch does: `lr_0 = base_lr`; for `1 <= t <= T`,
/// `lr_t = lr_{t−1} · ((1 − t/T) / (1 − (t − 1)/T))^power`; unchanged after `T`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolynomialLR {
    base_lr: f64,
    total_iters: u64,
    power: f64,
    last_epoch: u64,
    lr: f64,
}

impl PolynomialLR {
    /// Default `total_iters` (5).
    pub const DEFAULT_TOTAL_ITERS: u64 = 5;
    /// Default `power` (1.0).
    pub const DEFAULT_POWER: f64 = 1.0;

    /// Build for initial lr `base_lr`. Errors: `lr` or `power` not finite or negative.
    pub fn new(base_lr: f64, total_iters: u64, power: f64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_arg(
            power.is_finite() && power >= 0.0,
            "power",
            power,
            "finite and >= 0",
        )?;
        Ok(PolynomialLR {
            base_lr,
            total_iters,
            power,
            last_epoch: 0,
            lr: base_lr,
        })
    }

    /// The lr in effect for the current step.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance one step: `lr ← lr · ((1 − t/T)/(1 − (t−1)/T))^power` while `t <= T`.
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.lr = self.chain(self.lr);
    }

    /// PyTorch's chainable step on the current lr `lr` (after `t` advanced).
    pub(crate) fn chain(&self, lr: f64) -> f64 {
        let t = self.last_epoch;
        if t <= self.total_iters {
            let tt = self.total_iters as f64;
            let decay = (1.0 - t as f64 / tt) / (1.0 - (t - 1) as f64 / tt);
            lr * super::exact::pow(decay, self.power)
        } else {
            lr
        }
    }

    /// Back to `t = 0`, `lr = base_lr`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.base_lr;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.u64(self.total_iters);
        w.f64(self.power);
        w.u64(self.last_epoch);
        w.f64(self.lr);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut s = params(Self::new(r.f64()?, r.u64()?, r.f64()?))?;
        s.last_epoch = r.u64()?;
        s.lr = r.f64()?;
        ensure(!s.lr.is_nan(), "PolynomialLR lr is NaN")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_decay_to_zero_then_flat() {
        let mut s = PolynomialLR::new(1.0, 4, 1.0).unwrap();
        let mut got = [0.0; 6];
        for g in &mut got {
            *g = s.lr();
            s.step();
        }
        for (g, w) in got.iter().zip([1.0, 0.75, 0.5, 0.25, 0.0, 0.0]) {
            assert!((g - w).abs() < 1e-15);
        }
        assert!(PolynomialLR::new(1.0, 4, -1.0).is_err());
    }
}
