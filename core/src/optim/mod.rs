//! Optimizers with PyTorch's semantics and numbers, gradient clipping, and a versioned state
//! byte format.
//!
//! Every first-order optimizer is an [`Optim<T, R, S>`]: a [`Rule`] (the hyperparameter struct,
//! e.g. [`SgdConfig`], [`AdamConfig`]) that knows the update formula, the parameter
//! [`groups`](Group) and a state buffer `S` (`&mut [T]` supplied by the caller, or `Vec<T>`
//! with the `alloc` feature). Aliases name them the PyTorch way: [`Sgd`], [`Adam`], [`AdamW`],
//! [`Adagrad`], [`RmsProp`], [`Adadelta`], [`Adamax`], [`NAdam`], [`RAdam`], [`Rprop`],
//! [`Asgd`], [`Adafactor`], [`Muon`]. All implement the object-safe [`Optimizer`] trait.
//!
//! All but SGD, Adam, AdamW and Adafactor are [`ElementwiseRule`]s ([`elementwise`]): a step's
//! constants per group, and a per-chunk [`ElementStep`] that descent-kernels runs in parallel
//! chunks with wider vectors, bitwise equal to [`Rule::update`] (SGD and the Adam pair have
//! fused kernels of their own; Adafactor's per-tensor norms make it not element-wise, and
//! Muon's update is a matrix function of each weight's momentum, computed with products
//! through [`Ops`](crate::Ops) in scratch memory after its state, [`Rule::scratch_len`]).
//!
//! * The update of each optimizer follows PyTorch's single-tensor (`foreach=False`) code, with
//!   the same order of floating-point operations: element-wise work in `T`, scalar
//!   coefficients (bias corrections, step sizes) in `f64` as Python does, then rounded to `T`.
//! * Hyperparameters are `f64` (Python floats), validated on construction; a bad one is
//!   [`Error::InvalidArgument`](crate::Error::InvalidArgument) with PyTorch's argument name.
//! * `step` never allocates; it validates `params.len()` and `grads.len()` first and then
//!   cannot fail, so an error never leaves a half-applied update.
//! * The state (step counter, per-group lr / weight decay, buffers) exports to bytes with
//!   [`Optimizer::export_state`] and imports with full validation; restoring into a fresh
//!   optimizer and continuing is bitwise identical to never having stopped.
//!
//! [`Lbfgs`] (closure-driven, optional strong-Wolfe line search) and [`RandomSearch`]
//! (derivative-free baseline) have their own step signatures. [`clip`] holds
//! `clip_grad_norm` / `clip_grad_value`. [`WeightAverage`] keeps a running average of the
//! parameters (SWA or EMA, PyTorch's `AveragedModel`), to pair with [`crate::sched::SWALR`].

/// Builder-style setters `cfg.field(v)` for the listed fields of a config struct.
macro_rules! setters {
    ($ty:ty { $($field:ident : $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Set `", stringify!($field), "`.")]
                pub fn $field(mut self, v: $t) -> Self {
                    self.$field = v;
                    self
                }
            )*
        }
    };
}

mod adadelta;
mod adafactor;
mod adagrad;
mod adam;
mod adamax;
mod adamw;
mod asgd;
mod average;
pub mod clip;
pub mod elementwise;
pub mod fork;
mod group;
mod lbfgs;
mod muon;
mod nadam;
mod newton;
mod radam;
mod random_search;
mod rmsprop;
mod rprop;
mod sgd;
pub mod shape;
pub mod state;
mod stateful;

pub use adadelta::{Adadelta, AdadeltaConfig, AdadeltaStep};
pub use adafactor::{Adafactor, AdafactorConfig};
pub use adagrad::{Adagrad, AdagradConfig, AdagradStep};
pub use adam::{Adam, AdamConfig, AdamScalars, AdamStep};
pub use adamax::{Adamax, AdamaxConfig, AdamaxStep};
pub use adamw::{AdamW, AdamWConfig};
pub use asgd::{Asgd, AsgdConfig, AsgdStep};
pub use average::{Averaging, WeightAverage};
pub use clip::{clip_grad_norm, clip_grad_value, grad_norm};
pub use elementwise::{ElementStep, ElementwiseRule};
pub use fork::{Fork, Sequential};
pub use group::{Group, GroupSpec, MAX_GROUPS};
pub use lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
pub use muon::{AdjustLr, Muon, MuonConfig, NsPrecision};
pub use nadam::{NAdam, NAdamConfig, NAdamStep};
pub use newton::NewtonLeastSquares;
pub use radam::{RAdam, RAdamConfig, RAdamStep};
pub use random_search::{RandomSearch, RandomSearchConfig};
pub use rmsprop::{RmsProp, RmsPropConfig, RmsPropStep};
pub use rprop::{Rprop, RpropConfig, RpropStep};
pub use sgd::{Sgd, SgdConfig};
pub use shape::{Shapes, TensorShape, MAX_TENSORS};
pub use stateful::{Optim, Rule};

use crate::error::check_arg;
use crate::{Float, Result};

/// Which optimizer a state blob belongs to (stored in the byte format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OptimizerKind {
    /// `torch.optim.SGD`
    Sgd = 1,
    /// `torch.optim.Adam`
    Adam = 2,
    /// `torch.optim.AdamW`
    AdamW = 3,
    /// `torch.optim.Adagrad`
    Adagrad = 4,
    /// `torch.optim.RMSprop`
    RmsProp = 5,
    /// `torch.optim.Adadelta`
    Adadelta = 6,
    /// `torch.optim.Adamax`
    Adamax = 7,
    /// `torch.optim.NAdam`
    NAdam = 8,
    /// `torch.optim.RAdam`
    RAdam = 9,
    /// `torch.optim.LBFGS`
    Lbfgs = 10,
    /// Derivative-free random search (no PyTorch counterpart).
    RandomSearch = 11,
    /// `torch.optim.Rprop`
    Rprop = 12,
    /// `torch.optim.ASGD`
    Asgd = 13,
    /// `torch.optim.Adafactor`
    Adafactor = 14,
    /// `torch.optim.Muon`
    Muon = 15,
}

impl OptimizerKind {
    /// The kind stored as byte `b`, if any.
    pub fn from_u8(b: u8) -> Option<Self> {
        use OptimizerKind::*;
        Some(match b {
            1 => Sgd,
            2 => Adam,
            3 => AdamW,
            4 => Adagrad,
            5 => RmsProp,
            6 => Adadelta,
            7 => Adamax,
            8 => NAdam,
            9 => RAdam,
            10 => Lbfgs,
            11 => RandomSearch,
            12 => Rprop,
            13 => Asgd,
            14 => Adafactor,
            15 => Muon,
            _ => return None,
        })
    }

    /// PyTorch's class name (`"SGD"`, `"Adam"`, ...; `"RandomSearch"` has none).
    pub fn torch_name(self) -> &'static str {
        use OptimizerKind::*;
        match self {
            Sgd => "SGD",
            Adam => "Adam",
            AdamW => "AdamW",
            Adagrad => "Adagrad",
            RmsProp => "RMSprop",
            Adadelta => "Adadelta",
            Adamax => "Adamax",
            NAdam => "NAdam",
            RAdam => "RAdam",
            Lbfgs => "LBFGS",
            RandomSearch => "RandomSearch",
            Rprop => "Rprop",
            Asgd => "ASGD",
            Adafactor => "Adafactor",
            Muon => "Muon",
        }
    }
}

/// The interface every first-order optimizer implements (object safe).
///
/// A step is `params ← update(params, grads, state)` over the flat parameter vector; the
/// learning rate and weight decay can differ per [`Group`] (contiguous ranges of the vector).
pub trait Optimizer<T: Float> {
    /// Which optimizer this is.
    fn kind(&self) -> OptimizerKind;
    /// Length of the flat parameter vector.
    fn n_params(&self) -> usize;
    /// Apply one update. `params.len()` and `grads.len()` must equal [`n_params`](Self::n_params)
    /// (else `ShapeMismatch` naming `params` / `grads`, and nothing is changed).
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()>;
    /// Number of completed steps.
    fn steps(&self) -> u64;
    /// The parameter groups (ranges with their lr and weight decay).
    fn groups(&self) -> &[Group];
    /// Number of parameter groups.
    fn n_groups(&self) -> usize {
        self.groups().len()
    }
    /// Learning rate of group `group` (`InvalidArgument` naming `group` if out of range).
    fn lr(&self, group: usize) -> Result<f64>;
    /// Set the learning rate of group `group` (must be finite and >= 0), as an LR scheduler does.
    fn set_lr(&mut self, group: usize, lr: f64) -> Result<()>;
    /// Set the learning rate of every group.
    fn set_lr_all(&mut self, lr: f64) -> Result<()> {
        check_lr(lr)?;
        for g in 0..self.n_groups() {
            self.set_lr(g, lr)?;
        }
        Ok(())
    }
    /// Weight decay of group `group`.
    fn weight_decay(&self, group: usize) -> Result<f64>;
    /// Set the weight decay of group `group` (finite, >= 0).
    fn set_weight_decay(&mut self, group: usize, weight_decay: f64) -> Result<()>;
    /// The momentum an LR schedule may cycle ([`Rule::momentum`]); `None` if there is none.
    fn momentum(&self) -> Option<f64> {
        None
    }
    /// Set it, as PyTorch's `CyclicLR` / `OneCycleLR` do with `cycle_momentum` (see
    /// [`Rule::set_momentum`] for the errors).
    fn set_momentum(&mut self, momentum: f64) -> Result<()> {
        no_momentum(momentum)
    }
    /// The average of the iterates, if the optimizer keeps one (ASGD's `ax`, see
    /// [`AsgdConfig`]; zeros before the first step); `None` for the others (the default).
    fn averaged(&self) -> Option<&[T]> {
        None
    }
    /// Exact size in bytes of the exported state.
    fn state_bytes_len(&self) -> usize;
    /// Write the state into `out[..state_bytes_len()]`, returning the number of bytes written
    /// (`BufferTooSmall` naming `out` if it is shorter).
    fn export_state(&self, out: &mut [u8]) -> Result<usize>;
    /// Replace the state with one exported by an optimizer of the same kind, dtype, parameter
    /// count, group layout and buffer layout. Validates everything (including a checksum)
    /// before changing anything; any problem is `Error::BadState`.
    fn import_state(&mut self, bytes: &[u8]) -> Result<()>;
    /// Reset to the freshly constructed state (step 0, buffers re-initialised); group lrs kept.
    fn reset_state(&mut self);
}

/// The error of [`Rule::set_momentum`] / [`Optimizer::set_momentum`] for optimizers without a
/// momentum or `betas`: `InvalidArgument { name: "momentum", .. }`.
pub fn no_momentum(momentum: f64) -> Result<()> {
    check_arg(
        false,
        "momentum",
        momentum,
        "an optimizer with momentum or betas (SGD, RMSprop, the Adam family)",
    )
}

/// [`Rule::momentum`] / [`Rule::set_momentum`] for a rule whose cycled momentum is its
/// `momentum` field and whose state has a momentum buffer only when it is non-zero (SGD,
/// RMSprop): a change that would add or drop the buffer is refused.
macro_rules! momentum_field {
    () => {
        fn momentum(&self) -> Option<f64> {
            Some(self.momentum)
        }
        fn set_momentum(&mut self, momentum: f64) -> Result<()> {
            super::check_nonneg("momentum", momentum)?;
            let next = Self { momentum, ..*self };
            crate::error::check_arg(
                next.slots() == self.slots(),
                "momentum",
                momentum,
                "on the same side of 0 as at construction (the momentum buffer exists or not)",
            )?;
            *self = next;
            Ok(())
        }
    };
}
pub(crate) use momentum_field;

/// [`Rule::update`] for an [`ElementwiseRule`]: [`elementwise_update`](elementwise::elementwise_update).
macro_rules! elementwise_update {
    () => {
        fn update<T: Float>(
            &self,
            t: u64,
            groups: &[Group],
            params: &mut [T],
            grads: &[T],
            state: &mut [T],
        ) {
            super::elementwise::elementwise_update(self, t, groups, params, grads, state);
        }
    };
}
pub(crate) use elementwise_update;

/// [`Rule::momentum`] / [`Rule::set_momentum`] for the Adam family: `betas[0]`, checked as the
/// constructor checks it.
macro_rules! beta1_momentum {
    () => {
        fn momentum(&self) -> Option<f64> {
            Some(self.betas.0)
        }
        fn set_momentum(&mut self, momentum: f64) -> Result<()> {
            super::check_beta("betas[0]", momentum)?;
            self.betas.0 = momentum;
            Ok(())
        }
    };
}
pub(crate) use beta1_momentum;

/// Validate a learning rate: finite and >= 0 (PyTorch: "Invalid learning rate").
pub(crate) fn check_lr(lr: f64) -> Result<()> {
    check_arg(lr.is_finite() && lr >= 0.0, "lr", lr, "finite and >= 0")
}

/// Validate a weight decay: finite and >= 0.
pub(crate) fn check_wd(wd: f64) -> Result<()> {
    check_arg(
        wd.is_finite() && wd >= 0.0,
        "weight_decay",
        wd,
        "finite and >= 0",
    )
}

/// Validate `eps`: finite and >= 0.
pub(crate) fn check_eps(eps: f64) -> Result<()> {
    check_arg(eps.is_finite() && eps >= 0.0, "eps", eps, "finite and >= 0")
}

/// Validate a beta / decay rate in [0, 1).
pub(crate) fn check_beta(name: &'static str, b: f64) -> Result<()> {
    check_arg((0.0..1.0).contains(&b), name, b, "in [0, 1)")
}

/// Validate a finite non-negative hyperparameter.
pub(crate) fn check_nonneg(name: &'static str, v: f64) -> Result<()> {
    check_arg(v.is_finite() && v >= 0.0, name, v, "finite and >= 0")
}

/// PyTorch's `lerp(a, b, w)` with a fixed weight: `a + w (b - a)` for |w| < 0.5, else
/// `b - (b - a)(1 - w)`. Branch-free in the element loop so it vectorizes: both formulas are
/// computed and the one PyTorch would use is selected.
#[derive(Clone, Copy)]
pub(crate) struct Lerp<T> {
    w: T,
    one_minus_w: T,
    small: bool,
}

impl<T: Float> Lerp<T> {
    /// Weight `w` (rounded to `T` like PyTorch's scalar argument).
    #[inline]
    pub(crate) fn new(w: f64) -> Self {
        let w = T::from_f64(w);
        Self {
            w,
            one_minus_w: T::ONE - w,
            small: w.abs() < T::HALF,
        }
    }
    /// `lerp(a, b, w)`.
    #[inline(always)]
    pub(crate) fn apply(&self, a: T, b: T) -> T {
        let d = b - a;
        let x = a + self.w * d;
        let y = b - d * self.one_minus_w;
        if self.small {
            x
        } else {
            y
        }
    }
}

/// Gradient preprocessing shared by the optimizers, branch-free per element:
/// `g ← ±g` (maximize), then `g ← g + wd·θ` (coupled decay) or `θ ← θ·(1 − lr·wd)` (decoupled).
#[derive(Clone, Copy)]
pub(crate) struct Pre<T> {
    sign: T,
    wd: T,
    l2: bool,
    decay: T,
}

impl<T: Float> Pre<T> {
    /// `decoupled` selects the AdamW form; a zero weight decay does nothing, as in PyTorch.
    #[inline]
    pub(crate) fn new(maximize: bool, lr: f64, wd: f64, decoupled: bool) -> Self {
        let use_wd = wd != 0.0;
        Self {
            sign: if maximize { -T::ONE } else { T::ONE },
            wd: T::from_f64(wd),
            l2: use_wd && !decoupled,
            // θ · 1 is θ exactly, so the multiply is harmless when unused.
            decay: if use_wd && decoupled {
                T::from_f64(1.0 - lr * wd)
            } else {
                T::ONE
            },
        }
    }
    /// Apply to one element: returns the gradient to use, updates θ for decoupled decay.
    #[inline(always)]
    pub(crate) fn apply(&self, p: &mut T, g: T) -> T {
        let g = g * self.sign;
        let g2 = g + self.wd * *p;
        *p *= self.decay;
        if self.l2 {
            g2
        } else {
            g
        }
    }
}

/// NaN-propagating maximum, like `torch.maximum`.
#[inline(always)]
pub(crate) fn maximum<T: Float>(a: T, b: T) -> T {
    if a.is_nan() || b.is_nan() {
        T::NAN
    } else if a >= b {
        a
    } else {
        b
    }
}

/// `x^y` for the f64 scalar math (Python's `**`).
#[inline]
pub(crate) fn powf64(x: f64, y: f64) -> f64 {
    <f64 as Float>::powf(x, y)
}

/// Split `state` into `K` consecutive slots of `n` elements each.
///
/// The caller guarantees `state.len() >= K * n` (checked at construction).
#[inline]
pub(crate) fn split_slots<T, const K: usize>(state: &mut [T], n: usize) -> [&mut [T]; K] {
    let mut rest = state;
    core::array::from_fn(|_| {
        let (a, b) = core::mem::take(&mut rest).split_at_mut(n);
        rest = b;
        a
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lerp_matches_both_branches() {
        assert_eq!(Lerp::<f64>::new(0.25).apply(1.0, 3.0), 1.5);
        assert_eq!(Lerp::<f64>::new(0.75).apply(1.0, 3.0), 2.5);
        assert_eq!(Lerp::<f32>::new(1.0).apply(1.0, 3.0), 3.0);
        // The two formulas round differently; PyTorch's choice is kept.
        let (a, b) = (0.1f32, 0.7f32);
        assert_eq!(Lerp::<f32>::new(0.3).apply(a, b), a + 0.3 * (b - a));
        assert_eq!(Lerp::<f32>::new(0.7).apply(a, b), b - (b - a) * (1.0 - 0.7));
    }

    #[test]
    fn maximum_propagates_nan() {
        assert!(maximum(f32::NAN, 1.0).is_nan());
        assert!(maximum(1.0, f32::NAN).is_nan());
        assert_eq!(maximum(1.0f32, 2.0), 2.0);
    }

    #[test]
    fn kinds_round_trip() {
        for b in 0..=255u8 {
            if let Some(k) = OptimizerKind::from_u8(b) {
                assert_eq!(k as u8, b);
            }
        }
        assert_eq!(OptimizerKind::from_u8(0), None);
    }

    #[test]
    fn split_slots_splits() {
        let mut v = [0, 1, 2, 3, 4, 5, 6];
        let [a, b, c] = split_slots::<_, 3>(&mut v, 2);
        assert_eq!((a.len(), b.len(), c.len()), (2, 2, 2));
        assert_eq!((a[0], b[0], c[1]), (0, 2, 5));
    }
}
