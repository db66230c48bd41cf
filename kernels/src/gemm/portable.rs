//! Portable microkernels on the `wide` SIMD types: `f32` tile of 6 x 8 (`f32x8`), `f64`
//! tile of 6 x 4 (`f64x4`), for CPUs without AVX2/AVX-512 and for non-x86 targets.
//!
//! Six accumulator vectors plus one B vector and one broadcast fit 16 SSE/NEON registers even
//! when a `wide` vector is two hardware registers (baseline x86-64).
//!
//! Blocking: `KC = 256` (B micro-panel 8 KiB, A micro-panel 6 KiB: L1), `MC = 96` (A block
//! 96 KiB: L2 of any machine), `NC = 4096` (B block 4 MiB: L3).

use wide::{f32x8, f64x4};

use super::elem::store_tile;
use super::loops::Spec;

const MR: usize = 6;

/// Blocking and kernel for `f32`.
pub(crate) fn spec_f32() -> Spec<f32> {
    Spec {
        mr: MR,
        nr: 8,
        kc: 256,
        kc_par: 256,
        vec_bytes: 32,
        mc: 96,
        nc: 4096,
        ukr: ukr_f32,
        ukr_direct_a: None,
        half: None,
        transpose16: None,
        transpose_mr: None,
    }
}

/// Blocking and kernel for `f64`.
pub(crate) fn spec_f64() -> Spec<f64> {
    Spec {
        mr: MR,
        nr: 4,
        kc: 256,
        kc_par: 256,
        vec_bytes: 32,
        mc: 96,
        nc: 2048,
        ukr: ukr_f64,
        ukr_direct_a: None,
        half: None,
        transpose16: None,
        transpose_mr: None,
    }
}

macro_rules! portable_kernel {
    ($name:ident, $t:ty, $vt:ty, $lanes:expr) => {
        /// Microkernel: `C[0..m_eff, 0..n_eff] <- alpha * A_panel * B_panel + beta * C`
        /// over `kc` k-steps (`beta == 0` ignores C).
        ///
        /// # Safety
        /// A element `(i, p)` is at `a + p * sa + i` (packed: `sa = MR`), B row `p` is `NR` values at `b + p * rsb`,
        /// and
        /// `c + i * rsc + j` is valid for reads and writes for `i < m_eff`, `j < n_eff`.
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
            let mut acc = [<$vt>::splat(0.0); MR];
            let mut ap = a;
            let mut bp = b;
            for _ in 0..kc {
                // SAFETY: `bp` walks the packed `kc x NR` panel (NR = lanes).
                let bv =
                    <$vt>::from(unsafe { core::ptr::read_unaligned(bp as *const [$t; $lanes]) });
                for (i, x) in acc.iter_mut().enumerate() {
                    // SAFETY: `ap` walks the packed `MR x kc` panel, `i < MR`.
                    let ai = <$vt>::splat(unsafe { *ap.add(i) });
                    *x = ai.mul_add(bv, *x);
                }
                // One k-step forward. Wrapping: after the last step an operand read in place
                // (a row-major B, a column-major A) can point a whole stride past its
                // allocation, which in-bounds `offset` must not; it is not dereferenced.
                ap = ap.wrapping_offset(sa);
                bp = bp.wrapping_offset(rsb);
            }
            let va = <$vt>::splat(alpha);
            let mut t = [0.0 as $t; MR * $lanes];
            for (i, x) in acc.iter().enumerate() {
                t[i * $lanes..(i + 1) * $lanes].copy_from_slice(&(*x * va).to_array());
            }
            // SAFETY: `t` is the full tile; C is valid on `m_eff x n_eff` by contract.
            unsafe { store_tile(t.as_ptr(), $lanes, m_eff, n_eff, beta, c, rsc, 1) };
        }
    };
}

portable_kernel!(ukr_f32, f32, f32x8, 8);
portable_kernel!(ukr_f64, f64, f64x4, 4);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::ukr_test::check_spec;

    #[test]
    fn kernels_match_scalar_on_full_and_edge_tiles() {
        check_spec(spec_f32());
        check_spec(spec_f64());
    }
}
