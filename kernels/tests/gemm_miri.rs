//! Small products through the paths that read A or B in place with a row stride larger than
//! the row: after its last k-step a microkernel must not form a pointer past the operand's
//! allocation (undefined behaviour even if never dereferenced). Quick natively; meant for
//! Miri, which runs the portable kernels (and the AVX2 ones with
//! `RUSTFLAGS="-Ctarget-feature=+avx2,+fma"`):
//! `cargo +nightly miri test -p descent-kernels --test gemm_miri`.

mod common;

use descent_kernels::gemm::{dgemm_with_isa, sgemm_with_isa};

/// `op(A) * op(B)` for all-ones operands is `k` everywhere.
fn check_f32(transa: bool, m: usize, n: usize, k: usize, lda: usize, ldb: usize) {
    let a_rows = if transa { k } else { m };
    let a_cols = if transa { m } else { k };
    // Exactly as long as the stored matrices need: nothing past the last element.
    let a = vec![1.0f32; (a_rows - 1) * lda + a_cols];
    let b = vec![1.0f32; (k - 1) * ldb + n];
    for isa in common::test_isas() {
        let mut c = vec![f32::NAN; m * n];
        assert!(sgemm_with_isa(
            isa, transa, false, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, &mut c, n
        ));
        assert!(c.iter().all(|&x| x == k as f32), "{isa:?}");
    }
}

#[test]
fn row_major_b_read_in_place_with_a_long_row_stride() {
    check_f32(false, 6, 8, 2, 2, 100);
    check_f32(false, 12, 32, 3, 3, 45);
}

#[test]
fn column_major_a_read_in_place_with_a_long_row_stride() {
    check_f32(true, 12, 8, 3, 50, 8);
}

#[test]
fn f64_row_major_b_read_in_place_with_a_long_row_stride() {
    let (m, n, k, ldb) = (6usize, 8usize, 2usize, 50usize);
    let a = vec![1.0f64; m * k];
    let b = vec![1.0f64; (k - 1) * ldb + n];
    for isa in common::test_isas() {
        let mut c = vec![f64::NAN; m * n];
        assert!(dgemm_with_isa(
            isa, false, false, m, n, k, 1.0, &a, k, &b, ldb, 0.0, &mut c, n
        ));
        assert!(c.iter().all(|&x| x == k as f64), "{isa:?}");
    }
}

#[test]
fn edge_tiles_stored_at_every_float_alignment() {
    // Ragged last columns (3 and 7 of a tile) in rows 3 floats apart: the kernels' partial
    // row stores land at addresses of every 4-byte alignment.
    for (m, n) in [(7usize, 3usize), (5, 7)] {
        let k = 4;
        let a = vec![1.0f32; m * k];
        let b = vec![1.0f32; k * n];
        for isa in common::test_isas() {
            let mut c = vec![f32::NAN; m * n];
            assert!(sgemm_with_isa(
                isa, false, false, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut c, n
            ));
            assert!(c.iter().all(|&x| x == k as f32), "{isa:?}");
        }
    }
}
