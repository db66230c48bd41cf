//! [`LinearLR`]: linear ramp of the lr multiplier from `start_factor` to `end_factor`.

use super::codec::{ensure, params, Reader, Writer};
use super::{check_factor, check_lr};
use crate::error::{check_arg, Result};

/// PyTorch's `LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)`, chainable
/// form.
///
/// Closed form `lr_t = base_lr · (s + (e − s)·min(t, T)/T)` with `s = start_factor`,
/// `e = end_factor`, `T = total_iters`. Computed as PyTorch does: `lr_0 = base_lr · s`; for
/// `1 <= t <= T`, `lr_t = lr_{t−1} · (1 + (e − s) / (T·s + (t − 1)·(e − s)))`; unchanged after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearLR {
    base_lr: f64,
    start_factor: f64,
    end_factor: f64,
    total_iters: u64,
    last_epoch: u64,
    lr: f64,
}

impl LinearLR {
    /// Default `start_factor` (1/3).
    pub const DEFAULT_START_FACTOR: f64 = 1.0 / 3.0;
    /// Default `end_factor` (1.0).
    pub const DEFAULT_END_FACTOR: f64 = 1.0;
    /// Default `total_iters` (5).
    pub const DEFAULT_TOTAL_ITERS: u64 = 5;

    /// Build for initial lr `base_lr`. Errors (as PyTorch): `start_factor` outside `(0, 1]`,
    /// `end_factor` outside `[0, 1]`; and `lr` not finite or negative.
    pub fn new(base_lr: f64, start_factor: f64, end_factor: f64, total_iters: u64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_factor("start_factor", start_factor)?;
        check_arg(
            (0.0..=1.0).contains(&end_factor),
            "end_factor",
            end_factor,
            "in [0, 1]",
        )?;
        Ok(LinearLR {
            base_lr,
            start_factor,
            end_factor,
            total_iters,
            last_epoch: 0,
            lr: base_lr * start_factor,
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

    /// Advance one step: `lr ← lr · (1 + (e − s)/(T·s + (t − 1)·(e − s)))` while `t <= T`.
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.lr = self.chain(self.lr);
    }

    /// PyTorch's chainable step on the current lr `lr` (after `t` advanced).
    pub(crate) fn chain(&self, lr: f64) -> f64 {
        let t = self.last_epoch;
        if t <= self.total_iters {
            let d = self.end_factor - self.start_factor;
            let den = self.total_iters as f64 * self.start_factor + (t - 1) as f64 * d;
            lr * (1.0 + d / den)
        } else {
            lr
        }
    }

    /// The lr after construction when the current lr is `lr`: `lr · start_factor`.
    pub(crate) fn initial(&self, lr: f64) -> f64 {
        lr * self.start_factor
    }

    /// Back to `t = 0`, `lr = base_lr · start_factor`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.base_lr * self.start_factor;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.f64(self.start_factor);
        w.f64(self.end_factor);
        w.u64(self.total_iters);
        w.u64(self.last_epoch);
        w.f64(self.lr);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut s = params(Self::new(r.f64()?, r.f64()?, r.f64()?, r.u64()?))?;
        s.last_epoch = r.u64()?;
        s.lr = r.f64()?;
        ensure(!s.lr.is_nan(), "LinearLR lr is NaN")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_then_holds() {
        let mut s = LinearLR::new(1.0, 0.25, 1.0, 3).unwrap();
        let mut got = [0.0; 5];
        for g in &mut got {
            *g = s.lr();
            s.step();
        }
        for (g, w) in got.iter().zip([0.25, 0.5, 0.75, 1.0, 1.0]) {
            assert!((g - w).abs() < 1e-15);
        }
        assert!(LinearLR::new(1.0, 0.0, 1.0, 3).is_err());
        assert!(LinearLR::new(1.0, 0.5, 1.5, 3).is_err());
    }
}
