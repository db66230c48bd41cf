//! Full training steps (forward, backward, optimizer update) of the MLPs in the README, with
//! descent-core's scalar `Reference` ops and with descent-kernels' `Fast` ops: throughput in
//! samples per second (criterion's elem/s).
//!
//! `cargo bench -p descent-benches --bench train_step` (`TRAIN_BENCH_SECS`, default 2 s).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent_core::optim::{Optim, SgdConfig};
use descent_core::{Activation, Mlp, Ops, Reference, Task};
use descent_kernels::fused::step_fused;
use descent_kernels::Fast;
use std::hint::black_box;
use std::time::Duration;

struct Setup {
    model: Mlp,
    params: Vec<f32>,
    grad: Vec<f32>,
    scratch: Vec<f32>,
    x: Vec<f32>,
    labels: Vec<u32>,
    batch: usize,
}

fn setup(dims: &[usize], batch: usize) -> Setup {
    let model = Mlp::new(dims, Activation::Relu, true, Task::Classification).unwrap();
    let mut params = vec![0f32; model.num_params()];
    model.init(&mut params, 0).unwrap();
    let x: Vec<f32> = (0..batch * dims[0])
        .map(|i| ((i * 7919) % 256) as f32 / 255.0)
        .collect();
    let labels = (0..batch).map(|i| (i % 10) as u32).collect();
    Setup {
        grad: vec![0f32; params.len()],
        scratch: vec![0f32; model.scratch_len(batch)],
        model,
        params,
        x,
        labels,
        batch,
    }
}

fn step<O: Ops<f32>>(ops: &O, s: &mut Setup, opt: &mut Optim<f32, SgdConfig, Vec<f32>>) {
    let loss = s
        .model
        .loss_grad(
            ops,
            &s.params,
            &s.x,
            &s.labels,
            s.batch,
            &mut s.scratch,
            &mut s.grad,
        )
        .unwrap();
    black_box(loss);
    step_fused(opt, &mut s.params, &s.grad).unwrap();
}

fn bench(c: &mut Criterion) {
    let secs = std::env::var("TRAIN_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let mut g = c.benchmark_group("train_step");
    g.measurement_time(Duration::from_secs_f64(secs))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(10);
    for (name, dims, batch) in [
        ("784-100-10/b100", &[784usize, 100, 10][..], 100usize),
        ("784-512-512-10/b64", &[784, 512, 512, 10][..], 64),
    ] {
        g.throughput(Throughput::Elements(batch as u64));
        let cfg = SgdConfig::default().lr(0.01).momentum(0.9);
        let mut s = setup(dims, batch);
        let mut opt = Optim::owned(cfg, s.params.len()).unwrap();
        g.bench_with_input(BenchmarkId::new("fast", name), &(), |b, _| {
            b.iter(|| step(&Fast, &mut s, &mut opt))
        });
        let mut s = setup(dims, batch);
        let mut opt = Optim::owned(cfg, s.params.len()).unwrap();
        g.bench_with_input(BenchmarkId::new("reference", name), &(), |b, _| {
            b.iter(|| step(&Reference, &mut s, &mut opt))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
