//! Pairwise ranking hinge loss, `torch.nn.MarginRankingLoss`.

use super::margin::{hinge, mean_scale, reduce};
use super::{check_out, Reduction};
use crate::error::{check_len, Result};
use crate::sum::CascadeSum;
use crate::Float;

/// `nn.MarginRankingLoss(margin=0.0, reduction='mean')` on scores `x1`, `x2` and targets `y`
/// (1: `x1` should rank higher, -1: `x2`; other values are used as they are), flat arrays of
/// equal length `n`:
///
/// `l_i = max(0, -y_i (x1_i - x2_i) + margin)`; `Mean` divides `Σ l_i` by `n`.
///
/// Gradient, as PyTorch's: where `z_i = -y_i (x1_i - x2_i) + margin > 0`, `dl_i/dx1_i =
/// -y_i` and `dl_i/dx2_i = y_i`; 0 elsewhere, the kink `z = 0` included; times `1/n` for
/// `Mean`. NaN propagates.
///
/// Errors: `input2` / `target` / `out` / `grad_input1` / `grad_input2` length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginRankingLoss<T> {
    /// The margin (default 0; any value).
    pub margin: T,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T: Float> Default for MarginRankingLoss<T> {
    /// `MarginRankingLoss()`: `margin = 0`, `Mean`.
    fn default() -> Self {
        Self {
            margin: T::ZERO,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> MarginRankingLoss<T> {
    /// `MarginRankingLoss(margin, reduction)`.
    pub fn new(margin: T, reduction: Reduction) -> Self {
        Self { margin, reduction }
    }

    /// Loss value; per-element losses into `out` for `None`.
    pub fn forward(&self, input1: &[T], input2: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        self.run(input1, input2, target, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input1 = d(value)/d(input1)` and `grad_input2 =
    /// d(value)/d(input2)`.
    pub fn forward_backward(
        &self,
        input1: &[T],
        input2: &[T],
        target: &[T],
        out: &mut [T],
        grad_input1: &mut [T],
        grad_input2: &mut [T],
    ) -> Result<T> {
        self.run(
            input1,
            input2,
            target,
            out,
            Some((grad_input1, grad_input2)),
        )
    }

    fn run(
        &self,
        input1: &[T],
        input2: &[T],
        target: &[T],
        out: &mut [T],
        mut grad: Option<(&mut [T], &mut [T])>,
    ) -> Result<T> {
        let n = input1.len();
        check_len("input2", input2.len(), n)?;
        check_len("target", target.len(), n)?;
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        if let Some((g1, g2)) = &grad {
            check_len("grad_input1", g1.len(), n)?;
            check_len("grad_input2", g2.len(), n)?;
        }
        let scale = mean_scale::<T>(self.reduction, n);
        let mut sum = CascadeSum::new();
        for (i, ((&a, &b), &y)) in input1.iter().zip(input2).zip(target).enumerate() {
            let (l, d) = hinge(-y * (a - b) + self.margin);
            sum.add(l);
            if none {
                out[i] = l;
            }
            if let Some((g1, g2)) = grad.as_mut() {
                let d = d * y * scale;
                g1[i] = -d;
                g2[i] = d;
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
    fn hand_computed_with_kink() {
        let l = MarginRankingLoss::new(0.5f64, Reduction::None);
        let (mut out, mut g1, mut g2) = ([0.0; 3], [9.0; 3], [9.0; 3]);
        // z = -(2 - 1) + 0.5 < 0; z = (0 - 1) + 0.5 + 0.5 = 0 (kink); z = -(0 - 1) + 0.5.
        let v = l
            .forward_backward(
                &[2.0, 0.0, 0.0],
                &[1.0, 0.5, 1.0],
                &[1.0, -1.0, 1.0],
                &mut out,
                &mut g1,
                &mut g2,
            )
            .unwrap();
        assert_eq!(out, [0.0, 0.0, 1.5]);
        assert_eq!(v, 1.5);
        assert_eq!(g1, [0.0, 0.0, -1.0]);
        assert_eq!(g2, [0.0, 0.0, 1.0]);
    }

    #[test]
    fn errors() {
        let l = MarginRankingLoss::<f64>::default();
        let x = [0.0; 3];
        let mut g = [0.0; 3];
        assert!(matches!(
            l.forward(&x, &x[..2], &x, &mut []),
            Err(Error::ShapeMismatch { what: "input2", .. })
        ));
        assert!(matches!(
            l.forward(&x, &x, &x[..2], &mut []),
            Err(Error::ShapeMismatch { what: "target", .. })
        ));
        assert!(matches!(
            MarginRankingLoss::new(0.0, Reduction::None).forward(&x, &x, &x, &mut []),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        assert!(matches!(
            l.forward_backward(&x, &x, &x, &mut [], &mut [0.0; 2], &mut g),
            Err(Error::ShapeMismatch {
                what: "grad_input1",
                ..
            })
        ));
        assert!(matches!(
            l.forward_backward(&x, &x, &x, &mut [], &mut [0.0; 3], &mut [0.0; 4]),
            Err(Error::ShapeMismatch {
                what: "grad_input2",
                ..
            })
        ));
    }
}
