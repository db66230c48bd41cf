//! Small dense linear algebra for second-order methods on least squares: the closed-form
//! Hessian, a Cholesky factorization and solve, the normal-equation optimum and the Newton step.
//!
//! Least squares here is the [`Mlp::linear`](crate::Mlp::linear) model with `MSELoss` (mean):
//! for output `o`, with the augmented design `X~ = [X, 1]` (`N x p`, `p = d + bias`) and the
//! parameters of that output `theta_o = [W[o, :], b[o]]`,
//!
//! * loss `L = (1/(N m)) sum_o ||X~ theta_o - y_o||^2` (`m` outputs),
//! * gradient `g_o = (2/(N m)) X~^T (X~ theta_o - y_o)`,
//! * Hessian `H = (2/(N m)) X~^T X~` (the same block for every output),
//! * Newton step `theta_o <- theta_o - H^{-1} g_o`, which lands on the normal-equation optimum
//!   `X~^T X~ theta_o = X~^T y_o` in one step because the loss is exactly quadratic.
//!
//! Everything works in caller buffers (no allocation); sizes are given by the `*_len`
//! functions.

use crate::error::{check_arg, check_len, check_min_len};
// `len == a * b` with the product checked: a wrapped product could match a short slice.
use crate::loss::check_matrix as check_product;
use crate::{Error, Float, Result};

/// Factor the symmetric positive-definite `n x n` matrix `a` (row-major) in place as
/// `A = L L^T`; afterwards the lower triangle (diagonal included) holds `L` and the strict
/// upper triangle is zeroed. Fails with [`Error::NotPositiveDefinite`] at the first pivot
/// `<= 0` (or NaN).
pub fn cholesky_in_place<T: Float>(a: &mut [T], n: usize) -> Result<()> {
    check_product("a", a.len(), n, n)?;
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= T::ZERO {
            return Err(Error::NotPositiveDefinite { pivot: j });
        }
        let djj = d.sqrt();
        a[j * n + j] = djj;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / djj;
        }
        for k in j + 1..n {
            a[j * n + k] = T::ZERO;
        }
    }
    Ok(())
}

/// Solve `L L^T x = b` in place (`b` becomes `x`) given the factor from
/// [`cholesky_in_place`]: forward substitution `L z = b`, then back substitution `L^T x = z`.
pub fn cholesky_solve<T: Float>(l: &[T], n: usize, b: &mut [T]) -> Result<()> {
    check_product("l", l.len(), n, n)?;
    check_len("b", b.len(), n)?;
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    Ok(())
}

/// Number of unknowns per output, `p = d + 1` with a bias column, else `d`.
pub fn lstsq_dim(d: usize, bias: bool) -> usize {
    d.saturating_add(usize::from(bias))
}

/// Write the least-squares Hessian `H = (2/(N m)) X~^T X~` (`p x p`, `p = lstsq_dim(d, bias)`)
/// of `x` (`N x d`, row-major) into `h`, for a model with `m` outputs.
pub fn least_squares_hessian<T: Float>(
    x: &[T],
    n: usize,
    d: usize,
    m: usize,
    bias: bool,
    h: &mut [T],
) -> Result<()> {
    check_product("x", x.len(), n, d)?;
    let p = lstsq_dim(d, bias);
    check_product("h", h.len(), p, p)?;
    check_arg(n >= 1, "n", n as f64, ">= 1 samples")?;
    check_arg(m >= 1, "m", m as f64, ">= 1 outputs")?;
    let nm = n.checked_mul(m).ok_or(Error::InvalidArgument {
        name: "m",
        value: m as f64,
        expected: "n * m that fits in usize",
    })?;
    h.iter_mut().for_each(|v| *v = T::ZERO);
    if d == 0 {
        // Only the bias column: X~^T X~ = N.
        if bias {
            h[0] = T::from_usize(n);
        }
    } else {
        let aug = |row: &[T], j: usize| if j < d { row[j] } else { T::ONE };
        for row in x.chunks_exact(d).take(n) {
            for i in 0..p {
                let ri = aug(row, i);
                for j in 0..=i {
                    h[i * p + j] += ri * aug(row, j);
                }
            }
        }
    }
    let scale = T::TWO / T::from_usize(nm);
    for i in 0..p {
        for j in 0..=i {
            let v = h[i * p + j] * scale;
            h[i * p + j] = v;
            h[j * p + i] = v;
        }
    }
    Ok(())
}

/// Scratch elements [`newton_step`] and [`least_squares_optimum`] need: `p * p + p`
/// (saturating at `usize::MAX`).
pub fn newton_scratch_len(d: usize, bias: bool) -> usize {
    let p = lstsq_dim(d, bias);
    p.checked_add(1)
        .and_then(|q| p.checked_mul(q))
        .unwrap_or(usize::MAX)
}

/// One Newton step for the linear least-squares model: `params` (layout `W [m, d]` then
/// `b [m]` when `bias`) becomes `params - H^{-1} g`, with `g` the MSE gradient `grad` (same
/// layout; e.g. from [`Mlp::loss_grad_regression`](crate::Mlp::loss_grad_regression)) and `H`
/// the closed-form Hessian of `x` (`n x d`). `scratch` needs [`newton_scratch_len`] elements.
#[allow(clippy::too_many_arguments)]
pub fn newton_step<T: Float>(
    x: &[T],
    n: usize,
    d: usize,
    m: usize,
    bias: bool,
    params: &mut [T],
    grad: &[T],
    scratch: &mut [T],
) -> Result<()> {
    let p = lstsq_dim(d, bias);
    // m * d weights then m biases: m * p elements.
    check_product("params", params.len(), m, p)?;
    check_product("grad", grad.len(), m, p)?;
    check_min_len("scratch", scratch.len(), newton_scratch_len(d, bias))?;
    let (h, v) = scratch[..p * p + p].split_at_mut(p * p);
    least_squares_hessian(x, n, d, m, bias, h)?;
    cholesky_in_place(h, p)?;
    for o in 0..m {
        v[..d].copy_from_slice(&grad[o * d..o * d + d]);
        if bias {
            v[d] = grad[m * d + o];
        }
        cholesky_solve(h, p, v)?;
        for j in 0..d {
            params[o * d + j] -= v[j];
        }
        if bias {
            params[m * d + o] -= v[d];
        }
    }
    Ok(())
}

/// The normal-equation optimum of linear least squares: solves `X~^T X~ theta_o = X~^T y_o`
/// for every output `o` of `y` (`n x m`) by Cholesky and writes it to `params` (layout
/// `W [m, d]` then `b [m]` when `bias`). `scratch` needs [`newton_scratch_len`] elements.
#[allow(clippy::too_many_arguments)]
pub fn least_squares_optimum<T: Float>(
    x: &[T],
    y: &[T],
    n: usize,
    d: usize,
    m: usize,
    bias: bool,
    params: &mut [T],
    scratch: &mut [T],
) -> Result<()> {
    let p = lstsq_dim(d, bias);
    check_product("x", x.len(), n, d)?;
    check_product("y", y.len(), n, m)?;
    check_product("params", params.len(), m, p)?;
    check_min_len("scratch", scratch.len(), newton_scratch_len(d, bias))?;
    let (h, v) = scratch[..p * p + p].split_at_mut(p * p);
    // H here is X~^T X~ scaled by 2/(n m); scale the right-hand side identically.
    least_squares_hessian(x, n, d, m, bias, h)?;
    cholesky_in_place(h, p)?;
    // n * m fits: y has that many elements.
    let scale = T::TWO / T::from_usize(n * m);
    for o in 0..m {
        v.iter_mut().for_each(|e| *e = T::ZERO);
        for i in 0..n {
            let yi = y[i * m + o] * scale;
            for j in 0..d {
                v[j] += x[i * d + j] * yi;
            }
            if bias {
                v[d] += yi;
            }
        }
        cholesky_solve(h, p, v)?;
        params[o * d..o * d + d].copy_from_slice(&v[..d]);
        if bias {
            params[m * d + o] = v[d];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_spd_system() {
        // A = [[4,2],[2,3]], b = [2, 1] -> x = [0.5, 0]
        let mut a = [4.0f64, 2.0, 2.0, 3.0];
        cholesky_in_place(&mut a, 2).unwrap();
        assert_eq!(a[1], 0.0);
        let mut b = [2.0, 1.0];
        cholesky_solve(&a, 2, &mut b).unwrap();
        assert!((b[0] - 0.5).abs() < 1e-15 && b[1].abs() < 1e-15, "{b:?}");
    }

    #[test]
    fn not_positive_definite_is_an_error() {
        let mut a = [1.0f64, 2.0, 2.0, 1.0];
        assert_eq!(
            cholesky_in_place(&mut a, 2),
            Err(Error::NotPositiveDefinite { pivot: 1 })
        );
        let mut a = [f64::NAN];
        assert!(cholesky_in_place(&mut a, 1).is_err());
        assert!(cholesky_in_place(&mut [1.0f64; 3], 2).is_err());
    }

    #[test]
    fn overflowing_shapes_are_errors() {
        // Each of these products wraps to 0 (or to the slice's length) and used to pass the
        // length checks and index past the end of an empty slice.
        let n32 = 1usize << (usize::BITS / 2);
        let n63 = 1usize << (usize::BITS - 1);
        assert!(matches!(
            cholesky_in_place::<f64>(&mut [], n32),
            Err(Error::ShapeMismatch { what: "a", .. })
        ));
        assert!(matches!(
            cholesky_solve::<f64>(&[], n32, &mut []),
            Err(Error::ShapeMismatch { what: "l", .. })
        ));
        // d = 0 with a bias: x is empty for any n, and n * m = 2^64 wrapped to y.len() = 0.
        let (mut params, mut scratch) = ([0.0f64; 2], [0.0f64; 2]);
        assert!(matches!(
            least_squares_optimum(&[], &[], n63, 0, 2, true, &mut params, &mut scratch),
            Err(Error::ShapeMismatch { what: "y", .. })
        ));
        let mut h = [0.0f64; 1];
        assert!(matches!(
            least_squares_hessian(&[], n63, 0, 2, true, &mut h),
            Err(Error::InvalidArgument { name: "m", .. })
        ));
        // params = m * (d + 1) = 2^64 wraps to 0.
        assert!(matches!(
            newton_step(&[], 1, 0, n63, true, &mut [], &[], &mut scratch),
            Err(Error::ShapeMismatch { what: "params", .. })
        ));
        assert_eq!(newton_scratch_len(usize::MAX, true), usize::MAX);
    }
}
