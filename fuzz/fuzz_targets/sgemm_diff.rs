//! `descent_kernels::sgemm` against a naive f64 triple loop on arbitrary small problems.
//!
//! Shapes m, n, k < 72 (crossing 64-wide tiles), both transposes, padded leading dimensions,
//! alpha/beta including 0, ±1 and arbitrary finite values, optional NaN/inf in C. Checks:
//! every C(i, j) within a k-scaled forward error bound of the f64 result
//! `|ĉ − c| ≤ 4 (k + 2) u (|α| Σ|a||b| + |β||c₀|)`, beta == 0 never reads C (NaN in C must not
//! leak), beta != 0 propagates NaN from C, and padding between rows of C is never written.
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
    let (m, n, k) = (
        inp.m as usize % 72,
        inp.n as usize % 72,
        inp.k as usize % 72,
    );
    let (ta, tb) = (inp.transa, inp.transb);
    // Row-major storage: op(A) is m×k; A is stored m×k (lda ≥ k) or, transposed, k×m (lda ≥ m).
    let (a_rows, a_cols) = if ta { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if tb { (n, k) } else { (k, n) };
    let lda = a_cols.max(1) + inp.pad_a as usize % 5;
    let ldb = b_cols.max(1) + inp.pad_b as usize % 5;
    let ldc = n.max(1) + inp.pad_c as usize % 5;
    let mut rng = Rng(inp.seed | 1);
    let mut a: Vec<f32> = (0..a_rows * lda).map(|_| rng.next()).collect();
    let mut b: Vec<f32> = (0..b_rows * ldb).map(|_| rng.next()).collect();
    for (d, &s) in a.iter_mut().zip(&inp.a_vals) {
        *d = clean(s);
    }
    for (d, &s) in b.iter_mut().zip(&inp.b_vals) {
        *d = clean(s);
    }
    let c0: Vec<f32> = (0..m * ldc).map(|_| rng.next()).collect();
    let mut c0 = c0;
    const SENTINEL: f32 = -7.25e30;
    for i in 0..m {
        for j in n..ldc {
            c0[i * ldc + j] = SENTINEL;
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

    let mut c = c0.clone();
    descent_kernels::sgemm(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut c, ldc);

    let at = |i: usize, p: usize| f64::from(if ta { a[p * lda + i] } else { a[i * lda + p] });
    let bt = |p: usize, j: usize| f64::from(if tb { b[j * ldb + p] } else { b[p * ldb + j] });
    let u = f64::from(f32::EPSILON) / 2.0;
    for i in 0..m {
        for j in 0..n {
            let idx = i * ldc + j;
            let (mut dot, mut mag) = (0.0f64, 0.0f64);
            for p in 0..k {
                dot += at(i, p) * bt(p, j);
                mag += (at(i, p) * bt(p, j)).abs();
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
        for j in n..ldc {
            assert_eq!(
                c[i * ldc + j].to_bits(),
                SENTINEL.to_bits(),
                "padding C({i},{j}) beyond n={n} was written (ldc={ldc})"
            );
        }
    }
});
