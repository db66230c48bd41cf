//! `descent_kernels::sgemm` against a naive f64 triple loop on arbitrary small problems.
//!
//! Shapes m, n, k < 72 (crossing 64-wide tiles), sometimes up to 300 (cache blocks, threads), both transposes, padded leading dimensions,
//! alpha/beta including 0, ±1 and arbitrary finite values, optional NaN/inf in C. Checks:
//! every C(i, j) within a k-scaled forward error bound of the f64 result
//! `|ĉ − c| ≤ 4 (k + 2) u (|α| Σ|a||b| + |β||c₀|)`, beta == 0 never reads C (NaN in C must not
//! leak), beta != 0 propagates NaN from C, alpha == 0 or k == 0 never reads A or B, slices of
//! the exact minimum length are enough (AddressSanitizer checks every access), and padding
//! between rows of C is never written.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    transa: bool,
    transb: bool,
    m: u8,
    n: u8,
    k: u8,
    pad_a: u8,
    pad_b: u8,
    pad_c: u8,
    alpha: Scalar,
    beta: Scalar,
    /// Poison C with NaN / inf at these positions (before the call).
    poison: Vec<(u16, bool)>,
    seed: u64,
    /// Explicit values for the start of A and B (overriding the seeded ones), e.g. exact zeros,
    /// tiny or huge magnitudes.
    a_vals: Vec<f32>,
    b_vals: Vec<f32>,
    /// Slices of exactly the documented minimum `(rows − 1)·ld + cols` (AddressSanitizer then
    /// catches any read or write past the last element).
    tight: bool,
    /// Leading dimension 0 for matrices with at most one row (allowed: it is never used).
    zero_ld: bool,
    /// NaN in A and B: must not be read when alpha == 0 or k == 0.
    poison_ab: bool,
    /// Sizes up to 300 (past the cache blocks and the parallel threshold) instead of < 72;
    /// only with `seed % 8 == 0`, to keep most runs fast.
    big: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Scalar {
    Zero,
    One,
    MinusOne,
    Half,
    Any(f32),
}

impl Scalar {
    fn value(self) -> f32 {
        match self {
            Scalar::Zero => 0.0,
            Scalar::One => 1.0,
            Scalar::MinusOne => -1.0,
            Scalar::Half => 0.5,
            // Finite, bounded so the f64 reference cannot overflow f32's range.
            Scalar::Any(x) if x.is_finite() => x.clamp(-1e3, 1e3),
            Scalar::Any(_) => 2.0,
        }
    }
}

/// xorshift64*: deterministic fill in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((r >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn clean(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(-1e6, 1e6)
    } else {
        0.0
    }
}

fuzz_target!(|inp: Input| {
    let dim = |x: u8| {
        if inp.big && inp.seed.is_multiple_of(8) {
            x as usize * 7 % 300
        } else {
            x as usize % 72
        }
    };
    let (m, n, k) = (dim(inp.m), dim(inp.n), dim(inp.k));
    let (ta, tb) = (inp.transa, inp.transb);
    // Row-major storage: op(A) is m×k; A is stored m×k (lda ≥ k) or, transposed, k×m (lda ≥ m).
    let (a_rows, a_cols) = if ta { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if tb { (n, k) } else { (k, n) };
    let ld = |rows: usize, cols: usize, pad: u8| {
        if inp.zero_ld && rows <= 1 {
            0
        } else {
            cols.max(1) + pad as usize % 5
        }
    };
    let lda = ld(a_rows, a_cols, inp.pad_a);
    let ldb = ld(b_rows, b_cols, inp.pad_b);
    let ldc = ld(m, n, inp.pad_c);
    let stored = |rows: usize, cols: usize, ld: usize| {
        if rows == 0 || cols == 0 {
            0
        } else if inp.tight {
            (rows - 1) * ld + cols
        } else {
            rows * ld.max(cols)
        }
    };
    let mut rng = Rng(inp.seed | 1);
    let mut a: Vec<f32> = (0..stored(a_rows, a_cols, lda))
        .map(|_| rng.next())
        .collect();
    let mut b: Vec<f32> = (0..stored(b_rows, b_cols, ldb))
        .map(|_| rng.next())
        .collect();
    for (d, &s) in a.iter_mut().zip(&inp.a_vals) {
        *d = clean(s);
    }
    for (d, &s) in b.iter_mut().zip(&inp.b_vals) {
        *d = clean(s);
    }
    let mut c0: Vec<f32> = (0..stored(m, n, ldc)).map(|_| rng.next()).collect();
    const SENTINEL: f32 = -7.25e30;
    for i in 0..m {
        for j in n..ldc {
            if let Some(x) = c0.get_mut(i * ldc + j) {
                *x = SENTINEL;
            }
        }
    }
    let mut poisoned = vec![false; c0.len()];
    if m > 0 && n > 0 {
        for &(at, inf) in inp.poison.iter().take(8) {
            let (i, j) = (at as usize % m, (at as usize / m) % n);
            c0[i * ldc + j] = if inf { f32::INFINITY } else { f32::NAN };
            poisoned[i * ldc + j] = true;
        }
    }
    let (alpha, beta) = (inp.alpha.value(), inp.beta.value());
    let ab_unread = alpha == 0.0 || k == 0;
    if inp.poison_ab && ab_unread {
        a.iter_mut().step_by(3).for_each(|x| *x = f32::NAN);
        b.iter_mut().step_by(2).for_each(|x| *x = f32::INFINITY);
    }

    let mut c = c0.clone();
    descent_kernels::sgemm(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut c, ldc);

    let at = |i: usize, p: usize| f64::from(if ta { a[p * lda + i] } else { a[i * lda + p] });
    let bt = |p: usize, j: usize| f64::from(if tb { b[j * ldb + p] } else { b[p * ldb + j] });
    let u = f64::from(f32::EPSILON) / 2.0;
    for i in 0..m {
        for j in 0..n {
            let idx = i * ldc + j;
            let (mut dot, mut mag) = (0.0f64, 0.0f64);
            if !ab_unread {
                for p in 0..k {
                    dot += at(i, p) * bt(p, j);
                    mag += (at(i, p) * bt(p, j)).abs();
                }
            }
            let got = c[idx];
            let cij = f64::from(c0[idx]);
            if beta == 0.0 {
                // BLAS: C is not read; NaN / inf in C must not leak.
                let want = f64::from(alpha) * dot;
                let tol = 4.0 * (k as f64 + 2.0) * u * f64::from(alpha).abs() * mag + 1e-30;
                assert!(
                    got.is_finite() && (f64::from(got) - want).abs() <= tol,
                    "beta=0: C({i},{j}) = {got}, want {want} ± {tol} (m={m} n={n} k={k} \
                     ta={ta} tb={tb} lda={lda} ldb={ldb} ldc={ldc} alpha={alpha} c0={cij})"
                );
            } else if poisoned[idx] {
                // beta·NaN is NaN; beta·inf is ±inf (or NaN if the product is also infinite).
                assert!(
                    !got.is_finite(),
                    "beta={beta}: non-finite C({i},{j}) = {cij} became finite {got}"
                );
                if cij.is_nan() {
                    assert!(got.is_nan(), "beta={beta}: NaN in C({i},{j}) became {got}");
                }
            } else {
                let want = f64::from(alpha) * dot + f64::from(beta) * cij;
                let tol = 4.0
                    * (k as f64 + 2.0)
                    * u
                    * (f64::from(alpha).abs() * mag + f64::from(beta).abs() * cij.abs())
                    + 1e-30;
                assert!(
                    (f64::from(got) - want).abs() <= tol,
                    "C({i},{j}) = {got}, want {want} ± {tol} (m={m} n={n} k={k} ta={ta} \
                     tb={tb} lda={lda} ldb={ldb} ldc={ldc} alpha={alpha} beta={beta} c0={cij})"
                );
            }
        }
        for j in (n..ldc).filter(|j| i * ldc + j < c.len()) {
            assert_eq!(
                c[i * ldc + j].to_bits(),
                SENTINEL.to_bits(),
                "padding C({i},{j}) beyond n={n} was written (ldc={ldc})"
            );
        }
    }
});
