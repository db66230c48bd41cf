//! The training loop: epochs or steps, periodic evaluation, LR schedules, clipping,
//! regularization, early stopping, divergence detection, checkpoints and resume, outputs.
//!
//! Determinism: the whole state that influences the parameters (parameters, optimizer state,
//! scheduler state, batch order RNG and position, early-stopping counters) is saved in each
//! checkpoint, so `N/2` steps + `--resume` ends with the same bits as `N` straight steps.

use crate::checkpoint::{Checkpoint, BLOB_PREFIX};
use crate::cli::{Interval, TrainArgs};
use crate::error::{Error, Result};
use crate::metrics::{MetricsWriter, Record, SplitMetrics};
use crate::optimizer::BoxedOptimizer;
use crate::task::{gather, BatchOrder, BatchTargets, Net, Split, Splits, Targets};
use descent_core::sched::Scheduler;
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Default number of epochs when neither `--epochs` nor `--iters` is given.
pub const DEFAULT_EPOCHS: u64 = 40;

/// What a run reports (`--summary-json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Data set.
    pub dataset: String,
    /// Model family.
    pub model: String,
    /// Optimizer name.
    pub optimizer: String,
    /// Number of parameters.
    pub params: usize,
    /// Optimizer steps done.
    pub steps: u64,
    /// Epochs done (fractional).
    pub epochs: f64,
    /// Wall-clock seconds spent training (excluding evaluation), summed over resumes.
    pub train_seconds: f64,
    /// Training samples processed per second of training.
    pub samples_per_second: f64,
    /// Final train loss (full pass).
    pub train_loss: f64,
    /// Final train accuracy (classification).
    pub train_accuracy: Option<f64>,
    /// Final validation loss.
    pub val_loss: Option<f64>,
    /// Final validation accuracy.
    pub val_accuracy: Option<f64>,
    /// Final test loss.
    pub test_loss: Option<f64>,
    /// Final test accuracy.
    pub test_accuracy: Option<f64>,
    /// Best validation loss seen and its step.
    pub best_val_loss: Option<f64>,
    /// Step of the best validation loss.
    pub best_step: Option<u64>,
    /// True if early stopping ended the run.
    pub stopped_early: bool,
    /// True if the best parameters were restored at the end.
    pub restored_best: bool,
    /// Regression only: comparison with the closed-form least-squares solution.
    pub least_squares: Option<crate::eval::LeastSquares>,
}

/// Training-loop position and decision state, saved in checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LoopState {
    /// Optimizer steps done.
    pub step: u64,
    /// Completed epochs.
    pub epoch: u64,
    /// Batches done in the current epoch.
    pub batch_in_epoch: u64,
    /// Best validation (or train, without a validation split) loss, as f64 bits.
    pub best_bits: Option<u64>,
    /// Step of the best loss.
    pub best_step: u64,
    /// Evaluations since the last improvement.
    pub bad_evals: u64,
    /// Sum of mini-batch losses since the last record.
    pub batch_loss_sum: f64,
    /// Mini-batches since the last record.
    pub batch_loss_count: u64,
    /// Training seconds so far.
    pub train_seconds: f64,
    /// Training samples processed so far.
    pub samples: u64,
    /// Every evaluation so far.
    pub history: Vec<Record>,
    /// True once early stopping triggered.
    pub stopped_early: bool,
}

impl LoopState {
    fn best(&self) -> Option<f64> {
        self.best_bits.map(f64::from_bits)
    }
}

/// Put the scheduler's current lr on the optimizer, and its momentum when it cycles one
/// (SGD/RMSprop `momentum`, Adam family `betas[0]`), as PyTorch's schedulers do.
fn apply_schedule(opt: &mut BoxedOptimizer, s: &Scheduler) -> Result<()> {
    opt.set_lr(s.lr())
        .map_err(|e| Error::core("--scheduler", e))?;
    if let Some(m) = s.momentum() {
        opt.set_momentum(m)
            .map_err(|e| Error::core("--scheduler", e))?;
    }
    Ok(())
}

/// Everything a run is made of, built from the arguments.
pub struct Parts {
    /// The data.
    pub data: Splits,
    /// The model.
    pub net: Box<dyn Net>,
    /// Batch order over the training split.
    pub order: Box<dyn BatchOrder>,
    /// The optimizer.
    pub opt: BoxedOptimizer,
    /// The LR scheduler, if any.
    pub sched: Option<Scheduler>,
    /// Parameters (initialized).
    pub params: Vec<f32>,
}

/// Loss and accuracy of `net` at `params` over a whole split (chunks of 512 rows).
pub fn evaluate(
    net: &mut dyn Net,
    params: &[f32],
    split: &Split,
    features: usize,
) -> Result<SplitMetrics> {
    evaluate_rows(net, params, split, features, split.rows)
}

/// [`evaluate`] on the first `limit` rows of `split` (all rows when `limit` is 0 or larger
/// than the split): `descent train` measures training-set metrics on a fixed prefix
/// (`--train-eval-rows`) so that evaluation does not dominate the run on large data sets.
pub fn evaluate_rows(
    net: &mut dyn Net,
    params: &[f32],
    split: &Split,
    features: usize,
    limit: usize,
) -> Result<SplitMetrics> {
    const CHUNK: usize = 512;
    let n_rows = if limit == 0 {
        split.rows
    } else {
        limit.min(split.rows)
    };
    let width = net.outputs();
    let mut out = vec![0f32; CHUNK * width];
    let mut loss = 0f64;
    let mut correct = 0usize;
    let mut start = 0;
    while start < n_rows {
        let rows = CHUNK.min(n_rows - start);
        let x = &split.x[start * features..(start + rows) * features];
        let o = &mut out[..rows * width];
        net.forward(params, x, rows, o)?;
        match &split.targets {
            Targets::Labels { y, .. } => {
                let labels = &y[start..start + rows];
                loss += net.loss_sum(o, BatchTargets::Labels(labels))?;
                for (row, &label) in o.chunks_exact(width).zip(labels) {
                    // As torch.argmax: first maximum, NaN above every number.
                    correct += (descent_core::model::argmax(row) == label as usize) as usize;
                }
            }
            Targets::Values { y, outputs } => {
                let t = &y[start * outputs..(start + rows) * outputs];
                loss += net.loss_sum(o, BatchTargets::Values(t))?;
            }
        }
        start += rows;
    }
    let n = n_rows.max(1) as f64;
    Ok(match &split.targets {
        Targets::Labels { .. } => SplitMetrics {
            loss: loss / n,
            accuracy: Some(correct as f64 / n),
        },
        Targets::Values { outputs, .. } => SplitMetrics {
            loss: loss / (n * (*outputs).max(1) as f64),
            accuracy: None,
        },
    })
}

/// Check the loop's own arguments.
pub fn validate(args: &TrainArgs) -> Result<()> {
    if args.batch_size == 0 {
        return Err(Error::usage("--batch-size 0: expected a positive integer"));
    }
    if args.epochs == Some(0) {
        return Err(Error::usage("--epochs 0: expected a positive integer"));
    }
    if args.iters == Some(0) {
        return Err(Error::usage("--iters 0: expected a positive integer"));
    }
    if args.eval_every == Some(0) {
        return Err(Error::usage("--eval-every 0: expected a positive integer"));
    }
    if args.checkpoint_every == Some(0) {
        return Err(Error::usage(
            "--checkpoint-every 0: expected a positive integer",
        ));
    }
    if args.patience == Some(0) {
        return Err(Error::usage("--patience 0: expected a positive integer"));
    }
    crate::cli::check_threads(args.threads)?;
    if !(args.min_delta.is_finite() && args.min_delta >= 0.0) {
        return Err(Error::usage(format!(
            "--min-delta {}: expected a finite number >= 0",
            args.min_delta
        )));
    }
    for (name, v) in [
        ("val-fraction", args.val_fraction),
        ("test-fraction", args.test_fraction),
    ] {
        if !(0.0..1.0).contains(&v) {
            return Err(Error::usage(format!(
                "--{name} {v}: expected a number in [0, 1)"
            )));
        }
    }
    if args.val_fraction + args.test_fraction >= 1.0 {
        return Err(Error::usage(format!(
            "--val-fraction {} + --test-fraction {}: expected a sum below 1",
            args.val_fraction, args.test_fraction
        )));
    }
    for (name, v) in [("l1", args.l1), ("l2", args.l2)] {
        if let Some(v) = v {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::usage(format!(
                    "--{name} {v}: expected a finite number >= 0"
                )));
            }
        }
    }
    if let Some(v) = args.clip_grad_norm {
        if v.is_nan() || v < 0.0 {
            return Err(Error::usage(format!(
                "--clip-grad-norm {v}: expected a number >= 0 (inf: no clipping)"
            )));
        }
    }
    if let Some(v) = args.clip_grad_value {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::usage(format!(
                "--clip-grad-value {v}: expected a finite number >= 0"
            )));
        }
    }
    if args.norm_type.is_nan() || args.norm_type <= 0.0 {
        return Err(Error::usage(format!(
            "--norm-type {}: expected a number > 0 (or inf)",
            args.norm_type
        )));
    }
    if args.hidden.contains(&0) {
        return Err(Error::usage(
            "--hidden: every width must be a positive integer",
        ));
    }
    if let Some(p) = &args.plot {
        crate::plot::check_path(p)?;
    }
    if let Some(p) = &args.metrics {
        crate::metrics::Format::from_path(p)?;
    }
    Ok(())
}

fn last_path(dir: &Path) -> PathBuf {
    dir.join("last.safetensors")
}

fn best_path(dir: &Path) -> PathBuf {
    dir.join("best.safetensors")
}

/// Config JSON stored in checkpoints (everything that defines the run).
fn config_json(args: &TrainArgs) -> String {
    serde_json::to_string(args).unwrap_or_default()
}

struct Saver<'a> {
    dir: Option<&'a Path>,
    args: &'a TrainArgs,
}

impl Saver<'_> {
    fn checkpoint(&self, parts: &Parts, params: &[f32], state: &LoopState) -> Result<Checkpoint> {
        let mut c = Checkpoint::from_params(&parts.net.layers(), params)?;
        c.meta.insert("config".into(), config_json(self.args));
        c.blobs.insert(
            "state".into(),
            serde_json::to_vec(state)
                .map_err(|e| Error::Runtime(format!("checkpoint state: {e}")))?,
        );
        c.blobs.insert("optimizer".into(), parts.opt.export()?);
        if let Some(s) = &parts.sched {
            c.blobs.insert("scheduler".into(), s.save_to_vec());
        }
        c.blobs.insert("loader".into(), parts.order.export_state());
        Ok(c)
    }

    fn save_last(&self, parts: &Parts, state: &LoopState) -> Result<()> {
        if let Some(dir) = self.dir {
            // Never replace the last good checkpoint with non-finite parameters.
            if let Some(i) = parts.params.iter().position(|v| !v.is_finite()) {
                return Err(Error::Diverged(format!(
                    "training diverged: parameter {i} is {} at step {}; the last good checkpoint is {}",
                    parts.params[i],
                    state.step,
                    last_path(dir).display()
                )));
            }
            self.checkpoint(parts, &parts.params, state)?
                .save(&last_path(dir))?;
        }
        Ok(())
    }

    fn save_best(&self, parts: &Parts, params: &[f32], state: &LoopState) -> Result<()> {
        if let Some(dir) = self.dir {
            let mut c = Checkpoint::from_params(&parts.net.layers(), params)?;
            c.meta.insert("config".into(), config_json(self.args));
            c.meta.insert("step".into(), state.step.to_string());
            c.save(&best_path(dir))?;
        }
        Ok(())
    }
}

/// The parameters an evaluation reads: with `--eval-averaged`, the optimizer's average of the
/// iterates (ASGD's `ax`) once a step has been taken; otherwise the iterate `params`.
fn eval_params<'a>(
    args: &TrainArgs,
    opt: &'a BoxedOptimizer,
    params: &'a [f32],
    step: u64,
) -> &'a [f32] {
    match opt.averaged() {
        Some(a) if args.eval_averaged && step > 0 => a,
        _ => params,
    }
}

/// `TrainArgs` fields (serde names) that may differ between a run and its `--resume`: the
/// run's length, where its outputs go, the thread count and where the data files are. Every
/// other flag shapes the trajectory, so a resumed run must repeat it to continue bitwise.
const RESUME_MAY_CHANGE: &[&str] = &[
    "config",
    "data_dir",
    "iters",
    "epochs",
    "threads",
    "checkpoint_dir",
    "checkpoint_every",
    "resume",
    "metrics",
    "plot",
    "summary_json",
    "no_progress",
    "quiet",
];

/// The run's settings as they take effect, recorded in its checkpoints and compared on
/// `--resume`: the data-dependent defaults filled in (optimizer, its `lr`, model family), the
/// case-insensitive optimizer and scheduler names lower-cased, the loss's by its class name, an
/// activation with parameters in its canonical spelling, `--sched-args` and `--loss-args`
/// without whitespace, and a CSV data set as `csv:` and its absolute path, so that equivalent
/// spellings of one run compare equal.
fn effective_args(args: &TrainArgs, data: &Splits) -> Result<TrainArgs> {
    let mut a = if args.optimizer.is_none() {
        crate::wire::with_default_optimizer(args, data)
    } else {
        args.clone()
    };
    a.model = Some(crate::wire::model_kind(args, data));
    if a.lr.is_none() {
        a.lr = Some(crate::optimizer::build(&a, 0)?.lr());
    }
    a.optimizer = a.optimizer.map(|o| o.to_ascii_lowercase());
    // `--nesterov` as it takes effect (Muon's default is true, SGD's false; checkpoints
    // written while it was a switch record `false` when it was not given).
    a.nesterov = Some(a.nesterov.unwrap_or(a.optimizer.as_deref() == Some("muon")));
    a.scheduler = a.scheduler.map(|o| o.to_ascii_lowercase());
    a.average = a.average.map(|o| o.to_ascii_lowercase());
    a.sched_args = a
        .sched_args
        .map(|s| s.chars().filter(|c| !c.is_whitespace()).collect());
    a.loss = a
        .loss
        .map(|l| crate::loss::canonical(&l).map_or(l, str::to_string));
    // An activation with parameters in its canonical spelling (defaults dropped, so
    // `elu:alpha=1` is `elu`); names without parameters stay as given.
    if a.activation.contains(':') {
        a.activation = crate::wire::parse_activation(&a.activation)?.to_string();
    }
    a.loss_args = a
        .loss_args
        .map(|s| s.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .filter(|s| !s.is_empty());
    // The default criterion named explicitly is the default (and checkpoints written before
    // `--loss` existed record none).
    let default_loss = if data.train.targets.is_classification() {
        "CrossEntropyLoss"
    } else {
        "MSELoss"
    };
    if a.loss.as_deref() == Some(default_loss) && a.loss_args.is_none() {
        a.loss = None;
    }
    // `csv:ABSOLUTE-PATH`: one spelling for every way of naming the file, and still a CSV
    // data set when its name does not end in `.csv`.
    if let Some(abs) = crate::data::csv_path(&a.dataset).and_then(|p| std::fs::canonicalize(p).ok())
    {
        a.dataset = format!("csv:{}", abs.display());
    }
    Ok(a)
}

/// Refuse to resume from a checkpoint whose recorded configuration differs from `args` (the
/// [`effective_args`] of this run) in a flag outside [`RESUME_MAY_CHANGE`], naming every such
/// flag with both values.
fn check_resume_config(path: &Path, stored: &str, args: &TrainArgs) -> Result<()> {
    let bad = |e: String| Error::io(path, format!("bad `config` metadata: {e}"));
    let stored: serde_json::Value = serde_json::from_str(stored).map_err(|e| bad(e.to_string()))?;
    let stored = stored
        .as_object()
        .ok_or_else(|| bad("not a JSON object".into()))?;
    let now = serde_json::to_value(args).map_err(|e| Error::Runtime(format!("config: {e}")))?;
    let show = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "unset".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    let differ: Vec<String> = now
        .as_object()
        .into_iter()
        .flatten()
        // A key the checkpoint lacks (a flag added since it was written) reads as unset.
        .filter(|(k, v)| {
            !RESUME_MAY_CHANGE.contains(&k.as_str())
                && stored.get(*k).unwrap_or(&serde_json::Value::Null) != *v
        })
        .map(|(k, v)| {
            format!(
                "--{} {} (checkpoint: {})",
                k.replace('_', "-"),
                show(Some(v)),
                show(stored.get(k))
            )
        })
        .collect();
    if differ.is_empty() {
        return Ok(());
    }
    Err(Error::io(
        path,
        format!(
            "checkpoint was written with other settings than this run: {}; resume with the run's flags (only --iters/--epochs, outputs, --threads and --data-dir may change)",
            differ.join(", ")
        ),
    ))
}

/// Restore parts and loop state from `<dir>/last.safetensors`; returns the state and the best
/// parameters (from `best.safetensors`) when there are any. The checkpoint must have been
/// written by a run with the same configuration (see [`check_resume_config`]).
fn restore(
    dir: &Path,
    args: &TrainArgs,
    parts: &mut Parts,
) -> Result<(LoopState, Option<Vec<f32>>)> {
    let path = last_path(dir);
    let c = Checkpoint::load(&path)?;
    check_resume_config(&path, c.meta("config", &path)?, args)?;
    let layers = parts.net.layers();
    parts.params = c.params(&layers, &path)?;
    let state: LoopState = serde_json::from_slice(c.blob("state", &path)?)
        .map_err(|e| Error::io(&path, format!("bad `{BLOB_PREFIX}state` tensor: {e}")))?;
    parts.opt.import(c.blob("optimizer", &path)?).map_err(|e| {
        Error::io(
            &path,
            format!("optimizer state does not fit this run (different --optimizer or model?): {e}"),
        )
    })?;
    match (&mut parts.sched, c.blobs.get("scheduler")) {
        (Some(s), Some(b)) => {
            let loaded = Scheduler::load(b)
                .map_err(|e| Error::io(&path, format!("scheduler state: {e}")))?;
            if loaded.name() != s.name() {
                return Err(Error::io(
                    &path,
                    format!(
                        "checkpoint has scheduler {}, this run uses {}",
                        loaded.name(),
                        s.name()
                    ),
                ));
            }
            *s = loaded;
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(Error::io(
                &path,
                "checkpoint has no scheduler state, this run uses --scheduler",
            ))
        }
        (None, Some(_)) => {
            return Err(Error::io(
                &path,
                "checkpoint has a scheduler, this run has no --scheduler",
            ))
        }
    }
    parts
        .order
        .import_state(c.blob("loader", &path)?)
        .map_err(|e| Error::io(&path, e))?;
    let best = if state.best_bits.is_some() && best_path(dir).exists() {
        let bp = best_path(dir);
        Some(Checkpoint::load(&bp)?.params(&layers, &bp)?)
    } else {
        None
    };
    Ok((state, best))
}

/// Where the last good checkpoint is, for divergence messages.
fn kept_note(dir: Option<&Path>) -> String {
    match dir {
        Some(d) if last_path(d).exists() => {
            format!("; the last good checkpoint is {}", last_path(d).display())
        }
        Some(_) => "; no checkpoint had been written yet".to_string(),
        None => String::new(),
    }
}

fn fmt_metrics(name: &str, m: &SplitMetrics) -> String {
    match m.accuracy {
        Some(a) => format!("{name} loss {:.4} acc {:.2}%", m.loss, 100.0 * a),
        None => format!("{name} loss {:.6}", m.loss),
    }
}

/// Options that are not part of the run's configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// No progress bar and no per-evaluation lines (sweep trials).
    pub silent: bool,
}

/// Train with `args` on `parts` (built by `crate::wire::build`) and report.
pub fn run(args: &TrainArgs, mut parts: Parts, opts: RunOptions) -> Result<Summary> {
    validate(args)?;
    let features = parts.data.features;
    let n_train = parts.data.train.rows;
    if n_train == 0 {
        return Err(Error::usage(format!(
            "--dataset {}: the training split is empty",
            args.dataset
        )));
    }
    let per_epoch = parts.order.batches_per_epoch().max(1) as u64;
    let total = match (args.iters, args.epochs) {
        (Some(i), _) => i,
        (None, Some(e)) => e.saturating_mul(per_epoch),
        (None, None) => DEFAULT_EPOCHS * per_epoch,
    };
    let dir = args.checkpoint_dir.as_deref();
    if let Some(d) = dir {
        std::fs::create_dir_all(d).map_err(|e| Error::output(d, e))?;
    }
    let effective = effective_args(args, &parts.data)?;
    let saver = Saver {
        dir,
        args: &effective,
    };
    let (mut st, resumed_best) = if args.resume {
        let d = dir.ok_or_else(|| Error::usage("--resume needs --checkpoint-dir"))?;
        if !last_path(d).exists() {
            return Err(Error::io(&last_path(d), "no checkpoint to resume from"));
        }
        restore(d, &effective, &mut parts)?
    } else {
        (LoopState::default(), None)
    };
    let plateau = parts.sched.as_ref().is_some_and(|s| s.needs_metric());
    if let Some(s) = &parts.sched {
        apply_schedule(&mut parts.opt, s)?;
    }
    let mut metrics = match &args.metrics {
        Some(p) => Some(MetricsWriter::create(p, &st.history)?),
        None => None,
    };
    let show_bar =
        !opts.silent && !args.quiet && !args.no_progress && std::io::stderr().is_terminal();
    let bar = if show_bar {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps  {msg}  [{elapsed_precise} < {eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_position(st.step);
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let verbose = !opts.silent && !args.quiet;
    let say = |s: String| {
        if verbose {
            if bar.is_hidden() {
                eprintln!("{s}");
            } else {
                bar.println(s);
            }
        }
    };
    let n = parts.params.len();
    let mut grad: Vec<f32> = crate::optimizer::zeroed(n, "--model", "gradient", n)?;
    // --restore-best keeps a copy of the best parameters, allocated once, before training.
    let (mut best_params, mut have_best) = match (args.restore_best, resumed_best) {
        (false, _) => (None, false),
        (true, Some(b)) => (Some(b), true),
        (true, None) => (
            Some(crate::optimizer::zeroed(
                n,
                "--restore-best",
                "copy of the best parameters",
                n,
            )?),
            false,
        ),
    };
    let (mut xb, mut yl, mut yv) = (Vec::new(), Vec::new(), Vec::new());
    let l1 = args.l1.unwrap_or(0.0);
    let l2 = args.l2.unwrap_or(0.0);
    let mut last_eval: Option<Record> = st.history.last().cloned();
    let mut samples_since = 0usize;
    let mut bar_clock = Instant::now();
    while st.step < total && !st.stopped_early {
        let t0 = Instant::now();
        let idx = parts.order.next_batch();
        let rows = idx.len();
        gather(&parts.data.train, features, idx, &mut xb, &mut yl, &mut yv);
        let y = match parts.data.train.targets {
            Targets::Labels { .. } => BatchTargets::Labels(&yl),
            Targets::Values { .. } => BatchTargets::Values(&yv),
        };
        // loss(θ) and its gradient on this mini-batch, with the penalty and clipping; the
        // optimizer calls it once (first-order) or several times (L-BFGS, random search).
        let mut failure: Option<Error> = None;
        let net = &mut parts.net;
        let mut eval = |p: &[f32], g: &mut [f32]| -> f32 {
            let r = (|| -> Result<f32> {
                let mut loss = net.loss_grad(p, &xb, y, rows, g)?;
                if l1 > 0.0 || l2 > 0.0 {
                    loss += crate::wire::penalty(p, g, l1, l2)? as f32;
                }
                if loss.is_finite() {
                    if let Some(v) = args.clip_grad_value {
                        descent_core::optim::clip_grad_value(g, v)
                            .map_err(|e| Error::core("--clip-grad-value", e))?;
                    }
                    if let Some(m) = args.clip_grad_norm {
                        descent_core::optim::clip_grad_norm(g, m, args.norm_type)
                            .map_err(|e| Error::core("--clip-grad-norm", e))?;
                    }
                }
                Ok(loss)
            })();
            r.unwrap_or_else(|e| {
                failure.get_or_insert(e);
                f32::NAN
            })
        };
        let stepped = parts.opt.step(&mut parts.params, &mut grad, &mut eval);
        if let Some(e) = failure {
            return Err(e);
        }
        let loss = stepped.map_err(|e| Error::core("optimizer step", e))? as f64;
        if !loss.is_finite() {
            bar.abandon();
            return Err(Error::Diverged(format!(
                "training diverged: loss is {loss} at step {} (epoch {}); try a smaller --lr{}",
                st.step + 1,
                st.epoch + 1,
                kept_note(dir)
            )));
        }
        st.step += 1;
        st.batch_in_epoch += 1;
        st.batch_loss_sum += loss;
        st.batch_loss_count += 1;
        samples_since += rows;
        st.samples += rows as u64;
        let epoch_end = st.batch_in_epoch == per_epoch;
        if epoch_end {
            st.epoch += 1;
            st.batch_in_epoch = 0;
        }
        if let Some(s) = &mut parts.sched {
            let due = match args.sched_interval {
                Interval::Step => true,
                Interval::Epoch => epoch_end,
            };
            if due && !plateau {
                s.step()
                    .map_err(|e| Error::core(format!("--scheduler {}", s.name()), e))?;
                apply_schedule(&mut parts.opt, s)?;
            }
        }
        st.train_seconds += t0.elapsed().as_secs_f64();
        if show_bar && (bar_clock.elapsed().as_millis() >= 200 || st.step == total) {
            let secs = bar_clock.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4}  lr {:.3e}  {:.0} samples/s",
                loss,
                parts.opt.lr(),
                samples_since as f64 / secs
            ));
            bar.set_position(st.step);
            bar_clock = Instant::now();
            samples_since = 0;
        }
        // Regular evaluations (epoch ends, every --eval-every steps) drive decisions; the
        // evaluation after the last step of a run that ends elsewhere is only reported, so a
        // run cut short and resumed makes the same decisions as an uninterrupted one.
        let regular = epoch_end || args.eval_every.is_some_and(|k| st.step % k == 0);
        let eval_due = regular || st.step == total;
        if eval_due {
            let lr = parts.opt.lr();
            let params = eval_params(args, &parts.opt, &parts.params, st.step);
            let train = evaluate_rows(
                &mut *parts.net,
                params,
                &parts.data.train,
                features,
                args.train_eval_rows,
            )?;
            let val = match &parts.data.val {
                Some(v) => Some(evaluate(&mut *parts.net, params, v, features)?),
                None => None,
            };
            let test = match &parts.data.test {
                Some(v) => Some(evaluate(&mut *parts.net, params, v, features)?),
                None => None,
            };
            let rec = Record {
                step: st.step,
                epoch: st.step as f64 / per_epoch as f64,
                lr,
                seconds: st.train_seconds,
                train_loss: st.batch_loss_sum / st.batch_loss_count.max(1) as f64,
                train,
                val,
                test,
            };
            if regular {
                st.batch_loss_sum = 0.0;
                st.batch_loss_count = 0;
            }
            let mut line = format!(
                "step {:>6} epoch {:>6.2}  {}",
                rec.step,
                rec.epoch,
                fmt_metrics("train", &rec.train)
            );
            if let Some(v) = &rec.val {
                line += &format!("  {}", fmt_metrics("val", v));
            }
            if let Some(t) = &rec.test {
                line += &format!("  {}", fmt_metrics("test", t));
            }
            say(line);
            // Decisions use validation loss (train loss without a validation split).
            let watched = rec.val.map(|m| m.loss).unwrap_or(rec.train.loss);
            if !watched.is_finite() {
                bar.abandon();
                return Err(Error::Diverged(format!(
                    "training diverged: evaluation loss is {watched} at step {}; try a smaller --lr{}",
                    st.step,
                    kept_note(dir)
                )));
            }
            if !regular {
                last_eval = Some(rec);
                saver.save_last(&parts, &st)?;
                continue;
            }
            if let Some(w) = &mut metrics {
                w.write(&rec)?;
            }
            let improved = match st.best() {
                None => true,
                Some(b) => watched < b - args.min_delta,
            };
            if improved {
                st.best_bits = Some(watched.to_bits());
                st.best_step = st.step;
                st.bad_evals = 0;
                let params = eval_params(args, &parts.opt, &parts.params, st.step);
                if let Some(b) = &mut best_params {
                    b.copy_from_slice(params);
                    have_best = true;
                }
                saver.save_best(&parts, params, &st)?;
            } else {
                st.bad_evals += 1;
            }
            if let Some(p) = args.patience {
                if st.bad_evals >= p {
                    st.stopped_early = true;
                    say(format!(
                        "early stopping at step {}: no improvement of the validation loss for {p} evaluations (best {:.6} at step {})",
                        st.step,
                        st.best().unwrap_or(f64::NAN),
                        st.best_step
                    ));
                }
            }
            if plateau {
                if let Some(s) = &mut parts.sched {
                    s.step_with_metric(watched)
                        .map_err(|e| Error::core("ReduceLROnPlateau", e))?;
                    apply_schedule(&mut parts.opt, s)?;
                }
            }
            st.history.push(rec.clone());
            last_eval = Some(rec);
            if args.checkpoint_every.is_none() || st.stopped_early || st.step == total {
                saver.save_last(&parts, &st)?;
            }
        }
        if let Some(k) = args.checkpoint_every {
            if st.step % k == 0 && !eval_due {
                saver.save_last(&parts, &st)?;
            }
        }
    }
    bar.finish_and_clear();
    // --eval-averaged: the run returns (and reports) the average it evaluated.
    if let (true, Some(a)) = (args.eval_averaged && st.step > 0, parts.opt.averaged()) {
        parts.params.copy_from_slice(a);
    }
    let mut restored = false;
    if have_best {
        if let Some(b) = best_params.take() {
            if b != parts.params {
                parts.params = b;
                restored = true;
            }
        }
    }
    // Final metrics at the returned parameters.
    let fin = if let (false, Some(r)) = (restored, &last_eval) {
        (r.train, r.val, r.test)
    } else {
        let train = evaluate_rows(
            &mut *parts.net,
            &parts.params,
            &parts.data.train,
            features,
            args.train_eval_rows,
        )?;
        let val = match &parts.data.val {
            Some(v) => Some(evaluate(&mut *parts.net, &parts.params, v, features)?),
            None => None,
        };
        let test = match &parts.data.test {
            Some(v) => Some(evaluate(&mut *parts.net, &parts.params, v, features)?),
            None => None,
        };
        (train, val, test)
    };
    if let Some(p) = &args.plot {
        crate::plot::plot(p, &st.history)?;
    }
    let least_squares = if parts.data.train.targets.is_classification() {
        None
    } else {
        crate::eval::least_squares(&parts.data, &mut *parts.net, &parts.params)?
    };
    let samples = st.samples as f64;
    let summary = Summary {
        dataset: parts.data.name.clone(),
        model: crate::wire::model_name(args, &parts.data),
        optimizer: parts.opt.torch_name().to_string(),
        params: parts.params.len(),
        steps: st.step,
        epochs: st.step as f64 / per_epoch as f64,
        train_seconds: st.train_seconds,
        samples_per_second: samples / st.train_seconds.max(1e-9),
        train_loss: fin.0.loss,
        train_accuracy: fin.0.accuracy,
        val_loss: fin.1.map(|m| m.loss),
        val_accuracy: fin.1.and_then(|m| m.accuracy),
        test_loss: fin.2.map(|m| m.loss),
        test_accuracy: fin.2.and_then(|m| m.accuracy),
        best_val_loss: st.best(),
        best_step: st.best_bits.map(|_| st.best_step),
        stopped_early: st.stopped_early,
        restored_best: restored,
        least_squares,
    };
    if let Some(p) = &args.summary_json {
        let text = serde_json::to_string_pretty(&summary)
            .map_err(|e| Error::Runtime(format!("summary: {e}")))?;
        crate::checkpoint::write_atomic(p, text.as_bytes())?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    //! Loop-level tests: descent-core's linear model on a small synthetic regression split,
    //! with a fixture batch order (independent of the data layer).
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use rand_core::{RngCore, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn split(n: usize, d: usize, seed: u64) -> Split {
        let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
        let x: Vec<f32> = (0..n * d)
            .map(|_| r.next_u32() as f32 / u32::MAX as f32)
            .collect();
        let y = (0..n)
            .map(|i| {
                3.0 * x[i * d] - 2.0 * x[i * d + 1]
                    + 0.5
                    + (r.next_u32() as f32 / u32::MAX as f32 - 0.5) * 0.01
            })
            .collect();
        Split::new("fixture", x, d, Targets::Values { y, outputs: 1 }).unwrap()
    }

    #[test]
    fn evaluate_rows_uses_the_prefix() {
        use descent_core::{Activation, Mlp, Reference, Task};
        let sp = split(40, 3, 7);
        let mlp = Mlp::new(&[3, 4, 1], Activation::Tanh, true, Task::Regression).unwrap();
        let mut net = crate::wire::CoreNet::new(mlp, Reference, crate::loss::Loss::Mse);
        let mut params = vec![0f32; mlp.num_params()];
        mlp.init(&mut params, 1).unwrap();
        let all = evaluate(&mut net, &params, &sp, 3).unwrap();
        assert_eq!(evaluate_rows(&mut net, &params, &sp, 3, 0).unwrap(), all);
        assert_eq!(evaluate_rows(&mut net, &params, &sp, 3, 99).unwrap(), all);
        let mut head = sp.clone();
        head.rows = 10;
        head.x.truncate(30);
        if let Targets::Values { y, .. } = &mut head.targets {
            y.truncate(10);
        }
        assert_eq!(
            evaluate_rows(&mut net, &params, &sp, 3, 10).unwrap(),
            evaluate(&mut net, &params, &head, 3).unwrap()
        );
    }

    fn args(v: &[&str]) -> TrainArgs {
        let mut all = vec!["descent", "train", "--quiet"];
        all.extend_from_slice(v);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Train(t) => *t,
            _ => unreachable!(),
        }
    }

    fn parts(a: &TrainArgs) -> Parts {
        let d = 2;
        let data = Splits {
            name: "fixture".into(),
            features: d,
            train: split(90, d, 1),
            val: Some(split(30, d, 2)),
            test: Some(split(30, d, 3)),
            theta_true: Some(vec![3.0, -2.0, 0.5]),
            scaler: crate::data::Scaler::None,
        };
        let mlp = descent_core::model::Mlp::linear(d, 1, true).unwrap();
        let mut net: Box<dyn Net> = Box::new(crate::wire::CoreNet::new(
            mlp,
            descent_core::Reference,
            crate::loss::Loss::Mse,
        ));
        let mut params = vec![0f32; net.n_params()];
        net.init(&mut params, a.seed).unwrap();
        let opt = crate::optimizer::build(a, params.len()).unwrap();
        let sched = a
            .scheduler
            .as_ref()
            .map(|s| crate::schedule::build(s, a.sched_args.as_deref(), opt.lr()).unwrap());
        Parts {
            order: Box::new(
                crate::loader::Loader::new(90, a.batch_size, Default::default(), false, a.seed)
                    .unwrap(),
            ),
            data,
            net,
            opt,
            sched,
            params,
        }
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("descent-train-{tag}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        d
    }

    fn last_params(dir: &Path) -> Vec<u32> {
        let p = last_path(dir);
        let c = Checkpoint::load(&p).unwrap();
        c.params(&c.layer_shapes(&p).unwrap(), &p)
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    #[test]
    fn resume_is_bitwise_identical() {
        let common = [
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--batch-size",
            "8",
            "--eval-every",
            "7",
            "--scheduler",
            "StepLR",
            "--sched-args",
            "step_size=3,gamma=0.7",
            "--clip-grad-norm",
            "5",
            "--patience",
            "50",
        ];
        let straight = tmp("straight");
        let mut a = args(&common);
        a.iters = Some(60);
        a.checkpoint_dir = Some(straight.clone());
        let s1 = run(&a, parts(&a), RunOptions::default()).unwrap();
        assert_eq!(s1.steps, 60);

        let split_dir = tmp("split");
        let mut b = args(&common);
        b.iters = Some(29); // stops mid-epoch (12 batches per epoch)
        b.checkpoint_dir = Some(split_dir.clone());
        run(&b, parts(&b), RunOptions::default()).unwrap();
        let mut c = b.clone();
        c.iters = Some(60);
        c.resume = true;
        let s2 = run(&c, parts(&c), RunOptions::default()).unwrap();
        assert_eq!(s2.steps, 60);
        assert_eq!(last_params(&straight), last_params(&split_dir));
        assert_eq!(
            s1.test_loss.map(f64::to_bits),
            s2.test_loss.map(f64::to_bits)
        );
        assert_eq!(s1.best_step, s2.best_step);
        let ls = s1.least_squares.unwrap();
        assert!(ls.optimum_train_mse <= ls.train_mse * (1.0 + 1e-9));
        assert!(ls.optimum_distance_to_true.unwrap() < 0.05);
    }

    fn without_seconds(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("seconds");
                v
            })
            .collect()
    }

    #[test]
    fn resume_with_plateau_and_early_stopping_matches_metrics_too() {
        let common = [
            "--optimizer",
            "sgd",
            "--lr",
            "0.02",
            "--momentum",
            "0.9",
            "--batch-size",
            "16",
            "--eval-every",
            "5",
            "--scheduler",
            "plateau",
            "--sched-args",
            "patience=1,factor=0.5,threshold=0.05",
            "--patience",
            "6",
            "--min-delta",
            "1e-4",
            "--restore-best",
        ];
        let (d1, d2) = (tmp("pl1"), tmp("pl2"));
        let mut a = args(&common);
        a.iters = Some(80);
        a.checkpoint_dir = Some(d1.clone());
        a.metrics = Some(d1.with_extension("jsonl"));
        let s1 = run(&a, parts(&a), RunOptions::default()).unwrap();
        let mut b = args(&common);
        b.iters = Some(33);
        b.checkpoint_dir = Some(d2.clone());
        b.metrics = Some(d2.with_extension("jsonl"));
        run(&b, parts(&b), RunOptions::default()).unwrap();
        b.iters = Some(80);
        b.resume = true;
        let s2 = run(&b, parts(&b), RunOptions::default()).unwrap();
        assert_eq!(last_params(&d1), last_params(&d2));
        assert_eq!(s1.steps, s2.steps);
        assert_eq!(s1.stopped_early, s2.stopped_early);
        assert_eq!(
            s1.test_loss.map(f64::to_bits),
            s2.test_loss.map(f64::to_bits)
        );
        let (m1, m2) = (
            without_seconds(&d1.with_extension("jsonl")),
            without_seconds(&d2.with_extension("jsonl")),
        );
        assert!(m1.len() > 3);
        assert_eq!(m1, m2);
    }

    #[test]
    fn divergence_stops_with_a_clear_error_and_keeps_the_checkpoint() {
        let dir = tmp("diverge");
        let mut a = args(&[
            "--optimizer",
            "sgd",
            "--lr",
            "1e6",
            "--batch-size",
            "8",
            "--eval-every",
            "1",
        ]);
        a.checkpoint_dir = Some(dir.clone());
        a.iters = Some(200);
        let Err(e) = run(&a, parts(&a), RunOptions::default()) else {
            panic!("lr 1e6 did not diverge")
        };
        assert!(matches!(e, Error::Diverged(_)), "{e}");
        assert!(e.to_string().contains("diverged"), "{e}");
        assert_eq!(e.exit_code(), 3);
        // The last checkpoint written holds finite parameters.
        if last_path(&dir).exists() {
            assert!(last_params(&dir)
                .iter()
                .all(|b| f32::from_bits(*b).is_finite()));
        }
    }

    #[test]
    fn early_stopping_and_restore_best() {
        let mut a = args(&[
            "--optimizer",
            "sgd",
            "--lr",
            "0.1",
            "--batch-size",
            "8",
            "--patience",
            "2",
            "--min-delta",
            "1e9",
            "--restore-best",
            "--epochs",
            "50",
        ]);
        a.metrics = Some(tmp("es").with_extension("csv"));
        let s = run(&a, parts(&a), RunOptions::default()).unwrap();
        assert!(s.stopped_early);
        // First evaluation is the best (nothing improves by 1e9); stop after 2 more.
        assert_eq!(s.best_step, Some(12));
        assert_eq!(s.steps, 36);
        assert!(s.restored_best);
        assert_eq!(
            s.val_loss.map(f64::to_bits),
            s.best_val_loss.map(f64::to_bits)
        );
        let csv = std::fs::read_to_string(a.metrics.as_ref().unwrap()).unwrap();
        assert_eq!(csv.lines().count(), 4);
    }

    #[test]
    fn plateau_lowers_the_lr() {
        let mut a = args(&[
            "--optimizer",
            "sgd",
            "--lr",
            "0.1",
            "--batch-size",
            "8",
            "--epochs",
            "6",
            "--scheduler",
            "plateau",
            "--sched-args",
            "patience=0,factor=0.5,threshold=1e9",
        ]);
        a.metrics = Some(tmp("plateau").with_extension("jsonl"));
        run(&a, parts(&a), RunOptions::default()).unwrap();
        let text = std::fs::read_to_string(a.metrics.as_ref().unwrap()).unwrap();
        let lrs: Vec<f64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["lr"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        assert_eq!(lrs[0], 0.1);
        assert!(lrs.windows(2).all(|w| w[1] < w[0]), "{lrs:?}");
    }

    #[test]
    fn validation_rejects_bad_values() {
        for bad in [
            &["--batch-size", "0"][..],
            &["--epochs", "0"],
            &["--val-fraction", "1.5"],
            &["--min-delta=-1"],
            &["--l2=-0.1"],
            &["--hidden", "0"],
            &["--plot", "x.gif"],
            &["--metrics", "x.txt"],
        ] {
            let e = validate(&args(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
            assert!(!e.to_string().contains('\n'));
        }
    }
}
