//! The element types the GEMM driver is generic over (`f32`, `f64`).

use core::ops::{Add, Mul};

/// A floating-point element the blocked GEMM driver, the packers and the portable
/// microkernels work with.
pub(crate) trait Elem:
    Copy + Send + Sync + PartialEq + Add<Output = Self> + Mul<Output = Self> + 'static
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
}

impl Elem for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

impl Elem for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

/// Writes `c <- t + beta * c` for an `m x n` tile held row-major in `t` (row stride `rst`),
/// with `beta == 0` ignoring the old `c` (NaN included). Used for edge tiles and for output
/// matrices whose columns are not contiguous.
///
/// # Safety
/// `t` must be valid for reads of the `m x n` tile with row stride `rst`, and every
/// `c + i * rsc + j * csc` for `i < m`, `j < n` valid for reads and writes.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn store_tile<T: Elem>(
    t: *const T,
    rst: usize,
    m: usize,
    n: usize,
    beta: T,
    c: *mut T,
    rsc: isize,
    csc: isize,
) {
    let put = |i: usize, j: usize| {
        // SAFETY: called with `i < m`, `j < n` only: in bounds of both tiles by the caller's
        // contract.
        unsafe {
            let cp = c.offset(i as isize * rsc + j as isize * csc);
            let v = *t.add(i * rst + j);
            *cp = if beta == T::ZERO { v } else { v + beta * *cp };
        }
    };
    // Walk C along its shorter stride (a transposed C, as the thin-rows path writes, has
    // contiguous columns of the tile).
    if rsc.unsigned_abs() < csc.unsigned_abs() {
        for j in 0..n {
            for i in 0..m {
                put(i, j);
            }
        }
    } else {
        for i in 0..m {
            for j in 0..n {
                put(i, j);
            }
        }
    }
}
