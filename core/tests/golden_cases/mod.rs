//! Per-file golden runners and the helpers they share.
#![allow(dead_code)]

pub mod averages;
pub mod lbfgs;
pub mod losses;
pub mod models;
/// The optimizer tests' shared objectives (Rosenbrock for the L-BFGS cases).
#[path = "../optim_common/mod.rs"]
mod optim_common;
pub mod optimizers;
pub mod schedulers;

use serde_json::Value;

/// Field `key` of `case`, or an error naming it.
pub fn field<'a>(case: &'a Value, key: &str) -> Result<&'a Value, String> {
    case.get(key)
        .ok_or_else(|| format!("missing field `{key}`"))
}

/// A flat array of numbers (nested arrays are flattened row-major).
pub fn floats(v: &Value) -> Result<Vec<f64>, String> {
    fn rec(v: &Value, out: &mut Vec<f64>) -> Result<(), String> {
        match v {
            Value::Array(a) => a.iter().try_for_each(|x| rec(x, out)),
            Value::Number(n) => {
                out.push(n.as_f64().ok_or("number out of range")?);
                Ok(())
            }
            // JSON has no NaN/Inf literals; allow them spelled as strings.
            Value::String(s) => {
                out.push(match s.as_str() {
                    "NaN" | "nan" => f64::NAN,
                    "Infinity" | "inf" => f64::INFINITY,
                    "-Infinity" | "-inf" => f64::NEG_INFINITY,
                    _ => return Err(format!("not a number: {s:?}")),
                });
                Ok(())
            }
            other => Err(format!("expected numbers, found {other}")),
        }
    }
    let mut out = Vec::new();
    rec(v, &mut out)?;
    Ok(out)
}

/// Field `key` as a flat float array.
pub fn floats_field(case: &Value, key: &str) -> Result<Vec<f64>, String> {
    floats(field(case, key)?).map_err(|e| format!("field `{key}`: {e}"))
}

/// Field `key` as a list of integers.
pub fn ints_field(case: &Value, key: &str) -> Result<Vec<i64>, String> {
    floats_field(case, key)?
        .into_iter()
        .map(|x| {
            if x.fract() == 0.0 {
                Ok(x as i64)
            } else {
                Err(format!("field `{key}`: {x} is not an integer"))
            }
        })
        .collect()
}

/// Compare `got` to `want` element-wise with |a-b| <= atol + rtol*|b| (NaN equals NaN).
pub fn close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{what}: length {} != expected {}",
            got.len(),
            want.len()
        ));
    }
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * b.abs();
        if !ok {
            return Err(format!(
                "{what}[{i}]: got {a}, expected {b} (atol {atol}, rtol {rtol})"
            ));
        }
    }
    Ok(())
}
