//! Multi-label hinge loss, `torch.nn.MultiLabelMarginLoss`.

use super::margin::{hinge, mean_scale, reduce, rows};
use super::{check_grad, check_out, Reduction};
use crate::error::{check_len, Result};
use crate::sum::CascadeSum;
use crate::{Error, Float};

/// `nn.MultiLabelMarginLoss(reduction='mean')` on scores `x` `[N, C]` and targets `[N, C]`
/// of class indices in PyTorch's format: each row's targets are its entries before the first
/// `-1`, the rest is padding. With `T_n` the target prefix of row `n`:
///
/// `l_n = Σ_{j ∈ T_n} Σ_{i ∉ T_n} max(0, 1 - (x[n, j] - x[n, i])) / C`
///
/// (a class repeated in the prefix counts once per occurrence in the outer sum, as in
/// PyTorch). `Mean` divides `Σ l_n` by `N`.
///
/// Gradient, as PyTorch's backward: each term with `z = 1 - x[n, j] + x[n, i] > 0` adds
/// `1/C` to `d/dx[n, i]` and `-1/C` to `d/dx[n, j]` (the kink `z = 0` adds nothing), times
/// `1/N` for `Mean`.
///
/// No scratch memory: whether class `i` is a target is found by scanning the row's target
/// prefix, so a row costs `O(C · T)` for `T` targets (PyTorch keeps a `[C]` flag array
/// instead, also `O(C · T)` in the double loop).
///
/// Errors: `target.len() != input.len()` (`target`), `C` not dividing `input.len()`
/// (`input`), any target entry outside `-1..C`, padding included (PyTorch's check;
/// [`Error::ClassOutOfRange`] with `index` the flat position), `out` / `grad_input` length.
/// A NaN score makes its row's loss NaN and the gradient NaN at the entries of its terms. A row
/// without terms (no targets, or every class a target) has loss and gradient 0, NaN or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MultiLabelMarginLoss {
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl MultiLabelMarginLoss {
    /// `MultiLabelMarginLoss(reduction)`.
    pub fn new(reduction: Reduction) -> Self {
        Self { reduction }
    }

    /// Loss value for scores `input` `[N, C]` and `target` `[N, C]` (`C = classes`,
    /// `N = input.len() / C`); per-row losses into `out` (`[N]`) for `None`.
    pub fn forward<T: Float>(
        &self,
        input: &[T],
        target: &[i64],
        classes: usize,
        out: &mut [T],
    ) -> Result<T> {
        self.run(input, target, classes, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input` `[N, C]` = `d(value)/d(input)`.
    pub fn forward_backward<T: Float>(
        &self,
        input: &[T],
        target: &[i64],
        classes: usize,
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run(input, target, classes, out, Some(grad_input))
    }

    fn run<T: Float>(
        &self,
        input: &[T],
        target: &[i64],
        classes: usize,
        out: &mut [T],
        mut grad: Option<&mut [T]>,
    ) -> Result<T> {
        let n = rows("input", input.len(), classes)?;
        check_len("target", target.len(), input.len())?;
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, input.len())?;
        for (index, &t) in target.iter().enumerate() {
            if t < -1 || (t >= 0 && t as u64 >= classes as u64) {
                return Err(Error::ClassOutOfRange {
                    index,
                    class: t,
                    classes,
                });
            }
        }
        let c = T::from_usize(classes);
        let scale = mean_scale::<T>(self.reduction, n) / c;
        let mut sum = CascadeSum::new();
        let cols = classes.max(1);
        for (r, (row, trow)) in input
            .chunks_exact(cols)
            .zip(target.chunks_exact(cols))
            .enumerate()
        {
            // The target prefix: entries before the first -1 (all validated in 0..C).
            let len = trow.iter().position(|&t| t < 0).unwrap_or(cols);
            let prefix = &trow[..len];
            let mut g = grad
                .as_deref_mut()
                .map(|g| &mut g[r * cols..(r + 1) * cols]);
            if let Some(g) = g.as_deref_mut() {
                g.fill(T::ZERO);
            }
            let mut l = T::ZERO;
            for (i, &xi) in row.iter().enumerate() {
                if prefix.iter().any(|&t| t as usize == i) {
                    continue;
                }
                for &j in prefix {
                    let j = j as usize;
                    let (h, d) = hinge(T::ONE - row[j] + xi);
                    l += h;
                    if let Some(g) = g.as_deref_mut() {
                        let d = d * scale;
                        g[i] += d;
                        g[j] -= d;
                    }
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

    #[test]
    fn hand_computed() {
        // PyTorch's docstring example: targets 3 and 0 of x = [0.1, 0.2, 0.4, 0.8].
        let x = [0.1f64, 0.2, 0.4, 0.8];
        let l = MultiLabelMarginLoss::new(Reduction::Mean);
        let mut g = [0.0; 4];
        let v = l
            .forward_backward(&x, &[3, 0, -1, 1], 4, &mut [], &mut g)
            .unwrap();
        // (1-(0.1-0.2)) + (1-(0.1-0.4)) + (1-(0.8-0.2)) + (1-(0.8-0.4)), over 4.
        assert!((v - 0.85).abs() < 1e-15);
        assert_eq!(g, [-0.5, 0.5, 0.5, -0.5]);
        // A repeated target counts twice in the outer sum; padding after -1 is ignored.
        let v = l
            .forward_backward(&x, &[3, 3, -1, 2], 4, &mut [], &mut g)
            .unwrap();
        assert!((v - 0.65).abs() < 1e-15);
        assert_eq!(g, [0.5, 0.5, 0.5, -1.5]);
    }

    #[test]
    fn kink_and_no_targets() {
        // z = 1 - 1 + 0 = 0 for class 1: no gradient; class 2: z = 0.5.
        let x = [1.0f64, 0.0, 0.5, 0.0, 0.0, 0.0];
        let l = MultiLabelMarginLoss::new(Reduction::None);
        let (mut out, mut g) = ([9.0; 2], [9.0; 6]);
        l.forward_backward(&x, &[0, -1, -1, -1, 0, 1], 3, &mut out, &mut g)
            .unwrap();
        assert_eq!(out, [0.5 / 3.0, 0.0]);
        assert_eq!(g, [-1.0 / 3.0, 0.0, 1.0 / 3.0, 0.0, 0.0, 0.0]);
        // All classes targets: no i outside the set, loss 0.
        let v = l.forward(&x[..3], &[0, 1, 2], 3, &mut [0.0]).unwrap();
        assert_eq!(v, 0.0);
    }

    #[test]
    fn errors() {
        let l = MultiLabelMarginLoss::default();
        let x = [0.0f64; 6];
        assert_eq!(
            l.forward(&x, &[0, -1, 7, 0, 1, 2], 3, &mut []),
            Err(Error::ClassOutOfRange {
                index: 2,
                class: 7,
                classes: 3
            })
        );
        assert!(matches!(
            l.forward(&x, &[0, -2, 1, 0, 1, 2], 3, &mut []),
            Err(Error::ClassOutOfRange { class: -2, .. })
        ));
        assert!(matches!(
            l.forward(&x, &[0; 5], 3, &mut []),
            Err(Error::ShapeMismatch { what: "target", .. })
        ));
        assert!(matches!(
            l.forward(&x[..5], &[0; 5], 3, &mut []),
            Err(Error::ShapeMismatch { what: "input", .. })
        ));
        assert!(matches!(
            MultiLabelMarginLoss::new(Reduction::None).forward(&x, &[0; 6], 3, &mut []),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        assert!(matches!(
            l.forward_backward(&x, &[0; 6], 3, &mut [], &mut [0.0; 5]),
            Err(Error::ShapeMismatch {
                what: "grad_input",
                ..
            })
        ));
        assert!(matches!(
            l.forward(&x, &[0; 6], 0, &mut []),
            Err(Error::ShapeMismatch { what: "input", .. })
        ));
    }
}
