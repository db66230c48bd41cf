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
    // n is in [-126, 127]: a normal power of two. NaN maps to 0 here; `e` is NaN anyway.
    let bits = ((n as i32 + 127) as u32) << 23;
    e * f32::from_bits(bits)
}

/// `rows * cols`, the length a `rows x cols` matrix needs; panics naming `func` when that
/// overflows (a wrapped product would let a too-short slice pass as long enough).
fn mat_len(func: &str, rows: usize, cols: usize) -> usize {
    rows.checked_mul(cols)
        .unwrap_or_else(|| panic!("{func}: {rows} x {cols} elements overflow usize"))
}

/// In place for a `rows x cols` matrix: `y[i][j] <- f(y[i][j] + bias[j])` (no bias when
/// `None`). Panics if `y` has fewer than `rows * cols` elements or `bias` fewer than `cols`.
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
                    (b, a) => {
                        for (j, v) in row.iter_mut().enumerate() {
                            let s = *v + b.map_or(0.0, |b| b[j]);
                            *v = a.apply(s);
                        }
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
}
