//! `descent bench --quick`: the table and the JSON report come out, every figure positive.

use std::process::Command;

#[test]
fn bench_quick_reports_every_kernel_with_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(["bench", "--quick", "--threads", "2", "--json", "-"])
        .output()
        .expect("run descent bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("f32 FMA peak") && text.contains("of limit") && text.contains("alongside"),
        "{text}"
    );
    let json = &text[text.find("\n{").expect("JSON after the table") + 1..];
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert!(v["fma_peak_1"].as_f64().unwrap() > 0.0);
    assert!(v["stream_1"].as_f64().unwrap() > 0.0);
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.len() >= 7, "{rows:?}");
    for r in rows {
        let value = r["value"].as_f64().unwrap();
        assert!(value.is_finite() && value > 0.0, "{r}");
        // A row with a limit has both shares of it; one without (samples/s) neither.
        if r["limit"].as_f64().unwrap() > 0.0 {
            assert!(r["percent_of_limit"].as_f64().unwrap() > 0.0, "{r}");
            assert!(
                r["percent_of_limit_alongside"].as_f64().unwrap() > 0.0,
                "{r}"
            );
        } else {
            assert!(r["percent_of_limit_alongside"].is_null(), "{r}");
        }
    }
    assert!(rows
        .iter()
        .any(|r| r["kernel"].as_str().unwrap().starts_with("fused Adam")));
}

#[test]
fn bench_rejects_zero_threads() {
    let out = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(["bench", "--threads", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads 0"));
}
