//! [`OneCycleLR`]: the 1cycle policy (warm up to `max_lr`, then anneal far below the start).

use super::codec::{bad, params, Reader, Writer};
use super::{check_finite, check_lr};
use crate::error::{check_arg, Error, Result};
use core::f64::consts::PI;

/// How a [`OneCycleLR`] phase interpolates from its start value to its end value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnealStrategy {
    /// `end + (start − end)/2 · (1 + cos(π·pct))`.
    Cos,
    /// `(end − start)·pct + start`.
    Linear,
}

impl AnnealStrategy {
    /// PyTorch's string: `"cos"` or `"linear"`.
    pub fn name(self) -> &'static str {
        match self {
            AnnealStrategy::Cos => "cos",
            AnnealStrategy::Linear => "linear",
        }
    }

    /// Parse PyTorch's string (see [`AnnealStrategy::name`]).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "cos" => Some(AnnealStrategy::Cos),
            "linear" => Some(AnnealStrategy::Linear),
            _ => None,
        }
    }

    /// Interpolate: `Cos`: `end + (start − end)/2·(cos(π·pct) + 1)`; `Linear`: `(end − start)·pct + start`.
    #[inline]
    pub fn anneal(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            AnnealStrategy::Cos => {
                let cos_out = super::exact::cos(PI * pct) + 1.0;
                end + (start - end) / 2.0 * cos_out
            }
            AnnealStrategy::Linear => (end - start) * pct + start,
        }
    }
}

/// PyTorch's `OneCycleLR(optimizer, max_lr, total_steps, pct_start=0.3, anneal_strategy='cos',
/// cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
/// final_div_factor=1e4, three_phase=False)`.
///
/// `initial_lr = max_lr / div_factor`, `min_lr = initial_lr / final_div_factor`. Phase ends (in
/// steps) are `e_1 = pct_start·total_steps − 1` and `e_last = total_steps − 1`
/// (three-phase: `e_2 = 2·pct_start·total_steps − 2`). Two phases: `initial_lr → max_lr` up to
/// `e_1`, then `max_lr → min_lr`; three phases: `initial_lr → max_lr → initial_lr → min_lr`.
/// Within a phase from `s` to `e`: `lr_t = anneal(start, end, (t − s)/(e − s))`. Momentum, when
/// cycled, moves the opposite way between `max_momentum` and `base_momentum`.
///
/// Like PyTorch, the optimizer's initial lr is ignored, and stepping beyond `total_steps` is an
/// error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneCycleLR {
    max_lr: f64,
    total_steps: u64,
    pct_start: f64,
    anneal: AnnealStrategy,
    div_factor: f64,
    final_div_factor: f64,
    three_phase: bool,
    cycle_momentum: bool,
    base_momentum: f64,
    max_momentum: f64,
    initial_lr: f64,
    min_lr: f64,
    last_epoch: u64,
    lr: f64,
    momentum: f64,
}

impl OneCycleLR {
    /// Default `pct_start` (0.3).
    pub const DEFAULT_PCT_START: f64 = 0.3;
    /// Default `div_factor` (25).
    pub const DEFAULT_DIV_FACTOR: f64 = 25.0;
    /// Default `final_div_factor` (1e4).
    pub const DEFAULT_FINAL_DIV_FACTOR: f64 = 1e4;
    /// Default `base_momentum` (0.85).
    pub const DEFAULT_BASE_MOMENTUM: f64 = 0.85;
    /// Default `max_momentum` (0.95).
    pub const DEFAULT_MAX_MOMENTUM: f64 = 0.95;

    /// Build with momentum cycling off (see [`OneCycleLR::with_momentum`]).
    /// Errors: `max_lr` not finite or negative, `total_steps == 0`, `pct_start` outside
    /// `[0, 1]`, `div_factor`/`final_div_factor` not finite and `> 0`, or a phase of zero
    /// length reached at step 0 (PyTorch divides by zero there).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        max_lr: f64,
        total_steps: u64,
        pct_start: f64,
        anneal: AnnealStrategy,
        div_factor: f64,
        final_div_factor: f64,
        three_phase: bool,
    ) -> Result<Self> {
        check_lr("max_lr", max_lr)?;
        check_arg(total_steps >= 1, "total_steps", total_steps as f64, ">= 1")?;
        check_arg(
            (0.0..=1.0).contains(&pct_start),
            "pct_start",
            pct_start,
            "in [0, 1]",
        )?;
        check_arg(
            div_factor.is_finite() && div_factor > 0.0,
            "div_factor",
            div_factor,
            "finite and > 0",
        )?;
        check_arg(
            final_div_factor.is_finite() && final_div_factor > 0.0,
            "final_div_factor",
            final_div_factor,
            "finite and > 0",
        )?;
        let initial_lr = max_lr / div_factor;
        check_arg(
            initial_lr.is_finite() && (initial_lr / final_div_factor).is_finite(),
            "div_factor",
            div_factor,
            "large enough that max_lr / div_factor / final_div_factor is finite",
        )?;
        let mut s = OneCycleLR {
            max_lr,
            total_steps,
            pct_start,
            anneal,
            div_factor,
            final_div_factor,
            three_phase,
            cycle_momentum: false,
            base_momentum: Self::DEFAULT_BASE_MOMENTUM,
            max_momentum: Self::DEFAULT_MAX_MOMENTUM,
            initial_lr,
            min_lr: initial_lr / final_div_factor,
            last_epoch: 0,
            lr: 0.0,
            momentum: 0.0,
        };
        s.reset()?;
        Ok(s)
    }

    /// Like PyTorch's `epochs` and `steps_per_epoch`: `total_steps = epochs · steps_per_epoch`.
    /// Errors: either is 0 (or the product overflows), plus those of [`OneCycleLR::new`].
    #[allow(clippy::too_many_arguments)]
    pub fn with_epochs(
        max_lr: f64,
        epochs: u64,
        steps_per_epoch: u64,
        pct_start: f64,
        anneal: AnnealStrategy,
        div_factor: f64,
        final_div_factor: f64,
        three_phase: bool,
    ) -> Result<Self> {
        check_arg(epochs >= 1, "epochs", epochs as f64, ">= 1")?;
        check_arg(
            steps_per_epoch >= 1,
            "steps_per_epoch",
            steps_per_epoch as f64,
            ">= 1",
        )?;
        let total = epochs
            .checked_mul(steps_per_epoch)
            .ok_or(Error::InvalidArgument {
                name: "steps_per_epoch",
                value: steps_per_epoch as f64,
                expected: "epochs * steps_per_epoch < 2^64",
            })?;
        Self::new(
            max_lr,
            total,
            pct_start,
            anneal,
            div_factor,
            final_div_factor,
            three_phase,
        )
    }

    /// Turn momentum cycling on (PyTorch's default) between `base_momentum` and `max_momentum`.
    /// Errors: either not finite.
    pub fn with_momentum(mut self, base_momentum: f64, max_momentum: f64) -> Result<Self> {
        check_finite("base_momentum", base_momentum)?;
        check_finite("max_momentum", max_momentum)?;
        self.cycle_momentum = true;
        self.base_momentum = base_momentum;
        self.max_momentum = max_momentum;
        self.reset()?;
        Ok(self)
    }

    /// `(lr, momentum)` at step `t`, or the error PyTorch raises (beyond `total_steps`, or a
    /// zero-length phase).
    fn compute(&self, t: u64) -> Result<(f64, f64)> {
        if t > self.total_steps {
            return Err(Error::InvalidArgument {
                name: "total_steps",
                value: self.total_steps as f64,
                expected: "no more steps than total_steps",
            });
        }
        let n = self.total_steps as f64;
        let (il, ml, lo) = (self.initial_lr, self.max_lr, self.min_lr);
        let (bm, mm) = (self.base_momentum, self.max_momentum);
        // (end_step, start_lr, end_lr, start_momentum, end_momentum)
        let two = [
            (self.pct_start * n - 1.0, il, ml, mm, bm),
            (n - 1.0, ml, lo, bm, mm),
            (0.0, 0.0, 0.0, 0.0, 0.0),
        ];
        let three = [
            (self.pct_start * n - 1.0, il, ml, mm, bm),
            (2.0 * self.pct_start * n - 2.0, ml, il, bm, mm),
            (n - 1.0, il, lo, mm, mm),
        ];
        let phases: &[_] = if self.three_phase { &three } else { &two[..2] };
        let tf = t as f64;
        let mut start_step = 0.0;
        for (i, &(end_step, l0, l1, m0, m1)) in phases.iter().enumerate() {
            if tf <= end_step || i == phases.len() - 1 {
                let den = end_step - start_step;
                if den == 0.0 {
                    return Err(Error::InvalidArgument {
                        name: "pct_start",
                        value: self.pct_start,
                        expected: "phases of non-zero length (PyTorch divides by zero here)",
                    });
                }
                let pct = (tf - start_step) / den;
                return Ok((
                    self.anneal.anneal(l0, l1, pct),
                    self.anneal.anneal(m0, m1, pct),
                ));
            }
            start_step = end_step;
        }
        Err(bad("unreachable: OneCycleLR has no phase"))
    }

    /// The lr in effect for the current step (formula in the type's documentation).
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The momentum for the current step, or `None` when momentum cycling is off.
    #[inline]
    pub fn momentum(&self) -> Option<f64> {
        self.cycle_momentum.then_some(self.momentum)
    }

    /// Total number of steps of the cycle.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance one step. Errors (state unchanged) past `total_steps`, like PyTorch.
    pub fn step(&mut self) -> Result<()> {
        let t = self.last_epoch + 1;
        let (lr, m) = self.compute(t)?;
        self.last_epoch = t;
        self.lr = lr;
        self.momentum = m;
        Ok(())
    }

    /// Back to `t = 0` (errors only for a zero-length first phase, as at construction).
    pub fn reset(&mut self) -> Result<()> {
        let (lr, m) = self.compute(0)?;
        self.last_epoch = 0;
        self.lr = lr;
        self.momentum = m;
        Ok(())
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.max_lr);
        w.u64(self.total_steps);
        w.f64(self.pct_start);
        w.u8(self.anneal as u8);
        w.f64(self.div_factor);
        w.f64(self.final_div_factor);
        w.bool(self.three_phase);
        w.bool(self.cycle_momentum);
        w.f64(self.base_momentum);
        w.f64(self.max_momentum);
        w.u64(self.last_epoch);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let (max_lr, total, pct) = (r.f64()?, r.u64()?, r.f64()?);
        let anneal = match r.u8()? {
            0 => AnnealStrategy::Cos,
            1 => AnnealStrategy::Linear,
            _ => return Err(bad("unknown OneCycleLR anneal_strategy")),
        };
        let (df, fdf, three) = (r.f64()?, r.f64()?, r.bool()?);
        let mut s = params(Self::new(max_lr, total, pct, anneal, df, fdf, three))?;
        let cycle = r.bool()?;
        let (bm, mm) = (r.f64()?, r.f64()?);
        if cycle {
            s = params(s.with_momentum(bm, mm))?;
        } else if bm.to_bits() != Self::DEFAULT_BASE_MOMENTUM.to_bits()
            || mm.to_bits() != Self::DEFAULT_MAX_MOMENTUM.to_bits()
        {
            return Err(bad("OneCycleLR momentum fields set with cycling off"));
        }
        let t = r.u64()?;
        let (lr, m) = s
            .compute(t)
            .map_err(|_| bad("OneCycleLR step beyond total_steps"))?;
        s.last_epoch = t;
        s.lr = lr;
        s.momentum = m;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_at_max_lr_and_ends_at_min_lr() {
        let mut s = OneCycleLR::new(1.0, 10, 0.3, AnnealStrategy::Linear, 10.0, 100.0, false)
            .unwrap()
            .with_momentum(0.85, 0.95)
            .unwrap();
        assert_eq!(s.lr(), 0.1);
        assert_eq!(s.momentum(), Some(0.95));
        s.step().unwrap();
        s.step().unwrap();
        assert_eq!(s.lr(), 1.0);
        assert_eq!(s.momentum(), Some(0.85));
        while s.last_epoch() < 9 {
            s.step().unwrap();
        }
        assert!((s.lr() - 0.001).abs() < 1e-15);
        s.step().unwrap(); // t = total_steps is still allowed, as in PyTorch
        let before = s;
        assert!(s.step().is_err());
        assert_eq!(s, before);
        assert!(OneCycleLR::new(1.0, 0, 0.3, AnnealStrategy::Cos, 25.0, 1e4, false).is_err());
        assert!(OneCycleLR::new(1.0, 10, 1.5, AnnealStrategy::Cos, 25.0, 1e4, false).is_err());
        // pct_start·total_steps = 1: the first phase has zero length, PyTorch divides by zero.
        assert!(OneCycleLR::new(1.0, 10, 0.1, AnnealStrategy::Cos, 25.0, 1e4, false).is_err());
    }
}
