//! [`CosineAnnealingWarmRestarts`]: SGDR, cosine decay restarted every `T_i` steps.

use super::check_lr;
use super::codec::{ensure, params, Reader, Writer};
use crate::error::{check_arg, Result};
use core::f64::consts::PI;

/// PyTorch's `CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0.0)` (SGDR).
///
/// `lr_t = eta_min + (base_lr − eta_min)·(1 + cos(π·T_cur / T_i)) / 2`, where `T_cur` counts
/// steps since the last restart and `T_i` is the current period: it starts at `T_0`, and when
/// `T_cur` reaches `T_i` it restarts (`T_cur ← T_cur − T_i`, `T_i ← T_i·T_mult`).
///
/// PyTorch's per-batch idiom `scheduler.step(epoch + i / iters)` (fractional epochs, `T_0` in
/// epochs) is this schedule with `T_0` counted in batches, `T_0·iters`: the lr PyTorch sets
/// with `step(epoch + i / iters)` is the lr here after `epoch·iters + i` [`step`](Self::step)s
/// (`T_cur / T_i` is `(epoch·iters + i) / (T_i·iters)`, PyTorch's `(epoch + i/iters) / T_i` up
/// to rounding; checked against PyTorch in `schedulers_warm_restarts.json`). The trainer's
/// `--sched-interval step` steps once per batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineAnnealingWarmRestarts {
    base_lr: f64,
    t_0: u64,
    t_mult: u64,
    eta_min: f64,
    t_i: u64,
    t_cur: u64,
    last_epoch: u64,
}

impl CosineAnnealingWarmRestarts {
    /// Build for initial lr `base_lr`. Errors: `T_0 == 0`, `T_mult == 0`, `lr` or `eta_min`
    /// not finite or negative.
    pub fn new(base_lr: f64, t_0: u64, t_mult: u64, eta_min: f64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_arg(t_0 >= 1, "T_0", t_0 as f64, ">= 1")?;
        check_arg(t_mult >= 1, "T_mult", t_mult as f64, ">= 1")?;
        check_lr("eta_min", eta_min)?;
        Ok(CosineAnnealingWarmRestarts {
            base_lr,
            t_0,
            t_mult,
            eta_min,
            t_i: t_0,
            t_cur: 0,
            last_epoch: 0,
        })
    }

    /// The lr in effect for the current step (formula in the type's documentation).
    #[inline]
    pub fn lr(&self) -> f64 {
        self.eta_min
            + (self.base_lr - self.eta_min)
                * (1.0 + super::exact::cos(PI * self.t_cur as f64 / self.t_i as f64))
                / 2.0
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Steps since the last restart (`T_cur`).
    pub fn t_cur(&self) -> u64 {
        self.t_cur
    }

    /// Length of the current period (`T_i`).
    pub fn t_i(&self) -> u64 {
        self.t_i
    }

    /// Advance one step: `T_cur += 1`; on reaching `T_i`, restart with `T_i ← T_i·T_mult`.
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.t_cur += 1;
        if self.t_cur >= self.t_i {
            self.t_cur -= self.t_i;
            self.t_i = self.t_i.saturating_mul(self.t_mult);
        }
    }

    /// Back to `t = 0` (`T_cur = 0`, `T_i = T_0`).
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.t_cur = 0;
        self.t_i = self.t_0;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.u64(self.t_0);
        w.u64(self.t_mult);
        w.f64(self.eta_min);
        w.u64(self.t_i);
        w.u64(self.t_cur);
        w.u64(self.last_epoch);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut s = params(Self::new(r.f64()?, r.u64()?, r.u64()?, r.f64()?))?;
        s.t_i = r.u64()?;
        s.t_cur = r.u64()?;
        s.last_epoch = r.u64()?;
        ensure(
            s.t_i >= s.t_0 && s.t_cur < s.t_i,
            "CosineAnnealingWarmRestarts needs T_0 <= T_i and T_cur < T_i",
        )?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_with_growing_periods() {
        let mut s = CosineAnnealingWarmRestarts::new(1.0, 2, 2, 0.0).unwrap();
        let mut restarts = [0u64; 3];
        let mut k = 0;
        for t in 0..15u64 {
            if s.t_cur() == 0 {
                assert_eq!(s.lr(), 1.0);
                if k < 3 {
                    restarts[k] = t;
                    k += 1;
                }
            }
            s.step();
        }
        assert_eq!(restarts, [0, 2, 6]);
        assert!(CosineAnnealingWarmRestarts::new(1.0, 0, 1, 0.0).is_err());
        assert!(CosineAnnealingWarmRestarts::new(1.0, 1, 0, 0.0).is_err());
    }
}
