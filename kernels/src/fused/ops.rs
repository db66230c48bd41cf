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
    let p = 1.987_569_1e-4f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // n is an integer in [-126, 127]: 2^n is a normal power of two with exponent field
    // n + 127. Adding 1.5 * 2^23 puts n (exactly) in the low mantissa bits, so the field is
    // computed with integer vector ops; a float-to-int `as` cast (saturating, NaN to 0) would
    // be done lane by lane on AVX2. For NaN the bits are garbage, but `e` is NaN anyway.
    const SHIFTER: f32 = 12_582_912.0; // 1.5 * 2^23, bits 0x4B40_0000
    let field = (n + SHIFTER).to_bits().wrapping_sub(0x4B40_0000 - 127);
    e * f32::from_bits(field << 23)
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

/// `rows * cols`, the length a `rows x cols` matrix needs; panics naming `func` when that
/// overflows (a wrapped product would let a too-short slice pass as long enough).
fn mat_len(func: &str, rows: usize, cols: usize) -> usize {
    rows.checked_mul(cols)
        .unwrap_or_else(|| panic!("{func}: {rows} x {cols} elements overflow usize"))
}

/// In place for a `rows x cols` matrix: `y[i][j] <- f(y[i][j] + bias[j])` (no bias when
/// `None`). ReLU and identity are exact (equal to [`Activation::apply`]); tanh and sigmoid
/// use [`tanh_f32`] and [`sigmoid_f32`] (within 1.5 and 2.5 ulp, vectorized) instead of libm.
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
                }
            }
        },
    )
}

/// `grad[i] <- grad[i] * f'(x_i)` expressed through the output `y[i] = f(x_i)`
/// ([`Activation::backward`]).
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
