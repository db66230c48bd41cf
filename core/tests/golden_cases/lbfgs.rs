//! Golden runner for `LBFGS` cases (`optimizers_lbfgs.json`): runs [`Lbfgs`] in f64 on the
//! case's deterministic objective (closed-form gradient) and compares the parameters and the
//! returned loss after every `step(closure)`.
use super::optim_common::rosenbrock;
use super::{close, field, floats_field};
use descent_core::optim::{Lbfgs, LbfgsConfig, LineSearch};
use serde_json::{Map, Value};

/// f64 end to end; the remaining differences are the objective's rounding (PyTorch sums and
/// differentiates the same formula in another order), which L-BFGS's steps carry forward.
const ATOL: f64 = 1e-12;
const RTOL: f64 = 1e-7;

fn config(hp: &Map<String, Value>) -> Result<LbfgsConfig, String> {
    let mut c = LbfgsConfig::default();
    for (k, v) in hp {
        let num = || v.as_f64().ok_or(format!("`{k}` is not a number: {v}"));
        let int = || {
            v.as_u64()
                .map(|x| x as usize)
                .ok_or(format!("`{k}` is not an integer: {v}"))
        };
        match k.as_str() {
            "lr" => c.lr = num()?,
            "max_iter" => c.max_iter = int()?,
            "max_eval" => c.max_eval = if v.is_null() { None } else { Some(int()?) },
            "tolerance_grad" => c.tolerance_grad = num()?,
            "tolerance_change" => c.tolerance_change = num()?,
            "history_size" => c.history_size = int()?,
            "line_search_fn" => {
                c.line_search_fn = match v.as_str() {
                    None if v.is_null() => LineSearch::None,
                    Some("strong_wolfe") => LineSearch::StrongWolfe,
                    _ => return Err(format!("unknown line_search_fn {v}")),
                }
            }
            other => return Err(format!("unknown hyperparameter `{other}`")),
        }
    }
    Ok(c)
}

/// ½ (x − c)ᵀ A (x − c), gradient A (x − c) (A symmetric).
fn quadratic(a: &[f64], c: &[f64], x: &[f64], g: &mut [f64]) -> f64 {
    let n = x.len();
    let d: Vec<f64> = x.iter().zip(c).map(|(x, c)| x - c).collect();
    let mut f = 0.0;
    for i in 0..n {
        g[i] = (0..n).map(|j| a[i * n + j] * d[j]).sum();
        f += d[i] * g[i];
    }
    0.5 * f
}

pub fn run(case: &Value) -> Result<(), String> {
    let empty = Map::new();
    let hp = match case.get("hyperparams") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(v) => return Err(format!("`hyperparams` is not an object: {v}")),
    };
    let dim = field(case, "dim")?
        .as_u64()
        .ok_or("`dim` is not an integer")? as usize;
    let steps = field(case, "steps")?
        .as_u64()
        .ok_or("`steps` is not an integer")? as usize;
    let theta0 = floats_field(case, "theta0")?;
    let thetas = floats_field(case, "thetas")?;
    let losses = floats_field(case, "losses")?;
    if dim < 2 || steps == 0 || theta0.len() != dim || thetas.len() != dim * steps {
        return Err("array lengths do not match dim / steps".into());
    }
    if losses.len() != steps {
        return Err("`losses` length differs from `steps`".into());
    }
    let objective = field(case, "objective")?
        .as_str()
        .ok_or("`objective` is not a string")?;
    let (a, c) = match objective {
        "rosenbrock" => (Vec::new(), Vec::new()),
        "quadratic" => {
            let (a, c) = (floats_field(case, "A")?, floats_field(case, "c")?);
            if a.len() != dim * dim || c.len() != dim {
                return Err("`A` / `c` shapes do not match dim".into());
            }
            (a, c)
        }
        other => return Err(format!("unknown objective `{other}`")),
    };
    let mut opt = Lbfgs::<f64, Vec<f64>>::owned(config(hp)?, dim).map_err(|e| e.to_string())?;
    let mut x = theta0;
    for t in 0..steps {
        let loss = opt
            .step(&mut x, |x, g| match objective {
                "rosenbrock" => rosenbrock(x, g),
                _ => quadratic(&a, &c, x, g),
            })
            .map_err(|e| e.to_string())?;
        close(
            &format!("loss of step {}", t + 1),
            &[loss],
            &losses[t..t + 1],
            ATOL,
            RTOL,
        )?;
        close(
            &format!("theta after step {}", t + 1),
            &x,
            &thetas[t * dim..(t + 1) * dim],
            ATOL,
            RTOL,
        )?;
    }
    Ok(())
}
