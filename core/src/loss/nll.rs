//! Negative log-likelihood, `torch.nn.NLLLoss`.

use super::{check_classes, check_grad, check_matrix, check_out, Reduction};
use crate::error::{check_len, Result};
use crate::sum::CascadeSum;
use crate::Float;

/// `nn.NLLLoss(weight=None, ignore_index=-100, reduction='mean')` on log-probabilities
/// `x` of shape `[N, C]` (row-major) and class indices `t` of shape `[N]`:
///
/// `l_i = -w[t_i] x[i, t_i]` (with `w = 1` when no weight), and `l_i = 0` when
/// `t_i == ignore_index`. `Mean` is `Σ l_i / Σ_{i not ignored} w[t_i]`; it is NaN when every
/// target is ignored (0/0), as in PyTorch.
///
/// Gradient: `d(value)/dx[i, t_i] = -w[t_i] / D` (`D` = the mean's denominator, 1 for
/// `Sum`/`None`), all other entries 0 (ignored rows are 0).
///
/// Errors: `input.len() != N * C` (`input`), `weight.len() != C` (`weight`), a target that
/// is neither `ignore_index` nor in `0..C` ([`Error::ClassOutOfRange`](crate::Error)),
/// `out` / `grad_input` length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NLLLoss<'a, T> {
    /// Per-class rescaling weight `[C]` (PyTorch's `weight`, default `None`).
    pub weight: Option<&'a [T]>,
    /// Target value that is ignored (PyTorch's `ignore_index`, default -100; any `i64`).
    pub ignore_index: i64,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T> Default for NLLLoss<'_, T> {
    /// `NLLLoss()`: no weight, `ignore_index = -100`, `reduction = Mean`.
    fn default() -> Self {
        Self {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
        }
    }
}

impl<'a, T: Float> NLLLoss<'a, T> {
    /// `NLLLoss(weight, ignore_index, reduction)`.
    pub fn new(weight: Option<&'a [T]>, ignore_index: i64, reduction: Reduction) -> Self {
        Self {
            weight,
            ignore_index,
            reduction,
        }
    }

    /// Loss value for log-probabilities `input` `[N, C]` and `target` `[N]` (`N =
    /// target.len()`, `C = classes`); per-row losses into `out` (`[N]`) for `None`.
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
        grad: Option<&mut [T]>,
    ) -> Result<T> {
        let n = target.len();
        check_matrix("input", input.len(), n, classes)?;
        if let Some(w) = self.weight {
            check_len("weight", w.len(), classes)?;
        }
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, input.len())?;
        check_classes(target, classes, self.ignore_index)?;

        let mut sum = CascadeSum::new();
        let mut wsum = CascadeSum::new();
        for (i, &t) in target.iter().enumerate() {
            let l = if t == self.ignore_index {
                T::ZERO
            } else {
                let t = t as usize;
                let w = self.weight.map_or(T::ONE, |w| w[t]);
                wsum.add(w);
                -w * input[i * classes + t]
            };
            sum.add(l);
            if none {
                out[i] = l;
            }
        }
        let (value, scale) = match self.reduction {
            Reduction::Mean => {
                let wsum = wsum.total();
                (sum.total() / wsum, -(T::ONE / wsum))
            }
            _ => (sum.total(), -T::ONE),
        };
        if let Some(g) = grad {
            g.fill(T::ZERO);
            for (i, &t) in target.iter().enumerate() {
                if t != self.ignore_index {
                    let t = t as usize;
                    let w = self.weight.map_or(T::ONE, |w| w[t]);
                    g[i * classes + t] = w * scale;
                }
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    const X: [f64; 6] = [-0.5, -1.0, -2.0, -3.0, -0.25, -1.5];

    #[test]
    fn weighted_mean_divides_by_weight_sum() {
        let w = [1.0, 2.0, 4.0];
        let l = NLLLoss::new(Some(&w[..]), -100, Reduction::Mean);
        let mut g = [0.0; 6];
        let v = l.forward_backward(&X, &[2, 1], 3, &mut [], &mut g).unwrap();
        assert_eq!(v, (4.0 * 2.0 + 2.0 * 0.25) / 6.0);
        assert_eq!(g, [0.0, 0.0, -4.0 / 6.0, 0.0, -2.0 / 6.0, 0.0]);
    }

    #[test]
    fn ignored_rows_and_all_ignored() {
        let l = NLLLoss::<f64>::new(None, 1, Reduction::None);
        let mut out = [9.0; 2];
        let mut g = [9.0; 6];
        l.forward_backward(&X, &[1, 0], 3, &mut out, &mut g)
            .unwrap();
        assert_eq!(out, [0.0, 3.0]);
        assert_eq!(g, [0.0, 0.0, 0.0, -1.0, 0.0, 0.0]);
        // All ignored under mean: NaN value, zero gradient.
        let l = NLLLoss::<f64>::new(None, -7, Reduction::Mean);
        let v = l
            .forward_backward(&X, &[-7, -7], 3, &mut [], &mut g)
            .unwrap();
        assert!(v.is_nan());
        assert_eq!(g, [0.0; 6]);
        // ... and 0 under sum.
        let l = NLLLoss::<f64>::new(None, -7, Reduction::Sum);
        assert_eq!(l.forward(&X, &[-7, -7], 3, &mut []).unwrap(), 0.0);
    }

    #[test]
    fn zero_weights_mean_is_nan() {
        let w = [0.0, 0.0, 0.0];
        let l = NLLLoss::new(Some(&w[..]), -100, Reduction::Mean);
        assert!(l.forward(&X, &[0, 1], 3, &mut []).unwrap().is_nan());
        let l = NLLLoss::new(Some(&w[..]), -100, Reduction::Sum);
        assert_eq!(l.forward(&X, &[0, 1], 3, &mut []).unwrap(), 0.0);
    }

    #[test]
    fn errors() {
        let l = NLLLoss::<f64>::default();
        assert_eq!(
            l.forward(&X, &[0, 3], 3, &mut []),
            Err(Error::ClassOutOfRange {
                index: 1,
                class: 3,
                classes: 3
            })
        );
        assert!(matches!(
            l.forward(&X, &[0, -1], 3, &mut []),
            Err(Error::ClassOutOfRange { class: -1, .. })
        ));
        assert!(matches!(
            l.forward(&X, &[0], 3, &mut []),
            Err(Error::ShapeMismatch { what: "input", .. })
        ));
        let w = [1.0; 2];
        assert!(matches!(
            NLLLoss::new(Some(&w[..]), -100, Reduction::Sum).forward(&X, &[0, 1], 3, &mut []),
            Err(Error::ShapeMismatch { what: "weight", .. })
        ));
        assert!(matches!(
            NLLLoss::<f64>::new(None, -100, Reduction::None).forward(&X, &[0, 1], 3, &mut []),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        assert!(matches!(
            l.forward_backward(&X, &[0, 1], 3, &mut [], &mut [0.0; 5]),
            Err(Error::ShapeMismatch {
                what: "grad_input",
                ..
            })
        ));
        assert!(matches!(
            l.forward(&X, &[0, 1], usize::MAX, &mut []),
            Err(Error::ShapeMismatch { what: "input", .. })
        ));
    }
}
