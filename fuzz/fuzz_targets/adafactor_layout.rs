//! Adafactor with arbitrary tensor layouts, parameter groups, hyperparameters and values.
//!
//! Any shape list (vectors, matrices with any dimension up to 300, empty tensors, more than
//! `MAX_TENSORS`), any group split and any hyperparameters: construction either succeeds or
//! returns an error, never panics; a successful optimizer steps arbitrary parameters and
//! gradients (NaN, inf, zeros, huge) without panicking, and the fused step (descent-kernels,
//! on a 2-thread pool) stays bitwise equal to descent-core's, state included — except that
//! any NaN equals any NaN: Rust leaves the sign and payload of a NaN produced by arithmetic
//! unspecified, and the vectorized and scalar code of one formula do produce different ones
//! (0x7fc00000 and 0xffc00000 from an overflowing gradient, found by this target).
#![no_main]

use arbitrary::Arbitrary;
use descent_core::optim::{
    Adafactor, AdafactorConfig, GroupSpec, Optim, Optimizer, Shapes, TensorShape,
};
use descent_kernels::fused::step_fused;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    shapes: Vec<(bool, u16, u16)>,
    /// Group boundaries (element counts of the first groups; the last takes the rest).
    groups: Vec<u16>,
    lr: f64,
    beta2_decay: f64,
    eps1: Option<f64>,
    eps2: f64,
    d: f64,
    weight_decay: f64,
    maximize: bool,
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
                TensorShape::Matrix(a as usize % 301, b as usize % 301)
            } else {
                TensorShape::Vector(a as usize % 5000)
            }
        })
        .collect();
    let Ok(shapes) = Shapes::new(&shapes) else {
        return;
    };
    let n = shapes.numel();
    if n > 200_000 {
        return;
    }
    let mut specs = Vec::new();
    let mut used = 0usize;
    for &g in input.groups.iter().take(4) {
        let len = (g as usize).min(n - used);
        specs.push(GroupSpec::new(len));
        used += len;
    }
    specs.push(GroupSpec::new(n - used));
    let cfg = AdafactorConfig {
        lr: input.lr,
        beta2_decay: input.beta2_decay,
        eps: (input.eps1, input.eps2),
        d: input.d,
        weight_decay: input.weight_decay,
        maximize: input.maximize,
        shapes,
    };
    let Ok(mut core) = Adafactor::<f32, Vec<f32>>::owned_with_groups(cfg, &specs) else {
        return;
    };
    let mut fused: Adafactor<f32, Vec<f32>> = Optim::owned_with_groups(cfg, &specs).unwrap();
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
    for s in 0..(input.steps % 4) as usize + 1 {
        let g: Vec<f32> = (0..n).map(|i| vals[(i * 7 + s) % vals.len()]).collect();
        core.step(&mut pa, &g).unwrap();
        pool.install(|| step_fused(&mut fused, &mut pb, &g))
            .unwrap();
        assert!(pa.iter().zip(&pb).all(|(x, y)| same(*x, *y)));
        assert!(core
            .state()
            .iter()
            .zip(fused.state())
            .all(|(x, y)| same(*x, *y)));
    }
});
