//! ASGD (`torch.optim.ASGD`): SGD with a decaying step size and a running (Polyak) average of
//! the iterates.

use super::elementwise::{ElementStep, ElementwiseRule, Slots};
use super::stateful::{Optim, Rule};
#[cfg(doc)]
use super::Optimizer;
use super::{check_lr, check_nonneg, powf64, Group, OptimizerKind, Pre, MAX_GROUPS};
use crate::error::check_arg;
use crate::{Float, Result};

/// ASGD hyperparameters (PyTorch names and defaults).
///
/// Step t of a group with learning rate lr, g the gradient (negated when `maximize`), η and μ
/// the group's values carried from step t − 1 (η = lr and μ = 1 at step 1):
///
/// ```text
/// g  ← g + wd · θ                               (if wd ≠ 0)
/// θ  ← θ · (1 − λ η) ;  θ ← θ − η g
/// ax ← θ  if μ = 1,   else  ax ← ax + μ (θ − ax)
/// η  ← lr / (1 + λ · lr · t)^α                  (for step t + 1, from this step's lr)
/// μ  ← 1 / max(1, t − t0)
/// ```
///
/// `ax` is the running average of the iterates since step ⌈t0⌉ (before it, the last
/// iterate; zeros before the first step): read it with [`Optimizer::averaged`]. η and μ are kept in `T`, as
/// PyTorch keeps them in tensors of the default dtype, and η of step t + 1 uses the lr of step
/// t, so a scheduler's change reaches the update one step later, as in PyTorch.
/// State: `ax`, then η and μ of each of the [`MAX_GROUPS`] possible groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AsgdConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Decay term λ (default 1e-4).
    pub lambd: f64,
    /// Power α of the η update (default 0.75).
    pub alpha: f64,
    /// Step at which averaging starts (default 1e6).
    pub t0: f64,
    /// Weight decay (L2 penalty, default 0).
    pub weight_decay: f64,
    /// Maximize the objective (default false).
    pub maximize: bool,
}

impl Default for AsgdConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            lambd: 1e-4,
            alpha: 0.75,
            t0: 1e6,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

setters!(AsgdConfig {
    lr: f64,
    lambd: f64,
    alpha: f64,
    t0: f64,
    weight_decay: f64,
    maximize: bool,
});

/// `torch.optim.ASGD` (see [`AsgdConfig`] for the formula).
pub type Asgd<T, S> = Optim<T, AsgdConfig, S>;

impl Rule for AsgdConfig {
    const KIND: OptimizerKind = OptimizerKind::Asgd;

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_nonneg("lambd", self.lambd)?;
        check_nonneg("alpha", self.alpha)?;
        // +-inf are meaningful (average from the first step / never); NaN is not.
        check_arg(!self.t0.is_nan(), "t0", self.t0, "a number")?;
        check_nonneg("weight_decay", self.weight_decay)
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        self.weight_decay
    }
    fn slots(&self) -> usize {
        1
    }
    fn scalars(&self) -> usize {
        2 * MAX_GROUPS
    }
    fn averaged_slot(&self) -> Option<usize> {
        Some(0)
    }
    fn init_state<T: Float>(&self, state: &mut [T], n: usize) {
        state.fill(T::ZERO);
        // η is set from the group's lr at step 1 (PyTorch's lazy state init); μ starts at 1.
        for mu in state[n..].iter_mut().skip(1).step_by(2) {
            *mu = T::ONE;
        }
    }
    super::elementwise_update!();
}

impl AsgdConfig {
    /// η and μ for step `t + 1`, after step `t` ran with learning rate `lr`.
    fn next_eta_mu(&self, t: u64, lr: f64) -> (f64, f64) {
        let step = t as f64;
        let eta = lr / powf64(1.0 + self.lambd * lr * step, self.alpha);
        let d = step - self.t0;
        // Python's max(1, d): NaN cannot occur (t0 is not NaN).
        let mu = 1.0 / if d > 1.0 { d } else { 1.0 };
        (eta, mu)
    }
}

impl ElementwiseRule for AsgdConfig {
    type Step<T: Float> = AsgdStep<T>;

    fn group_step<T: Float>(
        &self,
        t: u64,
        index: usize,
        group: &Group,
        scalars: &[T],
    ) -> AsgdStep<T> {
        let (eta, mu) = if t == 1 {
            (T::from_f64(group.lr), T::ONE)
        } else {
            (scalars[2 * index], scalars[2 * index + 1])
        };
        let eta64 = eta.to_f64();
        AsgdStep {
            pre: Pre::new(self.maximize, group.lr, group.weight_decay, false),
            decay: T::from_f64(1.0 - self.lambd * eta64),
            neg_eta: T::from_f64(-eta64),
            mu,
            average: mu != T::ONE,
        }
    }

    fn finish<T: Float>(&self, t: u64, groups: &[Group], scalars: &mut [T]) {
        for (g, em) in groups.iter().zip(scalars.chunks_exact_mut(2)) {
            let (eta, mu) = self.next_eta_mu(t, g.lr);
            em[0] = T::from_f64(eta);
            em[1] = T::from_f64(mu);
        }
    }
}

/// One group's ASGD step (see [`AsgdConfig`]); slot `ax`.
#[derive(Clone, Copy)]
pub struct AsgdStep<T> {
    pre: Pre<T>,
    decay: T,
    neg_eta: T,
    mu: T,
    average: bool,
}

impl<T: Float> ElementStep<T> for AsgdStep<T> {
    #[inline(always)]
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>) {
        let [ax, _, _] = slots;
        let s = *self;
        for ((p, &g), ax) in p.iter_mut().zip(g).zip(ax.iter_mut()) {
            let g = s.pre.apply(p, g);
            let q = *p * s.decay + s.neg_eta * g;
            *p = q;
            let avg = *ax + (q - *ax) * s.mu;
            *ax = if s.average { avg } else { q };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{GroupSpec, Optimizer};

    #[test]
    fn eta_decays_from_the_previous_lr_and_averaging_starts_after_t0() {
        let cfg = AsgdConfig::default().lr(0.5).lambd(0.1).alpha(1.0).t0(2.0);
        let mut st = [0.0f64; 1 + 2 * MAX_GROUPS];
        let mut opt = Asgd::new(cfg, 1, &mut st[..]).unwrap();
        let mut p = [1.0f64];
        // Step 1: η = lr, θ = 1·(1 − 0.05) − 0.5·1.
        opt.step(&mut p, &[1.0]).unwrap();
        assert_eq!(p[0], 0.95 - 0.5);
        assert_eq!(opt.averaged(), Some(&p[..]));
        // η₂ = 0.5 / (1 + 0.1·0.5·1); a new lr only reaches η₃.
        opt.set_lr(0, 0.25).unwrap();
        let eta2 = 0.5 / 1.05;
        opt.step(&mut p, &[0.0]).unwrap();
        assert!((p[0] - 0.45 * (1.0 - 0.1 * eta2)).abs() < 1e-15);
        // μ after step 3 = 1/max(1, 3 − 2) = 1; after step 4, 1/2: ax starts averaging at 5.
        opt.step(&mut p, &[0.0]).unwrap();
        opt.step(&mut p, &[0.0]).unwrap();
        let last = p[0];
        assert_eq!(opt.averaged().unwrap()[0], last);
        opt.step(&mut p, &[1.0]).unwrap();
        assert!((opt.averaged().unwrap()[0] - (last + p[0]) / 2.0).abs() < 1e-15);
        let eta5 = 0.25 / (1.0 + 0.1 * 0.25 * 4.0);
        assert!((p[0] - (last * (1.0 - 0.1 * eta5) - eta5)).abs() < 1e-15);
    }

    #[test]
    fn groups_keep_their_own_eta() {
        let cfg = AsgdConfig::default().lambd(1.0).alpha(1.0);
        let specs = [GroupSpec::new(1).lr(0.1), GroupSpec::new(1).lr(0.2)];
        let mut st = [0.0f32; 2 + 2 * MAX_GROUPS];
        let mut opt = Asgd::with_groups(cfg, &specs, &mut st[..]).unwrap();
        let mut p = [0.0f32; 2];
        opt.step(&mut p, &[1.0, 1.0]).unwrap();
        assert_eq!(p, [-0.1, -0.2]);
        let s = &opt.state()[2..6];
        assert_eq!(s, [(0.1 / 1.1) as f32, 1.0, (0.2 / 1.2) as f32, 1.0]);
    }

    #[test]
    fn hyperparameters_are_checked() {
        let ok = AsgdConfig::default();
        assert!(ok.validate().is_ok());
        assert!(ok.lambd(-1.0).validate().is_err());
        assert!(ok.alpha(f64::NAN).validate().is_err());
        assert!(ok.t0(f64::NAN).validate().is_err());
        assert!(ok.t0(f64::INFINITY).validate().is_ok());
        assert!(ok.weight_decay(-0.1).validate().is_err());
        assert!(ok.lr(-1.0).validate().is_err());
    }
}
