//! Multi-class hinge loss, `torch.nn.MultiMarginLoss`.

use super::margin::{hinge, mean_scale, reduce};
use super::{check_grad, check_matrix, check_out, Reduction};
use crate::error::{check_arg, check_len, Result};
use crate::sum::CascadeSum;
use crate::{Error, Float};

/// `nn.MultiMarginLoss(p=1, margin=1.0, weight=None, reduction='mean')` on scores `x` of
/// shape `[N, C]` (row-major) and class indices `y` of shape `[N]`:
///
/// `l_n = Σ_{i ≠ y_n} w[y_n] max(0, z_{n,i})^p / C` with `z_{n,i} = margin - x[n, y_n] +
/// x[n, i]` (`w = 1` without weight). `Mean` divides `Σ l_n` by `N` (the weights do not enter
/// the denominator, unlike `NLLLoss`).
///
/// Gradient, as PyTorch's backward: a term counts only where `z_{n,i} > 0` (the kink `z = 0`
/// gives 0); there `d/dx[n, i] = w[y_n] p z^{p-1} / C` and `d/dx[n, y_n]` is minus the sum
/// of those, times `1/N` for `Mean`. All other entries are 0.
///
/// `p` must be 1 or 2 (PyTorch's rule; [`Error::InvalidArgument`] `p` otherwise). Errors
/// also: `input.len() != N * C` (`input`), `weight.len() != C` (`weight`), a target outside
/// `0..C` ([`Error::ClassOutOfRange`]), `out` / `grad_input` length. A NaN score or margin
/// makes the row's loss NaN (PyTorch's kernel skips NaN terms instead), and its gradient NaN
/// at the NaN score's entry and the target's (every entry for a NaN target score or margin).
/// With `C = 1` the sum is empty: loss and gradient 0 whatever the row holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiMarginLoss<'a, T> {
    /// The exponent of the hinge, 1 or 2 (default 1).
    pub p: u32,
    /// The margin (default 1).
    pub margin: T,
    /// Per-class rescaling weight `[C]`, applied as `w[y_n]` (default `None`).
    pub weight: Option<&'a [T]>,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T: Float> Default for MultiMarginLoss<'_, T> {
    /// `MultiMarginLoss()`: `p = 1`, `margin = 1`, no weight, `Mean`.
    fn default() -> Self {
        Self {
            p: 1,
            margin: T::ONE,
            weight: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<'a, T: Float> MultiMarginLoss<'a, T> {
    /// `MultiMarginLoss(p, margin, weight, reduction)`; `p` is validated when the loss is
    /// evaluated.
    pub fn new(p: u32, margin: T, weight: Option<&'a [T]>, reduction: Reduction) -> Self {
        Self {
            p,
            margin,
            weight,
            reduction,
        }
    }

    /// Loss value for scores `input` `[N, C]` and `target` `[N]` (`N = target.len()`, `C =
    /// classes`); per-row losses into `out` (`[N]`) for `None`.
    pub fn forward(&self, input: &[T], target: &[i64], classes: usize, out: &mut [T]) -> Result<T> {
        self.run(input, target, classes, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input` `[N, C]` = `d(value)/d(input)`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[i64],
        classes: usize,
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run(input, target, classes, out, Some(grad_input))
    }

    fn run(
        &self,
        input: &[T],
        target: &[i64],
        classes: usize,
        out: &mut [T],
        mut grad: Option<&mut [T]>,
    ) -> Result<T> {
        check_arg(self.p == 1 || self.p == 2, "p", f64::from(self.p), "1 or 2")?;
        let n = target.len();
        check_matrix("input", input.len(), n, classes)?;
        if let Some(w) = self.weight {
            check_len("weight", w.len(), classes)?;
        }
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, input.len())?;
        for (index, &t) in target.iter().enumerate() {
            if t < 0 || t as u64 >= classes as u64 {
                return Err(Error::ClassOutOfRange {
                    index,
                    class: t,
                    classes,
                });
            }
        }
        let c = T::from_usize(classes);
        let scale = mean_scale::<T>(self.reduction, n) / c;
        let square = self.p == 2;
        let mut sum = CascadeSum::new();
        for (row_index, &t) in target.iter().enumerate() {
            let t = t as usize;
            let span = row_index * classes..(row_index + 1) * classes;
            let row = &input[span.clone()];
            let w = self.weight.map_or(T::ONE, |w| w[t]);
            let base = self.margin - row[t];
            let mut l = T::ZERO;
            for (i, &x) in row.iter().enumerate() {
                if i != t {
                    let (h, _) = hinge(base + x);
                    l += w * if square { h * h } else { h };
                }
            }
            l /= c;
            sum.add(l);
            if none {
                out[row_index] = l;
            }
            if let Some(g) = grad.as_deref_mut() {
                let g = &mut g[span];
                let gw = w * scale;
                let mut at_target = T::ZERO;
                for (i, (gi, &x)) in g.iter_mut().zip(row).enumerate() {
                    if i == t {
                        continue;
                    }
                    let z = base + x;
                    let (h, d) = hinge(z);
                    // d/dz of h^p: d for p = 1, 2 h d for p = 2.
                    let d = if square { T::TWO * h * d } else { d };
                    *gi = gw * d;
                    at_target -= *gi;
                }
                g[t] = at_target;
            }
        }
        Ok(reduce(self.reduction, sum.total(), n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Row 0: target 1, z = [1 - 1 + 0, -, 1 - 1 + 0.5] = [0 (kink), -, 0.5];
    // row 1: target 0, z = [-, 1 - 2 + 1 = 0 (kink), 1 - 2 + 1.5 = 0.5].
    const X: [f64; 6] = [0.0, 1.0, 0.5, 2.0, 1.0, 1.5];
    const T: [i64; 2] = [1, 0];

    #[test]
    fn hand_computed_with_kinks() {
        let w = [1.0, 3.0, 5.0];
        let l = MultiMarginLoss::new(1, 1.0, Some(&w[..]), Reduction::None);
        let mut out = [0.0; 2];
        let mut g = [9.0; 6];
        let v = l.forward_backward(&X, &T, 3, &mut out, &mut g).unwrap();
        assert_eq!(out, [3.0 * 0.5 / 3.0, 1.0 * 0.5 / 3.0]);
        assert_eq!(v, out[0] + out[1]);
        // The kinks (z = 0) give 0, as PyTorch's backward.
        assert_eq!(g, [0.0, -1.0, 1.0, -1.0 / 3.0, 0.0, 1.0 / 3.0]);
        // Mean divides by N, not by the weights; p = 2 squares the hinge.
        let l = MultiMarginLoss::new(2, 1.0, Some(&w[..]), Reduction::Mean);
        let v = l.forward_backward(&X, &T, 3, &mut [], &mut g).unwrap();
        assert_eq!(v, (3.0 * 0.25 / 3.0 + 0.25 / 3.0) / 2.0);
        assert_eq!(g, [0.0, -0.5, 0.5, -1.0 / 6.0, 0.0, 1.0 / 6.0]);
    }

    #[test]
    fn nan_propagates() {
        let l = MultiMarginLoss::<f64>::default();
        let x = [f64::NAN, 0.0, 0.0, 0.0];
        let mut g = [0.0; 4];
        let mut out = [0.0; 2];
        let none = MultiMarginLoss {
            reduction: Reduction::None,
            ..l
        };
        none.forward_backward(&x, &[1, 1], 2, &mut out, &mut g)
            .unwrap();
        assert!(out[0].is_nan() && g[0].is_nan() && g[1].is_nan());
        assert_eq!((out[1], g[2], g[3]), (0.5, 0.5, -0.5));
    }

    #[test]
    fn errors() {
        let l = MultiMarginLoss::<f64>::default();
        for p in [0, 3] {
            assert!(matches!(
                MultiMarginLoss { p, ..l }.forward(&X, &T, 3, &mut []),
                Err(Error::InvalidArgument { name: "p", .. })
            ));
        }
        assert_eq!(
            l.forward(&X, &[0, 3], 3, &mut []),
            Err(Error::ClassOutOfRange {
                index: 1,
                class: 3,
                classes: 3
            })
        );
        assert!(matches!(
            l.forward(&X, &[-1, 0], 3, &mut []),
            Err(Error::ClassOutOfRange { class: -1, .. })
        ));
        assert!(matches!(
            l.forward(&X, &[0], 3, &mut []),
            Err(Error::ShapeMismatch { what: "input", .. })
        ));
        let w = [1.0; 2];
        assert!(matches!(
            MultiMarginLoss::new(1, 1.0, Some(&w[..]), Reduction::Sum).forward(&X, &T, 3, &mut []),
            Err(Error::ShapeMismatch { what: "weight", .. })
        ));
        assert!(matches!(
            MultiMarginLoss::new(1, 1.0, None, Reduction::None).forward(&X, &T, 3, &mut []),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        assert!(matches!(
            l.forward_backward(&X, &T, 3, &mut [], &mut [0.0; 5]),
            Err(Error::ShapeMismatch {
                what: "grad_input",
                ..
            })
        ));
        // No classes: a target is out of range.
        assert!(matches!(
            l.forward(&[], &[0], 0, &mut []),
            Err(Error::ClassOutOfRange { classes: 0, .. })
        ));
    }
}
