//! Kullback-Leibler divergence, `torch.nn.KLDivLoss`.

use super::{check_grad, check_out, pointwise};
use crate::error::{check_len, Result};
use crate::{Error, Float};

/// PyTorch's `reduction` for [`KLDivLoss`], which alone also accepts `'batchmean'`.
///
/// `None`: per-element `l_i`; `Sum`: `Σ l_i`; `Mean`: `Σ l_i / numel` (PyTorch's default,
/// which is *not* the mathematical KL divergence); `BatchMean`: `Σ l_i / N` with `N` the
/// size of the first dimension (the true KL divergence per sample).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KLDivReduction {
    /// `reduction='none'`.
    None,
    /// `reduction='mean'` (default): divide by the number of elements.
    #[default]
    Mean,
    /// `reduction='sum'`.
    Sum,
    /// `reduction='batchmean'`: divide by the batch size `N`.
    BatchMean,
}

/// `nn.KLDivLoss(reduction='mean', log_target=False)` with input `x` = log-probabilities and
/// target `y` (probabilities, or log-probabilities when `log_target`), flat `[N, ...]`:
///
/// * `log_target = false`: `l_i = y_i ln y_i - y_i x_i` (PyTorch's `xlogy`, so `0 ln 0 = 0`),
///   `dl_i/dx_i = -y_i`;
/// * `log_target = true`: `l_i = e^{y_i} (y_i - x_i)`, `dl_i/dx_i = -e^{y_i}`.
///
/// Reduction per [`KLDivReduction`]. Negative probabilities give NaN (`ln` of a negative), as
/// in PyTorch. Errors: `target` / `out` / `grad_input` length, and `batch` (`N`) must
/// divide `input.len()` and be > 0 unless the input is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KLDivLoss {
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: KLDivReduction,
    /// Whether the target is given as log-probabilities (default false).
    pub log_target: bool,
}

impl KLDivLoss {
    /// `KLDivLoss(reduction, log_target)`.
    pub fn new(reduction: KLDivReduction, log_target: bool) -> Self {
        Self {
            reduction,
            log_target,
        }
    }

    /// Loss value; `batch` is the input's first dimension `N` (used by `BatchMean`,
    /// validated always). Per-element losses into `out` for `None`.
    pub fn forward<T: Float>(
        &self,
        input: &[T],
        target: &[T],
        batch: usize,
        out: &mut [T],
    ) -> Result<T> {
        self.run(input, target, batch, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)` (`-y_i` or
    /// `-e^{y_i}`, divided by `numel` for `Mean`, by `N` for `BatchMean`).
    pub fn forward_backward<T: Float>(
        &self,
        input: &[T],
        target: &[T],
        batch: usize,
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run(input, target, batch, out, Some(grad_input))
    }

    fn run<T: Float>(
        &self,
        input: &[T],
        target: &[T],
        batch: usize,
        out: &mut [T],
        grad: Option<&mut [T]>,
    ) -> Result<T> {
        let n = input.len();
        check_len("target", target.len(), n)?;
        let batch_ok = n.is_multiple_of(batch);
        if !batch_ok {
            return Err(Error::InvalidArgument {
                name: "batch",
                value: batch as f64,
                expected: "a divisor of input.len() (the first dimension), > 0 unless empty",
            });
        }
        let none = self.reduction == KLDivReduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, n)?;
        let divisor = match self.reduction {
            KLDivReduction::Mean => T::from_usize(n),
            KLDivReduction::BatchMean => T::from_usize(batch),
            _ => T::ONE,
        };
        Ok(if self.log_target {
            pointwise(input, target, none, divisor, out, grad, |x, y| {
                let e = y.exp();
                (e * (y - x), -e)
            })
        } else {
            pointwise(input, target, none, divisor, out, grad, |x, y| {
                let ylny = if y == T::ZERO { T::ZERO } else { y * y.ln() };
                (ylny - y * x, -y)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_target_and_reductions() {
        let x = [(0.25f64).ln(), (0.75f64).ln(), (0.5f64).ln(), (0.5f64).ln()];
        let y = [0.0f64, 1.0, 0.5, 0.5];
        let s = KLDivLoss::new(KLDivReduction::Sum, false)
            .forward(&x, &y, 2, &mut [])
            .unwrap();
        assert!((s - (1.0f64 / 0.75).ln()).abs() < 1e-15);
        let m = KLDivLoss::new(KLDivReduction::Mean, false)
            .forward(&x, &y, 2, &mut [])
            .unwrap();
        assert!((m - s / 4.0).abs() < 1e-15);
        let b = KLDivLoss::new(KLDivReduction::BatchMean, false)
            .forward(&x, &y, 2, &mut [])
            .unwrap();
        assert!((b - s / 2.0).abs() < 1e-15);
        // log_target gives the same value with ln y (ln 0 = -inf, e^-inf = 0 → 0 * inf = NaN
        // in PyTorch too, so compare only the strictly positive part).
        let ly = [0.5f64.ln(), 0.5f64.ln()];
        let a = KLDivLoss::new(KLDivReduction::Sum, true)
            .forward(&x[2..], &ly, 1, &mut [])
            .unwrap();
        assert!(a.abs() < 1e-15);
    }

    #[test]
    fn batch_errors() {
        let l = KLDivLoss::default();
        assert!(matches!(
            l.forward(&[0.0f32; 6], &[0.0; 6], 4, &mut []),
            Err(Error::InvalidArgument { name: "batch", .. })
        ));
        assert!(matches!(
            l.forward(&[0.0f32; 6], &[0.0; 6], 0, &mut []),
            Err(Error::InvalidArgument { name: "batch", .. })
        ));
        assert!(matches!(
            l.forward(&[0.0f32; 6], &[0.0; 5], 3, &mut []),
            Err(Error::ShapeMismatch { what: "target", .. })
        ));
        assert!(l.forward::<f32>(&[], &[], 0, &mut []).unwrap().is_nan());
    }
}
