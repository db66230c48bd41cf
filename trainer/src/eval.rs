//! Evaluation outside the loop: `descent eval --checkpoint`, and the closed-form
//! least-squares comparison reported for regression runs.

use crate::checkpoint::Checkpoint;
use crate::cli::{EvalArgs, TrainArgs};
use crate::error::{Error, Result};
use crate::task::{Net, Splits, Targets};
use descent_core::linalg;
use serde::{Deserialize, Serialize};

/// Regression report: the learned linear coefficients against the closed-form least-squares
/// optimum on the training split and, for synthetic data, against the true coefficients.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeastSquares {
    /// ‖θ − θ̂‖₂: learned coefficients (weights then bias) minus the least-squares solution.
    pub distance_to_optimum: f64,
    /// Training MSE at the learned coefficients.
    pub train_mse: f64,
    /// Training MSE at the least-squares solution (the lowest possible).
    pub optimum_train_mse: f64,
    /// ‖θ − θ_true‖₂ when the data are synthetic with known coefficients and unscaled.
    pub distance_to_true: Option<f64>,
    /// ‖θ̂ − θ_true‖₂ (how far noise puts even the optimum).
    pub optimum_distance_to_true: Option<f64>,
}

/// For a single-output linear model: compare its parameters with the least-squares solution
/// of `[X 1] θ = y` on the training split. `None` when the model is not one linear layer with
/// one output or the normal equations are singular.
pub fn least_squares(
    data: &Splits,
    net: &mut dyn Net,
    params: &[f32],
) -> Result<Option<LeastSquares>> {
    let layers = net.layers();
    let Targets::Values { y, outputs: 1 } = &data.train.targets else {
        return Ok(None);
    };
    if layers.len() != 1 || layers[0].fan_out != 1 {
        return Ok(None);
    }
    let m = data.features;
    let n = m + 1;
    let rows = data.train.rows;
    let x = &data.train.x;
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let y64: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    let mut theta_hat = vec![0f64; n];
    let mut scratch = vec![0f64; linalg::newton_scratch_len(m, true)];
    if linalg::least_squares_optimum(&x64, &y64, rows, m, 1, true, &mut theta_hat, &mut scratch)
        .is_err()
    {
        return Ok(None); // singular normal equations: no unique optimum to compare with
    }
    let theta: Vec<f64> = params.iter().map(|&v| v as f64).collect();
    let mse = |t: &[f64]| -> f64 {
        let mut s = 0.0;
        for r in 0..rows {
            let mut p = t[m];
            for j in 0..m {
                p += t[j] * x[r * m + j] as f64;
            }
            let d = p - y[r] as f64;
            s += d * d;
        }
        s / rows.max(1) as f64
    };
    let dist = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q) * (p - q))
            .sum::<f64>()
            .sqrt()
    };
    // The synthetic data's true coefficients have no intercept: compare with bias 0.
    let truth: Option<Vec<f64>> = data.theta_true.as_ref().and_then(|t| match t.len() {
        l if l == n => Some(t.clone()),
        l if l == m => Some(t.iter().copied().chain([0.0]).collect()),
        _ => None,
    });
    let truth = truth.as_deref();
    Ok(Some(LeastSquares {
        distance_to_optimum: dist(&theta, &theta_hat),
        train_mse: mse(&theta),
        optimum_train_mse: mse(&theta_hat),
        distance_to_true: truth.map(|t| dist(&theta, t)),
        optimum_distance_to_true: truth.map(|t| dist(&theta_hat, t)),
    }))
}

/// Result of `descent eval`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalReport {
    /// Checkpoint evaluated.
    pub checkpoint: String,
    /// Split evaluated.
    pub split: String,
    /// Rows evaluated.
    pub rows: usize,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy (classification).
    pub accuracy: Option<f64>,
}

/// `descent eval`: rebuild the run's data and model from the configuration stored in the
/// checkpoint, load the parameters and evaluate one split.
pub fn run_eval(args: &EvalArgs) -> Result<EvalReport> {
    let path = &args.checkpoint;
    let c = Checkpoint::load(path)?;
    let mut cfg: TrainArgs = serde_json::from_str(c.meta("config", path)?)
        .map_err(|e| Error::io(path, format!("bad `config` metadata: {e}")))?;
    if let Some(d) = &args.data_dir {
        cfg.data_dir = Some(d.clone());
    }
    let data = crate::wire::load_data(&cfg)?;
    let mut net = crate::wire::build_net(&cfg, &data)?;
    let params = c.params(&net.layers(), path)?;
    let split = match args.split.as_str() {
        "train" => Some(&data.train),
        "val" | "validation" => data.val.as_ref(),
        "test" => data.test.as_ref(),
        other => {
            return Err(Error::usage(format!(
                "--split {other}: expected train, val or test"
            )))
        }
    }
    .ok_or_else(|| {
        Error::usage(format!(
            "--split {}: this data set has no such split",
            args.split
        ))
    })?;
    let m = crate::train::evaluate(&mut *net, &params, split, data.features)?;
    let report = EvalReport {
        checkpoint: path.display().to_string(),
        split: args.split.clone(),
        rows: split.rows,
        loss: m.loss,
        accuracy: m.accuracy,
    };
    if let Some(p) = &args.summary_json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Runtime(format!("summary: {e}")))?;
        crate::checkpoint::write_atomic(p, text.as_bytes())?;
    }
    Ok(report)
}
