//! Fused Adam / AdamW: one pass over `p, g, m, v (, vmax)` per step, vectorized and parallel.

use super::{chunk_len, simd_level, with_simd, SimdLevel};
use descent_core::optim::{AdamConfig, AdamStep, AdamWConfig, Group, Optim, Rule};
use descent_core::Result;
use rayon::prelude::*;

/// A core update rule that has a fused kernel: `fused_update` has [`Rule::update`]'s contract
/// and result (bitwise), and runs vectorized and in parallel.
pub trait FusedRule: Rule {
    /// Apply step `t` to every group, like [`Rule::update`].
    fn fused_update(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    );
}

/// One optimizer step through the fused kernel, on the optimizer's own state (so export,
/// import and resume are unchanged): `opt.step_with(params, grads, R::fused_update)`.
pub fn step_fused<R: FusedRule, S: AsRef<[f32]> + AsMut<[f32]>>(
    opt: &mut Optim<f32, R, S>,
    params: &mut [f32],
    grads: &[f32],
) -> Result<()> {
    opt.step_with(params, grads, |r, t, groups, p, g, s| {
        r.fused_update(t, groups, p, g, s)
    })
}

#[allow(clippy::too_many_arguments)]
fn adam_fused(
    t: u64,
    groups: &[Group],
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    betas: (f64, f64),
    eps: f64,
    amsgrad: bool,
    maximize: bool,
    decoupled: bool,
) {
    let n = params.len();
    let (m_all, rest) = state.split_at_mut(n);
    let (v_all, vmax_all) = rest.split_at_mut(n);
    for grp in groups {
        let r = grp.range();
        let step =
            AdamStep::<f32>::new(t, grp.lr, grp.weight_decay, betas, eps, maximize, decoupled);
        let vm = amsgrad.then(|| &mut vmax_all[r.clone()]);
        let (p, g) = (&mut params[r.clone()], &grads[r.clone()]);
        let (m, v) = (&mut m_all[r.clone()], &mut v_all[r]);
        run_adam(&step, p, g, m, v, vm);
    }
}

/// `step.apply(p, g, m, v, vmax)` (slices of one length), compiled for the CPU's widest
/// vectors and split into chunks on the rayon pool above [`PAR_THRESHOLD`](super::PAR_THRESHOLD)
/// elements; below it, on the calling thread without touching the pool.
pub(crate) fn run_adam(
    step: &AdamStep<f32>,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vmax: Option<&mut [f32]>,
) {
    let level = simd_level();
    let c = chunk_len(p.len());
    if c >= p.len() {
        apply_chunk(level, step, p, g, m, v, vmax);
        return;
    }
    let chunks = p
        .par_chunks_mut(c)
        .zip(g.par_chunks(c))
        .zip(m.par_chunks_mut(c))
        .zip(v.par_chunks_mut(c));
    match vmax {
        Some(vm) => chunks
            .zip(vm.par_chunks_mut(c))
            .for_each(|((((p, g), m), v), vm)| apply_chunk(level, step, p, g, m, v, Some(vm))),
        None => chunks.for_each(|(((p, g), m), v)| apply_chunk(level, step, p, g, m, v, None)),
    }
}

/// One chunk of [`run_adam`] on the calling thread: the hand-written AVX2 kernel (no IEEE
/// division, see [`adam_avx2`](super::adam_avx2)) on AVX2 machines, else the core loop compiled
/// for `level`. Both are bitwise equal to `step.apply`.
///
/// AVX-512 machines keep the auto-vectorized 16-lane loop: the AVX2 kernel has not been
/// measured on one (see BENCHMARKS.md).
#[inline]
fn apply_chunk(
    level: SimdLevel,
    step: &AdamStep<f32>,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vmax: Option<&mut [f32]>,
) {
    #[cfg(target_arch = "x86_64")]
    if level == SimdLevel::Avx2 {
        // SAFETY: `level` is `simd_level()`'s answer, which detected AVX2 and FMA.
        unsafe { super::adam_avx2::apply(step, p, g, m, v, vmax) };
        return;
    }
    with_simd(
        level,
        #[inline(always)]
        || step.apply(p, g, m, v, vmax),
    );
}

impl FusedRule for AdamConfig {
    fn fused_update(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) {
        adam_fused(
            t,
            groups,
            params,
            grads,
            state,
            self.betas,
            self.eps,
            self.amsgrad,
            self.maximize,
            false,
        );
    }
}

impl FusedRule for AdamWConfig {
    fn fused_update(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) {
        adam_fused(
            t,
            groups,
            params,
            grads,
            state,
            self.betas,
            self.eps,
            self.amsgrad,
            self.maximize,
            true,
        );
    }
}
