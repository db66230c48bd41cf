//! AVX-512F microkernels: `f32` tile of 12 x 32 (24 zmm accumulators), `f64` tile of
//! 12 x 16 (24 zmm accumulators).
//!
//! Each k-step loads `NR / lanes = 2` vectors of the B micro-panel and, for each of the 12
//! rows, broadcasts one A value (`vbroadcastss`, a load-port op) into two FMAs: 24
//! independent FMAs per 14 loads. 24 chains cover the FMA latency (4 cycles) times the two
//! 512-bit FMA pipes (8 in flight) with room to spare, and 24 + 2 + 1 stays inside the 32
//! zmm registers, so nothing spills. The tile is 32 columns wide (C rows are contiguous);
//! a ragged last panel of at most 16 columns runs the 12 x 16 half kernel (also used alone
//! for `N <= 16`), and edge tiles use masked loads/stores of C.
//!
//! Every kernel comes in two A flavours (see [`super::loops::Ukr`]): packed / column-major
//! A, and row-major A read in place; B rows are read at any stride (packed or in place).
//! During long k loops the kernel prefetches its C tile, which a 4 KiB-multiple row stride
//! would otherwise make miss row by row at the final update.
//!
//! Blocking (AMD EPYC Zen 5 here: L1d 48 KiB, L2 1 MiB per core, L3 32 MiB shared):
//! * `KC = 256`: the B micro-panel `KC x NR` (32 KiB) fits L1 next to the streaming
//!   12-row A micro-panel (12 KiB); the C tile is loaded/stored once per 256 k-steps.
//!   (384 and 512 measured within noise of 256 at 1024^3 and 2048^3.)
//! * `MC = 480`: the packed A block `MC x KC` (480 KiB) sits in the 1 MiB L2 with room for
//!   the B micro-panel and C traffic.
//! * `NC = 4096`: the packed B block `KC x NC` (4 MiB) lives in L3.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::loops::{Half, Spec};
use super::transpose::transpose16_f32;

/// Rows of every AVX-512 tile.
const MR: usize = 12;
/// Columns of the `f32` tile (two zmm).
const NR32: usize = 32;
/// Columns of the `f64` tile (two zmm).
const NR64: usize = 16;
/// Shortest k loop for which the microkernel prefetches its C tile.
const PREFETCH_MIN_KC: usize = 64;

/// Blocking and kernel for `f32` (see the module docs for the sizes).
pub(crate) fn spec_f32() -> Spec<f32> {
    Spec {
        mr: MR,
        nr: NR32,
        kc: 256,
        kc_par: 256,
        vec_bytes: 64,
        mc: 480,
        nc: 4096,
        ukr: ukr_f32,
        ukr_direct_a: Some(ukr_f32_direct),
        half: Some(Half {
            nr: 16,
            ukr: ukr_f32n,
            ukr_direct_a: Some(ukr_f32n_direct),
        }),
        transpose16: Some(transpose16_f32),
        transpose_mr: None,
    }
}

/// Narrow `f32` variant for `N <= 16` (one zmm of columns, 12 x 16 tile, 12 accumulators):
/// the 32-wide tile would waste over half its lanes there (e.g. the 10-class output layer).
pub(crate) fn spec_f32_narrow() -> Spec<f32> {
    Spec {
        mr: MR,
        nr: 16,
        kc: 256,
        kc_par: 256,
        vec_bytes: 64,
        mc: 480,
        nc: 4096,
        ukr: ukr_f32n,
        ukr_direct_a: Some(ukr_f32n_direct),
        half: None,
        transpose16: Some(transpose16_f32),
        transpose_mr: None,
    }
}

/// Blocking and kernel for `f64`: same byte footprints as `f32` with half the lanes.
pub(crate) fn spec_f64() -> Spec<f64> {
    Spec {
        mr: MR,
        nr: NR64,
        kc: 256,
        kc_par: 256,
        vec_bytes: 64,
        mc: 240,
        nc: 2048,
        ukr: ukr_f64,
        ukr_direct_a: Some(ukr_f64_direct),
        half: None,
        transpose16: None,
        transpose_mr: None,
    }
}

macro_rules! avx512_kernel {
    ($name:ident, $dname:ident, $body:ident, $t:ty, $mr:expr, $nr:expr, $lanes:expr, $vt:ty, $zero:ident,
     $set1:ident, $fmadd:ident, $mul:ident, $loadu:ident, $storeu:ident, $mt:ty,
     $maskz_loadu:ident, $mask_storeu:ident) => {
        /// Shared body. A element `(i, p)` is at `a + i * sa + p` when `DIRECT` (rows of a
        /// row-major A read in place), else at `a + p * sa + i` (a packed micro-panel with
        /// `sa = MR`, or a column-major A read in place);
        /// B row `p` (NR contiguous values) at `b + p * rsb`.
        ///
        /// # Safety
        /// Requires AVX-512F. Every A/B element above for `i < MR`, `p < kc`, `j < NR` is valid
        /// for reads; `c + i * rsc + j` valid for reads and writes for `i < m_eff <= MR`,
        /// `j < n_eff <= NR`.
        #[target_feature(enable = "avx512f")]
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
            // Start pulling the C tile towards L1 now; it is written after the k loop. (With
            // a row stride that is a multiple of 4 KiB every C row maps to one L1 set and the
            // final update would otherwise wait on L2/L3 row by row: 2048^3 went from 173 to
            // 195 GFLOP/s.) Short loops leave no time for it to land, so they skip it.
            if kc >= PREFETCH_MIN_KC {
                for i in 0..m_eff.min($mr) {
                    for v in 0..NV {
                        let p = c.wrapping_offset(i as isize * rsc).wrapping_add(v * $lanes);
                        // A prefetch is a hint that never faults; the address is only computed
                        // (wrapping), not dereferenced.
                        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
                    }
                }
            }
            let mut acc: [[$vt; NV]; $mr] = [[$zero(); NV]; $mr];
            let mut ap = a;
            let mut bp = b;
            for _ in 0..kc {
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
                // Edge tile: masked loads/stores of the first `n_eff` columns, `m_eff` rows.
                let vb = $set1(beta);
                for (i, row) in acc.iter().enumerate().take(m_eff) {
                    for (v, x) in row.iter().enumerate() {
                        let lanes = n_eff.saturating_sub(v * $lanes).min($lanes);
                        if lanes == 0 {
                            break;
                        }
                        let mask: $mt = if lanes == $lanes {
                            !0
                        } else {
                            (1 << lanes) - 1
                        };
                        // SAFETY: the mask keeps every access to columns `< n_eff` of row
                        // `i < m_eff`, inside C by the contract; masked-off lanes are not
                        // accessed (no fault).
                        unsafe {
                            let cp = c.offset(i as isize * rsc).add(v * $lanes);
                            let r = if beta == 0.0 {
                                $mul(*x, va)
                            } else {
                                $fmadd($maskz_loadu(mask, cp), vb, $mul(*x, va))
                            };
                            $mask_storeu(cp, mask, r);
                        }
                    }
                }
            }
        }

        /// Microkernel on a packed or column-major A (see [`super::loops::Ukr`]).
        ///
        /// # Safety
        /// Requires AVX-512F; the contract of [`super::loops::Ukr`].
        #[target_feature(enable = "avx512f")]
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
        /// Requires AVX-512F; the contract of [`super::loops::Ukr`] with a full-height A.
        #[target_feature(enable = "avx512f")]
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

avx512_kernel!(
    ukr_f32,
    ukr_f32_direct,
    body_f32,
    f32,
    MR,
    NR32,
    16,
    __m512,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_mul_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    u16,
    _mm512_maskz_loadu_ps,
    _mm512_mask_storeu_ps
);

avx512_kernel!(
    ukr_f64,
    ukr_f64_direct,
    body_f64,
    f64,
    MR,
    NR64,
    8,
    __m512d,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_mul_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    u8,
    _mm512_maskz_loadu_pd,
    _mm512_mask_storeu_pd
);

avx512_kernel!(
    ukr_f32n,
    ukr_f32n_direct,
    body_f32n,
    f32,
    MR,
    16,
    16,
    __m512,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_mul_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    u16,
    _mm512_maskz_loadu_ps,
    _mm512_mask_storeu_ps
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::ukr_test::check_spec;

    #[test]
    fn kernels_match_scalar_on_full_and_edge_tiles() {
        if !super::super::dispatch::Isa::Avx512.is_available() {
            return;
        }
        check_spec(spec_f32());
        check_spec(spec_f32_narrow());
        check_spec(spec_f64());
    }
}
