//! [`SWALR`]: anneal the lr to a constant `swa_lr` for stochastic weight averaging.

use super::codec::{bad, ensure, params, Reader, Writer};
use super::{check_lr, AnnealStrategy};
use crate::error::{check_arg, Result};
use core::f64::consts::PI;

/// PyTorch's `torch.optim.swa_utils.SWALR(optimizer, swa_lr, anneal_epochs=10,
/// anneal_strategy="cos")`: from the lr in effect to `swa_lr` over `anneal_epochs` steps, then
/// `swa_lr` for good. Meant for the averaging phase of stochastic weight averaging
/// ([`WeightAverage`](crate::optim::WeightAverage)), usually after another schedule in a
/// [`SequentialLR`](super::SequentialLR).
///
/// With `a(t)` = `(1 − cos(π t))/2` (`"cos"`) or `t` (`"linear"`) and
/// `t_k = clamp(k / max(1, anneal_epochs), 0, 1)`, PyTorch's recursive form on the group's lr
/// is computed in the same operation order:
///
/// `lr_k = swa_lr · a(t_k) + (1 − a(t_k)) · (lr_{k−1} − a(t_{k−1}) · swa_lr) / (1 − a(t_{k−1}))`
///
/// (the middle factor is `swa_lr` when `a(t_{k−1}) = 1`), which is
/// `lr_k = swa_lr · a(t_k) + base_lr · (1 − a(t_k))` up to rounding. `k` counts the steps
/// since construction; `anneal_epochs = 0` counts as `k >= 1` from the start, so the lr is
/// `swa_lr` right away. In a `SequentialLR` it starts at its milestone from the lr in effect
/// (PyTorch's `step(0)`: `k` back to 0); in a
/// [`ChainedScheduler`](super::ChainedScheduler) it anneals the lr the schedules before it
/// left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SWALR {
    base_lr: f64,
    swa_lr: f64,
    anneal_epochs: u64,
    strategy: AnnealStrategy,
    last_epoch: u64,
    lr: f64,
}

impl SWALR {
    /// Default `anneal_epochs` (10).
    pub const DEFAULT_ANNEAL_EPOCHS: u64 = 10;

    /// Build for initial lr `base_lr` (the optimizer's lr when PyTorch's constructor runs).
    /// Errors: `lr` or `swa_lr` not finite or negative.
    pub fn new(
        base_lr: f64,
        swa_lr: f64,
        anneal_epochs: u64,
        strategy: AnnealStrategy,
    ) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_lr("swa_lr", swa_lr)?;
        check_arg(
            anneal_epochs < 1 << 53,
            "anneal_epochs",
            anneal_epochs as f64,
            "below 2^53",
        )?;
        let mut s = SWALR {
            base_lr,
            swa_lr,
            anneal_epochs,
            strategy,
            last_epoch: 0,
            lr: base_lr,
        };
        s.lr = s.next(base_lr, 0);
        Ok(s)
    }

    /// The lr in effect for the current step.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The lr it anneals to.
    pub fn swa_lr(&self) -> f64 {
        self.swa_lr
    }

    /// Steps the annealing takes.
    pub fn anneal_epochs(&self) -> u64 {
        self.anneal_epochs
    }

    /// Cosine or linear annealing.
    pub fn anneal_strategy(&self) -> AnnealStrategy {
        self.strategy
    }

    /// Number of `step` calls so far (`k`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// `a(t)`: PyTorch's `_cosine_anneal` / `_linear_anneal`.
    fn anneal(&self, t: f64) -> f64 {
        match self.strategy {
            AnnealStrategy::Cos => (1.0 - super::exact::cos(PI * t)) / 2.0,
            AnnealStrategy::Linear => t,
        }
    }

    /// `clamp(k / max(1, anneal_epochs), 0, 1)` (`k` may be −1).
    fn t_of(&self, k: i64) -> f64 {
        let t = k as f64 / self.anneal_epochs.max(1) as f64;
        t.clamp(0.0, 1.0)
    }

    /// PyTorch's `get_lr` at step count `k` on the lr in effect `lr`.
    fn next(&self, lr: f64, k: u64) -> f64 {
        let k = if self.anneal_epochs == 0 { k.max(1) } else { k } as i64;
        let prev_alpha = self.anneal(self.t_of(k - 1));
        let prev_lr = if prev_alpha == 1.0 {
            self.swa_lr
        } else {
            (lr - prev_alpha * self.swa_lr) / (1.0 - prev_alpha)
        };
        let alpha = self.anneal(self.t_of(k));
        self.swa_lr * alpha + prev_lr * (1.0 - alpha)
    }

    /// Advance one step: `lr ← get_lr(k + 1)` on the current lr (formula on the type).
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.lr = self.chain(self.lr);
    }

    /// PyTorch's chainable step on the lr `lr` left by the schedules before (after this
    /// schedule's own `step`).
    pub(crate) fn chain(&self, lr: f64) -> f64 {
        self.next(lr, self.last_epoch)
    }

    /// The lr after construction when the lr in effect is `lr` (`swa_lr` when
    /// `anneal_epochs = 0`, else `lr`).
    pub(crate) fn initial(&self, lr: f64) -> f64 {
        self.next(lr, 0)
    }

    /// Back to `k = 0` on `base_lr`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.next(self.base_lr, 0);
    }

    /// PyTorch's `step(0)` at a `SequentialLR` milestone: `k = 0` on the lr in effect `lr`.
    pub(crate) fn restart(&mut self, lr: f64) {
        self.last_epoch = 0;
        self.lr = self.next(lr, 0);
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.f64(self.swa_lr);
        w.u64(self.anneal_epochs);
        w.u8(match self.strategy {
            AnnealStrategy::Cos => 0,
            AnnealStrategy::Linear => 1,
        });
        w.u64(self.last_epoch);
        w.f64(self.lr);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let (base_lr, swa_lr, anneal_epochs) = (r.f64()?, r.f64()?, r.u64()?);
        let strategy = match r.u8()? {
            0 => AnnealStrategy::Cos,
            1 => AnnealStrategy::Linear,
            _ => return Err(bad("SWALR anneal strategy unknown")),
        };
        let mut s = params(Self::new(base_lr, swa_lr, anneal_epochs, strategy))?;
        s.last_epoch = r.u64()?;
        s.lr = r.f64()?;
        ensure(s.lr.is_finite() && s.lr >= 0.0, "SWALR lr invalid")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anneals_to_swa_lr_and_stays() {
        let mut s = SWALR::new(0.1, 0.02, 4, AnnealStrategy::Linear).unwrap();
        let mut lrs = [0.0; 7];
        for lr in &mut lrs {
            *lr = s.lr();
            s.step();
        }
        let want = [0.1, 0.08, 0.06, 0.04, 0.02, 0.02, 0.02];
        for (g, w) in lrs.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{lrs:?}");
        }
        // Cosine: halfway at k = 2 of 4.
        let mut c = SWALR::new(0.1, 0.02, 4, AnnealStrategy::Cos).unwrap();
        c.step();
        c.step();
        assert!((c.lr() - 0.06).abs() < 1e-15);
        c.reset();
        assert_eq!((c.lr(), c.last_epoch()), (0.1, 0));
    }

    #[test]
    fn zero_anneal_epochs_is_swa_lr_at_once() {
        let s = SWALR::new(0.1, 0.03, 0, AnnealStrategy::Cos).unwrap();
        assert_eq!(s.lr(), 0.03);
        assert_eq!(s.initial(0.5), 0.03);
    }

    #[test]
    fn arguments_are_checked() {
        assert!(SWALR::new(0.1, -1.0, 3, AnnealStrategy::Cos).is_err());
        assert!(SWALR::new(0.1, f64::NAN, 3, AnnealStrategy::Cos).is_err());
        assert!(SWALR::new(f64::INFINITY, 0.1, 3, AnnealStrategy::Cos).is_err());
        assert!(SWALR::new(0.1, 0.1, u64::MAX, AnnealStrategy::Cos).is_err());
    }
}
