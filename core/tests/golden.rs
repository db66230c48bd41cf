//! Golden conformance against PyTorch.
//!
//! Runs every case of every `*.json` file in the directory named by `DESCENT_GOLDEN_DIR`
//! (`averages`, `losses`, `models`, `optimizers`, `schedulers`, each optionally with a `_suffix`)
//! (default: `core/tests/golden/`, the project's copy of the PyTorch-generated values; schema in
//! its README). Prints each failing case and ends with `golden: N passed, M failed`; exits
//! non-zero when M > 0 or N = 0. A case that cannot be interpreted counts as failed.

mod golden_cases;

use serde_json::Value;
use std::path::PathBuf;

fn main() {
    let dir = std::env::var_os("DESCENT_GOLDEN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden"));
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) => {
            eprintln!("golden: cannot read directory {}: {e}", dir.display());
            println!("golden: 0 passed, 1 failed");
            std::process::exit(1);
        }
    };
    files.sort();
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in &files {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let doc: Value = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                println!("FAIL {}: cannot parse: {e}", path.display());
                failed += 1;
                continue;
            }
        };
        let f64_file = doc.get("dtype").and_then(Value::as_str) == Some("f64");
        let Some(cases) = doc.get("cases").and_then(Value::as_array) else {
            println!("FAIL {}: no `cases` array", path.display());
            failed += 1;
            continue;
        };
        let (mut fp, mut ff) = (0usize, 0usize);
        for (i, case) in cases.iter().enumerate() {
            let name = case
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{i}"));
            // `<kind>.json` or `<kind>_<more>.json` (the project's own additions to a set).
            let kind = stem.split('_').next().unwrap_or(stem);
            let result = match kind {
                "averages" => golden_cases::averages::run(case),
                "losses" => golden_cases::losses::run(case),
                "models" => golden_cases::models::run(case),
                "optimizers" => golden_cases::optimizers::run(case),
                "schedulers" => golden_cases::schedulers::run(case, f64_file),
                _ => Err(format!("no runner for golden file `{stem}.json`")),
            };
            match result {
                Ok(()) => fp += 1,
                Err(msg) => {
                    println!("FAIL {stem}/{name}: {msg}");
                    ff += 1;
                }
            }
        }
        println!("{stem}: {fp} passed, {ff} failed");
        passed += fp;
        failed += ff;
    }
    println!("golden: {passed} passed, {failed} failed");
    if failed > 0 || passed == 0 {
        std::process::exit(1);
    }
}
