//! Golden runner for `schedulers.json`: builds each scheduler by PyTorch class name and
//! keyword arguments through `Scheduler::from_spec` (unknown names or keys fail the case),
//! records `lr()` for steps 0..n (ReduceLROnPlateau stepped with `metrics`), round-trips the
//! state through bytes halfway, and compares with tolerance 1e-12 relative.
use super::{close, field, floats_field};
use descent_core::sched::{Scheduler, Spec, Value as SV};
use serde_json::Value;

/// A JSON keyword argument, owned.
enum Owned {
    Num(f64),
    Bool(bool),
    Str(String),
    List(Vec<f64>),
    Scheds(Vec<OwnedSpec>),
    Null,
}

struct OwnedSpec {
    name: String,
    params: Vec<(String, Owned)>,
}

fn owned(v: &Value) -> Result<Owned, String> {
    Ok(match v {
        Value::Null => Owned::Null,
        Value::Bool(b) => Owned::Bool(*b),
        Value::Number(n) => Owned::Num(n.as_f64().ok_or("number out of range")?),
        Value::String(s) => Owned::Str(s.clone()),
        Value::Array(a) if a.iter().all(Value::is_number) => Owned::List(
            a.iter()
                .map(|x| x.as_f64().ok_or("number out of range"))
                .collect::<Result<_, _>>()?,
        ),
        Value::Array(a) if a.iter().all(Value::is_object) => {
            Owned::Scheds(a.iter().map(owned_spec).collect::<Result<_, _>>()?)
        }
        other => return Err(format!("unsupported parameter value {other}")),
    })
}

/// `{"scheduler" | "name": class name, "params": {...}}`.
fn owned_spec(v: &Value) -> Result<OwnedSpec, String> {
    let name = v
        .get("scheduler")
        .or_else(|| v.get("name"))
        .and_then(Value::as_str)
        .ok_or("sub-scheduler without `scheduler` name")?;
    let params = match v.get("params") {
        None => Vec::new(),
        Some(p) => owned_params(p)?,
    };
    Ok(OwnedSpec {
        name: name.to_owned(),
        params,
    })
}

fn owned_params(p: &Value) -> Result<Vec<(String, Owned)>, String> {
    p.as_object()
        .ok_or("`params` is not an object")?
        .iter()
        .map(|(k, v)| {
            Ok((
                k.clone(),
                owned(v).map_err(|e| format!("param `{k}`: {e}"))?,
            ))
        })
        .collect()
}

fn leaf<'a>(k: &'a str, v: &'a Owned) -> Result<SV<'a>, String> {
    Ok(match v {
        Owned::Num(x) => SV::Num(*x),
        Owned::Bool(b) => SV::Bool(*b),
        Owned::Str(s) => SV::Str(s),
        Owned::List(l) => SV::List(l),
        Owned::Null => SV::None,
        Owned::Scheds(_) => return Err(format!("param `{k}`: nested scheduler lists")),
    })
}

fn leaf_params(o: &OwnedSpec) -> Result<Vec<(&str, SV<'_>)>, String> {
    o.params
        .iter()
        .map(|(k, v)| Ok((k.as_str(), leaf(k, v)?)))
        .collect()
}

fn build(lr0: f64, o: &OwnedSpec) -> Result<Scheduler, String> {
    // Borrowed views, children first.
    let child_params: Vec<Vec<Vec<(&str, SV)>>> = o
        .params
        .iter()
        .map(|(_, v)| match v {
            Owned::Scheds(cs) => cs.iter().map(leaf_params).collect(),
            _ => Ok(Vec::new()),
        })
        .collect::<Result<_, String>>()?;
    let child_specs: Vec<Vec<Spec>> = o
        .params
        .iter()
        .zip(&child_params)
        .map(|((_, v), ps)| match v {
            Owned::Scheds(cs) => cs
                .iter()
                .zip(ps)
                .map(|(c, p)| Spec {
                    name: &c.name,
                    params: p,
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let params: Vec<(&str, SV)> = o
        .params
        .iter()
        .zip(&child_specs)
        .map(|((k, v), cs)| match v {
            Owned::Scheds(_) => Ok((k.as_str(), SV::Schedulers(cs))),
            other => Ok((k.as_str(), leaf(k, other)?)),
        })
        .collect::<Result<_, String>>()?;
    Scheduler::from_spec(
        lr0,
        &Spec {
            name: &o.name,
            params: &params,
        },
    )
    .map_err(|e| format!("cannot build {}: {e}", o.name))
}

/// Build a scheduler from `{"scheduler": class name, "params": {...}}` for initial lr `lr0`.
pub fn build_json(lr0: f64, spec: &Value) -> Result<Scheduler, String> {
    build(lr0, &owned_spec(spec)?)
}

/// Run one case; `Err` describes the mismatch.
pub fn run(case: &Value, f64_file: bool) -> Result<(), String> {
    if !f64_file {
        return Err("schedulers.json must be dtype f64".into());
    }
    let (got, want) = simulate(case)?;
    close("lrs", &got, &want, 0.0, 1e-12)
}

/// The scheduler's saved state bytes.
fn saved(s: &Scheduler) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; s.saved_len()];
    let n = s.save(&mut buf).map_err(|e| format!("save: {e}"))?;
    buf.truncate(n);
    Ok(buf)
}

/// Replay one case: `(lrs computed, lrs expected)`.
pub fn simulate(case: &Value) -> Result<(Vec<f64>, Vec<f64>), String> {
    let name = field(case, "scheduler")?
        .as_str()
        .ok_or("`scheduler` is not a string")?;
    let lr0 = field(case, "lr0")?
        .as_f64()
        .ok_or("`lr0` is not a number")?;
    let spec = OwnedSpec {
        name: name.to_owned(),
        params: owned_params(field(case, "params")?)?,
    };
    let want = floats_field(case, "lrs")?;
    let metrics = match case.get("metrics") {
        Some(_) => Some(floats_field(case, "metrics")?),
        None => None,
    };
    let mut s = build(lr0, &spec)?;
    if s.needs_metric() != metrics.is_some() {
        return Err(format!(
            "{name}: `metrics` present = {}, but the scheduler needs_metric = {}",
            metrics.is_some(),
            s.needs_metric()
        ));
    }
    if let Some(m) = &metrics {
        if m.len() < want.len() {
            return Err("fewer metrics than lrs".into());
        }
    }
    let mut got = Vec::with_capacity(want.len());
    for t in 0..want.len() {
        if t == want.len() / 2 {
            // Save and restore mid-run: the restored scheduler must continue identically.
            let bytes = saved(&s)?;
            let r = Scheduler::load(&bytes).map_err(|e| format!("restore at t={t}: {e}"))?;
            if r != s || saved(&r)? != bytes {
                return Err(format!("restore at t={t} is not identical"));
            }
            s = r;
        }
        got.push(s.lr());
        let res = match &metrics {
            Some(m) => s.step_with_metric(m[t]),
            None => s.step(),
        };
        res.map_err(|e| format!("step after t={t}: {e}"))?;
    }
    Ok((got, want))
}
