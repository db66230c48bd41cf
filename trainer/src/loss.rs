//! The training criterion: `--loss NAME --loss-args k=v,...` with PyTorch's class and argument
//! names (`--loss CrossEntropyLoss --loss-args label_smoothing=0.1`, `--loss HuberLoss
//! --loss-args delta=0.5`), computed by descent-core's losses with `reduction='mean'`.
//!
//! The default (`CrossEntropyLoss` for classification, `MSELoss` for regression, without
//! arguments) takes the model's fused passes; any other criterion goes through
//! `Mlp::loss_grad_with`. Evaluations report the run's criterion.

use crate::error::{Error, Result};
use crate::task::BatchTargets;
use descent_core::loss::{
    CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, MultiMarginLoss, Reduction, SmoothL1Loss,
};

/// A criterion the trainer can train with.
#[derive(Debug, Clone, PartialEq)]
pub enum Loss {
    /// `nn.CrossEntropyLoss(weight, label_smoothing)` over the logits (classification).
    CrossEntropy {
        /// Per-class weights (`weight`), or none.
        weight: Option<Vec<f32>>,
        /// `label_smoothing` in `[0, 1]`.
        label_smoothing: f32,
    },
    /// `nn.MultiMarginLoss(p, margin, weight)` over the scores (classification: the
    /// multi-class hinge loss of a linear SVM with `--model softmax`).
    MultiMargin {
        /// 1 or 2.
        p: u32,
        /// The margin.
        margin: f32,
        /// Per-class weights (`weight`), or none.
        weight: Option<Vec<f32>>,
    },
    /// `nn.MSELoss()` (regression): mean of `(z - t)²` over every output.
    Mse,
    /// `nn.L1Loss()` (regression): mean of `|z - t|`.
    L1,
    /// `nn.HuberLoss(delta)` (regression).
    Huber {
        /// `delta > 0`.
        delta: f32,
    },
    /// `nn.SmoothL1Loss(beta)` (regression).
    SmoothL1 {
        /// `beta >= 0`.
        beta: f32,
    },
}

/// Canonical class name of `name` (case-insensitive, or a short alias).
pub(crate) fn canonical(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 6] = [
        "CrossEntropyLoss",
        "MultiMarginLoss",
        "MSELoss",
        "L1Loss",
        "HuberLoss",
        "SmoothL1Loss",
    ];
    let alias = match name.to_ascii_lowercase().as_str() {
        "cross-entropy" | "cross_entropy" | "ce" => "CrossEntropyLoss",
        "multi-margin" | "multi_margin" | "hinge" => "MultiMarginLoss",
        "mse" => "MSELoss",
        "l1" | "mae" => "L1Loss",
        "huber" => "HuberLoss",
        "smooth-l1" | "smooth_l1" => "SmoothL1Loss",
        _ => "",
    };
    if !alias.is_empty() {
        return Some(alias);
    }
    NAMES.into_iter().find(|n| n.eq_ignore_ascii_case(name))
}

/// `k=v,k=v`; a value in `[...]` (commas inside) or with `;` is a list.
fn parse_args(args: &str) -> Result<Vec<(String, Vec<f64>)>> {
    let mut out = Vec::new();
    let mut rest = args.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else {
            return Err(Error::usage(format!(
                "--loss-args `{rest}`: expected key=value (e.g. delta=0.5)"
            )));
        };
        let after = after.trim_start();
        let (v, next) = if let Some(inner) = after.strip_prefix('[') {
            let Some((list, tail)) = inner.split_once(']') else {
                return Err(Error::usage(format!("--loss-args {k}: unclosed `[`")));
            };
            (list, tail.trim_start().strip_prefix(',').unwrap_or(tail))
        } else {
            match after.split_once(',') {
                Some((v, tail)) => (v, tail),
                None => (after, ""),
            }
        };
        let key = k.trim().to_string();
        let nums: Result<Vec<f64>> = v
            .split([',', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<f64>().map_err(|_| {
                    Error::usage(format!("--loss-args {key}={v}: `{s}` is not a number"))
                })
            })
            .collect();
        out.push((key, nums?));
        rest = next.trim();
    }
    Ok(out)
}

/// `weight=[...]`: one finite weight `>= 0` per class.
fn class_weights(w: Option<Vec<f64>>, classes: usize) -> Result<Option<Vec<f32>>> {
    let Some(w) = w else {
        return Ok(None);
    };
    if w.len() != classes {
        return Err(Error::usage(format!(
            "--loss-args weight: {} values, expected one per class ({classes})",
            w.len()
        )));
    }
    if w.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(Error::usage(
            "--loss-args weight: expected finite weights >= 0",
        ));
    }
    Ok(Some(w.iter().map(|&x| x as f32).collect()))
}

impl Loss {
    /// The criterion of `--loss name --loss-args args` for a classification (`classify`) or
    /// regression data set with `outputs` outputs (classes); no name is the default.
    /// Errors name the flag, the key and what was expected.
    pub fn build(
        name: Option<&str>,
        args: Option<&str>,
        classify: bool,
        outputs: usize,
    ) -> Result<Loss> {
        let class = match name {
            None if classify => "CrossEntropyLoss",
            None => "MSELoss",
            Some(n) => canonical(n).ok_or_else(|| {
                Error::usage(format!(
                    "--loss {n}: unknown loss, expected one of CrossEntropyLoss, MultiMarginLoss \
                     (classification), MSELoss, L1Loss, HuberLoss, SmoothL1Loss (regression)"
                ))
            })?,
        };
        let classification = matches!(class, "CrossEntropyLoss" | "MultiMarginLoss");
        if classification != classify {
            return Err(Error::usage(format!(
                "--loss {class}: a {} loss, but the data set is a {} task",
                if classification {
                    "classification"
                } else {
                    "regression"
                },
                if classify {
                    "classification"
                } else {
                    "regression"
                }
            )));
        }
        let mut kv = parse_args(args.unwrap_or(""))?;
        let mut take = |key: &str| -> Option<Vec<f64>> {
            kv.iter()
                .position(|(k, _)| k == key)
                .map(|i| kv.remove(i).1)
        };
        let scalar = |key: &str, v: Option<Vec<f64>>, default: f64| -> Result<f32> {
            match v.as_deref() {
                None => Ok(default as f32),
                Some([x]) => Ok(*x as f32),
                Some(_) => Err(Error::usage(format!(
                    "--loss-args {key}: expected one number"
                ))),
            }
        };
        let loss = match class {
            "CrossEntropyLoss" => {
                let label_smoothing = scalar("label_smoothing", take("label_smoothing"), 0.0)?;
                if !(0.0..=1.0).contains(&label_smoothing) {
                    return Err(Error::usage(format!(
                        "--loss-args label_smoothing={label_smoothing}: expected a value in [0, 1]"
                    )));
                }
                Loss::CrossEntropy {
                    weight: class_weights(take("weight"), outputs)?,
                    label_smoothing,
                }
            }
            "MultiMarginLoss" => {
                let p = scalar("p", take("p"), 1.0)?;
                if p != 1.0 && p != 2.0 {
                    return Err(Error::usage(format!("--loss-args p={p}: expected 1 or 2")));
                }
                let margin = scalar("margin", take("margin"), 1.0)?;
                if !margin.is_finite() {
                    return Err(Error::usage(format!(
                        "--loss-args margin={margin}: expected a finite value"
                    )));
                }
                Loss::MultiMargin {
                    p: p as u32,
                    margin,
                    weight: class_weights(take("weight"), outputs)?,
                }
            }
            "MSELoss" => Loss::Mse,
            "L1Loss" => Loss::L1,
            "HuberLoss" => {
                let delta = scalar("delta", take("delta"), 1.0)?;
                if !(delta > 0.0 && delta.is_finite()) {
                    return Err(Error::usage(format!(
                        "--loss-args delta={delta}: expected a finite value > 0"
                    )));
                }
                Loss::Huber { delta }
            }
            _ => {
                let beta = scalar("beta", take("beta"), 1.0)?;
                if !(beta >= 0.0 && beta.is_finite()) {
                    return Err(Error::usage(format!(
                        "--loss-args beta={beta}: expected a finite value >= 0"
                    )));
                }
                Loss::SmoothL1 { beta }
            }
        };
        if let Some((k, _)) = kv.first() {
            let known = match class {
                "CrossEntropyLoss" => "label_smoothing, weight",
                "MultiMarginLoss" => "p, margin, weight",
                "HuberLoss" => "delta",
                "SmoothL1Loss" => "beta",
                _ => "none",
            };
            return Err(Error::usage(format!(
                "--loss-args {k}: not an argument of {class} here (known: {known}; the \
                 reduction is always the mean)"
            )));
        }
        Ok(loss)
    }

    /// PyTorch's class name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::CrossEntropy { .. } => "CrossEntropyLoss",
            Loss::MultiMargin { .. } => "MultiMarginLoss",
            Loss::Mse => "MSELoss",
            Loss::L1 => "L1Loss",
            Loss::Huber { .. } => "HuberLoss",
            Loss::SmoothL1 { .. } => "SmoothL1Loss",
        }
    }

    /// True for the default criteria, which the model computes in its own fused passes
    /// (`Mlp::loss_grad`, `Mlp::loss_grad_regression`).
    pub fn is_builtin(&self) -> bool {
        matches!(
            self,
            Loss::Mse
                | Loss::CrossEntropy {
                    weight: None,
                    label_smoothing: 0.0
                }
        )
    }

    /// The batch's mean loss, its gradient w.r.t. the outputs `z` (`[rows, classes]`) written
    /// to `dz`.
    pub fn forward_backward(
        &self,
        z: &[f32],
        y: BatchTargets<'_>,
        classes: usize,
        dz: &mut [f32],
        labels: &mut Vec<i64>,
    ) -> descent_core::Result<f32> {
        eval::<f32>(self, z, y, classes, Reduction::Mean, Some(dz), labels)
    }

    /// The sum of the per-sample losses (per-element for the regression losses), in f64: the
    /// evaluation's numerator. Divide by the rows (classification) or the rows × outputs
    /// (regression), as the mean in training does.
    pub fn sum_f64(
        &self,
        z: &[f32],
        y: BatchTargets<'_>,
        classes: usize,
        labels: &mut Vec<i64>,
    ) -> descent_core::Result<f64> {
        let z64: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        eval::<f64>(self, &z64, y, classes, Reduction::Sum, None, labels)
    }
}

/// A float type the criteria are evaluated in: `f32` in training, `f64` in evaluation.
trait Real: descent_core::Float {
    /// `x` as a slice of `Self`: `x` itself for `f32` (no copy in training), converted into
    /// `buf` for `f64`.
    fn slice<'a>(x: &'a [f32], buf: &'a mut Vec<Self>) -> &'a [Self];
    fn of(x: f32) -> Self;
}
impl Real for f32 {
    fn slice<'a>(x: &'a [f32], _: &'a mut Vec<f32>) -> &'a [f32] {
        x
    }
    fn of(x: f32) -> Self {
        x
    }
}
impl Real for f64 {
    fn slice<'a>(x: &'a [f32], buf: &'a mut Vec<f64>) -> &'a [f64] {
        buf.clear();
        buf.extend(x.iter().map(|&v| v as f64));
        buf
    }
    fn of(x: f32) -> Self {
        x as f64
    }
}

/// `forward_backward` into `dz` when there is one, else `forward` (no gradient computed).
macro_rules! run {
    ($loss:expr, $dz:expr, $($arg:expr),+) => {
        match $dz {
            Some(d) => $loss.forward_backward($($arg),+, &mut [], d),
            None => $loss.forward($($arg),+, &mut []),
        }
    };
}

fn eval<T: Real>(
    loss: &Loss,
    z: &[T],
    y: BatchTargets<'_>,
    classes: usize,
    reduction: Reduction,
    dz: Option<&mut [T]>,
    labels: &mut Vec<i64>,
) -> descent_core::Result<T> {
    let (mut wbuf, mut tbuf) = (Vec::new(), Vec::new());
    match (loss, y) {
        (
            Loss::CrossEntropy {
                weight,
                label_smoothing,
            },
            BatchTargets::Labels(l),
        ) => {
            labels.clear();
            labels.extend(l.iter().map(|&c| c as i64));
            let w = weight.as_deref().map(|w| T::slice(w, &mut wbuf));
            let ce = CrossEntropyLoss::new(w, -100, reduction, T::of(*label_smoothing));
            run!(ce, dz, z, labels, classes)
        }
        (Loss::MultiMargin { p, margin, weight }, BatchTargets::Labels(l)) => {
            labels.clear();
            labels.extend(l.iter().map(|&c| c as i64));
            let w = weight.as_deref().map(|w| T::slice(w, &mut wbuf));
            let mm = MultiMarginLoss::new(*p, T::of(*margin), w, reduction);
            run!(mm, dz, z, labels, classes)
        }
        (_, BatchTargets::Values(t)) => {
            let t = T::slice(t, &mut tbuf);
            match loss {
                Loss::L1 => run!(L1Loss::new(reduction), dz, z, t),
                Loss::Huber { delta } => run!(HuberLoss::new(reduction, T::of(*delta)), dz, z, t),
                Loss::SmoothL1 { beta } => {
                    run!(SmoothL1Loss::new(reduction, T::of(*beta)), dz, z, t)
                }
                _ => run!(MSELoss::new(reduction), dz, z, t),
            }
        }
        (_, BatchTargets::Labels(_)) => Err(descent_core::Error::InvalidArgument {
            name: "loss",
            value: f64::NAN,
            expected: "a classification loss for class labels",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_by_name_with_pytorch_arguments() {
        assert_eq!(
            Loss::build(None, None, true, 3).unwrap().name(),
            "CrossEntropyLoss"
        );
        assert!(Loss::build(None, None, true, 3).unwrap().is_builtin());
        assert!(Loss::build(None, None, false, 1).unwrap().is_builtin());
        let l = Loss::build(
            Some("ce"),
            Some("label_smoothing=0.1, weight=[1,2,0.5]"),
            true,
            3,
        )
        .unwrap();
        assert_eq!(
            l,
            Loss::CrossEntropy {
                weight: Some(vec![1.0, 2.0, 0.5]),
                label_smoothing: 0.1
            }
        );
        assert!(!l.is_builtin());
        assert_eq!(
            Loss::build(Some("huberloss"), Some("delta=0.5"), false, 2).unwrap(),
            Loss::Huber { delta: 0.5 }
        );
        assert_eq!(
            Loss::build(Some("smooth-l1"), None, false, 2).unwrap(),
            Loss::SmoothL1 { beta: 1.0 }
        );
        assert_eq!(
            Loss::build(Some("MultiMarginLoss"), Some("p=2,margin=0.5"), true, 3).unwrap(),
            Loss::MultiMargin {
                p: 2,
                margin: 0.5,
                weight: None
            }
        );
        for (name, args, classify, msg) in [
            ("warp", "", true, "unknown loss"),
            ("mse", "", true, "regression loss"),
            ("ce", "", false, "classification loss"),
            ("ce", "label_smoothing=2", true, "[0, 1]"),
            ("ce", "weight=[1,2]", true, "one per class"),
            ("ce", "weight=[1,-2,1]", true, ">= 0"),
            ("huber", "delta=0", false, "> 0"),
            ("multi-margin", "p=3", true, "1 or 2"),
            ("multi-margin", "", false, "classification loss"),
            ("multi-margin", "weight=[1]", true, "one per class"),
            ("huber", "delta=1,beta=2", false, "known: delta"),
            ("mse", "reduction=1", false, "mean"),
            ("huber", "delta", false, "key=value"),
            ("huber", "delta=x", false, "not a number"),
            ("smooth-l1", "beta=[1,2]", false, "one number"),
        ] {
            let e = Loss::build(Some(name), Some(args), classify, 3)
                .unwrap_err()
                .to_string();
            assert!(e.contains(msg), "{name} {args}: {e}");
        }
    }

    #[test]
    fn training_and_evaluation_values_agree() {
        let z = [0.5f32, -1.0, 2.0, 0.0, 1.5, -0.5];
        let mut labels = Vec::new();
        let mut dz = [0.0f32; 6];
        let ce = Loss::build(Some("ce"), Some("label_smoothing=0.2"), true, 3).unwrap();
        let y = BatchTargets::Labels(&[2, 0]);
        let mean = ce.forward_backward(&z, y, 3, &mut dz, &mut labels).unwrap();
        let sum = ce.sum_f64(&z, y, 3, &mut labels).unwrap();
        assert!((mean as f64 - sum / 2.0).abs() < 1e-6, "{mean} vs {sum}");
        let t = [0.0f32, 0.0, 1.0, 1.0, 1.0, 1.0];
        let h = Loss::build(Some("huber"), Some("delta=0.5"), false, 3).unwrap();
        let y = BatchTargets::Values(&t);
        let mean = h.forward_backward(&z, y, 3, &mut dz, &mut labels).unwrap();
        let sum = h.sum_f64(&z, y, 3, &mut labels).unwrap();
        assert!((mean as f64 - sum / 6.0).abs() < 1e-6, "{mean} vs {sum}");
        assert_eq!(dz[2], 0.5 / 6.0); // clamped at delta, mean over 6
        let mm = Loss::build(Some("hinge"), None, true, 3).unwrap();
        let y = BatchTargets::Labels(&[2, 0]);
        let mean = mm.forward_backward(&z, y, 3, &mut dz, &mut labels).unwrap();
        let sum = mm.sum_f64(&z, y, 3, &mut labels).unwrap();
        assert!((mean as f64 - sum / 2.0).abs() < 1e-6, "{mean} vs {sum}");
    }
}
