//! Building a descent-core optimizer from `--optimizer NAME` and PyTorch-named flags.
//!
//! Each optimizer accepts exactly the flags its PyTorch constructor has; a flag that does not
//! apply (e.g. `--momentum` with Adam) is a usage error rather than silently ignored. Omitted
//! flags take PyTorch's defaults.

use crate::checkpoint::LayerShape;
use crate::cli::OpsKind;
use crate::cli::{Eps, TrainArgs};
use crate::error::{Error, Result};
use descent_core::optim::{
    AdadeltaConfig, AdafactorConfig, AdagradConfig, AdamConfig, AdamWConfig, AdamaxConfig,
    AdjustLr, AsgdConfig, Group, Lbfgs, LbfgsConfig, LineSearch, MuonConfig, NAdamConfig,
    NsPrecision, Optim, Optimizer, OptimizerKind, RAdamConfig, RandomSearch, RandomSearchConfig,
    RmsPropConfig, RpropConfig, Rule, SgdConfig, Shapes, TensorShape,
};
use descent_core::Result as CoreResult;
use descent_kernels::fused::{step_fused, FusedRule};

use crate::muon::MuonStepper;

/// Names accepted by `--optimizer`.
pub const NAMES: &[&str] = &[
    "sgd",
    "adam",
    "adamw",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adamax",
    "nadam",
    "radam",
    "rprop",
    "asgd",
    "adafactor",
    "muon",
    "lbfgs",
    "random-search",
];

/// What the training loop steps: a first-order optimizer, L-BFGS or random search behind one
/// closure-driven interface (`eval(θ, grad)` returns the loss at θ and writes its gradient).
pub trait Stepper: Send {
    /// PyTorch's class name (`SGD`, `Adam`, `LBFGS`, ...; `RandomSearch`).
    fn torch_name(&self) -> &'static str;
    /// The learning rate (random search: σ).
    fn lr(&self) -> f64;
    /// Set the learning rate (as an LR scheduler does).
    fn set_lr(&mut self, lr: f64) -> CoreResult<()>;
    /// The momentum a schedule may cycle (SGD/RMSprop `momentum`, Adam family `betas[0]`),
    /// `None` if this optimizer has none.
    fn momentum(&self) -> Option<f64> {
        None
    }
    /// Set it, as PyTorch's `CyclicLR` / `OneCycleLR` do with `cycle_momentum`.
    fn set_momentum(&mut self, momentum: f64) -> CoreResult<()> {
        descent_core::optim::no_momentum(momentum)
    }
    /// The average of the iterates the optimizer keeps (ASGD's `ax`), if any.
    fn averaged(&self) -> Option<&[f32]> {
        None
    }
    /// The state as bytes, in a buffer allocated fallibly (an error, not an abort, when it
    /// does not fit in memory).
    fn export(&self) -> Result<Vec<u8>>;
    /// Restore [`Stepper::export`]'s bytes.
    fn import(&mut self, bytes: &[u8]) -> CoreResult<()>;
    /// One step. Returns the loss at the starting point; a first-order optimizer does not
    /// move when that loss is not finite.
    fn step(
        &mut self,
        params: &mut [f32],
        grad: &mut [f32],
        eval: &mut dyn FnMut(&[f32], &mut [f32]) -> f32,
    ) -> CoreResult<f32>;
}

/// A boxed [`Stepper`].
pub type BoxedOptimizer = Box<dyn Stepper>;

/// A first-order optimizer as a [`Stepper`].
pub struct FirstOrder(pub Box<dyn Optimizer<f32> + Send>);

impl Stepper for FirstOrder {
    fn torch_name(&self) -> &'static str {
        self.0.kind().torch_name()
    }
    fn lr(&self) -> f64 {
        self.0.lr(0).unwrap_or(f64::NAN)
    }
    fn set_lr(&mut self, lr: f64) -> CoreResult<()> {
        self.0.set_lr_all(lr)
    }
    fn momentum(&self) -> Option<f64> {
        self.0.momentum()
    }
    fn set_momentum(&mut self, momentum: f64) -> CoreResult<()> {
        self.0.set_momentum(momentum)
    }
    fn averaged(&self) -> Option<&[f32]> {
        self.0.averaged()
    }
    fn export(&self) -> Result<Vec<u8>> {
        export_bytes(self.0.state_bytes_len(), |b| self.0.export_state(b))
    }
    fn import(&mut self, bytes: &[u8]) -> CoreResult<()> {
        self.0.import_state(bytes)
    }
    fn step(
        &mut self,
        params: &mut [f32],
        grad: &mut [f32],
        eval: &mut dyn FnMut(&[f32], &mut [f32]) -> f32,
    ) -> CoreResult<f32> {
        let loss = eval(params, grad);
        if loss.is_finite() {
            self.0.step(params, grad)?;
        }
        Ok(loss)
    }
}

/// `torch.optim.LBFGS` as a [`Stepper`] (each step re-evaluates the mini-batch).
pub struct LbfgsStepper(pub Lbfgs<f32, Vec<f32>>);

impl Stepper for LbfgsStepper {
    fn torch_name(&self) -> &'static str {
        "LBFGS"
    }
    fn lr(&self) -> f64 {
        self.0.lr()
    }
    fn set_lr(&mut self, lr: f64) -> CoreResult<()> {
        self.0.set_lr(lr)
    }
    fn export(&self) -> Result<Vec<u8>> {
        export_bytes(self.0.state_bytes_len(), |b| self.0.export_state(b))
    }
    fn import(&mut self, bytes: &[u8]) -> CoreResult<()> {
        self.0.import_state(bytes)
    }
    fn step(
        &mut self,
        params: &mut [f32],
        _grad: &mut [f32],
        eval: &mut dyn FnMut(&[f32], &mut [f32]) -> f32,
    ) -> CoreResult<f32> {
        self.0.step(params, |p, g| eval(p, g))
    }
}

/// Derivative-free random search as a [`Stepper`] (σ plays the learning rate).
pub struct RandomStepper {
    rs: RandomSearch<f32>,
    scratch: Vec<f32>,
    grad: Vec<f32>,
}

impl Stepper for RandomStepper {
    fn torch_name(&self) -> &'static str {
        "RandomSearch"
    }
    fn lr(&self) -> f64 {
        self.rs.sigma()
    }
    fn set_lr(&mut self, lr: f64) -> CoreResult<()> {
        self.rs.set_sigma(lr)
    }
    fn export(&self) -> Result<Vec<u8>> {
        export_bytes(self.rs.state_bytes_len(), |b| self.rs.export_state(b))
    }
    fn import(&mut self, bytes: &[u8]) -> CoreResult<()> {
        self.rs.import_state(bytes)
    }
    fn step(
        &mut self,
        params: &mut [f32],
        _grad: &mut [f32],
        eval: &mut dyn FnMut(&[f32], &mut [f32]) -> f32,
    ) -> CoreResult<f32> {
        let g = &mut self.grad;
        self.rs.step(params, &mut self.scratch, |p| eval(p, g))
    }
}

/// A core optimizer whose steps run through descent-kernels' fused, vectorized and parallel
/// update (bitwise equal to core's, on the same state, so checkpoints are interchangeable;
/// Muon's equal to rounding, its Newton–Schulz products through SGEMM).
#[derive(Debug, Clone)]
pub struct Fused<R: FusedRule>(pub Optim<f32, R, Vec<f32>>);

impl<R: FusedRule> Optimizer<f32> for Fused<R> {
    fn kind(&self) -> OptimizerKind {
        self.0.kind()
    }
    fn n_params(&self) -> usize {
        self.0.n_params()
    }
    fn step(&mut self, params: &mut [f32], grads: &[f32]) -> CoreResult<()> {
        step_fused(&mut self.0, params, grads)
    }
    fn steps(&self) -> u64 {
        self.0.steps()
    }
    fn groups(&self) -> &[Group] {
        self.0.groups()
    }
    fn lr(&self, group: usize) -> CoreResult<f64> {
        self.0.lr(group)
    }
    fn set_lr(&mut self, group: usize, lr: f64) -> CoreResult<()> {
        self.0.set_lr(group, lr)
    }
    fn momentum(&self) -> Option<f64> {
        self.0.momentum()
    }
    fn set_momentum(&mut self, momentum: f64) -> CoreResult<()> {
        self.0.set_momentum(momentum)
    }
    fn averaged(&self) -> Option<&[f32]> {
        self.0.averaged()
    }
    fn weight_decay(&self, group: usize) -> CoreResult<f64> {
        self.0.weight_decay(group)
    }
    fn set_weight_decay(&mut self, group: usize, weight_decay: f64) -> CoreResult<()> {
        self.0.set_weight_decay(group, weight_decay)
    }
    fn state_bytes_len(&self) -> usize {
        self.0.state_bytes_len()
    }
    fn export_state(&self, out: &mut [u8]) -> CoreResult<usize> {
        self.0.export_state(out)
    }
    fn import_state(&mut self, bytes: &[u8]) -> CoreResult<()> {
        self.0.import_state(bytes)
    }
    fn reset_state(&mut self) {
        self.0.reset_state()
    }
}

/// Which flags were given (name, given?) for the applicability check.
fn given_flags(a: &TrainArgs) -> Vec<(&'static str, bool)> {
    vec![
        ("momentum", a.momentum.is_some()),
        ("dampening", a.dampening.is_some()),
        ("nesterov", a.nesterov.is_some()),
        ("betas", a.betas.is_some()),
        ("eps", a.eps.is_some()),
        ("amsgrad", a.amsgrad),
        ("alpha", a.alpha.is_some()),
        ("centered", a.centered),
        ("rho", a.rho.is_some()),
        ("lr-decay", a.lr_decay.is_some()),
        (
            "initial-accumulator-value",
            a.initial_accumulator_value.is_some(),
        ),
        ("momentum-decay", a.momentum_decay.is_some()),
        ("decoupled-weight-decay", a.decoupled_weight_decay),
        ("max-iter", a.max_iter.is_some()),
        ("max-eval", a.max_eval.is_some()),
        ("tolerance-grad", a.tolerance_grad.is_some()),
        ("tolerance-change", a.tolerance_change.is_some()),
        ("history-size", a.history_size.is_some()),
        ("line-search-fn", a.line_search_fn.is_some()),
        ("sigma", a.sigma.is_some()),
        ("etas", a.etas.is_some()),
        ("step-sizes", a.step_sizes.is_some()),
        ("beta2-decay", a.beta2_decay.is_some()),
        ("d", a.d.is_some()),
        ("lambd", a.lambd.is_some()),
        ("t0", a.t0.is_some()),
        // With --average, --eval-averaged evaluates that average, whatever the optimizer.
        ("eval-averaged", a.eval_averaged && a.average.is_none()),
        ("weight-decay", a.weight_decay.is_some()),
        ("maximize", a.maximize),
    ]
}

fn allowed(name: &str) -> &'static [&'static str] {
    match name {
        "sgd" => &["momentum", "dampening", "nesterov"],
        "adam" | "adamw" => &["betas", "eps", "amsgrad"],
        "adagrad" => &["lr-decay", "initial-accumulator-value", "eps"],
        "rmsprop" => &["alpha", "eps", "momentum", "centered"],
        "adadelta" => &["rho", "eps"],
        "adamax" => &["betas", "eps"],
        "nadam" => &["betas", "eps", "momentum-decay", "decoupled-weight-decay"],
        "radam" => &["betas", "eps", "decoupled-weight-decay"],
        "rprop" => &["etas", "step-sizes"],
        "asgd" => &["lambd", "alpha", "t0", "eval-averaged"],
        "adafactor" => &["beta2-decay", "eps", "d"],
        "muon" => &[
            "momentum",
            "nesterov",
            "eps",
            "ns-coefficients",
            "ns-steps",
            "adjust-lr-fn",
            "ns-precision",
            "aux-lr",
            "aux-weight-decay",
            "betas",
        ],
        "lbfgs" => &[
            "max-iter",
            "max-eval",
            "tolerance-grad",
            "tolerance-change",
            "history-size",
            "line-search-fn",
        ],
        "random-search" => &["sigma"],
        _ => &[],
    }
}

/// `--eps` of every optimizer but Adafactor: one value.
fn eps(a: &TrainArgs, default: f64) -> Result<f64> {
    match a.eps {
        None => Ok(default),
        Some(Eps::One(x)) => Ok(x),
        Some(Eps::Pair(..)) => Err(Error::usage(format!(
            "--eps: expected one value for --optimizer {} (only adafactor takes eps1,eps2)",
            a.optimizer.as_deref().unwrap_or("adam")
        ))),
    }
}

/// Adafactor's `--eps eps1,eps2` (`eps1` may be `None`).
fn eps_pair(a: &TrainArgs, default: (Option<f64>, f64)) -> Result<(Option<f64>, f64)> {
    match a.eps {
        None => Ok(default),
        Some(Eps::Pair(e1, e2)) => Ok((e1, e2)),
        Some(Eps::One(x)) => Err(Error::usage(format!(
            "--eps {x}: expected two values eps1,eps2 for adafactor (PyTorch's eps tuple; eps1 may be None)"
        ))),
    }
}

/// The tensors of `layers` in the flat nn.Linear layout: each weight `[out, in]`, then its
/// bias `[out]`.
pub fn layer_shapes(layers: &[LayerShape]) -> Vec<TensorShape> {
    layers
        .iter()
        .flat_map(|l| {
            [
                TensorShape::Matrix(l.fan_out, l.fan_in),
                TensorShape::Vector(l.fan_out),
            ]
        })
        .collect()
}

fn betas(a: &TrainArgs, default: (f64, f64)) -> Result<(f64, f64)> {
    pair(a.betas.as_deref(), "betas", "beta1,beta2", default)
}

/// A two-value flag (`--betas`, `--etas`, `--step-sizes`): `default` when not given, else
/// exactly two values (`form` names them in the error).
fn pair(v: Option<&[f64]>, flag: &str, form: &str, default: (f64, f64)) -> Result<(f64, f64)> {
    match v {
        None => Ok(default),
        Some([a, b]) => Ok((*a, *b)),
        Some(other) => Err(Error::usage(format!(
            "--{flag} {}: expected two values, {form}",
            other
                .iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ))),
    }
}

/// `len` zeroed elements, or `None` when they do not fit in memory (where `vec!` would abort
/// the process).
pub(crate) fn try_zeroed<T: Clone + Default>(len: usize) -> Option<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, T::default());
    Some(v)
}

/// An optimizer's state as bytes: `fill` writes at most `len` bytes into a buffer allocated
/// fallibly (a state too large for the memory left is a runtime error naming its size, not
/// an abort while checkpointing) and returns how many it wrote.
pub(crate) fn export_bytes(
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> CoreResult<usize>,
) -> Result<Vec<u8>> {
    let mut b = try_zeroed(len).ok_or_else(|| {
        Error::Runtime(format!(
            "exporting optimizer state: {len} bytes do not fit in memory"
        ))
    })?;
    let n = fill(&mut b).map_err(|e| Error::core("exporting optimizer state", e))?;
    b.truncate(n);
    Ok(b)
}

/// [`try_zeroed`], or a usage error naming `what` of `ctx` for `n` parameters.
pub(crate) fn zeroed<T: Clone + Default>(
    len: usize,
    ctx: &str,
    what: &str,
    n: usize,
) -> Result<Vec<T>> {
    try_zeroed(len).ok_or_else(|| {
        Error::usage(format!(
            "{ctx}: its {what} for {n} parameters ({len} elements, {:.3e} bytes) does not fit in memory; expected a smaller model",
            len as f64 * std::mem::size_of::<T>() as f64
        ))
    })
}

/// Build the optimizer named by `args.optimizer` (Adam when unset) for `n` parameters, as one
/// vector tensor (Adafactor does not factor it; [`build_for`] gives it the layers' shapes),
/// wrapped in an [`AveragedStepper`](crate::average::AveragedStepper) with `--average`.
pub fn build(args: &TrainArgs, n: usize) -> Result<BoxedOptimizer> {
    crate::average::wrap(args, build_shaped(args, n, &[])?, n)
}

/// [`build`] for the parameters of `layers` (Adafactor factors each weight matrix).
pub fn build_for(args: &TrainArgs, layers: &[LayerShape]) -> Result<BoxedOptimizer> {
    let n = crate::checkpoint::n_params(layers);
    crate::average::wrap(args, build_shaped(args, n, &layer_shapes(layers))?, n)
}

fn build_shaped(args: &TrainArgs, n: usize, tensors: &[TensorShape]) -> Result<BoxedOptimizer> {
    let given = args.optimizer.as_deref().unwrap_or("adam");
    let name = given.to_ascii_lowercase();
    if !NAMES.contains(&name.as_str()) {
        return Err(Error::usage(format!(
            "--optimizer {given}: unknown optimizer, expected one of {}",
            NAMES.join(", ")
        )));
    }
    let ok = allowed(&name);
    let first_order = !matches!(name.as_str(), "lbfgs" | "random-search");
    // Rprop has no weight decay (PyTorch's has none either), Muon no maximize.
    let decays = first_order && name != "rprop";
    let maximizes = first_order && name != "muon";
    for (flag, on) in given_flags(args) {
        let common = (decays && flag == "weight-decay") || (maximizes && flag == "maximize");
        if on && !common && !ok.contains(&flag) {
            let shared = match (decays, maximizes) {
                (true, true) => "lr, weight-decay, maximize",
                (true, false) => "lr, weight-decay",
                _ => "lr, maximize",
            };
            return Err(Error::usage(format!(
                "--{flag} does not apply to --optimizer {name} (its flags: {shared}, {})",
                ok.join(", ")
            )));
        }
    }
    let ctx = format!("--optimizer {name}");
    let core = |e| Error::core(ctx.clone(), e);
    macro_rules! make {
        ($cfg:expr) => {{
            let mut c = $cfg;
            if let Some(wd) = args.weight_decay {
                c.weight_decay = wd;
            }
            make!(no_weight_decay c)
        }};
        (no_weight_decay $cfg:expr) => {{
            let o = make!(optim $cfg);
            let inner: Box<dyn Optimizer<f32> + Send> = if args.ops == OpsKind::Fast {
                Box::new(Fused(o))
            } else {
                Box::new(o)
            };
            Box::new(FirstOrder(inner)) as BoxedOptimizer
        }};
        (optim $cfg:expr) => {{
            let mut c = $cfg;
            if let Some(lr) = args.lr {
                c.lr = lr;
            }
            c.maximize = args.maximize;
            c.validate().map_err(core)?;
            c.validate_layout(n, &[Group { start: 0, len: n, lr: c.lr, weight_decay: 0.0 }])
                .map_err(core)?;
            let state = zeroed(Optim::<f32, _, Vec<f32>>::state_len(&c, n), &ctx, "state", n)?;
            Optim::new(c, n, state).map_err(core)?
        }};
    }
    Ok(match name.as_str() {
        "sgd" => {
            let d = SgdConfig::default();
            make!(SgdConfig {
                momentum: args.momentum.unwrap_or(d.momentum),
                dampening: args.dampening.unwrap_or(d.dampening),
                nesterov: args.nesterov.unwrap_or(false),
                ..d
            })
        }
        "adam" => {
            let d = AdamConfig::default();
            make!(AdamConfig {
                betas: betas(args, d.betas)?,
                eps: eps(args, d.eps)?,
                amsgrad: args.amsgrad,
                ..d
            })
        }
        "adamw" => {
            let d = AdamWConfig::default();
            make!(AdamWConfig {
                betas: betas(args, d.betas)?,
                eps: eps(args, d.eps)?,
                amsgrad: args.amsgrad,
                ..d
            })
        }
        "adagrad" => {
            let d = AdagradConfig::default();
            make!(AdagradConfig {
                lr_decay: args.lr_decay.unwrap_or(d.lr_decay),
                initial_accumulator_value: args
                    .initial_accumulator_value
                    .unwrap_or(d.initial_accumulator_value),
                eps: eps(args, d.eps)?,
                ..d
            })
        }
        "rmsprop" => {
            let d = RmsPropConfig::default();
            make!(RmsPropConfig {
                alpha: args.alpha.unwrap_or(d.alpha),
                eps: eps(args, d.eps)?,
                momentum: args.momentum.unwrap_or(d.momentum),
                centered: args.centered,
                ..d
            })
        }
        "adadelta" => {
            let d = AdadeltaConfig::default();
            make!(AdadeltaConfig {
                rho: args.rho.unwrap_or(d.rho),
                eps: eps(args, d.eps)?,
                ..d
            })
        }
        "adamax" => {
            let d = AdamaxConfig::default();
            make!(AdamaxConfig {
                betas: betas(args, d.betas)?,
                eps: eps(args, d.eps)?,
                ..d
            })
        }
        "nadam" => {
            let d = NAdamConfig::default();
            make!(NAdamConfig {
                betas: betas(args, d.betas)?,
                eps: eps(args, d.eps)?,
                momentum_decay: args.momentum_decay.unwrap_or(d.momentum_decay),
                decoupled_weight_decay: args.decoupled_weight_decay,
                ..d
            })
        }
        "rprop" => {
            let d = RpropConfig::default();
            make!(no_weight_decay RpropConfig {
                etas: pair(args.etas.as_deref(), "etas", "etaminus,etaplus", d.etas)?,
                step_sizes: pair(
                    args.step_sizes.as_deref(),
                    "step-sizes",
                    "min,max",
                    d.step_sizes
                )?,
                ..d
            })
        }
        "asgd" => {
            let d = AsgdConfig::default();
            make!(AsgdConfig {
                lambd: args.lambd.unwrap_or(d.lambd),
                alpha: args.alpha.unwrap_or(d.alpha),
                t0: args.t0.unwrap_or(d.t0),
                ..d
            })
        }
        "adafactor" => {
            let d = AdafactorConfig::default();
            let shapes = Shapes::new(tensors).map_err(core)?;
            make!(AdafactorConfig {
                beta2_decay: args.beta2_decay.unwrap_or(d.beta2_decay),
                eps: eps_pair(args, d.eps)?,
                d: args.d.unwrap_or(d.d),
                shapes,
                ..d
            })
        }
        "muon" => build_muon(args, n, tensors, &ctx)?,
        "lbfgs" => {
            let d = LbfgsConfig::default();
            let line_search_fn = match args.line_search_fn.as_deref() {
                None | Some("none") | Some("None") => LineSearch::None,
                Some("strong_wolfe") | Some("strong-wolfe") => LineSearch::StrongWolfe,
                Some(other) => {
                    return Err(Error::usage(format!(
                        "--line-search-fn {other}: expected strong_wolfe or none"
                    )))
                }
            };
            let c = LbfgsConfig {
                lr: args.lr.unwrap_or(d.lr),
                max_iter: args.max_iter.unwrap_or(d.max_iter),
                max_eval: args.max_eval.or(d.max_eval),
                tolerance_grad: args.tolerance_grad.unwrap_or(d.tolerance_grad),
                tolerance_change: args.tolerance_change.unwrap_or(d.tolerance_change),
                history_size: args.history_size.unwrap_or(d.history_size),
                line_search_fn,
            };
            let buf = zeroed(
                Lbfgs::<f32, Vec<f32>>::buffer_len(&c, n),
                &ctx,
                "history",
                n,
            )?;
            Box::new(LbfgsStepper(Lbfgs::new(c, n, buf).map_err(core)?))
        }
        "random-search" => {
            let d = RandomSearchConfig::default();
            if args.lr.is_some() {
                return Err(Error::usage(
                    "--lr does not apply to --optimizer random-search (its step size is --sigma)",
                ));
            }
            let c = RandomSearchConfig {
                sigma: args.sigma.unwrap_or(d.sigma),
                seed: args.seed,
                ..d
            };
            let rs = RandomSearch::new(c, n).map_err(core)?;
            Box::new(RandomStepper {
                rs,
                scratch: zeroed(RandomSearch::<f32>::scratch_len(n), &ctx, "scratch", n)?,
                grad: zeroed(n, &ctx, "gradient", n)?,
            })
        }
        _ => {
            let d = RAdamConfig::default();
            make!(RAdamConfig {
                betas: betas(args, d.betas)?,
                eps: eps(args, d.eps)?,
                decoupled_weight_decay: args.decoupled_weight_decay,
                ..d
            })
        }
    })
}

/// `--optimizer muon`: Muon on the matrices of `tensors`, AdamW on the vectors (see
/// [`MuonStepper`]); with no tensors and no parameters, the probe that validates the flags.
fn build_muon(
    args: &TrainArgs,
    n: usize,
    tensors: &[TensorShape],
    ctx: &str,
) -> Result<BoxedOptimizer> {
    let core = |e| Error::core(ctx.to_string(), e);
    if tensors.is_empty() && n > 0 {
        return Err(Error::usage(format!(
            "{ctx}: Muon needs the model's layer shapes (its weights are matrices)"
        )));
    }
    let d = MuonConfig::default();
    let ns_coefficients = match args.ns_coefficients.as_deref() {
        None => d.ns_coefficients,
        Some([a, b, c]) => (*a, *b, *c),
        Some(v) => {
            return Err(Error::usage(format!(
                "--ns-coefficients {}: expected three values, a,b,c",
                v.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
            )))
        }
    };
    let adjust_lr_fn = match args.adjust_lr_fn.as_deref() {
        None => d.adjust_lr_fn,
        Some(s) => AdjustLr::from_name(s).ok_or_else(|| {
            Error::usage(format!(
                "--adjust-lr-fn {s}: expected original, match_rms_adamw or spectral_unclamped"
            ))
        })?,
    };
    let ns_precision = match args.ns_precision.as_deref() {
        None => d.ns_precision,
        Some("bf16") => NsPrecision::Bf16,
        Some("native") => NsPrecision::Native,
        Some(s) => {
            return Err(Error::usage(format!(
                "--ns-precision {s}: expected bf16 or native"
            )))
        }
    };
    let mats: Vec<TensorShape> = tensors
        .iter()
        .copied()
        .filter(|t| matches!(t, TensorShape::Matrix(..)))
        .collect();
    let c = MuonConfig {
        lr: args.lr.unwrap_or(d.lr),
        weight_decay: args.weight_decay.unwrap_or(d.weight_decay),
        momentum: args.momentum.unwrap_or(d.momentum),
        nesterov: args.nesterov.unwrap_or(d.nesterov),
        ns_coefficients,
        eps: eps(args, d.eps)?,
        ns_steps: args.ns_steps.unwrap_or(d.ns_steps),
        adjust_lr_fn,
        ns_precision,
        shapes: Shapes::new(&mats).map_err(core)?,
    };
    c.validate().map_err(core)?;
    let nw: usize = mats.iter().map(|t| t.numel()).sum();
    let nv = tensors.iter().map(|t| t.numel()).sum::<usize>() - nw;
    let state = zeroed(
        Optim::<f32, _, Vec<f32>>::state_len(&c, nw),
        ctx,
        "state",
        nw,
    )?;
    let muon = Optim::new(c, nw, state).map_err(core)?;
    let muon: Box<dyn Optimizer<f32> + Send> = if args.ops == OpsKind::Fast {
        Box::new(Fused(muon))
    } else {
        Box::new(muon)
    };
    let da = AdamWConfig::default();
    let a = AdamWConfig {
        lr: args.aux_lr.unwrap_or(da.lr),
        weight_decay: args.aux_weight_decay.unwrap_or(da.weight_decay),
        betas: betas(args, da.betas)?,
        ..da
    };
    let aux_ctx = format!("{ctx} (AdamW on the biases)");
    let aux_core = |e| Error::core(aux_ctx.clone(), e);
    a.validate().map_err(aux_core)?;
    let aux: Option<Box<dyn Optimizer<f32> + Send>> = if nv > 0 {
        let state = zeroed(a.state_len(nv), &aux_ctx, "state", nv)?;
        let o = Optim::new(a, nv, state).map_err(aux_core)?;
        Some(if args.ops == OpsKind::Fast {
            Box::new(Fused(o))
        } else {
            Box::new(o)
        })
    } else {
        None
    };
    Ok(Box::new(MuonStepper::new(muon, aux, tensors, c.lr, a.lr)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(v: &[&str]) -> TrainArgs {
        let mut all = vec!["descent", "train"];
        all.extend_from_slice(v);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Train(t) => *t,
            _ => unreachable!(),
        }
    }

    fn quad(p: &[f32], g: &mut [f32]) -> f32 {
        // f(θ) = Σ (θ_i - 1)², ∇f = 2(θ - 1)
        let mut f = 0.0;
        for (gi, &pi) in g.iter_mut().zip(p) {
            *gi = 2.0 * (pi - 1.0);
            f += (pi - 1.0) * (pi - 1.0);
        }
        f
    }

    #[test]
    fn export_bytes_is_fallible() {
        let e = export_bytes(usize::MAX, |_| Ok(0)).unwrap_err();
        assert!(e.to_string().contains("do not fit in memory"), "{e}");
        assert_eq!(e.exit_code(), 1);
        let e = export_bytes(4, |_| {
            Err(descent_core::Error::BufferTooSmall {
                what: "out",
                needed: 8,
                got: 4,
            })
        })
        .unwrap_err();
        assert!(e.to_string().contains("exporting optimizer state"), "{e}");
        assert_eq!(
            export_bytes(4, |b| {
                b[..2].copy_from_slice(&[7, 9]);
                Ok(2)
            })
            .unwrap(),
            vec![7, 9]
        );
    }

    #[test]
    fn every_name_builds_with_defaults_and_descends() {
        for n in NAMES {
            let mut a = args(&["--optimizer", n]);
            if *n != "random-search" {
                a.lr = Some(if *n == "lbfgs" { 1.0 } else { 0.05 });
            }
            if *n == "adadelta" {
                a.lr = Some(1.0);
            }
            // Muon needs matrices: one [2, 4] weight and its bias, 10 parameters.
            let layers = [LayerShape {
                fan_in: 4,
                fan_out: 2,
            }];
            let make = |a: &TrainArgs| {
                if *n == "muon" {
                    build_for(a, &layers)
                } else {
                    build(a, 10)
                }
            };
            let mut o = make(&a).unwrap();
            let mut p = vec![0f32; 10];
            let mut g = vec![0f32; 10];
            let first = o.step(&mut p, &mut g, &mut quad).unwrap();
            let mut last = first;
            for _ in 0..50 {
                last = o.step(&mut p, &mut g, &mut quad).unwrap();
            }
            assert!(last < first, "{n}: {first} -> {last}");
            let state = o.export().unwrap();
            let mut fresh = make(&a).unwrap();
            fresh.import(&state).unwrap();
            assert_eq!(fresh.export().unwrap(), state, "{n}");
        }
    }

    #[test]
    fn fused_steps_bitwise_like_core() {
        // Muon's products accumulate in another order through SGEMM (`muon_fast_is_close`).
        for name in NAMES
            .iter()
            .filter(|n| !matches!(**n, "lbfgs" | "random-search" | "muon"))
        {
            let wd: &[&str] = if *name == "rprop" {
                &[]
            } else {
                &["--weight-decay", "0.1"]
            };
            let mut fast = args(&[&["--optimizer", name, "--lr", "0.01"], wd].concat());
            if *name == "sgd" || *name == "rmsprop" {
                fast.momentum = Some(0.9);
            }
            let mut reference = fast.clone();
            reference.ops = OpsKind::Reference;
            let n = 1037;
            let (mut a, mut b) = (build(&fast, n).unwrap(), build(&reference, n).unwrap());
            let mut pa: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut pb = pa.clone();
            let mut ga = vec![0f32; n];
            let mut gb = vec![0f32; n];
            for t in 0..5 {
                let mut f = |_: &[f32], g: &mut [f32]| {
                    for (i, gi) in g.iter_mut().enumerate() {
                        *gi = ((i + t) as f32 * 0.11).cos();
                    }
                    1.0
                };
                a.step(&mut pa, &mut ga, &mut f).unwrap();
                b.step(&mut pb, &mut gb, &mut f).unwrap();
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&pa), bits(&pb), "{name}");
            assert_eq!(a.export().unwrap(), b.export().unwrap());
        }
    }

    /// `--optimizer muon` on two layers: the weights take core Muon's step and the biases
    /// core AdamW's, each on its own gathered vector; the schedule's lr scales AdamW's too;
    /// the state round-trips and a damaged one changes nothing.
    #[test]
    fn muon_steps_weights_with_muon_and_biases_with_adamw() {
        use descent_core::optim::{AdamW, Muon};
        let layers = [
            LayerShape {
                fan_in: 5,
                fan_out: 3,
            },
            LayerShape {
                fan_in: 3,
                fan_out: 2,
            },
        ];
        let mut a = args(&[
            "--optimizer",
            "muon",
            "--lr",
            "0.02",
            "--aux-lr",
            "0.004",
            "--ops",
            "reference",
        ]);
        let mut o = build_for(&a, &layers).unwrap();
        assert_eq!(o.torch_name(), "Muon");
        let n = crate::checkpoint::n_params(&layers); // 15 + 3 + 6 + 2 = 26
        let w = [0..15, 18..24];
        let b = [15..18, 24..26];
        let mut p: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin()).collect();
        let p0 = p.clone();
        let gfix: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).cos()).collect();
        let mut g = vec![0f32; n];
        let mut f = |_: &[f32], gr: &mut [f32]| {
            gr.copy_from_slice(&gfix);
            1.0
        };
        o.step(&mut p, &mut g, &mut f).unwrap();
        let pick = |v: &[f32], rs: &[std::ops::Range<usize>]| -> Vec<f32> {
            rs.iter().flat_map(|r| v[r.clone()].to_vec()).collect()
        };
        let shapes = Shapes::new(&[TensorShape::Matrix(3, 5), TensorShape::Matrix(2, 3)]).unwrap();
        let mut m = Muon::<f32, Vec<f32>>::owned(MuonConfig::default().lr(0.02).shapes(shapes), 21)
            .unwrap();
        let mut wp = pick(&p0, &w);
        m.step(&mut wp, &pick(&gfix, &w)).unwrap();
        assert_eq!(pick(&p, &w), wp);
        let mut adamw = AdamW::<f32, Vec<f32>>::owned(AdamWConfig::default().lr(0.004), 5).unwrap();
        let mut bp = pick(&p0, &b);
        adamw.step(&mut bp, &pick(&gfix, &b)).unwrap();
        assert_eq!(pick(&p, &b), bp);
        // A schedule halving Muon's lr halves AdamW's.
        o.set_lr(0.01).unwrap();
        assert_eq!(o.lr(), 0.01);
        let state = o.export().unwrap();
        let mut fresh = build_for(&a, &layers).unwrap();
        fresh.import(&state).unwrap();
        assert_eq!(fresh.export().unwrap(), state);
        // A damaged AdamW part is refused and leaves the Muon part as it was.
        let before = fresh.export().unwrap();
        let mut bad = state.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(fresh.import(&bad).is_err());
        assert_eq!(fresh.export().unwrap(), before);
        assert!(fresh.import(&state[..10]).is_err());
        // The AdamW part's lr travels in the state: 0.004 halved.
        let mut adamw2 = AdamW::<f32, Vec<f32>>::owned(AdamWConfig::default(), 5).unwrap();
        let m_len = u64::from_le_bytes(state[8..16].try_into().unwrap()) as usize;
        adamw2.import_state(&state[16 + m_len..]).unwrap();
        assert_eq!(adamw2.lr(0).unwrap(), 0.002);
        // Muon without maximize; a bad --adjust-lr-fn, --ns-precision, --ns-coefficients.
        a.maximize = true;
        assert!(build_for(&a, &layers).is_err());
        a.maximize = false;
        for (flag, v) in [
            ("--adjust-lr-fn", "rms"),
            ("--ns-precision", "fp8"),
            ("--ns-coefficients", "1,2"),
            ("--ns-steps", "100"),
        ] {
            let bad = args(&["--optimizer", "muon", flag, v]);
            let Err(e) = build_for(&bad, &layers) else {
                panic!("{flag} {v} accepted")
            };
            assert_eq!(e.exit_code(), 2, "{e}");
        }
        assert!(build(&args(&["--optimizer", "muon"]), 0).is_ok());
        assert!(build(&args(&["--optimizer", "muon"]), 7).is_err());
    }

    /// Fast (SGEMM) and reference Muon steps agree to the bfloat16 iteration's rounding.
    #[test]
    fn muon_fast_is_close() {
        let layers = [LayerShape {
            fan_in: 40,
            fan_out: 24,
        }];
        let fast = args(&["--optimizer", "muon", "--lr", "0.02"]);
        let mut reference = fast.clone();
        reference.ops = OpsKind::Reference;
        let (mut a, mut b) = (
            build_for(&fast, &layers).unwrap(),
            build_for(&reference, &layers).unwrap(),
        );
        let n = 40 * 24 + 24;
        let mut pa: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut pb = pa.clone();
        let (mut ga, mut gb) = (vec![0f32; n], vec![0f32; n]);
        for t in 0..3 {
            let mut f = |_: &[f32], g: &mut [f32]| {
                for (i, gi) in g.iter_mut().enumerate() {
                    *gi = ((i * 7 + t) as f32 * 0.11).cos();
                }
                1.0
            };
            a.step(&mut pa, &mut ga, &mut f).unwrap();
            b.step(&mut pb, &mut gb, &mut f).unwrap();
        }
        let d = pa
            .iter()
            .zip(&pb)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d <= 3.0 * 0.02 * 2f32.powi(-8), "max difference {d}");
        assert_eq!(a.export().unwrap().len(), b.export().unwrap().len());
    }

    #[test]
    fn flags_reach_the_config() {
        let o = build(
            &args(&["--optimizer", "sgd", "--lr", "0.25", "--momentum", "0.9"]),
            3,
        )
        .unwrap();
        assert_eq!(o.lr(), 0.25);
        assert_eq!(o.torch_name(), "SGD");
        let o = build(&args(&["--optimizer", "lbfgs", "--history-size", "5"]), 3).unwrap();
        assert_eq!(o.torch_name(), "LBFGS");
        let a = args(&[
            "--optimizer",
            "rprop",
            "--etas",
            "0.4,1.3",
            "--step-sizes",
            "0.01,2",
        ]);
        let mut o = build(&a, 1).unwrap();
        assert_eq!(o.torch_name(), "Rprop");
        // Step 1 moves by lr; step 2 (same sign) by lr * 1.3; then the upper bound 2 holds.
        let (mut p, mut g) = ([0f32], [0f32]);
        let mut f = |_: &[f32], g: &mut [f32]| {
            g[0] = 1.0;
            1.0
        };
        o.step(&mut p, &mut g, &mut f).unwrap();
        assert_eq!(p[0], -0.01);
        o.step(&mut p, &mut g, &mut f).unwrap();
        assert_eq!(p[0], -0.01 - 0.01 * 1.3);
        for _ in 0..40 {
            o.step(&mut p, &mut g, &mut f).unwrap();
        }
        let before = p[0];
        o.step(&mut p, &mut g, &mut f).unwrap();
        assert_eq!(p[0], before - 2.0);
        // ASGD: η₁ = lr; η₂ = lr / (1 + λ lr)^α with λ = 1, α = 1: 0.5 / 1.5.
        let a = args(&[
            "--optimizer",
            "asgd",
            "--lr",
            "0.5",
            "--lambd",
            "1",
            "--alpha",
            "1",
            "--t0",
            "0",
        ]);
        let mut o = build(&a, 1).unwrap();
        assert_eq!(o.torch_name(), "ASGD");
        let mut p = [0f32];
        o.step(&mut p, &mut g, &mut f).unwrap();
        assert_eq!(p[0], -0.5);
        o.step(&mut p, &mut g, &mut f).unwrap();
        let eta = (0.5f64 / 1.5) as f32;
        assert_eq!(p[0], -0.5 * (1.0 - eta) - eta);
    }

    /// Adafactor built for the layers factors each weight: `out + in` state elements per
    /// matrix instead of `out · in`; without shapes it keeps one per parameter.
    #[test]
    fn adafactor_factors_the_layers_weights() {
        let layers = [
            LayerShape {
                fan_in: 4,
                fan_out: 3,
            },
            LayerShape {
                fan_in: 3,
                fan_out: 2,
            },
        ];
        let n = crate::checkpoint::n_params(&layers);
        let a = args(&["--optimizer", "adafactor", "--eps", "None,1e-2", "--d", "2"]);
        let factored = build_for(&a, &layers).unwrap().export().unwrap();
        let flat = build(&a, n).unwrap().export().unwrap();
        // 23 parameters; state 3 + 4 + 3 + 2 + 3 + 2 = 17 elements against 23.
        assert_eq!(flat.len() - factored.len(), (23 - 17) * 4);
        let mut o = build_for(&a, &layers).unwrap();
        assert_eq!(o.torch_name(), "Adafactor");
        let mut p: Vec<f32> = (0..n).map(|i| i as f32 * 0.1).collect();
        let mut g = vec![0f32; n];
        let first = o.step(&mut p, &mut g, &mut quad).unwrap();
        let mut last = first;
        for _ in 0..30 {
            last = o.step(&mut p, &mut g, &mut quad).unwrap();
        }
        assert!(last < first, "{first} -> {last}");
        let Err(e) = build(&args(&["--optimizer", "adafactor", "--eps", "1e-3"]), 3) else {
            panic!("accepted one eps for adafactor")
        };
        assert!(e.to_string().contains("eps1,eps2"), "{e}");
        let Err(e) = build(&args(&["--optimizer", "adam", "--eps", "None,1e-3"]), 3) else {
            panic!("accepted an eps pair for adam")
        };
        assert!(e.to_string().contains("one value"), "{e}");
        assert!(build(&args(&["--optimizer", "adam", "--d", "2"]), 3).is_err());
        assert!(build(&args(&["--optimizer", "adafactor", "--d", "0.5"]), 3).is_err());
        assert!(build(
            &args(&["--optimizer", "adafactor", "--beta2-decay", "0.5"]),
            3
        )
        .is_err());
        let deep: Vec<LayerShape> = (0..17)
            .map(|_| LayerShape {
                fan_in: 2,
                fan_out: 2,
            })
            .collect();
        let Err(e) = build_for(&args(&["--optimizer", "adafactor"]), &deep) else {
            panic!("accepted 34 tensors")
        };
        assert!(e.to_string().contains("shapes"), "{e}");
    }

    #[test]
    fn bad_input_is_a_one_line_error() {
        let Err(e) = build(&args(&["--optimizer", "adam", "--momentum", "0.9"]), 3) else {
            panic!("accepted --momentum for adam")
        };
        assert!(e.to_string().contains("--momentum"), "{e}");
        let Err(e) = build(&args(&["--optimizer", "sgd", "--lr=-1"]), 3) else {
            panic!("accepted a negative lr")
        };
        assert!(e.to_string().contains("lr"), "{e}");
        assert_eq!(e.exit_code(), 2);
        assert!(build(&args(&["--optimizer", "lion"]), 3).is_err());
        assert!(build(&args(&["--optimizer", "lbfgs", "--weight-decay", "0.1"]), 3).is_err());
        assert!(build(&args(&["--optimizer", "random-search", "--lr", "0.1"]), 3).is_err());
        assert!(build(
            &args(&["--optimizer", "lbfgs", "--line-search-fn", "armijo"]),
            3
        )
        .is_err());
        assert!(build(&args(&["--optimizer", "sgd", "--sigma", "0.1"]), 3).is_err());
        let Err(e) = build(&args(&["--optimizer", "rprop", "--weight-decay", "0.1"]), 3) else {
            panic!("accepted --weight-decay for rprop")
        };
        let msg = e.to_string();
        assert!(msg.contains("lr, maximize, etas, step-sizes"), "{msg}");
        assert!(build(&args(&["--optimizer", "adam", "--etas", "0.5,1.2"]), 3).is_err());
        let Err(e) = build(&args(&["--optimizer", "rprop", "--etas", "0.5"]), 3) else {
            panic!("accepted one eta")
        };
        assert!(e.to_string().contains("etaminus,etaplus"), "{e}");
        let Err(e) = build(&args(&["--optimizer", "rprop", "--etas", "0.5,0.9"]), 3) else {
            panic!("accepted etaplus < 1")
        };
        assert!(e.to_string().contains("etas[1]"), "{e}");
        assert_eq!(e.exit_code(), 2);
        assert!(build(&args(&["--optimizer", "rprop", "--step-sizes", "1,0.5"]), 3).is_err());
        let Err(e) = build(&args(&["--optimizer", "sgd", "--lambd", "0.1"]), 3) else {
            panic!("accepted --lambd for sgd")
        };
        assert!(e.to_string().contains("--lambd"), "{e}");
        let Err(e) = build(&args(&["--optimizer", "asgd", "--etas", "0.5,1.2"]), 3) else {
            panic!("accepted --etas for asgd")
        };
        assert!(e.to_string().contains("lambd, alpha, t0"), "{e}");
        assert!(build(&args(&["--optimizer", "asgd", "--alpha=-1"]), 3).is_err());
        assert!(build(&args(&["--optimizer", "asgd", "--t0", "NaN"]), 3).is_err());
    }
}
