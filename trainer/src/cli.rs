//! The command line: `descent train | eval | sweep`, parsed with clap's derive API.
//!
//! Every `train` flag can also be set in a TOML file given with `--config FILE.toml`, whose keys
//! are the long flag names (`batch-size = 100`, `hidden = [512, 512]`); flags on the command line
//! override the file (see [`crate::config`]).

use crate::error::{Error, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Most worker threads `--threads` accepts: far above any core count a rayon pool serves
/// well, and a pool of that size still starts in well under a second (`--threads 100000`
/// was still creating threads after a minute).
pub const MAX_THREADS: usize = 4096;

/// Check a `--threads` value: `1 ..= MAX_THREADS` (unset is fine: all cores).
pub fn check_threads(n: Option<usize>) -> Result<()> {
    check_thread_count("threads", n)
}

/// Check a thread count given as `--{flag}`: `1 ..= MAX_THREADS` (unset is fine).
pub fn check_thread_count(flag: &str, n: Option<usize>) -> Result<()> {
    match n {
        Some(n) if n == 0 || n > MAX_THREADS => Err(Error::usage(format!(
            "--{flag} {n}: expected an integer from 1 to {MAX_THREADS}"
        ))),
        _ => Ok(()),
    }
}

/// Train models by gradient descent.
#[derive(Debug, Parser)]
#[command(name = "descent", version, about, args_override_self = true)]
pub struct Cli {
    /// What to do (default: `train`).
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model (the default subcommand).
    Train(Box<TrainArgs>),
    /// Evaluate a saved checkpoint on a data split.
    Eval(EvalArgs),
    /// Grid or random search over hyperparameters, trials in parallel.
    Sweep(Box<SweepArgs>),
    /// Quick throughput report: this machine's limits, then each kernel as a fraction of them.
    Bench(BenchArgs),
}

/// `descent bench` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Smaller sizes and fewer repetitions (seconds instead of ~a minute).
    #[arg(long)]
    pub quick: bool,
    /// Threads for the "all threads" rows, 1 to 4096 (default: all available cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also write the report as JSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub json: Option<std::path::PathBuf>,
}

/// Model families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Linear regression (one linear layer, mean squared error).
    Linear,
    /// Softmax regression (one linear layer, cross-entropy).
    Softmax,
    /// Multi-layer perceptron (`--hidden` widths, `--activation`).
    Mlp,
}

/// When the learning-rate schedule advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// After every epoch (PyTorch's usual `scheduler.step()` placement).
    Epoch,
    /// After every optimizer step.
    Step,
}

/// Which implementation of the dense operations to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpsKind {
    /// SIMD + rayon kernels (descent-kernels).
    Fast,
    /// Scalar reference loops (descent-core).
    Reference,
}

/// Everything `descent train` accepts. Defaults train an MLP on the embedded UCI digits.
#[derive(Debug, Clone, Args, serde::Serialize, serde::Deserialize)]
pub struct TrainArgs {
    /// TOML file whose keys are these flags' long names; command-line flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,

    // ---- data ----
    /// Data set: digits (embedded UCI, default), iris, wine, breast-cancer, diabetes,
    /// synthetic-linear, mnist, fashion-mnist, kmnist, or a .csv file. Features are scaled
    /// with statistics of the training split.
    #[arg(long, default_value = "digits")]
    pub dataset: String,
    /// Directory holding downloaded data files (mnist, fashion-mnist).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Fraction of the training data held out for validation (in [0, 1)).
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Fraction held out for testing when the data set has no test split (in [0, 1)).
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Mini-batch sampling: shuffle (each epoch), replacement or sequential.
    #[arg(long, default_value = "shuffle")]
    pub sampling: String,
    /// Drop the last incomplete mini-batch of each epoch.
    #[arg(long)]
    pub drop_last: bool,
    /// synthetic-linear: number of samples N.
    #[arg(long, default_value_t = 500)]
    pub synthetic_n: usize,
    /// synthetic-linear: number of features M.
    #[arg(long, default_value_t = 2)]
    pub synthetic_m: usize,
    /// synthetic-linear: noise standard deviation sigma.
    #[arg(long, default_value_t = 0.001)]
    pub synthetic_sigma: f64,

    // ---- model ----
    /// Model family (default: mlp for classification, linear for regression).
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// Hidden layer widths of the MLP, comma separated (e.g. 512,512).
    #[arg(long, value_delimiter = ',', default_value = "128")]
    pub hidden: Vec<usize>,
    /// Hidden activation, as PyTorch's modules: relu, tanh, sigmoid, identity, gelu
    /// (nn.GELU(), x·Φ(x) with erf), gelu_tanh (nn.GELU(approximate='tanh')), silu (nn.SiLU(),
    /// x·σ(x)), leaky_relu (nn.LeakyReLU, negative_slope=0.01), elu (nn.ELU, alpha=1), selu
    /// (nn.SELU()), celu (nn.CELU, alpha=1, nonzero), softplus (nn.Softplus, beta=1, nonzero,
    /// threshold=20), mish (nn.Mish()), hardswish, hardsigmoid, relu6, hardtanh (nn.Hardtanh,
    /// min_val=-1, max_val=1). Parameters other than the defaults as NAME:KEY=VALUE,... with
    /// PyTorch's names, e.g. leaky_relu:negative_slope=0.2, elu:alpha=0.5,
    /// softplus:beta=2,threshold=10.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Dense-operation implementation.
    #[arg(long, value_enum, default_value_t = OpsKind::Fast)]
    pub ops: OpsKind,
    /// Training criterion by PyTorch class name: CrossEntropyLoss (classification, the
    /// default), MultiMarginLoss, MSELoss (regression, the default), L1Loss, HuberLoss,
    /// SmoothL1Loss. Always `reduction='mean'`; evaluations report it too.
    #[arg(long)]
    pub loss: Option<String>,
    /// The criterion's keyword arguments with PyTorch's names: `label_smoothing=0.1`,
    /// `weight=[1,2,...]` (CrossEntropyLoss, MultiMarginLoss: one weight per class), `p=2`,
    /// `margin=0.5` (MultiMarginLoss), `delta=0.5` (HuberLoss), `beta=0.5` (SmoothL1Loss).
    #[arg(long, value_name = "K=V,...")]
    pub loss_args: Option<String>,

    // ---- optimizer (PyTorch names) ----
    /// Optimizer: sgd, adam, adamw, adagrad, rmsprop, adadelta, adamax, nadam, radam, rprop,
    /// asgd, adafactor, muon (Muon on the weights, AdamW on the biases: --aux-lr,
    /// --aux-weight-decay, --betas), lbfgs, random-search (default: adam for classification;
    /// sgd with --lr 0.05 for regression).
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Learning rate (default: the optimizer's PyTorch default).
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD / RMSprop / Muon momentum.
    #[arg(long)]
    pub momentum: Option<f64>,
    /// SGD dampening.
    #[arg(long)]
    pub dampening: Option<f64>,
    /// Nesterov momentum: SGD (default false; `--nesterov` alone is true), Muon (default
    /// true; `--nesterov false` turns it off).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub nesterov: Option<bool>,
    /// Weight decay (L2 penalty folded into the gradient; decoupled for AdamW).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Adam-family betas, `beta1,beta2` (or `beta1 beta2`).
    #[arg(long, value_delimiter = ',', num_args = 1..=2)]
    pub betas: Option<Vec<f64>>,
    /// Term added to denominators for numerical stability; Adafactor: the pair `eps1,eps2`
    /// (PyTorch's `eps` tuple, default `None,1e-3`; `eps1` may be `None`).
    #[arg(long, value_parser = parse_eps)]
    pub eps: Option<Eps>,
    /// Adam / AdamW AMSGrad variant.
    #[arg(long)]
    pub amsgrad: bool,
    /// RMSprop smoothing constant alpha (default 0.99); ASGD power alpha of the step-size
    /// decay (default 0.75).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// RMSprop centered variant.
    #[arg(long)]
    pub centered: bool,
    /// Adadelta coefficient rho.
    #[arg(long)]
    pub rho: Option<f64>,
    /// Adagrad learning-rate decay.
    #[arg(long)]
    pub lr_decay: Option<f64>,
    /// Adagrad initial accumulator value.
    #[arg(long)]
    pub initial_accumulator_value: Option<f64>,
    /// NAdam momentum decay.
    #[arg(long)]
    pub momentum_decay: Option<f64>,
    /// NAdam / RAdam decoupled weight decay.
    #[arg(long)]
    pub decoupled_weight_decay: bool,
    /// Rprop step-size factors `etaminus,etaplus` (default 0.5,1.2).
    #[arg(long, value_delimiter = ',', num_args = 1..=2)]
    pub etas: Option<Vec<f64>>,
    /// Rprop step-size bounds `min,max` (default 1e-6,50).
    #[arg(long, value_delimiter = ',', num_args = 1..=2)]
    pub step_sizes: Option<Vec<f64>>,
    /// Adafactor exponent of the second moment's decay (default -0.8).
    #[arg(long, allow_hyphen_values = true)]
    pub beta2_decay: Option<f64>,
    /// Adafactor clipping threshold of the update's RMS (default 1).
    #[arg(long)]
    pub d: Option<f64>,
    /// Muon: the Newton–Schulz coefficients `a,b,c` (default 3.4445,-4.7750,2.0315).
    #[arg(long, value_delimiter = ',', num_args = 1..=3, allow_hyphen_values = true)]
    pub ns_coefficients: Option<Vec<f64>>,
    /// Muon: Newton–Schulz iterations (default 5; below 100).
    #[arg(long)]
    pub ns_steps: Option<u32>,
    /// Muon: the lr adjustment for a weight's shape, `original` (lr·√max(1, out/in), the
    /// default), `match_rms_adamw` (lr·0.2·√max(out, in)) or `spectral_unclamped`
    /// (lr·√(out/in)).
    #[arg(long)]
    pub adjust_lr_fn: Option<String>,
    /// Muon: the Newton–Schulz arithmetic, `bf16` (PyTorch's bfloat16, the default) or
    /// `native` (f32 throughout; not a PyTorch option).
    #[arg(long, value_name = "bf16|native")]
    pub ns_precision: Option<String>,
    /// Muon: AdamW's learning rate for the biases (default 1e-3); a schedule scales it with
    /// Muon's.
    #[arg(long)]
    pub aux_lr: Option<f64>,
    /// Muon: AdamW's weight decay for the biases (default 0.01).
    #[arg(long)]
    pub aux_weight_decay: Option<f64>,
    /// ASGD decay term lambd (default 1e-4).
    #[arg(long)]
    pub lambd: Option<f64>,
    /// ASGD step at which averaging starts (default 1e6).
    #[arg(long)]
    pub t0: Option<f64>,
    /// Evaluate the average of the iterates instead of the last iterate: `--average`'s
    /// (any optimizer), else ASGD's (PyTorch's `state["ax"]`); it is also what
    /// `best.safetensors`, `--restore-best` and the final metrics keep.
    #[arg(long)]
    pub eval_averaged: bool,
    /// Keep a running average of the parameters, as PyTorch's
    /// `torch.optim.swa_utils.AveragedModel`: `swa` (the equal-weight mean of the averaged
    /// iterates) or `ema` (exponential moving average, `--ema-decay`). Evaluated with
    /// `--eval-averaged`; pair SWA with `--scheduler SWALR` (or a SequentialLR ending in it).
    #[arg(long, value_name = "swa|ema")]
    pub average: Option<String>,
    /// `--average ema`: the old average's weight `decay` in
    /// `avg <- decay * avg + (1 - decay) * params` (default 0.999, in [0, 1]).
    #[arg(long)]
    pub ema_decay: Option<f64>,
    /// `--average`: optimizer steps taken before the first update of the average (default 0).
    #[arg(long, value_name = "STEPS")]
    pub average_start: Option<u64>,
    /// `--average`: update the average every this many optimizer steps (default 1; for SWA's
    /// once per epoch give the steps per epoch).
    #[arg(long, value_name = "STEPS")]
    pub average_every: Option<u64>,
    /// Maximize the objective instead of minimizing it.
    #[arg(long)]
    pub maximize: bool,
    /// L-BFGS: iterations per step.
    #[arg(long)]
    pub max_iter: Option<usize>,
    /// L-BFGS: loss evaluations per step.
    #[arg(long)]
    pub max_eval: Option<usize>,
    /// L-BFGS: first-order optimality tolerance.
    #[arg(long)]
    pub tolerance_grad: Option<f64>,
    /// L-BFGS: tolerance on loss / parameter changes.
    #[arg(long)]
    pub tolerance_change: Option<f64>,
    /// L-BFGS: number of curvature pairs kept.
    #[arg(long)]
    pub history_size: Option<usize>,
    /// L-BFGS: line search, `strong_wolfe` or none.
    #[arg(long)]
    pub line_search_fn: Option<String>,
    /// Random search: perturbation scale sigma (its learning rate).
    #[arg(long)]
    pub sigma: Option<f64>,

    // ---- schedule ----
    /// LR scheduler by PyTorch class name (StepLR, CosineAnnealingLR, ReduceLROnPlateau, ...).
    #[arg(long)]
    pub scheduler: Option<String>,
    /// Scheduler keyword arguments with PyTorch's names: `step_size=10,gamma=0.5`
    /// (lists `milestones=30;80` or `milestones=[30,80]`; SequentialLR:
    /// `schedulers=[LinearLR(total_iters=5),CosineAnnealingLR(T_max=95)],milestones=[5]`;
    /// ChainedScheduler: `schedulers=[...]` alone; LambdaLR, MultiplicativeLR:
    /// `lr_lambda=lambda e: 0.95 ** e`, a Python lambda of the epoch).
    #[arg(long, value_name = "K=V,...")]
    pub sched_args: Option<String>,
    /// When the scheduler advances (ReduceLROnPlateau always steps at each evaluation).
    #[arg(long, value_enum, default_value_t = Interval::Epoch)]
    pub sched_interval: Interval,

    // ---- clipping and regularization ----
    /// Clip the gradient's total norm to this value (`clip_grad_norm_`).
    #[arg(long)]
    pub clip_grad_norm: Option<f64>,
    /// Norm type for `--clip-grad-norm` (2 = Euclidean; `inf` allowed).
    #[arg(long, default_value_t = 2.0)]
    pub norm_type: f64,
    /// Clamp every gradient element to [-v, v] (`clip_grad_value_`).
    #[arg(long)]
    pub clip_grad_value: Option<f64>,
    /// L1 penalty `l1 * sum |w|` added to the loss.
    #[arg(long)]
    pub l1: Option<f64>,
    /// L2 penalty `l2/2 * sum w^2` added to the loss.
    #[arg(long)]
    pub l2: Option<f64>,

    // ---- loop ----
    /// Number of epochs (default 40 unless --iters is given).
    #[arg(long, conflicts_with = "iters")]
    pub epochs: Option<u64>,
    /// Number of optimizer steps (instead of --epochs).
    #[arg(long)]
    pub iters: Option<u64>,
    /// Mini-batch size.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Also evaluate every N steps (always at the end of each epoch).
    #[arg(long, value_name = "N")]
    pub eval_every: Option<u64>,
    /// Training-set metrics at each evaluation use the first N training rows (0: all rows).
    /// Validation and test splits are always evaluated whole.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub train_eval_rows: usize,
    /// Random seed (initialization, shuffling, splits).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads for the rayon pool, 1 to 4096 (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,

    // ---- early stopping ----
    /// Stop after this many evaluations without validation-loss improvement.
    #[arg(long)]
    pub patience: Option<u64>,
    /// Minimum decrease of the validation loss that counts as an improvement.
    #[arg(long, default_value_t = 0.0)]
    pub min_delta: f64,
    /// At the end, restore the parameters with the best validation loss.
    #[arg(long)]
    pub restore_best: bool,

    // ---- checkpoints and outputs ----
    /// Directory for checkpoints (`last.safetensors`, `best.safetensors`).
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Save a checkpoint every N steps (default: at every evaluation).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<u64>,
    /// Resume from `<checkpoint-dir>/last.safetensors`.
    #[arg(long, requires = "checkpoint_dir")]
    pub resume: bool,
    /// Write metrics to this file (.csv or .jsonl).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Plot loss and accuracy curves to this file (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write a JSON summary of the run to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Print only the final line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `descent eval`: evaluate a checkpoint.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// The checkpoint file (.safetensors) written by `descent train`.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Which split to evaluate: train, val or test.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Override the data directory recorded in the checkpoint.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Write the result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Worker threads for the rayon pool, 1 to 4096.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Search strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Search {
    /// Every combination of the listed values.
    Grid,
    /// `--trials` independent draws.
    Random,
}

/// `descent sweep`: hyperparameter search; the `train` flags set the base configuration. A
/// trial that fails shows its error in the leaderboard; the sweep exits non-zero only when
/// every trial fails (with the first trial's error and exit status).
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Search strategy.
    #[arg(long, value_enum, default_value_t = Search::Grid)]
    pub search: Search,
    /// A searched flag: `lr=0.1,0.01` (grid values or random choices), or for random search
    /// `lr=log:1e-4:1e-1`, `momentum=uniform:0:0.99`, `batch-size=int:16:128`. Repeatable.
    #[arg(long = "param", value_name = "FLAG=SPEC", required = true)]
    pub params: Vec<String>,
    /// Number of random-search trials.
    #[arg(long, default_value_t = 16)]
    pub trials: usize,
    /// Trials run at the same time, 1 to 4096 (default: all cores).
    #[arg(long)]
    pub parallel: Option<usize>,
    /// Seed of the random search (trials keep the base --seed).
    #[arg(long, default_value_t = 0)]
    pub sweep_seed: u64,
    /// Write the leaderboard as CSV to this file.
    #[arg(long, value_name = "FILE")]
    pub leaderboard: Option<PathBuf>,
    /// The base training configuration.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Insert `train` when no subcommand is given (`descent`, `descent --epochs 5`).
pub fn with_default_subcommand(mut argv: Vec<String>) -> Vec<String> {
    let needs = match argv.get(1).map(String::as_str) {
        None => true,
        Some("-h" | "--help" | "-V" | "--version" | "help") => false,
        Some(a) => a.starts_with('-'),
    };
    if needs {
        argv.insert(1.min(argv.len()), "train".into());
    }
    argv
}

/// `--eps`: one value, or Adafactor's pair (PyTorch's `eps=(eps1, eps2)`, `eps1` may be None).
/// Recorded in checkpoints as a number or a 2-list (`null` for None).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Eps {
    /// One value (every optimizer but Adafactor).
    One(f64),
    /// `eps1,eps2` (Adafactor).
    Pair(Option<f64>, f64),
}

/// Parse `--eps`: `X`, or `X,Y` / `None,Y`.
fn parse_eps(s: &str) -> std::result::Result<Eps, String> {
    let num = |t: &str| {
        t.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{t}` is not a number"))
    };
    match s.split_once(',') {
        None => num(s).map(Eps::One),
        Some((a, b)) => {
            let a = match a.trim() {
                "None" | "none" => None,
                t => Some(num(t)?),
            };
            Ok(Eps::Pair(a, num(b)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn default_subcommand_is_train() {
        let a = with_default_subcommand(vec!["descent".into()]);
        assert_eq!(a, ["descent", "train"]);
        let a = with_default_subcommand(vec!["descent".into(), "--lr".into(), "1".into()]);
        assert_eq!(a[1], "train");
        let a = with_default_subcommand(vec!["descent".into(), "eval".into()]);
        assert_eq!(a[1], "eval");
    }

    #[test]
    fn spec_flags_parse() {
        let cli = Cli::try_parse_from([
            "descent",
            "train",
            "--dataset",
            "fashion-mnist",
            "--model",
            "mlp",
            "--hidden",
            "512,512",
            "--optimizer",
            "sgd",
            "--lr",
            "0.1",
            "--momentum",
            "0.9",
            "--batch-size",
            "100",
            "--iters",
            "3000",
            "--eval-every",
            "500",
            "--seed",
            "0",
            "--summary-json",
            "out.json",
            "--lr",
            "0.2",
        ])
        .unwrap();
        let Command::Train(t) = cli.command else {
            panic!("not train")
        };
        assert_eq!(t.hidden, [512, 512]);
        assert_eq!(t.lr, Some(0.2), "later flags override earlier ones");
        assert_eq!(t.iters, Some(3000));
    }
}
