//! Stronger than the golden runner's 1e-12 tolerance: every scheduler case of
//! `tests/golden/schedulers.json`, of `schedulers_chained.json` (ChainedScheduler) and of
//! `schedulers_lambda.json` (LambdaLR, MultiplicativeLR: lambdas with powers, cos, exp, log) and
//! of `schedulers_swalr.json` (SWALR alone, after a milestone and in a chain) is reproduced bit
//! for bit. The schedules follow PyTorch's
//! recursions operation by operation and use double-double `cos`/integer powers, so they round
//! as CPython does on these values; the computation does not depend on the platform's libm.
//! (If the golden file is regenerated elsewhere, the 1e-12 contract is in `golden.rs`.)

#[path = "golden_cases/mod.rs"]
mod golden_cases;

#[test]
fn scheduler_goldens_are_bitwise_exact() {
    for file in [
        "schedulers.json",
        "schedulers_chained.json",
        "schedulers_lambda.json",
        "schedulers_swalr.json",
    ] {
        bitwise(file);
    }
}

fn bitwise(file: &str) {
    let path = format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let (got, want) =
            golden_cases::schedulers::simulate(case).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.len(), want.len(), "{name}");
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{name}: lrs[{t}] {g} vs {w}");
        }
    }
}
