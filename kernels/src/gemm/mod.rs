//! SGEMM (placeholder: a naive loop with the final signature; the SGEMM work replaces it).

/// `C <- alpha * op(A) * op(B) + beta * C`, row-major, BLAS semantics.
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
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let av = if transa {
                    a[p * lda + i]
                } else {
                    a[i * lda + p]
                };
                let bv = if transb {
                    b[j * ldb + p]
                } else {
                    b[p * ldb + j]
                };
                acc += av * bv;
            }
            let cij = &mut c[i * ldc + j];
            *cij = if beta == 0.0 {
                alpha * acc
            } else {
                alpha * acc + beta * *cij
            };
        }
    }
}
