//! Shared by the kernels' integration tests: which kernel families they run on.
//!
//! `DESCENT_TEST_ISAS`, a comma-separated list of `avx512`, `avx2` and `portable`, restricts
//! the tests to those families and requires them: a named family this CPU cannot run fails the
//! test instead of being skipped, so a run meant to cover it (the AVX-512 run under an
//! emulator, `.ci/avx512-emu.sh`) cannot pass without running it. Unset, the tests run on
//! every family this CPU has ([`Isa::available`]).

// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

use descent_kernels::gemm::Isa;

/// The kernel family a name in `DESCENT_TEST_ISAS` stands for.
pub fn parse_isa(name: &str) -> Result<Isa, String> {
    match name {
        "avx512" => Ok(Isa::Avx512),
        "avx2" => Ok(Isa::Avx2Fma),
        "portable" => Ok(Isa::Portable),
        other => Err(format!(
            "DESCENT_TEST_ISAS: unknown kernel family {other:?} (expected avx512, avx2 or portable)"
        )),
    }
}

/// The families named in `DESCENT_TEST_ISAS`, or `None` when it is unset.
///
/// # Panics
/// On an unknown name, or a named family this CPU cannot run.
pub fn required_isas() -> Option<Vec<Isa>> {
    let list = std::env::var("DESCENT_TEST_ISAS").ok()?;
    let available = Isa::available();
    let isas: Vec<Isa> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            let isa = parse_isa(name).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                available.contains(&isa),
                "DESCENT_TEST_ISAS names {name}, but this CPU runs only {available:?}"
            );
            isa
        })
        .collect();
    Some(isas)
}

/// The kernel families to test: those of `DESCENT_TEST_ISAS` if set, else every family this
/// CPU runs, best first.
pub fn test_isas() -> Vec<Isa> {
    required_isas().unwrap_or_else(Isa::available)
}
