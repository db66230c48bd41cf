//! AVX2 + FMA microkernels: `f32` tile of 6 x 16, `f64` tile of 6 x 8 (12 ymm accumulators
//! each).
//!
//! Each k-step loads the two B vectors of the packed micro-panel and broadcasts six packed A
//! values into FMAs: 12 independent chains (enough for FMA latency 4 x 2 pipes), and
//! 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm registers without spills.
//! A ragged last column panel of at most 8 columns runs a 6 x 8 half kernel (alternating A/B
//! criterion runs on the Zen 3 test machine: n = 100 shapes +9 to +17%). The k loop is
//! unrolled by four, and the C tile is prefetched before it (same method: 512x784x512-tB +10
//! to +45%, most other shapes +5 to +30%, within the machine's noise elsewhere), unless the
//! k block is shallower than 32 steps (the stores come too soon for it to help: k = 10 and
//! 16 products +3 to +8% without it).
//! Edge tiles are stored straight from the registers (rows past `m_eff` skipped, the last
//! partial vector of a row by 128/64/32-bit stores), not through a scratch tile and a
//! scalar copy (with the packing changes of the same day: 100x10x100 +13%, 1000x10x100
//! +12%, 100x100x10-tB +10%; method in BENCHMARKS.md).
//!
//! Blocking (L1d 48 KiB, L2 1 MiB, L3 32 MiB on the development machine; typical AVX2-only
//! parts have 32 KiB L1d and 256 KiB-1 MiB L2, so the sizes stay conservative):
//! * `KC = 256`: B micro-panel `KC x NR` = 16 KiB, A micro-panel 6 KiB: both in L1.
//! * `KC_PAR = 1024` (`f32`; 512 for the unmeasured `f64`) when the workers share a packed
//!   B block: fewer k blocks, so fewer joins, although the B micro-panel then outgrows L1
//!   (2 threads on Zen 3: 512 against 256, 512^3 +7%, 1000x784x100-tB +15%; then 1024
//!   against 512, with eight row blocks per thread: 400x784x128-tB +9%, 1000x784x100-tB +7
//!   and +8%, 1000x1000x100 +6%, 512x784x512-tB +4%, 512x1000x512 +3%, 1024^3 to 2048^3
//!   within +-1.5%). The A block a worker keeps in L2 is then up to 64 rows x 1024 = 256 KiB.
//!   On 1 thread 512 read -5% to +3%, so serial products keep 256.
//! * `MC = 144`: packed A block `MC x KC` = 144 KiB, in L2 on any AVX2 part.
//! * `NC = 4096`: packed B block `KC x NC` = 4 MiB, in L3.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::loops::{Half, Spec};
use super::transpose::{transpose16_f32_avx2, transpose6x8_f32_avx};

const MR: usize = 6;
/// Shallowest k block for which the microkernel prefetches its C tile.
const PREFETCH_C_MIN_KC: usize = 32;
const NR32: usize = 16;
const NR64: usize = 8;

/// Blocking and kernel for `f32` (see the module docs for the sizes).
pub(crate) fn spec_f32() -> Spec<f32> {
    Spec {
        mr: MR,
        nr: NR32,
        kc: 256,
        kc_par: 1024,
        vec_bytes: 32,
        mc: 144,
        nc: 4096,
        ukr: ukr_f32,
        ukr_direct_a: Some(ukr_f32_direct),
        half: Some(Half {
            nr: NR32 / 2,
            ukr: ukr_f32h,
            ukr_direct_a: Some(ukr_f32h_direct),
        }),
        transpose16: Some(transpose16_f32_avx2),
        transpose_mr: Some(transpose6x8_f32_avx),
    }
}

/// Blocking and kernel for `f64`: same byte footprints as `f32` with half the lanes.
pub(crate) fn spec_f64() -> Spec<f64> {
    Spec {
        mr: MR,
        nr: NR64,
        kc: 256,
        kc_par: 512,
        vec_bytes: 32,
        mc: 72,
        nc: 2048,
        ukr: ukr_f64,
        ukr_direct_a: Some(ukr_f64_direct),
        half: None,
        transpose16: None,
        transpose_mr: None,
    }
}

/// Lane mask selecting the first `rem` (`< 8`) of the eight `f32` lanes.
#[target_feature(enable = "avx2")]
#[inline]
fn mask_f32(rem: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(rem as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// Lane mask selecting the first `rem` (`< 4`) of the four `f64` lanes: the `f32` mask of
/// `2 rem` lanes (both halves of each selected `f64` lane set).
#[target_feature(enable = "avx2")]
#[inline]
fn mask_f64(rem: usize) -> __m256i {
    mask_f32(2 * rem)
}

/// Stores the first `rem` (`< 8`) lanes of `r` at `p` with 128-, 64- and 32-bit stores
/// (`vmaskmovps` stores are slow on AMD parts: 3-6% slower on the n = 10 shapes, Zen 3).
///
/// # Safety
/// Requires AVX; `p` valid for `rem` writes.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store_part_f32(p: *mut f32, r: __m256, rem: usize) {
    let (mut p, mut rem) = (p, rem);
    let mut lo = _mm256_castps256_ps128(r);
    // SAFETY: each store writes lanes below `rem` only, at `p` advanced past those written.
    unsafe {
        if rem >= 4 {
            _mm_storeu_ps(p, lo);
            lo = _mm256_extractf128_ps::<1>(r);
            p = p.add(4);
            rem -= 4;
        }
        if rem >= 2 {
            // 64-bit store of two lanes: `_mm_storel_epi64` writes unaligned, where
            // `_mm_store_sd` through an `f64` pointer would need 8-byte alignment.
            _mm_storel_epi64(p as *mut __m128i, _mm_castps_si128(lo));
            lo = _mm_movehl_ps(lo, lo);
            p = p.add(2);
            rem -= 2;
        }
        if rem >= 1 {
            _mm_store_ss(p, lo);
        }
    }
}

/// Stores the first `rem` (`< 4`) lanes of `r` at `p`: [`store_part_f32`] of the same bits
/// as `2 rem` `f32` lanes (an even count, so only its 128- and 64-bit stores run).
///
/// # Safety
/// Requires AVX; `p` valid for `rem` writes.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store_part_f64(p: *mut f64, r: __m256d, rem: usize) {
    // SAFETY: `2 rem` f32 values are the same `8 rem` bytes at `p`.
    unsafe { store_part_f32(p as *mut f32, _mm256_castpd_ps(r), 2 * rem) }
}

macro_rules! avx2_kernel {
    ($name:ident, $dname:ident, $body:ident, $t:ty, $mr:expr, $nr:expr, $lanes:expr, $vt:ty, $zero:ident,
     $set1:ident, $fmadd:ident, $mul:ident, $loadu:ident, $storeu:ident, $maskload:ident,
     $store_part:ident, $mask:ident) => {
        /// Shared body. A element `(i, p)` is at `a + i * sa + p` when `DIRECT` (rows of a
        /// row-major A read in place), else at `a + p * sa + i` (a packed micro-panel with
        /// `sa = MR`, or a column-major A read in place);
        /// B row `p` (NR contiguous values) at `b + p * rsb`.
        ///
        /// # Safety
        /// Requires AVX2 and FMA. Every A/B element above for `i < MR`, `p < kc`, `j < NR` is valid
        /// for reads; `c + i * rsc + j` valid for reads and writes for `i < m_eff <= MR`,
        /// `j < n_eff <= NR`.
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $body<const DIRECT: bool>(
            kc: usize,
            alpha: $t,
            a: *const $t,
            sa: isize,
            b: *const $t,
            rsb: isize,
            beta: $t,
            c: *mut $t,
            rsc: isize,
            m_eff: usize,
            n_eff: usize,
        ) {
            const NV: usize = $nr / $lanes;
            // Ask for the C tile now: it is only touched after the k loop, and a cold tile
            // would otherwise stall the stores of every call. Not for a shallow block: fewer
            // than 32 k-steps (about 200 cycles) store before the lines could arrive, and
            // the hints only add to the load queue (k = 10 and 16 products +3 to +8%
            // without them, Zen 3; method in BENCHMARKS.md).
            for i in 0..if kc >= PREFETCH_C_MIN_KC { m_eff } else { 0 } {
                let row = c.wrapping_offset(i as isize * rsc);
                // A hint that never faults (a safe intrinsic): first and last element of the
                // tile row.
                _mm_prefetch::<_MM_HINT_T0>(row as *const i8);
                _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add($nr - 1) as *const i8);
            }
            let mut acc: [[$vt; NV]; $mr] = [[$zero(); NV]; $mr];
            let mut ap = a;
            let mut bp = b;
            // One k-step: two B vectors, MR broadcasts, MR x NV FMAs.
            macro_rules! step {
                () => {{
                    let mut bv: [$vt; NV] = [$zero(); NV];
                    for (v, bvv) in bv.iter_mut().enumerate() {
                        // SAFETY: B row `p`, vector `v < NV`: valid by the contract.
                        *bvv = unsafe { $loadu(bp.add(v * $lanes)) };
                    }
                    for (i, row) in acc.iter_mut().enumerate() {
                        // SAFETY: A element `(i, p)`, `i < MR`: valid by the contract.
                        let ai = $set1(unsafe {
                            if DIRECT {
                                *ap.offset(i as isize * sa)
                            } else {
                                *ap.add(i)
                            }
                        });
                        for (x, bvv) in row.iter_mut().zip(bv.iter()) {
                            *x = $fmadd(ai, *bvv, *x);
                        }
                    }
                    // One k-step forward. Wrapping: after the last step an operand read in place (a
                    // row-major B, a column-major A) can point a whole stride past its allocation,
                    // which in-bounds `offset` must not; it is not dereferenced.
                    ap = if DIRECT {
                        ap.wrapping_add(1)
                    } else {
                        ap.wrapping_offset(sa)
                    };
                    bp = bp.wrapping_offset(rsb);
                }};
            }
            // Unrolled by four (fewer loop-control uops between the FMAs).
            for _ in 0..kc / 4 {
                step!();
                step!();
                step!();
                step!();
            }
            for _ in 0..kc % 4 {
                step!();
            }
            let va = $set1(alpha);
            if m_eff == $mr && n_eff == $nr {
                if beta == 0.0 {
                    for (i, row) in acc.iter().enumerate() {
                        for (v, x) in row.iter().enumerate() {
                            // SAFETY: full tile, in bounds by the contract.
                            unsafe {
                                $storeu(c.offset(i as isize * rsc).add(v * $lanes), $mul(*x, va))
                            };
                        }
                    }
                } else {
                    let vb = $set1(beta);
                    for (i, row) in acc.iter().enumerate() {
                        for (v, x) in row.iter().enumerate() {
                            // SAFETY: full tile, in bounds by the contract.
                            unsafe {
                                let cp = c.offset(i as isize * rsc).add(v * $lanes);
                                $storeu(cp, $fmadd($loadu(cp), vb, $mul(*x, va)));
                            }
                        }
                    }
                }
            } else {
                // Edge tile, stored from the registers: rows from `m_eff` on are skipped, the
                // vector holding the last `n_eff` column is read (beta != 0) under a lane
                // mask, whose off lanes cannot fault, and stored by `store_part`.
                let vb = $set1(beta);
                for (i, row) in acc.iter().enumerate() {
                    if i >= m_eff {
                        break;
                    }
                    for (v, x) in row.iter().enumerate() {
                        let col = v * $lanes;
                        if col >= n_eff {
                            break;
                        }
                        let r = $mul(*x, va);
                        // SAFETY: row `i < m_eff`, columns `col..min(col + lanes, n_eff)`:
                        // in bounds by the contract (the partial vector is read under a mask
                        // and stored lane-exact).
                        unsafe {
                            let cp = c.offset(i as isize * rsc).add(col);
                            if col + $lanes <= n_eff {
                                let r = if beta == 0.0 {
                                    r
                                } else {
                                    $fmadd($loadu(cp), vb, r)
                                };
                                $storeu(cp, r);
                            } else {
                                let mask = $mask(n_eff - col);
                                let r = if beta == 0.0 {
                                    r
                                } else {
                                    $fmadd($maskload(cp, mask), vb, r)
                                };
                                $store_part(cp, r, n_eff - col);
                            }
                        }
                    }
                }
            }
        }

        /// Microkernel on a packed or column-major A (see [`super::loops::Ukr`]).
        ///
        /// # Safety
        /// Requires AVX2 and FMA; the contract of [`super::loops::Ukr`].
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(
            kc: usize,
            alpha: $t,
            a: *const $t,
            sa: isize,
            b: *const $t,
            rsb: isize,
            beta: $t,
            c: *mut $t,
            rsc: isize,
            m_eff: usize,
            n_eff: usize,
        ) {
            // SAFETY: forwarded contract, packed A.
            unsafe { $body::<false>(kc, alpha, a, sa, b, rsb, beta, c, rsc, m_eff, n_eff) }
        }

        /// Direct-A microkernel: A rows read in place (`(i, p)` at `a + i * sa + p`), all
        /// `MR` rows valid.
        ///
        /// # Safety
        /// Requires AVX2 and FMA; the contract of [`super::loops::Ukr`] with a full-height A.
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $dname(
            kc: usize,
            alpha: $t,
            a: *const $t,
            sa: isize,
            b: *const $t,
            rsb: isize,
            beta: $t,
            c: *mut $t,
            rsc: isize,
            m_eff: usize,
            n_eff: usize,
        ) {
            // SAFETY: forwarded contract, direct A.
            unsafe { $body::<true>(kc, alpha, a, sa, b, rsb, beta, c, rsc, m_eff, n_eff) }
        }
    };
}

avx2_kernel!(
    ukr_f32,
    ukr_f32_direct,
    body_f32,
    f32,
    MR,
    NR32,
    8,
    __m256,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_mul_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_maskload_ps,
    store_part_f32,
    mask_f32
);

// Half width (6 x 8, six accumulators) for a ragged last column panel of at most 8 columns
// (n = 100 leaves 4): half the wasted lanes of the full tile there.
avx2_kernel!(
    ukr_f32h,
    ukr_f32h_direct,
    body_f32h,
    f32,
    MR,
    NR32 / 2,
    8,
    __m256,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_mul_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_maskload_ps,
    store_part_f32,
    mask_f32
);

avx2_kernel!(
    ukr_f64,
    ukr_f64_direct,
    body_f64,
    f64,
    MR,
    NR64,
    4,
    __m256d,
    _mm256_setzero_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd,
    _mm256_mul_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_maskload_pd,
    store_part_f64,
    mask_f64
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::ukr_test::check_spec;

    #[test]
    fn kernels_match_scalar_on_full_and_edge_tiles() {
        if !super::super::dispatch::Isa::Avx2Fma.is_available() {
            return;
        }
        check_spec(spec_f32());
        check_spec(spec_f64());
    }
}
