//! Fused Adagrad and RMSprop (and SGD's `FusedRule`, whose loop is in `sgd.rs`):
//! descent-core's own element loops run on chunks, compiled
//! for the CPU's widest vectors and spread over the rayon pool.
//!
//! A rule whose state is at most one buffer (SGD with or without momentum, Adagrad, RMSprop
//! without momentum and centering) keeps state element `i` next to parameter `i`, so a chunk
//! of the parameters with the same chunk of the state is a complete, independent problem: the
//! core rule is applied to it as a one-group optimizer. RMSprop with momentum or centering has
//! several slot-major buffers; it runs vectorized on the calling thread.

use super::{chunk_len, simd_level, with_simd, FusedRule};
use descent_core::optim::{AdagradConfig, Group, RmsPropConfig, Rule, SgdConfig};
use rayon::prelude::*;

fn chunked<R: Rule + Sync>(
    rule: &R,
    t: u64,
    groups: &[Group],
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) {
    let level = simd_level();
    let slots = rule.slots();
    if slots > 1 || rule.scalars() > 0 {
        with_simd(level, || rule.update(t, groups, params, grads, state));
        return;
    }
    for grp in groups {
        let r = grp.range();
        let (p, g) = (&mut params[r.clone()], &grads[r.clone()]);
        let c = chunk_len(p.len());
        let one = |p: &mut [f32], g: &[f32], s: &mut [f32]| {
            let sub = Group {
                start: 0,
                len: p.len(),
                lr: grp.lr,
                weight_decay: grp.weight_decay,
            };
            with_simd(level, || rule.update(t, &[sub], p, g, s));
        };
        if c >= p.len() {
            // One chunk: run here, without touching the rayon pool.
            let s = if slots == 1 {
                &mut state[r]
            } else {
                &mut [][..]
            };
            one(p, g, s);
            continue;
        }
        if slots == 1 {
            let s = &mut state[r];
            p.par_chunks_mut(c)
                .zip(g.par_chunks(c))
                .zip(s.par_chunks_mut(c))
                .for_each(|((p, g), s)| one(p, g, s));
        } else {
            p.par_chunks_mut(c)
                .zip(g.par_chunks(c))
                .for_each(|(p, g)| one(p, g, &mut []));
        }
    }
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

impl FusedRule for AdagradConfig {
    fn fused_update(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) {
        chunked(self, t, groups, params, grads, state);
    }
}

impl FusedRule for RmsPropConfig {
    fn fused_update(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) {
        chunked(self, t, groups, params, grads, state);
    }
}
