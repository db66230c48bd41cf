//! Triplet loss, `torch.nn.TripletMarginLoss`.

use super::triplet_margin_with_distance::{PairwiseDistance, TripletMarginWithDistanceLoss};
use super::Reduction;
use crate::error::Result;
use crate::Float;

/// `nn.TripletMarginLoss(margin=1.0, p=2.0, eps=1e-6, swap=False, reduction='mean')` on
/// anchors `a`, positives `q` and negatives `r` of shape `[N, D]` (row-major):
///
/// `l_n = max(0, margin + d(a_n, q_n) - d_neg)`, `d_neg = d(a_n, r_n)`, or with `swap`
/// `min(d(a_n, r_n), d(q_n, r_n))`; `Mean` divides `Σ l_n` by `N`. The distance is PyTorch's
/// `pairwise_distance`, which adds `eps` to the difference: `d(x, y) = ||x - y + eps||_p`.
///
/// Gradient: with `s = 1` where `l_n`'s hinge argument is `> 0` (0 at the kink, as PyTorch's
/// `clamp_min` backward) and `∇_x d(x, y) = u`, `u_k = sgn(v_k) (|v_k| / d)^{p-1}` for `v = x -
/// y + eps` (`u = v / d` for `p = 2`, `sgn(v)` for `p = 1`; 0 where `d = 0` or `v_k = 0`, as
/// PyTorch's norm backward), `∇_y d = -u`:
/// `d/da = s (u_aq - u_ar)`, `d/dq = -s u_aq`, `d/dr = s u_ar`; with `swap` the negative term
/// goes to whichever of `d(a, r)`, `d(q, r)` is the smaller (half to each on a tie, as
/// PyTorch's `min` backward), `d(q, r)` adding `-s u_qr` to `d/dq` and `s u_qr` to `d/dr`.
/// Times `1/N` for `Mean`. Evaluated as [`TripletMarginWithDistanceLoss`] with
/// [`PairwiseDistance`]`(p, eps)`.
///
/// `margin` must be `> 0` (PyTorch's check) and `p` must be finite and `> 0` (PyTorch also
/// takes `p <= 0` and `∞`; not supported here): [`Error::InvalidArgument`](crate::Error)
/// otherwise. Errors also: `dim = 0` with a non-empty `anchor` or `dim` not dividing its
/// length (`anchor`), `positive` / `negative` / `out` / gradient lengths. NaN propagates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TripletMarginLoss<T> {
    /// The margin (default 1, must be > 0).
    pub margin: T,
    /// The norm degree (default 2, finite and > 0).
    pub p: T,
    /// Added to every difference before the norm (default 1e-6).
    pub eps: T,
    /// Use the smaller of `d(a, r)` and `d(q, r)` as the negative distance (default false).
    pub swap: bool,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T: Float> Default for TripletMarginLoss<T> {
    /// `TripletMarginLoss()`: `margin = 1`, `p = 2`, `eps = 1e-6`, no swap, `Mean`.
    fn default() -> Self {
        Self {
            margin: T::ONE,
            p: T::TWO,
            eps: T::from_f64(1e-6),
            swap: false,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Float> TripletMarginLoss<T> {
    /// `TripletMarginLoss(margin, p, eps, swap, reduction)`; validated when evaluated.
    pub fn new(margin: T, p: T, eps: T, swap: bool, reduction: Reduction) -> Self {
        Self {
            margin,
            p,
            eps,
            swap,
            reduction,
        }
    }

    /// Loss value for `anchor`, `positive`, `negative` `[N, D]` (`D = dim`, `N =
    /// anchor.len() / D`); per-row losses into `out` (`[N]`) for `None`.
    pub fn forward(
        &self,
        anchor: &[T],
        positive: &[T],
        negative: &[T],
        dim: usize,
        out: &mut [T],
    ) -> Result<T> {
        self.as_with_distance()
            .forward(anchor, positive, negative, dim, out)
    }

    /// [`forward`](Self::forward) plus the gradients of the value with respect to the three
    /// inputs, each `[N, D]`.
    #[allow(clippy::too_many_arguments)] // PyTorch's arguments and one buffer per gradient.
    pub fn forward_backward(
        &self,
        anchor: &[T],
        positive: &[T],
        negative: &[T],
        dim: usize,
        out: &mut [T],
        grad_anchor: &mut [T],
        grad_positive: &mut [T],
        grad_negative: &mut [T],
    ) -> Result<T> {
        self.as_with_distance().forward_backward(
            anchor,
            positive,
            negative,
            dim,
            out,
            grad_anchor,
            grad_positive,
            grad_negative,
        )
    }

    fn as_with_distance(&self) -> TripletMarginWithDistanceLoss<T> {
        TripletMarginWithDistanceLoss::new(
            PairwiseDistance::new(self.p, self.eps),
            self.margin,
            self.swap,
            self.reduction,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn hand_computed() {
        // eps = 0: d(a, q) = 1, d(a, r) = 3, margin 2.5: l = 0.5.
        let l = TripletMarginLoss::new(2.5f64, 2.0, 0.0, false, Reduction::Sum);
        let (a, q, r) = ([0.0, 0.0], [1.0, 0.0], [0.0, 3.0]);
        let (mut ga, mut gq, mut gr) = ([9.0; 2], [9.0; 2], [9.0; 2]);
        let v = l
            .forward_backward(&a, &q, &r, 2, &mut [], &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert_eq!(v, 0.5);
        assert_eq!((ga, gq, gr), ([-1.0, 1.0], [1.0, 0.0], [0.0, -1.0]));
        // margin 2 puts the hinge at its kink: no gradient, as PyTorch.
        let l = TripletMarginLoss { margin: 2.0, ..l };
        let v = l
            .forward_backward(&a, &q, &r, 2, &mut [], &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert_eq!((v, ga, gq, gr), (0.0, [0.0; 2], [0.0; 2], [0.0; 2]));
        // swap: d(q, r) = √10 > 3, so the negative distance stays d(a, r); p = 1:
        // d(a, q) = 1, d(a, r) = 3.
        let l = TripletMarginLoss::new(2.5f64, 1.0, 0.0, true, Reduction::Sum);
        let v = l
            .forward_backward(&a, &q, &r, 2, &mut [], &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert_eq!(v, 0.5);
        assert_eq!((ga, gq, gr), ([-1.0, 1.0], [1.0, 0.0], [0.0, -1.0]));
        // swap taking d(q, r): r close to q.
        let l = TripletMarginLoss::new(1.0f64, 2.0, 0.0, true, Reduction::Sum);
        let r = [1.0, 0.5];
        let v = l
            .forward_backward(&a, &q, &r, 2, &mut [], &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert_eq!(v, 1.5);
        assert_eq!((ga, gq, gr), ([-1.0, 0.0], [1.0, 1.0], [0.0, -1.0]));
    }

    #[test]
    fn errors() {
        let l = TripletMarginLoss::<f64>::default();
        let x = [0.0; 6];
        for m in [0.0, -1.0, f64::NAN] {
            assert!(matches!(
                TripletMarginLoss { margin: m, ..l }.forward(&x, &x, &x, 3, &mut []),
                Err(Error::InvalidArgument { name: "margin", .. })
            ));
        }
        for p in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            assert!(matches!(
                TripletMarginLoss { p, ..l }.forward(&x, &x, &x, 3, &mut []),
                Err(Error::InvalidArgument { name: "p", .. })
            ));
        }
        assert!(matches!(
            l.forward(&x, &x, &x, 4, &mut []),
            Err(Error::ShapeMismatch { what: "anchor", .. })
        ));
        assert!(matches!(
            l.forward(&x, &x, &x, 0, &mut []),
            Err(Error::ShapeMismatch { what: "anchor", .. })
        ));
        assert!(matches!(
            l.forward(&x, &x[..3], &x, 3, &mut []),
            Err(Error::ShapeMismatch {
                what: "positive",
                ..
            })
        ));
        assert!(matches!(
            l.forward(&x, &x, &x[..3], 3, &mut []),
            Err(Error::ShapeMismatch {
                what: "negative",
                ..
            })
        ));
        assert!(matches!(
            TripletMarginLoss {
                reduction: Reduction::None,
                ..l
            }
            .forward(&x, &x, &x, 3, &mut []),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        for (k, what) in ["grad_anchor", "grad_positive", "grad_negative"]
            .iter()
            .enumerate()
        {
            let mut bad = [0.0; 5];
            let (mut g1, mut g2) = ([0.0; 6], [0.0; 6]);
            let r = match k {
                0 => l.forward_backward(&x, &x, &x, 3, &mut [], &mut bad, &mut g1, &mut g2),
                1 => l.forward_backward(&x, &x, &x, 3, &mut [], &mut g1, &mut bad, &mut g2),
                _ => l.forward_backward(&x, &x, &x, 3, &mut [], &mut g1, &mut g2, &mut bad),
            };
            assert!(
                matches!(r, Err(Error::ShapeMismatch { what: w, .. }) if w == *what),
                "{what}"
            );
        }
    }
}
