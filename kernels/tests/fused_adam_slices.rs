//! `fused::adam_step` (plain slices) against (1) an independent scalar f32 loop of PyTorch's
//! `_single_tensor_adam` formula, within stated tolerances, and (2) descent-core's Adam /
//! AdamW optimizer, bitwise (same element formula on the same state layout).

use descent_core::optim::{AdamConfig, AdamWConfig, Optim, Optimizer};
use descent_kernels::fused::{adam_step, AdamParams, PAR_THRESHOLD};
use proptest::prelude::*;

fn vals(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// PyTorch's single-tensor Adam/AdamW, written out independently, element by element, in
/// f32 with the scalar coefficients in f64 (as torch's Python floats).
#[allow(clippy::too_many_arguments)]
fn torch_adam(
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vmax: Option<&mut [f32]>,
    hp: &AdamParams,
    t: u64,
) {
    let (b1, b2) = hp.betas;
    let bc1 = 1.0 - b1.powi(t as i32);
    let bc2_sqrt = (1.0 - b2.powi(t as i32)).sqrt() as f32;
    let step_size = (hp.lr / bc1) as f32;
    let mut vmax = vmax;
    for i in 0..p.len() {
        let mut gi = if hp.maximize { -g[i] } else { g[i] };
        if hp.decoupled {
            p[i] *= (1.0 - hp.lr * hp.weight_decay) as f32;
        } else if hp.weight_decay != 0.0 {
            gi += hp.weight_decay as f32 * p[i];
        }
        // exp_avg.lerp_(grad, 1 - beta1): torch's lerp for weight < 0.5 is start + w (end - start).
        let w = (1.0 - b1) as f32;
        m[i] = if w < 0.5 {
            m[i] + w * (gi - m[i])
        } else {
            gi - (gi - m[i]) * (1.0 - w)
        };
        // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value = 1 - beta2)
        v[i] = v[i] * b2 as f32 + (1.0 - b2) as f32 * gi * gi;
        let vv = match vmax.as_deref_mut() {
            Some(vm) => {
                vm[i] = vm[i].max(v[i]);
                vm[i]
            }
            None => v[i],
        };
        let denom = vv.sqrt() / bc2_sqrt + hp.eps as f32;
        p[i] -= step_size * m[i] / denom;
    }
}

fn lens() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(2),
        Just(15),
        Just(17),
        Just(31),
        Just(97),
        0usize..300,
        Just(PAR_THRESHOLD + 17)
    ]
}

fn close(a: &[f32], b: &[f32], rel: f32, abs: f32, what: &str) -> Result<(), TestCaseError> {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        prop_assert!(
            (x - y).abs() <= abs + rel * x.abs().max(y.abs()),
            "{what}[{i}]: fused {x} vs torch loop {y}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Tolerances after 5 steps: moments 1e-5 relative + 1e-9 absolute (|g| <= 0.5; the loops
    /// may differ by FMA contraction and coefficient rounding, a few ulp per step), parameters
    /// 1e-6 relative + 1e-6 absolute (the update itself is lr-sized).
    #[test]
    fn adam_step_matches_torch_formula(
        n in lens(),
        amsgrad in any::<bool>(),
        maximize in any::<bool>(),
        decoupled in any::<bool>(),
        wd in prop_oneof![Just(0.0), Just(0.01)],
        lr in prop_oneof![Just(1e-3), Just(3e-2)],
        seed in any::<u64>(),
    ) {
        let hp = AdamParams { lr, weight_decay: wd, maximize, decoupled, ..AdamParams::default() };
        let mut pa = vals(seed, n, 1.0);
        let mut pb = pa.clone();
        let (mut ma, mut va, mut xa) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        let (mut mb, mut vb, mut xb) = (ma.clone(), va.clone(), xa.clone());
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for t in 1..=5u64 {
            let g = vals(seed.wrapping_add(t), n, 0.5);
            pool.install(|| {
                adam_step(&mut pa, &g, &mut ma, &mut va, amsgrad.then_some(&mut xa[..]), &hp, t)
            })
            .unwrap();
            torch_adam(&mut pb, &g, &mut mb, &mut vb, amsgrad.then_some(&mut xb[..]), &hp, t);
        }
        close(&ma, &mb, 1e-5, 1e-9, "m")?;
        close(&va, &vb, 1e-5, 1e-9, "v")?;
        close(&xa, &xb, 1e-5, 1e-9, "vmax")?;
        close(&pa, &pb, 1e-6, 1e-6, "p")?;
    }

    /// The slice API and core's Adam / AdamW (one group, state `[m | v | vmax]`) agree bitwise.
    #[test]
    fn adam_step_is_bitwise_core(
        n in lens(),
        amsgrad in any::<bool>(),
        decoupled in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let hp = AdamParams { lr: 0.01, weight_decay: 0.02, decoupled, ..AdamParams::default() };
        let mut core_p = vals(seed, n, 1.0);
        let mut p = core_p.clone();
        let mut state = vec![0f32; n * (2 + usize::from(amsgrad))];
        let mut adam = Optim::<f32, _, Vec<f32>>::owned(
            AdamConfig::default().lr(0.01).weight_decay(0.02).amsgrad(amsgrad), n).unwrap();
        let mut adamw = Optim::<f32, _, Vec<f32>>::owned(
            AdamWConfig::default().lr(0.01).weight_decay(0.02).amsgrad(amsgrad), n).unwrap();
        for t in 1..=4u64 {
            let g = vals(seed ^ t, n, 0.5);
            let (m, rest) = state.split_at_mut(n);
            let (v, vmax) = rest.split_at_mut(n);
            adam_step(&mut p, &g, m, v, amsgrad.then_some(vmax), &hp, t).unwrap();
            if decoupled {
                adamw.step(&mut core_p, &g).unwrap();
            } else {
                adam.step(&mut core_p, &g).unwrap();
            }
            let core_state = if decoupled { adamw.state() } else { adam.state() };
            prop_assert!(p.iter().zip(&core_p).all(|(a, b)| a.to_bits() == b.to_bits()), "params differ at step {}", t);
            prop_assert!(state.iter().zip(core_state).all(|(a, b)| a.to_bits() == b.to_bits()), "state differs at step {}", t);
        }
    }
}
