//! Binary cross-entropy on probabilities, `torch.nn.BCELoss`.

use super::bce_with_logits::broadcast;
use super::{check_grad, check_out, Reduction};
use crate::error::{check_len, Result};
use crate::sum::CascadeSum;
use crate::{Error, Float};

/// `nn.BCELoss(weight=None, reduction='mean')` on probabilities `x` and targets `y`, both in
/// `[0, 1]`, flat arrays of equal length:
///
/// `l_i = -w_i [ y_i max(ln x_i, -100) + (1 - y_i) max(ln(1 - x_i), -100) ]`
///
/// (PyTorch's clamp of each log at -100, so `x = 0` or `x = 1` give finite losses, at most
/// `100 w_i`; `ln(1 - x)` is computed as `ln_1p(-x)`, as PyTorch does).
///
/// Gradient, as PyTorch's `binary_cross_entropy_backward` (not the derivative of the clamped
/// value): `dl_i/dx_i = w_i (x_i - y_i) / max((1 - x_i) x_i, 1e-12)`, divided by `n` for
/// `Mean`. At `x = 0` it is `-w y 1e12`, at `x = 1` it is `w (1 - y) 1e12`; so a confident
/// correct prediction (`x = y = 0` or `x = y = 1`) has gradient exactly 0.
///
/// `weight` is broadcast over the trailing dimensions as in
/// [`BCEWithLogitsLoss`](super::BCEWithLogitsLoss): any length `L` dividing `input.len()`,
/// `w_i = weight[i mod L]` (a full per-element weight, or one per class `[C]`). PyTorch's other
/// broadcastable shapes (e.g. `[N, 1]`) must be expanded by the caller. `Mean` divides by `n`,
/// not by the weights.
///
/// Errors: `target` / `out` / `grad_input` length; `weight` of length 0 or not dividing
/// `input.len()`; any `input` element outside `[0, 1]` ([`Error::InvalidArgument`] named
/// `input` with the offending value, where PyTorch raises a `RuntimeError`) and likewise any
/// `target` element outside `[0, 1]` (named `target`). The check runs before anything is
/// written. NaN is not an error here (PyTorch rejects it): it propagates into its element's
/// loss and gradient, as everywhere in this module.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BCELoss<'a, T> {
    /// Per-element rescaling weight, broadcast as a trailing block (default `None`).
    pub weight: Option<&'a [T]>,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T> Default for BCELoss<'_, T> {
    /// `BCELoss()`: no weight, `Mean`.
    fn default() -> Self {
        Self {
            weight: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<'a, T: Float> BCELoss<'a, T> {
    /// `BCELoss(weight, reduction)`.
    pub fn new(weight: Option<&'a [T]>, reduction: Reduction) -> Self {
        Self { weight, reduction }
    }

    /// Loss value: `Σ l_i` (see the type docs), divided by `n` for `Mean`; per-element into
    /// `out` for `None`.
    pub fn forward(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        self.run(input, target, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)`:
    /// `w_i (x_i - y_i) / max((1 - x_i) x_i, 1e-12)`, times `1/n` for `Mean`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run(input, target, out, Some(grad_input))
    }

    fn run(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        mut grad: Option<&mut [T]>,
    ) -> Result<T> {
        let n = input.len();
        check_len("target", target.len(), n)?;
        let ones = [T::ONE];
        let weight = broadcast("weight", self.weight, n, &ones)?;
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, n)?;
        check_unit("input", input)?;
        check_unit("target", target)?;
        let divisor = if self.reduction == Reduction::Mean {
            T::from_usize(n)
        } else {
            T::ONE
        };
        let scale = T::ONE / divisor;
        let floor = T::from_f64(-100.0);
        let eps = T::from_f64(1e-12);
        let mut sum = CascadeSum::new();
        let lw = weight.len();
        let mut iw = 0usize;
        for (i, (&x, &y)) in input.iter().zip(target).enumerate() {
            let w = weight[iw];
            iw += 1;
            if iw == lw {
                iw = 0;
            }
            // PyTorch's CPU kernel: (y - 1) max(log1p(-x), -100) - y max(log(x), -100).
            let l = w
                * ((y - T::ONE) * clamp_below((-x).ln_1p(), floor)
                    - y * clamp_below(x.ln(), floor));
            sum.add(l);
            if none {
                out[i] = l;
            }
            if let Some(g) = grad.as_deref_mut() {
                let d = clamp_below((T::ONE - x) * x, eps);
                g[i] = w * ((x - y) / d) * scale;
            }
        }
        Ok(sum.total() / divisor)
    }
}

/// `max(v, lo)` as C++'s `std::max(v, lo)`: NaN `v` stays NaN.
#[inline(always)]
fn clamp_below<T: Float>(v: T, lo: T) -> T {
    if v < lo {
        lo
    } else {
        v
    }
}

/// Every element in `[0, 1]` (NaN passes).
fn check_unit<T: Float>(name: &'static str, v: &[T]) -> Result<()> {
    match v.iter().find(|&&x| x < T::ZERO || x > T::ONE) {
        None => Ok(()),
        Some(&x) => Err(Error::InvalidArgument {
            name,
            value: x.to_f64(),
            expected: "every element in [0, 1]",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_formula_with_trailing_weight() {
        let x = [0.3f64, 0.9, 0.5, 0.01];
        let y = [1.0f64, 0.0, 0.25, 0.5];
        let w = [2.0, 0.5];
        let mut out = [0.0; 4];
        let mut g = [0.0; 4];
        let v = BCELoss::new(Some(&w[..]), Reduction::None)
            .forward_backward(&x, &y, &mut out, &mut g)
            .unwrap();
        for i in 0..4 {
            let wi = w[i % 2];
            let want = -wi * (y[i] * x[i].ln() + (1.0 - y[i]) * (1.0 - x[i]).ln());
            assert!((out[i] - want).abs() < 1e-12, "{i}");
            let dwant = wi * (x[i] - y[i]) / (x[i] * (1.0 - x[i]));
            assert!((g[i] - dwant).abs() < 1e-10 * dwant.abs().max(1.0), "{i}");
        }
        assert!((v - out.iter().sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn clamps_at_zero_and_one() {
        // PyTorch: losses [0, 0, 100, 100], gradients [0, 0, -1e12, 1e12] (as f32).
        let x = [0.0f32, 1.0, 0.0, 1.0];
        let y = [0.0f32, 1.0, 1.0, 0.0];
        let mut out = [9.0f32; 4];
        let mut g = [9.0f32; 4];
        BCELoss::new(None, Reduction::None)
            .forward_backward(&x, &y, &mut out, &mut g)
            .unwrap();
        assert_eq!(out, [0.0, 0.0, 100.0, 100.0]);
        assert_eq!(g, [0.0, 0.0, -1e12, 1e12]);
        // Mean with a weight: 3 * 100 / 2 and the gradient scaled the same way.
        let mut g = [0.0f64; 2];
        let v = BCELoss::new(Some(&[3.0][..]), Reduction::Mean)
            .forward_backward(&[0.0, 0.5], &[0.25, 0.5], &mut [], &mut g)
            .unwrap();
        let want = (3.0 * 0.25 * 100.0 + 3.0 * 2f64.ln()) / 2.0;
        assert!((v - want).abs() < 1e-12);
        assert!((g[0] / (3.0 * -0.25e12 / 2.0) - 1.0).abs() < 1e-15 && g[1] == 0.0);
    }

    #[test]
    fn out_of_range_is_an_error_before_writing() {
        let l = BCELoss::<f64>::default();
        let mut g = [7.0; 2];
        assert_eq!(
            l.forward_backward(&[0.5, 1.5], &[0.0, 0.0], &mut [], &mut g),
            Err(Error::InvalidArgument {
                name: "input",
                value: 1.5,
                expected: "every element in [0, 1]"
            })
        );
        assert_eq!(g, [7.0; 2]);
        assert!(matches!(
            l.forward(&[0.5, 0.5], &[-0.25, 0.0], &mut []),
            Err(Error::InvalidArgument { name: "target", value, .. }) if value == -0.25
        ));
        assert!(matches!(
            BCELoss::new(Some(&[1.0, 2.0, 3.0][..]), Reduction::Sum).forward(
                &[0.5; 4],
                &[0.5; 4],
                &mut []
            ),
            Err(Error::InvalidArgument { name: "weight", .. })
        ));
        // NaN is not an error: it propagates.
        let mut out = [0.0; 2];
        let mut g = [0.0; 2];
        BCELoss::<f64>::new(None, Reduction::None)
            .forward_backward(&[f64::NAN, 0.5], &[0.0, f64::NAN], &mut out, &mut g)
            .unwrap();
        assert!(out.iter().chain(&g).all(|v| v.is_nan()));
    }
}
