//! Helpers shared by the margin losses (`MultiMarginLoss`, `MultiLabelMarginLoss`,
//! `MultiLabelSoftMarginLoss`, `MarginRankingLoss`, `CosineEmbeddingLoss`,
//! `TripletMarginLoss`, `TripletMarginWithDistanceLoss`).

use crate::error::{check_len, Result};
use crate::{Error, Float};

/// Rows `N` of a row-major `[N, C]` array of length `len`: `len / C`. `C` must divide `len`
/// ([`Error::ShapeMismatch`] naming `what` otherwise); `C = 0` requires `len = 0` and gives
/// `N = 0`.
pub(crate) fn rows(what: &'static str, len: usize, cols: usize) -> Result<usize> {
    if cols == 0 {
        check_len(what, len, 0)?;
        return Ok(0);
    }
    if !len.is_multiple_of(cols) {
        return Err(Error::ShapeMismatch {
            what,
            expected: len / cols * cols,
            got: len,
        });
    }
    Ok(len / cols)
}

/// The hinge `max(0, z)` with PyTorch's subgradient: `(z, 1)` for `z > 0`, `(0, 0)` for
/// `z <= 0` (the kink `z = 0` included), and `(NaN, NaN)` for a NaN `z` (PyTorch's CPU
/// kernels drop a NaN term, `z > 0` being false; here it propagates, as in every loss of the
/// crate).
#[inline(always)]
pub(crate) fn hinge<T: Float>(z: T) -> (T, T) {
    if z > T::ZERO {
        (z, T::ONE)
    } else if z.is_nan() {
        (z, z)
    } else {
        (T::ZERO, T::ZERO)
    }
}

/// `1 / N` for `Mean`, 1 otherwise: the gradient's scale.
#[inline]
pub(crate) fn mean_scale<T: Float>(reduction: super::Reduction, n: usize) -> T {
    if reduction == super::Reduction::Mean {
        T::ONE / T::from_usize(n)
    } else {
        T::ONE
    }
}

/// The reduced value: `sum / N` for `Mean`, `sum` otherwise.
#[inline]
pub(crate) fn reduce<T: Float>(reduction: super::Reduction, sum: T, n: usize) -> T {
    if reduction == super::Reduction::Mean {
        sum / T::from_usize(n)
    } else {
        sum
    }
}
