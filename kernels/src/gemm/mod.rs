//! General matrix multiply: `C <- alpha * op(A) * op(B) + beta * C`.
//!
//! A BLIS-style implementation: `op(B)` is packed into `KC x NC` blocks of `KC x NR`
//! micro-panels, `op(A)` into `MC x KC` blocks of `MR x KC` micro-panels (zero-padded at the
//! edges), and a register-tiled microkernel computes each `MR x NR` tile of C
//! (see the `loops` module for the loop nest and parallelism, `pack` for the layouts). The
//! microkernel is chosen at run time (`dispatch`): AVX-512F, AVX2+FMA, or the portable
//! `wide` kernel, so the default build (no `target-cpu` flag) runs the fastest one the CPU
//! has. Large products run in parallel on the caller's rayon pool. Small and skinny
//! products (MLP layers) skip the packing where it does not pay: a row- or column-major A is
//! read in place when `N <= 512`, a row-major B when `M <= 256`.
//!
//! Entry points:
//! * [`sgemm`] / [`dgemm`]: safe, row-major, BLAS-style transposes and leading dimensions.
//! * [`sgemm_strided`] / [`dgemm_strided`]: raw pointers with arbitrary row/column strides,
//!   the same argument order and contract as `matrixmultiply::sgemm`.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod dispatch;
mod elem;
mod loops;
mod pack;
mod portable;
mod transpose;
#[cfg(test)]
mod ukr_test;

#[doc(hidden)]
pub use dispatch::Isa;

use elem::Elem;
use loops::{Spec, View, ViewMut};

/// The `f32` kernel for `isa` and a product whose C rows are `n` wide (after the driver's
/// possible transposition, see [`loops::effective_n`]).
fn spec_f32(isa: Isa, n: usize) -> Spec<f32> {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if n <= 16 => avx512::spec_f32_narrow(),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => avx512::spec_f32(),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => avx2::spec_f32(),
        _ => portable::spec_f32(),
    }
}

fn spec_f64(isa: Isa, _n: usize) -> Spec<f64> {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => avx512::spec_f64(),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => avx2::spec_f64(),
        _ => portable::spec_f64(),
    }
}

/// Panics unless a stored `rows x cols` row-major matrix with row stride `ld` fits in `len`.
fn check_matrix(
    func: &str,
    name: &str,
    ldname: &str,
    rows: usize,
    cols: usize,
    len: usize,
    ld: usize,
) {
    if rows > 1 && ld < cols {
        panic!(
            "{func}: {ldname} = {ld} is smaller than the {cols} columns of the stored \
             {rows} x {cols} matrix {name}"
        );
    }
    let need = if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1)
            .checked_mul(ld)
            .and_then(|x| x.checked_add(cols))
            .unwrap_or_else(|| panic!("{func}: {ldname} = {ld} overflows the size of {name}"))
    };
    if len < need {
        panic!(
            "{func}: {name}.len() = {len} is too short for the stored {rows} x {cols} matrix \
             {name} with {ldname} = {ld} (need at least {need})"
        );
    }
}

/// Checks every argument of the safe entry points once, then runs the strided driver.
#[allow(clippy::too_many_arguments)]
fn gemm_safe<T: Elem>(
    func: &str,
    spec: fn(Isa, usize) -> Spec<T>,
    isa: Isa,
    transa: bool,
    transb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: usize,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    let (ar, ac) = if transa { (k, m) } else { (m, k) };
    let (br, bc) = if transb { (n, k) } else { (k, n) };
    check_matrix(func, "a", "lda", ar, ac, a.len(), lda);
    check_matrix(func, "b", "ldb", br, bc, b.len(), ldb);
    check_matrix(func, "c", "ldc", m, n, c.len(), ldc);
    let (lda, ldb, ldc) = (lda as isize, ldb as isize, ldc as isize);
    let av = if transa {
        View {
            ptr: a.as_ptr(),
            rs: 1,
            cs: lda,
        }
    } else {
        View {
            ptr: a.as_ptr(),
            rs: lda,
            cs: 1,
        }
    };
    let bv = if transb {
        View {
            ptr: b.as_ptr(),
            rs: 1,
            cs: ldb,
        }
    } else {
        View {
            ptr: b.as_ptr(),
            rs: ldb,
            cs: 1,
        }
    };
    let cv = ViewMut {
        ptr: c.as_mut_ptr(),
        rs: ldc,
        cs: 1,
    };
    let spec = spec(isa, loops::effective_n(m, n, cv));
    // SAFETY: the checks above guarantee every element addressed for these dimensions lies in
    // the slices; `c` is a unique borrow, so it overlaps neither `a` nor `b`, and `ldc >= n`
    // (or m <= 1) makes distinct C elements distinct locations.
    unsafe { loops::gemm(&spec, m, n, k, alpha, av, bv, beta, cv) }
}

/// Single-precision GEMM, row-major, BLAS semantics:
/// `C <- alpha * op(A) * op(B) + beta * C`.
///
/// `op(A)` is `m x k` (`A` is stored `k x m` when `transa`), `op(B)` is `k x n` (`B` is stored
/// `n x k` when `transb`), `C` is `m x n`; `lda`, `ldb`, `ldc` are the row strides of the
/// stored matrices. With `beta == 0` the old contents of C are ignored (NaN included); with
/// `alpha == 0` or `k == 0`, A and B are not read and C is only scaled by `beta`.
///
/// # Panics
/// Only on inconsistent arguments, checked once at entry: when a leading dimension is
/// smaller than the row length of its stored matrix, or a slice is too short for its
/// dimensions. The message names the argument.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    transa: bool,
    transb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    gemm_safe(
        "sgemm",
        spec_f32,
        Isa::detect(),
        transa,
        transb,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
    );
}

/// Double-precision GEMM, row-major, BLAS semantics:
/// `C <- alpha * op(A) * op(B) + beta * C`; arguments and panics exactly as [`sgemm`].
#[allow(clippy::too_many_arguments)]
pub fn dgemm(
    transa: bool,
    transb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &[f64],
    ldb: usize,
    beta: f64,
    c: &mut [f64],
    ldc: usize,
) {
    gemm_safe(
        "dgemm",
        spec_f64,
        Isa::detect(),
        transa,
        transb,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
    );
}

/// [`sgemm`] on an explicitly chosen kernel family (test hook). Returns `false`, doing
/// nothing, when this CPU cannot run `isa`.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with_isa(
    isa: Isa,
    transa: bool,
    transb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) -> bool {
    if !isa.is_available() {
        return false;
    }
    gemm_safe(
        "sgemm", spec_f32, isa, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
    );
    true
}

/// [`dgemm`] on an explicitly chosen kernel family (test hook). Returns `false`, doing
/// nothing, when this CPU cannot run `isa`.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn dgemm_with_isa(
    isa: Isa,
    transa: bool,
    transb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &[f64],
    ldb: usize,
    beta: f64,
    c: &mut [f64],
    ldc: usize,
) -> bool {
    if !isa.is_available() {
        return false;
    }
    gemm_safe(
        "dgemm", spec_f64, isa, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
    );
    true
}

/// Strided single-precision GEMM with the argument order and contract of
/// `matrixmultiply::sgemm`: `C <- alpha * A * B + beta * C` for an `m x k` A, `k x n` B and
/// `m x n` C, where element `(i, j)` of A is at `a + i * rsa + j * csa` (likewise B, C).
/// Strides may be negative or describe column-major/transposed storage. With `beta == 0`,
/// C need not be initialised (its old contents, NaN included, are ignored).
///
/// # Safety
/// For the given dimensions every addressed element of A and B must be valid for reads and
/// every element of C valid for reads and writes; C must not overlap A or B, and distinct
/// `(i, j)` of C must address distinct locations.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_strided(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) {
    // SAFETY: forwarded contract.
    unsafe {
        strided(
            spec_f32,
            Isa::detect(),
            m,
            k,
            n,
            alpha,
            a,
            rsa,
            csa,
            b,
            rsb,
            csb,
            beta,
            c,
            rsc,
            csc,
        )
    }
}

/// [`sgemm_strided`] on an explicitly chosen kernel family (test hook); `false` and nothing
/// done when this CPU cannot run `isa`.
///
/// # Safety
/// As [`sgemm_strided`].
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_strided_with_isa(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) -> bool {
    if !isa.is_available() {
        return false;
    }
    // SAFETY: forwarded contract.
    unsafe {
        strided(
            spec_f32, isa, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc,
        )
    };
    true
}

/// Strided double-precision GEMM, the `f64` twin of [`sgemm_strided`] (argument order and
/// contract of `matrixmultiply::dgemm`).
///
/// # Safety
/// As [`sgemm_strided`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn dgemm_strided(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: *const f64,
    rsa: isize,
    csa: isize,
    b: *const f64,
    rsb: isize,
    csb: isize,
    beta: f64,
    c: *mut f64,
    rsc: isize,
    csc: isize,
) {
    // SAFETY: forwarded contract.
    unsafe {
        strided(
            spec_f64,
            Isa::detect(),
            m,
            k,
            n,
            alpha,
            a,
            rsa,
            csa,
            b,
            rsb,
            csb,
            beta,
            c,
            rsc,
            csc,
        )
    }
}

/// # Safety
/// As [`sgemm_strided`].
#[allow(clippy::too_many_arguments)]
unsafe fn strided<T: Elem>(
    spec: fn(Isa, usize) -> Spec<T>,
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: *const T,
    rsa: isize,
    csa: isize,
    b: *const T,
    rsb: isize,
    csb: isize,
    beta: T,
    c: *mut T,
    rsc: isize,
    csc: isize,
) {
    let av = View {
        ptr: a,
        rs: rsa,
        cs: csa,
    };
    let bv = View {
        ptr: b,
        rs: rsb,
        cs: csb,
    };
    let cv = ViewMut {
        ptr: c,
        rs: rsc,
        cs: csc,
    };
    let spec = spec(isa, loops::effective_n(m, n, cv));
    // SAFETY: forwarded contract.
    unsafe { loops::gemm(&spec, m, n, k, alpha, av, bv, beta, cv) }
}
