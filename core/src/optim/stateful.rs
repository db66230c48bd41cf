//! [`Optim`]: the shared machinery of the first-order optimizers (groups, step counter, state
//! buffer, byte export) around a [`Rule`] that supplies the update formula.

use core::marker::PhantomData;

use super::group::Groups;
use super::{state, Group, GroupSpec, Optimizer, OptimizerKind};
use crate::error::{check_len, check_min_len};
use crate::{Float, Result};

/// An update rule: the hyperparameters of one optimizer plus its formula.
///
/// Implemented by the configuration structs ([`SgdConfig`](super::SgdConfig),
/// [`AdamConfig`](super::AdamConfig), ...). The state is `slots()` buffers of `n` elements,
/// slot after slot, followed by `scalars()` single elements.
pub trait Rule: Copy + core::fmt::Debug {
    /// Which optimizer this is.
    const KIND: OptimizerKind;
    /// Check every hyperparameter (PyTorch's constructor checks).
    fn validate(&self) -> Result<()>;
    /// Default learning rate for groups that do not override it.
    fn base_lr(&self) -> f64;
    /// Default weight decay for groups that do not override it.
    fn base_weight_decay(&self) -> f64;
    /// Number of per-parameter buffers.
    fn slots(&self) -> usize;
    /// Number of trailing scalar state elements.
    fn scalars(&self) -> usize {
        0
    }
    /// State elements needed for `n` parameters: `slots() * n + scalars()`.
    fn state_len(&self, n: usize) -> usize {
        self.slots()
            .saturating_mul(n)
            .saturating_add(self.scalars())
    }
    /// The momentum a schedule may cycle (PyTorch's `cycle_momentum`): `momentum` of SGD and
    /// RMSprop, `betas[0]` of the Adam family; `None` for rules without one (the default).
    fn momentum(&self) -> Option<f64> {
        None
    }
    /// Set the value [`momentum`](Self::momentum) reads, checked as the constructor checks it.
    /// Errors: `InvalidArgument { name: "momentum", .. }` for rules without one, or when the
    /// change would add or drop a state buffer (SGD / RMSprop momentum crossing 0).
    fn set_momentum(&mut self, momentum: f64) -> Result<()> {
        super::no_momentum(momentum)
    }
    /// Elements of working memory a step needs after the state (Muon's Newton–Schulz
    /// matrices): part of the caller's buffer ([`Optim::state_len`] counts it), but not of the
    /// state ([`Optim::state`], the exported bytes). Default: none.
    fn scratch_len(&self, _n: usize) -> usize {
        0
    }
    /// Check the rule's own view of the parameter layout against the `n` parameters and their
    /// resolved groups (Adafactor's tensor shapes: they must cover the vector and not cross a
    /// group boundary). Called on construction, before any state is allocated. Default: OK.
    fn validate_layout(&self, _n: usize, _groups: &[Group]) -> Result<()> {
        Ok(())
    }
    /// The slot holding an average of the iterates, if the rule keeps one (ASGD's `ax`);
    /// [`Optimizer::averaged`] reads it. Default: none.
    fn averaged_slot(&self) -> Option<usize> {
        None
    }
    /// Fill a fresh state (default: zeros).
    fn init_state<T: Float>(&self, state: &mut [T], _n: usize) {
        state.fill(T::ZERO);
    }
    /// Apply step number `t` (1-based) to every group. Lengths are already validated:
    /// `params.len() == grads.len() == n`, `state.len() == state_len(n) + scratch_len(n)`
    /// (the scratch, if any, after the state; its contents on entry are unspecified).
    fn update<T: Float>(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    );
}

/// A first-order optimizer: rule `R` over `T` with state storage `S` (`&mut [T]` or, with the
/// `alloc` feature, `Vec<T>`).
#[derive(Debug, Clone)]
pub struct Optim<T, R, S> {
    rule: R,
    groups: Groups,
    n: usize,
    steps: u64,
    state: S,
    _t: PhantomData<fn() -> T>,
}

impl<T: Float, R: Rule, S: AsRef<[T]> + AsMut<[T]>> Optim<T, R, S> {
    /// Number of elements the caller must provide for `n_params` parameters: the rule's state
    /// and its scratch ([`Rule::state_len`] + [`Rule::scratch_len`]).
    pub fn state_len(config: &R, n_params: usize) -> usize {
        config
            .state_len(n_params)
            .saturating_add(config.scratch_len(n_params))
    }

    /// The elements of the buffer a step uses: state, then scratch.
    fn used_len(&self) -> usize {
        Self::state_len(&self.rule, self.n)
    }

    /// One group covering `n_params` parameters, state in `state`
    /// (at least [`state_len`](Self::state_len) elements; only that prefix is used).
    pub fn new(config: R, n_params: usize, state: S) -> Result<Self> {
        Self::with_groups(config, &[GroupSpec::new(n_params)], state)
    }

    /// Several groups laid out back to back (see [`GroupSpec`]).
    pub fn with_groups(config: R, groups: &[GroupSpec], mut state: S) -> Result<Self> {
        config.validate()?;
        let groups = Groups::new(groups, config.base_lr(), config.base_weight_decay())?;
        let n = groups.n_params();
        config.validate_layout(n, groups.as_slice())?;
        let len = config.state_len(n);
        check_min_len("state", state.as_ref().len(), Self::state_len(&config, n))?;
        config.init_state(&mut state.as_mut()[..len], n);
        Ok(Self {
            rule: config,
            groups,
            n,
            steps: 0,
            state,
            _t: PhantomData,
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &R {
        &self.rule
    }

    /// The state elements in use (slot after slot, then scalars).
    pub fn state(&self) -> &[T] {
        &self.state.as_ref()[..self.rule.state_len(self.n)]
    }

    /// Give back the state storage.
    pub fn into_state(self) -> S {
        self.state
    }
}

impl<T: Float, R: Rule, S: AsRef<[T]> + AsMut<[T]>> Optim<T, R, S> {
    /// One step with a caller-supplied implementation of the rule's formula: validates the
    /// lengths, then calls `kernel(rule, t, groups, params, grads, state)` in place of
    /// [`Rule::update`] (same contract: step `t` is 1-based, `state` is the rule's slot
    /// layout) and advances the step counter. This is how `descent-kernels` runs the update
    /// vectorized and in parallel on the optimizer's own state, so checkpoints and resumes are
    /// the same whichever path ran.
    pub fn step_with(
        &mut self,
        params: &mut [T],
        grads: &[T],
        kernel: impl FnOnce(&R, u64, &[super::Group], &mut [T], &[T], &mut [T]),
    ) -> Result<()> {
        check_len("params", params.len(), self.n)?;
        check_len("grads", grads.len(), self.n)?;
        let t = self.steps + 1;
        let len = self.used_len();
        let state = &mut self.state.as_mut()[..len];
        kernel(&self.rule, t, self.groups.as_slice(), params, grads, state);
        self.steps = t;
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl<T: Float, R: Rule> Optim<T, R, alloc::vec::Vec<T>> {
    /// One group of `n_params` parameters, with an owned state buffer.
    pub fn owned(config: R, n_params: usize) -> Result<Self> {
        Self::owned_with_groups(config, &[GroupSpec::new(n_params)])
    }

    /// Several groups, with an owned state buffer.
    pub fn owned_with_groups(config: R, groups: &[GroupSpec]) -> Result<Self> {
        config.validate()?;
        let resolved = Groups::new(groups, config.base_lr(), config.base_weight_decay())?;
        let n = resolved.n_params();
        config.validate_layout(n, resolved.as_slice())?;
        let len = Self::state_len(&config, n);
        Self::with_groups(config, groups, alloc::vec![T::ZERO; len])
    }
}

impl<T: Float, R: Rule, S: AsRef<[T]> + AsMut<[T]>> Optimizer<T> for Optim<T, R, S> {
    fn kind(&self) -> OptimizerKind {
        R::KIND
    }
    fn n_params(&self) -> usize {
        self.n
    }
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        check_len("params", params.len(), self.n)?;
        check_len("grads", grads.len(), self.n)?;
        let t = self.steps + 1;
        let len = self.used_len();
        let state = &mut self.state.as_mut()[..len];
        self.rule
            .update(t, self.groups.as_slice(), params, grads, state);
        self.steps = t;
        Ok(())
    }
    fn steps(&self) -> u64 {
        self.steps
    }
    fn groups(&self) -> &[Group] {
        self.groups.as_slice()
    }
    fn lr(&self, group: usize) -> Result<f64> {
        Ok(self.groups.get(group)?.lr)
    }
    fn set_lr(&mut self, group: usize, lr: f64) -> Result<()> {
        self.groups.set_lr(group, lr)
    }
    fn weight_decay(&self, group: usize) -> Result<f64> {
        Ok(self.groups.get(group)?.weight_decay)
    }
    fn set_weight_decay(&mut self, group: usize, weight_decay: f64) -> Result<()> {
        self.groups.set_wd(group, weight_decay)
    }
    fn momentum(&self) -> Option<f64> {
        self.rule.momentum()
    }
    fn set_momentum(&mut self, momentum: f64) -> Result<()> {
        self.rule.set_momentum(momentum)
    }
    fn averaged(&self) -> Option<&[T]> {
        let j = self.rule.averaged_slot()?;
        self.state().get(j * self.n..(j + 1) * self.n)
    }
    fn state_bytes_len(&self) -> usize {
        state::bytes_len(
            self.groups.as_slice().len(),
            0,
            self.rule.state_len(self.n),
            T::BYTES,
        )
    }
    fn export_state(&self, out: &mut [u8]) -> Result<usize> {
        state::encode(
            R::KIND,
            self.n,
            self.steps,
            self.groups.as_slice(),
            &[],
            self.state(),
            out,
        )
    }
    fn import_state(&mut self, bytes: &[u8]) -> Result<()> {
        let len = self.rule.state_len(self.n);
        let steps = state::decode(
            R::KIND,
            self.n,
            self.groups.as_mut_slice(),
            &mut [],
            |_| true,
            &mut self.state.as_mut()[..len],
            bytes,
        )?;
        self.steps = steps;
        Ok(())
    }
    fn reset_state(&mut self) {
        let len = self.rule.state_len(self.n);
        self.rule
            .init_state(&mut self.state.as_mut()[..len], self.n);
        self.steps = 0;
    }
}
