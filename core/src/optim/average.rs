//! [`WeightAverage`]: a running average of the parameters (stochastic weight averaging or an
//! exponential moving average), as PyTorch's `torch.optim.swa_utils.AveragedModel`.

use crate::error::{check_arg, check_len, Result};
use crate::Float;

/// How [`WeightAverage`] averages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Averaging {
    /// Stochastic weight averaging, the equal-weight mean of every averaged iterate
    /// (`AveragedModel(model)`'s default): `θ̄ ← θ̄ + (θ − θ̄) / (n + 1)`.
    Swa,
    /// Exponential moving average (`AveragedModel(model,
    /// multi_avg_fn=get_ema_multi_avg_fn(decay))`): `θ̄ ← lerp(θ̄, θ, 1 − decay)`.
    Ema {
        /// The weight of the old average, in `[0, 1]` (PyTorch's default 0.999).
        decay: f64,
    },
}

impl Averaging {
    /// PyTorch's default EMA decay (`get_ema_multi_avg_fn(decay=0.999)`).
    pub const DEFAULT_EMA_DECAY: f64 = 0.999;

    /// `"swa"` or `"ema"`.
    pub fn name(self) -> &'static str {
        match self {
            Averaging::Swa => "swa",
            Averaging::Ema { .. } => "ema",
        }
    }
}

/// A running average `θ̄` of parameter vectors, kept by the caller in a buffer of the
/// parameters' length; this holds the rule and the count `n` of iterates averaged so far.
///
/// [`update`](Self::update) does what PyTorch's `AveragedModel.update_parameters` does to each
/// floating-point parameter, rounding as PyTorch's CPU kernels do (so the averages match
/// PyTorch's bit for bit in the golden tests):
///
/// * first update (`n = 0`): `θ̄ ← θ` (a copy, for both rules);
/// * [`Averaging::Swa`]: `θ̄ ← θ̄ + (θ − θ̄) / (n + 1)`, each operation rounded in `T`;
/// * [`Averaging::Ema`]: with `w = 1 − decay` rounded to `T`, `d = θ − θ̄` rounded,
///   `θ̄ ← fma(w, d, θ̄)` when `|w| < 0.5`, else `fma(w − 1, d, θ)` (`torch.lerp`'s two
///   forms, one rounding each);
///
/// then `n ← n + 1`. Evaluate with `θ̄` in place of `θ` (`AveragedModel`'s forward).
///
/// ```
/// use descent_core::optim::{Averaging, WeightAverage};
/// let mut avg = [0.0f32; 2];
/// let mut wa = WeightAverage::new(Averaging::Swa)?;
/// for theta in [[1.0f32, 2.0], [3.0, 4.0], [5.0, 0.0]] {
///     wa.update(&mut avg, &theta)?; // after each optimizer step (or epoch)
/// }
/// assert_eq!(avg, [3.0, 2.0]);
/// assert_eq!(wa.n_averaged(), 3);
/// # Ok::<(), descent_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightAverage {
    rule: Averaging,
    n_averaged: u64,
}

impl WeightAverage {
    /// A fresh average (`n = 0`). Errors: an EMA `decay` outside `[0, 1]` (PyTorch's
    /// `ValueError`), NaN included.
    pub fn new(rule: Averaging) -> Result<Self> {
        if let Averaging::Ema { decay } = rule {
            check_arg((0.0..=1.0).contains(&decay), "decay", decay, "in [0, 1]")?;
        }
        Ok(WeightAverage {
            rule,
            n_averaged: 0,
        })
    }

    /// An average that has already taken `n_averaged` iterates (restoring a saved one, whose
    /// buffer the caller keeps). Errors as [`new`](Self::new).
    pub fn with_n_averaged(rule: Averaging, n_averaged: u64) -> Result<Self> {
        let mut s = Self::new(rule)?;
        s.n_averaged = n_averaged;
        Ok(s)
    }

    /// The rule.
    pub fn rule(&self) -> Averaging {
        self.rule
    }

    /// Iterates averaged so far (`n`, PyTorch's `n_averaged`).
    pub fn n_averaged(&self) -> u64 {
        self.n_averaged
    }

    /// Average `params` into `average` (formulas on the type) and count it. Errors:
    /// `average` and `params` of different lengths (nothing changes).
    pub fn update<T: Float>(&mut self, average: &mut [T], params: &[T]) -> Result<()> {
        check_len("average", average.len(), params.len())?;
        self.apply(average, params);
        self.advance();
        Ok(())
    }

    /// The element-wise part of [`update`](Self::update) for the current `n`, on any part of
    /// the vectors (element `i` of `average` depends only on element `i` of both), without
    /// counting: run it over every element, in chunks as you like (descent-kernels does, in
    /// parallel), then call [`advance`](Self::advance) once. Only the common prefix of the
    /// two slices is touched.
    #[inline]
    pub fn apply<T: Float>(&self, average: &mut [T], params: &[T]) {
        let pairs = average.iter_mut().zip(params);
        if self.n_averaged == 0 {
            pairs.for_each(|(a, &p)| *a = p);
            return;
        }
        match self.rule {
            Averaging::Swa => {
                // PyTorch: avg + (p − avg) / (n + 1), each step rounded in T.
                let n1 = T::from_f64(self.n_averaged as f64 + 1.0);
                pairs.for_each(|(a, &p)| *a = *a + (p - *a) / n1);
            }
            Averaging::Ema { decay } => {
                let w = T::from_f64(1.0 - decay);
                if w.abs() < T::from_f64(0.5) {
                    pairs.for_each(|(a, &p)| *a = w.mul_add(p - *a, *a));
                } else {
                    let w1 = w - T::ONE;
                    pairs.for_each(|(a, &p)| *a = w1.mul_add(p - *a, p));
                }
            }
        }
    }

    /// Count one update (`n ← n + 1`) after [`apply`](Self::apply) has covered every element.
    pub fn advance(&mut self) {
        self.n_averaged = self.n_averaged.saturating_add(1);
    }

    /// Forget every iterate (`n = 0`): the next update copies.
    pub fn reset(&mut self) {
        self.n_averaged = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swa_is_the_running_mean() {
        let mut wa = WeightAverage::new(Averaging::Swa).unwrap();
        let mut avg = [f64::NAN; 3];
        let xs = [
            [1.0, -2.0, 8.0],
            [3.0, 4.0, 0.0],
            [2.0, 1.0, 1.0],
            [6.0, 1.0, 3.0],
        ];
        for x in &xs {
            wa.update(&mut avg, x).unwrap();
        }
        assert_eq!(avg, [3.0, 1.0, 3.0]);
        assert_eq!(wa.n_averaged(), 4);
    }

    #[test]
    fn ema_copies_then_decays() {
        let mut wa = WeightAverage::new(Averaging::Ema { decay: 0.75 }).unwrap();
        let mut avg = [0.0f32; 2];
        wa.update(&mut avg, &[4.0, -4.0]).unwrap();
        assert_eq!(avg, [4.0, -4.0]);
        wa.update(&mut avg, &[8.0, 0.0]).unwrap();
        assert_eq!(avg, [5.0, -3.0]);
        // decay 0.25: w = 0.75 takes lerp's second form, still exact here.
        let mut wb = WeightAverage::with_n_averaged(Averaging::Ema { decay: 0.25 }, 1).unwrap();
        wb.update(&mut avg, &[1.0, 1.0]).unwrap();
        assert_eq!(avg, [2.0, 0.0]);
        // decay 1 keeps the first copy; decay 0 follows the iterate.
        let mut keep = WeightAverage::new(Averaging::Ema { decay: 1.0 }).unwrap();
        let mut follow = WeightAverage::new(Averaging::Ema { decay: 0.0 }).unwrap();
        let (mut a, mut b) = ([0.0f32], [0.0f32]);
        for x in [1.5f32, -7.0, 3.25] {
            keep.update(&mut a, &[x]).unwrap();
            follow.update(&mut b, &[x]).unwrap();
        }
        assert_eq!((a, b), ([1.5], [3.25]));
    }

    #[test]
    fn errors_change_nothing() {
        assert!(WeightAverage::new(Averaging::Ema { decay: 1.5 }).is_err());
        assert!(WeightAverage::new(Averaging::Ema { decay: f64::NAN }).is_err());
        let mut wa = WeightAverage::new(Averaging::Swa).unwrap();
        let mut avg = [1.0f32; 2];
        assert!(wa.update(&mut avg, &[2.0f32; 3]).is_err());
        assert_eq!((avg, wa.n_averaged()), ([1.0; 2], 0));
        wa.update(&mut avg, &[2.0f32; 2]).unwrap();
        wa.reset();
        assert_eq!(wa.n_averaged(), 0);
    }
}
