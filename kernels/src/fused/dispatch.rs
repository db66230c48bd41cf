//! Runtime selection of the instruction set a fused loop is compiled for, and the chunking
//! rule for rayon.

use std::sync::atomic::{AtomicU8, Ordering};

/// Below this many elements a fused update runs on the calling thread only (no rayon
/// overhead); above it, chunks of at least this size go to the pool.
pub const PAR_THRESHOLD: usize = 1 << 16;

/// The vector instruction set fused loops are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimdLevel {
    /// AVX-512F (16 f32 lanes).
    Avx512,
    /// AVX2 + FMA (8 lanes).
    Avx2,
    /// The build's baseline (SSE2 on x86-64, or the target's default).
    Baseline,
}

static LEVEL: AtomicU8 = AtomicU8::new(0);

/// The best level this CPU supports (detected once, then cached).
pub fn simd_level() -> SimdLevel {
    match LEVEL.load(Ordering::Relaxed) {
        1 => SimdLevel::Avx512,
        2 => SimdLevel::Avx2,
        3 => SimdLevel::Baseline,
        _ => {
            let l = detect();
            let code = match l {
                SimdLevel::Avx512 => 1,
                SimdLevel::Avx2 => 2,
                SimdLevel::Baseline => 3,
            };
            LEVEL.store(code, Ordering::Relaxed);
            l
        }
    }
}

fn detect() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            return SimdLevel::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Baseline
}

/// Run `f` compiled for `level` (which must be supported: pass [`simd_level`]'s answer or a
/// lower level): `f` is called from a function carrying the level's target features, and its
/// element loops are vectorized for them only if `f` is inlined there. Mark the closure
/// `#[inline(always)]` (`with_simd(level, #[inline(always)] || ...)`): it is called from three
/// places, so LLVM may keep it out of line, compiled for the build's baseline (measured: the
/// fused RMSprop ran its baseline SSE loop that way, 1.85 against 0.72 ms per step).
#[inline(always)]
pub(crate) fn with_simd<R>(level: SimdLevel, f: impl FnOnce() -> R) -> R {
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => {
            // SAFETY: callers pass a level no higher than `simd_level()`, which detected
            // avx512f, avx512vl, avx2 and fma on this CPU at run time.
            unsafe { run_avx512(f) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => {
            // SAFETY: as above, avx2 and fma were detected at run time.
            unsafe { run_avx2(f) }
        }
        _ => f(),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
#[inline]
unsafe fn run_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn run_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Chunk length for splitting `n` elements over the current rayon pool: `n` itself below
/// [`PAR_THRESHOLD`] or with one thread, else about four chunks per thread, rounded up to a
/// multiple of 64 elements (whole cache lines) and at least `PAR_THRESHOLD / 4`.
pub(crate) fn chunk_len(n: usize) -> usize {
    let threads = rayon::current_num_threads();
    if n < PAR_THRESHOLD || threads <= 1 {
        return n.max(1);
    }
    let c = n.div_ceil(4 * threads).max(PAR_THRESHOLD / 4);
    c.div_ceil(64) * 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_rules() {
        assert_eq!(chunk_len(0), 1);
        assert_eq!(chunk_len(1000), 1000);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        pool.install(|| {
            let c = chunk_len(10_000_000);
            assert_eq!(c % 64, 0);
            assert!(c >= PAR_THRESHOLD / 4 && c * 16 >= 10_000_000);
            assert_eq!(chunk_len(PAR_THRESHOLD - 1), PAR_THRESHOLD - 1);
        });
        let l = simd_level();
        assert_eq!(
            with_simd(
                l,
                #[inline(always)]
                || 2 + 2
            ),
            4
        );
    }
}
