//! Hinge embedding loss, `torch.nn.HingeEmbeddingLoss`.

use super::{regression, Reduction};
use crate::error::Result;
use crate::Float;

/// `nn.HingeEmbeddingLoss(margin=1.0, reduction='mean')` on distances `x` and labels `y`
/// (flat arrays of equal length), PyTorch's masked form:
///
/// `l_i = [y_i != 1] max(0, margin - x_i) + [y_i != -1] x_i`,
///
/// so `x` for `y = 1`, `max(0, margin - x)` for `y = -1` and, as in PyTorch, **both terms**
/// for any other target value (0, 0.5, 2, NaN, ...). Gradient:
/// `dl_i/dx_i = -[y_i != 1][margin - x_i > 0] + [y_i != -1]`, divided by `n` for `Mean`. At
/// the kink `x = margin` the hinge term's subgradient is 0, as PyTorch's (checked with its
/// autograd: `clamp_min` passes the gradient only above the bound).
///
/// NaN: a NaN target selects both terms and is not propagated (PyTorch's `where` masks);
/// a NaN input gives a NaN loss and, unlike PyTorch (whose clamp gradient is 0 or 1 there), a
/// NaN gradient, as everywhere in this module. `margin` may be any value (PyTorch does not
/// check it). Errors: `target` / `out` / `grad_input` length. See the
/// [module docs](crate::loss) for the calling convention.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HingeEmbeddingLoss<T> {
    /// The margin of the `y = -1` term (default 1.0).
    pub margin: T,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T: Float> Default for HingeEmbeddingLoss<T> {
    /// `HingeEmbeddingLoss()`: `margin = 1`, `Mean`.
    fn default() -> Self {
        Self {
            margin: T::ONE,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> HingeEmbeddingLoss<T> {
    /// `HingeEmbeddingLoss(margin, reduction=reduction)`.
    pub fn new(margin: T, reduction: Reduction) -> Self {
        Self { margin, reduction }
    }

    /// Loss value: `Σ l_i` (see the type docs), divided by `n` for `Mean`; per-element into
    /// `out` for `None`.
    pub fn forward(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        regression(self.reduction, input, target, out, None, |x, y| {
            f(x, y, self.margin)
        })
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)` (see the type docs),
    /// times `1/n` for `Mean`.
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
            |x, y| f(x, y, self.margin),
        )
    }
}

#[inline(always)]
fn f<T: Float>(x: T, y: T, margin: T) -> (T, T) {
    let (mut l, mut g) = (T::ZERO, T::ZERO);
    if y != T::ONE {
        // max(0, margin - x) as PyTorch's clamp_min: NaN stays NaN.
        let d = margin - x;
        if d > T::ZERO {
            l = d;
            g = -T::ONE;
        } else if d.is_nan() {
            l = d;
        }
    }
    if y != -T::ONE {
        l += x;
        g += T::ONE;
    }
    if x.is_nan() {
        g = x;
    }
    (l, g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_kink_as_pytorch() {
        // PyTorch, margin 1: losses [0, 1, 1, 0, 1, 1, 1, 1], grads [0, 1, 0, 0, 1, 0, 0, -1].
        let x = [1.0f32, 1.0, 0.5, 2.0, 1.0, 0.3, -0.2, 0.0];
        let y = [-1.0f32, 1.0, 0.0, -1.0, 0.5, 2.0, f32::NAN, -1.0];
        let mut out = [9.0f32; 8];
        let mut g = [9.0f32; 8];
        HingeEmbeddingLoss::new(1.0, Reduction::None)
            .forward_backward(&x, &y, &mut out, &mut g)
            .unwrap();
        assert_eq!(out, [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(g, [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0]);
        // Mean over 2 and NaN input.
        let mut g = [0.0f64; 2];
        let v = HingeEmbeddingLoss::<f64>::default()
            .forward_backward(&[0.25, 3.0], &[-1.0, 1.0], &mut [], &mut g)
            .unwrap();
        assert_eq!(v, (0.75 + 3.0) / 2.0);
        assert_eq!(g, [-0.5, 0.5]);
        let mut out = [0.0f64; 2];
        HingeEmbeddingLoss::<f64>::new(1.0, Reduction::None)
            .forward_backward(&[f64::NAN; 2], &[-1.0, 1.0], &mut out, &mut g)
            .unwrap();
        assert!(out.iter().chain(&g).all(|v| v.is_nan()));
    }
}
