//! Losses with PyTorch's semantics (`torch.nn.*Loss`), each computing its value **and** the
//! closed-form gradient with respect to its input, without allocating.
//!
//! | type | PyTorch | input | target |
//! |---|---|---|---|
//! | [`MSELoss`] | `nn.MSELoss` | any shape, flat | same length |
//! | [`L1Loss`] | `nn.L1Loss` | any shape, flat | same length |
//! | [`HuberLoss`] | `nn.HuberLoss(delta)` | any shape, flat | same length |
//! | [`SmoothL1Loss`] | `nn.SmoothL1Loss(beta)` | any shape, flat | same length |
//! | [`NLLLoss`] | `nn.NLLLoss(weight, ignore_index)` | log-probabilities `[N, C]` | `[N]` class indices |
//! | [`CrossEntropyLoss`] | `nn.CrossEntropyLoss(weight, ignore_index, label_smoothing)` | logits `[N, C]` | `[N]` class indices or `[N, C]` probabilities |
//! | [`KLDivLoss`] | `nn.KLDivLoss(log_target)` | log-probabilities, flat `[N, ...]` | same length |
//! | [`BCEWithLogitsLoss`] | `nn.BCEWithLogitsLoss(weight, pos_weight)` | logits, flat `[..., C]` | same length |
//! | [`BCELoss`] | `nn.BCELoss(weight)` | probabilities in `[0, 1]`, flat `[..., C]` | same length, in `[0, 1]` |
//! | [`PoissonNLLLoss`] | `nn.PoissonNLLLoss(log_input, full, eps)` | log-rates (or rates), flat | counts, same length |
//! | [`GaussianNLLLoss`] | `nn.GaussianNLLLoss(full, eps)` | means, flat, and `var` (same length or one per row) | same length |
//! | [`SoftMarginLoss`] | `nn.SoftMarginLoss` | scores, flat | same length, ±1 |
//! | [`HingeEmbeddingLoss`] | `nn.HingeEmbeddingLoss(margin)` | distances, flat | same length, ±1 |
//! | [`MultiMarginLoss`] | `nn.MultiMarginLoss(p, margin, weight)` | scores `[N, C]` | `[N]` class indices |
//! | [`MultiLabelMarginLoss`] | `nn.MultiLabelMarginLoss` | scores `[N, C]` | `[N, C]` class indices, `-1`-terminated |
//! | [`MultiLabelSoftMarginLoss`] | `nn.MultiLabelSoftMarginLoss(weight)` | logits `[N, C]` | `[N, C]` 0/1 floats |
//! | [`MarginRankingLoss`] | `nn.MarginRankingLoss(margin)` | two score arrays, flat | same length, ±1 |
//! | [`CosineEmbeddingLoss`] | `nn.CosineEmbeddingLoss(margin)` | two embeddings `[N, D]` | `[N]`, ±1 |
//! | [`TripletMarginLoss`] | `nn.TripletMarginLoss(margin, p, eps, swap)` | anchor, positive, negative `[N, D]` | none |
//! | [`TripletMarginWithDistanceLoss`] | `nn.TripletMarginWithDistanceLoss(distance_function, margin, swap)`; distances [`PairwiseDistance`], [`CosineDistance`] or any [`Distance`] | anchor, positive, negative `[N, D]` | none |
//! | [`CTCLoss`] | `nn.CTCLoss(blank, zero_infinity)` | log-probabilities `[T, N, C]`, `input_lengths` `[N]` | [`CTCTargets`]: `[N, S]` padded or concatenated class indices, `target_lengths` `[N]` |
//!
//! Arrays are flat and row-major. Class-index losses take the number of classes `C` explicitly,
//! the embedding losses (`CosineEmbeddingLoss`, `TripletMarginLoss`,
//! `TripletMarginWithDistanceLoss`) the row length `D`;
//! an unbatched PyTorch input of shape `[C]` is the case `N = 1`. Higher-dimensional
//! `[N, C, d1, ...]` inputs are not supported (permute them to `[N*d1*..., C]` first).
//!
//! # Calling convention
//!
//! Every loss has `forward(.., out) -> Result<T>` and `forward_backward(.., out, grad_input)
//! -> Result<T>`:
//!
//! * The returned value is the reduced loss for [`Reduction::Mean`] / [`Reduction::Sum`], and
//!   the **sum** of the per-element losses for [`Reduction::None`].
//! * `out` receives the per-element losses and must have exactly the per-element length for
//!   [`Reduction::None`]; for `Mean` / `Sum` it is not touched and may be empty.
//! * `grad_input` (same length as `input`) is overwritten with the gradient of the **sum of
//!   the output** with respect to `input`, i.e. `d(returned value)/d(input)`: for `Mean` the
//!   `1/denominator` scaling is already applied, for `Sum` and `None` it is not. Since output
//!   element `i` of a `None` reduction depends only on its own input element (or row), the
//!   vector-Jacobian product with an upstream gradient `g` is obtained by scaling element (or
//!   row) `i` of `grad_input` by `g[i]`.
//! * Losses of several differentiable inputs take one gradient buffer per input
//!   (`grad_input1`, `grad_input2`; `grad_anchor`, `grad_positive`, `grad_negative`), each
//!   overwritten the same way.
//!
//! ```
//! use descent_core::loss::{CrossEntropyLoss, Reduction};
//! // Two samples, three classes; logits row-major [N, C].
//! let logits = [2.0f32, 0.5, -1.0, 0.0, 0.0, 3.0];
//! let target = [0i64, 2];
//! let mut grad = [0.0f32; 6];
//! let ce = CrossEntropyLoss { label_smoothing: 0.1, ..Default::default() };
//! let loss = ce.forward_backward(&logits, &target, 3, &mut [], &mut grad)?;
//! assert!(loss > 0.0);
//! // Each row of the softmax cross-entropy gradient sums to zero.
//! assert!((grad[0] + grad[1] + grad[2]).abs() < 1e-6);
//!
//! // Per-sample losses with `Reduction::None`: the returned value is their sum.
//! let mut per_sample = [0.0f32; 2];
//! let none = CrossEntropyLoss { reduction: Reduction::None, ..ce };
//! let total = none.forward(&logits, &target, 3, &mut per_sample)?;
//! assert!((total - 2.0 * loss).abs() < 1e-5);
//! # Ok::<(), descent_core::Error>(())
//! ```
//!
//! # Edge cases (all as PyTorch unless said otherwise)
//!
//! * Empty input: `Sum` gives 0, `Mean` gives NaN (0/0).
//! * `Sum` and `Mean` add the per-element losses by [cascade summation](crate::sum), as
//!   PyTorch's CPU reductions do, so large inputs in `f32` keep their small terms.
//! * NaN anywhere in `input` or `target` propagates into the affected output elements and
//!   gradients; it is never an error. Infinite logits give NaN rows in the softmax losses.
//!   (Deliberate: where PyTorch's CPU `sign(NaN)` yields a 0 gradient for L1, here the
//!   gradient of a NaN element is NaN too.)
//! * `L1Loss` (and `SmoothL1Loss` with `beta = 0`) use the subgradient `sign(0) = 0`.
//! * `NLLLoss` / `CrossEntropyLoss` (class indices): targets equal to `ignore_index` (default
//!   -100, may be any `i64`) contribute 0 to the output and gradient; any other target outside
//!   `0..C` is [`Error::ClassOutOfRange`](crate::Error::ClassOutOfRange). `Mean` divides by
//!   the sum of the class weights of the non-ignored targets (their count without `weight`);
//!   when every target is ignored (or those weights sum to 0) the value is NaN (0/0), and the
//!   gradient is 0 for ignored rows.
//! * `CrossEntropyLoss` with probability targets requires a negative `ignore_index` (it is
//!   unused) and `Mean` divides by `N`, not by the weights.
//! * `label_smoothing` must lie in `[0, 1]`; at 0 the smoothing term is not evaluated at all.
//! * `KLDivLoss`: `target * ln(target)` is taken as 0 for `target = 0` (PyTorch's `xlogy`).
//!   [`KLDivReduction::Mean`] divides by the element count; `BatchMean` divides by `N`.
//! * `HuberLoss` requires `delta > 0`; `SmoothL1Loss` requires `beta >= 0` (0 means L1).
//! * `BCELoss`: each log is clamped at -100 (so probabilities 0 and 1 give finite losses) and
//!   the gradient is PyTorch's `w (x - y) / max((1 - x) x, 1e-12)`. An input or target element
//!   outside `[0, 1]` is [`Error::InvalidArgument`](crate::Error::InvalidArgument) (`input` /
//!   `target`), where PyTorch raises; NaN propagates instead of raising.
//! * `PoissonNLLLoss`: with `full`, the Stirling term is added only where `target > 1` (or is
//!   NaN), as PyTorch's `masked_fill(target <= 1, 0)`. Nothing but lengths is validated.
//! * `GaussianNLLLoss` takes a third argument `var` and its `forward_backward` also writes
//!   `grad_var`. A variance per row (`var.len()` a divisor of `input.len()`) gets the sum of
//!   its row's terms; for `None` the vector-Jacobian product is then `Σ_row g[i] ∂l_i/∂var`,
//!   not a scaling of `grad_var`. Variances under `eps` are clamped with PyTorch's
//!   pass-through gradient (not 0); a negative variance is
//!   [`Error::InvalidArgument`](crate::Error::InvalidArgument) `var`.
//! * `SoftMarginLoss` is evaluated stably, so it stays finite where PyTorch's literal
//!   `log1p(exp(-y x))` overflows (to an infinite loss and a NaN gradient).
//! * `HingeEmbeddingLoss` follows PyTorch's masks: targets other than ±1 (NaN included) take
//!   both terms, and a NaN target does not propagate; at the kink `x = margin` the hinge
//!   term's subgradient is 0.
//! * The hinge losses (`MultiMarginLoss`, `MultiLabelMarginLoss`, `MarginRankingLoss`,
//!   `CosineEmbeddingLoss` with target -1, `TripletMarginLoss`,
//!   `TripletMarginWithDistanceLoss`) take PyTorch's subgradient:
//!   a term whose hinge argument is exactly 0 contributes no gradient. A NaN hinge argument
//!   gives NaN (PyTorch's CPU kernels for the first two drop the term instead). Their `Mean`
//!   divides by the number of rows `N`, weights or not.
//! * `CTCLoss` takes time-major `[T, N, C]` log-probabilities, [`CTCTargets`] (padded `[N, S]`
//!   or concatenated), `input_lengths` / `target_lengths` and a caller-provided `scratch`
//!   ([`CTCLoss::scratch_len`]). Its gradient is PyTorch's, `e^x - γ` (the logits' gradient
//!   under `log_softmax`), not the partial derivative `-γ` in the log-probabilities. An
//!   impossible alignment gives `+∞` and a NaN gradient unless `zero_infinity`; `Mean`
//!   divides each loss by `max(target_length, 1)`, then by `N`. A label equal to `blank` is an
//!   error (PyTorch does not check).

mod bce;
mod bce_with_logits;
mod cosine_embedding;
mod cross_entropy;
mod ctc;
mod gaussian_nll;
mod hinge_embedding;
mod huber;
mod kl_div;
mod l1;
mod margin;
mod margin_ranking;
mod mse;
mod multi_margin;
mod multilabel_margin;
mod multilabel_soft_margin;
mod nll;
mod poisson_nll;
mod smooth_l1;
mod soft_margin;
mod triplet_margin;
mod triplet_margin_with_distance;

pub use bce::BCELoss;
pub use bce_with_logits::BCEWithLogitsLoss;
pub use cosine_embedding::CosineEmbeddingLoss;
pub use cross_entropy::CrossEntropyLoss;
pub use ctc::{CTCLoss, CTCTargets};
pub use gaussian_nll::GaussianNLLLoss;
pub use hinge_embedding::HingeEmbeddingLoss;
pub use huber::HuberLoss;
pub use kl_div::{KLDivLoss, KLDivReduction};
pub use l1::L1Loss;
pub use margin_ranking::MarginRankingLoss;
pub use mse::MSELoss;
pub use multi_margin::MultiMarginLoss;
pub use multilabel_margin::MultiLabelMarginLoss;
pub use multilabel_soft_margin::MultiLabelSoftMarginLoss;
pub use nll::NLLLoss;
pub use poisson_nll::PoissonNLLLoss;
pub use smooth_l1::SmoothL1Loss;
pub use soft_margin::SoftMarginLoss;
pub use triplet_margin::TripletMarginLoss;
pub use triplet_margin_with_distance::{
    CosineDistance, Distance, PairwiseDistance, TripletMarginWithDistanceLoss,
};

use crate::error::{check_len, Result};
use crate::sum::{CascadeSum, BLOCK};
use crate::Float;

/// How the per-element losses `l_i` (`i = 0..n`) are combined, PyTorch's `reduction`.
///
/// `None`: the vector `l`; `Mean`: `Σ l_i / n` (for the class-weighted losses the
/// denominator is the weight sum, see each loss); `Sum`: `Σ l_i`. PyTorch's default is `Mean`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// `reduction='none'`: per-element losses, no reduction.
    None,
    /// `reduction='mean'` (default): sum divided by the element count (or weight sum).
    #[default]
    Mean,
    /// `reduction='sum'`: sum of the per-element losses.
    Sum,
}

/// Validate `out` against the per-element count `n`: exact length for `None`, unchecked
/// otherwise.
#[inline]
pub(crate) fn check_out<T>(none: bool, out: &[T], n: usize) -> Result<()> {
    if none {
        check_len("out", out.len(), n)
    } else {
        Ok(())
    }
}

/// Validate `grad_input` against the input length.
#[inline]
pub(crate) fn check_grad<T>(grad: &Option<&mut [T]>, n: usize) -> Result<()> {
    match grad {
        Some(g) => check_len("grad_input", g.len(), n),
        None => Ok(()),
    }
}

/// Shared driver for the element-wise losses: `f(x, y) -> (l, dl/dx)`; the reduction is a
/// [`CascadeSum`], as PyTorch's.
///
/// `divisor` is the reduction denominator (`n` for mean, 1 otherwise). Shapes must already be
/// validated: `target.len() == input.len()`, `out` per [`check_out`], `grad` per
/// [`check_grad`].
#[inline]
pub(crate) fn pointwise<T: Float>(
    input: &[T],
    target: &[T],
    none: bool,
    divisor: T,
    out: &mut [T],
    grad: Option<&mut [T]>,
    f: impl Fn(T, T) -> (T, T),
) -> T {
    let mut sum = CascadeSum::new();
    let scale = T::ONE / divisor;
    // Block by block: the per-element losses go to `block` (and `out`, `grad`), then into the
    // cascade sum as one slice (whole blocks are summed in independent lanes).
    let mut block = [T::ZERO; BLOCK];
    let (xs, ys) = (input.chunks(BLOCK), target.chunks(BLOCK));
    match (none, grad) {
        (true, Some(g)) => {
            for (((o, gs), x), y) in out
                .chunks_mut(BLOCK)
                .zip(g.chunks_mut(BLOCK))
                .zip(xs)
                .zip(ys)
            {
                let b = &mut block[..x.len()];
                for ((((bl, oi), gi), &x), &y) in b.iter_mut().zip(o).zip(gs).zip(x).zip(y) {
                    let (l, d) = f(x, y);
                    (*bl, *oi, *gi) = (l, l, d * scale);
                }
                sum.extend_from_slice(b);
            }
        }
        (true, None) => {
            for ((o, x), y) in out.chunks_mut(BLOCK).zip(xs).zip(ys) {
                let b = &mut block[..x.len()];
                for (((bl, oi), &x), &y) in b.iter_mut().zip(o).zip(x).zip(y) {
                    let l = f(x, y).0;
                    (*bl, *oi) = (l, l);
                }
                sum.extend_from_slice(b);
            }
        }
        (false, Some(g)) => {
            for ((gs, x), y) in g.chunks_mut(BLOCK).zip(xs).zip(ys) {
                let b = &mut block[..x.len()];
                for (((bl, gi), &x), &y) in b.iter_mut().zip(gs).zip(x).zip(y) {
                    let (l, d) = f(x, y);
                    (*bl, *gi) = (l, d * scale);
                }
                sum.extend_from_slice(b);
            }
        }
        (false, None) => {
            for (x, y) in xs.zip(ys) {
                let b = &mut block[..x.len()];
                for ((bl, &x), &y) in b.iter_mut().zip(x).zip(y) {
                    *bl = f(x, y).0;
                }
                sum.extend_from_slice(b);
            }
        }
    }
    sum.total() / divisor
}

/// Common validation + dispatch for the element-wise regression losses.
pub(crate) fn regression<T: Float>(
    reduction: Reduction,
    input: &[T],
    target: &[T],
    out: &mut [T],
    grad: Option<&mut [T]>,
    f: impl Fn(T, T) -> (T, T),
) -> Result<T> {
    let n = input.len();
    check_len("target", target.len(), n)?;
    let none = reduction == Reduction::None;
    check_out(none, out, n)?;
    check_grad(&grad, n)?;
    let divisor = if reduction == Reduction::Mean {
        T::from_usize(n)
    } else {
        T::ONE
    };
    Ok(pointwise(input, target, none, divisor, out, grad, f))
}

/// Check every class index: `ignore_index` or in `0..classes`.
pub(crate) fn check_classes(target: &[i64], classes: usize, ignore_index: i64) -> Result<()> {
    for (index, &t) in target.iter().enumerate() {
        if t != ignore_index && (t < 0 || t as u64 >= classes as u64) {
            return Err(crate::Error::ClassOutOfRange {
                index,
                class: t,
                classes,
            });
        }
    }
    Ok(())
}

/// `input.len() == n * classes` (overflow-safe).
pub(crate) fn check_matrix(what: &'static str, len: usize, n: usize, classes: usize) -> Result<()> {
    match n.checked_mul(classes) {
        Some(e) => check_len(what, len, e),
        None => Err(crate::Error::ShapeMismatch {
            what,
            expected: usize::MAX,
            got: len,
        }),
    }
}

/// Numerically stable `ln Σ exp(x_c)` over a row (max-shifted). NaN in the row gives NaN.
#[inline]
pub(crate) fn log_sum_exp<T: Float>(row: &[T]) -> T {
    let mut m = T::NEG_INFINITY;
    for &x in row {
        m = m.max(x);
    }
    let mut s = T::ZERO;
    for &x in row {
        s += (x - m).exp();
    }
    m + s.ln()
}

/// Like [`log_sum_exp`], also writing `e_c = exp(x_c - max)` into `buf` (same length as
/// `row`); returns `(logsumexp, 1 / Σ e_c)` so that `softmax_c = e_c * inv_sum`.
#[inline]
pub(crate) fn exp_shifted<T: Float>(row: &[T], buf: &mut [T]) -> (T, T) {
    let mut m = T::NEG_INFINITY;
    for &x in row {
        m = m.max(x);
    }
    let mut s = T::ZERO;
    for (b, &x) in buf.iter_mut().zip(row) {
        let e = (x - m).exp();
        *b = e;
        s += e;
    }
    (m + s.ln(), T::ONE / s)
}
