//! Golden runner for `losses.json`: evaluates each case in f32 with descent-core's losses and
//! compares `output` and `grad_input` with |a-b| <= 1e-5 + 1e-4*|b|.
use super::{close, field, floats_field, ints_field};
use descent_core::loss::{
    BCELoss, BCEWithLogitsLoss, CTCLoss, CTCTargets, CosineEmbeddingLoss, CrossEntropyLoss,
    GaussianNLLLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, KLDivReduction, L1Loss, MSELoss,
    MarginRankingLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, NLLLoss,
    PoissonNLLLoss, Reduction, SmoothL1Loss, SoftMarginLoss, TripletMarginLoss,
};
use descent_core::loss::{
    CosineDistance, Distance, PairwiseDistance, TripletMarginWithDistanceLoss,
};
use serde_json::Value;

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-4;

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn shape(case: &Value, key: &str) -> Result<Vec<usize>, String> {
    Ok(ints_field(case, key)?
        .into_iter()
        .map(|x| x as usize)
        .collect())
}

/// Known parameter names per loss; anything else makes the case fail (never silently ignored).
fn check_params(params: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    for k in params.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("unsupported parameter `{k}`"));
        }
    }
    Ok(())
}

fn param_f32(params: &serde_json::Map<String, Value>, key: &str) -> Result<Option<f32>, String> {
    match params.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(|x| Some(x as f32))
            .ok_or_else(|| format!("parameter `{key}` is not a number")),
    }
}

fn param_vec(
    params: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<f32>>, String> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => super::floats(v)
            .map(|x| Some(to_f32(&x)))
            .map_err(|e| format!("parameter `{key}`: {e}")),
    }
}

/// `[N, C]` from a 2-D (or `[C]` unbatched) class-index input shape.
fn rows_classes(input_shape: &[usize]) -> Result<(usize, usize), String> {
    match input_shape {
        [n, c] => Ok((*n, *c)),
        [c] => Ok((1, *c)),
        other => Err(format!(
            "unsupported input_shape {other:?} (expected [N, C])"
        )),
    }
}

/// Run one case; `Err` describes the mismatch.
pub fn run(case: &Value) -> Result<(), String> {
    let loss = field(case, "loss")?
        .as_str()
        .ok_or("`loss` is not a string")?;
    let empty = serde_json::Map::new();
    let params = match field(case, "params")? {
        Value::Object(m) => m,
        Value::Null => &empty,
        _ => return Err("`params` is not an object".into()),
    };
    let red_s = field(case, "reduction")?
        .as_str()
        .ok_or("`reduction` is not a string")?;
    let reduction = match red_s {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        "batchmean" if loss == "KLDivLoss" => Reduction::Mean, // replaced below
        other => return Err(format!("unknown reduction `{other}`")),
    };
    let input_shape = shape(case, "input_shape")?;
    let input = to_f32(&floats_field(case, "input")?);
    let numel: usize = input_shape.iter().product();
    if numel != input.len() {
        return Err(format!(
            "input has {} values but shape {input_shape:?}",
            input.len()
        ));
    }
    let target_shape = shape(case, "target_shape")?;
    let target_len = super::floats(field(case, "target")?)?.len();
    if target_shape.iter().product::<usize>() != target_len {
        return Err(format!(
            "target has {target_len} values but shape {target_shape:?}"
        ));
    }
    let target_kind = field(case, "target_kind")?
        .as_str()
        .ok_or("`target_kind` is not a string")?;
    let want_out = floats_field(case, "output")?;
    let want_grad = floats_field(case, "grad_input")?;

    let mut grad = vec![0.0f32; input.len()];
    // Per-element output buffer: sized from the expected output for `none`, empty otherwise.
    let mut out = vec![
        0.0f32;
        if reduction == Reduction::None {
            want_out.len()
        } else {
            0
        }
    ];

    let float_target = || -> Result<Vec<f32>, String> {
        if target_kind != "float" {
            return Err(format!("{loss} expects float targets, got `{target_kind}`"));
        }
        Ok(to_f32(&floats_field(case, "target")?))
    };

    let value: f32 = match loss {
        "MSELoss" | "L1Loss" => {
            check_params(params, &[])?;
            let t = float_target()?;
            if loss == "MSELoss" {
                MSELoss::new(reduction).forward_backward(&input, &t, &mut out, &mut grad)
            } else {
                L1Loss::new(reduction).forward_backward(&input, &t, &mut out, &mut grad)
            }
            .map_err(|e| e.to_string())?
        }
        "HuberLoss" => {
            check_params(params, &["delta"])?;
            let t = float_target()?;
            let delta = param_f32(params, "delta")?.unwrap_or(1.0);
            HuberLoss::new(reduction, delta)
                .forward_backward(&input, &t, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "SmoothL1Loss" => {
            check_params(params, &["beta"])?;
            let t = float_target()?;
            let beta = param_f32(params, "beta")?.unwrap_or(1.0);
            SmoothL1Loss::new(reduction, beta)
                .forward_backward(&input, &t, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "NLLLoss" => {
            check_params(params, &["weight", "ignore_index"])?;
            if target_kind != "class_index" {
                return Err(format!(
                    "NLLLoss needs class_index targets, got `{target_kind}`"
                ));
            }
            let (_, c) = rows_classes(&input_shape)?;
            let t = ints_field(case, "target")?;
            let w = param_vec(params, "weight")?;
            let ii = ignore_index(params)?;
            NLLLoss::new(w.as_deref(), ii, reduction)
                .forward_backward(&input, &t, c, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "CrossEntropyLoss" => {
            check_params(params, &["weight", "ignore_index", "label_smoothing"])?;
            let (_, c) = rows_classes(&input_shape)?;
            let w = param_vec(params, "weight")?;
            let ii = ignore_index(params)?;
            let eps = param_f32(params, "label_smoothing")?.unwrap_or(0.0);
            let l = CrossEntropyLoss::new(w.as_deref(), ii, reduction, eps);
            match target_kind {
                "class_index" => {
                    let t = ints_field(case, "target")?;
                    l.forward_backward(&input, &t, c, &mut out, &mut grad)
                }
                "float" => {
                    let t = to_f32(&floats_field(case, "target")?);
                    l.forward_backward_probs(&input, &t, c, &mut out, &mut grad)
                }
                other => return Err(format!("unknown target_kind `{other}`")),
            }
            .map_err(|e| e.to_string())?
        }
        "KLDivLoss" => {
            check_params(params, &["log_target"])?;
            let t = float_target()?;
            let log_target = match params.get("log_target") {
                None => false,
                Some(v) => v.as_bool().ok_or("`log_target` is not a bool")?,
            };
            let red = match red_s {
                "none" => KLDivReduction::None,
                "mean" => KLDivReduction::Mean,
                "sum" => KLDivReduction::Sum,
                _ => KLDivReduction::BatchMean,
            };
            let batch = input_shape.first().copied().unwrap_or(1);
            KLDivLoss::new(red, log_target)
                .forward_backward(&input, &t, batch, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "BCEWithLogitsLoss" => {
            check_params(params, &["weight", "pos_weight"])?;
            let t = float_target()?;
            let w = param_vec(params, "weight")?;
            let pw = param_vec(params, "pos_weight")?;
            BCEWithLogitsLoss::new(w.as_deref(), reduction, pw.as_deref())
                .forward_backward(&input, &t, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "BCELoss" => {
            check_params(params, &["weight"])?;
            let t = float_target()?;
            let w = param_vec(params, "weight")?;
            BCELoss::new(w.as_deref(), reduction)
                .forward_backward(&input, &t, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "PoissonNLLLoss" => {
            check_params(params, &["log_input", "full", "eps"])?;
            let t = float_target()?;
            let d = PoissonNLLLoss::<f32>::default();
            let l = PoissonNLLLoss::new(
                param_bool(params, "log_input")?.unwrap_or(d.log_input),
                param_bool(params, "full")?.unwrap_or(d.full),
                param_f32(params, "eps")?.unwrap_or(d.eps),
                reduction,
            );
            l.forward_backward(&input, &t, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "GaussianNLLLoss" => {
            check_params(params, &["full", "eps"])?;
            let t = float_target()?;
            let var = to_f32(&floats_field(case, "var")?);
            let var_shape = shape(case, "var_shape")?;
            if var_shape.iter().product::<usize>() != var.len() {
                return Err(format!(
                    "var has {} values but shape {var_shape:?}",
                    var.len()
                ));
            }
            let want_gv = floats_field(case, "grad_var")?;
            let d = GaussianNLLLoss::<f32>::default();
            let l = GaussianNLLLoss::new(
                param_bool(params, "full")?.unwrap_or(d.full),
                param_f32(params, "eps")?.unwrap_or(d.eps),
                reduction,
            );
            let mut gv = vec![0.0f32; var.len()];
            let v = l
                .forward_backward(&input, &t, &var, &mut out, &mut grad, &mut gv)
                .map_err(|e| e.to_string())?;
            let got_gv: Vec<f64> = gv.iter().map(|&x| x as f64).collect();
            close("grad_var", &got_gv, &want_gv, ATOL, RTOL)?;
            v
        }
        "SoftMarginLoss" => {
            check_params(params, &[])?;
            let t = float_target()?;
            SoftMarginLoss::new(reduction)
                .forward_backward(&input, &t, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "HingeEmbeddingLoss" => {
            check_params(params, &["margin"])?;
            let t = float_target()?;
            let margin = param_f32(params, "margin")?.unwrap_or(1.0);
            HingeEmbeddingLoss::new(margin, reduction)
                .forward_backward(&input, &t, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "MultiMarginLoss" => {
            check_params(params, &["p", "margin", "weight"])?;
            if target_kind != "class_index" {
                return Err(format!(
                    "{loss} needs class_index targets, got `{target_kind}`"
                ));
            }
            let (_, c) = rows_classes(&input_shape)?;
            let t = ints_field(case, "target")?;
            let p = param_u32(params, "p")?.unwrap_or(1);
            let margin = param_f32(params, "margin")?.unwrap_or(1.0);
            let w = param_vec(params, "weight")?;
            MultiMarginLoss::new(p, margin, w.as_deref(), reduction)
                .forward_backward(&input, &t, c, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "MultiLabelMarginLoss" => {
            check_params(params, &[])?;
            if target_kind != "class_index" {
                return Err(format!(
                    "{loss} needs class_index targets, got `{target_kind}`"
                ));
            }
            let (_, c) = rows_classes(&input_shape)?;
            let t = ints_field(case, "target")?;
            MultiLabelMarginLoss::new(reduction)
                .forward_backward(&input, &t, c, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "MultiLabelSoftMarginLoss" => {
            check_params(params, &["weight"])?;
            let t = float_target()?;
            let (_, c) = rows_classes(&input_shape)?;
            let w = param_vec(params, "weight")?;
            MultiLabelSoftMarginLoss::new(w.as_deref(), reduction)
                .forward_backward(&input, &t, c, &mut out, &mut grad)
                .map_err(|e| e.to_string())?
        }
        "MarginRankingLoss" => {
            check_params(params, &["margin"])?;
            let t = float_target()?;
            let margin = param_f32(params, "margin")?.unwrap_or(0.0);
            let input2 = extra_input(case, "input2", input.len())?;
            let mut grad2 = vec![0.0f32; input.len()];
            let v = MarginRankingLoss::new(margin, reduction)
                .forward_backward(&input, &input2, &t, &mut out, &mut grad, &mut grad2)
                .map_err(|e| e.to_string())?;
            extra_grad(case, "grad_input2", &grad2)?;
            v
        }
        "CosineEmbeddingLoss" => {
            check_params(params, &["margin"])?;
            let t = float_target()?;
            let margin = param_f32(params, "margin")?.unwrap_or(0.0);
            let d = *input_shape.last().ok_or("empty input_shape")?;
            let input2 = extra_input(case, "input2", input.len())?;
            let mut grad2 = vec![0.0f32; input.len()];
            let v = CosineEmbeddingLoss::new(margin, reduction)
                .forward_backward(&input, &input2, &t, d, &mut out, &mut grad, &mut grad2)
                .map_err(|e| e.to_string())?;
            extra_grad(case, "grad_input2", &grad2)?;
            v
        }
        "TripletMarginLoss" => {
            check_params(params, &["margin", "p", "eps", "swap"])?;
            let d = *input_shape.last().ok_or("empty input_shape")?;
            let margin = param_f32(params, "margin")?.unwrap_or(1.0);
            let p = param_f32(params, "p")?.unwrap_or(2.0);
            let eps = param_f32(params, "eps")?.unwrap_or(1e-6);
            let swap = match params.get("swap") {
                None => false,
                Some(v) => v.as_bool().ok_or("`swap` is not a bool")?,
            };
            let positive = extra_input(case, "input2", input.len())?;
            let negative = extra_input(case, "input3", input.len())?;
            let (mut gp, mut gn) = (vec![0.0f32; input.len()], vec![0.0f32; input.len()]);
            let v = TripletMarginLoss::new(margin, p, eps, swap, reduction)
                .forward_backward(
                    &input, &positive, &negative, d, &mut out, &mut grad, &mut gp, &mut gn,
                )
                .map_err(|e| e.to_string())?;
            extra_grad(case, "grad_input2", &gp)?;
            extra_grad(case, "grad_input3", &gn)?;
            v
        }
        "TripletMarginWithDistanceLoss" => {
            check_params(params, &["margin", "swap"])?;
            let d = *input_shape.last().ok_or("empty input_shape")?;
            let margin = param_f32(params, "margin")?.unwrap_or(1.0);
            let swap = param_bool(params, "swap")?.unwrap_or(false);
            let positive = extra_input(case, "input2", input.len())?;
            let negative = extra_input(case, "input3", input.len())?;
            let (mut gp, mut gn) = (vec![0.0f32; input.len()], vec![0.0f32; input.len()]);
            let inputs = (&input[..], &positive[..], &negative[..], d);
            let grads = (&mut grad[..], &mut gp[..], &mut gn[..]);
            let v = match field(case, "distance")? {
                // PyTorch's `distance_function=None`: the default type parameter.
                Value::Null => triplet_with_distance(
                    TripletMarginWithDistanceLoss::<f32> {
                        margin,
                        swap,
                        reduction,
                        ..Default::default()
                    },
                    inputs,
                    &mut out,
                    grads,
                )?,
                Value::Object(desc) => match desc.get("kind").and_then(Value::as_str) {
                    Some("pairwise") => {
                        check_params(desc, &["kind", "p", "eps"])?;
                        let p = param_f32(desc, "p")?.ok_or("pairwise distance without `p`")?;
                        let eps =
                            param_f32(desc, "eps")?.ok_or("pairwise distance without `eps`")?;
                        let dist = PairwiseDistance::new(p, eps);
                        let l = TripletMarginWithDistanceLoss::new(dist, margin, swap, reduction);
                        triplet_with_distance(l, inputs, &mut out, grads)?
                    }
                    Some("cosine") => {
                        check_params(desc, &["kind"])?;
                        let dist = CosineDistance::default();
                        let l = TripletMarginWithDistanceLoss::new(dist, margin, swap, reduction);
                        triplet_with_distance(l, inputs, &mut out, grads)?
                    }
                    other => return Err(format!("unknown distance kind {other:?}")),
                },
                _ => return Err("`distance` is neither null nor an object".into()),
            };
            extra_grad(case, "grad_input2", &gp)?;
            extra_grad(case, "grad_input3", &gn)?;
            v
        }
        "CTCLoss" => {
            check_params(params, &["blank", "zero_infinity"])?;
            if target_kind != "class_index" {
                return Err(format!(
                    "{loss} needs class_index targets, got `{target_kind}`"
                ));
            }
            let (time, c) = match input_shape[..] {
                [t, _, c] => (t, c),
                _ => return Err(format!("{loss} needs input_shape [T, N, C]")),
            };
            let blank = match params.get("blank") {
                None => 0,
                Some(v) => v.as_i64().ok_or("`blank` is not an integer")?,
            };
            let zi = param_bool(params, "zero_infinity")?.unwrap_or(false);
            let t = ints_field(case, "target")?;
            let il = ints_field(case, "input_lengths")?;
            let tl = ints_field(case, "target_lengths")?;
            let targets = match target_shape.len() {
                2 => CTCTargets::Padded(&t),
                1 => CTCTargets::Concatenated(&t),
                _ => return Err(format!("{loss}: target_shape {target_shape:?}")),
            };
            let s_max = tl.iter().copied().max().unwrap_or(0).max(0) as usize;
            let mut scratch = vec![0.0f32; CTCLoss::scratch_len(time, s_max)];
            CTCLoss::new(blank, reduction, zi)
                .forward_backward(
                    &input,
                    targets,
                    &il,
                    &tl,
                    c,
                    &mut scratch,
                    &mut out,
                    &mut grad,
                )
                .map_err(|e| e.to_string())?
        }
        other => return Err(format!("unknown loss `{other}`")),
    };

    let got_out: Vec<f64> = if reduction == Reduction::None && red_s == "none" {
        out.iter().map(|&x| x as f64).collect()
    } else {
        vec![value as f64]
    };
    close("output", &got_out, &want_out, ATOL, RTOL)?;
    let got_grad: Vec<f64> = grad.iter().map(|&x| x as f64).collect();
    close("grad_input", &got_grad, &want_grad, ATOL, RTOL)
}

fn ignore_index(params: &serde_json::Map<String, Value>) -> Result<i64, String> {
    match params.get("ignore_index") {
        None => Ok(-100),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| "`ignore_index` is not an integer".to_string()),
    }
}

fn param_bool(params: &serde_json::Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match params.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| format!("parameter `{key}` is not a bool")),
    }
}
fn param_u32(params: &serde_json::Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    match params.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .map(Some)
            .ok_or_else(|| format!("parameter `{key}` is not a small non-negative integer")),
    }
}

/// A further differentiable input (`input2`, `input3`) of `len` values, as f32.
fn extra_input(case: &Value, key: &str, len: usize) -> Result<Vec<f32>, String> {
    let v = to_f32(&floats_field(case, key)?);
    if v.len() != len {
        return Err(format!("`{key}` has {} values, `input` {len}", v.len()));
    }
    Ok(v)
}

/// Compare the gradient of a further input with the case's `key` (`grad_input2`, ...).
fn extra_grad(case: &Value, key: &'static str, got: &[f32]) -> Result<(), String> {
    let want = floats_field(case, key)?;
    let got: Vec<f64> = got.iter().map(|&x| x as f64).collect();
    close(key, &got, &want, ATOL, RTOL)
}

/// `forward_backward` of a [`TripletMarginWithDistanceLoss`] on `(anchor, positive, negative,
/// D)` with the three gradient buffers.
fn triplet_with_distance<D: Distance<f32>>(
    loss: TripletMarginWithDistanceLoss<f32, D>,
    (a, q, r, d): (&[f32], &[f32], &[f32], usize),
    out: &mut [f32],
    (ga, gq, gr): (&mut [f32], &mut [f32], &mut [f32]),
) -> Result<f32, String> {
    loss.forward_backward(a, q, r, d, out, ga, gq, gr)
        .map_err(|e| e.to_string())
}
