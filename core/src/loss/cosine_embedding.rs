//! Cosine similarity embedding loss, `torch.nn.CosineEmbeddingLoss`.

use super::margin::{hinge, mean_scale, reduce};
use super::{check_matrix, check_out, Reduction};
use crate::error::{check_len, Result};
use crate::sum::CascadeSum;
use crate::Float;

/// `nn.CosineEmbeddingLoss(margin=0.0, reduction='mean')` on embeddings `x1`, `x2` of shape
/// `[N, D]` (row-major) and targets `y` `[N]`:
///
/// `l_n = 1 - cos_n` if `y_n = 1`, `max(0, cos_n - margin)` if `y_n = -1`, and 0 for any other
/// (non-NaN) target, as PyTorch's `where(target == 1, ...)`; `Mean` divides `Σ l_n` by `N`.
/// The cosine is PyTorch's, with `EPSILON = 1e-12` inside the square root:
///
/// `cos = Σ x1 x2 / sqrt((Σ x1² + 1e-12) (Σ x2² + 1e-12))`
///
/// (so zero vectors have cosine 0, not NaN).
///
/// Gradient: with `A = Σ x1² + 1e-12`, `B = Σ x2² + 1e-12`, `den = sqrt(A B)`,
/// `dcos/dx1 = x2 / den - cos x1 / A` and `dcos/dx2 = x1 / den - cos x2 / B`, times `-1` for
/// `y = 1`, times 1 for `y = -1` where `cos - margin > 0` (0 at the kink `cos = margin`, as
/// PyTorch's `clamp_min` backward), 0 otherwise; times `1/N` for `Mean`.
///
/// Errors: `input1.len() != N * D` (`input1`), `input2.len() != input1.len()` (`input2`),
/// `out` / `grad_input1` / `grad_input2` length. A NaN target (PyTorch: loss 0), or a NaN
/// input with target ±1, gives NaN in the row's loss and gradients; any other target gives 0,
/// NaN inputs included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineEmbeddingLoss<T> {
    /// The margin for dissimilar pairs (default 0; PyTorch suggests `-1..1`, any value works).
    pub margin: T,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T: Float> Default for CosineEmbeddingLoss<T> {
    /// `CosineEmbeddingLoss()`: `margin = 0`, `Mean`.
    fn default() -> Self {
        Self {
            margin: T::ZERO,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> CosineEmbeddingLoss<T> {
    /// `CosineEmbeddingLoss(margin, reduction)`.
    pub fn new(margin: T, reduction: Reduction) -> Self {
        Self { margin, reduction }
    }

    /// Loss value for `input1`, `input2` `[N, D]` and `target` `[N]` (`N = target.len()`,
    /// `D = dim`); per-row losses into `out` (`[N]`) for `None`.
    pub fn forward(
        &self,
        input1: &[T],
        input2: &[T],
        target: &[T],
        dim: usize,
        out: &mut [T],
    ) -> Result<T> {
        self.run(input1, input2, target, dim, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input1 = d(value)/d(input1)` and `grad_input2 =
    /// d(value)/d(input2)`, both `[N, D]`.
    #[allow(clippy::too_many_arguments)] // PyTorch's arguments and one buffer per gradient.
    pub fn forward_backward(
        &self,
        input1: &[T],
        input2: &[T],
        target: &[T],
        dim: usize,
        out: &mut [T],
        grad_input1: &mut [T],
        grad_input2: &mut [T],
    ) -> Result<T> {
        self.run(
            input1,
            input2,
            target,
            dim,
            out,
            Some((grad_input1, grad_input2)),
        )
    }

    fn run(
        &self,
        input1: &[T],
        input2: &[T],
        target: &[T],
        dim: usize,
        out: &mut [T],
        mut grad: Option<(&mut [T], &mut [T])>,
    ) -> Result<T> {
        let n = target.len();
        check_matrix("input1", input1.len(), n, dim)?;
        check_len("input2", input2.len(), input1.len())?;
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        if let Some((g1, g2)) = &grad {
            check_len("grad_input1", g1.len(), input1.len())?;
            check_len("grad_input2", g2.len(), input1.len())?;
        }
        let eps = T::from_f64(1e-12);
        let scale = mean_scale::<T>(self.reduction, n);
        let mut sum = CascadeSum::new();
        for (r, &y) in target.iter().enumerate() {
            let span = r * dim..(r + 1) * dim;
            let (a, b) = (&input1[span.clone()], &input2[span.clone()]);
            let (mut prod, mut aa, mut bb) = (T::ZERO, T::ZERO, T::ZERO);
            for (&u, &v) in a.iter().zip(b) {
                prod += u * v;
                aa += u * u;
                bb += v * v;
            }
            let (aa, bb) = (aa + eps, bb + eps);
            let den = (aa * bb).sqrt();
            let cos = prod / den;
            // (l, dl/dcos)
            let (l, d) = if y == T::ONE {
                (T::ONE - cos, -T::ONE)
            } else if y == -T::ONE {
                hinge(cos - self.margin)
            } else if y.is_nan() {
                (y, y)
            } else {
                (T::ZERO, T::ZERO)
            };
            sum.add(l);
            if none {
                out[r] = l;
            }
            if let Some((g1, g2)) = grad.as_mut() {
                let (g1, g2) = (&mut g1[span.clone()], &mut g2[span]);
                let d = d * scale;
                if d == T::ZERO {
                    g1.fill(T::ZERO);
                    g2.fill(T::ZERO);
                    continue;
                }
                let (inv_den, ca, cb) = (T::ONE / den, cos / aa, cos / bb);
                for (((ga, gb), &u), &v) in g1.iter_mut().zip(g2.iter_mut()).zip(a).zip(b) {
                    *ga = d * (v * inv_den - ca * u);
                    *gb = d * (u * inv_den - cb * v);
                }
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
        let l = CosineEmbeddingLoss::new(0.0f64, Reduction::None);
        // Rows: orthogonal similar pair; 45° dissimilar pair; orthogonal dissimilar pair at the
        // kink cos = margin = 0; zero vectors (cos 0); target 0 (loss 0).
        let x1 = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 1.0];
        let x2 = [0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0];
        let y = [1.0, -1.0, -1.0, 1.0, 0.0];
        let (mut out, mut g1, mut g2) = ([9.0; 5], [9.0; 10], [9.0; 10]);
        l.forward_backward(&x1, &x2, &y, 2, &mut out, &mut g1, &mut g2)
            .unwrap();
        let c45 = core::f64::consts::FRAC_1_SQRT_2;
        let near = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
        assert!(near(&out, &[1.0, c45, 0.0, 1.0, 0.0]));
        // Row 0: -dcos/dx1 = -(x2 / den - 0 x1) = [0, -1], and symmetrically for x2.
        assert!(near(&g1[..2], &[0.0, -1.0]) && near(&g2[..2], &[-1.0, 0.0]));
        // Row 1: dcos/dx1 = [1, 1] / √2 - cos [1, 0] = [0, c45];
        // dcos/dx2 = [1, 0] / √2 - cos [1, 1] / 2 = [c45 / 2, -c45 / 2].
        assert!(near(&g1[2..4], &[0.0, c45]) && near(&g2[2..4], &[c45 / 2.0, -c45 / 2.0]));
        // The kink, the zero vectors and target 0 have no gradient.
        assert_eq!(g1[4..], [0.0; 6]);
        assert_eq!(g2[4..], [0.0; 6]);
    }

    #[test]
    fn errors() {
        let l = CosineEmbeddingLoss::<f64>::default();
        let x = [0.0; 6];
        let (mut g, y) = ([0.0; 6], [1.0; 3]);
        assert!(matches!(
            l.forward(&x[..5], &x[..5], &y, 2, &mut []),
            Err(Error::ShapeMismatch { what: "input1", .. })
        ));
        assert!(matches!(
            l.forward(&x, &x[..4], &y, 2, &mut []),
            Err(Error::ShapeMismatch { what: "input2", .. })
        ));
        assert!(matches!(
            CosineEmbeddingLoss::new(0.0, Reduction::None).forward(&x, &x, &y, 2, &mut []),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        assert!(matches!(
            l.forward_backward(&x, &x, &y, 2, &mut [], &mut [0.0; 5], &mut g),
            Err(Error::ShapeMismatch {
                what: "grad_input1",
                ..
            })
        ));
        assert!(matches!(
            l.forward_backward(&x, &x, &y, 2, &mut [], &mut [0.0; 6], &mut [0.0; 7]),
            Err(Error::ShapeMismatch {
                what: "grad_input2",
                ..
            })
        ));
    }
}
