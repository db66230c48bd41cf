//! The dense operations the models need, behind one small trait.
//!
//! [`Ops`] is the only seam between the scalar reference code in this crate and fast kernels
//! (`descent-kernels` implements it with SIMD and rayon). Models are generic over it, so a user
//! switches implementations by type: `Mlp::loss_grad(&Reference, ...)` versus
//! `Mlp::loss_grad(&descent_kernels::Fast, ...)`.
//!
//! All matrices are row-major. Implementations may panic if a slice is shorter than the
//! dimensions imply; the models in this crate validate every shape before calling, so they never
//! do.

use crate::sum::CascadeSum;
use crate::Float;

/// Element-wise nonlinearity applied between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// f(x) = x
    Identity,
    /// f(x) = max(x, 0); f'(0) = 0 as in PyTorch.
    Relu,
    /// f(x) = tanh(x); f' = 1 - f².
    Tanh,
    /// f(x) = 1 / (1 + e^-x); f' = f (1 - f).
    Sigmoid,
}

impl Activation {
    /// Apply the activation to one value.
    #[inline(always)]
    pub fn apply<T: Float>(self, x: T) -> T {
        match self {
            Activation::Identity => x,
            Activation::Relu => {
                // NaN propagates (as torch.relu): only a number <= 0 maps to 0.
                if x > T::ZERO || x.is_nan() {
                    x
                } else {
                    T::ZERO
                }
            }
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
        }
    }

    /// The gradient through the activation, `g * f'(x)`, expressed through its output
    /// `y = f(x)`. ReLU as torch's `threshold_backward`: `0` where `y <= 0`, else `g` (a NaN
    /// output passes the gradient on; a NaN or infinite gradient at `y <= 0` gives 0, which
    /// `g * 0` would not).
    #[inline(always)]
    pub fn backward<T: Float>(self, y: T, g: T) -> T {
        match self {
            Activation::Relu => {
                if y <= T::ZERO {
                    T::ZERO
                } else {
                    g
                }
            }
            _ => g * self.derivative_from_output(y),
        }
    }

    /// The derivative f'(x), expressed through the output y = f(x).
    #[inline(always)]
    pub fn derivative_from_output<T: Float>(self, y: T) -> T {
        match self {
            Activation::Identity => T::ONE,
            Activation::Relu => {
                if y > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Activation::Tanh => T::ONE - y * y,
            Activation::Sigmoid => y * (T::ONE - y),
        }
    }

    /// Name as used on the command line and in `models.json` (`relu`, `tanh`, `sigmoid`,
    /// `identity`).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
        }
    }

    /// Parse a name produced by [`Activation::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "identity" | "none" | "linear" => Some(Activation::Identity),
            "relu" => Some(Activation::Relu),
            "tanh" => Some(Activation::Tanh),
            "sigmoid" => Some(Activation::Sigmoid),
            _ => None,
        }
    }
}

/// Numerically stable logistic sigmoid 1 / (1 + e^-x).
#[inline(always)]
pub fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// The dense operations a model's forward and backward passes are made of.
///
/// Contract shared by every method: row-major storage, `rows x cols` matrices stored with a
/// row stride of `cols` unless a leading dimension is given.
pub trait Ops<T: Float> {
    /// General matrix multiply, BLAS semantics, row-major:
    /// `C <- alpha * op(A) * op(B) + beta * C`, where `op(A)` is `m x k` (`A` is `k x m` when
    /// `transa`), `op(B)` is `k x n` (`B` is `n x k` when `transb`), `C` is `m x n`, and
    /// `lda`, `ldb`, `ldc` are the row strides of the stored matrices.
    /// With `beta == 0` the old contents of `C` are ignored (NaN included); with `alpha == 0`
    /// or `k == 0`, `A` and `B` are not read (`C <- beta * C`, NaN or infinite entries of `A`
    /// and `B` included), as in BLAS.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
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
    );

    /// In place, for a `rows x cols` matrix `y`: `y[i][j] <- f(y[i][j] + bias[j])`
    /// (no bias term when `bias` is `None`).
    fn bias_act(&self, rows: usize, cols: usize, y: &mut [T], bias: Option<&[T]>, act: Activation);

    /// Activation backward through the output: `grad[i] <- grad[i] * f'(x_i)` where
    /// `y[i] = f(x_i)` (see [`Activation::backward`]); `y.len() == grad.len()`.
    fn act_backward(&self, act: Activation, y: &[T], grad: &mut [T]);

    /// Fused softmax + cross-entropy over the rows of a `rows x cols` logit matrix `z` with
    /// class labels `labels[i] < cols`:
    /// returns `sum_i -log softmax(z_i)[labels[i]]` and overwrites `z` with the gradient of
    /// `scale * that sum`, i.e. `z_i <- scale * (softmax(z_i) - onehot(labels[i]))`.
    fn softmax_xent(&self, rows: usize, cols: usize, z: &mut [T], labels: &[u32], scale: T) -> T;

    /// Row-wise softmax in place, `x_i <- exp(x_i - max x_i) / sum exp(x_i - max x_i)`.
    fn softmax_rows(&self, rows: usize, cols: usize, x: &mut [T]);

    /// Column sums of a `rows x cols` matrix: `out[j] <- beta * out[j] + sum_i x[i][j]`
    /// (`beta == 0` ignores the old `out`).
    fn col_sums(&self, rows: usize, cols: usize, x: &[T], beta: T, out: &mut [T]);
}

/// The scalar reference implementation of [`Ops`]: plain loops, no `unsafe`, the ground truth
/// every fast kernel is tested against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference;

impl<T: Float> Ops<T> for Reference {
    fn gemm(
        &self,
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
        // BLAS: no product term when alpha == 0 or k == 0 (A and B are not read, and a NaN
        // or infinite alpha does not meet an empty sum).
        if m == 0 || n == 0 {
            // C has no elements (its leading dimension need not mean anything).
            return;
        }
        if alpha == T::ZERO || k == 0 {
            for i in 0..m {
                for cij in &mut c[i * ldc..i * ldc + n] {
                    *cij = if beta == T::ZERO {
                        T::ZERO
                    } else {
                        beta * *cij
                    };
                }
            }
            return;
        }
        for i in 0..m {
            for j in 0..n {
                let mut acc = T::ZERO;
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
                *cij = if beta == T::ZERO {
                    alpha * acc
                } else {
                    alpha * acc + beta * *cij
                };
            }
        }
    }

    fn bias_act(&self, rows: usize, cols: usize, y: &mut [T], bias: Option<&[T]>, act: Activation) {
        for row in y[..rows * cols].chunks_exact_mut(cols.max(1)) {
            match bias {
                Some(b) => {
                    for (v, &bj) in row.iter_mut().zip(&b[..cols]) {
                        *v = act.apply(*v + bj);
                    }
                }
                None => {
                    for v in row.iter_mut() {
                        *v = act.apply(*v);
                    }
                }
            }
        }
    }

    fn act_backward(&self, act: Activation, y: &[T], grad: &mut [T]) {
        assert_eq!(
            y.len(),
            grad.len(),
            "act_backward: y and grad lengths differ"
        );
        if act == Activation::Identity {
            return;
        }
        for (g, &yv) in grad.iter_mut().zip(y) {
            *g = act.backward(yv, *g);
        }
    }

    fn softmax_xent(&self, rows: usize, cols: usize, z: &mut [T], labels: &[u32], scale: T) -> T {
        if cols == 0 {
            return T::ZERO;
        }
        let mut total = CascadeSum::new();
        for (row, &label) in z[..rows * cols].chunks_exact_mut(cols).zip(&labels[..rows]) {
            let mut mx = T::NEG_INFINITY;
            for &v in row.iter() {
                mx = mx.max(v);
            }
            let label = label as usize;
            // -log p_label = log s - (z_label - mx), with z_label - mx taken before the row is
            // overwritten: ln(exp(z_label - mx)) would be ln 0 = -inf once the exponential
            // underflows (a logit gap above ~88 in f32), giving an infinite loss.
            let z_label = row[label] - mx;
            let mut s = T::ZERO;
            for v in row.iter_mut() {
                *v = (*v - mx).exp();
                s += *v;
            }
            total.add(s.ln() - z_label);
            let inv = T::ONE / s;
            for v in row.iter_mut() {
                *v = scale * (*v * inv);
            }
            row[label] -= scale;
        }
        total.total()
    }

    fn softmax_rows(&self, rows: usize, cols: usize, x: &mut [T]) {
        if cols == 0 {
            return;
        }
        for row in x[..rows * cols].chunks_exact_mut(cols) {
            let mut mx = T::NEG_INFINITY;
            for &v in row.iter() {
                mx = mx.max(v);
            }
            let mut s = T::ZERO;
            for v in row.iter_mut() {
                *v = (*v - mx).exp();
                s += *v;
            }
            let inv = T::ONE / s;
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }

    fn col_sums(&self, rows: usize, cols: usize, x: &[T], beta: T, out: &mut [T]) {
        let out = &mut out[..cols];
        if beta == T::ZERO {
            out.iter_mut().for_each(|o| *o = T::ZERO);
        } else {
            out.iter_mut().for_each(|o| *o *= beta);
        }
        if cols == 0 {
            return;
        }
        for row in x[..rows * cols].chunks_exact(cols) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_transposes_agree() {
        // A = [[1,2,3],[4,5,6]] (2x3), B = [[1,0],[0,1],[1,1]] (3x2)
        let a = [1.0f64, 2., 3., 4., 5., 6.];
        let at = [1.0f64, 4., 2., 5., 3., 6.];
        let b = [1.0f64, 0., 0., 1., 1., 1.];
        let bt = [1.0f64, 0., 1., 0., 1., 1.];
        let want = [4.0, 5., 10., 11.];
        for (ta, aa) in [(false, &a[..]), (true, &at[..])] {
            for (tb, bb) in [(false, &b[..]), (true, &bt[..])] {
                let mut c = [f64::NAN; 4];
                let lda = if ta { 2 } else { 3 };
                let ldb = if tb { 3 } else { 2 };
                Reference.gemm(ta, tb, 2, 2, 3, 1.0, aa, lda, bb, ldb, 0.0, &mut c, 2);
                assert_eq!(c, want, "ta={ta} tb={tb}");
            }
        }
    }

    #[test]
    fn gemm_without_a_product_term_reads_neither_a_nor_b() {
        // alpha == 0: C <- beta * C even with NaN and infinite A, B (BLAS; the kernels too).
        let a = [f64::NAN, f64::INFINITY];
        let b = [f64::INFINITY, f64::NAN];
        let mut c = [1.0, 2.0];
        Reference.gemm(false, false, 1, 2, 1, 0.0, &a, 1, &b, 2, 3.0, &mut c, 2);
        assert_eq!(c, [3.0, 6.0]);
        let mut c = [f64::NAN, 2.0];
        Reference.gemm(false, false, 1, 2, 1, 0.0, &a, 1, &b, 2, 0.0, &mut c, 2);
        assert_eq!(c, [0.0, 0.0]);
        // k == 0: alpha (NaN here) meets no product.
        let mut c = [1.0, f64::NAN];
        Reference.gemm(
            false,
            false,
            1,
            2,
            0,
            f64::NAN,
            &[],
            1,
            &[],
            2,
            0.0,
            &mut c,
            2,
        );
        assert_eq!(c, [0.0, 0.0]);
        let mut c = [1.0, 2.0];
        Reference.gemm(
            true,
            true,
            1,
            2,
            0,
            f64::NAN,
            &[],
            1,
            &[],
            1,
            0.5,
            &mut c,
            2,
        );
        assert_eq!(c, [0.5, 1.0]);
        // An empty C with any leading dimension: nothing to do (was an index past the end).
        Reference.gemm(
            false,
            false,
            3,
            0,
            0,
            0.0,
            &[],
            1,
            &[],
            1,
            0.0,
            &mut [0.0f64; 0],
            1 << 40,
        );
    }

    #[test]
    fn softmax_xent_matches_definition() {
        let mut z = [1.0f64, 2.0, 3.0];
        let loss = Reference.softmax_xent(1, 3, &mut z, &[2], 1.0);
        let s: f64 = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        assert!((loss - (s.ln() - 3.0)).abs() < 1e-12);
        assert!((z.iter().sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn softmax_xent_loss_is_finite_when_the_label_probability_underflows() {
        // Logit gap 120: exp(-120) is 0 in f32, but -log p_label = ln(1 + e^-120) + 120 = 120
        // (PyTorch's cross_entropy gives 120 too: log_softmax = z - max - log s).
        let mut z = [0.0f32, 120.0];
        let loss = Reference.softmax_xent(1, 2, &mut z, &[0], 1.0);
        assert_eq!(loss, 120.0);
        assert_eq!(z, [-1.0, 1.0]);
        let mut z = [-800.0f64, 0.0, 0.0];
        let loss = Reference.softmax_xent(1, 3, &mut z, &[0], 1.0);
        assert!((loss - (800.0 + 2.0f64.ln())).abs() < 1e-12, "{loss}");
    }

    #[test]
    fn relu_backward_is_torchs_threshold_backward() {
        // torch: grad_input = (y <= 0) ? 0 : grad.
        let nan = f64::NAN;
        let y = [2.0, 0.0, -1.0, nan, 3.0, 0.0];
        let mut g = [5.0, 5.0, 5.0, 7.0, nan, f64::INFINITY];
        Reference.act_backward(Activation::Relu, &y, &mut g);
        assert_eq!(g[..3], [5.0, 0.0, 0.0]);
        assert_eq!(g[3], 7.0, "a NaN output passes the gradient on");
        assert!(g[4].is_nan(), "a NaN gradient at y > 0 stays NaN");
        assert_eq!(g[5], 0.0, "inf * 0 would be NaN; torch gives 0");
        // The others keep g * f'(y).
        let mut g = [2.0f64];
        Reference.act_backward(Activation::Tanh, &[0.5], &mut g);
        assert_eq!(g[0], 2.0 * (1.0 - 0.25));
    }

    #[test]
    fn col_sums_beta() {
        let x = [1.0f32, 2., 3., 4.];
        let mut out = [f32::NAN, f32::NAN];
        Reference.col_sums(2, 2, &x, 0.0, &mut out);
        assert_eq!(out, [4.0, 6.0]);
        Reference.col_sums(2, 2, &x, 1.0, &mut out);
        assert_eq!(out, [8.0, 12.0]);
    }
}
