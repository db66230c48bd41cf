//! Fused element-wise rules (Adagrad, RMSprop, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD; and SGD's
//! `FusedRule`, whose loop is in `sgd.rs`): descent-core's own per-chunk step
//! ([`ElementStep::apply`]) run on chunks of every state slot, compiled for the CPU's widest
//! vectors and spread over the rayon pool.
//!
//! The core rule's [`Rule::update`](descent_core::optim::Rule::update) applies the same step to
//! each group as one chunk; element `i` of a step depends only on element `i` of the inputs,
//! so splitting into chunks, and vectorizing the element arithmetic (no FMA contraction),
//! leave every bit unchanged.

use super::{chunk_len, simd_level, with_simd, FusedRule, SimdLevel};
use descent_core::optim::elementwise::{elementwise_update_with, split_slots_at, Slots};
use descent_core::optim::{
    AdadeltaConfig, AdagradConfig, AdamaxConfig, AsgdConfig, ElementStep, ElementwiseRule, Group,
    NAdamConfig, Optim, RAdamConfig, RmsPropConfig, RpropConfig, SgdConfig,
};
use descent_core::Result;

/// One optimizer step of any [`ElementwiseRule`] — descent-core's or one of your own —
/// through the fused path: `opt.step_with(params, grads, fused_elementwise)`, i.e. the rule's
/// [`elementwise_update`](descent_core::optim::elementwise::elementwise_update) with each
/// group's elements in chunks on the rayon pool, each chunk compiled for the CPU's widest
/// vectors; bitwise equal to `opt.step(params, grads)`. (descent-core's rules also implement
/// [`FusedRule`], so [`step_fused`](super::step_fused) takes them too.)
pub fn step_elementwise<R, S>(
    opt: &mut Optim<f32, R, S>,
    params: &mut [f32],
    grads: &[f32],
) -> Result<()>
where
    R: ElementwiseRule,
    R::Step<f32>: Sync,
    S: AsRef<[f32]> + AsMut<[f32]>,
{
    opt.step_with(params, grads, |r, t, groups, p, g, s| {
        fused_elementwise(r, t, groups, p, g, s)
    })
}

/// [`descent_core::optim::elementwise::elementwise_update`] with each group's elements in
/// chunks of [`chunk_len`] on the rayon pool, each chunk compiled for the CPU's widest vectors.
fn fused_elementwise<R: ElementwiseRule>(
    rule: &R,
    t: u64,
    groups: &[Group],
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) where
    R::Step<f32>: Sync,
{
    let level = simd_level();
    elementwise_update_with(
        rule,
        t,
        groups,
        params,
        grads,
        state,
        |step, p, g, slots| in_chunks(level, step, chunk_len(p.len()), p, g, slots),
    );
}

/// `step.apply(p, g, slots)` in chunks of `c` elements (whole chunks from the start, the last
/// one shorter), halving the range and joining on the rayon pool until a part fits one chunk;
/// a range of one chunk runs on the calling thread without touching the pool.
fn in_chunks<S: ElementStep<f32> + Sync>(
    level: SimdLevel,
    step: &S,
    c: usize,
    p: &mut [f32],
    g: &[f32],
    slots: Slots<'_, f32>,
) {
    if p.len() <= c {
        with_simd(
            level,
            #[inline(always)]
            || step.apply(p, g, slots),
        );
        return;
    }
    // At least two chunks: split between them, half of the chunks on each side.
    let mid = p.len().div_ceil(c) / 2 * c;
    let (p0, p1) = p.split_at_mut(mid);
    let (g0, g1) = g.split_at(mid);
    let (s0, s1) = split_slots_at(slots, mid);
    rayon::join(
        || in_chunks(level, step, c, p0, g0, s0),
        || in_chunks(level, step, c, p1, g1, s1),
    );
}

impl FusedRule for SgdConfig {
    fn fused_update(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) {
        // Its own loop with the per-element branches hoisted (see `sgd.rs`).
        super::sgd::sgd_update(self, t, groups, params, grads, state);
    }
}

/// `FusedRule` through [`fused_elementwise`] for element-wise core rules.
macro_rules! fused_elementwise_rules {
    ($($rule:ty),* $(,)?) => {
        $(
            impl FusedRule for $rule {
                fn fused_update(
                    &self,
                    t: u64,
                    groups: &[Group],
                    params: &mut [f32],
                    grads: &[f32],
                    state: &mut [f32],
                ) {
                    fused_elementwise(self, t, groups, params, grads, state);
                }
            }
        )*
    };
}

fused_elementwise_rules!(
    AdagradConfig,
    RmsPropConfig,
    AdadeltaConfig,
    AdamaxConfig,
    NAdamConfig,
    RAdamConfig,
    RpropConfig,
    AsgdConfig,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::{step_fused, PAR_THRESHOLD};
    use descent_core::optim::Optim;

    /// Every chunk is visited once, in parallel, with the right slot elements: an update
    /// whose result encodes the element's index catches a misplaced or skipped chunk.
    #[test]
    fn chunks_cover_every_element_once() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| {
            let n = 5 * PAR_THRESHOLD + 123;
            let cfg = AdagradConfig::default().lr(1.0);
            let mut o: Optim<f32, _, Vec<f32>> = Optim::owned(cfg, n).unwrap();
            let mut p = vec![0f32; n];
            let g: Vec<f32> = (0..n).map(|i| (i % 7 + 1) as f32).collect();
            step_fused(&mut o, &mut p, &g).unwrap();
            // sum = g², p = -g / (|g| + eps)
            for (i, (&pi, &si)) in p.iter().zip(o.state()).enumerate() {
                let gi = (i % 7 + 1) as f32;
                assert_eq!(si, gi * gi, "sum[{i}]");
                assert_eq!(pi, -gi / (gi + 1e-10), "p[{i}]");
            }
        });
    }
}
