//! [`CosineAnnealingLR`]: cosine decay from `base_lr` to `eta_min` over `T_max` steps.

use super::check_lr;
use super::codec::{ensure, params, Reader, Writer};
use crate::error::{check_arg, Result};
use core::f64::consts::PI;

/// PyTorch's `CosineAnnealingLR(optimizer, T_max, eta_min=0.0)`, in its chainable
/// (recursive) form so the numbers round exactly as PyTorch's do.
///
/// Closed form: `lr_t = eta_min + (base_lr − eta_min)·(1 + cos(π·t / T_max)) / 2`, which keeps
/// following the cosine past `T_max` (back up to `base_lr` at `2·T_max`). The recursion computed
/// is `lr_0 = base_lr` and, for `t >= 1`,
/// * if `(t − 1 − T_max) mod 2·T_max == 0`: `lr_t = lr_{t−1} + (base_lr − eta_min)·(1 − cos(π / T_max)) / 2`;
/// * else `lr_t = (1 + cos(π·t / T_max)) / (1 + cos(π·(t − 1) / T_max))·(lr_{t−1} − eta_min) + eta_min`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineAnnealingLR {
    base_lr: f64,
    t_max: u64,
    eta_min: f64,
    last_epoch: u64,
    lr: f64,
}

impl CosineAnnealingLR {
    /// Build for initial lr `base_lr`. Errors: `lr` or `eta_min` not finite or negative, or
    /// either above `f64::MAX / 4` (the recursion's `(base_lr − eta_min)·(1 − cos)` would
    /// overflow to ∞ and later give ∞ − ∞ = NaN), `T_max == 0`.
    pub fn new(base_lr: f64, t_max: u64, eta_min: f64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_arg(t_max >= 1, "T_max", t_max as f64, ">= 1")?;
        check_lr("eta_min", eta_min)?;
        let limit = f64::MAX / 4.0;
        let why = "at most f64::MAX / 4 (larger values overflow the recursion)";
        check_arg(base_lr <= limit, "lr", base_lr, why)?;
        check_arg(eta_min <= limit, "eta_min", eta_min, why)?;
        Ok(CosineAnnealingLR {
            base_lr,
            t_max,
            eta_min,
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

    /// Advance one step with the recursion in the type's documentation.
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.lr = self.chain(self.lr);
    }

    /// PyTorch's chainable step on the current lr `lr` (after `t` advanced).
    pub(crate) fn chain(&self, lr: f64) -> f64 {
        let t = self.last_epoch;
        let tm = self.t_max;
        let tmf = tm as f64;
        // (t - 1 - T_max) mod 2·T_max == 0, with Python's non-negative modulo.
        let special = (t as i128 - 1 - tm as i128).rem_euclid(2 * tm as i128) == 0;
        if special {
            lr + (self.base_lr - self.eta_min) * (1.0 - super::exact::cos(PI / tmf)) / 2.0
        } else {
            (1.0 + super::exact::cos(PI * t as f64 / tmf))
                / (1.0 + super::exact::cos(PI * (t - 1) as f64 / tmf))
                * (lr - self.eta_min)
                + self.eta_min
        }
    }

    /// Back to `t = 0`, `lr = base_lr`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.base_lr;
    }

    /// PyTorch's closed form at `t = 0` (what `SequentialLR` switches to at a milestone):
    /// `eta_min + (base_lr − eta_min)·(1 + cos 0) / 2`.
    pub(crate) fn restart(&mut self) {
        self.last_epoch = 0;
        self.lr =
            self.eta_min + (self.base_lr - self.eta_min) * (1.0 + super::exact::cos(0.0)) / 2.0;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.u64(self.t_max);
        w.f64(self.eta_min);
        w.u64(self.last_epoch);
        w.f64(self.lr);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut s = params(Self::new(r.f64()?, r.u64()?, r.f64()?))?;
        s.last_epoch = r.u64()?;
        s.lr = r.f64()?;
        ensure(!s.lr.is_nan(), "CosineAnnealingLR lr is NaN")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_closed_form_through_two_periods() {
        let (b, e, tm) = (0.3, 0.01, 7u64);
        let mut s = CosineAnnealingLR::new(b, tm, e).unwrap();
        for t in 0..40u64 {
            let want = e + (b - e) * (1.0 + libm::cos(PI * t as f64 / tm as f64)) / 2.0;
            assert!(
                (s.lr() - want).abs() <= 1e-14,
                "t={t}: {} vs {want}",
                s.lr()
            );
            s.step();
        }
        assert!(CosineAnnealingLR::new(b, 0, e).is_err());
        assert!(CosineAnnealingLR::new(b, 3, -1.0).is_err());
    }
}
