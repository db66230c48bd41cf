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

/// Element-wise nonlinearity applied between layers, as PyTorch's modules of the same names.
///
/// Most are invertible, so their derivative is computed from the output `y = f(x)` alone
/// ([`derivative_from_output`](Self::derivative_from_output)); GELU (both forms) and SiLU are
/// not, and need the input `x` ([`needs_input`](Self::needs_input),
/// [`derivative`](Self::derivative)): a model keeps the pre-activations for them.
/// LeakyReLU and ELU have PyTorch's default parameters (`negative_slope = 0.01`,
/// `alpha = 1`).
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
    /// `nn.GELU()` (`approximate='none'`): f(x) = x Φ(x) = (x/2)(1 + erf(x/√2));
    /// f'(x) = Φ(x) + x φ(x) with φ(x) = e^{−x²/2}/√(2π).
    Gelu,
    /// `nn.GELU(approximate='tanh')`: f(x) = (x/2)(1 + tanh u), u = √(2/π)(x + 0.044715 x³);
    /// f'(x) = (1 + tanh u)/2 + (x/2)(1 − tanh² u) √(2/π)(1 + 3·0.044715 x²).
    GeluTanh,
    /// `nn.SiLU()` (swish): f(x) = x σ(x), σ the logistic sigmoid; f'(x) = σ(x)(1 + x(1 − σ(x))).
    Silu,
    /// `nn.LeakyReLU()` (`negative_slope = 0.01`): f(x) = x for x > 0, else 0.01 x;
    /// f' = 1 where y > 0, else 0.01 (so f'(0) = 0.01, as PyTorch).
    LeakyRelu,
    /// `nn.ELU()` (`alpha = 1`): f(x) = x for x > 0, else α(e^x − 1); f' = 1 where y > 0,
    /// else α e^x = y + α (so f'(0) = α, as PyTorch).
    Elu,
}

/// `negative_slope` of [`Activation::LeakyRelu`] (PyTorch's default).
pub const LEAKY_RELU_SLOPE: f64 = 0.01;
/// `alpha` of [`Activation::Elu`] (PyTorch's default).
pub const ELU_ALPHA: f64 = 1.0;
/// The tanh-GELU's `√(2/π)` (PyTorch's `M_SQRT2 * M_2_SQRTPI * 0.5`).
pub const GELU_TANH_BETA: f64 = 0.797_884_560_802_865_4;
/// The tanh-GELU's cubic coefficient `κ = 0.044715`.
pub const GELU_TANH_KAPPA: f64 = 0.044_715;

impl Activation {
    /// Every activation, in declaration order.
    pub const ALL: [Activation; 9] = [
        Activation::Identity,
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::LeakyRelu,
        Activation::Elu,
    ];

    /// Whether the backward pass needs the input `x` (the pre-activation), because f' cannot
    /// be computed from the output: true for [`Gelu`](Self::Gelu),
    /// [`GeluTanh`](Self::GeluTanh) and [`Silu`](Self::Silu) (not invertible).
    #[inline(always)]
    pub fn needs_input(self) -> bool {
        matches!(
            self,
            Activation::Gelu | Activation::GeluTanh | Activation::Silu
        )
    }

    /// Apply the activation to one value (the formulas of the variants; GELU as PyTorch's
    /// CPU kernel, `x · 0.5 · (1 + erf(x · (1/√2)))`, SiLU as `x · σ(x)` with the stable
    /// [`sigmoid`], ELU with `expm1`).
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
            Activation::Gelu => {
                let r = T::from_f64(core::f64::consts::FRAC_1_SQRT_2);
                x * T::HALF * (T::ONE + (x * r).erf())
            }
            Activation::GeluTanh => {
                let beta = T::from_f64(GELU_TANH_BETA);
                let kappa = T::from_f64(GELU_TANH_KAPPA);
                let inner = beta * (x + kappa * (x * x * x));
                T::HALF * x * (T::ONE + inner.tanh())
            }
            Activation::Silu => x * sigmoid(x),
            Activation::LeakyRelu => {
                if x > T::ZERO {
                    x
                } else {
                    x * T::from_f64(LEAKY_RELU_SLOPE)
                }
            }
            Activation::Elu => {
                if x > T::ZERO || x.is_nan() {
                    x
                } else {
                    T::from_f64(ELU_ALPHA) * x.exp_m1()
                }
            }
        }
    }

    /// The derivative f'(x) from the input `x`, for every activation (the formulas of the
    /// variants, as PyTorch's CPU backward kernels; ReLU's f'(0) = 0, LeakyReLU's 0.01,
    /// ELU's α).
    #[inline(always)]
    pub fn derivative<T: Float>(self, x: T) -> T {
        match self {
            Activation::Identity => T::ONE,
            Activation::Relu => {
                if x > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Activation::Tanh => {
                let y = x.tanh();
                T::ONE - y * y
            }
            Activation::Sigmoid => {
                let y = sigmoid(x);
                y * (T::ONE - y)
            }
            Activation::Gelu => {
                // cdf + x pdf, pdf = e^{-x²/2} / √(2π) (torch: kBeta = M_2_SQRTPI M_SQRT1_2 / 2).
                let r = T::from_f64(core::f64::consts::FRAC_1_SQRT_2);
                let k = T::from_f64(0.398_942_280_401_432_7); // 1/√(2π)
                let cdf = T::HALF * (T::ONE + (x * r).erf());
                let pdf = k * (x * x * -T::HALF).exp();
                cdf + x * pdf
            }
            Activation::GeluTanh => {
                let beta = T::from_f64(GELU_TANH_BETA);
                let kappa = T::from_f64(GELU_TANH_KAPPA);
                let x_sq = x * x;
                let inner = beta * (x + kappa * (x_sq * x));
                let t = inner.tanh();
                let left = T::HALF * x;
                let right = T::ONE + t;
                let left_derivative = T::HALF * right;
                let right_derivative = left * (T::ONE - t * t);
                let inner_derivative = beta * (T::ONE + T::from_f64(3.0 * GELU_TANH_KAPPA) * x_sq);
                left_derivative + right_derivative * inner_derivative
            }
            Activation::Silu => {
                let s = sigmoid(x);
                s * (T::ONE + x * (T::ONE - s))
            }
            Activation::LeakyRelu => {
                if x > T::ZERO {
                    T::ONE
                } else {
                    T::from_f64(LEAKY_RELU_SLOPE)
                }
            }
            Activation::Elu => {
                if x > T::ZERO || x.is_nan() {
                    T::ONE
                } else {
                    T::from_f64(ELU_ALPHA) * x.exp()
                }
            }
        }
    }

    /// The gradient through the activation from the input: `g * f'(x)`
    /// ([`derivative`](Self::derivative)), except ReLU as torch's `threshold_backward`
    /// (`0` where `x <= 0`, else `g`, so an infinite gradient at the kink gives 0, not NaN).
    #[inline(always)]
    pub fn backward_from_input<T: Float>(self, x: T, g: T) -> T {
        match self {
            Activation::Identity => g,
            Activation::Relu => {
                if x <= T::ZERO {
                    T::ZERO
                } else {
                    g
                }
            }
            _ => g * self.derivative(x),
        }
    }

    /// The gradient through the activation, `g * f'(x)`, expressed through its output
    /// `y = f(x)`. ReLU as torch's `threshold_backward`: `0` where `y <= 0`, else `g` (a NaN
    /// output passes the gradient on; a NaN or infinite gradient at `y <= 0` gives 0, which
    /// `g * 0` would not). Not defined for the activations that
    /// [`need the input`](Self::needs_input) (NaN; use
    /// [`backward_from_input`](Self::backward_from_input)).
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

    /// The derivative f'(x), expressed through the output y = f(x): tanh `1 − y²`, sigmoid
    /// `y(1 − y)`, LeakyReLU `1` for `y > 0` else 0.01, ELU `1` for `y > 0` (or NaN) else
    /// `y + α`. NaN for GELU and SiLU, whose derivative the output does not determine (see
    /// [`needs_input`](Self::needs_input)).
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
            Activation::LeakyRelu => {
                if y > T::ZERO {
                    T::ONE
                } else {
                    T::from_f64(LEAKY_RELU_SLOPE)
                }
            }
            Activation::Elu => {
                if y > T::ZERO || y.is_nan() {
                    T::ONE
                } else {
                    y + T::from_f64(ELU_ALPHA)
                }
            }
            Activation::Gelu | Activation::GeluTanh | Activation::Silu => T::NAN,
        }
    }

    /// Name as used on the command line, in checkpoints and in `models.json` (`relu`,
    /// `tanh`, `sigmoid`, `identity`, `gelu`, `gelu_tanh`, `silu`, `leaky_relu`, `elu`).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Silu => "silu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Elu => "elu",
        }
    }

    /// Parse a name produced by [`Activation::name`] (also `none` / `linear` for identity and
    /// `swish` for SiLU).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "identity" | "none" | "linear" => Some(Activation::Identity),
            "relu" => Some(Activation::Relu),
            "tanh" => Some(Activation::Tanh),
            "sigmoid" => Some(Activation::Sigmoid),
            "gelu" => Some(Activation::Gelu),
            "gelu_tanh" => Some(Activation::GeluTanh),
            "silu" | "swish" => Some(Activation::Silu),
            "leaky_relu" => Some(Activation::LeakyRelu),
            "elu" => Some(Activation::Elu),
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

    /// Out of place, keeping the pre-activation, for a `rows x cols` matrix `z`:
    /// `z[i][j] <- z[i][j] + bias[j]` (no bias term when `bias` is `None`), then
    /// `y[i][j] <- f(z[i][j])`. Models use it for the activations that
    /// [`need the input`](Activation::needs_input) in the backward pass. The default is the
    /// scalar loop of [`Activation::apply`].
    fn bias_act_keep(
        &self,
        rows: usize,
        cols: usize,
        z: &mut [T],
        y: &mut [T],
        bias: Option<&[T]>,
        act: Activation,
    ) {
        if cols == 0 {
            return;
        }
        let n = rows * cols;
        for (zr, yr) in z[..n]
            .chunks_exact_mut(cols)
            .zip(y[..n].chunks_exact_mut(cols))
        {
            if let Some(b) = bias {
                zr.iter_mut()
                    .zip(&b[..cols])
                    .for_each(|(zv, &bj)| *zv += bj);
            }
            for (yv, &zv) in yr.iter_mut().zip(zr.iter()) {
                *yv = act.apply(zv);
            }
        }
    }

    /// Activation backward through the input: `grad[i] <- grad[i] * f'(z[i])`
    /// ([`Activation::backward_from_input`]); `z.len() == grad.len()`. The default is that
    /// scalar loop.
    fn act_backward_input(&self, act: Activation, z: &[T], grad: &mut [T]) {
        assert_eq!(
            z.len(),
            grad.len(),
            "act_backward_input: z and grad lengths differ"
        );
        for (g, &zv) in grad.iter_mut().zip(z) {
            *g = act.backward_from_input(zv, *g);
        }
    }

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

    /// Values of PyTorch 2.15 (f64) at x = -3, -0.5, 0.7, 2: forward and derivative.
    #[test]
    fn new_activations_match_torch() {
        let xs = [-3.0f64, -0.5, 0.7, 2.0];
        #[rustfmt::skip]
        let cases: [(Activation, [f64; 4], [f64; 4]); 5] = [
            (Activation::Gelu,
             [-0.00404969409489031, -0.15426876936299344, 0.5306254434438489, 1.9544997361036416],
             [-0.01194564720418392, 0.13250487534383712, 0.9766141011336599, 1.085231801078197]),
            (Activation::GeluTanh,
             [-0.0036373920817729943, -0.15428599017485606, 0.5305701347051167, 1.954597694087775],
             [-0.011584166630969648, 0.13263009646535764, 0.976357218656104, 1.0860992566236183]),
            (Activation::Silu,
             [-0.14227761953270035, -0.1887703343990727, 0.46773144051771626, 1.7615941559557646],
             [-0.08810410601516962, 0.2600388126973482, 0.8233867834733425, 1.0907842487848955]),
            (Activation::LeakyRelu, [-0.03, -0.005, 0.7, 2.0], [0.01, 0.01, 1.0, 1.0]),
            (Activation::Elu,
             [-0.950212931632136, -0.3934693402873666, 0.7, 2.0],
             [0.049787068367863944, 0.6065306597126334, 1.0, 1.0]),
        ];
        for (act, ys, ds) in cases {
            for ((&x, &y), &d) in xs.iter().zip(&ys).zip(&ds) {
                let (gy, gd) = (act.apply(x), act.derivative(x));
                assert!(
                    (gy - y).abs() <= 1e-14 * (1.0 + y.abs()),
                    "{act:?}({x}) {gy} vs {y}"
                );
                assert!(
                    (gd - d).abs() <= 1e-14 * (1.0 + d.abs()),
                    "{act:?}'({x}) {gd} vs {d}"
                );
                assert_eq!(act.backward_from_input(x, 2.0), 2.0 * gd);
                if !act.needs_input() {
                    let dy = act.derivative_from_output(gy);
                    assert!(
                        (dy - gd).abs() <= 1e-14 * (1.0 + gd.abs()),
                        "{act:?} {dy} vs {gd}"
                    );
                }
            }
        }
    }

    /// f'(x) against central differences on a grid, for every activation (f64), and the
    /// output-based derivative equal to it where it exists.
    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-6;
        for act in Activation::ALL {
            for i in 0..=16 {
                let x = -4.05 + 0.5 * i as f64;
                let fd = (act.apply(x + h) - act.apply(x - h)) / (2.0 * h);
                let d = act.derivative(x);
                assert!(
                    (d - fd).abs() <= 1e-7 * (1.0 + d.abs()),
                    "{act:?} at {x}: {d} vs {fd}"
                );
                if act.needs_input() {
                    assert!(act.derivative_from_output(act.apply(x)).is_nan());
                } else {
                    let dy = act.derivative_from_output(act.apply(x));
                    assert!((dy - d).abs() <= 1e-12 * (1.0 + d.abs()), "{act:?} at {x}");
                }
            }
            assert_eq!(Activation::from_name(act.name()), Some(act));
            // Both ops paths agree with the scalar definitions (f32, Reference's defaults).
            let z0 = [-1.5f32, 0.25, 3.0, -0.0];
            let b = [0.5f32, -0.25];
            let (mut z, mut y) = (z0, [0.0f32; 4]);
            Reference.bias_act_keep(2, 2, &mut z, &mut y, Some(&b), act);
            let mut y2 = z0;
            Reference.bias_act(2, 2, &mut y2, Some(&b), act);
            assert_eq!(y, y2, "{act:?}");
            for j in 0..4 {
                assert_eq!(z[j], z0[j] + b[j % 2]);
            }
            let mut g = [1.0f32, -2.0, 0.5, 4.0];
            Reference.act_backward_input(act, &z, &mut g);
            for j in 0..4 {
                let want = act.backward_from_input(z[j], [1.0f32, -2.0, 0.5, 4.0][j]);
                assert_eq!(g[j], want, "{act:?}");
            }
        }
        assert_eq!(Activation::from_name("swish"), Some(Activation::Silu));
        // f'(0): PyTorch's conventions.
        assert_eq!(Activation::LeakyRelu.derivative(0.0f64), 0.01);
        assert_eq!(Activation::Elu.derivative(0.0f64), 1.0);
        assert_eq!(Activation::Gelu.derivative(0.0f64), 0.5);
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
