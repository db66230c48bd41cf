//! Learning-rate schedules with `torch.optim.lr_scheduler` semantics and numbers.
//!
//! Every schedule is a small `Copy` state machine over `f64`, independent of any optimizer:
//! `lr()` is the learning rate in effect for the current optimizer step `t = 0, 1, …`, and
//! `step()` is called once after each optimizer step (PyTorch's `scheduler.step()`), moving to
//! `t + 1`. [`ReduceLROnPlateau`] is stepped with the epoch's metric instead. Construction does
//! what PyTorch's constructor does (its initial step), so `lr()` right after `new` is the lr for
//! step 0. Where PyTorch uses a chainable (recursive) form — `StepLR`, `MultiStepLR`,
//! `ExponentialLR`, `CosineAnnealingLR`, `PolynomialLR`, `LinearLR`, `ConstantLR`, and
//! `torch.optim.swa_utils`' [`SWALR`] — the same
//! recursion is computed in the same operation order; `cos` and `pow` are evaluated in
//! double-double and rounded once (nearly always the correctly rounded value, as CPython's glibc
//! gives), so every case of the golden file is reproduced bit for bit.
//!
//! [`SequentialLR`] runs schedules one after another; [`ChainedScheduler`] applies several to
//! one lr at every step, as PyTorch's chainable forms compose on `group["lr"]`.
//!
//! [`LambdaLR`] and [`MultiplicativeLR`] take PyTorch's `lr_lambda` either as a Rust closure
//! (`LambdaLR::new(0.1, |t| 0.95f64.powi(t as i32))`) or, to be built by name, saved and
//! restored like the others, as the Python lambda's text compiled into an [`LrLambda`]
//! (`lambda e: 0.95 ** e`).
//!
//! **Parameter groups.** A schedule tracks one lr. PyTorch schedules each parameter group
//! independently (from its own initial lr, or its own `base_lr`/`max_lr` list entry), and
//! `ReduceLROnPlateau`'s plateau detection does not depend on the lrs, so one schedule per group,
//! each built from that group's initial lr and fed the same metrics, reproduces PyTorch exactly
//! with no allocation. Most training uses one group and one schedule.
//!
//! **By name.** [`Scheduler::from_spec`] builds any schedule from PyTorch's class name and
//! keyword arguments ([`Spec`], [`Value`]), rejecting unknown names, unknown keys and invalid
//! values with a typed [`crate::Error`] that names the argument.
//!
//! **State.** [`Scheduler::save`] writes a versioned little-endian byte image (parameters and
//! state; [`Scheduler::saved_len`] bytes, at most [`MAX_STATE_BYTES`]); [`Scheduler::load`]
//! validates it (`Error::BadState` on anything malformed, never a panic) and the restored
//! schedule continues bit for bit.
//!
//! ```
//! use descent_core::sched::{Scheduler, Spec, Value, MAX_STATE_BYTES};
//! let spec = Spec {
//!     name: "StepLR",
//!     params: &[("step_size", Value::Num(2.0)), ("gamma", Value::Num(0.5))],
//! };
//! let mut sched = Scheduler::from_spec(0.1, &spec)?; // 0.1: the optimizer's initial lr
//! let mut lrs = [0.0; 4];
//! for lr in &mut lrs {
//!     *lr = sched.lr(); // set the optimizer's lr, run optimizer step t, then:
//!     sched.step()?;
//! }
//! assert_eq!(lrs, [0.1, 0.1, 0.05, 0.05]);
//! let mut buf = [0u8; MAX_STATE_BYTES];
//! let n = sched.save(&mut buf)?;
//! assert_eq!(Scheduler::load(&buf[..n])?, sched);
//! // Two parameter groups with initial lrs 0.1 and 0.01: one scheduler each.
//! let groups = [0.1, 0.01].map(|lr0| Scheduler::from_spec(lr0, &spec));
//! assert_eq!(groups[1].as_ref().map(Scheduler::lr), Ok(0.01));
//! # Ok::<(), descent_core::Error>(())
//! ```

mod chained;
mod codec;
mod config;
mod constant;
mod cosine;
mod cosine_restarts;
mod cyclic;
mod exact;
mod exponential;
mod inverse_sqrt_time;
mod inverse_time;
mod lambda;
mod linear;
mod lr_lambda;
mod multi_step;
mod multiplicative;
mod one_cycle;
mod plateau;
mod polynomial;
mod sequential;
mod step;
mod swa;

pub use chained::ChainedScheduler;
pub use config::{Spec, Value, SCHEDULER_NAMES};
pub use constant::ConstantLR;
pub use cosine::CosineAnnealingLR;
pub use cosine_restarts::CosineAnnealingWarmRestarts;
pub use cyclic::{CyclicLR, CyclicMode};
pub use exponential::ExponentialLR;
pub use inverse_sqrt_time::InverseSqrtTime;
pub use inverse_time::InverseTime;
pub use lambda::{LambdaLR, LrFactor};
pub use linear::LinearLR;
pub use lr_lambda::{LrLambda, MAX_CODE, MAX_CONSTS};
pub use multi_step::{MultiStepLR, MAX_MILESTONES};
pub use multiplicative::MultiplicativeLR;
pub use one_cycle::{AnnealStrategy, OneCycleLR};
pub use plateau::{PlateauConfig, PlateauMode, ReduceLROnPlateau, ThresholdMode};
pub use polynomial::PolynomialLR;
pub use sequential::{SequentialLR, MAX_SEQUENTIAL};
pub use step::StepLR;
pub use swa::SWALR;

use crate::error::{check_arg, Error, Result};
use codec::{bad, Reader, Writer, MAGIC, VERSION};

/// Upper bound on [`Scheduler::saved_len`]: size a stack buffer with it.
pub const MAX_STATE_BYTES: usize =
    6 + 8 * (2 + MAX_SEQUENTIAL) + MAX_SEQUENTIAL * (1 + 8 * (MAX_MILESTONES + 5));

/// `lr`-like argument: finite and `>= 0`.
pub(crate) fn check_lr(name: &'static str, v: f64) -> Result<()> {
    check_arg(v.is_finite() && v >= 0.0, name, v, "finite and >= 0")
}

/// Multiplicative factor in `(0, 1]` and not subnormal: a schedule that later divides by it
/// (`1 / factor`, chainable restores) must get a finite result, or `lr = 0 · ∞` = NaN.
pub(crate) fn check_factor(name: &'static str, v: f64) -> Result<()> {
    check_arg(
        (f64::MIN_POSITIVE..=1.0).contains(&v),
        name,
        v,
        "in (0, 1] and not subnormal",
    )
}

/// Finite argument.
pub(crate) fn check_finite(name: &'static str, v: f64) -> Result<()> {
    check_arg(v.is_finite(), name, v, "finite")
}

/// Any epoch-driven schedule (everything but [`SequentialLR`] and [`ReduceLROnPlateau`]): the
/// building blocks [`SequentialLR`] chains. Each variant's formula is on its type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// [`StepLR`]: `base_lr · gamma^⌊t/step_size⌋`.
    Step(StepLR),
    /// [`MultiStepLR`]: `base_lr · gamma^{#milestones <= t}`.
    MultiStep(MultiStepLR),
    /// [`ExponentialLR`]: `base_lr · gamma^t`.
    Exponential(ExponentialLR),
    /// [`CosineAnnealingLR`]: `eta_min + (base_lr − eta_min)(1 + cos(πt/T_max))/2`.
    CosineAnnealing(CosineAnnealingLR),
    /// [`CosineAnnealingWarmRestarts`]: cosine over `T_cur/T_i`, restarting.
    CosineAnnealingWarmRestarts(CosineAnnealingWarmRestarts),
    /// [`CyclicLR`]: triangle waves between `base_lr` and `max_lr`.
    Cyclic(CyclicLR),
    /// [`OneCycleLR`]: up to `max_lr`, then down to `max_lr/(div_factor·final_div_factor)`.
    OneCycle(OneCycleLR),
    /// [`PolynomialLR`]: `base_lr · (1 − min(t,T)/T)^power`.
    Polynomial(PolynomialLR),
    /// [`LinearLR`]: `base_lr · (s + (e − s)·min(t,T)/T)`.
    Linear(LinearLR),
    /// [`ConstantLR`]: `base_lr · factor` for `t < T`, then `base_lr`.
    Constant(ConstantLR),
    /// [`InverseTime`]: `lr0/(c + t)`.
    InverseTime(InverseTime),
    /// [`InverseSqrtTime`]: `lr0/(c + √t)`.
    InverseSqrtTime(InverseSqrtTime),
    /// [`LambdaLR`]: `base_lr · lr_lambda(t)`.
    Lambda(LambdaLR),
    /// [`MultiplicativeLR`]: `lr_{t-1} · lr_lambda(t)`.
    Multiplicative(MultiplicativeLR),
    /// [`SWALR`]: from the lr in effect to `swa_lr` over `anneal_epochs` steps.
    Swa(SWALR),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Schedule::Step($s) => $e,
            Schedule::MultiStep($s) => $e,
            Schedule::Exponential($s) => $e,
            Schedule::CosineAnnealing($s) => $e,
            Schedule::CosineAnnealingWarmRestarts($s) => $e,
            Schedule::Cyclic($s) => $e,
            Schedule::OneCycle($s) => $e,
            Schedule::Polynomial($s) => $e,
            Schedule::Linear($s) => $e,
            Schedule::Constant($s) => $e,
            Schedule::InverseTime($s) => $e,
            Schedule::InverseSqrtTime($s) => $e,
            Schedule::Lambda($s) => $e,
            Schedule::Multiplicative($s) => $e,
            Schedule::Swa($s) => $e,
        }
    };
}

impl Schedule {
    /// The lr in effect for the current step.
    #[inline]
    pub fn lr(&self) -> f64 {
        each!(self, s => s.lr())
    }

    /// The momentum for the current step for schedules that cycle it (`CyclicLR`,
    /// `OneCycleLR` with `cycle_momentum`), else `None`.
    pub fn momentum(&self) -> Option<f64> {
        match self {
            Schedule::Cyclic(s) => s.momentum(),
            Schedule::OneCycle(s) => s.momentum(),
            _ => None,
        }
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        each!(self, s => s.last_epoch())
    }

    /// Advance one step. Errors, leaving the state unchanged: a `OneCycleLR` past
    /// `total_steps`, a `LambdaLR` / `MultiplicativeLR` whose `lr_lambda` gives an lr that is
    /// not finite and `>= 0`.
    pub fn step(&mut self) -> Result<()> {
        match self {
            Schedule::OneCycle(s) => return s.step(),
            Schedule::Lambda(s) => return s.step(),
            Schedule::Multiplicative(s) => return s.step(),
            Schedule::Step(s) => s.step(),
            Schedule::MultiStep(s) => s.step(),
            Schedule::Exponential(s) => s.step(),
            Schedule::CosineAnnealing(s) => s.step(),
            Schedule::CosineAnnealingWarmRestarts(s) => s.step(),
            Schedule::Cyclic(s) => s.step(),
            Schedule::Polynomial(s) => s.step(),
            Schedule::Linear(s) => s.step(),
            Schedule::Constant(s) => s.step(),
            Schedule::InverseTime(s) => s.step(),
            Schedule::InverseSqrtTime(s) => s.step(),
            Schedule::Swa(s) => s.step(),
        }
        Ok(())
    }

    /// Back to the state right after construction (`t = 0`).
    pub fn reset(&mut self) -> Result<()> {
        match self {
            Schedule::OneCycle(s) => return s.reset(),
            Schedule::Lambda(s) => return s.reset(),
            Schedule::Multiplicative(s) => s.reset(),
            Schedule::Step(s) => s.reset(),
            Schedule::MultiStep(s) => s.reset(),
            Schedule::Exponential(s) => s.reset(),
            Schedule::CosineAnnealing(s) => s.reset(),
            Schedule::CosineAnnealingWarmRestarts(s) => s.reset(),
            Schedule::Cyclic(s) => s.reset(),
            Schedule::Polynomial(s) => s.reset(),
            Schedule::Linear(s) => s.reset(),
            Schedule::Constant(s) => s.reset(),
            Schedule::InverseTime(s) => s.reset(),
            Schedule::InverseSqrtTime(s) => s.reset(),
            Schedule::Swa(s) => s.reset(),
        }
        Ok(())
    }

    /// In a [`ChainedScheduler`], the lr after this schedule's construction given the lr the
    /// schedules before it left: `ConstantLR` and `LinearLR` scale it, the other chainable
    /// forms keep it (`MultiStepLR` applies a milestone at 0), closed forms (`CyclicLR`,
    /// `OneCycleLR`, `CosineAnnealingWarmRestarts`, `InverseTime`, `InverseSqrtTime`,
    /// `LambdaLR`) set their own.
    pub(crate) fn chain_initial(&self, lr: f64) -> f64 {
        match self {
            Schedule::Constant(s) => s.initial(lr),
            Schedule::Linear(s) => s.initial(lr),
            Schedule::MultiStep(s) => s.chain(lr),
            Schedule::Swa(s) => s.initial(lr),
            Schedule::Multiplicative(_)
            | Schedule::Step(_)
            | Schedule::Exponential(_)
            | Schedule::Polynomial(_)
            | Schedule::CosineAnnealing(_) => lr,
            closed => closed.lr(),
        }
    }

    /// In a [`ChainedScheduler`]: advance one step and return the lr given the lr the
    /// schedules before it left (PyTorch's chainable `get_lr` on `group["lr"]`; closed forms
    /// set their own). Errors as [`Schedule::step`], state unchanged.
    pub(crate) fn chain_step(&mut self, lr: f64) -> Result<f64> {
        self.step()?;
        Ok(match self {
            Schedule::Step(s) => s.chain(lr),
            Schedule::MultiStep(s) => s.chain(lr),
            Schedule::Exponential(s) => s.chain(lr),
            Schedule::Constant(s) => s.chain(lr),
            Schedule::Linear(s) => s.chain(lr),
            Schedule::Polynomial(s) => s.chain(lr),
            Schedule::CosineAnnealing(s) => s.chain(lr),
            Schedule::Multiplicative(s) => s.chain(lr)?,
            Schedule::Swa(s) => s.chain(lr),
            closed => closed.lr(),
        })
    }

    /// What PyTorch's `scheduler.step(0)` does (used by `SequentialLR` at a milestone, `lr`
    /// being the lr in effect before it): the closed form at `t = 0` where the class has one,
    /// else its step-0 value. This differs from [`Schedule::reset`] only in rounding
    /// (`CosineAnnealingLR`), in `ConstantLR` with `total_iters = 0`, and for
    /// `MultiplicativeLR` (`lr · lr_lambda(0)`).
    pub(crate) fn restart(&mut self, lr: f64) -> Result<()> {
        match self {
            Schedule::Multiplicative(s) => s.restart(lr),
            Schedule::Swa(s) => {
                s.restart(lr);
                Ok(())
            }
            Schedule::CosineAnnealing(s) => {
                s.restart();
                Ok(())
            }
            Schedule::Constant(s) => {
                s.restart();
                Ok(())
            }
            other => other.reset(),
        }
    }

    /// PyTorch's class name (`"StepLR"`, …, or `"InverseTime"`/`"InverseSqrtTime"`).
    pub fn name(&self) -> &'static str {
        match self {
            Schedule::Step(_) => "StepLR",
            Schedule::MultiStep(_) => "MultiStepLR",
            Schedule::Exponential(_) => "ExponentialLR",
            Schedule::CosineAnnealing(_) => "CosineAnnealingLR",
            Schedule::CosineAnnealingWarmRestarts(_) => "CosineAnnealingWarmRestarts",
            Schedule::Cyclic(_) => "CyclicLR",
            Schedule::OneCycle(_) => "OneCycleLR",
            Schedule::Polynomial(_) => "PolynomialLR",
            Schedule::Linear(_) => "LinearLR",
            Schedule::Constant(_) => "ConstantLR",
            Schedule::InverseTime(_) => "InverseTime",
            Schedule::InverseSqrtTime(_) => "InverseSqrtTime",
            Schedule::Lambda(_) => "LambdaLR",
            Schedule::Multiplicative(_) => "MultiplicativeLR",
            Schedule::Swa(_) => "SWALR",
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Schedule::Step(_) => 1,
            Schedule::MultiStep(_) => 2,
            Schedule::Exponential(_) => 3,
            Schedule::CosineAnnealing(_) => 4,
            Schedule::CosineAnnealingWarmRestarts(_) => 5,
            Schedule::Cyclic(_) => 6,
            Schedule::OneCycle(_) => 7,
            Schedule::Polynomial(_) => 8,
            Schedule::Linear(_) => 9,
            Schedule::Constant(_) => 10,
            Schedule::InverseTime(_) => 11,
            Schedule::InverseSqrtTime(_) => 12,
            Schedule::Lambda(_) => 13,
            Schedule::Multiplicative(_) => 14,
            Schedule::Swa(_) => 15,
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.kind());
        each!(self, s => s.encode(w))
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let kind = r.u8()?;
        Self::decode_kind(kind, r)
    }

    fn decode_kind(kind: u8, r: &mut Reader) -> Result<Self> {
        Ok(match kind {
            1 => Schedule::Step(StepLR::decode(r)?),
            2 => Schedule::MultiStep(MultiStepLR::decode(r)?),
            3 => Schedule::Exponential(ExponentialLR::decode(r)?),
            4 => Schedule::CosineAnnealing(CosineAnnealingLR::decode(r)?),
            5 => Schedule::CosineAnnealingWarmRestarts(CosineAnnealingWarmRestarts::decode(r)?),
            6 => Schedule::Cyclic(CyclicLR::decode(r)?),
            7 => Schedule::OneCycle(OneCycleLR::decode(r)?),
            8 => Schedule::Polynomial(PolynomialLR::decode(r)?),
            9 => Schedule::Linear(LinearLR::decode(r)?),
            10 => Schedule::Constant(ConstantLR::decode(r)?),
            11 => Schedule::InverseTime(InverseTime::decode(r)?),
            12 => Schedule::InverseSqrtTime(InverseSqrtTime::decode(r)?),
            13 => Schedule::Lambda(LambdaLR::decode(r)?),
            14 => Schedule::Multiplicative(MultiplicativeLR::decode(r)?),
            15 => Schedule::Swa(SWALR::decode(r)?),
            _ => return Err(bad("unknown scheduler kind")),
        })
    }
}

macro_rules! from_impls {
    ($($t:ident => $v:ident),* $(,)?) => {$(
        impl From<$t> for Schedule {
            fn from(s: $t) -> Self {
                Schedule::$v(s)
            }
        }
        impl From<$t> for Scheduler {
            fn from(s: $t) -> Self {
                Scheduler::Schedule(Schedule::$v(s))
            }
        }
    )*};
}

from_impls!(
    StepLR => Step,
    MultiStepLR => MultiStep,
    ExponentialLR => Exponential,
    CosineAnnealingLR => CosineAnnealing,
    CosineAnnealingWarmRestarts => CosineAnnealingWarmRestarts,
    CyclicLR => Cyclic,
    OneCycleLR => OneCycle,
    PolynomialLR => Polynomial,
    LinearLR => Linear,
    ConstantLR => Constant,
    InverseTime => InverseTime,
    InverseSqrtTime => InverseSqrtTime,
    LambdaLR => Lambda,
    MultiplicativeLR => Multiplicative,
    SWALR => Swa,
);

/// Any learning-rate scheduler: what a trainer holds. Build one by name with
/// [`Scheduler::from_spec`], or from a concrete type with `From`.
// No boxing in a no-alloc crate: the enum is as large as a `SequentialLR` (about 1.3 KiB).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scheduler {
    /// An epoch-driven schedule.
    Schedule(Schedule),
    /// [`SequentialLR`]: schedules chained at milestones.
    Sequential(SequentialLR),
    /// [`ChainedScheduler`]: schedules applied to one lr, each step in turn.
    Chained(ChainedScheduler),
    /// [`ReduceLROnPlateau`]: driven by a metric.
    ReduceLROnPlateau(ReduceLROnPlateau),
}

impl From<Schedule> for Scheduler {
    fn from(s: Schedule) -> Self {
        Scheduler::Schedule(s)
    }
}
impl From<SequentialLR> for Scheduler {
    fn from(s: SequentialLR) -> Self {
        Scheduler::Sequential(s)
    }
}
impl From<ChainedScheduler> for Scheduler {
    fn from(s: ChainedScheduler) -> Self {
        Scheduler::Chained(s)
    }
}
impl From<ReduceLROnPlateau> for Scheduler {
    fn from(s: ReduceLROnPlateau) -> Self {
        Scheduler::ReduceLROnPlateau(s)
    }
}

const KIND_SEQUENTIAL: u8 = 20;
const KIND_PLATEAU: u8 = 21;
const KIND_CHAINED: u8 = 22;

impl Scheduler {
    /// The lr in effect for the current step.
    #[inline]
    ///
    /// Never negative: PyTorch's chainable formulas can round to a tiny negative value where
    /// the schedule reaches 0 (e.g. `LinearLR` with `end_factor = 0` gives -2e-18); that is
    /// reported as 0, which every optimizer accepts.
    pub fn lr(&self) -> f64 {
        let lr = match self {
            Scheduler::Schedule(s) => s.lr(),
            Scheduler::Sequential(s) => s.lr(),
            Scheduler::Chained(s) => s.lr(),
            Scheduler::ReduceLROnPlateau(s) => s.lr(),
        };
        if lr < 0.0 {
            0.0
        } else {
            lr
        }
    }

    /// The momentum for the current step when the schedule cycles it, else `None`.
    pub fn momentum(&self) -> Option<f64> {
        match self {
            Scheduler::Schedule(s) => s.momentum(),
            Scheduler::Sequential(s) => s.momentum(),
            Scheduler::Chained(s) => s.momentum(),
            Scheduler::ReduceLROnPlateau(_) => None,
        }
    }

    /// Number of `step` calls so far (`t`).
    pub fn last_epoch(&self) -> u64 {
        match self {
            Scheduler::Schedule(s) => s.last_epoch(),
            Scheduler::Sequential(s) => s.last_epoch(),
            Scheduler::Chained(s) => s.last_epoch(),
            Scheduler::ReduceLROnPlateau(s) => s.last_epoch(),
        }
    }

    /// True for [`ReduceLROnPlateau`], which must be stepped with
    /// [`Scheduler::step_with_metric`].
    pub fn needs_metric(&self) -> bool {
        matches!(self, Scheduler::ReduceLROnPlateau(_))
    }

    /// Advance one step (after each optimizer step). Errors: `ReduceLROnPlateau` (it needs a
    /// metric; nothing changes), or a `OneCycleLR` past `total_steps` (state unchanged).
    pub fn step(&mut self) -> Result<()> {
        match self {
            Scheduler::Schedule(s) => s.step(),
            Scheduler::Sequential(s) => s.step(),
            Scheduler::Chained(s) => s.step(),
            Scheduler::ReduceLROnPlateau(_) => Err(Error::InvalidArgument {
                name: "metrics",
                value: f64::NAN,
                expected: "a metric: ReduceLROnPlateau is stepped with step_with_metric",
            }),
        }
    }

    /// Advance one step, giving the epoch's metric: `ReduceLROnPlateau` uses it, every other
    /// schedule ignores it and behaves as [`Scheduler::step`].
    pub fn step_with_metric(&mut self, metric: f64) -> Result<()> {
        match self {
            Scheduler::ReduceLROnPlateau(s) => {
                s.step(metric);
                Ok(())
            }
            other => other.step(),
        }
    }

    /// PyTorch's class name.
    pub fn name(&self) -> &'static str {
        match self {
            Scheduler::Schedule(s) => s.name(),
            Scheduler::Sequential(_) => "SequentialLR",
            Scheduler::Chained(_) => "ChainedScheduler",
            Scheduler::ReduceLROnPlateau(_) => "ReduceLROnPlateau",
        }
    }

    fn encode(&self, w: &mut Writer) {
        w.put_header();
        match self {
            Scheduler::Schedule(s) => s.encode(w),
            Scheduler::Sequential(s) => {
                w.u8(KIND_SEQUENTIAL);
                s.encode(w);
            }
            Scheduler::Chained(s) => {
                w.u8(KIND_CHAINED);
                s.encode(w);
            }
            Scheduler::ReduceLROnPlateau(s) => {
                w.u8(KIND_PLATEAU);
                s.encode(w);
            }
        }
    }

    /// Size in bytes of [`Scheduler::save`]'s output (at most [`MAX_STATE_BYTES`]).
    pub fn saved_len(&self) -> usize {
        let mut w = Writer::new(&mut []);
        self.encode(&mut w);
        w.len()
    }

    /// Write the scheduler (parameters and state) into `out` as versioned little-endian
    /// bytes; returns the number written. Errors: `out` shorter than [`Scheduler::saved_len`].
    pub fn save(&self, out: &mut [u8]) -> Result<usize> {
        let got = out.len();
        let mut w = Writer::new(out);
        self.encode(&mut w);
        if w.fits() {
            Ok(w.len())
        } else {
            Err(Error::BufferTooSmall {
                what: "out",
                needed: w.len(),
                got,
            })
        }
    }

    /// The saved bytes as a `Vec`.
    #[cfg(feature = "alloc")]
    pub fn save_to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec![0u8; self.saved_len()];
        let n = self.save(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }

    /// Rebuild a scheduler from [`Scheduler::save`]'s bytes, validating everything:
    /// `Error::BadState` for a wrong magic/version, unknown kind, truncated or trailing bytes,
    /// parameters out of range or inconsistent state.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let mut magic = [0u8; 4];
        for m in &mut magic {
            *m = r.u8()?;
        }
        if magic != MAGIC {
            return Err(bad("not a descent scheduler state (bad magic)"));
        }
        if r.u8()? != VERSION {
            return Err(bad("unsupported scheduler state version"));
        }
        let s = match r.u8()? {
            KIND_SEQUENTIAL => Scheduler::Sequential(SequentialLR::decode(&mut r)?),
            KIND_CHAINED => Scheduler::Chained(ChainedScheduler::decode(&mut r)?),
            KIND_PLATEAU => Scheduler::ReduceLROnPlateau(ReduceLROnPlateau::decode(&mut r)?),
            kind => Scheduler::Schedule(Schedule::decode_kind(kind, &mut r)?),
        };
        r.finish()?;
        // A step count that cannot advance (`last_epoch + 1` overflowing) is corrupt.
        if s.last_epoch() > crate::optim::state::MAX_STEPS {
            return Err(bad("last_epoch implausibly large (more than 2^53)"));
        }
        if s.lr().is_nan() {
            return Err(bad("the stored schedule's lr is NaN"));
        }
        Ok(s)
    }
}

impl Writer<'_> {
    fn put_header(&mut self) {
        for b in MAGIC {
            self.u8(b);
        }
        self.u8(VERSION);
    }
}
