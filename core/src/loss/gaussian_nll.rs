//! Negative log-likelihood of a Gaussian target, `torch.nn.GaussianNLLLoss`.

use super::{check_out, Reduction};
use crate::error::{check_len, Result};
use crate::sum::CascadeSum;
use crate::{Error, Float};

/// `nn.GaussianNLLLoss(full=False, eps=1e-6, reduction='mean')` on predicted means `x`,
/// targets `y` (flat, equal length `n`) and predicted variances `var`:
///
/// `l_i = ½ (ln v_i + (x_i - y_i)^2 / v_i)`, plus `½ ln(2π)` with `full`, where
/// `v_i = max(var_i, eps)`.
///
/// Gradients: `dl_i/dx_i = (x_i - y_i) / v_i` and
/// `dl_i/dvar_i = ½ (1 / v_i - (x_i - y_i)^2 / v_i^2)`, divided by `n` for `Mean` (also when
/// `var` is shared by a row: `Mean` divides by the element count `n`). PyTorch clamps a
/// clone of `var` under `torch.no_grad()`, so autograd does not see the clamp: where
/// `var < eps` the gradient is **not** 0 but the same formula at `v = eps` (checked against
/// PyTorch's autograd); this loss returns exactly that.
///
/// `var` takes PyTorch's shapes as a flat slice of length `L`:
///
/// * `L = n`: one variance per element (`var` of `input`'s shape, heteroscedastic);
/// * `L` dividing `n`, `L < n`: one variance per contiguous block of `n / L` elements, i.e.
///   per row of the last dimension: PyTorch's `var` of shape `[..., 1]` and its `var` with one
///   fewer dimension (`input.shape[:-1]`), which it unsqueezes to `[..., 1]`. `grad_var[j]`
///   sums the row's terms, as autograd does through the broadcast. `L = 1` is also PyTorch's
///   `var` given as a float (which gets no gradient there).
///
/// PyTorch also accepts a `var` of `input`'s rank with a single dimension of size 1 that is
/// not the last (e.g. `[4, 1, 32, 32]` for `[4, 3, 32, 32]`): not supported here; expand it
/// to `input`'s shape (then sum `grad_var` over the expanded dimension) or move that dimension
/// last. Targets must have `input`'s length (PyTorch would broadcast them too).
///
/// Errors: `target` / `out` / `grad_input` / `grad_var` length; `var` of a length that is
/// neither `n` nor a non-zero divisor of `n` ([`Error::InvalidArgument`] `var`, value the
/// length); any `var` element `< 0` ([`Error::InvalidArgument`] `var` with that value, where
/// PyTorch raises `ValueError`), checked before anything is written. NaN in `var` is not an
/// error (PyTorch's `var < 0` test passes it): it propagates. `eps` is not validated (PyTorch
/// does not).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianNLLLoss<T> {
    /// Whether to add the constant `½ ln(2π)` (default false).
    pub full: bool,
    /// Lower clamp of the variance (default 1e-6).
    pub eps: T,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T: Float> Default for GaussianNLLLoss<T> {
    /// `GaussianNLLLoss()`: `full = false`, `eps = 1e-6`, `Mean`.
    fn default() -> Self {
        Self {
            full: false,
            eps: T::from_f64(1e-6),
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> GaussianNLLLoss<T> {
    /// `GaussianNLLLoss(full=full, eps=eps, reduction=reduction)`.
    pub fn new(full: bool, eps: T, reduction: Reduction) -> Self {
        Self {
            full,
            eps,
            reduction,
        }
    }

    /// Loss value: `Σ l_i` (see the type docs), divided by `n` for `Mean`; per-element into
    /// `out` (length `n`) for `None`.
    pub fn forward(&self, input: &[T], target: &[T], var: &[T], out: &mut [T]) -> Result<T> {
        self.run(input, target, var, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)` (length `n`):
    /// `(x_i - y_i) / v_i`, and `grad_var = d(value)/d(var)` (length of `var`):
    /// `½ (1 / v_i - (x_i - y_i)^2 / v_i^2)` summed over the elements sharing `var_j`; both
    /// times `1/n` for `Mean`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[T],
        var: &[T],
        out: &mut [T],
        grad_input: &mut [T],
        grad_var: &mut [T],
    ) -> Result<T> {
        self.run(input, target, var, out, Some((grad_input, grad_var)))
    }

    fn run(
        &self,
        input: &[T],
        target: &[T],
        var: &[T],
        out: &mut [T],
        mut grad: Option<(&mut [T], &mut [T])>,
    ) -> Result<T> {
        let n = input.len();
        check_len("target", target.len(), n)?;
        let lv = var.len();
        if !(lv == n || (lv > 0 && n.is_multiple_of(lv))) {
            return Err(Error::InvalidArgument {
                name: "var",
                value: lv as f64,
                expected: "a length equal to input.len() or a non-zero divisor of it (one per row)",
            });
        }
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        if let Some((gi, gv)) = &grad {
            check_len("grad_input", gi.len(), n)?;
            check_len("grad_var", gv.len(), lv)?;
        }
        if let Some(&v) = var.iter().find(|&&v| v < T::ZERO) {
            return Err(Error::InvalidArgument {
                name: "var",
                value: v.to_f64(),
                expected: "every element >= 0",
            });
        }
        // Elements per variance (0 only when n = 0; chunks needs >= 1).
        let block = n.checked_div(lv).unwrap_or(1).max(1);
        let divisor = if self.reduction == Reduction::Mean {
            T::from_usize(n)
        } else {
            T::ONE
        };
        // Gradient scale. With n = 0 (a `var` of any non-zero length divides 0) no element
        // shares a variance, so `grad_var` is an empty sum, 0 (as PyTorch's autograd), not
        // `0 · (1/0)` = NaN under `Mean`.
        let scale = if n == 0 { T::ZERO } else { T::ONE / divisor };
        let constant = if self.full {
            T::HALF * (T::TWO * T::PI).ln()
        } else {
            T::ZERO
        };
        let mut sum = CascadeSum::new();
        let mut rows = input.chunks(block).zip(target.chunks(block));
        let mut i = 0usize;
        for (j, &v) in var.iter().enumerate() {
            // max(var, eps) as PyTorch's clamp_(min=eps): NaN stays NaN.
            let vc = if v < self.eps { self.eps } else { v };
            let ln_v = vc.ln();
            let (xs, ys) = rows.next().unwrap_or((&[], &[]));
            let mut gv = T::ZERO;
            for (&x, &y) in xs.iter().zip(ys) {
                let d = x - y;
                let q = d * d / vc;
                let l = T::HALF * (ln_v + q) + constant;
                sum.add(l);
                if none {
                    out[i] = l;
                }
                if let Some((gi, _)) = grad.as_mut() {
                    gi[i] = d / vc * scale;
                    gv += T::HALF * (T::ONE - q) / vc;
                }
                i += 1;
            }
            if let Some((_, gvar)) = grad.as_mut() {
                gvar[j] = gv * scale;
            }
        }
        Ok(sum.total() / divisor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_passes_the_gradient_through() {
        // PyTorch (f32), sum: var [[0, 1e-7], [2, 1e-6]] -> grad_var
        // [[-4.999995e11, -1.249995e11], [0.25, -4.4999996e12]], grad_input [1e6, -5e5, 0, 3e6].
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let y = [0.0f64, 2.5, 3.0, 1.0];
        let var = [0.0, 1e-7, 2.0, 1e-6];
        let (mut gi, mut gv) = ([0.0; 4], [0.0; 4]);
        let v = GaussianNLLLoss::new(false, 1e-6, Reduction::Sum)
            .forward_backward(&x, &y, &var, &mut [], &mut gi, &mut gv)
            .unwrap();
        let want_gv = [-4.999995e11, -1.2499950e11, 0.25, -4.4999995e12];
        let want_gi = [1e6, -5e5, 0.0, 3e6];
        for k in 0..4 {
            assert!((gv[k] - want_gv[k]).abs() <= 1e-6 * want_gv[k].abs(), "{k}");
            assert!((gi[k] - want_gi[k]).abs() <= 1e-6 * want_gi[k].abs(), "{k}");
        }
        let vc = [1e-6, 1e-6, 2.0, 1e-6];
        let want: f64 = (0..4)
            .map(|k| 0.5 * (vc[k].ln() + (x[k] - y[k]).powi(2) / vc[k]))
            .sum();
        assert!((v - want).abs() < 1e-9 * want);
    }

    #[test]
    fn one_variance_per_row() {
        let x = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [0.0f64; 6];
        let var = [0.5, 2.0];
        let mut out = [0.0; 6];
        let (mut gi, mut gv) = ([0.0; 6], [0.0; 2]);
        let total = GaussianNLLLoss::new(true, 1e-6, Reduction::None)
            .forward_backward(&x, &y, &var, &mut out, &mut gi, &mut gv)
            .unwrap();
        let c = 0.5 * (2.0 * core::f64::consts::PI).ln();
        for k in 0..6 {
            let v = var[k / 3];
            assert!((out[k] - (0.5 * (v.ln() + x[k] * x[k] / v) + c)).abs() < 1e-12);
            assert!((gi[k] - x[k] / v).abs() < 1e-12);
        }
        for j in 0..2 {
            let v = var[j];
            let want: f64 = (0..3)
                .map(|k| 0.5 * (1.0 / v - x[3 * j + k].powi(2) / (v * v)))
                .sum();
            assert!((gv[j] - want).abs() < 1e-12);
        }
        assert!((total - out.iter().sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn empty_input_gives_zero_grad_var_for_every_reduction() {
        // Input [5, 0] with one variance per row: Mean's value is 0/0 = NaN, but no term
        // depends on `var`, so its gradient is 0, not 0 · (1/0).
        let var = [1.0f32, 2.0, 0.5, 3.0, 1.0];
        for reduction in [Reduction::None, Reduction::Sum, Reduction::Mean] {
            let mut gv = [9.0f32; 5];
            let v = GaussianNLLLoss::new(false, 1e-6, reduction)
                .forward_backward(&[], &[], &var, &mut [], &mut [], &mut gv)
                .unwrap();
            assert_eq!(v.is_nan(), reduction == Reduction::Mean, "{reduction:?}");
            assert_eq!(gv, [0.0; 5], "{reduction:?}");
        }
    }

    #[test]
    fn errors() {
        let l = GaussianNLLLoss::<f64>::default();
        assert_eq!((l.full, l.eps, l.reduction), (false, 1e-6, Reduction::Mean));
        assert!(matches!(
            l.forward(&[0.0; 6], &[0.0; 6], &[1.0; 4], &mut []),
            Err(Error::InvalidArgument { name: "var", value, .. }) if value == 4.0
        ));
        assert!(matches!(
            l.forward(&[0.0; 6], &[0.0; 6], &[], &mut []),
            Err(Error::InvalidArgument { name: "var", .. })
        ));
        let (mut gi, mut gv) = ([7.0; 2], [7.0; 2]);
        assert!(matches!(
            l.forward_backward(&[0.0; 2], &[0.0; 2], &[1.0, -0.5], &mut [], &mut gi, &mut gv),
            Err(Error::InvalidArgument { name: "var", value, .. }) if value == -0.5
        ));
        assert_eq!((gi, gv), ([7.0; 2], [7.0; 2]));
        assert!(matches!(
            l.forward_backward(&[0.0; 2], &[0.0; 2], &[1.0], &mut [], &mut gi, &mut gv),
            Err(Error::ShapeMismatch {
                what: "grad_var",
                ..
            })
        ));
    }
}
