//! 16 x 16 `f32` block transpositions (AVX-512, and AVX2 as four 8 x 8 blocks), the inner
//! step of packing a matrix whose packed layout is the transpose of its storage (B stored
//! `n x k` for `A * B^T`, or a row-major A packed k-major): 64 (AVX-512) or 96 (AVX2) shuffles
//! per 256 elements instead of 256 scalar moves.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

/// A 16 x 16 block transposition: `dst[p * ldd + i] = src[i * rs + p]` for `i, p < 16`.
pub(crate) type Transpose16<T> = unsafe fn(*const T, isize, *mut T, usize);

/// [`Transpose16`] for `f32` with AVX-512F (unpack 32/64-bit pairs within 128-bit lanes,
/// then two rounds of 128-bit lane shuffles).
///
/// # Safety
/// Requires AVX-512F; `src + i * rs + p` readable and `dst + p * ldd + i` writable for
/// `i, p < 16`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn transpose16_f32(src: *const f32, rs: isize, dst: *mut f32, ldd: usize) {
    let mut r = [_mm512_setzero_ps(); 16];
    for (i, x) in r.iter_mut().enumerate() {
        // SAFETY: row `i < 16` of the source block.
        *x = unsafe { _mm512_loadu_ps(src.offset(i as isize * rs)) };
    }
    // u[g][c], per 128-bit lane L: column 4L + c of rows 4g..4g+4.
    let mut u = [[_mm512_setzero_ps(); 4]; 4];
    for (g, ug) in u.iter_mut().enumerate() {
        let t0 = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]);
        let t1 = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
        let t2 = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
        let t3 = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
        let (t0, t1, t2, t3) = (
            _mm512_castps_pd(t0),
            _mm512_castps_pd(t1),
            _mm512_castps_pd(t2),
            _mm512_castps_pd(t3),
        );
        ug[0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        ug[1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        ug[2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        ug[3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    let [u0, u1, u2, u3] = u;
    for (c, (((a, b), cc), d)) in u0.into_iter().zip(u1).zip(u2).zip(u3).enumerate() {
        let v0 = _mm512_shuffle_f32x4::<0x44>(a, b);
        let w0 = _mm512_shuffle_f32x4::<0x44>(cc, d);
        let v1 = _mm512_shuffle_f32x4::<0xEE>(a, b);
        let w1 = _mm512_shuffle_f32x4::<0xEE>(cc, d);
        let cols = [
            (c, _mm512_shuffle_f32x4::<0x88>(v0, w0)),
            (4 + c, _mm512_shuffle_f32x4::<0xDD>(v0, w0)),
            (8 + c, _mm512_shuffle_f32x4::<0x88>(v1, w1)),
            (12 + c, _mm512_shuffle_f32x4::<0xDD>(v1, w1)),
        ];
        for (p, x) in cols {
            // SAFETY: column `p < 16` of the destination block.
            unsafe { _mm512_storeu_ps(dst.add(p * ldd), x) };
        }
    }
}

/// The columns of an 8 x 8 block held as eight row vectors: unpack 32/64-bit pairs within
/// 128-bit lanes, then exchange the lanes (24 shuffles).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
fn transpose8x8(r: [__m256; 8]) -> [__m256; 8] {
    // Within each 128-bit lane: t[2g + h] pairs rows 2g, 2g + 1 (h: low/high half).
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // u: columns c (and c + 4 in the high lane) of rows 0..4 and 4..8.
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// [`Transpose16`] for `f32` with AVX (four 8 x 8 transpositions: unpack 32/64-bit pairs
/// within 128-bit lanes, then exchange the lanes).
///
/// # Safety
/// Requires AVX; `src + i * rs + p` readable and `dst + p * ldd + i` writable for
/// `i, p < 16`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(crate) unsafe fn transpose16_f32_avx2(src: *const f32, rs: isize, dst: *mut f32, ldd: usize) {
    for bi in 0..2 {
        for bp in 0..2 {
            let s = src.wrapping_offset((bi * 8) as isize * rs + (bp * 8) as isize);
            let mut r = [_mm256_setzero_ps(); 8];
            for (i, x) in r.iter_mut().enumerate() {
                // SAFETY: row `bi * 8 + i < 16`, columns `bp * 8 .. bp * 8 + 8` of the block.
                *x = unsafe { _mm256_loadu_ps(s.wrapping_offset(i as isize * rs)) };
            }
            let cols = transpose8x8(r);
            let d = dst.wrapping_add((bp * 8) * ldd + bi * 8);
            for (p, x) in cols.into_iter().enumerate() {
                // SAFETY: destination row `bp * 8 + p < 16`, columns `bi * 8 .. bi * 8 + 8`.
                unsafe { _mm256_storeu_ps(d.wrapping_add(p * ldd), x) };
            }
        }
    }
}

/// An `MR x 8` block transposition, the inner step of packing a row-major A into k-major
/// micro-panels: `dst[p * MR + i] = src[i * rs + p]` for `i < MR`, `p < 8`, writing exactly
/// those `8 MR` consecutive destination elements.
pub(crate) type TransposeMr<T> = unsafe fn(*const T, isize, *mut T);

/// [`TransposeMr`] for `f32` with `MR = 6` (the AVX2 tile): the six rows go through the
/// 8 x 8 transposition (rows 6 and 7 are don't-cares), and the
/// eight columns are stored 6 floats apart in increasing order, each 8-lane store's last two
/// lanes overwritten by the next one; the last column is stored as 4 + 2 lanes so nothing
/// past the block is written. 6 loads, about 20 shuffles and 9 stores per 48 elements instead of
/// 48 scalar moves.
///
/// # Safety
/// Requires AVX; `src + i * rs + p` readable for `i < 6`, `p < 8`, and `dst .. dst + 48`
/// writable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(crate) unsafe fn transpose6x8_f32_avx(src: *const f32, rs: isize, dst: *mut f32) {
    let mut r = [_mm256_setzero_ps(); 6];
    for (i, x) in r.iter_mut().enumerate() {
        // SAFETY: row `i < 6`, columns `0..8` of the block.
        *x = unsafe { _mm256_loadu_ps(src.wrapping_offset(i as isize * rs)) };
    }
    // Rows 4 and 5 stand in for the absent rows 6 and 7: their lanes land in the positions
    // the next store overwrites, or are not stored.
    let [c0, c1, c2, c3, c4, c5, c6, last] =
        transpose8x8([r[0], r[1], r[2], r[3], r[4], r[5], r[4], r[5]]);
    let cols = [c0, c1, c2, c3, c4, c5, c6];
    for (p, x) in cols.into_iter().enumerate() {
        // SAFETY: elements `6p .. 6p + 8` with `p < 7`: inside `dst .. dst + 48`.
        unsafe { _mm256_storeu_ps(dst.add(6 * p), x) };
    }
    // SAFETY: elements `42 .. 48`: a 4-lane and a 2-lane store.
    unsafe {
        _mm_storeu_ps(dst.add(42), _mm256_castps256_ps128(last));
        // (`_mm_storel_epi64`: an unaligned 64-bit store; `_mm_store_sd` through an `f64`
        // pointer would need 8-byte alignment.)
        _mm_storel_epi64(
            dst.add(46) as *mut __m128i,
            _mm_castps_si128(_mm256_extractf128_ps::<1>(last)),
        );
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// Runs `t` on a 16 x 16 block with padded strides; checks the transpose and that the
    /// destination's padding is untouched.
    fn check(t: Transpose16<f32>) {
        let rs = 19usize;
        let src: Vec<f32> = (0..16 * rs).map(|x| x as f32).collect();
        let ldd = 20usize;
        let mut dst = vec![-1.0f32; 16 * ldd];
        // SAFETY: the callers checked the ISA; both blocks fit their buffers.
        unsafe { t(src.as_ptr(), rs as isize, dst.as_mut_ptr(), ldd) };
        for p in 0..16 {
            for i in 0..16 {
                assert_eq!(dst[p * ldd + i], src[i * rs + p], "p {p}, i {i}");
            }
            for i in 16..ldd {
                assert_eq!(dst[p * ldd + i], -1.0);
            }
        }
    }

    #[test]
    fn avx_transposes_a_6x8_block_and_writes_nothing_else() {
        if !std::arch::is_x86_feature_detected!("avx") {
            return;
        }
        let rs = 11usize;
        let src: Vec<f32> = (0..6 * rs).map(|x| x as f32).collect();
        // A 32-byte aligned buffer, the block at an even and at an odd float offset (any f32
        // pointer is allowed: the last 64-bit store is then not 8-byte aligned).
        #[repr(C, align(32))]
        struct Buf([f32; 48 + 16]);
        for off in [8usize, 9] {
            let mut dst = Buf([-1.0f32; 48 + 16]);
            // SAFETY: AVX checked; 6 rows of 8 readable, 48 writable from offset `off`.
            unsafe { transpose6x8_f32_avx(src.as_ptr(), rs as isize, dst.0.as_mut_ptr().add(off)) };
            for (j, &x) in dst.0.iter().enumerate() {
                if (off..off + 48).contains(&j) {
                    let (p, i) = ((j - off) / 6, (j - off) % 6);
                    assert_eq!(x, src[i * rs + p], "p {p}, i {i}");
                } else {
                    assert_eq!(x, -1.0, "written outside the block at {j}");
                }
            }
        }
    }

    #[test]
    fn avx2_transposes_a_16x16_block() {
        if std::arch::is_x86_feature_detected!("avx") {
            check(transpose16_f32_avx2);
        }
    }

    #[test]
    fn transposes_a_16x16_block() {
        if std::arch::is_x86_feature_detected!("avx512f") {
            check(transpose16_f32);
        }
    }
}
