//! Multi-label one-versus-all logistic loss, `torch.nn.MultiLabelSoftMarginLoss`.

use super::margin::{mean_scale, reduce, rows};
use super::{check_grad, check_out, Reduction};
use crate::error::{check_len, Result};
use crate::sum::CascadeSum;
use crate::Float;

/// `nn.MultiLabelSoftMarginLoss(weight=None, reduction='mean')` on logits `x` `[N, C]` and
/// float targets `y` `[N, C]` (0 or 1; other values are used as they are):
///
/// `l_n = -(1/C) Σ_i w_i (y_i ln σ(x_i) + (1 - y_i) ln σ(-x_i))`, computed stably as
/// `(1/C) Σ_i w_i ((1 - y_i) x_i + softplus(-x_i))` with `softplus(-x) = max(-x, 0) +
/// ln(1 + e^{-|x|})` (never overflows). `Mean` divides `Σ l_n` by `N`: the reduction is over
/// the rows only.
///
/// Gradient: `d l_n / dx_i = w_i (σ(x_i) - y_i) / C`, times `1/N` for `Mean`.
///
/// Errors: `C` not dividing `input.len()` (`input`), `target.len() != input.len()`
/// (`target`), `weight.len() != C` (`weight`), `out` / `grad_input` length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiLabelSoftMarginLoss<'a, T> {
    /// Per-class rescaling weight `[C]` (default `None`).
    pub weight: Option<&'a [T]>,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T> Default for MultiLabelSoftMarginLoss<'_, T> {
    /// `MultiLabelSoftMarginLoss()`: no weight, `Mean`.
    fn default() -> Self {
        Self {
            weight: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<'a, T: Float> MultiLabelSoftMarginLoss<'a, T> {
    /// `MultiLabelSoftMarginLoss(weight, reduction)`.
    pub fn new(weight: Option<&'a [T]>, reduction: Reduction) -> Self {
        Self { weight, reduction }
    }

    /// Loss value for logits `input` `[N, C]` and `target` `[N, C]` (`C = classes`, `N =
    /// input.len() / C`); per-row losses into `out` (`[N]`) for `None`.
    pub fn forward(&self, input: &[T], target: &[T], classes: usize, out: &mut [T]) -> Result<T> {
        self.run(input, target, classes, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input` `[N, C]` = `d(value)/d(input)`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[T],
        classes: usize,
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run(input, target, classes, out, Some(grad_input))
    }

    fn run(
        &self,
        input: &[T],
        target: &[T],
        classes: usize,
        out: &mut [T],
        mut grad: Option<&mut [T]>,
    ) -> Result<T> {
        let n = rows("input", input.len(), classes)?;
        check_len("target", target.len(), input.len())?;
        if let Some(w) = self.weight {
            check_len("weight", w.len(), classes)?;
        }
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, input.len())?;
        let c = T::from_usize(classes);
        let scale = mean_scale::<T>(self.reduction, n) / c;
        let cols = classes.max(1);
        let mut sum = CascadeSum::new();
        for (r, (row, trow)) in input
            .chunks_exact(cols)
            .zip(target.chunks_exact(cols))
            .enumerate()
        {
            let mut g = grad
                .as_deref_mut()
                .map(|g| &mut g[r * cols..(r + 1) * cols]);
            let mut l = T::ZERO;
            for (i, (&x, &y)) in row.iter().zip(trow).enumerate() {
                let w = self.weight.map_or(T::ONE, |w| w[i]);
                let e = (-x.abs()).exp();
                let softplus_neg = (-x).max(T::ZERO) + e.ln_1p();
                l += w * ((T::ONE - y) * x + softplus_neg);
                if let Some(g) = g.as_deref_mut() {
                    // σ(x) without overflow.
                    let sig = if x >= T::ZERO {
                        T::ONE / (T::ONE + e)
                    } else {
                        e / (T::ONE + e)
                    };
                    g[i] = w * (sig - y) * scale;
                }
            }
            let l = l / c;
            sum.add(l);
            if none {
                out[r] = l;
            }
        }
        Ok(reduce(self.reduction, sum.total(), n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn hand_computed() {
        // Logit 0: ln 2 whatever the target, gradient 1/2 - y.
        let w = [1.0f64, 3.0];
        let l = MultiLabelSoftMarginLoss::new(Some(&w[..]), Reduction::None);
        let (mut out, mut g) = ([0.0; 2], [0.0; 4]);
        let x = [0.0, 0.0, 800.0, -800.0];
        let v = l
            .forward_backward(&x, &[1.0, 0.0, 1.0, 0.0], 2, &mut out, &mut g)
            .unwrap();
        let ln2 = core::f64::consts::LN_2;
        assert_eq!(out, [4.0 * ln2 / 2.0, 0.0]);
        assert_eq!(v, out[0]);
        assert_eq!(g, [-0.25, 0.75, 0.0, 0.0]);
        // Confidently wrong: the loss is linear in the logit, no overflow.
        let l = MultiLabelSoftMarginLoss::<f64>::new(None, Reduction::Mean);
        let v = l
            .forward_backward(&x[2..], &[0.0, 1.0], 2, &mut [], &mut g[..2])
            .unwrap();
        assert_eq!(v, 800.0);
        assert_eq!(g[..2], [0.5, -0.5]);
    }

    #[test]
    fn errors() {
        let l = MultiLabelSoftMarginLoss::<f64>::default();
        let x = [0.0; 6];
        assert!(matches!(
            l.forward(&x, &x[..5], 3, &mut []),
            Err(Error::ShapeMismatch { what: "target", .. })
        ));
        assert!(matches!(
            l.forward(&x, &x, 4, &mut []),
            Err(Error::ShapeMismatch { what: "input", .. })
        ));
        let w = [1.0; 2];
        assert!(matches!(
            MultiLabelSoftMarginLoss::new(Some(&w[..]), Reduction::Sum).forward(&x, &x, 3, &mut []),
            Err(Error::ShapeMismatch { what: "weight", .. })
        ));
        assert!(matches!(
            MultiLabelSoftMarginLoss::<f64>::new(None, Reduction::None).forward(&x, &x, 3, &mut []),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        assert!(matches!(
            l.forward_backward(&x, &x, 3, &mut [], &mut [0.0; 5]),
            Err(Error::ShapeMismatch {
                what: "grad_input",
                ..
            })
        ));
    }
}
