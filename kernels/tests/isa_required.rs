//! With `DESCENT_TEST_ISAS` set (see `common`), checks that this CPU runs every named kernel
//! family and that the fused loops run at least as wide: the gate that makes a run meant to
//! cover AVX-512 (`.ci/avx512-emu.sh`) fail when the CPU it runs on lacks it, whichever tests
//! it runs. Unset, there is nothing to require.

mod common;

use common::{parse_isa, required_isas};
use descent_kernels::fused::{simd_level, SimdLevel};
use descent_kernels::gemm::Isa;

/// The fused loops' level that goes with a kernel family, and its width rank.
fn fused_rank(isa: Isa) -> u8 {
    match isa {
        Isa::Portable => 0,
        Isa::Avx2Fma => 1,
        Isa::Avx512 => 2,
    }
}

/// The width rank of a fused-loop level.
fn level_rank(l: SimdLevel) -> u8 {
    match l {
        SimdLevel::Baseline => 0,
        SimdLevel::Avx2 => 1,
        SimdLevel::Avx512 => 2,
    }
}

#[test]
fn names_parse() {
    assert_eq!(parse_isa("avx512"), Ok(Isa::Avx512));
    assert_eq!(parse_isa("avx2"), Ok(Isa::Avx2Fma));
    assert_eq!(parse_isa("portable"), Ok(Isa::Portable));
    assert!(parse_isa("sse2").unwrap_err().contains("\"sse2\""));
}

#[test]
fn required_kernel_families_run_on_this_cpu() {
    let Some(isas) = required_isas() else {
        return;
    };
    for isa in isas {
        assert!(
            level_rank(simd_level()) >= fused_rank(isa),
            "DESCENT_TEST_ISAS names {isa:?}, but the fused loops run at {:?}",
            simd_level()
        );
    }
}
