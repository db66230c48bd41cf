//! Full training steps (forward, backward, optimizer update) of the MLPs in the README, with
//! descent-core's scalar `Reference` ops and with descent-kernels' `Fast` ops: throughput in
//! samples per second (criterion's elem/s).
//!
//! Also one epoch of Fashion-MNIST (600 steps of batch 100 through the shuffling loader, with
//! the row gather), when `/usr/share/datasets/fashion-mnist` is installed.
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
    let secs = descent_benches::env_secs("TRAIN_BENCH_SECS", 2.0);
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
    fashion_epoch(c, secs);
}

fn fashion_epoch(c: &mut Criterion, secs: f64) {
    use descent_trainer::data::{load_named, LoadOptions, Targets};
    use descent_trainer::loader::{Loader, Sampling};
    let opts = LoadOptions {
        val_fraction: 0.0,
        ..Default::default()
    };
    let data = match load_named("fashion-mnist", &opts) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("skipping the Fashion-MNIST epoch bench: {e}");
            return;
        }
    };
    let train = data.train;
    let Targets::Labels { y, .. } = &train.targets else {
        return;
    };
    let batch = 100;
    let mut s = setup(&[784, 100, 10], batch);
    let cfg = SgdConfig::default().lr(0.1).momentum(0.9);
    let mut opt = Optim::owned(cfg, s.params.len()).unwrap();
    let mut loader = Loader::new(train.rows, batch, Sampling::Shuffle, true, 0).unwrap();
    let mut g = c.benchmark_group("fashion_mnist_epoch");
    g.measurement_time(Duration::from_secs_f64(secs.max(3.0)))
        .sample_size(10);
    g.throughput(Throughput::Elements(train.rows as u64));
    g.bench_function("784-100-10/b100/fast", |b| {
        b.iter(|| {
            for _ in 0..loader.batches_per_epoch() {
                let idx = loader.next_batch();
                s.x.clear();
                s.labels.clear();
                for &i in idx {
                    s.x.extend_from_slice(train.row(i));
                    s.labels.push(y[i]);
                }
                step(&Fast, &mut s, &mut opt);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
