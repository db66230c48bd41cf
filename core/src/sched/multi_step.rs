//! [`MultiStepLR`]: multiply the learning rate by `gamma` at each milestone.

use super::check_lr;
use super::codec::{ensure, params, Reader, Writer};
use crate::error::{check_arg, Result};

/// Most milestones a [`MultiStepLR`] holds (they live in a fixed array: no allocation).
pub const MAX_MILESTONES: usize = 32;

/// PyTorch's `MultiStepLR(optimizer, milestones, gamma=0.1)`.
///
/// `lr_t = lr_{t-1} · gamma^{c(t)}` where `c(t)` is how many times `t` occurs in `milestones`
/// (also applied at `t = 0`, as PyTorch does; `lr_{-1} = base_lr`). Equivalently
/// `lr_t = base_lr · gamma^{#{m ∈ milestones : m <= t}}`, accumulated step by step.
/// Milestones may be given in any order and may repeat (like PyTorch's `Counter`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiStepLR {
    base_lr: f64,
    milestones: [u64; MAX_MILESTONES],
    n: usize,
    gamma: f64,
    last_epoch: u64,
    lr: f64,
}

impl MultiStepLR {
    /// Default `gamma` (0.1).
    pub const DEFAULT_GAMMA: f64 = 0.1;

    /// Build for initial lr `base_lr`. Errors: more than [`MAX_MILESTONES`] milestones, `lr` or
    /// `gamma` not finite or negative.
    pub fn new(base_lr: f64, milestones: &[u64], gamma: f64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_arg(
            milestones.len() <= MAX_MILESTONES,
            "milestones",
            milestones.len() as f64,
            "at most 32 milestones",
        )?;
        check_arg(
            gamma.is_finite() && gamma >= 0.0,
            "gamma",
            gamma,
            "finite and >= 0",
        )?;
        let mut ms = [0u64; MAX_MILESTONES];
        ms[..milestones.len()].copy_from_slice(milestones);
        ms[..milestones.len()].sort_unstable();
        let mut s = MultiStepLR {
            base_lr,
            milestones: ms,
            n: milestones.len(),
            gamma,
            last_epoch: 0,
            lr: base_lr,
        };
        s.reset();
        Ok(s)
    }

    /// The milestones, sorted.
    pub fn milestones(&self) -> &[u64] {
        &self.milestones[..self.n]
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

    /// `lr · gamma^{c(t)}` as Python evaluates `lr * gamma ** count` (unchanged when `c = 0`).
    /// An lr of 0 stays 0 even when `gamma^c` overflows to ∞ (where Python raises
    /// `OverflowError` and `0 · ∞` would be NaN).
    fn apply(&mut self) {
        self.lr = self.chain(self.lr);
    }

    /// PyTorch's chainable step on the current lr `lr` (after `t` advanced):
    /// `lr · gamma^{c(t)}`.
    pub(crate) fn chain(&self, lr: f64) -> f64 {
        let t = self.last_epoch;
        let c = self.milestones().iter().filter(|&&m| m == t).count();
        if c > 0 && lr != 0.0 {
            lr * super::exact::powi(self.gamma, c as u64)
        } else {
            lr
        }
    }

    /// Advance one step: `t += 1`, then `lr ← lr · gamma^{c(t)}`.
    pub fn step(&mut self) {
        self.last_epoch += 1;
        self.apply();
    }

    /// Back to the state right after construction (`t = 0`).
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.base_lr;
        self.apply();
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.u64(self.n as u64);
        for &m in self.milestones() {
            w.u64(m);
        }
        w.f64(self.gamma);
        w.u64(self.last_epoch);
        w.f64(self.lr);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let base_lr = r.f64()?;
        let n = r.u64()?;
        ensure(n <= MAX_MILESTONES as u64, "too many milestones")?;
        let mut ms = [0u64; MAX_MILESTONES];
        for m in ms.iter_mut().take(n as usize) {
            *m = r.u64()?;
        }
        ensure(
            ms[..n as usize].windows(2).all(|w| w[0] <= w[1]),
            "MultiStepLR milestones not sorted",
        )?;
        let mut s = params(Self::new(base_lr, &ms[..n as usize], r.f64()?))?;
        s.last_epoch = r.u64()?;
        s.lr = r.f64()?;
        ensure(!s.lr.is_nan(), "MultiStepLR lr is NaN")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsorted_and_repeated_milestones() {
        let mut s = MultiStepLR::new(1.0, &[3, 1, 3], 0.5).unwrap();
        assert_eq!(s.milestones(), &[1, 3, 3]);
        let mut got = [0.0; 5];
        for g in &mut got {
            *g = s.lr();
            s.step();
        }
        assert_eq!(got, [1.0, 0.5, 0.5, 0.125, 0.125]);
        // A milestone at 0 applies at construction, as in PyTorch.
        assert_eq!(MultiStepLR::new(1.0, &[0], 0.5).unwrap().lr(), 0.5);
        assert!(MultiStepLR::new(1.0, &[1; 33], 0.5).is_err());
    }
}
