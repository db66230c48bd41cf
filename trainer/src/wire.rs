//! Wiring: build a run's [`Parts`] (data splits, model, batch order, optimizer, scheduler,
//! initialized parameters) from `descent train`'s arguments, using the data layer
//! (`crate::data`, `crate::loader`) and descent-core's models, losses and regularizers.

use crate::cli::{ModelKind, TrainArgs};
use crate::error::{Error, Result};
use crate::task::{BatchOrder, Net, Splits};
use crate::train::Parts;

/// The model family a run uses: `--model`, or mlp for classification and linear for
/// regression.
pub fn model_kind(args: &TrainArgs, data: &Splits) -> ModelKind {
    args.model
        .unwrap_or(if data.train.targets.is_classification() {
            ModelKind::Mlp
        } else {
            ModelKind::Linear
        })
}

/// Name of the model family.
pub fn model_name(args: &TrainArgs, data: &Splits) -> String {
    match model_kind(args, data) {
        ModelKind::Linear => "linear",
        ModelKind::Softmax => "softmax",
        ModelKind::Mlp => "mlp",
    }
    .to_string()
}

/// Load and split the data set named by `--dataset`.
pub fn load_data(args: &TrainArgs) -> Result<Splits> {
    Err(Error::Runtime(format!(
        "--dataset {}: the data layer (trainer/src/data) has not been merged into this build yet",
        args.dataset
    )))
}

/// Build the model for `data`.
pub fn build_net(args: &TrainArgs, data: &Splits) -> Result<Box<dyn Net>> {
    Err(Error::Runtime(format!(
        "--model {}: descent-core's models have not been merged into this build yet",
        model_name(args, data)
    )))
}

/// The shuffled mini-batch order over the training split.
pub fn build_order(args: &TrainArgs, data: &Splits) -> Result<Box<dyn BatchOrder>> {
    let _ = data;
    Err(Error::Runtime(format!(
        "--batch-size {}: the loader (trainer/src/loader.rs) has not been merged into this build yet",
        args.batch_size
    )))
}

/// Add `l1 * Σ|θ| + l2/2 * Σθ²` to the loss (returned) and its gradient to `grad`.
pub fn penalty(params: &[f32], grad: &mut [f32], l1: f64, l2: f64) -> Result<f64> {
    let _ = (params, grad);
    Err(Error::Runtime(format!(
        "--l1 {l1} / --l2 {l2}: descent-core's regularizers have not been merged into this build yet"
    )))
}

/// Everything a run needs, built and initialized from `args`.
pub fn build(args: &TrainArgs) -> Result<Parts> {
    crate::train::validate(args)?;
    // Hyperparameters first: a bad one fails before any data is read.
    let probe = crate::optimizer::build(args, 0)?;
    if let Some(name) = &args.scheduler {
        let lr0 = probe.lr(0).map_err(|e| Error::core("optimizer", e))?;
        crate::schedule::build(name, args.sched_args.as_deref(), lr0)?;
    }
    let data = load_data(args)?;
    let mut net = build_net(args, &data)?;
    let order = build_order(args, &data)?;
    let mut params = vec![0f32; net.n_params()];
    net.init(&mut params, args.seed)?;
    let opt = crate::optimizer::build(args, params.len())?;
    let lr0 = opt.lr(0).map_err(|e| Error::core("optimizer", e))?;
    let sched = match &args.scheduler {
        Some(name) => Some(crate::schedule::build(
            name,
            args.sched_args.as_deref(),
            lr0,
        )?),
        None => {
            if args.sched_args.is_some() {
                return Err(Error::usage("--sched-args needs --scheduler"));
            }
            None
        }
    };
    Ok(Parts {
        data,
        net,
        order,
        opt,
        sched,
        params,
    })
}
