//! Fused model ops for f32: bias + activation, activation backward, softmax + cross-entropy
//! forward and backward in one pass per row, row softmax, column sums; each compiled for the
//! CPU's widest vectors (see [`with_simd`]).

use super::{simd_level, with_simd};
use descent_core::sum::CascadeSum;
use descent_core::Activation;

/// `e^x` for f32 without a libm call, so loops over it vectorize: `x = n ln2 + r` with
/// `|r| <= ln2/2`, a degree-6 polynomial for `e^r` (Cephes' `expf` coefficients), and `2^n`
/// built in the exponent bits. Relative error below 2e-7 on `[-87.3, 88.3]`; inputs are
/// clamped to that range (so `exp(-inf)` is ~1e-38, not 0, and large inputs saturate at
/// ~2.4e38 instead of overflowing); NaN propagates.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.336_55, 88.376_26);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let e = exp_poly(r) * r * r + r + 1.0;
    // n is an integer in [-126, 127]: 2^n is a normal power of two with exponent field
    // n + 127. Adding 1.5 * 2^23 puts n (exactly) in the low mantissa bits, so the field is
    // computed with integer vector ops; a float-to-int `as` cast (saturating, NaN to 0) would
    // be done lane by lane on AVX2. For NaN the bits are garbage, but `e` is NaN anyway.
    const SHIFTER: f32 = 12_582_912.0; // 1.5 * 2^23, bits 0x4B40_0000
    let field = (n + SHIFTER).to_bits().wrapping_sub(0x4B40_0000 - 127);
    e * f32::from_bits(field << 23)
}

/// The polynomial `P(r)` with `e^r ≈ 1 + r + r² P(r)` for `|r| <= ln2/2` (Cephes' `expf`).
#[inline(always)]
fn exp_poly(r: f32) -> f32 {
    let p = 1.987_569_1e-4f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    p * r + 0.5
}

/// `e^x − 1` for f32 without a libm call, so loops over it vectorize: for `|x| < ln2/2` the
/// polynomial of [`exp_f32`] without its `1` (`x + x² P(x)`, no cancellation near 0), above
/// `exp_f32(x) − 1`. Both computed and one selected, without branches. Within 3.5 ulp of the
/// exact value for `x ≥ −87` (every 61st f32; -1 below, within 1.2e-38); NaN preserved.
#[inline(always)]
pub fn expm1_f32(x: f32) -> f32 {
    let small = exp_poly(x) * x * x + x;
    let large = exp_f32(x) - 1.0;
    // NaN fails the comparison and takes `large`, which is NaN.
    if x.abs() < 0.346_573_6 {
        small
    } else {
        large
    }
}

/// `erf x` for f32 without a libm call, so loops over it vectorize: the rational
/// approximation `x P(x²) / Q(x²)` (numerator degree 13, denominator degree 8, the
/// coefficients of Eigen's and XLA's `erf` for f32) on `x` clamped to `[−4, 4]`, and ±1 for
/// `|x| ≥ 3.95` (where erf is ±1 in f32). Within 8 ulp of the exact value over all of f32 (every 61st f32; worst seen 7.5, near ±1, about 4e-7 absolute); odd, NaN preserved, `±∞ → ±1`.
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.726_142_3e-10f32;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 - 2.101_024e-6;
    let p = p * x2 - 5.692_506_4e-5;
    let p = p * x2 - 7.349_906_3e-4;
    let p = p * x2 - 2.954_6e-3;
    let p = p * x2 - 1.609_603_3e-2;
    let q = -1.456_607_2e-5f32;
    let q = q * x2 - 2.133_740_6e-4;
    let q = q * x2 - 1.682_827e-3;
    let q = q * x2 - 7.373_329e-3;
    let q = q * x2 - 1.426_473_9e-2;
    // x (p / q), not (x p) / q: for subnormal x the product would round first and the
    // division by |q| ~ 0.014 magnify that error 70 times. Past 3.95 erf rounds to ±1 in f32
    // (the rational form gives 1 − 2⁻²³ there).
    let r = x * (p / q);
    if x.abs() >= 3.95 {
        1.0f32.copysign(x)
    } else {
        r
    }
}

/// `1/√2`
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `1/√(2π)`
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
/// `√(2/π)`, the tanh-GELU's β.
const GELU_BETA: f32 = 0.797_884_6;
/// The tanh-GELU's κ.
const GELU_KAPPA: f32 = 0.044_715;

/// GELU (erf form) for f32, vectorizable: `x · 0.5 · (1 + erf_f32(x/√2))`, PyTorch's formula
/// with [`erf_f32`]. Absolute error below `3e-7 (1 + |x|)` against the exact value (worst seen
/// `2.1e-7 (1 + |x|)` on `[−20, 20]`) (it inherits
/// erf's absolute error near ±1, so where `x Φ(x)` is small for `x < −3` the relative error
/// grows, as in any f32 evaluation of this formula, PyTorch's included).
#[inline(always)]
pub fn gelu_f32(x: f32) -> f32 {
    x * 0.5 * (1.0 + erf_f32(x * FRAC_1_SQRT_2))
}

/// The derivative of [`gelu_f32`]: `Φ(x) + x φ(x)`, `Φ(x) = 0.5 (1 + erf_f32(x/√2))`,
/// `φ(x) = e^{−x²/2}/√(2π)` with [`exp_f32`] (`x` clamped to ±16 in the `x φ(x)` term, where
/// it is below 1e-50, so `±∞` give 1 and ~1e-37 rather than NaN). Within `3e-7 (1 + |x|)`
/// of the exact value.
#[inline(always)]
pub fn gelu_grad_f32(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + erf_f32(x * FRAC_1_SQRT_2));
    let xc = x.clamp(-16.0, 16.0);
    cdf + xc * FRAC_1_SQRT_2PI * exp_f32(-0.5 * xc * xc)
}

/// Tanh-GELU for f32, vectorizable: `0.5 x (1 + tanh_f32(√(2/π)(x + 0.044715 x³)))`.
#[inline(always)]
pub fn gelu_tanh_f32(x: f32) -> f32 {
    let inner = GELU_BETA * (x + GELU_KAPPA * (x * x * x));
    0.5 * x * (1.0 + tanh_f32(inner))
}

/// The derivative of [`gelu_tanh_f32`], PyTorch's formula with [`tanh_f32`]:
/// `(1 + t)/2 + (x/2)(1 − t²) β (1 + 3κx²)`, `t = tanh(β(x + κx³))`.
#[inline(always)]
pub fn gelu_tanh_grad_f32(x: f32) -> f32 {
    let x_sq = x * x;
    let t = tanh_f32(GELU_BETA * (x + GELU_KAPPA * (x_sq * x)));
    let right_derivative = 0.5 * x * (1.0 - t * t);
    let inner_derivative = GELU_BETA * (1.0 + 3.0 * GELU_KAPPA * x_sq);
    0.5 * (1.0 + t) + right_derivative * inner_derivative
}

/// SiLU for f32, vectorizable: `x · sigmoid_f32(x)`.
#[inline(always)]
pub fn silu_f32(x: f32) -> f32 {
    x * sigmoid_f32(x)
}

/// The derivative of [`silu_f32`]: `s (1 + x (1 − s))`, `s = sigmoid_f32(x)`.
#[inline(always)]
pub fn silu_grad_f32(x: f32) -> f32 {
    let s = sigmoid_f32(x);
    s * (1.0 + x * (1.0 - s))
}

/// LeakyReLU as [`Activation::apply`]: `x` for `x > 0`, else `slope · x` (exact).
#[inline(always)]
fn leaky_relu_f32(x: f32, slope: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        x * slope
    }
}

/// The ELU family's coefficients in f32, as descent-core computes them (PyTorch's
/// `get_elu_coefs`): `(negcoef, poscoef, negiptcoef) = (α · scale, scale, input_scale)`;
/// `None` for the other activations.
#[inline(always)]
fn elu_coefs(act: Activation) -> Option<(f32, f32, f32)> {
    let (alpha, scale, input_scale) = match act {
        Activation::Elu { alpha } => (alpha, 1.0, 1.0),
        Activation::Selu => (
            descent_core::ops::SELU_ALPHA,
            descent_core::ops::SELU_SCALE,
            1.0,
        ),
        Activation::Celu { alpha } => (alpha, 1.0, 1.0 / alpha),
        _ => return None,
    };
    let scale = scale as f32;
    Some((alpha as f32 * scale, scale, input_scale as f32))
}

/// ELU / SELU / CELU: `x` · poscoef for `x > 0` (or NaN), else
/// [`expm1_f32`]`(x · negiptcoef) · negcoef` (see [`elu_coefs`]).
#[inline(always)]
fn elu_f32(x: f32, (neg, pos, nip): (f32, f32, f32)) -> f32 {
    if x <= 0.0 {
        expm1_f32(x * nip) * neg
    } else {
        x * pos
    }
}

/// The derivative of [`elu_f32`] from the input: `negiptcoef · negcoef · e^{x · negiptcoef}`
/// ([`exp_f32`]) for `x <= 0`, else poscoef.
#[inline(always)]
fn elu_grad_f32(x: f32, (neg, pos, nip): (f32, f32, f32)) -> f32 {
    if x <= 0.0 {
        nip * neg * exp_f32(x * nip)
    } else {
        pos
    }
}

/// `ln(1 + e^t)` for f32 in the overflow-free form `max(t, 0) + ln_1p(e^{−|t|})`, with
/// [`exp_f32`] (std's `ln_1p`, a libm call, so loops over it do not vectorize).
#[inline(always)]
fn softplus_core_f32(t: f32) -> f32 {
    t.max(0.0) + exp_f32(-t.abs()).ln_1p()
}

/// Softplus as [`Activation::apply`]: `x` where `βx > threshold`, else
/// `ln(1 + e^{βx})/β` (through [`softplus_core_f32`]).
#[inline(always)]
fn softplus_f32(x: f32, beta: f32, threshold: f32) -> f32 {
    let bx = x * beta;
    if bx > threshold {
        x
    } else {
        softplus_core_f32(bx) / beta
    }
}

/// The derivative of [`softplus_f32`]: `σ(βx)` ([`sigmoid_f32`]), 1 where `βx > threshold`.
#[inline(always)]
fn softplus_grad_f32(x: f32, beta: f32, threshold: f32) -> f32 {
    let bx = x * beta;
    if bx > threshold {
        1.0
    } else {
        sigmoid_f32(bx)
    }
}

/// Mish: `x · tanh(ln(1 + e^x))` with [`softplus_core_f32`] and [`tanh_f32`].
#[inline(always)]
fn mish_f32(x: f32) -> f32 {
    x * tanh_f32(softplus_core_f32(x))
}

/// The derivative of [`mish_f32`]: `t + x σ(x) (1 − t²)`, `t = tanh(softplus(x))`.
#[inline(always)]
fn mish_grad_f32(x: f32) -> f32 {
    let t = tanh_f32(softplus_core_f32(x));
    t + x * sigmoid_f32(x) * (1.0 - t * t)
}

/// `min(max(x, lo), hi)`, NaN-propagating, as descent-core's (and PyTorch's) clamps.
#[inline(always)]
fn clamp_f32(x: f32, lo: f32, hi: f32) -> f32 {
    let t = if x < lo { lo } else { x };
    if hi < t {
        hi
    } else {
        t
    }
}

/// Hardswish: `x · min(max(x + 3, 0), 6) / 6` (exact, the same operations as descent-core).
#[inline(always)]
fn hardswish_f32(x: f32) -> f32 {
    x * clamp_f32(x + 3.0, 0.0, 6.0) / 6.0
}

/// Hardsigmoid: `min(max(x + 3, 0), 6) / 6` (exact).
#[inline(always)]
fn hardsigmoid_f32(x: f32) -> f32 {
    clamp_f32(x + 3.0, 0.0, 6.0) / 6.0
}

/// PyTorch's `hardsigmoid_backward` slope, `1.0f / 6.0f`.
const HARDSIGMOID_SLOPE: f32 = 1.0 / 6.0;

/// The bounds `(lo, hi)` of ReLU6 (`(0, 6)`) and Hardtanh (`(min_val, max_val)`).
#[inline(always)]
fn window(act: Activation) -> Option<(f32, f32)> {
    match act {
        Activation::Relu6 => Some((0.0, 6.0)),
        Activation::Hardtanh { min_val, max_val } => Some((min_val as f32, max_val as f32)),
        _ => None,
    }
}

/// `tanh x` for f32 without a libm call, so loops over it vectorize. For `|x| < 0.625` an odd
/// polynomial, `x + x³ P(x²)` (degree 4 in `x²`, Cephes' `tanhf` coefficients); above,
/// `sign(x) (1 − 2 / (e^{2|x|} + 1))` with [`exp_f32`] (`|x|` clamped to 10, where `tanh` is 1 in
/// f32). Both forms are computed and one selected, without branches. Within 1.5 ulp of the
/// exact value over all of f32 (tested on every 61st f32; worst seen 1.26); odd, `±0` and NaN
/// preserved, `±∞ → ±1`.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let p = -5.704_988_7e-3f32;
    let p = p * z + 2.063_909e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z - 3.333_328e-1;
    let small = p * z * x + x;
    let e = exp_f32(2.0 * a.min(10.0));
    let large = 1.0 - 2.0 / (e + 1.0);
    // NaN fails the comparison and takes `small`, which is NaN. The sign is x's (the
    // polynomial turns -0 into +0).
    let t = if a >= 0.625 { large } else { small };
    t.copysign(x)
}

/// The logistic sigmoid `1 / (1 + e^{−x})` for f32 without a libm call, so loops over it
/// vectorize: with `e = e^{−|x|}` ([`exp_f32`], never overflowing), `1 / (1 + e)` for `x ≥ 0`
/// and `e / (1 + e)` below, as descent-core's [`sigmoid`](descent_core::ops::sigmoid) computes it.
/// Within 2.5 ulp of the exact value down to `x = −87` (tested on every 61st f32; worst seen
/// 2.33); below, where the result is under 2⁻¹²⁶, within 1.2e-38 of it. NaN preserved.
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    let e = exp_f32(-x.abs());
    let num = if x >= 0.0 { 1.0 } else { e };
    num / (1.0 + e)
}

/// Evaluate `$body` with `$f` bound to the activation's f32 function from this module (a
/// closure with its parameters converted to f32 once, outside the loops), one monomorphic
/// copy of `$body` per activation. Exact (equal to [`Activation::apply`]) for identity,
/// ReLU, LeakyReLU, Hardswish, Hardsigmoid, ReLU6 and Hardtanh; see each function's accuracy
/// for the others.
macro_rules! with_act_fn {
    ($act:expr, $f:ident => $body:expr) => {
        match $act {
            Activation::Identity => {
                let $f = |x: f32| x;
                $body
            }
            Activation::Relu => {
                let $f = |x: f32| if x > 0.0 || x.is_nan() { x } else { 0.0 };
                $body
            }
            Activation::Tanh => {
                let $f = tanh_f32;
                $body
            }
            Activation::Sigmoid => {
                let $f = sigmoid_f32;
                $body
            }
            Activation::Gelu => {
                let $f = gelu_f32;
                $body
            }
            Activation::GeluTanh => {
                let $f = gelu_tanh_f32;
                $body
            }
            Activation::Silu => {
                let $f = silu_f32;
                $body
            }
            Activation::LeakyRelu { negative_slope } => {
                let s = negative_slope as f32;
                let $f = move |x: f32| leaky_relu_f32(x, s);
                $body
            }
            a @ (Activation::Elu { .. } | Activation::Selu | Activation::Celu { .. }) => {
                // `elu_coefs` is `Some` for these three.
                let c = elu_coefs(a).unwrap_or((1.0, 1.0, 1.0));
                let $f = move |x: f32| elu_f32(x, c);
                $body
            }
            Activation::Softplus { beta, threshold } => {
                let (b, t) = (beta as f32, threshold as f32);
                let $f = move |x: f32| softplus_f32(x, b, t);
                $body
            }
            Activation::Mish => {
                let $f = mish_f32;
                $body
            }
            Activation::Hardswish => {
                let $f = hardswish_f32;
                $body
            }
            Activation::Hardsigmoid => {
                let $f = hardsigmoid_f32;
                $body
            }
            Activation::Relu6 => {
                let $f = |x: f32| clamp_f32(x, 0.0, 6.0);
                $body
            }
            Activation::Hardtanh { min_val, max_val } => {
                let (lo, hi) = (min_val as f32, max_val as f32);
                let $f = move |x: f32| clamp_f32(x, lo, hi);
                $body
            }
        }
    };
}

/// `rows * cols`, the length a `rows x cols` matrix needs; panics naming `func` when that
/// overflows (a wrapped product would let a too-short slice pass as long enough).
fn mat_len(func: &str, rows: usize, cols: usize) -> usize {
    rows.checked_mul(cols)
        .unwrap_or_else(|| panic!("{func}: {rows} x {cols} elements overflow usize"))
}

/// In place for a `rows x cols` matrix: `y[i][j] <- f(y[i][j] + bias[j])` (no bias when
/// `None`). ReLU, LeakyReLU, Hardswish, Hardsigmoid, ReLU6, Hardtanh and identity are exact
/// (equal to [`Activation::apply`]); tanh, sigmoid, GELU (both), SiLU and the ELU family
/// (ELU, SELU, CELU) use [`tanh_f32`], [`sigmoid_f32`], [`gelu_f32`], [`gelu_tanh_f32`],
/// [`silu_f32`] and [`expm1_f32`] (vectorized) instead of libm; Softplus and Mish compute
/// `ln(1 + e^t)` as `max(t, 0) + ln_1p(e^{−|t|})` with [`exp_f32`] and std's `ln_1p` (a libm
/// call per element, not vectorized).
/// Panics if `y` has fewer than `rows * cols` elements or `bias` fewer than `cols`.
pub fn bias_act(rows: usize, cols: usize, y: &mut [f32], bias: Option<&[f32]>, act: Activation) {
    if rows == 0 || cols == 0 {
        return;
    }
    let y = &mut y[..mat_len("bias_act", rows, cols)];
    let bias = bias.map(|b| &b[..cols]);
    with_simd(
        simd_level(),
        #[inline(always)]
        || {
            for row in y.chunks_exact_mut(cols) {
                match (bias, act) {
                    (Some(b), Activation::Relu) => {
                        for (v, &bj) in row.iter_mut().zip(b) {
                            let s = *v + bj;
                            // NaN-propagating ReLU (as torch): only numbers <= 0 map to 0.
                            *v = if s > 0.0 || s.is_nan() { s } else { 0.0 };
                        }
                    }
                    (Some(b), Activation::Identity) => {
                        for (v, &bj) in row.iter_mut().zip(b) {
                            *v += bj;
                        }
                    }
                    (None, Activation::Relu) => {
                        for v in row.iter_mut() {
                            let s = *v;
                            *v = if s > 0.0 || s.is_nan() { s } else { 0.0 };
                        }
                    }
                    (None, Activation::Identity) => {}
                    (Some(b), Activation::Tanh) => {
                        for (v, &bj) in row.iter_mut().zip(b) {
                            *v = tanh_f32(*v + bj);
                        }
                    }
                    (None, Activation::Tanh) => row.iter_mut().for_each(|v| *v = tanh_f32(*v)),
                    (Some(b), Activation::Sigmoid) => {
                        for (v, &bj) in row.iter_mut().zip(b) {
                            *v = sigmoid_f32(*v + bj);
                        }
                    }
                    (None, Activation::Sigmoid) => {
                        row.iter_mut().for_each(|v| *v = sigmoid_f32(*v))
                    }
                    (b, Activation::Gelu) => map_row(row, b, gelu_f32),
                    (b, Activation::GeluTanh) => map_row(row, b, gelu_tanh_f32),
                    (b, Activation::Silu) => map_row(row, b, silu_f32),
                    (b, other) => with_act_fn!(other, f => map_row(row, b, f)),
                }
            }
        },
    )
}

/// `row[j] <- f(row[j] + bias[j])` (no bias when `None`), inlined into the caller's SIMD
/// context.
#[inline(always)]
fn map_row(row: &mut [f32], bias: Option<&[f32]>, f: impl Fn(f32) -> f32) {
    match bias {
        Some(b) => {
            for (v, &bj) in row.iter_mut().zip(b) {
                *v = f(*v + bj);
            }
        }
        None => row.iter_mut().for_each(|v| *v = f(*v)),
    }
}

/// Out of place, keeping the pre-activation, for a `rows x cols` matrix:
/// `z[i][j] <- z[i][j] + bias[j]` (no bias when `None`), then `y[i][j] <- f(z[i][j])`, with
/// the same vectorizable functions as [`bias_act`] (so `y` equals what [`bias_act`] gives).
/// Panics if `z` or `y` has fewer than `rows * cols` elements or `bias` fewer than `cols`.
pub fn bias_act_keep(
    rows: usize,
    cols: usize,
    z: &mut [f32],
    y: &mut [f32],
    bias: Option<&[f32]>,
    act: Activation,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    let n = mat_len("bias_act_keep", rows, cols);
    let (z, y) = (&mut z[..n], &mut y[..n]);
    let bias = bias.map(|b| &b[..cols]);
    macro_rules! run {
        ($f:expr) => {
            for (zr, yr) in z.chunks_exact_mut(cols).zip(y.chunks_exact_mut(cols)) {
                if let Some(b) = bias {
                    zr.iter_mut().zip(b).for_each(|(v, &bj)| *v += bj);
                }
                yr.iter_mut().zip(&*zr).for_each(|(o, &v)| *o = $f(v));
            }
        };
    }
    with_simd(
        simd_level(),
        #[inline(always)]
        || with_act_fn!(act, f => run!(f)),
    )
}

/// `grad[i] <- grad[i] * f'(z[i])` from the input `z` ([`Activation::backward_from_input`];
/// ReLU as torch's `threshold_backward`, the hard functions as PyTorch's backward kernels,
/// exact), with [`gelu_grad_f32`], [`gelu_tanh_grad_f32`], [`silu_grad_f32`], and `1 − t²`,
/// `s(1 − s)`, `e^x`, `σ(βx)` (Softplus), Mish's `t + x σ(x)(1 − t²)` through this module's
/// `tanh`, sigmoid and exp. Panics if the lengths differ.
pub fn act_backward_input(act: Activation, z: &[f32], grad: &mut [f32]) {
    assert_eq!(
        z.len(),
        grad.len(),
        "act_backward_input: z and grad lengths differ"
    );
    macro_rules! run {
        ($f:expr) => {
            for (g, &x) in grad.iter_mut().zip(z) {
                *g *= $f(x);
            }
        };
    }
    with_simd(
        simd_level(),
        #[inline(always)]
        || match act {
            Activation::Identity => {}
            Activation::Relu => {
                for (g, &x) in grad.iter_mut().zip(z) {
                    *g = if x <= 0.0 { 0.0 } else { *g };
                }
            }
            Activation::Tanh => run!(|x| {
                let t = tanh_f32(x);
                1.0 - t * t
            }),
            Activation::Sigmoid => run!(|x| {
                let s = sigmoid_f32(x);
                s * (1.0 - s)
            }),
            Activation::Gelu => run!(gelu_grad_f32),
            Activation::GeluTanh => run!(gelu_tanh_grad_f32),
            Activation::Silu => run!(silu_grad_f32),
            Activation::LeakyRelu { negative_slope } => {
                let s = negative_slope as f32;
                run!(|x: f32| if x > 0.0 { 1.0 } else { s })
            }
            a @ (Activation::Elu { .. } | Activation::Selu | Activation::Celu { .. }) => {
                let c = elu_coefs(a).unwrap_or((1.0, 1.0, 1.0));
                run!(|x: f32| elu_grad_f32(x, c))
            }
            Activation::Softplus { beta, threshold } => {
                let (b, t) = (beta as f32, threshold as f32);
                run!(|x: f32| softplus_grad_f32(x, b, t))
            }
            Activation::Mish => run!(mish_grad_f32),
            // PyTorch's hardswish_backward: 0 for x <= -3, g for x >= 3 (not products).
            Activation::Hardswish => {
                for (g, &x) in grad.iter_mut().zip(z) {
                    *g = if x <= -3.0 {
                        0.0
                    } else if x < 3.0 {
                        *g * (x / 3.0 + 0.5)
                    } else {
                        *g
                    };
                }
            }
            Activation::Hardsigmoid => {
                for (g, &x) in grad.iter_mut().zip(z) {
                    *g = if x > -3.0 && x < 3.0 {
                        *g * HARDSIGMOID_SLOPE
                    } else {
                        0.0
                    };
                }
            }
            Activation::Relu6 | Activation::Hardtanh { .. } => {
                let (lo, hi) = window(act).unwrap_or((0.0, 6.0));
                for (g, &x) in grad.iter_mut().zip(z) {
                    *g = if x <= lo || x >= hi { 0.0 } else { *g };
                }
            }
        },
    )
}

/// `grad[i] <- grad[i] * f'(x_i)` expressed through the output `y[i] = f(x_i)`
/// ([`Activation::backward`], exact; NaN for the activations that
/// [`need the input`](Activation::needs_input): see [`act_backward_input`]).
/// Panics if the lengths differ.
pub fn act_backward(act: Activation, y: &[f32], grad: &mut [f32]) {
    assert_eq!(
        y.len(),
        grad.len(),
        "act_backward: y and grad lengths differ"
    );
    with_simd(
        simd_level(),
        #[inline(always)]
        || match act {
            Activation::Identity => {}
            Activation::Relu => {
                // As torch's threshold_backward (and `Activation::backward`): 0 where y <= 0, so
                // a NaN output passes its gradient on.
                for (g, &yv) in grad.iter_mut().zip(y) {
                    *g = if yv <= 0.0 { 0.0 } else { *g };
                }
            }
            Activation::Tanh => {
                for (g, &yv) in grad.iter_mut().zip(y) {
                    *g *= 1.0 - yv * yv;
                }
            }
            Activation::Sigmoid => {
                for (g, &yv) in grad.iter_mut().zip(y) {
                    *g *= yv * (1.0 - yv);
                }
            }
            // Not defined through the output (as `Activation::derivative_from_output`: NaN).
            a if a.needs_input() => grad.iter_mut().for_each(|g| *g = f32::NAN),
            Activation::LeakyRelu { negative_slope } => {
                let s = negative_slope as f32;
                for (g, &yv) in grad.iter_mut().zip(y) {
                    *g *= if yv > 0.0 { 1.0 } else { s };
                }
            }
            a @ (Activation::Elu { .. } | Activation::Selu | Activation::Celu { .. }) => {
                // PyTorch's elu_backward from the result: negiptcoef (y + negcoef) for y <= 0.
                let (neg, pos, nip) = elu_coefs(a).unwrap_or((1.0, 1.0, 1.0));
                for (g, &yv) in grad.iter_mut().zip(y) {
                    *g *= if yv <= 0.0 { nip * (yv + neg) } else { pos };
                }
            }
            Activation::Relu6 | Activation::Hardtanh { .. } => {
                // As torch's hardtanh_backward: 0 outside the open window, else g.
                let (lo, hi) = window(act).unwrap_or((0.0, 6.0));
                for (g, &yv) in grad.iter_mut().zip(y) {
                    *g = if yv <= lo || yv >= hi { 0.0 } else { *g };
                }
            }
            _ => grad.iter_mut().for_each(|g| *g = f32::NAN),
        },
    )
}

/// Column sums: `out[j] <- beta * out[j] + sum_i x[i][j]` (`beta == 0` ignores old `out`).
pub fn col_sums(rows: usize, cols: usize, x: &[f32], beta: f32, out: &mut [f32]) {
    let out = &mut out[..cols];
    let x = &x[..mat_len("col_sums", rows, cols)];
    with_simd(
        simd_level(),
        #[inline(always)]
        || {
            if beta == 0.0 {
                out.fill(0.0);
            } else if beta != 1.0 {
                out.iter_mut().for_each(|o| *o *= beta);
            }
            if cols == 0 {
                return;
            }
            for row in x.chunks_exact(cols) {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o += v;
                }
            }
        },
    )
}

#[inline(always)]
fn row_max(row: &[f32]) -> f32 {
    // Eight independent lanes so the reduction vectorizes; NaN-ignoring like f32::max.
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = a.max(v);
        }
    }
    let mut m = acc.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for &v in chunks.remainder() {
        m = m.max(v);
    }
    m
}

/// `row[j] <- e^(row[j] - mx)` ([`exp_f32`]), returning the sum of the new values: eight
/// independent partial sums (so the loop vectorizes; a running sum would keep the
/// exponentials scalar too), combined pairwise, then the tail.
#[inline(always)]
fn exp_shifted_sum(row: &mut [f32], mx: f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = row.chunks_exact_mut(8);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *v = exp_f32(*v - mx);
            *a += *v;
        }
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    let mut s = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7));
    for v in chunks.into_remainder() {
        *v = exp_f32(*v - mx);
        s += *v;
    }
    s
}

/// Row-wise softmax in place: `x_i <- exp(x_i - max) / sum exp(x_i - max)`.
pub fn softmax_rows(rows: usize, cols: usize, x: &mut [f32]) {
    if cols == 0 {
        return;
    }
    let x = &mut x[..mat_len("softmax_rows", rows, cols)];
    with_simd(
        simd_level(),
        #[inline(always)]
        || {
            for row in x.chunks_exact_mut(cols) {
                let mx = row_max(row);
                let s = exp_shifted_sum(row, mx);
                let inv = 1.0 / s;
                row.iter_mut().for_each(|v| *v *= inv);
            }
        },
    )
}

/// Fused softmax + cross-entropy over the rows of `z` (`rows x cols`), labels `< cols`:
/// returns `sum_i (log sum_j e^{z_ij} - z_i,label_i)` (log-sum-exp with the row maximum
/// subtracted) and overwrites `z` with `scale * (softmax(z_i) - onehot(label_i))`, one pass
/// over each row after its maximum; the rows' losses are added by cascade summation
/// ([`descent_core::sum`]). Panics if a label is `>= cols` or slices are short.
pub fn softmax_xent(rows: usize, cols: usize, z: &mut [f32], labels: &[u32], scale: f32) -> f32 {
    if cols == 0 || rows == 0 {
        return 0.0;
    }
    let z = &mut z[..mat_len("softmax_xent", rows, cols)];
    let labels = &labels[..rows];
    with_simd(
        simd_level(),
        #[inline(always)]
        || {
            let mut total = CascadeSum::new();
            for (row, &label) in z.chunks_exact_mut(cols).zip(labels) {
                let label = label as usize;
                assert!(
                    label < cols,
                    "softmax_xent: label {label} >= {cols} classes"
                );
                let mx = row_max(row);
                let z_label = row[label] - mx;
                let s = exp_shifted_sum(row, mx);
                total.add(s.ln() - z_label);
                let k = scale / s;
                row.iter_mut().for_each(|v| *v *= k);
                row[label] -= scale;
            }
            total.total()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dimensions whose product wraps to 2: each op must refuse the 2-element slice rather
    /// than run on it as if it held the whole matrix.
    const ROWS: usize = (1 << 63) + 1;

    #[test]
    #[should_panic(expected = "bias_act: ")]
    fn bias_act_refuses_dimensions_whose_size_overflows() {
        bias_act(ROWS, 2, &mut [1.0, -1.0], None, Activation::Relu);
    }

    #[test]
    #[should_panic(expected = "col_sums: ")]
    fn col_sums_refuses_dimensions_whose_size_overflows() {
        col_sums(ROWS, 2, &[1.0, 2.0], 0.0, &mut [0.0; 2]);
    }

    #[test]
    #[should_panic(expected = "softmax_rows: ")]
    fn softmax_rows_refuses_dimensions_whose_size_overflows() {
        softmax_rows(ROWS, 2, &mut [1.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "softmax_xent: ")]
    fn softmax_xent_refuses_dimensions_whose_size_overflows() {
        softmax_xent(ROWS, 2, &mut [1.0, 2.0], &[0], 1.0);
    }

    #[test]
    fn exp_is_accurate() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let got = exp_f32(x) as f64;
            let want = (x as f64).exp();
            worst = worst.max(((got - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(0.0), 1.0);
    }

    /// Over the whole clamped range (every 37th f32), the exponent field `exp_f32` builds
    /// from the float's bits equals the one an integer cast gives.
    #[test]
    fn exp_power_of_two_field_matches_the_cast() {
        let mut checked = 0;
        for b in (0..=88.376_26f32.to_bits()).step_by(37) {
            for x in [f32::from_bits(b), -f32::from_bits(b)] {
                if x < -87.336_55 {
                    continue;
                }
                let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
                let want = ((n as i32 + 127) as u32) << 23;
                let got = (n + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000 - 127) << 23;
                assert_eq!(got, want, "{x}");
                checked += 1;
            }
        }
        assert!(checked > 50_000_000, "{checked}");
    }

    /// Distance in units in the last place of `want` (f64, the exact value to f64 precision)
    /// from `got`, measured at `want`'s f32 binade.
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        let ulp = if w == 0.0 || !w.is_normal() {
            f32::from_bits(1) as f64
        } else {
            (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64
        };
        (got as f64 - want).abs() / ulp
    }

    /// Every 61st f32 bit pattern of each sign (about 140 million values), in threads.
    fn sweep(f: fn(f32) -> f32, exact: fn(f64) -> f64, skip: fn(f32) -> bool) -> f64 {
        let parts: Vec<f64> = (0..8u32)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut worst = 0.0f64;
                    let mut b = t * 61;
                    while b < 0x7f80_0000 {
                        for x in [f32::from_bits(b), -f32::from_bits(b)] {
                            if !skip(x) {
                                worst = worst.max(ulps(f(x), exact(x as f64)));
                            }
                        }
                        b += 8 * 61;
                    }
                    worst
                })
            })
            .map(|h| h.join().unwrap())
            .collect();
        parts.into_iter().fold(0.0, f64::max)
    }

    #[test]
    fn tanh_is_within_1_5_ulp() {
        let worst = sweep(tanh_f32, f64::tanh, |_| false);
        eprintln!("tanh_f32: worst {worst} ulp");
        assert!(worst <= 1.5, "worst {worst} ulp");
        for x in [0.0f32, -0.0, 1e-30, -1e-30, 0.625, -0.625, 9.0, 20.0] {
            let (got, want) = (tanh_f32(x), (x as f64).tanh() as f32);
            assert!(ulps(got, (x as f64).tanh()) <= 1.5, "{x}: {got} vs {want}");
            assert_eq!(got.is_sign_negative(), x.is_sign_negative(), "{x}");
        }
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }

    #[test]
    fn erf_is_within_8_ulp() {
        let worst = sweep(erf_f32, <f64 as descent_core::Float>::erf, |_| false);
        eprintln!("erf_f32: worst {worst} ulp");
        assert!(worst <= 8.0, "worst {worst} ulp");
        assert_eq!(erf_f32(f32::INFINITY), 1.0);
        assert_eq!(erf_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(erf_f32(0.0), 0.0);
        assert!(erf_f32(f32::NAN).is_nan());
    }

    #[test]
    fn expm1_is_within_3_5_ulp_above_minus_87() {
        let worst = sweep(expm1_f32, f64::exp_m1, |x| !(-87.0..=88.0).contains(&x));
        eprintln!("expm1_f32: worst {worst} ulp");
        assert!(worst <= 3.5, "worst {worst} ulp");
        assert_eq!(expm1_f32(0.0), 0.0);
        assert_eq!(expm1_f32(f32::NEG_INFINITY), -1.0);
        assert!(expm1_f32(f32::NAN).is_nan());
    }

    /// GELU, tanh-GELU and SiLU (and their derivatives) against the f64 formulas: within
    /// `k` ulp of the exact value or an absolute `3e-7 (1 + |x|)` (erf's absolute error near
    /// ±1, and cancellation in `1 + erf` / `1 + tanh`, which PyTorch's f32 formula shares).
    /// Returns the worst ulp distance where the absolute bound does not hold.
    fn check_activation(f: fn(f32) -> f32, exact: fn(f64) -> f64, lo: f32, hi: f32) -> f64 {
        let mut worst = 0.0f64;
        let mut worst_abs = 0.0f64;
        let mut x = lo;
        while x < hi {
            let (got, want) = (f(x) as f64, exact(x as f64));
            let abs = (got - want).abs() / (1.0 + (x as f64).abs());
            worst_abs = worst_abs.max(abs);
            if abs > 3e-7 {
                worst = worst.max(ulps(got as f32, want));
            }
            x += 0.000_37;
        }
        eprintln!("worst absolute {worst_abs:e} / (1 + |x|)");
        worst
    }

    fn gelu64(x: f64) -> f64 {
        0.5 * x * (1.0 + <f64 as descent_core::Float>::erf(x * std::f64::consts::FRAC_1_SQRT_2))
    }
    fn gelu64_grad(x: f64) -> f64 {
        0.5 * (1.0 + <f64 as descent_core::Float>::erf(x * std::f64::consts::FRAC_1_SQRT_2))
            + x * (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }
    fn gelu_tanh64(x: f64) -> f64 {
        let b = (2.0 / std::f64::consts::PI).sqrt();
        0.5 * x * (1.0 + (b * (x + 0.044715 * x * x * x)).tanh())
    }
    fn gelu_tanh64_grad(x: f64) -> f64 {
        let b = (2.0 / std::f64::consts::PI).sqrt();
        let t = (b * (x + 0.044715 * x * x * x)).tanh();
        0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * b * (1.0 + 3.0 * 0.044715 * x * x)
    }
    fn silu64(x: f64) -> f64 {
        x / (1.0 + (-x).exp())
    }
    fn silu64_grad(x: f64) -> f64 {
        let s = 1.0 / (1.0 + (-x).exp());
        s * (1.0 + x * (1.0 - s))
    }

    fn softplus64(x: f64) -> f64 {
        if x > 20.0 {
            x
        } else {
            x.exp().ln_1p()
        }
    }
    fn mish64(x: f64) -> f64 {
        x * x.exp().ln_1p().tanh()
    }
    fn mish64_grad(x: f64) -> f64 {
        let t = x.exp().ln_1p().tanh();
        t + x / (1.0 + (-x).exp()) * (1.0 - t * t)
    }

    #[test]
    fn smooth_activations_and_derivatives_are_accurate() {
        type Case = (&'static str, fn(f32) -> f32, fn(f64) -> f64);
        let cases: [Case; 11] = [
            ("softplus", |x| softplus_f32(x, 1.0, 20.0), softplus64),
            (
                "softplus'",
                |x| softplus_grad_f32(x, 1.0, 20.0),
                |x| {
                    if x > 20.0 {
                        1.0
                    } else {
                        1.0 / (1.0 + (-x).exp())
                    }
                },
            ),
            ("mish", mish_f32, mish64),
            ("mish'", mish_grad_f32, mish64_grad),
            (
                "selu",
                |x| elu_f32(x, elu_coefs(Activation::Selu).unwrap()),
                |x| {
                    let (a, l) = (descent_core::ops::SELU_ALPHA, descent_core::ops::SELU_SCALE);
                    if x > 0.0 {
                        l * x
                    } else {
                        l * a * x.exp_m1()
                    }
                },
            ),
            ("gelu", gelu_f32, gelu64),
            ("gelu'", gelu_grad_f32, gelu64_grad),
            ("gelu_tanh", gelu_tanh_f32, gelu_tanh64),
            ("gelu_tanh'", gelu_tanh_grad_f32, gelu_tanh64_grad),
            ("silu", silu_f32, silu64),
            ("silu'", silu_grad_f32, silu64_grad),
        ];
        for (name, f, exact) in cases {
            let worst = check_activation(f, exact, -20.0, 20.0);
            eprintln!("{name}: worst {worst} ulp outside the absolute bound");
            assert!(worst <= 8.0, "{name}: worst {worst} ulp");
        }
        // Away from 0 and the tails, plain ulp bounds.
        assert_eq!(gelu_f32(0.0), 0.0);
        assert_eq!(gelu_grad_f32(0.0), 0.5);
        assert_eq!(gelu_grad_f32(f32::INFINITY), 1.0);
        assert!(gelu_grad_f32(f32::NEG_INFINITY).abs() < 1e-36);
        assert_eq!(gelu_f32(f32::INFINITY), f32::INFINITY);
        assert!(gelu_f32(f32::NAN).is_nan() && silu_f32(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_is_within_2_5_ulp_above_minus_87() {
        let exact = |x: f64| 1.0 / (1.0 + (-x).exp());
        let worst = sweep(sigmoid_f32, exact, |x| x < -87.0);
        eprintln!("sigmoid_f32: worst {worst} ulp");
        assert!(worst <= 2.5, "worst {worst} ulp");
        let mut x = -200.0f32;
        while x < -87.0 {
            assert!(
                (sigmoid_f32(x) as f64 - exact(x as f64)).abs() <= 1.2e-38,
                "{x}"
            );
            x += 0.37;
        }
        assert_eq!(sigmoid_f32(f32::INFINITY), 1.0);
        assert!(sigmoid_f32(f32::NEG_INFINITY) <= 1.2e-38);
        assert_eq!(sigmoid_f32(0.0), 0.5);
        assert!(sigmoid_f32(f32::NAN).is_nan());
    }
}
