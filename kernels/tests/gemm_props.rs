//! Property tests of the GEMM against a naive f64-accumulating loop and `matrixmultiply`, on
//! every kernel family this CPU can run (the AVX2 and portable paths are forced explicitly).
//!
//! Tolerance: `|c - ref| <= 4 * (k + 2) * eps * (|alpha| * sum_p |a_ip| |b_pj| + |beta| |c0|)`,
//! the standard forward error bound of a length-k dot product with a few units of slack.

mod common;

use descent_kernels::gemm::{dgemm_with_isa, sgemm_strided_with_isa, sgemm_with_isa, Isa};
use proptest::prelude::*;

/// Reference `alpha * op(A) op(B) + beta * C0` in f64 and the matching error scale.
#[allow(clippy::too_many_arguments)]
fn reference(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &[f64],
    ldb: usize,
    beta: f64,
    c: &[f64],
    ldc: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut out = vec![0.0; m * n];
    let mut scale = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut sa) = (0.0f64, 0.0f64);
            for p in 0..k {
                let av = if ta { a[p * lda + i] } else { a[i * lda + p] };
                let bv = if tb { b[j * ldb + p] } else { b[p * ldb + j] };
                s += av * bv;
                sa += (av * bv).abs();
            }
            let c0 = c[i * ldc + j];
            let bc = if beta == 0.0 { 0.0 } else { beta * c0 };
            out[i * n + j] = alpha * s + bc;
            scale[i * n + j] = alpha.abs() * sa + if beta == 0.0 { 0.0 } else { (beta * c0).abs() };
        }
    }
    (out, scale)
}

fn dims() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1usize),
        prop::sample::select(vec![
            2usize, 3, 5, 7, 11, 12, 13, 16, 17, 31, 32, 33, 97, 257, 263
        ]),
        0usize..300,
    ]
}

fn scalar() -> impl Strategy<Value = f32> {
    prop_oneof![Just(0.0f32), Just(1.0f32), Just(-1.0f32), -2.0f32..2.0]
}

#[derive(Debug, Clone)]
struct Case {
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    pad: (usize, usize, usize),
    alpha: f32,
    beta: f32,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        any::<bool>(),
        dims(),
        dims(),
        dims(),
        (0usize..4, 0usize..4, 0usize..4),
        scalar(),
        scalar(),
        any::<u64>(),
    )
        .prop_map(|(ta, tb, m, n, k, pad, alpha, beta, seed)| Case {
            ta,
            tb,
            m,
            n,
            k,
            pad,
            alpha,
            beta,
            seed,
        })
}

/// Deterministic values in [-1, 1) from a splitmix-style generator.
fn fill(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// (rows, cols, leading dimension) of a stored matrix.
type Stored = (usize, usize, usize);

/// Stored shapes of A, B and C for a case, rows padded by `c.pad`.
fn stored(c: &Case) -> (Stored, Stored, Stored) {
    let (ar, ac) = if c.ta { (c.k, c.m) } else { (c.m, c.k) };
    let (br, bc) = if c.tb { (c.n, c.k) } else { (c.k, c.n) };
    (
        (ar, ac, ac + c.pad.0),
        (br, bc, bc + c.pad.1),
        (c.m, c.n, c.n + c.pad.2),
    )
}

fn run_f32(isa: Isa, c: &Case) -> Result<(), TestCaseError> {
    let ((ar, _, lda), (br, _, ldb), (cr, _, ldc)) = stored(c);
    let a = fill(ar * lda, c.seed);
    let b = fill(br * ldb, c.seed ^ 1);
    let mut cm = fill(cr * ldc, c.seed ^ 2);
    if c.beta == 0.0 {
        // beta == 0 must ignore C entirely, NaN included.
        for (i, x) in cm.iter_mut().enumerate() {
            if i % 3 == 0 {
                *x = f32::NAN;
            }
        }
    }
    let c0 = cm.clone();
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let (want, scale) = reference(
        c.ta,
        c.tb,
        c.m,
        c.n,
        c.k,
        c.alpha as f64,
        &f(&a),
        lda,
        &f(&b),
        ldb,
        c.beta as f64,
        &f(&c0),
        ldc,
    );
    prop_assert!(sgemm_with_isa(
        isa, c.ta, c.tb, c.m, c.n, c.k, c.alpha, &a, lda, &b, ldb, c.beta, &mut cm, ldc
    ));
    let tol = 4.0 * (c.k as f64 + 2.0) * f32::EPSILON as f64;
    for i in 0..c.m {
        for j in 0..c.n {
            let got = cm[i * ldc + j] as f64;
            let w = want[i * c.n + j];
            prop_assert!(
                (got - w).abs() <= tol * scale[i * c.n + j] + 1e-30,
                "{isa:?} {c:?}: C[{i}][{j}] = {got}, want {w}"
            );
        }
        // Padding between rows is never touched.
        for j in c.n..ldc {
            let (x, y) = (cm[i * ldc + j], c0[i * ldc + j]);
            prop_assert!(x == y || (x.is_nan() && y.is_nan()), "padding changed");
        }
    }
    // Cross-check against matrixmultiply on the same inputs.
    if c.m > 0 && c.n > 0 {
        let (rsa, csa) = if c.ta {
            (1, lda as isize)
        } else {
            (lda as isize, 1)
        };
        let (rsb, csb) = if c.tb {
            (1, ldb as isize)
        } else {
            (ldb as isize, 1)
        };
        let mut mm = c0.clone();
        // SAFETY: the strides describe the allocated, padded matrices exactly.
        unsafe {
            matrixmultiply::sgemm(
                c.m,
                c.k,
                c.n,
                c.alpha,
                a.as_ptr(),
                rsa,
                csa,
                b.as_ptr(),
                rsb,
                csb,
                c.beta,
                mm.as_mut_ptr(),
                ldc as isize,
                1,
            )
        };
        for i in 0..c.m {
            for j in 0..c.n {
                let d = (mm[i * ldc + j] as f64 - cm[i * ldc + j] as f64).abs();
                prop_assert!(
                    d <= 2.0 * tol * scale[i * c.n + j] + 1e-30,
                    "vs matrixmultiply"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn sgemm_matches_reference_on_every_isa(c in case()) {
        for isa in common::test_isas() {
            run_f32(isa, &c)?;
        }
    }

    /// The thin-rows path (`m <= 32`, B transposed, computed as `(B · Aᵀ)ᵀ`): the MLP forward
    /// at small batches, on every ISA, with padding, alpha/beta and NaN in C when beta = 0.
    #[test]
    fn thin_rows_times_transposed_b_on_every_isa(
        m in prop_oneof![Just(1usize), Just(16), Just(32), 0usize..40],
        n in prop_oneof![Just(512usize), 0usize..300],
        k in dims(),
        pad in (0usize..4, 0usize..4, 0usize..4),
        alpha in scalar(),
        beta in scalar(),
        seed in any::<u64>(),
    ) {
        let c = Case { ta: false, tb: true, m, n, k, pad, alpha, beta, seed };
        for isa in common::test_isas() {
            run_f32(isa, &c)?;
        }
    }

    /// Thin rows times a row-major B whose row stride is a multiple of 512 bytes (which the
    /// blocked path would pack): also computed as `(Bᵀ · Aᵀ)ᵀ` (the backward `dY · W` at a
    /// small batch), with B's padding chosen to make the stride such a multiple.
    #[test]
    fn thin_rows_times_aliasing_row_major_b_on_every_isa(
        m in prop_oneof![Just(1usize), Just(16), Just(32), 0usize..40],
        n in prop_oneof![Just(512usize), Just(128), 0usize..300],
        k in dims(),
        pad_a in 0usize..4,
        pad_c in 0usize..4,
        alpha in scalar(),
        beta in scalar(),
        seed in any::<u64>(),
    ) {
        let pad_b = (128 - n % 128) % 128;
        let c = Case { ta: false, tb: false, m, n, k, pad: (pad_a, pad_b, pad_c), alpha, beta, seed };
        for isa in common::test_isas() {
            run_f32(isa, &c)?;
        }
    }

    #[test]
    fn dgemm_matches_reference_on_every_isa(c in case()) {
        let ((ar, _, lda), (br, _, ldb), (cr, _, ldc)) = stored(&c);
        let f = |v: Vec<f32>| v.into_iter().map(|x| x as f64).collect::<Vec<_>>();
        let a = f(fill(ar * lda, c.seed));
        let b = f(fill(br * ldb, c.seed ^ 1));
        let mut c0 = f(fill(cr * ldc, c.seed ^ 2));
        if c.beta == 0.0 {
            c0.iter_mut().step_by(2).for_each(|x| *x = f64::NAN);
        }
        let (alpha, beta) = (c.alpha as f64, c.beta as f64);
        let (want, scale) =
            reference(c.ta, c.tb, c.m, c.n, c.k, alpha, &a, lda, &b, ldb, beta, &c0, ldc);
        let tol = 4.0 * (c.k as f64 + 2.0) * f64::EPSILON;
        for isa in common::test_isas() {
            let mut cm = c0.clone();
            prop_assert!(dgemm_with_isa(
                isa, c.ta, c.tb, c.m, c.n, c.k, alpha, &a, lda, &b, ldb, beta, &mut cm, ldc
            ));
            for i in 0..c.m {
                for j in 0..c.n {
                    let (got, w) = (cm[i * ldc + j], want[i * c.n + j]);
                    prop_assert!((got - w).abs() <= tol * scale[i * c.n + j] + 1e-300,
                        "{isa:?} {c:?}: C[{i}][{j}] = {got}, want {w}");
                }
            }
        }
    }

    /// Arbitrary strides: A, B, C each row- or column-major, optionally walked backwards
    /// (negative strides from the last element), against matrixmultiply with the same strides.
    #[test]
    fn sgemm_strided_matches_matrixmultiply(
        m in dims(), n in dims(), k in dims(), layout in 0u8..64, alpha in scalar(),
        beta in scalar(), seed in any::<u64>(),
    ) {
        let strides = |rows: usize, cols: usize, bits: u8| -> (isize, isize, isize) {
            // (rs, cs, offset of element (0, 0))
            let (rs, cs) = if bits & 1 == 0 { (cols as isize, 1) } else { (1, rows as isize) };
            if bits & 2 == 0 {
                (rs, cs, 0)
            } else {
                let last = (rows.max(1) as isize - 1) * rs + (cols.max(1) as isize - 1) * cs;
                (-rs, -cs, last)
            }
        };
        let (rsa, csa, oa) = strides(m, k, layout & 3);
        let (rsb, csb, ob) = strides(k, n, (layout >> 2) & 3);
        let (rsc, csc, oc) = strides(m, n, (layout >> 4) & 3);
        let a = fill((m * k).max(1), seed);
        let b = fill((k * n).max(1), seed ^ 1);
        let c0 = fill((m * n).max(1), seed ^ 2);
        let mut want = c0.clone();
        // SAFETY: every stride/offset combination addresses exactly the allocated elements.
        unsafe {
            matrixmultiply::sgemm(m, k, n, alpha, a.as_ptr().offset(oa), rsa, csa,
                b.as_ptr().offset(ob), rsb, csb, beta, want.as_mut_ptr().offset(oc), rsc, csc);
        }
        let tol = 8.0 * (k as f32 + 2.0) * f32::EPSILON;
        for isa in common::test_isas() {
            let mut got = c0.clone();
            // SAFETY: as above.
            let ran = unsafe {
                sgemm_strided_with_isa(isa, m, k, n, alpha, a.as_ptr().offset(oa), rsa, csa,
                    b.as_ptr().offset(ob), rsb, csb, beta, got.as_mut_ptr().offset(oc), rsc, csc)
            };
            prop_assert!(ran);
            for (g, w) in got.iter().zip(&want) {
                // |a|, |b| < 1, so the magnitude scale is at most k + |c0|.
                prop_assert!((g - w).abs() <= tol * (k as f32 + 1.0), "{isa:?}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn public_entry_points_agree_with_forced_best_isa() {
    let (m, n, k) = (37, 45, 61);
    let a = fill(m * k, 1);
    let b = fill(k * n, 2);
    let mut c1 = vec![0.0; m * n];
    let mut c2 = vec![0.0; m * n];
    descent_kernels::sgemm(false, false, m, n, k, 1.5, &a, k, &b, n, 0.0, &mut c1, n);
    assert!(sgemm_with_isa(
        Isa::detect(),
        false,
        false,
        m,
        n,
        k,
        1.5,
        &a,
        k,
        &b,
        n,
        0.0,
        &mut c2,
        n
    ));
    assert_eq!(c1, c2);
}

#[test]
fn large_parallel_product_matches_reference() {
    // Big enough to cross the parallel threshold and several KC / MC blocks.
    let (m, n, k) = (301, 283, 611);
    let a = fill(m * k, 3);
    let b = fill(n * k, 4);
    let mut c = vec![f32::NAN; m * n];
    descent_kernels::sgemm(false, true, m, n, k, 1.0, &a, k, &b, k, 0.0, &mut c, n);
    assert_product((false, true), (m, k, n), &a, &b, &c, "");
}

/// Asserts that `c` (`m x n`, packed rows) is `op(A) op(B)` of the stored `a` and `b` (packed
/// rows, transposed per `t`) within the f32 error bound of a length-`k` dot product.
fn assert_product(
    t: (bool, bool),
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: &[f32],
    what: &str,
) {
    let (ta, tb) = t;
    let lda = if ta { m } else { k };
    let ldb = if tb { k } else { n };
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let (want, scale) = reference(
        ta,
        tb,
        m,
        n,
        k,
        1.0,
        &f(a),
        lda,
        &f(b),
        ldb,
        0.0,
        &vec![0.0; m * n],
        n,
    );
    let tol = 4.0 * (k as f64 + 2.0) * f32::EPSILON as f64;
    for (i, (g, w)) in c.iter().zip(&want).enumerate() {
        assert!(
            (*g as f64 - w).abs() <= tol * scale[i],
            "{what}C[{i}] = {g}, want {w}"
        );
    }
}

#[test]
#[should_panic(expected = "lda")]
fn short_leading_dimension_panics_naming_it() {
    let a = vec![0.0f32; 12];
    let b = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9];
    descent_kernels::sgemm(false, false, 3, 3, 4, 1.0, &a, 3, &b, 3, 0.0, &mut c, 3);
}

#[test]
#[should_panic(expected = "c.len()")]
fn short_output_panics_naming_it() {
    let a = vec![0.0f32; 12];
    let b = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 8];
    descent_kernels::sgemm(false, false, 3, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c, 3);
}

/// A stored matrix of a single row never uses its leading dimension, so any value is
/// accepted (the entry check only bounds it for two rows or more); the driver's layout
/// heuristics must not overflow on it (a debug build panicked on `lda = 2^62` and up).
#[test]
fn single_row_matrices_accept_any_leading_dimension() {
    let lds = [
        usize::MAX,
        1usize << 63,
        1usize << 62,
        isize::MAX as usize,
        0,
    ];
    // (transa, transb, m, n, k): each has a stored A, B or C of one row.
    let shapes = [
        (false, false, 1usize, 40usize, 7usize),
        (false, true, 1, 40, 7),
        (true, false, 13, 20, 1),
        (true, true, 13, 1, 1),
        (false, false, 30, 300, 1),
    ];
    for &(ta, tb, m, n, k) in &shapes {
        let (ar, ac) = if ta { (k, m) } else { (m, k) };
        let (br, bc) = if tb { (n, k) } else { (k, n) };
        let a: Vec<f32> = (0..ar * ac).map(|x| (x % 5) as f32 - 1.0).collect();
        let b: Vec<f32> = (0..br * bc).map(|x| (x % 3) as f32 + 0.5).collect();
        let mut want = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let av = if ta { a[p * ac + i] } else { a[i * ac + p] };
                    let bv = if tb { b[j * bc + p] } else { b[p * bc + j] };
                    want[i * n + j] += av * bv;
                }
            }
        }
        for isa in common::test_isas() {
            for &ld in &lds {
                let lda = if ar == 1 { ld } else { ac };
                let ldb = if br == 1 { ld } else { bc };
                let ldc = if m == 1 { ld } else { n };
                let mut c = vec![f32::NAN; m * n];
                assert!(sgemm_with_isa(
                    isa, ta, tb, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, &mut c, ldc
                ));
                for (x, y) in c.iter().zip(&want) {
                    assert!(
                        (x - y).abs() <= 1e-4 * y.abs().max(1.0),
                        "{isa:?} ta {ta} tb {tb} {m}x{n}x{k} ld {ld}: {x} vs {y}"
                    );
                }
            }
        }
    }
}

#[test]
fn alpha_zero_scales_by_beta_without_reading_a_or_b() {
    let a = vec![f32::NAN; 6];
    let b = vec![f32::NAN; 6];
    let mut c = vec![2.0f32; 4];
    descent_kernels::sgemm(false, false, 2, 2, 3, 0.0, &a, 3, &b, 2, 0.5, &mut c, 2);
    assert_eq!(c, vec![1.0; 4]);
    let mut c = vec![f32::NAN; 4];
    descent_kernels::sgemm(false, false, 2, 2, 0, 1.0, &[], 0, &[], 2, 0.0, &mut c, 2);
    assert_eq!(c, vec![0.0; 4]);
}

#[test]
fn b_at_every_alignment_matches_reference() {
    // A row-major B that would be read in place is packed instead when its rows are not
    // aligned to the vector loads (above 64 rows of C): start B at each float offset from a
    // 64-byte boundary, with rows whose stride keeps or alternates the alignment, on both
    // sides of the 64-row limit.
    for &(m, k, n) in &[(100, 70, 128), (100, 70, 100), (40, 70, 100)] {
        let a = fill(m * k, 11);
        let b_vals = fill(k * n, 12);
        for off in 0..16 {
            let mut store = vec![0.0f32; k * n + 32];
            let base = store.as_ptr() as usize;
            let start = (64 - base % 64) % 64 / 4 + off;
            store[start..start + k * n].copy_from_slice(&b_vals);
            let b = &store[start..start + k * n];
            let mut c = vec![f32::NAN; m * n];
            descent_kernels::sgemm(false, false, m, n, k, 1.0, &a, k, b, n, 0.0, &mut c, n);
            let what = format!("{m}x{k}x{n}, B {off} floats off 64 bytes: ");
            assert_product((false, false), (m, k, n), &a, &b_vals, &c, &what);
        }
    }
}

#[test]
fn medium_products_split_over_a_pool_match_reference() {
    // Between the parallel threshold and MC rows per thread, C is cut into column ranges
    // (m < n: each range re-reads A) or row ranges (each re-reads B); run both, transposed
    // and not, on pools of 2 and 3 threads whatever this machine's core count.
    // (Every shape is above the 2e7-flop parallel threshold.)
    let shapes = [
        (100, 1000, 300, true, false),
        (100, 300, 700, false, false),
        (40, 500, 900, false, true),
        (250, 400, 120, false, false),
        (250, 500, 90, true, true),
    ];
    products_on_pools(&shapes, &[2, 3]);
}

#[test]
fn large_products_sharing_a_packed_b_over_a_pool_match_reference() {
    // From MC rows per thread up, the workers share one packed B block per k block, each
    // panel packed by the first worker to need it while others may wait for it; those
    // blocks are deeper than the serial ones where A is packed or read along its rows. Depths
    // that take two and three such blocks (ragged), both transposes, a ragged last column
    // panel, and a column-major A read in place (which keeps the serial depth), on pools of
    // 2, 3 and 8 threads (8 workers on few cores: packers get preempted mid-panel).
    let shapes = [
        (480, 1100, 300, false, false),
        (450, 700, 520, true, false),
        (600, 530, 200, false, true),
        (440, 1030, 90, true, true),
        (1300, 530, 340, false, true),
    ];
    products_on_pools(&shapes, &[2, 3, 8]);
}

/// Runs each `(m, k, n, ta, tb)` product (beta = 0 over a NaN C) inside a rayon pool of each
/// size in `threads` and checks it against the reference.
fn products_on_pools(shapes: &[(usize, usize, usize, bool, bool)], threads: &[usize]) {
    for &t in threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap();
        for &(m, k, n, ta, tb) in shapes {
            let a = fill(m * k, (m + k) as u64);
            let b = fill(k * n, (k + n) as u64);
            let lda = if ta { m } else { k };
            let ldb = if tb { k } else { n };
            let mut c = vec![f32::NAN; m * n];
            pool.install(|| {
                descent_kernels::sgemm(ta, tb, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, &mut c, n)
            });
            let what = format!("{m}x{k}x{n} ta {ta} tb {tb}, {t} threads: ");
            assert_product((ta, tb), (m, k, n), &a, &b, &c, &what);
        }
    }
}

#[test]
fn concurrent_calls_from_rayon_workers_match_serial_results() {
    use rayon::prelude::*;
    // Many medium products at once, each itself above the parallel threshold, so workers
    // steal each other's jobs while holding their thread-local packing buffers.
    let shapes: Vec<(usize, usize, usize)> = (0..12)
        .map(|i| (200 + 7 * i, 230 + 5 * i, 220 + 3 * i))
        .collect();
    let run = |&(m, n, k): &(usize, usize, usize)| {
        let a = fill(m * k, m as u64);
        let b = fill(k * n, n as u64);
        let mut c = vec![0.0f32; m * n];
        descent_kernels::sgemm(false, false, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut c, n);
        c
    };
    let serial: Vec<Vec<f32>> = shapes.iter().map(run).collect();
    let parallel: Vec<Vec<f32>> = shapes.par_iter().map(run).collect();
    assert_eq!(serial, parallel);
}

/// The thin-rows paths with a depth that takes several (deeper) k blocks: C is then read and
/// written once per block through the strided tile store, with beta = 0 (NaN in C) and not.
#[test]
fn thin_rows_with_deep_k_take_several_blocks() {
    for (tb, n, k) in [
        (true, 512usize, 1500usize),
        (true, 100, 2600),
        (false, 512, 1500),
        (false, 128, 2600),
    ] {
        for (m, beta) in [(16usize, 0.0f32), (7, 0.5), (32, 1.0)] {
            let pad_b = if tb { 1 } else { (128 - n % 128) % 128 };
            let c = Case {
                ta: false,
                tb,
                m,
                n,
                k,
                pad: (2, pad_b, 3),
                alpha: 0.75,
                beta,
                seed: (m * n + k) as u64,
            };
            for isa in common::test_isas() {
                run_f32(isa, &c).unwrap();
            }
        }
    }
}

/// Without a product term (`alpha == 0` or `k == 0`) A and B are not read: NaN and infinite
/// operands, or a NaN alpha with `k == 0`, leave `C <- beta * C`, on every ISA, as the
/// core `Reference` does.
#[test]
fn no_product_term_reads_neither_operand_as_the_reference() {
    use descent_core::{Ops, Reference};
    let (m, n, k) = (7, 19, 5);
    let a = vec![f32::NAN; m * k];
    let b = vec![f32::INFINITY; k * n];
    let c0: Vec<f32> = (0..m * n).map(|i| i as f32 - 50.0).collect();
    for isa in common::test_isas() {
        for (kk, alpha, beta) in [(k, 0.0, 0.0), (k, 0.0, -1.5), (0, f32::NAN, 2.0)] {
            let mut want = c0.clone();
            Reference.gemm(
                false, false, m, n, kk, alpha, &a, k, &b, n, beta, &mut want, n,
            );
            let mut got = c0.clone();
            assert!(sgemm_with_isa(
                isa, false, false, m, n, kk, alpha, &a, k, &b, n, beta, &mut got, n
            ));
            assert_eq!(got, want, "{isa:?} k {kk} alpha {alpha} beta {beta}");
            assert!(got.iter().all(|v| v.is_finite()));
        }
    }
}
