//! Runtime selection of the microkernel instruction set, detected once and cached.
//!
//! The default build targets baseline x86-64 (SSE2), so the AVX-512 and AVX2+FMA kernels are
//! compiled with `#[target_feature]` and chosen here at run time with
//! `is_x86_feature_detected!`; the answer is cached in an atomic so the check costs one
//! relaxed load per call.

use core::sync::atomic::{AtomicU8, Ordering};

/// The microkernel families the GEMM can run with.
///
/// Exposed (hidden from the docs) so tests can force each path on a machine that supports a
/// better one; normal callers never need it: [`super::sgemm`] picks [`Isa::detect`].
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F register-tiled kernels (x86-64 only).
    Avx512,
    /// AVX2 + FMA register-tiled kernels (x86-64 only).
    Avx2Fma,
    /// Portable kernels on the `wide` SIMD types (any target).
    Portable,
}

const UNKNOWN: u8 = 0;
static DETECTED: AtomicU8 = AtomicU8::new(UNKNOWN);

impl Isa {
    fn code(self) -> u8 {
        match self {
            Isa::Avx512 => 1,
            Isa::Avx2Fma => 2,
            Isa::Portable => 3,
        }
    }

    fn from_code(c: u8) -> Isa {
        match c {
            1 => Isa::Avx512,
            2 => Isa::Avx2Fma,
            _ => Isa::Portable,
        }
    }

    /// Whether this CPU can run the kernels of `self`.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The best available kernel family, detected on first use and cached.
    pub fn detect() -> Isa {
        let c = DETECTED.load(Ordering::Relaxed);
        if c != UNKNOWN {
            return Isa::from_code(c);
        }
        let best = [Isa::Avx512, Isa::Avx2Fma, Isa::Portable]
            .into_iter()
            .find(|isa| isa.is_available())
            .unwrap_or(Isa::Portable);
        DETECTED.store(best.code(), Ordering::Relaxed);
        best
    }

    /// Every kernel family this CPU can run, best first.
    pub fn available() -> Vec<Isa> {
        [Isa::Avx512, Isa::Avx2Fma, Isa::Portable]
            .into_iter()
            .filter(|isa| isa.is_available())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_is_available_and_cached() {
        let a = Isa::detect();
        assert!(a.is_available());
        assert_eq!(Isa::detect(), a);
        assert!(Isa::available().contains(&Isa::Portable));
        assert_eq!(Isa::available()[0], a);
    }
}
