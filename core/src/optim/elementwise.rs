//! [`ElementwiseRule`]: update rules whose step on parameter `i` reads and writes only
//! element `i` of the gradient and of each per-parameter state buffer ("slot"), so that a
//! step splits into independent chunks.
//!
//! Such a rule says what a step computes once — the step-level scalars
//! ([`advance`](ElementwiseRule::advance)), each group's constants
//! ([`group_step`](ElementwiseRule::group_step)) and the scalars carried to the next step
//! ([`finish`](ElementwiseRule::finish)) — and what it does to a chunk of elements
//! ([`ElementStep::apply`]). [`elementwise_update`] is its [`Rule::update`]: the whole of each
//! group as one chunk. descent-kernels runs the same `apply` on chunks in parallel, compiled
//! for wider vectors; the element arithmetic is the same, so the results are bitwise equal.

use core::ops::Range;

use super::{Group, Rule};
use crate::Float;

/// The most slots an element-wise rule keeps (RMSprop, centered, with momentum: 3).
pub const MAX_SLOTS: usize = 3;

/// One chunk's per-parameter state: `slots[j]` holds slot `j`'s elements for the chunk's
/// parameters (as many as there are parameters); slots the rule does not use are empty.
pub type Slots<'a, T> = [&'a mut [T]; MAX_SLOTS];

/// A step's constants for one parameter group, applicable to any chunk of the group.
pub trait ElementStep<T>: Copy {
    /// Update one chunk: parameters `p`, gradient `g` (same length) and the chunk's
    /// [`Slots`]. Element `i` of the result depends only on element `i` of the inputs.
    fn apply(&self, p: &mut [T], g: &[T], slots: Slots<'_, T>);
}

/// A [`Rule`] whose update is element-wise (see the module documentation). Its
/// [`Rule::slots`] is at most [`MAX_SLOTS`]; its state is the slots, slot-major, then
/// [`Rule::scalars`] step-level scalars.
pub trait ElementwiseRule: Rule {
    /// One group's constants for one step.
    type Step<T: Float>: ElementStep<T>;

    /// Advance the step-level scalars to step `t` (called once per step, before any
    /// [`group_step`](Self::group_step)). Default: the rule has none.
    fn advance<T: Float>(&self, _t: u64, _scalars: &mut [T]) {}

    /// Step `t`'s constants for `group` (group number `index`), from the advanced `scalars`.
    fn group_step<T: Float>(
        &self,
        t: u64,
        index: usize,
        group: &Group,
        scalars: &[T],
    ) -> Self::Step<T>;

    /// Update the scalars after every group's elements have taken step `t` (called once per
    /// step; ASGD computes the next step's per-group η and μ from this step's lr here, as
    /// PyTorch does at the end of its step). Default: nothing.
    fn finish<T: Float>(&self, _t: u64, _groups: &[Group], _scalars: &mut [T]) {}
}

/// Split the state of a rule with `slots` slots over `n` parameters into its [`Slots`]
/// (unused ones empty) and the scalars after them.
///
/// # Panics
/// If `slots > MAX_SLOTS` or `state` is shorter than `slots * n` (an [`Optim`](super::Optim)
/// checks the length on construction).
pub fn split_state<T>(slots: usize, state: &mut [T], n: usize) -> (Slots<'_, T>, &mut [T]) {
    assert!(slots <= MAX_SLOTS, "{slots} slots: at most {MAX_SLOTS}");
    let (bufs, scalars) = state.split_at_mut(slots * n);
    let mut rest = bufs;
    let s = core::array::from_fn(|j| {
        if j < slots {
            let (a, b) = core::mem::take(&mut rest).split_at_mut(n);
            rest = b;
            a
        } else {
            Default::default()
        }
    });
    (s, scalars)
}

/// Elements `r` of every used slot (unused ones stay empty).
///
/// # Panics
/// If `r` is out of a used slot's bounds.
pub fn slots_range<'b, T>(slots: &'b mut Slots<'_, T>, r: Range<usize>) -> Slots<'b, T> {
    slots.each_mut().map(|s| {
        if s.is_empty() {
            Default::default()
        } else {
            &mut s[r.clone()]
        }
    })
}

/// Split every used slot at `mid`: elements `..mid` and `mid..` (unused ones stay empty).
///
/// # Panics
/// If `mid` exceeds a used slot's length.
pub fn split_slots_at<T>(slots: Slots<'_, T>, mid: usize) -> (Slots<'_, T>, Slots<'_, T>) {
    let mut lo: Slots<'_, T> = Default::default();
    let mut hi: Slots<'_, T> = Default::default();
    for (j, s) in slots.into_iter().enumerate() {
        if !s.is_empty() {
            let (a, b) = s.split_at_mut(mid);
            lo[j] = a;
            hi[j] = b;
        }
    }
    (lo, hi)
}

/// [`Rule::update`] of an element-wise rule: advance the scalars, apply each group's step to
/// the group's elements as one chunk, then [`finish`](ElementwiseRule::finish).
pub fn elementwise_update<T: Float, R: ElementwiseRule>(
    rule: &R,
    t: u64,
    groups: &[Group],
    params: &mut [T],
    grads: &[T],
    state: &mut [T],
) {
    elementwise_update_with(
        rule,
        t,
        groups,
        params,
        grads,
        state,
        |step, p, g, slots| step.apply(p, g, slots),
    );
}

/// [`elementwise_update`] with `run(step, p, g, slots)` in place of `step.apply(p, g, slots)`
/// for each group's elements (how a faster kernel, e.g. descent-kernels' chunked one, plugs
/// in; `run` must have `apply`'s effect).
pub fn elementwise_update_with<T: Float, R: ElementwiseRule>(
    rule: &R,
    t: u64,
    groups: &[Group],
    params: &mut [T],
    grads: &[T],
    state: &mut [T],
    mut run: impl FnMut(&R::Step<T>, &mut [T], &[T], Slots<'_, T>),
) {
    let n = params.len();
    let (mut slots, scalars) = split_state(rule.slots(), state, n);
    rule.advance(t, scalars);
    for (i, grp) in groups.iter().enumerate() {
        let step = rule.group_step(t, i, grp, scalars);
        let r = grp.range();
        run(
            &step,
            &mut params[r.clone()],
            &grads[r.clone()],
            slots_range(&mut slots, r),
        );
    }
    rule.finish(t, groups, scalars);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_splits_into_slots_and_scalars() {
        let mut v = [0, 1, 2, 3, 4, 5, 6];
        let ([a, b, c], s) = split_state(2, &mut v, 3);
        assert_eq!(
            (&*a, &*b, c.len(), &*s),
            (&[0, 1, 2][..], &[3, 4, 5][..], 0, &[6][..])
        );
    }

    #[test]
    fn ranges_and_splits_keep_unused_slots_empty() {
        let mut v = [0, 1, 2, 3, 4, 5, 6, 7];
        let (mut slots, _) = split_state(2, &mut v, 4);
        let [a, b, c] = slots_range(&mut slots, 1..3);
        assert_eq!((&*a, &*b, c.len()), (&[1, 2][..], &[5, 6][..], 0));
        let (lo, hi) = split_slots_at(slots, 1);
        assert_eq!((&*lo[0], &*lo[1], lo[2].len()), (&[0][..], &[4][..], 0));
        assert_eq!(
            (&*hi[0], &*hi[1], hi[2].len()),
            (&[1, 2, 3][..], &[5, 6, 7][..], 0)
        );
    }

    #[test]
    #[should_panic(expected = "at most 3")]
    fn more_slots_than_the_maximum_panic() {
        let mut v = [0; 8];
        let _ = split_state(4, &mut v, 2);
    }
}
