//! Two-class logistic loss, `torch.nn.SoftMarginLoss`.

use super::{regression, Reduction};
use crate::error::Result;
use crate::Float;

/// `nn.SoftMarginLoss(reduction='mean')` on scores `x` and targets `y` (normally ±1; any
/// value is accepted, as in PyTorch), flat arrays of equal length: with `z_i = y_i x_i`,
///
/// `l_i = ln(1 + e^{-z_i})`, computed stably as `max(-z, 0) + ln(1 + e^{-|z|})`;
/// `dl_i/dx_i = -y_i σ(-z_i) = -y_i / (1 + e^{z_i})`, divided by `n` for `Mean`.
///
/// Where PyTorch evaluates `log1p(exp(-z))` literally, so that `-z` above about 88.7 (f32)
/// or 709.8 (f64) overflows to an infinite loss and a NaN gradient, this loss stays finite
/// (`-z` and `-y`); everywhere else the two agree to rounding. Errors: `target` / `out` /
/// `grad_input` length. See the [module docs](crate::loss) for the calling convention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftMarginLoss {
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl SoftMarginLoss {
    /// `SoftMarginLoss(reduction)`.
    pub fn new(reduction: Reduction) -> Self {
        Self { reduction }
    }

    /// Loss value: `Σ l_i` (see the type docs), divided by `n` for `Mean`; per-element into
    /// `out` for `None`.
    pub fn forward<T: Float>(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        regression(self.reduction, input, target, out, None, f)
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)`:
    /// `-y_i σ(-y_i x_i)`, times `1/n` for `Mean`.
    pub fn forward_backward<T: Float>(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        regression(self.reduction, input, target, out, Some(grad_input), f)
    }
}

#[inline(always)]
fn f<T: Float>(x: T, y: T) -> (T, T) {
    let z = y * x;
    let e = (-z.abs()).exp();
    let l = (-z).max(T::ZERO) + e.ln_1p();
    // σ(-z) without overflow.
    let s = if z >= T::ZERO {
        e / (T::ONE + e)
    } else {
        T::ONE / (T::ONE + e)
    };
    // NaN z: `max` would drop it from the value, so pass it on explicitly.
    if z.is_nan() {
        (z, z)
    } else {
        (l, -y * s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_and_stability() {
        let x = [0.3f64, -2.0, 4.0, 0.0, 1.5];
        let y = [1.0f64, 1.0, -1.0, 0.5, 0.0];
        let mut out = [0.0; 5];
        let mut g = [0.0; 5];
        SoftMarginLoss::new(Reduction::None)
            .forward_backward(&x, &y, &mut out, &mut g)
            .unwrap();
        for i in 0..5 {
            let z = x[i] * y[i];
            assert!((out[i] - (1.0 + (-z).exp()).ln()).abs() < 1e-14, "{i}");
            assert!((g[i] + y[i] / (1.0 + z.exp())).abs() < 1e-14, "{i}");
        }
        // Where PyTorch overflows (inf loss, NaN gradient): finite, exact limits.
        let mut out = [0.0f32; 2];
        let mut g = [0.0f32; 2];
        SoftMarginLoss::new(Reduction::None)
            .forward_backward(&[100.0, -100.0], &[-1.0, -1.0], &mut out, &mut g)
            .unwrap();
        assert_eq!(out[0], 100.0);
        assert_eq!(g[0], 1.0);
        // e^-100, a subnormal f32: positive and tiny, not flushed.
        assert!(out[1] > 0.0 && out[1] < 1e-43 && g[1] > 0.0 && g[1] < 1e-43);
        // NaN propagates.
        let mut out = [0.0f64; 2];
        let mut g = [0.0f64; 2];
        SoftMarginLoss::new(Reduction::None)
            .forward_backward(&[f64::NAN, 1.0], &[1.0, f64::NAN], &mut out, &mut g)
            .unwrap();
        assert!(out.iter().chain(&g).all(|v| v.is_nan()));
    }
}
