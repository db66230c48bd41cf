//! Wiring: build a run's [`Parts`] (data splits, model, batch order, optimizer, scheduler,
//! initialized parameters) from `descent train`'s arguments, using the data layer
//! (`crate::data`, `crate::loader`) and descent-core's models, losses and regularizers.

use crate::checkpoint::LayerShape;
use crate::cli::{ModelKind, OpsKind, TrainArgs};
use crate::data::{load_named, LoadOptions};
use crate::error::{Error, Result};
use crate::loader::{Loader, Sampling};
use crate::loss::Loss;
use crate::task::{BatchOrder, BatchTargets, Net, Splits};
use crate::train::Parts;
use descent_core::model::{Mlp, Task};
use descent_core::{Activation, Ops, Reference};

/// A descent-core [`Mlp`] (linear / softmax regression / MLP) with its dense-operation
/// implementation and a scratch buffer, as a [`Net`].
#[derive(Debug, Clone)]
pub struct CoreNet<O> {
    mlp: Mlp,
    ops: O,
    loss: Loss,
    scratch: Vec<f32>,
    labels: Vec<i64>,
}

impl<O> CoreNet<O> {
    /// Wrap `mlp`, computing with `ops` and training with `loss`.
    pub fn new(mlp: Mlp, ops: O, loss: Loss) -> Self {
        Self {
            mlp,
            ops,
            loss,
            scratch: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Grow the scratch buffer for `rows` rows; returns the length needed. A buffer that
    /// does not fit in memory is a usage error (a failed allocation would abort the process).
    fn reserve(&mut self, rows: usize) -> Result<usize> {
        let need = self.mlp.scratch_len(rows);
        if self.scratch.len() < need {
            self.scratch = crate::optimizer::try_zeroed(need).ok_or_else(|| {
                Error::usage(format!(
                    "--model: its working memory for batches of {rows} rows ({need} elements, {:.3e} bytes) does not fit in memory; expected a smaller model or batch",
                    4.0 * need as f64
                ))
            })?;
        }
        Ok(need)
    }
}

fn model_err(e: descent_core::Error) -> Error {
    Error::core("model", e)
}

impl<O: Ops<f32> + Send> Net for CoreNet<O> {
    fn layers(&self) -> Vec<LayerShape> {
        self.mlp
            .dims()
            .windows(2)
            .map(|w| LayerShape {
                fan_in: w[0],
                fan_out: w[1],
            })
            .collect()
    }

    fn outputs(&self) -> usize {
        self.mlp.outputs()
    }

    fn init(&mut self, params: &mut [f32], seed: u64) -> Result<()> {
        self.mlp.init(params, seed).map_err(model_err)
    }

    fn loss_grad(
        &mut self,
        params: &[f32],
        x: &[f32],
        y: BatchTargets<'_>,
        rows: usize,
        grad: &mut [f32],
    ) -> Result<f32> {
        let mlp = self.mlp;
        let need = self.reserve(rows)?;
        let scratch = &mut self.scratch[..need];
        if !self.loss.is_builtin() {
            let (loss, labels, c) = (&self.loss, &mut self.labels, mlp.outputs());
            return mlp
                .loss_grad_with(&self.ops, params, x, rows, scratch, grad, |z, dz| {
                    loss.forward_backward(z, y, c, dz, labels)
                })
                .map_err(|e| Error::core(format!("--loss {}", self.loss.name()), e));
        }
        match y {
            BatchTargets::Labels(l) => mlp.loss_grad(&self.ops, params, x, l, rows, scratch, grad),
            BatchTargets::Values(t) => {
                mlp.loss_grad_regression(&self.ops, params, x, t, rows, scratch, grad)
            }
        }
        .map_err(model_err)
    }

    fn loss_sum(&mut self, out: &[f32], y: BatchTargets<'_>) -> Result<f64> {
        self.loss
            .sum_f64(out, y, self.mlp.outputs(), &mut self.labels)
            .map_err(|e| Error::core(format!("--loss {}", self.loss.name()), e))
    }

    fn forward(&mut self, params: &[f32], x: &[f32], rows: usize, out: &mut [f32]) -> Result<()> {
        let mlp = self.mlp;
        let need = self.reserve(rows)?;
        let o = mlp
            .forward(&self.ops, params, x, rows, &mut self.scratch[..need])
            .map_err(model_err)?;
        out[..o.len()].copy_from_slice(o);
        Ok(())
    }
}

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

/// Load, split and scale the data set named by `--dataset` (the data layer's
/// [`load_named`]).
pub fn load_data(args: &TrainArgs) -> Result<Splits> {
    let opts = LoadOptions {
        data_dir: args.data_dir.clone(),
        val_fraction: args.val_fraction,
        test_fraction: args.test_fraction,
        seed: args.seed,
        synthetic: (args.synthetic_n, args.synthetic_m, args.synthetic_sigma),
        ..LoadOptions::default()
    };
    load_named(&args.dataset, &opts)
        .map_err(|e| Error::usage(format!("--dataset {}: {e}", args.dataset)))
}

/// `--activation NAME[:KEY=VALUE,...]`: an activation name with PyTorch's parameter names
/// ([`Activation`]'s `FromStr`), or a usage error naming the flag and what was expected.
pub fn parse_activation(spec: &str) -> Result<Activation> {
    spec.parse()
        .map_err(|e| Error::usage(format!("--activation {spec}: {e}")))
}

/// Build the model for `data`: `linear` (one layer, MSE; needs real-valued targets),
/// `softmax` (one layer, cross-entropy; needs class labels) or `mlp` (`--hidden` widths,
/// `--activation`, the loss the targets call for).
pub fn build_net(args: &TrainArgs, data: &Splits) -> Result<Box<dyn Net>> {
    let kind = model_kind(args, data);
    let classify = data.train.targets.is_classification();
    let task = if classify {
        Task::Classification
    } else {
        Task::Regression
    };
    let (inputs, outputs) = (data.features, data.train.targets.width());
    let act = parse_activation(&args.activation)?;
    let mut dims = vec![inputs];
    match kind {
        ModelKind::Linear if classify => {
            return Err(Error::usage(format!(
            "--model linear: --dataset {} is a classification data set; use --model softmax or mlp",
            args.dataset
        )))
        }
        ModelKind::Softmax if !classify => {
            return Err(Error::usage(format!(
                "--model softmax: --dataset {} is a regression data set; use --model linear or mlp",
                args.dataset
            )))
        }
        ModelKind::Linear | ModelKind::Softmax => {}
        ModelKind::Mlp => dims.extend_from_slice(&args.hidden),
    }
    dims.push(outputs);
    let mlp = Mlp::new(&dims, act, true, task).map_err(|e| {
        Error::core(
            format!(
                "--model {} with layer widths {dims:?}",
                model_name(args, data)
            ),
            e,
        )
    })?;
    let loss = Loss::build(
        args.loss.as_deref(),
        args.loss_args.as_deref(),
        classify,
        outputs,
    )?;
    Ok(match args.ops {
        OpsKind::Reference => Box::new(CoreNet::new(mlp, Reference, loss)),
        OpsKind::Fast => Box::new(CoreNet::new(mlp, descent_kernels::Fast, loss)),
    })
}

/// The mini-batch order over the training split (the data layer's
/// [`Loader`]).
pub fn build_order(args: &TrainArgs, data: &Splits) -> Result<Box<dyn BatchOrder>> {
    let sampling = Sampling::from_name(&args.sampling).ok_or_else(|| {
        Error::usage(format!(
            "--sampling {}: expected shuffle, replacement or sequential",
            args.sampling
        ))
    })?;
    let l = Loader::new(
        data.train.rows,
        args.batch_size,
        sampling,
        args.drop_last,
        args.seed,
    )
    .map_err(|e| Error::usage(e.to_string()))?;
    Ok(Box::new(l))
}

/// Add `l1 * Σ|θ| + l2/2 * Σθ²` over every parameter (weights and biases, as PyTorch's
/// `weight_decay`) to the loss (returned) and its (sub)gradient to `grad`, with descent-core's
/// [`L1Penalty`](descent_core::regularize::L1Penalty) /
/// [`L2Penalty`](descent_core::regularize::L2Penalty).
pub fn penalty(params: &[f32], grad: &mut [f32], l1: f64, l2: f64) -> Result<f64> {
    use descent_core::regularize::{L1Penalty, L2Penalty};
    let mut total = 0f64;
    if l1 > 0.0 {
        let p = L1Penalty::new(l1 as f32).map_err(|e| Error::core("--l1", e))?;
        total += p
            .accumulate_grad(params, grad)
            .map_err(|e| Error::core("--l1", e))? as f64;
    }
    if l2 > 0.0 {
        let p = L2Penalty::new(l2 as f32).map_err(|e| Error::core("--l2", e))?;
        total += p
            .accumulate_grad(params, grad)
            .map_err(|e| Error::core("--l2", e))? as f64;
    }
    Ok(total)
}

/// The default optimizer for `data` when `--optimizer` is not given: Adam (PyTorch's
/// defaults) for classification; SGD with lr 0.05 (unless `--lr`) for regression, whose
/// standardized least-squares problems it solves quickly.
pub fn with_default_optimizer(args: &TrainArgs, data: &Splits) -> TrainArgs {
    let mut a = args.clone();
    if data.train.targets.is_classification() {
        a.optimizer = Some("adam".into());
    } else {
        a.optimizer = Some("sgd".into());
        a.lr = a.lr.or(Some(0.05));
    }
    a
}

/// A scheduler that cycles momentum (`CyclicLR` / `OneCycleLR` with PyTorch's default
/// `cycle_momentum=True`) needs an optimizer with a momentum or `betas` (PyTorch raises
/// ValueError otherwise).
fn check_cycle_momentum(opt: &dyn crate::optimizer::Stepper, args: &TrainArgs) -> Result<()> {
    if opt.momentum().is_some() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--scheduler {}: cycle_momentum=True (the default) needs an optimizer with momentum or \
         betas (sgd, rmsprop, adam, adamw, adamax, nadam, radam), not {}; pass --sched-args \
         cycle_momentum=false",
        args.scheduler.as_deref().unwrap_or(""),
        opt.torch_name()
    )))
}

/// The model's parameter vector, zeroed; a model too large for memory (a huge `--hidden`, or
/// a CSV label column that makes a billion classes) is a usage error naming the layer widths,
/// not an allocation failure that aborts the process.
fn zeroed_params(net: &dyn Net, args: &TrainArgs, data: &Splits) -> Result<Vec<f32>> {
    let n = net.n_params();
    crate::optimizer::try_zeroed(n).ok_or_else(|| {
        let layers = net.layers();
        let mut dims: Vec<usize> = layers.iter().map(|l| l.fan_in).collect();
        dims.extend(layers.last().map(|l| l.fan_out));
        Error::usage(format!(
            "--model {} with layer widths {dims:?}: {n} parameters ({:.3e} bytes) do not fit in memory; expected a smaller model",
            model_name(args, data),
            4.0 * n as f64
        ))
    })
}

/// Everything a run needs, built and initialized from `args`.
pub fn build(args: &TrainArgs) -> Result<Parts> {
    crate::train::validate(args)?;
    // Hyperparameters first: a bad one fails before any data is read (with the default
    // optimizer, which depends on the data, after loading).
    if args.optimizer.is_some() {
        let probe = crate::optimizer::build(args, 0)?;
        if let Some(name) = &args.scheduler {
            let s = crate::schedule::build(name, args.sched_args.as_deref(), probe.lr())?;
            if s.momentum().is_some() {
                check_cycle_momentum(&*probe, args)?;
            }
        }
    }
    let data = load_data(args)?;
    let resolved;
    let args = if args.optimizer.is_none() {
        resolved = with_default_optimizer(args, &data);
        &resolved
    } else {
        args
    };
    let mut net = build_net(args, &data)?;
    let order = build_order(args, &data)?;
    let mut params = zeroed_params(&*net, args, &data)?;
    net.init(&mut params, args.seed)?;
    let layers = net.layers();
    debug_assert_eq!(crate::checkpoint::n_params(&layers), params.len());
    let mut opt = crate::optimizer::build_for(args, &layers)?;
    let lr0 = opt.lr();
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
    if let Some(m) = sched.as_ref().and_then(|s| s.momentum()) {
        check_cycle_momentum(&*opt, args)?;
        // PyTorch's scheduler sets the momentum before the first step, so an SGD / RMSprop
        // built with momentum 0 gets its momentum buffer: build it with the cycled value.
        if opt.momentum() == Some(0.0) && m != 0.0 {
            let mut with_momentum = args.clone();
            with_momentum.momentum = Some(m);
            opt = crate::optimizer::build_for(&with_momentum, &layers)?;
        }
    }
    Ok(Parts {
        data,
        net,
        order,
        opt,
        sched,
        params,
    })
}
