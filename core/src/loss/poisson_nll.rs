//! Negative log-likelihood of a Poisson target, `torch.nn.PoissonNLLLoss`.

use super::{regression, Reduction};
use crate::error::Result;
use crate::Float;

/// `nn.PoissonNLLLoss(log_input=True, full=False, eps=1e-8, reduction='mean')` on predicted
/// rates `x` and counts `y` (flat arrays of equal length):
///
/// * `log_input = true` (`x` is the log-rate): `l_i = e^{x_i} - y_i x_i`,
///   `dl_i/dx_i = e^{x_i} - y_i`;
/// * `log_input = false` (`x` is the rate): `l_i = x_i - y_i ln(x_i + eps)`,
///   `dl_i/dx_i = 1 - y_i / (x_i + eps)`.
///
/// With `full`, the Stirling approximation of `ln(y!)`, `y ln y - y + ½ ln(2π y)`, is added
/// where `y > 1` (PyTorch masks it with `target <= 1`, so a NaN target keeps it, and it is 0
/// for `y <= 1`); it does not depend on `x`, so the gradient is unchanged.
///
/// As in PyTorch nothing is validated but the lengths: a negative rate with `log_input =
/// false` gives `ln` of a negative, NaN; a large log-rate overflows `e^x` to infinity; any
/// target value (negative, fractional) is used as given. Errors: `target` / `out` /
/// `grad_input` length. See the [module docs](crate::loss) for the calling convention.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoissonNLLLoss<T> {
    /// Whether the input is the log of the rate (default true).
    pub log_input: bool,
    /// Whether to add the Stirling term (default false).
    pub full: bool,
    /// Added to the rate inside the log when `log_input` is false (default 1e-8).
    pub eps: T,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T: Float> Default for PoissonNLLLoss<T> {
    /// `PoissonNLLLoss()`: `log_input = true`, `full = false`, `eps = 1e-8`, `Mean`.
    fn default() -> Self {
        Self {
            log_input: true,
            full: false,
            eps: T::from_f64(1e-8),
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> PoissonNLLLoss<T> {
    /// `PoissonNLLLoss(log_input, full, eps=eps, reduction=reduction)`.
    pub fn new(log_input: bool, full: bool, eps: T, reduction: Reduction) -> Self {
        Self {
            log_input,
            full,
            eps,
            reduction,
        }
    }

    /// Loss value: `Σ l_i` (see the type docs), divided by `n` for `Mean`; per-element into
    /// `out` for `None`.
    pub fn forward(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        regression(self.reduction, input, target, out, None, |x, y| {
            self.f(x, y)
        })
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)`: `e^{x_i} - y_i`
    /// (`log_input`) or `1 - y_i / (x_i + eps)`, times `1/n` for `Mean`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        regression(
            self.reduction,
            input,
            target,
            out,
            Some(grad_input),
            |x, y| self.f(x, y),
        )
    }

    #[inline(always)]
    fn f(&self, x: T, y: T) -> (T, T) {
        let (l, d) = if self.log_input {
            let e = x.exp();
            (e - y * x, e - y)
        } else {
            let r = x + self.eps;
            (x - y * r.ln(), T::ONE - y / r)
        };
        // PyTorch: stirling.masked_fill(target <= 1, 0), so NaN targets keep the term.
        let l = if self.full && (y > T::ONE || y.is_nan()) {
            l + stirling(y)
        } else {
            l
        };
        (l, d)
    }
}

/// `y ln y - y + ½ ln(2π y)`, PyTorch's approximation of `ln(y!)`.
#[inline(always)]
fn stirling<T: Float>(y: T) -> T {
    y * y.ln() - y + T::HALF * (T::TWO * T::PI * y).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parametrizations_and_stirling() {
        let x = [0.5f64, -1.0, 2.0, 0.0];
        let y = [0.0f64, 1.0, 3.0, 1.5];
        let mut out = [0.0; 4];
        let mut g = [0.0; 4];
        PoissonNLLLoss::new(true, true, 1e-8, Reduction::None)
            .forward_backward(&x, &y, &mut out, &mut g)
            .unwrap();
        let st = |y: f64| y * y.ln() - y + 0.5 * (2.0 * core::f64::consts::PI * y).ln();
        for i in 0..4 {
            let extra = if y[i] > 1.0 { st(y[i]) } else { 0.0 };
            assert!((out[i] - (x[i].exp() - y[i] * x[i] + extra)).abs() < 1e-12);
            assert!((g[i] - (x[i].exp() - y[i])).abs() < 1e-12);
        }
        // PyTorch (f32): log_input=False, full=True: [0.5, nan, 1.6846400, 27.860889],
        // gradients [1, 2, -0.5, -1.5e8].
        let x = [0.5f32, -1.0, 2.0, 0.0];
        let y = [0.0f32, 1.0, 3.0, 1.5];
        let mut out = [0.0f32; 4];
        let mut g = [0.0f32; 4];
        PoissonNLLLoss::new(false, true, 1e-8, Reduction::None)
            .forward_backward(&x, &y, &mut out, &mut g)
            .unwrap();
        assert_eq!(out[0], 0.5);
        assert!(out[1].is_nan());
        assert!((out[2] - 1.684_64).abs() < 1e-5 && (out[3] - 27.860_89).abs() < 1e-4);
        assert_eq!(&g[..3], &[1.0, 2.0, -0.5]);
        assert!((g[3] / -1.5e8 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn defaults_and_reductions() {
        let l = PoissonNLLLoss::<f32>::default();
        assert!(l.log_input && !l.full && l.reduction == Reduction::Mean);
        assert_eq!(l.eps, 1e-8);
        let x = [0.0f64, 1.0];
        let y = [2.0f64, 0.0];
        let mut g = [0.0; 2];
        let v = PoissonNLLLoss::new(true, false, 1e-8, Reduction::Mean)
            .forward_backward(&x, &y, &mut [], &mut g)
            .unwrap();
        assert!((v - (1.0 + 1f64.exp()) / 2.0).abs() < 1e-15);
        assert!((g[0] + 0.5).abs() < 1e-15 && (g[1] - 1f64.exp() / 2.0).abs() < 1e-15);
        // NaN target: its loss is NaN (and `full` keeps the NaN Stirling term).
        let mut out = [0.0; 2];
        PoissonNLLLoss::new(true, true, 1e-8, Reduction::None)
            .forward(&[0.0, 0.0], &[f64::NAN, 1.0], &mut out)
            .unwrap();
        assert!(out[0].is_nan() && out[1] == 1.0);
    }
}
