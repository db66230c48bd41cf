//! [`ChainedScheduler`]: several schedules applied to one learning rate, each step in turn.

use super::codec::{ensure, params, Reader, Writer};
use super::sequential::{decode_count, decode_schedules, MAX_SEQUENTIAL};
use super::Schedule;
use crate::error::{check_arg, Result};

/// PyTorch's `ChainedScheduler(schedulers)`.
///
/// The schedules act on one shared lr in order, as PyTorch's chainable forms act on
/// `group["lr"]`: at construction each applies its initial step to the lr the ones before it
/// left (`ConstantLR` multiplies by `factor`, `LinearLR` by `start_factor`); at each step each
/// advances and applies its recursion (`StepLR`, `MultiStepLR`, `ExponentialLR`: a factor;
/// `ConstantLR`: `1/factor` at `total_iters`; `LinearLR`, `PolynomialLR`,
/// `CosineAnnealingLR`: their chainable updates). A closed form (`CyclicLR`, `OneCycleLR`,
/// `CosineAnnealingWarmRestarts`, `InverseTime`, `InverseSqrtTime`) sets the lr outright, so
/// only the schedules after it scale it. Build every schedule with the optimizer's initial lr
/// (PyTorch's `initial_lr`). E.g. `ConstantLR(factor=0.1, total_iters=20)` then
/// `ExponentialLR(gamma=0.9)` on lr 0.05: 0.005, 0.0045, …, then ×10 at step 20.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainedScheduler {
    schedules: [Schedule; MAX_SEQUENTIAL],
    n: usize,
    lr: f64,
    last_epoch: u64,
}

impl ChainedScheduler {
    /// Chain `schedules` (1 to [`MAX_SEQUENTIAL`], each fresh: they are reset). Errors name
    /// `schedulers`.
    pub fn new(schedules: &[Schedule]) -> Result<Self> {
        let n = schedules.len();
        check_arg(
            (1..=MAX_SEQUENTIAL).contains(&n),
            "schedulers",
            n as f64,
            "1 to 4 schedulers",
        )?;
        let mut first = schedules[0];
        first.reset()?;
        // Unused slots hold the fresh first schedule, so equal chains compare equal.
        let mut arr = [first; MAX_SEQUENTIAL];
        for (dst, s) in arr.iter_mut().zip(schedules).skip(1) {
            *dst = *s;
            dst.reset()?;
        }
        let mut lr = f64::NAN;
        for (i, s) in arr[..n].iter().enumerate() {
            lr = if i == 0 { s.lr() } else { s.chain_initial(lr) };
        }
        Ok(ChainedScheduler {
            schedules: arr,
            n,
            lr,
            last_epoch: 0,
        })
    }

    /// The chained schedules.
    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules[..self.n]
    }

    /// The lr in effect for the current step.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The momentum of the last schedule that cycles momentum (each sets it in turn), if any.
    pub fn momentum(&self) -> Option<f64> {
        self.schedules().iter().rev().find_map(|s| s.momentum())
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance every schedule one step, in order, on the shared lr. Errors, leaving the state
    /// unchanged, when one cannot step (a `OneCycleLR` past its end).
    pub fn step(&mut self) -> Result<()> {
        let mut next = *self;
        let mut lr = self.lr;
        for s in next.schedules[..self.n].iter_mut() {
            lr = s.chain_step(lr)?;
        }
        next.lr = lr;
        next.last_epoch += 1;
        *self = next;
        Ok(())
    }

    /// Back to the state right after construction.
    pub fn reset(&mut self) -> Result<()> {
        *self = Self::new(self.schedules())?;
        Ok(())
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u64(self.n as u64);
        w.u64(self.last_epoch);
        w.f64(self.lr);
        for s in self.schedules() {
            s.encode(w);
        }
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let n = decode_count(r, "ChainedScheduler schedule count out of range")?;
        let last_epoch = r.u64()?;
        let lr = r.f64()?;
        let arr = decode_schedules(r, n)?;
        // Validate the parameters; then restore the exact saved children and state.
        let mut s = params(Self::new(&arr[..n]))?;
        s.schedules[..n].copy_from_slice(&arr[..n]);
        ensure(!lr.is_nan(), "ChainedScheduler lr is NaN")?;
        ensure(
            s.schedules().iter().all(|c| c.last_epoch() == last_epoch),
            "ChainedScheduler schedules out of step",
        )?;
        s.lr = lr;
        s.last_epoch = last_epoch;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::{ConstantLR, ExponentialLR, StepLR};

    #[test]
    fn pytorch_docstring_example() {
        // ConstantLR(factor=0.1, total_iters=20) then ExponentialLR(gamma=0.9), lr 0.05.
        let c = ConstantLR::new(0.05, 0.1, 20).unwrap().into();
        let e = ExponentialLR::new(0.05, 0.9).unwrap().into();
        let mut s = ChainedScheduler::new(&[c, e]).unwrap();
        let mut lrs = [0.0; 22];
        for lr in &mut lrs {
            *lr = s.lr();
            s.step().unwrap();
        }
        assert!((lrs[0] - 0.005).abs() < 1e-15);
        assert!((lrs[1] - 0.0045).abs() < 1e-15);
        assert!((lrs[19] - 0.05 * 0.1 * 0.9f64.powi(19)).abs() < 1e-15);
        assert!((lrs[20] - 0.05 * 0.9f64.powi(20)).abs() < 1e-15);
        assert!((lrs[21] - 0.05 * 0.9f64.powi(21)).abs() < 1e-15);
        assert_eq!(s.last_epoch(), 22);
    }

    #[test]
    fn one_schedule_is_that_schedule() {
        let st: Schedule = StepLR::new(0.1, 3, 0.5).unwrap().into();
        let mut c = ChainedScheduler::new(&[st]).unwrap();
        let mut alone = st;
        for _ in 0..10 {
            assert_eq!(c.lr().to_bits(), alone.lr().to_bits());
            c.step().unwrap();
            alone.step().unwrap();
        }
    }

    #[test]
    fn counts_are_checked() {
        assert!(ChainedScheduler::new(&[]).is_err());
        let e: Schedule = ExponentialLR::new(0.1, 0.9).unwrap().into();
        assert!(ChainedScheduler::new(&[e; 5]).is_err());
    }
}
