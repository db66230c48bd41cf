//! Triplet loss with a distance of choice, `torch.nn.TripletMarginWithDistanceLoss`, and the
//! [`Distance`] trait that stands for PyTorch's `distance_function` callable.

use super::margin::{hinge, mean_scale, reduce, rows};
use super::{check_out, Reduction};
use crate::error::{check_arg, check_len, Result};
use crate::sum::CascadeSum;
use crate::Float;

/// A distance between two rows of equal length, with its gradient: the `distance_function`
/// of [`TripletMarginWithDistanceLoss`] (a Python callable in PyTorch, whose gradient autograd
/// supplies; here the implementation supplies it).
///
/// Built in: [`PairwiseDistance`] (`nn.PairwiseDistance`, PyTorch's default) and
/// [`CosineDistance`] (`1 - F.cosine_similarity`). Any other distance implements the trait
/// itself, e.g. the squared Euclidean distance `d(x, y) = Σ (x_k - y_k)²`, whose gradient
/// is `∂d/∂x_k = 2 (x_k - y_k) = -∂d/∂y_k`:
///
/// ```
/// use descent_core::loss::{Distance, Reduction, TripletMarginWithDistanceLoss};
/// use descent_core::Float;
///
/// struct SquaredEuclidean;
///
/// impl<T: Float> Distance<T> for SquaredEuclidean {
///     fn distance(&self, x: &[T], y: &[T]) -> T {
///         x.iter().zip(y).fold(T::ZERO, |s, (&x, &y)| s + (x - y) * (x - y))
///     }
///     fn grad(&self, x: &[T], y: &[T], _d: T, scale: T, gx: &mut [T], gy: &mut [T]) {
///         for (((&x, &y), gx), gy) in x.iter().zip(y).zip(gx.iter_mut()).zip(gy.iter_mut()) {
///             let g = scale * T::TWO * (x - y);
///             *gx += g;
///             *gy -= g;
///         }
///     }
/// }
///
/// let loss = TripletMarginWithDistanceLoss::new(SquaredEuclidean, 1.0f64, false, Reduction::Sum);
/// // d(a, q) = 1, d(a, r) = 4: max(1 + 1 - 4, 0) = 0; then margin 5: 5 + 1 - 4 = 2.
/// let (a, q, r) = ([0.0, 0.0], [1.0, 0.0], [0.0, 2.0]);
/// assert_eq!(loss.forward(&a, &q, &r, 2, &mut [])?, 0.0);
/// let loss = TripletMarginWithDistanceLoss { margin: 5.0, ..loss };
/// let (mut ga, mut gq, mut gr) = ([0.0; 2], [0.0; 2], [0.0; 2]);
/// assert_eq!(loss.forward_backward(&a, &q, &r, 2, &mut [], &mut ga, &mut gq, &mut gr)?, 2.0);
/// assert_eq!((ga, gq, gr), ([-2.0, 4.0], [2.0, 0.0], [0.0, -4.0]));
/// # Ok::<(), descent_core::Error>(())
/// ```
pub trait Distance<T: Float> {
    /// Checks the distance's parameters before any evaluation (the loss returns the error);
    /// the default accepts everything.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// `d(x, y)`; `x` and `y` have the same length (the row length `D`).
    fn distance(&self, x: &[T], y: &[T]) -> T;

    /// **Adds** `scale · ∂d/∂x` to `gx` and `scale · ∂d/∂y` to `gy` (all four slices of the
    /// same length); `d` is [`distance`](Self::distance)`(x, y)`, passed so that it need not
    /// be recomputed. The loss does not call it for terms without gradient (a row at or
    /// below the hinge, the distance that the swap's `min` does not take).
    fn grad(&self, x: &[T], y: &[T], d: T, scale: T, gx: &mut [T], gy: &mut [T]);
}

impl<T: Float, D: Distance<T> + ?Sized> Distance<T> for &D {
    fn validate(&self) -> Result<()> {
        (**self).validate()
    }
    fn distance(&self, x: &[T], y: &[T]) -> T {
        (**self).distance(x, y)
    }
    fn grad(&self, x: &[T], y: &[T], d: T, scale: T, gx: &mut [T], gy: &mut [T]) {
        (**self).grad(x, y, d, scale, gx, gy)
    }
}

/// `nn.PairwiseDistance(p=2.0, eps=1e-6)`: `d(x, y) = ||x - y + eps||_p` (PyTorch adds `eps`
/// to every difference), `(Σ_k |v_k|^p)^{1/p}` for `v = x - y + eps`.
///
/// Gradient (PyTorch's norm backward): `∂d/∂x_k = u_k = sgn(v_k) (|v_k| / d)^{p-1}` (`v_k / d`
/// for `p = 2`, `sgn(v_k)` for `p = 1`; 0 where `d = 0` or `v_k = 0`), `∂d/∂y_k = -u_k`.
///
/// `p` must be finite and `> 0` ([`Error::InvalidArgument`](crate::Error) `p` otherwise;
/// PyTorch also takes `p <= 0` and `∞`); `eps` is not checked (a NaN `eps` gives NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairwiseDistance<T> {
    /// The norm degree (default 2, finite and > 0).
    pub p: T,
    /// Added to every difference before the norm (default 1e-6).
    pub eps: T,
}

impl<T: Float> Default for PairwiseDistance<T> {
    /// `PairwiseDistance()`: `p = 2`, `eps = 1e-6`.
    fn default() -> Self {
        Self {
            p: T::TWO,
            eps: T::from_f64(1e-6),
        }
    }
}

impl<T: Float> PairwiseDistance<T> {
    /// `PairwiseDistance(p, eps)`; validated when evaluated.
    pub fn new(p: T, eps: T) -> Self {
        Self { p, eps }
    }

    /// `d ||v||_p / d v_k` for the component `diff = x_k - y_k` (`eps` added here) of a
    /// vector of norm `norm`: 0 where the norm or the component is 0.
    #[inline]
    fn unit(&self, diff: T, norm: T) -> T {
        let v = diff + self.eps;
        if self.p == T::ONE {
            v.signum0()
        } else if norm == T::ZERO || v == T::ZERO {
            T::ZERO
        } else if self.p == T::TWO {
            v / norm
        } else {
            v.signum0() * (v.abs() / norm).powf(self.p - T::ONE)
        }
    }
}

impl<T: Float> Distance<T> for PairwiseDistance<T> {
    fn validate(&self) -> Result<()> {
        check_arg(
            self.p > T::ZERO && self.p.is_finite(),
            "p",
            self.p.to_f64(),
            "finite and > 0",
        )
    }

    /// `||x - y + eps||_p`.
    fn distance(&self, x: &[T], y: &[T]) -> T {
        let v = x.iter().zip(y).map(|(&x, &y)| x - y + self.eps);
        if self.p == T::TWO {
            v.fold(T::ZERO, |s, v| s + v * v).sqrt()
        } else if self.p == T::ONE {
            v.fold(T::ZERO, |s, v| s + v.abs())
        } else {
            v.fold(T::ZERO, |s, v| s + v.abs().powf(self.p))
                .powf(T::ONE / self.p)
        }
    }

    /// Adds `scale · u` to `gx` and `-scale · u` to `gy`.
    fn grad(&self, x: &[T], y: &[T], d: T, scale: T, gx: &mut [T], gy: &mut [T]) {
        for (((&x, &y), gx), gy) in x.iter().zip(y).zip(gx.iter_mut()).zip(gy.iter_mut()) {
            let g = scale * self.unit(x - y, d);
            *gx += g;
            *gy -= g;
        }
    }
}

/// The cosine distance `d(x, y) = 1 - cos(x, y)` with PyTorch's
/// `F.cosine_similarity(x, y, eps=1e-8)`, which clamps each norm on its own:
/// `cos = Σ_k (x_k / n_x) (y_k / n_y)`, `n_x = max(||x||, eps)`, `n_y = max(||y||, eps)`
/// (`||·||` Euclidean). The distance of `lambda x, y: 1.0 - F.cosine_similarity(x, y)`.
///
/// Gradient: PyTorch clamps the norms in place outside autograd, so the norm's own gradient
/// `x / ||x||` still flows where `||x|| < eps`:
/// `∂d/∂x_k = -(y_k / n_y - cos · x_k / ||x||) / n_x` (the second term 0 where `||x|| = 0`),
/// and symmetrically for `y`. A zero vector has `cos = 0` and `d = 1`.
///
/// `eps` must be `>= 0` ([`Error::InvalidArgument`](crate::Error) `eps` otherwise; PyTorch
/// takes a negative `eps`, which clamps nothing, as `eps = 0` here would).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineDistance<T> {
    /// The lower bound of each norm (default 1e-8).
    pub eps: T,
}

impl<T: Float> Default for CosineDistance<T> {
    /// `eps = 1e-8`, `F.cosine_similarity`'s default.
    fn default() -> Self {
        Self {
            eps: T::from_f64(1e-8),
        }
    }
}

impl<T: Float> CosineDistance<T> {
    /// `CosineDistance(eps)`; validated when evaluated.
    pub fn new(eps: T) -> Self {
        Self { eps }
    }

    /// `(||x||, ||y||, n_x, n_y, cos)`.
    #[inline]
    fn parts(&self, x: &[T], y: &[T]) -> (T, T, T, T, T) {
        let rx = x.iter().fold(T::ZERO, |s, &x| s + x * x).sqrt();
        let ry = y.iter().fold(T::ZERO, |s, &y| s + y * y).sqrt();
        // `clamp_min`: a NaN norm stays NaN.
        let nx = if rx < self.eps { self.eps } else { rx };
        let ny = if ry < self.eps { self.eps } else { ry };
        let cos = x
            .iter()
            .zip(y)
            .fold(T::ZERO, |s, (&x, &y)| s + (x / nx) * (y / ny));
        (rx, ry, nx, ny, cos)
    }
}

impl<T: Float> Distance<T> for CosineDistance<T> {
    fn validate(&self) -> Result<()> {
        check_arg(self.eps >= T::ZERO, "eps", self.eps.to_f64(), ">= 0")
    }

    /// `1 - cos(x, y)`.
    fn distance(&self, x: &[T], y: &[T]) -> T {
        T::ONE - self.parts(x, y).4
    }

    fn grad(&self, x: &[T], y: &[T], _d: T, scale: T, gx: &mut [T], gy: &mut [T]) {
        let (rx, ry, nx, ny, cos) = self.parts(x, y);
        // `x_k / ||x||`, 0 for a zero vector (PyTorch's norm backward).
        let dir = |v: T, r: T| if r == T::ZERO { T::ZERO } else { v / r };
        for (((&x, &y), gx), gy) in x.iter().zip(y).zip(gx.iter_mut()).zip(gy.iter_mut()) {
            *gx -= scale * (y / ny - cos * dir(x, rx)) / nx;
            *gy -= scale * (x / nx - cos * dir(y, ry)) / ny;
        }
    }
}

/// `nn.TripletMarginWithDistanceLoss(distance_function=None, margin=1.0, swap=False,
/// reduction='mean')` on anchors `a`, positives `q` and negatives `r` of shape `[N, D]`
/// (row-major), with the distance `d` a [`Distance`] ([`PairwiseDistance`] by default, as
/// PyTorch's `None`):
///
/// `l_n = max(margin + d(a_n, q_n) - d_neg, 0)`, `d_neg = d(a_n, r_n)`, or with `swap`
/// `min(d(a_n, r_n), d(q_n, r_n))`; `Mean` divides `Σ l_n` by `N`.
///
/// Gradient: with `s = 1` where `l_n`'s hinge argument is `> 0` (0 at the kink, as PyTorch's
/// `clamp_min` backward), `d/d(a, q) = s ∇d(a_n, q_n)` and `d/d(a, r) = -s ∇d(a_n, r_n)`
/// (through [`Distance::grad`]); with `swap` the negative term goes to whichever of `d(a, r)`,
/// `d(q, r)` is the smaller (half to each on a tie, as PyTorch's `minimum` backward). Times
/// `1/N` for `Mean`. With [`PairwiseDistance`] this is [`TripletMarginLoss`](super::TripletMarginLoss).
///
/// `margin` must be `> 0` (PyTorch raises for `margin <= 0`; a NaN margin, which PyTorch
/// takes, is refused too) and the distance must [`validate`](Distance::validate):
/// [`Error::InvalidArgument`](crate::Error) otherwise. Errors also: `dim = 0` with a
/// non-empty `anchor` or `dim` not dividing its length (`anchor`), `positive` / `negative` /
/// `out` / gradient lengths (PyTorch broadcasts inputs of equal rank, e.g. one positive row
/// for every anchor; here the three have the same length). NaN propagates.
///
/// With the default distance, name the scalar type: `TripletMarginWithDistanceLoss::<f32> {
/// swap: true, ..Default::default() }` (a struct expression does not fall back on a default
/// type parameter).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TripletMarginWithDistanceLoss<T, D = PairwiseDistance<T>> {
    /// The distance (default [`PairwiseDistance::default`]).
    pub distance_function: D,
    /// The margin (default 1, must be > 0).
    pub margin: T,
    /// Use the smaller of `d(a, r)` and `d(q, r)` as the negative distance (default false).
    pub swap: bool,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T: Float, D: Default> Default for TripletMarginWithDistanceLoss<T, D> {
    /// `TripletMarginWithDistanceLoss()`: the distance's default, `margin = 1`, no swap,
    /// `Mean`.
    fn default() -> Self {
        Self {
            distance_function: D::default(),
            margin: T::ONE,
            swap: false,
            reduction: Reduction::Mean,
        }
    }
}

/// Gradient buffers for the three inputs.
type Grads<'g, T> = (&'g mut [T], &'g mut [T], &'g mut [T]);

impl<T: Float, D: Distance<T>> TripletMarginWithDistanceLoss<T, D> {
    /// `TripletMarginWithDistanceLoss(distance_function, margin, swap, reduction)`; validated
    /// when evaluated.
    pub fn new(distance_function: D, margin: T, swap: bool, reduction: Reduction) -> Self {
        Self {
            distance_function,
            margin,
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
        self.run(anchor, positive, negative, dim, out, None)
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
        let grads = (grad_anchor, grad_positive, grad_negative);
        self.run(anchor, positive, negative, dim, out, Some(grads))
    }

    fn run(
        &self,
        anchor: &[T],
        positive: &[T],
        negative: &[T],
        dim: usize,
        out: &mut [T],
        mut grad: Option<Grads<'_, T>>,
    ) -> Result<T> {
        check_arg(self.margin > T::ZERO, "margin", self.margin.to_f64(), "> 0")?;
        let dist = &self.distance_function;
        dist.validate()?;
        let len = anchor.len();
        let n = rows("anchor", len, dim)?;
        check_len("positive", positive.len(), len)?;
        check_len("negative", negative.len(), len)?;
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        if let Some((ga, gq, gr)) = &grad {
            check_len("grad_anchor", ga.len(), len)?;
            check_len("grad_positive", gq.len(), len)?;
            check_len("grad_negative", gr.len(), len)?;
        }
        let scale = mean_scale::<T>(self.reduction, n);
        let mut sum = CascadeSum::new();
        let cols = dim.max(1);
        for (k, ((a, q), r)) in anchor
            .chunks_exact(cols)
            .zip(positive.chunks_exact(cols))
            .zip(negative.chunks_exact(cols))
            .enumerate()
        {
            let d_aq = dist.distance(a, q);
            let d_ar = dist.distance(a, r);
            // Weights of d(a, r) and d(q, r) in the negative distance (`torch.minimum`).
            let (d_neg, w_ar, w_qr, d_qr) = if self.swap {
                let d_qr = dist.distance(q, r);
                if d_ar < d_qr {
                    (d_ar, T::ONE, T::ZERO, d_qr)
                } else if d_qr < d_ar {
                    (d_qr, T::ZERO, T::ONE, d_qr)
                } else if d_ar == d_qr {
                    (d_ar, T::HALF, T::HALF, d_qr)
                } else {
                    (T::NAN, T::ONE, T::ONE, d_qr)
                }
            } else {
                (d_ar, T::ONE, T::ZERO, T::ZERO)
            };
            // PyTorch's order: `margin + dist_pos - dist_neg`.
            let (l, s) = hinge(self.margin + d_aq - d_neg);
            sum.add(l);
            if none {
                out[k] = l;
            }
            if let Some((ga, gq, gr)) = grad.as_mut() {
                let span = k * cols..(k + 1) * cols;
                let (ga, gq, gr) = (&mut ga[span.clone()], &mut gq[span.clone()], &mut gr[span]);
                ga.fill(T::ZERO);
                gq.fill(T::ZERO);
                gr.fill(T::ZERO);
                let s = s * scale;
                if s == T::ZERO {
                    continue;
                }
                dist.grad(a, q, d_aq, s, ga, gq);
                if w_ar != T::ZERO {
                    dist.grad(a, r, d_ar, -(s * w_ar), ga, gr);
                }
                if w_qr != T::ZERO {
                    dist.grad(q, r, d_qr, -(s * w_qr), gq, gr);
                }
            }
        }
        Ok(reduce(self.reduction, sum.total(), n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::TripletMarginLoss;
    use crate::Error;

    #[test]
    fn pairwise_hand_computed() {
        // eps = 0: d(a, q) = 1, d(a, r) = 3, margin 2.5: l = 0.5.
        let d = PairwiseDistance::new(2.0f64, 0.0);
        let l = TripletMarginWithDistanceLoss::new(d, 2.5, false, Reduction::Sum);
        let (a, q, r) = ([0.0, 0.0], [1.0, 0.0], [0.0, 3.0]);
        let (mut ga, mut gq, mut gr) = ([9.0; 2], [9.0; 2], [9.0; 2]);
        let v = l
            .forward_backward(&a, &q, &r, 2, &mut [], &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert_eq!(v, 0.5);
        assert_eq!((ga, gq, gr), ([-1.0, 1.0], [1.0, 0.0], [0.0, -1.0]));
        // margin 2 puts the hinge at its kink: no gradient, as PyTorch.
        let l = TripletMarginWithDistanceLoss { margin: 2.0, ..l };
        let v = l
            .forward_backward(&a, &q, &r, 2, &mut [], &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert_eq!((v, ga, gq, gr), (0.0, [0.0; 2], [0.0; 2], [0.0; 2]));
        // swap taking d(q, r) = 0.5 < d(a, r) = √1.25: 1 + 1 - 0.5.
        let l = TripletMarginWithDistanceLoss::new(d, 1.0, true, Reduction::Mean);
        let r = [1.0, 0.5];
        let mut out = [0.0];
        let v = l
            .forward_backward(&a, &q, &r, 2, &mut out, &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert_eq!((v, out), (1.5, [0.0]));
        assert_eq!((ga, gq, gr), ([-1.0, 0.0], [1.0, 1.0], [0.0, -1.0]));
        // A swap tie d(a, r) = d(q, r) = 5 (p = 1) splits the negative term in half.
        let d1 = PairwiseDistance::new(1.0, 0.0);
        let l = TripletMarginWithDistanceLoss::new(d1, 10.0, true, Reduction::None);
        let (q, r) = ([2.0, 0.0], [1.0, 4.0]);
        let v = l
            .forward_backward(&a, &q, &r, 2, &mut out, &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert_eq!((v, out), (7.0, [7.0]));
        assert_eq!((ga, gq, gr), ([-0.5, 0.5], [0.5, 0.5], [0.0, -1.0]));
    }

    #[test]
    fn cosine_hand_computed() {
        let c = CosineDistance::<f64>::default();
        // Orthogonal: 1; parallel: 0; opposite: 2; a zero vector: 1.
        assert_eq!(c.distance(&[1.0, 0.0], &[0.0, 3.0]), 1.0);
        assert_eq!(c.distance(&[2.0, 0.0], &[3.0, 0.0]), 0.0);
        assert_eq!(c.distance(&[2.0, 0.0], &[-3.0, 0.0]), 2.0);
        assert_eq!(c.distance(&[0.0, 0.0], &[1.0, 1.0]), 1.0);
        // Each norm clamped on its own: x of norm 1e-9 < eps counts as norm 1e-8.
        let d = c.distance(&[1e-9, 0.0], &[1.0, 0.0]);
        assert!((d - 0.9).abs() < 1e-12, "{d}");
        // Gradient at x = (1, 0), y = (0, 2): ∂cos/∂x = (0, 1), ∂cos/∂y = (0.5, 0).
        let (mut gx, mut gy) = ([1.0; 2], [1.0; 2]);
        c.grad(&[1.0, 0.0], &[0.0, 2.0], 1.0, 2.0, &mut gx, &mut gy);
        assert_eq!((gx, gy), ([1.0, -1.0], [0.0, 1.0]));
        // PyTorch's pass-through at the clamp, x = (1e-9, 0), y = (1, 1): cos = 1e-9 / (1e-8
        // √2); ∂cos/∂x_0 = (1/√2 - cos) / 1e-8, ∂cos/∂x_1 = (1/√2) / 1e-8.
        let (mut gx, mut gy) = ([0.0; 2], [0.0; 2]);
        c.grad(&[1e-9, 0.0], &[1.0, 1.0], 0.0, -1.0, &mut gx, &mut gy);
        let h = core::f64::consts::FRAC_1_SQRT_2;
        let want = [(h - 0.1 * h) / 1e-8, h / 1e-8];
        for (g, w) in gx.iter().zip(want) {
            assert!((g - w).abs() < 1e-6 * w, "{g} {w}");
        }
        // A zero x: ∂cos/∂x = ŷ / eps, ∂cos/∂y = 0.
        let (mut gx, mut gy) = ([0.0; 2], [0.0; 2]);
        c.grad(&[0.0, 0.0], &[3.0, 4.0], 1.0, -1.0, &mut gx, &mut gy);
        assert_eq!(gy, [0.0, 0.0]);
        assert!((gx[0] - 0.6e8).abs() < 1e-4 && (gx[1] - 0.8e8).abs() < 1e-4);
    }

    #[test]
    fn default_distance_is_triplet_margin_loss() {
        let a = [0.3f32, -1.2, 0.5, 2.0, 0.1, 0.0];
        let q = [0.1f32, -0.2, 1.5, 1.0, 0.0, 0.4];
        let r = [0.2f32, -1.0, 0.7, -2.0, 3.1, 0.2];
        for swap in [false, true] {
            for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
                let w = TripletMarginWithDistanceLoss::<f32> {
                    swap,
                    reduction,
                    margin: 2.0,
                    ..Default::default()
                };
                let t = TripletMarginLoss {
                    swap,
                    reduction,
                    margin: 2.0,
                    ..Default::default()
                };
                let mut o = ([0.0f32; 2], [0.0; 2]);
                let mut g = [[0.0f32; 6]; 6];
                let [g0, g1, g2, g3, g4, g5] = &mut g;
                let v1 = w.forward_backward(&a, &q, &r, 3, &mut o.0, g0, g1, g2);
                let v2 = t.forward_backward(&a, &q, &r, 3, &mut o.1, g3, g4, g5);
                assert_eq!(v1.unwrap(), v2.unwrap());
                assert_eq!(o.0, o.1);
                assert_eq!(g[..3], g[3..]);
            }
        }
    }

    #[test]
    fn errors() {
        let l = TripletMarginWithDistanceLoss::<f64>::default();
        let x = [0.0; 6];
        for m in [0.0, -1.0, f64::NAN] {
            assert!(matches!(
                TripletMarginWithDistanceLoss { margin: m, ..l }.forward(&x, &x, &x, 3, &mut []),
                Err(Error::InvalidArgument { name: "margin", .. })
            ));
        }
        for p in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            let d = PairwiseDistance::new(p, 1e-6);
            assert!(matches!(
                TripletMarginWithDistanceLoss::new(d, 1.0, false, Reduction::Mean).forward(
                    &x,
                    &x,
                    &x,
                    3,
                    &mut []
                ),
                Err(Error::InvalidArgument { name: "p", .. })
            ));
        }
        for eps in [-1e-8, f64::NAN] {
            let d = CosineDistance::new(eps);
            assert!(matches!(
                TripletMarginWithDistanceLoss::new(d, 1.0, false, Reduction::Mean).forward(
                    &x,
                    &x,
                    &x,
                    3,
                    &mut []
                ),
                Err(Error::InvalidArgument { name: "eps", .. })
            ));
        }
        assert!(matches!(
            l.forward(&x, &x, &x, 4, &mut []),
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
            TripletMarginWithDistanceLoss {
                reduction: Reduction::None,
                ..l
            }
            .forward(&x, &x, &x, 3, &mut []),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        let (mut g, mut bad) = ([0.0; 6], [0.0; 5]);
        let mut g2 = [0.0; 6];
        assert!(matches!(
            l.forward_backward(&x, &x, &x, 3, &mut [], &mut g, &mut g2, &mut bad),
            Err(Error::ShapeMismatch {
                what: "grad_negative",
                ..
            })
        ));
    }
}
