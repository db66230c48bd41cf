//! Muon with arbitrary matrix layouts, parameter groups, hyperparameters and values.
//!
//! Any shape list (matrices with sides up to 80, vectors, empty tensors, more than
//! `MAX_TENSORS`), any group split and any hyperparameters (NaN, infinite and negative ones
//! included): construction either succeeds or returns an error, never panics. A successful
//! optimizer steps arbitrary parameters and gradients (NaN, inf, zeros, huge) through
//! descent-core's reference products and through descent-kernels' SGEMM (on a 2-thread pool)
//! without panicking; the momentum buffers of the two stay bitwise equal (any NaN equals any
//! NaN: the sign and payload of a NaN from arithmetic are unspecified), and the state exports,
//! imports into a fresh optimizer and re-exports byte for byte.
#![no_main]

use arbitrary::Arbitrary;
use descent_core::optim::{
    AdjustLr, GroupSpec, Muon, MuonConfig, NsPrecision, Optim, Optimizer, Shapes, TensorShape,
};
use descent_kernels::fused::step_fused;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    shapes: Vec<(bool, u8, u8)>,
    /// Group boundaries (element counts of the first groups; the last takes the rest).
    groups: Vec<u16>,
    lr: f64,
    weight_decay: f64,
    momentum: f64,
    nesterov: bool,
    coefficients: (f64, f64, f64),
    eps: f64,
    ns_steps: u8,
    adjust: u8,
    bf16: bool,
    /// Values cycled into the parameters and gradients.
    values: Vec<f32>,
    steps: u8,
}

/// Equal bits, or both NaN.
fn same(x: f32, y: f32) -> bool {
    x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
}

fuzz_target!(|input: Input| {
    let shapes: Vec<TensorShape> = input
        .shapes
        .iter()
        .take(40)
        .map(|&(m, a, b)| {
            if m {
                TensorShape::Matrix(a as usize % 81, b as usize % 81)
            } else {
                TensorShape::Vector(a as usize)
            }
        })
        .collect();
    let Ok(shapes) = Shapes::new(&shapes) else {
        return;
    };
    let n = shapes.numel();
    let mut specs = Vec::new();
    let mut used = 0usize;
    for &g in input.groups.iter().take(4) {
        let len = (g as usize).min(n - used);
        specs.push(GroupSpec::new(len));
        used += len;
    }
    specs.push(GroupSpec::new(n - used));
    let cfg = MuonConfig {
        lr: input.lr,
        weight_decay: input.weight_decay,
        momentum: input.momentum,
        nesterov: input.nesterov,
        ns_coefficients: input.coefficients,
        eps: input.eps,
        ns_steps: u32::from(input.ns_steps % 12),
        adjust_lr_fn: match input.adjust % 3 {
            0 => AdjustLr::Original,
            1 => AdjustLr::MatchRmsAdamW,
            _ => AdjustLr::SpectralUnclamped,
        },
        ns_precision: if input.bf16 {
            NsPrecision::Bf16
        } else {
            NsPrecision::Native
        },
        shapes,
    };
    let Ok(mut core) = Muon::<f32, Vec<f32>>::owned_with_groups(cfg, &specs) else {
        return;
    };
    let mut fused: Muon<f32, Vec<f32>> = Optim::owned_with_groups(cfg, &specs).unwrap();
    let vals: &[f32] = if input.values.is_empty() {
        &[0.5, -1.0, 0.0, 2.0]
    } else {
        &input.values
    };
    let mut pa: Vec<f32> = (0..n).map(|i| vals[i % vals.len()]).collect();
    let mut pb = pa.clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for s in 0..(input.steps % 3) as usize + 1 {
        let g: Vec<f32> = (0..n).map(|i| vals[(i * 7 + s) % vals.len()]).collect();
        core.step(&mut pa, &g).unwrap();
        pool.install(|| step_fused(&mut fused, &mut pb, &g))
            .unwrap();
        assert!(core
            .state()
            .iter()
            .zip(fused.state())
            .all(|(x, y)| same(*x, *y)));
    }
    let mut bytes = vec![0u8; core.state_bytes_len()];
    assert_eq!(core.export_state(&mut bytes).unwrap(), bytes.len());
    let mut fresh = Muon::<f32, Vec<f32>>::owned_with_groups(cfg, &specs).unwrap();
    fresh.import_state(&bytes).unwrap();
    let mut again = vec![0u8; fresh.state_bytes_len()];
    fresh.export_state(&mut again).unwrap();
    assert_eq!(bytes, again);
});
