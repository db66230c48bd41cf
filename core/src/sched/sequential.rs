//! [`SequentialLR`]: run schedules one after another, switching at milestones.

use super::codec::{ensure, params, Reader, Writer};
use super::Schedule;
use crate::error::{check_arg, Result};

/// Most schedules a [`SequentialLR`] chains (a fixed array: no allocation).
pub const MAX_SEQUENTIAL: usize = 4;

/// PyTorch's `SequentialLR(optimizer, schedulers, milestones)`.
///
/// With schedules `s_0 … s_{n−1}` and non-decreasing milestones `m_1 … m_{n−1}`, step `t` is
/// governed by `s_i` where `i = #{j : m_j <= t}` (`bisect_right`). Before the first step `s_0`
/// starts fresh; at `t = m_i` schedule `s_i` restarts at its own step 0 (with PyTorch's closed
/// form there, as `scheduler.step(0)` does); otherwise the governing schedule steps once.
/// Each schedule keeps its own base lr (build them all with the optimizer's initial lr, like
/// PyTorch, where they share `initial_lr`); `CyclicLR`/`OneCycleLR` set their own lrs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialLR {
    schedules: [Schedule; MAX_SEQUENTIAL],
    n: usize,
    milestones: [u64; MAX_SEQUENTIAL - 1],
    active: usize,
    last_epoch: u64,
}

impl SequentialLR {
    /// Chain `schedules` (1 to [`MAX_SEQUENTIAL`]), switching at `milestones`
    /// (`schedules.len() − 1` of them, non-decreasing, `>= 1`). The first schedule is reset to its
    /// step 0. Errors name `schedulers` or `milestones`.
    pub fn new(schedules: &[Schedule], milestones: &[u64]) -> Result<Self> {
        let n = schedules.len();
        check_arg(
            (1..=MAX_SEQUENTIAL).contains(&n),
            "schedulers",
            n as f64,
            "1 to 4 schedulers",
        )?;
        check_arg(
            milestones.len() + 1 == n,
            "milestones",
            milestones.len() as f64,
            "exactly len(schedulers) - 1 milestones",
        )?;
        check_arg(
            milestones.iter().all(|&m| m >= 1),
            "milestones",
            0.0,
            "milestones >= 1 (PyTorch never switches at step 0)",
        )?;
        check_arg(
            milestones.windows(2).all(|w| w[0] <= w[1]),
            "milestones",
            f64::NAN,
            "non-decreasing milestones",
        )?;
        let mut first = schedules[0];
        first.reset()?;
        // Unused slots hold the fresh first schedule, so equal chains compare equal.
        let mut arr = [first; MAX_SEQUENTIAL];
        arr[1..n].copy_from_slice(&schedules[1..]);
        let mut ms = [0u64; MAX_SEQUENTIAL - 1];
        ms[..n - 1].copy_from_slice(milestones);
        Ok(SequentialLR {
            schedules: arr,
            n,
            milestones: ms,
            active: 0,
            last_epoch: 0,
        })
    }

    /// The chained schedules.
    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules[..self.n]
    }

    /// The milestones.
    pub fn milestones(&self) -> &[u64] {
        &self.milestones[..self.n - 1]
    }

    /// Index of the schedule governing the current step.
    pub fn active(&self) -> usize {
        self.active
    }

    /// The lr in effect for the current step (that of the governing schedule).
    #[inline]
    pub fn lr(&self) -> f64 {
        self.schedules[self.active].lr()
    }

    /// The governing schedule's momentum, if it cycles momentum.
    pub fn momentum(&self) -> Option<f64> {
        self.schedules[self.active].momentum()
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance one step (rules in the type's documentation). Errors, leaving the state
    /// unchanged, when the governing schedule cannot step (a `OneCycleLR` past its end).
    pub fn step(&mut self) -> Result<()> {
        let t = self.last_epoch + 1;
        let ms = &self.milestones[..self.n - 1];
        let idx = ms.iter().filter(|&&m| m <= t).count();
        let mut next = self.schedules[idx];
        if idx > 0 && ms[idx - 1] == t {
            next.restart(self.schedules[self.active].lr())?;
        } else {
            next.step()?;
        }
        self.schedules[idx] = next;
        self.active = idx;
        self.last_epoch = t;
        Ok(())
    }

    /// Back to the state right after construction.
    pub fn reset(&mut self) -> Result<()> {
        self.schedules[0].reset()?;
        self.active = 0;
        self.last_epoch = 0;
        Ok(())
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u64(self.n as u64);
        for &m in self.milestones() {
            w.u64(m);
        }
        w.u64(self.active as u64);
        w.u64(self.last_epoch);
        for s in self.schedules() {
            s.encode(w);
        }
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let n = decode_count(r, "SequentialLR schedule count out of range")?;
        let mut ms = [0u64; MAX_SEQUENTIAL - 1];
        for m in ms.iter_mut().take(n - 1) {
            *m = r.u64()?;
        }
        let active = r.u64()?;
        let last_epoch = r.u64()?;
        let arr = decode_schedules(r, n)?;
        // Validate the parameters; then restore the exact saved children (the first one
        // included: `new` resets it).
        let mut s = params(Self::new(&arr[..n], &ms[..n - 1]))?;
        s.schedules[..n].copy_from_slice(&arr[..n]);
        let want = s.milestones().iter().filter(|&&m| m <= last_epoch).count() as u64;
        ensure(active == want, "SequentialLR active schedule inconsistent")?;
        s.active = active as usize;
        s.last_epoch = last_epoch;
        Ok(s)
    }
}

/// A stored schedule count, 1 to [`MAX_SEQUENTIAL`] (`BadState` with `what` otherwise).
pub(crate) fn decode_count(r: &mut Reader, what: &'static str) -> Result<usize> {
    let n = r.u64()?;
    ensure((1..=MAX_SEQUENTIAL as u64).contains(&n), what)?;
    Ok(n as usize)
}

/// `n` stored schedules (unused slots repeat the first).
pub(crate) fn decode_schedules(r: &mut Reader, n: usize) -> Result<[Schedule; MAX_SEQUENTIAL]> {
    let first = Schedule::decode(r)?;
    let mut arr = [first; MAX_SEQUENTIAL];
    for s in arr.iter_mut().take(n).skip(1) {
        *s = Schedule::decode(r)?;
    }
    Ok(arr)
}
