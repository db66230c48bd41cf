//! Building a descent-core LR scheduler from `--scheduler NAME --sched-args k=v,...`.
//!
//! Names are PyTorch's class names (case-insensitive) or short aliases (`step`, `cosine`,
//! `plateau`, ...); keyword arguments use PyTorch's names (`step_size`, `gamma`, `T_max`,
//! `milestones=30;80`, `mode=min`) and are validated by descent-core.

use crate::error::{Error, Result};
use descent_core::sched::{Scheduler, Spec, Value, SCHEDULER_NAMES};

fn canonical(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "step" => "StepLR",
        "multistep" | "multi-step" => "MultiStepLR",
        "exponential" | "exp" => "ExponentialLR",
        "cosine" => "CosineAnnealingLR",
        "cosine-restarts" | "warm-restarts" => "CosineAnnealingWarmRestarts",
        "cyclic" => "CyclicLR",
        "onecycle" | "one-cycle" => "OneCycleLR",
        "polynomial" | "poly" => "PolynomialLR",
        "linear" => "LinearLR",
        "constant" => "ConstantLR",
        "inverse-time" => "InverseTime",
        "inverse-sqrt-time" => "InverseSqrtTime",
        "plateau" | "reduce-on-plateau" => "ReduceLROnPlateau",
        _ => "",
    };
    if !alias.is_empty() {
        return Some(alias);
    }
    SCHEDULER_NAMES
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(name))
}

enum Owned {
    Num(f64),
    Bool(bool),
    Str(String),
    List(Vec<f64>),
    None,
}

fn parse_value(key: &str, v: &str) -> Result<Owned> {
    let num = |s: &str| -> Result<f64> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| Error::usage(format!("--sched-args {key}={v}: `{s}` is not a number")))
    };
    if key == "milestones" || v.contains(';') {
        let items: Result<Vec<f64>> = v
            .split(';')
            .filter(|s| !s.trim().is_empty())
            .map(num)
            .collect();
        return Ok(Owned::List(items?));
    }
    Ok(match v {
        "true" | "True" => Owned::Bool(true),
        "false" | "False" => Owned::Bool(false),
        "None" | "none" => Owned::None,
        _ => match v.parse::<f64>() {
            Ok(x) => Owned::Num(x),
            Err(_) => Owned::Str(v.to_string()),
        },
    })
}

/// Build the scheduler named `name` with keyword arguments `args` (`k=v,k=v`) for an
/// optimizer whose initial lr is `lr0`.
pub fn build(name: &str, args: Option<&str>, lr0: f64) -> Result<Scheduler> {
    let Some(class) = canonical(name) else {
        return Err(Error::usage(format!(
            "--scheduler {name}: unknown scheduler, expected one of {}",
            SCHEDULER_NAMES.join(", ")
        )));
    };
    if class == "SequentialLR" {
        return Err(Error::usage(
            "--scheduler SequentialLR: chaining schedulers is not available from the command line",
        ));
    }
    let mut owned: Vec<(String, Owned)> = Vec::new();
    for part in args
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        let Some((k, v)) = part.split_once('=') else {
            return Err(Error::usage(format!(
                "--sched-args `{part}`: expected key=value (e.g. step_size=10)"
            )));
        };
        let k = k.trim().to_string();
        let v = parse_value(&k, v.trim())?;
        owned.push((k, v));
    }
    let params: Vec<(&str, Value)> = owned
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Owned::Num(x) => Value::Num(*x),
                Owned::Bool(b) => Value::Bool(*b),
                Owned::Str(s) => Value::Str(s),
                Owned::List(l) => Value::List(l),
                Owned::None => Value::None,
            };
            (k.as_str(), v)
        })
        .collect();
    let spec = Spec {
        name: class,
        params: &params,
    };
    Scheduler::from_spec(lr0, &spec).map_err(|e| Error::core(format!("--scheduler {class}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_by_alias_and_class_name() {
        let s = build("step", Some("step_size=2,gamma=0.5"), 0.1).unwrap();
        assert_eq!(s.name(), "StepLR");
        let s = build("MultiStepLR", Some("milestones=3;5"), 0.1).unwrap();
        assert_eq!(s.name(), "MultiStepLR");
        let s = build("plateau", Some("mode=min,factor=0.5,patience=2"), 0.1).unwrap();
        assert!(s.needs_metric());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(build("warp", None, 0.1).is_err());
        assert!(build("step", None, 0.1).is_err()); // step_size is required
        assert!(build("step", Some("step_size"), 0.1).is_err());
        assert!(build("step", Some("step_size=2,bogus=1"), 0.1).is_err());
        assert!(build("step", Some("step_size=-2"), 0.1).is_err());
    }
}
