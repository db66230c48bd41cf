//! Shared unit-test driver for the microkernels: runs one kernel on random packed panels
//! (and on A read in place) for full and edge tiles, `beta` zero (NaN in C) and non-zero,
//! against a scalar f64 loop.

use super::elem::Elem;
use super::loops::{Spec, Ukr};

/// Converts test values between the element type and f64.
pub(crate) trait TestElem: Elem + core::fmt::Debug {
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    const EPS: f64;
    const NAN: Self;
}

impl TestElem for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    const EPS: f64 = f32::EPSILON as f64;
    const NAN: Self = f32::NAN;
}

impl TestElem for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    const EPS: f64 = f64::EPSILON;
    const NAN: Self = f64::NAN;
}

fn values<T: TestElem>(len: usize, seed: u64) -> Vec<T> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            T::from_f64((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        })
        .collect()
}

/// Checks `kern` (tile `mr x nr`) for `kc` steps on every `(m_eff, n_eff)` in `shapes`.
/// `direct`: A is passed as `mr` rows of a row-major matrix (row stride `kc + 3`) instead of
/// a packed panel.
fn check<T: TestElem>(kern: Ukr<T>, mr: usize, nr: usize, kc: usize, direct: bool) {
    let a_rows: Vec<T> = values(mr * (kc + 3), 1);
    let lda = kc + 3;
    let mut a_packed = vec![T::ZERO; mr * kc];
    for p in 0..kc {
        for i in 0..mr {
            a_packed[p * mr + i] = a_rows[i * lda + p];
        }
    }
    // B rows with a stride wider than the tile, as when read in place.
    let ldb = nr + 5;
    let b: Vec<T> = values(kc * ldb, 2);
    // Every edge width (each remainder of the vector width) and every edge height.
    let mut edges: Vec<(usize, usize)> = (1..=nr).map(|n_eff| (1 + n_eff % mr, n_eff)).collect();
    edges.extend((1..=mr).map(|m_eff| (m_eff, nr)));
    for &(m_eff, n_eff) in &edges {
        for &(alpha, beta) in &[(1.0, 0.0), (-0.5, 1.0), (2.0, -0.25)] {
            let ldc = nr + 2;
            let mut c: Vec<T> = values(mr * ldc, 3);
            if beta == 0.0 {
                c.iter_mut().for_each(|x| *x = T::NAN);
            }
            let c0 = c.clone();
            let (ap, sa) = if direct {
                (a_rows.as_ptr(), lda as isize)
            } else {
                (a_packed.as_ptr(), mr as isize)
            };
            // SAFETY: the panels hold `mr x kc` and `kc x nr` (row stride `ldb`) values and
            // C `mr` rows of `ldc >= nr`, as the microkernel contract requires.
            unsafe {
                kern(
                    kc,
                    T::from_f64(alpha),
                    ap,
                    sa,
                    b.as_ptr(),
                    ldb as isize,
                    T::from_f64(beta),
                    c.as_mut_ptr(),
                    ldc as isize,
                    m_eff,
                    n_eff,
                )
            };
            for i in 0..mr {
                for j in 0..ldc {
                    let got = c[i * ldc + j].to_f64();
                    if i < m_eff && j < n_eff {
                        let (mut s, mut sa) = (0.0, 0.0);
                        for p in 0..kc {
                            let x = a_rows[i * lda + p].to_f64() * b[p * ldb + j].to_f64();
                            s += x;
                            sa += x.abs();
                        }
                        let old = if beta == 0.0 {
                            0.0
                        } else {
                            beta * c0[i * ldc + j].to_f64()
                        };
                        let want = alpha * s + old;
                        let tol = 4.0 * (kc as f64 + 2.0) * T::EPS * (sa * alpha.abs() + old.abs());
                        assert!(
                            (got - want).abs() <= tol + 1e-300,
                            "({m_eff}x{n_eff}, alpha {alpha}, beta {beta}) C[{i}][{j}] = {got}, want {want}"
                        );
                    } else {
                        let old = c0[i * ldc + j].to_f64();
                        assert!(
                            got == old || (got.is_nan() && old.is_nan()),
                            "wrote outside the tile"
                        );
                    }
                }
            }
        }
    }
}

/// Runs [`check`] on a spec's kernels (packed, direct, and half-width when present).
pub(crate) fn check_spec<T: TestElem>(spec: Spec<T>) {
    for kc in [1, 7, 64] {
        check(spec.ukr, spec.mr, spec.nr, kc, false);
        if let Some(d) = spec.ukr_direct_a {
            check(d, spec.mr, spec.nr, kc, true);
        }
        if let Some(h) = spec.half {
            check(h.ukr, spec.mr, h.nr, kc, false);
            if let Some(d) = h.ukr_direct_a {
                check(d, spec.mr, h.nr, kc, true);
            }
        }
    }
}
