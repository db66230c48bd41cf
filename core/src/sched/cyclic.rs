//! [`CyclicLR`]: cyclical learning rate between `base_lr` and `max_lr` (Smith 2017).

use super::codec::{bad, ensure, params, Reader, Writer};
use super::{check_finite, check_lr};
use crate::error::{check_arg, Result};

/// The amplitude policy of a [`CyclicLR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CyclicMode {
    /// `scale = 1`: a plain triangle every cycle.
    Triangular,
    /// `scale = 1 / 2^(cycle − 1)`: the amplitude halves every cycle.
    Triangular2,
    /// `scale = gamma^t` (per step, not per cycle).
    ExpRange,
}

impl CyclicMode {
    /// PyTorch's string: `"triangular"`, `"triangular2"` or `"exp_range"`.
    pub fn name(self) -> &'static str {
        match self {
            CyclicMode::Triangular => "triangular",
            CyclicMode::Triangular2 => "triangular2",
            CyclicMode::ExpRange => "exp_range",
        }
    }

    /// Parse PyTorch's string (see [`CyclicMode::name`]).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "triangular" => Some(CyclicMode::Triangular),
            "triangular2" => Some(CyclicMode::Triangular2),
            "exp_range" => Some(CyclicMode::ExpRange),
            _ => None,
        }
    }
}

/// PyTorch's `CyclicLR(optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
/// mode='triangular', gamma=1.0, cycle_momentum=True, base_momentum=0.8, max_momentum=0.9)`.
///
/// With `total = up + down`, `ratio = up / total`, at step `t`:
/// `cycle = ⌊1 + t / total⌋`, `x = 1 + t / total − cycle`,
/// `s = x / ratio` if `x <= ratio` else `(x − 1) / (ratio − 1)`,
/// `lr_t = base_lr + (max_lr − base_lr)·s·scale`, with `scale` from the [`CyclicMode`]
/// (`cycle` for the triangular modes, `t` for `exp_range`). When momentum cycling is on,
/// `momentum_t = max_momentum − (max_momentum − base_momentum)·s·scale`.
///
/// Like PyTorch, the schedule sets the lr itself: the optimizer's initial lr is ignored and the
/// lr for step 0 is `base_lr`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CyclicLR {
    base_lr: f64,
    max_lr: f64,
    step_size_up: f64,
    step_size_down: f64,
    mode: CyclicMode,
    gamma: f64,
    cycle_momentum: bool,
    base_momentum: f64,
    max_momentum: f64,
    total_size: f64,
    step_ratio: f64,
    last_epoch: u64,
}

impl CyclicLR {
    /// Default `step_size_up` (2000).
    pub const DEFAULT_STEP_SIZE_UP: f64 = 2000.0;
    /// Default `base_momentum` (0.8).
    pub const DEFAULT_BASE_MOMENTUM: f64 = 0.8;
    /// Default `max_momentum` (0.9).
    pub const DEFAULT_MAX_MOMENTUM: f64 = 0.9;

    /// Build with momentum cycling off. `step_size_down = None` means `step_size_up`.
    /// Errors: `base_lr`/`max_lr` not finite or negative, `step_size_up` not finite and `> 0`,
    /// `step_size_down` not finite and `>= 0`, `gamma` not finite and `> 0`, and a cycle so short
    /// (`up + down` below about `5e-293`) that `t / total` overflows before `t = 2^53`.
    pub fn new(
        base_lr: f64,
        max_lr: f64,
        step_size_up: f64,
        step_size_down: Option<f64>,
        mode: CyclicMode,
        gamma: f64,
    ) -> Result<Self> {
        check_lr("base_lr", base_lr)?;
        check_lr("max_lr", max_lr)?;
        check_arg(
            step_size_up.is_finite() && step_size_up > 0.0,
            "step_size_up",
            step_size_up,
            "finite and > 0",
        )?;
        let down = step_size_down.unwrap_or(step_size_up);
        check_arg(
            down.is_finite() && down >= 0.0,
            "step_size_down",
            down,
            "finite and >= 0",
        )?;
        check_arg(
            gamma.is_finite() && gamma > 0.0,
            "gamma",
            gamma,
            "finite and > 0",
        )?;
        let total_size = step_size_up + down;
        // t / total must stay finite for every step count a state can hold (up to 2^53);
        // otherwise cycle = ∞ and x = ∞ − ∞ = NaN.
        check_arg(
            (crate::optim::state::MAX_STEPS as f64 / total_size).is_finite(),
            "step_size_up",
            step_size_up,
            "large enough that step / (step_size_up + step_size_down) stays finite",
        )?;
        Ok(CyclicLR {
            base_lr,
            max_lr,
            step_size_up,
            step_size_down: down,
            mode,
            gamma,
            cycle_momentum: false,
            base_momentum: Self::DEFAULT_BASE_MOMENTUM,
            max_momentum: Self::DEFAULT_MAX_MOMENTUM,
            total_size,
            step_ratio: step_size_up / total_size,
            last_epoch: 0,
        })
    }

    /// Turn momentum cycling on (PyTorch's default `cycle_momentum=True`) between
    /// `base_momentum` and `max_momentum` (inversely to the lr). Errors: either not finite.
    pub fn with_momentum(mut self, base_momentum: f64, max_momentum: f64) -> Result<Self> {
        check_finite("base_momentum", base_momentum)?;
        check_finite("max_momentum", max_momentum)?;
        self.cycle_momentum = true;
        self.base_momentum = base_momentum;
        self.max_momentum = max_momentum;
        Ok(self)
    }

    /// `(s, scale)` for the current step.
    fn position(&self) -> (f64, f64) {
        let t = self.last_epoch as f64;
        let cycle = libm::floor(1.0 + t / self.total_size);
        let x = 1.0 + t / self.total_size - cycle;
        let s = if x <= self.step_ratio {
            x / self.step_ratio
        } else {
            (x - 1.0) / (self.step_ratio - 1.0)
        };
        let scale = match self.mode {
            CyclicMode::Triangular => 1.0,
            CyclicMode::Triangular2 => 1.0 / libm::pow(2.0, cycle - 1.0),
            CyclicMode::ExpRange => super::exact::powi(self.gamma, self.last_epoch),
        };
        (s, scale)
    }

    /// The lr in effect for the current step: `base_lr + (max_lr − base_lr)·s·scale`.
    pub fn lr(&self) -> f64 {
        let (s, scale) = self.position();
        self.base_lr + swing(self.max_lr - self.base_lr, s, scale)
    }

    /// The momentum for the current step, `max_momentum − (max_momentum − base_momentum)·s·scale`,
    /// or `None` when momentum cycling is off.
    pub fn momentum(&self) -> Option<f64> {
        if !self.cycle_momentum {
            return None;
        }
        let (s, scale) = self.position();
        Some(self.max_momentum - swing(self.max_momentum - self.base_momentum, s, scale))
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance one step (`t += 1`).
    pub fn step(&mut self) {
        self.last_epoch += 1;
    }

    /// Back to `t = 0`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.f64(self.max_lr);
        w.f64(self.step_size_up);
        w.f64(self.step_size_down);
        w.u8(self.mode as u8);
        w.f64(self.gamma);
        w.bool(self.cycle_momentum);
        w.f64(self.base_momentum);
        w.f64(self.max_momentum);
        w.u64(self.last_epoch);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let (base_lr, max_lr, up, down) = (r.f64()?, r.f64()?, r.f64()?, r.f64()?);
        let mode = match r.u8()? {
            0 => CyclicMode::Triangular,
            1 => CyclicMode::Triangular2,
            2 => CyclicMode::ExpRange,
            _ => return Err(bad("unknown CyclicLR mode")),
        };
        let mut s = params(Self::new(base_lr, max_lr, up, Some(down), mode, r.f64()?))?;
        let cycle = r.bool()?;
        let (bm, mm) = (r.f64()?, r.f64()?);
        if cycle {
            s = params(s.with_momentum(bm, mm))?;
        } else {
            ensure(
                bm.to_bits() == Self::DEFAULT_BASE_MOMENTUM.to_bits()
                    && mm.to_bits() == Self::DEFAULT_MAX_MOMENTUM.to_bits(),
                "CyclicLR momentum fields set with cycling off",
            )?;
        }
        s.last_epoch = r.u64()?;
        Ok(s)
    }
}

/// `range·s·scale`, evaluated in that order, except that it is exactly 0 when `range·s` is: at
/// the foot of a cycle (`s = 0`) exp_range's `gamma^t` may have overflowed to ∞, where PyTorch
/// computes `0·∞` = NaN.
#[inline]
fn swing(range: f64, s: f64, scale: f64) -> f64 {
    let amplitude = range * s;
    if amplitude == 0.0 {
        0.0
    } else {
        amplitude * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangle_shape_and_momentum() {
        let s0 = CyclicLR::new(0.0, 1.0, 2.0, None, CyclicMode::Triangular, 1.0)
            .unwrap()
            .with_momentum(0.8, 0.9)
            .unwrap();
        let mut s = s0;
        let mut got = [0.0; 6];
        for g in &mut got {
            *g = s.lr();
            s.step();
        }
        assert_eq!(got, [0.0, 0.5, 1.0, 0.5, 0.0, 0.5]);
        assert_eq!(s0.momentum(), Some(0.9));
        let mut t2 = CyclicLR::new(0.0, 1.0, 1.0, None, CyclicMode::Triangular2, 1.0).unwrap();
        t2.step();
        t2.step();
        t2.step();
        assert_eq!(t2.lr(), 0.5);
        assert_eq!(t2.momentum(), None);
        assert!(CyclicLR::new(0.0, 1.0, 0.0, None, CyclicMode::Triangular, 1.0).is_err());
        assert!(CyclicLR::new(0.0, 1.0, 1.0, Some(-1.0), CyclicMode::Triangular, 1.0).is_err());
        assert!(CyclicLR::new(0.0, 1.0, 1.0, None, CyclicMode::ExpRange, 0.0).is_err());
    }
}
