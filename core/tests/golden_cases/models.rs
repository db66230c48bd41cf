//! Golden runner for `models.json`: forward output, loss and every parameter gradient of
//! `Mlp` (computed in f32 with the `Reference` ops) against PyTorch.
use super::{close, field, floats_field, ints_field};
use descent_core::{Activation, Mlp, Reference, Task};
use serde_json::Value;

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-4;

/// Run one case; `Err` describes the mismatch.
pub fn run(case: &Value) -> Result<(), String> {
    let kind = field(case, "kind")?
        .as_str()
        .ok_or("`kind` is not a string")?;
    let dims: Vec<usize> = ints_field(case, "dims")?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| format!("bad dim {d}")))
        .collect::<Result<_, _>>()?;
    let act_name = field(case, "activation")?
        .as_str()
        .ok_or("`activation` not a string")?;
    let act: Activation = act_name
        .parse()
        .map_err(|e| format!("activation {act_name}: {e}"))?;
    let loss = field(case, "loss")?.as_str().ok_or("`loss` not a string")?;
    let (bias, task) = match (kind, loss) {
        ("linear", "MSELoss") => (true, Task::Regression),
        ("linear_nobias", "MSELoss") => (false, Task::Regression),
        ("classifier", "CrossEntropyLoss") => (true, Task::Classification),
        (k, l) => return Err(format!("unsupported kind/loss {k}/{l}")),
    };
    let batch = field(case, "batch")?
        .as_u64()
        .ok_or("`batch` not an integer")? as usize;
    let model = Mlp::new(&dims, act, bias, task).map_err(|e| e.to_string())?;

    // Assemble the flat parameter vector from the named tensors, checking names and order.
    let params_json = field(case, "params")?
        .as_array()
        .ok_or("`params` not an array")?;
    let infos: Vec<_> = model.params().collect();
    if infos.len() != params_json.len() {
        return Err(format!(
            "{} tensors, model has {}",
            params_json.len(),
            infos.len()
        ));
    }
    let mut params = vec![0f32; model.num_params()];
    let mut want_grad = vec![0f64; model.num_params()];
    for (info, pj) in infos.iter().zip(params_json) {
        let name = field(pj, "name")?
            .as_str()
            .ok_or("param name not a string")?;
        if name != info.to_string() {
            return Err(format!("tensor {name} where the layout has {info}"));
        }
        let shape = ints_field(pj, "shape")?;
        let want_shape: Vec<i64> = match info.kind {
            descent_core::model::ParamKind::Weight => vec![info.rows as i64, info.cols as i64],
            descent_core::model::ParamKind::Bias => vec![info.rows as i64],
        };
        if shape != want_shape {
            return Err(format!(
                "{name}: shape {shape:?}, layout expects {want_shape:?}"
            ));
        }
        let v = floats_field(pj, "value")?;
        let g = floats_field(pj, "grad")?;
        if v.len() != info.len() || g.len() != info.len() {
            return Err(format!("{name}: value/grad length mismatch"));
        }
        for (dst, s) in params[info.range()].iter_mut().zip(&v) {
            *dst = *s as f32;
        }
        want_grad[info.range()].copy_from_slice(&g);
    }

    let x: Vec<f32> = floats_field(case, "x")?.iter().map(|&v| v as f32).collect();
    let mut scratch = vec![0f32; model.scratch_len(batch)];
    let out = model
        .forward(&Reference, &params, &x, batch, &mut scratch)
        .map_err(|e| e.to_string())?
        .iter()
        .map(|&v| v as f64)
        .collect::<Vec<_>>();
    close("output", &out, &floats_field(case, "output")?, ATOL, RTOL)?;

    let mut grad = vec![0f32; model.num_params()];
    let target_kind = field(case, "target_kind")?.as_str().ok_or("target_kind")?;
    let loss_value = match (task, target_kind) {
        (Task::Classification, "class_index") => {
            let labels: Vec<u32> = ints_field(case, "target")?
                .into_iter()
                .map(|v| u32::try_from(v).map_err(|_| format!("label {v}")))
                .collect::<Result<_, _>>()?;
            model.loss_grad(
                &Reference,
                &params,
                &x,
                &labels,
                batch,
                &mut scratch,
                &mut grad,
            )
        }
        (Task::Regression, "float") => {
            let t: Vec<f32> = floats_field(case, "target")?
                .iter()
                .map(|&v| v as f32)
                .collect();
            model.loss_grad_regression(&Reference, &params, &x, &t, batch, &mut scratch, &mut grad)
        }
        (_, tk) => return Err(format!("unsupported target_kind {tk} for {kind}")),
    }
    .map_err(|e| e.to_string())?;
    let want_loss = field(case, "loss_value")?.as_f64().ok_or("loss_value")?;
    close("loss_value", &[loss_value as f64], &[want_loss], ATOL, RTOL)?;
    let got: Vec<f64> = grad.iter().map(|&g| g as f64).collect();
    for info in &infos {
        close(
            &info.to_string(),
            &got[info.range()],
            &want_grad[info.range()],
            ATOL,
            RTOL,
        )?;
    }
    Ok(())
}
