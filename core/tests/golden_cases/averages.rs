//! Golden runner for `averages*.json`: feeds PyTorch's iterates to [`WeightAverage`] and
//! requires its averages after every update **bit for bit** (in `f32` or `f64`, as the case
//! says).
use super::{field, floats};
use descent_core::optim::{Averaging, WeightAverage};
use descent_core::Float;
use serde_json::Value;

/// Run one case.
pub fn run(case: &Value) -> Result<(), String> {
    let keys = ["name", "rule", "decay", "dtype", "iterates", "averages"];
    if let Some(k) = case
        .as_object()
        .and_then(|m| m.keys().find(|k| !keys.contains(&k.as_str())))
    {
        return Err(format!("unknown field `{k}`"));
    }
    let rule = match field(case, "rule")?.as_str() {
        Some("swa") => Averaging::Swa,
        Some("ema") => Averaging::Ema {
            decay: field(case, "decay")?
                .as_f64()
                .ok_or("`decay` is not a number")?,
        },
        other => return Err(format!("unknown rule {other:?}")),
    };
    let rows = |key: &str| -> Result<Vec<Vec<f64>>, String> {
        field(case, key)?
            .as_array()
            .ok_or_else(|| format!("`{key}` is not a list"))?
            .iter()
            .map(floats)
            .collect()
    };
    let (iterates, averages) = (rows("iterates")?, rows("averages")?);
    if iterates.len() != averages.len() || iterates.is_empty() {
        return Err("`iterates` and `averages` differ in length or are empty".into());
    }
    match field(case, "dtype")?.as_str() {
        Some("f32") => replay::<f32>(rule, &iterates, &averages),
        Some("f64") => replay::<f64>(rule, &iterates, &averages),
        other => Err(format!("unknown dtype {other:?}")),
    }
}

fn replay<T: Float>(
    rule: Averaging,
    iterates: &[Vec<f64>],
    want: &[Vec<f64>],
) -> Result<(), String> {
    let n = iterates[0].len();
    let mut wa = WeightAverage::new(rule).map_err(|e| e.to_string())?;
    let mut avg = vec![T::from_f64(f64::NAN); n];
    for (k, (x, w)) in iterates.iter().zip(want).enumerate() {
        let x: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
        wa.update(&mut avg, &x).map_err(|e| e.to_string())?;
        if w.len() != n {
            return Err(format!(
                "averages[{k}] has {} values, expected {n}",
                w.len()
            ));
        }
        if let Some(i) = (0..n).find(|&i| avg[i].to_f64().to_bits() != w[i].to_bits()) {
            return Err(format!(
                "update {k}, element {i}: got {:e}, expected {:e}",
                avg[i].to_f64(),
                w[i]
            ));
        }
    }
    Ok(())
}
