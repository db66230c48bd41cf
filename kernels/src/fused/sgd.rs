//! Fused SGD: descent-core's [`SgdConfig`] update with every per-element branch of the core
//! loop (momentum, first step, Nesterov, weight decay, maximize) hoisted into the type, so
//! each combination compiles to a straight vector loop for the CPU's widest unit.
//!
//! The arithmetic is the core's, operation for operation (no FMA contraction; Rust never
//! contracts), so the result is bitwise equal to [`SgdConfig`]'s `Rule::update`:
//!
//! ```text
//! g  ← −g (maximize);  g ← g + wd·θ (wd ≠ 0)
//! b  ← g (first step) or b·momentum + (1 − dampening)·g
//! θ  ← θ + (−lr)·(g + momentum·b (nesterov) or b)        (with momentum)
//! θ  ← θ + (−lr)·g                                        (without)
//! ```

use super::{chunk_len, simd_level, with_simd, SimdLevel};
use descent_core::optim::{Group, SgdConfig};
use rayon::prelude::*;

/// The step's scalars, converted once as the core does (`T::from_f64`).
#[derive(Clone, Copy)]
struct Scalars {
    neg_lr: f32,
    wd: f32,
    mom: f32,
    damp1: f32,
}

/// The loop's flags: (momentum, first step, nesterov, weight decay, maximize).
type Flags = (bool, bool, bool, bool, bool);

/// Flags and scalars of step `t` for one group.
fn setup(cfg: &SgdConfig, t: u64, grp: &Group) -> (Flags, Scalars) {
    let flags = (
        cfg.momentum != 0.0,
        t == 1,
        cfg.nesterov,
        grp.weight_decay != 0.0,
        cfg.maximize,
    );
    let s = Scalars {
        neg_lr: -grp.lr as f32,
        wd: grp.weight_decay as f32,
        mom: cfg.momentum as f32,
        damp1: (1.0 - cfg.dampening) as f32,
    };
    (flags, s)
}

/// The element loop for one flag combination. `#[inline(always)]` so that it is compiled
/// inside [`with_simd`]'s target-feature function.
#[inline(always)]
fn body<const MOM: bool, const FIRST: bool, const NEST: bool, const WD: bool, const MAX: bool>(
    s: Scalars,
    p: &mut [f32],
    g: &[f32],
    b: &mut [f32],
) {
    let n = p.len();
    let g = &g[..n];
    if MOM {
        let b = &mut b[..n];
        for i in 0..n {
            let mut gi = if MAX { -g[i] } else { g[i] };
            if WD {
                gi += s.wd * p[i];
            }
            let bi = if FIRST {
                gi
            } else {
                b[i] * s.mom + s.damp1 * gi
            };
            b[i] = bi;
            let d = if NEST { gi + s.mom * bi } else { bi };
            p[i] += s.neg_lr * d;
        }
    } else {
        for i in 0..n {
            let mut gi = if MAX { -g[i] } else { g[i] };
            if WD {
                gi += s.wd * p[i];
            }
            p[i] += s.neg_lr * gi;
        }
    }
}

/// Dispatch the flag combination (all branches are decided here, once per chunk).
#[inline(always)]
fn apply(flags: Flags, s: Scalars, p: &mut [f32], g: &[f32], b: &mut [f32]) {
    macro_rules! go {
        ($mom:literal, $first:literal, $nest:literal) => {
            match (flags.3, flags.4) {
                (false, false) => body::<$mom, $first, $nest, false, false>(s, p, g, b),
                (true, false) => body::<$mom, $first, $nest, true, false>(s, p, g, b),
                (false, true) => body::<$mom, $first, $nest, false, true>(s, p, g, b),
                (true, true) => body::<$mom, $first, $nest, true, true>(s, p, g, b),
            }
        };
    }
    match (flags.0, flags.1, flags.2) {
        (false, _, _) => go!(false, false, false),
        (true, true, false) => go!(true, true, false),
        (true, true, true) => go!(true, true, true),
        (true, false, false) => go!(true, false, false),
        (true, false, true) => go!(true, false, true),
    }
}

/// One chunk at `level`.
fn run(level: SimdLevel, flags: Flags, s: Scalars, p: &mut [f32], g: &[f32], b: &mut [f32]) {
    with_simd(
        level,
        #[inline(always)]
        || apply(flags, s, p, g, b),
    );
}

/// `SgdConfig`'s update of step `t` over `groups` (state: the momentum buffer when
/// momentum ≠ 0), chunked over the rayon pool above [`PAR_THRESHOLD`](super::PAR_THRESHOLD).
pub(crate) fn sgd_update(
    cfg: &SgdConfig,
    t: u64,
    groups: &[Group],
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) {
    let level = simd_level();
    let mom = cfg.momentum != 0.0;
    for grp in groups {
        let r = grp.range();
        let (flags, s) = setup(cfg, t, grp);
        let (p, g) = (&mut params[r.clone()], &grads[r.clone()]);
        let c = chunk_len(p.len());
        let s_buf: &mut [f32] = if mom { &mut state[r] } else { &mut [] };
        if c >= p.len() {
            run(level, flags, s, p, g, s_buf);
        } else if mom {
            p.par_chunks_mut(c)
                .zip(g.par_chunks(c))
                .zip(s_buf.par_chunks_mut(c))
                .for_each(|((p, g), b)| run(level, flags, s, p, g, b));
        } else {
            p.par_chunks_mut(c)
                .zip(g.par_chunks(c))
                .for_each(|(p, g)| run(level, flags, s, p, g, &mut []));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use descent_core::optim::Rule;

    /// Every flag combination, on special values, at every SIMD level this CPU has: bitwise
    /// equal to the core rule (a NaN only has to be a NaN: LLVM may commute the operands of a
    /// product, which picks the other NaN's sign and payload).
    #[test]
    fn every_flag_combination_matches_core_on_special_values() {
        let specials = [
            0.0f32,
            -0.0,
            1.0,
            -2.5,
            f32::MIN_POSITIVE / 8.0,
            1e30,
            -1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            3.0e-5,
            7.0,
        ];
        let n = 37;
        let p0: Vec<f32> = (0..n).map(|i| specials[i % specials.len()]).collect();
        let g: Vec<f32> = (0..n)
            .map(|i| specials[(i * 5 + 3) % specials.len()])
            .collect();
        let b0: Vec<f32> = (0..n)
            .map(|i| specials[(i * 7 + 1) % specials.len()])
            .collect();
        let mut levels = vec![SimdLevel::Baseline];
        if simd_level() != SimdLevel::Baseline {
            levels.push(simd_level());
        }
        for bits in 0u32..64 {
            let momentum = if bits & 1 != 0 { 0.9 } else { 0.0 };
            let nesterov = bits & 2 != 0 && momentum != 0.0;
            let cfg = SgdConfig::default()
                .lr(0.1)
                .momentum(momentum)
                .nesterov(nesterov)
                .dampening(if bits & 4 != 0 && !nesterov {
                    0.25
                } else {
                    0.0
                })
                .maximize(bits & 8 != 0);
            let t = if bits & 16 != 0 { 1 } else { 3 };
            let wd = if bits & 32 != 0 { 1e-2 } else { 0.0 };
            let grp = [Group {
                start: 0,
                len: n,
                lr: 0.1,
                weight_decay: wd,
            }];
            let (mut pc, mut bc) = (p0.clone(), b0.clone());
            let sc: &mut [f32] = if momentum != 0.0 { &mut bc } else { &mut [] };
            cfg.update(t, &grp, &mut pc, &g, sc);
            for &level in &levels {
                let (mut pf, mut bf) = (p0.clone(), b0.clone());
                let (flags, s) = setup(&cfg, t, &grp[0]);
                run(level, flags, s, &mut pf, &g, &mut bf);
                let same = |x: &[f32], y: &[f32]| {
                    x.iter()
                        .zip(y)
                        .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
                };
                assert!(same(&pc, &pf), "params differ: flags {bits:06b}, {level:?}");
                if momentum != 0.0 {
                    assert!(
                        same(&bc, &bf),
                        "buffer differs: flags {bits:06b}, {level:?}"
                    );
                }
            }
        }
    }
}
