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
        "lambda" => "LambdaLR",
        "multiplicative" => "MultiplicativeLR",
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
    Scheds(Vec<(String, Vec<(String, Owned)>)>),
    None,
}

/// Split `s` at the commas that are not inside `(...)` or `[...]`.
fn split_top(s: &str) -> Result<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, ch) in s.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err(Error::usage(format!(
                        "--sched-args `{s}`: unbalanced `{ch}`"
                    )));
                }
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(Error::usage(format!(
            "--sched-args `{s}`: unclosed `(` or `[`"
        )));
    }
    parts.push(&s[start..]);
    Ok(parts.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

/// `Name(k=v,...)`: one of SequentialLR's or ChainedScheduler's schedulers.
fn parse_sched(item: &str) -> Result<(String, Vec<(String, Owned)>)> {
    let item = item.trim();
    let (name, args) = match item.split_once('(') {
        Some((n, rest)) => {
            let Some(inner) = rest.strip_suffix(')') else {
                return Err(Error::usage(format!(
                    "--sched-args schedulers: `{item}`: expected Name(key=value,...)"
                )));
            };
            (n.trim(), inner)
        }
        None => (item, ""),
    };
    let Some(class) = canonical(name) else {
        return Err(Error::usage(format!(
            "--sched-args schedulers: unknown scheduler `{name}`, expected one of {}",
            SCHEDULER_NAMES.join(", ")
        )));
    };
    let args = parse_args(args)?;
    if args.iter().any(|(_, v)| matches!(v, Owned::Scheds(_))) {
        return Err(Error::usage(format!(
            "--sched-args schedulers: `{item}`: a SequentialLR or ChainedScheduler cannot contain another"
        )));
    }
    Ok((class.to_string(), args))
}

fn parse_value(key: &str, v: &str) -> Result<Owned> {
    let num = |s: &str| -> Result<f64> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| Error::usage(format!("--sched-args {key}={v}: `{s}` is not a number")))
    };
    if key == "schedulers" {
        let Some(inner) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
            return Err(Error::usage(format!(
                "--sched-args schedulers={v}: expected [Name(key=value,...), Name(...), ...]"
            )));
        };
        let scheds: Result<Vec<_>> = split_top(inner)?.into_iter().map(parse_sched).collect();
        return Ok(Owned::Scheds(scheds?));
    }
    let bracketed = v.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
    if key == "milestones" || v.contains(';') || bracketed.is_some() {
        let items: Result<Vec<f64>> = bracketed
            .unwrap_or(v)
            .split([';', ','])
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

/// `k=v,k=v` (commas inside brackets or parentheses belong to the value).
fn parse_args(args: &str) -> Result<Vec<(String, Owned)>> {
    let mut owned = Vec::new();
    for part in split_top(args)? {
        let Some((k, v)) = part.split_once('=') else {
            return Err(Error::usage(format!(
                "--sched-args `{part}`: expected key=value (e.g. step_size=10)"
            )));
        };
        let k = k.trim().to_string();
        let v = parse_value(&k, v.trim())?;
        owned.push((k, v));
    }
    Ok(owned)
}

/// A parsed argument as a descent-core value; `inner` is SequentialLR's scheduler list.
fn value<'a>(v: &'a Owned, inner: &'a [Spec<'a>]) -> Value<'a> {
    match v {
        Owned::Num(x) => Value::Num(*x),
        Owned::Bool(b) => Value::Bool(*b),
        Owned::Str(s) => Value::Str(s),
        Owned::List(l) => Value::List(l),
        Owned::Scheds(_) => Value::Schedulers(inner),
        Owned::None => Value::None,
    }
}

/// Build the scheduler named `name` with keyword arguments `args` (`k=v,k=v`) for an
/// optimizer whose initial lr is `lr0`.
///
/// Lists are `milestones=30;80` or `milestones=[30,80]`. `LambdaLR` and `MultiplicativeLR`
/// take their `lr_lambda` as Python source, `lr_lambda=lambda e: 0.95 ** e` (see
/// [`descent_core::sched::LrLambda`] for the language). SequentialLR and ChainedScheduler
/// take their schedulers in Python's form, e.g. `--scheduler SequentialLR --sched-args
/// "schedulers=[LinearLR(start_factor=0.1,total_iters=5),CosineAnnealingLR(T_max=95)],milestones=[5]"`
/// or `--scheduler ChainedScheduler --sched-args
/// "schedulers=[ConstantLR(factor=0.1,total_iters=20),ExponentialLR(gamma=0.9)]"`.
pub fn build(name: &str, args: Option<&str>, lr0: f64) -> Result<Scheduler> {
    let Some(class) = canonical(name) else {
        return Err(Error::usage(format!(
            "--scheduler {name}: unknown scheduler, expected one of {}",
            SCHEDULER_NAMES.join(", ")
        )));
    };
    let owned = parse_args(args.unwrap_or(""))?;
    // SequentialLR's schedulers: their arguments, then their specs, then the outer arguments
    // (each level borrows the one before).
    let inner_vals: Vec<Vec<Vec<(&str, Value)>>> = owned
        .iter()
        .map(|(_, v)| match v {
            Owned::Scheds(list) => list
                .iter()
                .map(|(_, args)| {
                    args.iter()
                        .map(|(k, v)| (k.as_str(), value(v, &[])))
                        .collect()
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let inner_specs: Vec<Vec<Spec>> = owned
        .iter()
        .zip(&inner_vals)
        .map(|((_, v), vals)| match v {
            Owned::Scheds(list) => list
                .iter()
                .zip(vals)
                .map(|((name, _), params)| Spec { name, params })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let params: Vec<(&str, Value)> = owned
        .iter()
        .zip(&inner_specs)
        .map(|((k, v), specs)| (k.as_str(), value(v, specs)))
        .collect();
    let spec = Spec {
        name: class,
        params: &params,
    };
    Scheduler::from_spec(lr0, &spec).map_err(|e| match e {
        // Name the expression: its byte offset alone is hard to find in a long argument.
        descent_core::Error::BadExpression { at, expected } => Error::usage(format!(
            "--scheduler {class}: lr_lambda `{}`: at byte {at}: expected {expected}",
            lambda_source(&owned)
        )),
        e => Error::core(format!("--scheduler {class}"), e),
    })
}

/// The `lr_lambda` source a compile error belongs to: schedules are built in order, so the
/// first source that does not compile.
fn lambda_source(owned: &[(String, Owned)]) -> String {
    let mut sources = Vec::new();
    for (k, v) in owned {
        match v {
            Owned::Str(s) if k == "lr_lambda" => sources.push(s.clone()),
            Owned::Scheds(list) => {
                for (_, args) in list {
                    for (k, v) in args {
                        if let (Owned::Str(s), "lr_lambda") = (v, k.as_str()) {
                            sources.push(s.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    sources
        .iter()
        .find(|s| descent_core::sched::LrLambda::parse(s).is_err())
        .cloned()
        .unwrap_or_default()
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
    fn lambda_schedules_take_python_lambdas() {
        let mut s = build(
            "LambdaLR",
            Some("lr_lambda=lambda e: min(1, (e + 1) / 4)"),
            0.2,
        )
        .unwrap();
        assert_eq!(s.name(), "LambdaLR");
        assert_eq!(s.lr(), 0.05);
        s.step().unwrap();
        assert_eq!(s.lr(), 0.1);
        let mut m = build("multiplicative", Some("lr_lambda=lambda epoch: 0.5"), 0.2).unwrap();
        assert_eq!(m.name(), "MultiplicativeLR");
        m.step().unwrap();
        assert_eq!(m.lr(), 0.1);
        // Inside SequentialLR, commas of the lambda included.
        let args = "schedulers=[LambdaLR(lr_lambda=lambda e: max(0.1, e / 2)),\
                    MultiplicativeLR(lr_lambda=lambda e: 0.9)],milestones=[3]";
        let q = build("SequentialLR", Some(args), 1.0).unwrap();
        assert_eq!(q.lr(), 0.1);
        // A compile error quotes the lambda and the position.
        let e = build(
            "SequentialLR",
            Some("schedulers=[LambdaLR(lr_lambda=lambda e: 1),LambdaLR(lr_lambda=lambda e: e[1])],milestones=[2]"),
            0.1,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`lambda e: e[1]`") && e.contains("byte 11"),
            "{e}"
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(build("warp", None, 0.1).is_err());
        assert!(build("step", None, 0.1).is_err()); // step_size is required
        assert!(build("step", Some("step_size"), 0.1).is_err());
        assert!(build("step", Some("step_size=2,bogus=1"), 0.1).is_err());
        assert!(build("step", Some("step_size=-2"), 0.1).is_err());
        assert!(build("SequentialLR", None, 0.1).is_err()); // schedulers required
        for bad in [
            "schedulers=LinearLR,milestones=2",                 // not a list
            "schedulers=[LinearLR(total_iters=2],milestones=2", // unbalanced
            "schedulers=[Warp()],milestones=2",                 // unknown inner name
            "schedulers=[StepLR(step_size=2)(x)],milestones=2",
            "schedulers=[ReduceLROnPlateau()],milestones=[]",
            "schedulers=[StepLR(step_size=2),StepLR(step_size=3)],milestones=[1,2]",
            "schedulers=[SequentialLR(schedulers=[StepLR(step_size=2)])],milestones=[]",
        ] {
            let e = build("SequentialLR", Some(bad), 0.1);
            assert!(e.is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn sequential_lr_from_python_like_arguments() {
        let args = "schedulers=[LinearLR(start_factor=0.5,total_iters=2), \
                    StepLR(step_size=2,gamma=0.1)],milestones=[2]";
        let mut s = build("SequentialLR", Some(args), 1.0).unwrap();
        assert_eq!(s.name(), "SequentialLR");
        let mut lrs = vec![s.lr()];
        for _ in 0..5 {
            s.step().unwrap();
            lrs.push(s.lr());
        }
        // torch: LinearLR 0.5 -> 0.75 (then 1.0 at the switch), StepLR from 1.0: 1, 1, 0.1, 0.1
        let want = [0.5, 0.75, 1.0, 1.0, 0.1, 0.1];
        for (got, want) in lrs.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{lrs:?}");
        }
        // ChainedScheduler: both act on one lr (PyTorch's docstring example).
        let args = "schedulers=[ConstantLR(factor=0.1,total_iters=20),ExponentialLR(gamma=0.9)]";
        let mut c = build("ChainedScheduler", Some(args), 0.05).unwrap();
        assert_eq!(c.name(), "ChainedScheduler");
        assert!((c.lr() - 0.005).abs() < 1e-15);
        c.step().unwrap();
        assert!((c.lr() - 0.0045).abs() < 1e-15);
        let nested = "schedulers=[ChainedScheduler(schedulers=[StepLR(step_size=2)])]";
        assert!(build("ChainedScheduler", Some(nested), 0.1).is_err());
        assert!(build("ChainedScheduler", Some("milestones=[2]"), 0.1).is_err());
        // Lists in brackets work for MultiStepLR too.
        let m = build("MultiStepLR", Some("milestones=[1,3],gamma=0.5"), 1.0).unwrap();
        assert_eq!(m.name(), "MultiStepLR");
    }
}
