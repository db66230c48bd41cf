//! [`ReduceLROnPlateau`]: cut the lr by `factor` when a metric stops improving.

use super::codec::{bad, ensure, params, Reader, Writer};
use super::{check_finite, check_lr};
use crate::error::{check_arg, Result};

/// Whether lower ([`PlateauMode::Min`], e.g. a loss) or higher (`Max`, e.g. accuracy) is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower metric is better.
    Min,
    /// Higher metric is better.
    Max,
}

/// How `threshold` defines a significant improvement over `best`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Relative: `a < best·(1 − threshold)` (min) or `a > best·(1 + threshold)` (max).
    Rel,
    /// Absolute: `a < best − threshold` (min) or `a > best + threshold` (max).
    Abs,
}

impl PlateauMode {
    /// Parse PyTorch's string, `"min"` or `"max"`.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "min" => Some(PlateauMode::Min),
            "max" => Some(PlateauMode::Max),
            _ => None,
        }
    }
}

impl ThresholdMode {
    /// Parse PyTorch's string, `"rel"` or `"abs"`.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "rel" => Some(ThresholdMode::Rel),
            "abs" => Some(ThresholdMode::Abs),
            _ => None,
        }
    }
}

/// PyTorch's `ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10,
/// threshold=1e-4, threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8)`.
///
/// After each epoch, `step(metric)`: if the metric is better than `best` (see
/// [`ThresholdMode`]) it becomes `best` and the bad-epoch count resets, else the count grows.
/// During a cooldown the count is held at 0. When the count exceeds `patience`,
/// `new = max(lr·factor, min_lr)` replaces `lr` if `lr − new > eps`, the cooldown restarts at
/// `cooldown` steps and the count resets. NaN metrics are never better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReduceLROnPlateau {
    mode: PlateauMode,
    factor: f64,
    patience: u64,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: u64,
    min_lr: f64,
    eps: f64,
    lr: f64,
    best: f64,
    num_bad_epochs: u64,
    cooldown_counter: u64,
    last_epoch: u64,
}

/// The keyword arguments of [`ReduceLROnPlateau`], with PyTorch's defaults from `Default`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateauConfig {
    /// `mode` (default `Min`).
    pub mode: PlateauMode,
    /// `factor`, in `[0, 1)` (default 0.1).
    pub factor: f64,
    /// `patience` (default 10).
    pub patience: u64,
    /// `threshold` (default 1e-4).
    pub threshold: f64,
    /// `threshold_mode` (default `Rel`).
    pub threshold_mode: ThresholdMode,
    /// `cooldown` (default 0).
    pub cooldown: u64,
    /// `min_lr` (default 0).
    pub min_lr: f64,
    /// `eps` (default 1e-8).
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

impl ReduceLROnPlateau {
    /// Build for an optimizer whose current lr is `lr`. Errors: `lr`, `min_lr` or `eps` not
    /// finite or negative, `factor` outside `[0, 1)`, `threshold` not finite.
    pub fn new(lr: f64, cfg: PlateauConfig) -> Result<Self> {
        check_lr("lr", lr)?;
        check_arg(
            (0.0..1.0).contains(&cfg.factor),
            "factor",
            cfg.factor,
            "in [0, 1)",
        )?;
        check_finite("threshold", cfg.threshold)?;
        check_lr("min_lr", cfg.min_lr)?;
        check_lr("eps", cfg.eps)?;
        Ok(ReduceLROnPlateau {
            mode: cfg.mode,
            factor: cfg.factor,
            patience: cfg.patience,
            threshold: cfg.threshold,
            threshold_mode: cfg.threshold_mode,
            cooldown: cfg.cooldown,
            min_lr: cfg.min_lr,
            eps: cfg.eps,
            lr,
            best: Self::worst(cfg.mode),
            num_bad_epochs: 0,
            cooldown_counter: 0,
            last_epoch: 0,
        })
    }

    fn worst(mode: PlateauMode) -> f64 {
        match mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        }
    }

    /// The configuration this scheduler was built with.
    pub fn config(&self) -> PlateauConfig {
        PlateauConfig {
            mode: self.mode,
            factor: self.factor,
            patience: self.patience,
            threshold: self.threshold,
            threshold_mode: self.threshold_mode,
            cooldown: self.cooldown,
            min_lr: self.min_lr,
            eps: self.eps,
        }
    }

    /// The lr in effect now.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Best metric so far (±∞ before the first step).
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Consecutive epochs without improvement (PyTorch's `num_bad_epochs`).
    pub fn num_bad_epochs(&self) -> u64 {
        self.num_bad_epochs
    }

    /// Number of `step` calls so far.
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// PyTorch's `is_better(a, best)` (see [`ThresholdMode`]).
    fn is_better(&self, a: f64) -> bool {
        let (best, th) = (self.best, self.threshold);
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - th),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - th,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (th + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + th,
        }
    }

    /// Record the epoch's `metric` and reduce the lr on a plateau (rules in the type's docs).
    pub fn step(&mut self, metric: f64) {
        self.last_epoch += 1;
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            let old = self.lr;
            let prod = old * self.factor;
            // Python's max(a, b) returns a unless b > a.
            let new = if self.min_lr > prod {
                self.min_lr
            } else {
                prod
            };
            if old - new > self.eps {
                self.lr = new;
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.mode as u8);
        w.f64(self.factor);
        w.u64(self.patience);
        w.f64(self.threshold);
        w.u8(self.threshold_mode as u8);
        w.u64(self.cooldown);
        w.f64(self.min_lr);
        w.f64(self.eps);
        w.f64(self.lr);
        w.f64(self.best);
        w.u64(self.num_bad_epochs);
        w.u64(self.cooldown_counter);
        w.u64(self.last_epoch);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mode = match r.u8()? {
            0 => PlateauMode::Min,
            1 => PlateauMode::Max,
            _ => return Err(bad("unknown ReduceLROnPlateau mode")),
        };
        let (factor, patience, threshold) = (r.f64()?, r.u64()?, r.f64()?);
        let threshold_mode = match r.u8()? {
            0 => ThresholdMode::Rel,
            1 => ThresholdMode::Abs,
            _ => return Err(bad("unknown ReduceLROnPlateau threshold_mode")),
        };
        let (cooldown, min_lr, eps, lr) = (r.u64()?, r.f64()?, r.f64()?, r.f64()?);
        let cfg = PlateauConfig {
            mode,
            factor,
            patience,
            threshold,
            threshold_mode,
            cooldown,
            min_lr,
            eps,
        };
        let mut s = params(Self::new(lr, cfg))?;
        s.best = r.f64()?;
        s.num_bad_epochs = r.u64()?;
        s.cooldown_counter = r.u64()?;
        s.last_epoch = r.u64()?;
        ensure(!s.best.is_nan(), "ReduceLROnPlateau best is NaN")?;
        ensure(
            s.num_bad_epochs <= s.patience && s.cooldown_counter <= s.cooldown,
            "ReduceLROnPlateau counters out of range",
        )?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduces_after_patience_and_respects_cooldown_and_min_lr() {
        let cfg = PlateauConfig {
            factor: 0.5,
            patience: 1,
            cooldown: 1,
            min_lr: 0.2,
            ..PlateauConfig::default()
        };
        let mut s = ReduceLROnPlateau::new(1.0, cfg).unwrap();
        let mut got = [0.0; 8];
        for g in &mut got {
            s.step(1.0); // first improves (∞ → 1), then a plateau
            *g = s.lr();
        }
        // bad: 1 (ok), 2 → cut to .5 + cooldown; cooldown eats one; bad 1, 2 → .25; …, min .2
        assert_eq!(got, [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]);
        for _ in 0..6 {
            s.step(1.0);
        }
        assert_eq!(s.lr(), 0.2);
        assert!(ReduceLROnPlateau::new(
            1.0,
            PlateauConfig {
                factor: 1.0,
                ..PlateauConfig::default()
            }
        )
        .is_err());
    }
}
