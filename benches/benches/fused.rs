//! Fused optimizer updates (descent-kernels) vs descent-core's scalar reference step, from 1e3
//! to 1e7 parameters, plus the Adam-pattern streaming bandwidth they are bounded by.
//!
//! Throughput is in bytes (28 per parameter for Adam: read p, g, m, v; write p, m, v; 12 for
//! SGD with momentum: read p, g, b; write p, b... counted as 20), so criterion's GB/s is the
//! achieved bandwidth. Threads follow the global rayon pool (`RAYON_NUM_THREADS`).
//!
//! Groups `nadam`, `radam`, `adamax`, `adadelta`, `rprop`, `asgd` and
//! `rmsprop_centered_momentum` compare the other element-wise rules the same way (`core` /
//! `fused`).
//!
//! Groups `average_swa` and `average_ema` compare `WeightAverage::update` (`core`) with
//! `fused::average_update` (`fused`): read the average and the parameters, write the average
//! (12 bytes per parameter).
//!
//! Group `muon` times a Muon step on an MLP's weight matrices (`[out, in]`, the biases go to
//! AdamW): descent-core's scalar products (`core`, the 784-100-10 weights only) against
//! SGEMM's (`fused`), in PyTorch's bfloat16 iteration and natively. Its throughput counts
//! the Newton–Schulz flops (per iteration on an `m x k` matrix, `m <= k`: `4 m² k + 2 m³`),
//! so criterion's "elem/s" is flop/s.
//!
//! `slices` is `fused::adam_step` on plain buffers; `stream` moves the same bytes with no
//! arithmetic (`peak::move_chunk`, AVX2 where available), split over the pool like the fused
//! update.
//!
//! `cargo bench -p descent-benches --bench fused` (`FUSED_BENCH_SECS` sets the measurement
//! time, default 1 s).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent_core::optim::{
    AdadeltaConfig, AdafactorConfig, AdamConfig, AdamaxConfig, AsgdConfig, Averaging, MuonConfig,
    NAdamConfig, NsPrecision, Optim, Optimizer, RAdamConfig, RmsPropConfig, RpropConfig, SgdConfig,
    Shapes, TensorShape, WeightAverage,
};
use descent_kernels::fused::{adam_step, average_update, step_fused, AdamParams, FusedRule};
use descent_kernels::peak::move_chunk;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Duration;

fn secs() -> Duration {
    Duration::from_secs_f64(descent_benches::env_secs("FUSED_BENCH_SECS", 1.0))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("adam");
    g.measurement_time(secs())
        .warm_up_time(Duration::from_millis(300))
        .sample_size(10);
    for n in [1_000usize, 10_000, 100_000, 1_000_000, 10_000_000] {
        g.throughput(Throughput::Bytes(28 * n as u64));
        let grads: Vec<f32> = (0..n).map(|i| ((i % 113) as f32 - 56.0) * 1e-3).collect();
        let mut p = vec![0.1f32; n];
        let mut core = Optim::<f32, _, Vec<f32>>::owned(AdamConfig::default(), n).unwrap();
        g.bench_with_input(BenchmarkId::new("core", n), &n, |b, _| {
            b.iter(|| core.step(black_box(&mut p), black_box(&grads)).unwrap())
        });
        let mut fused = Optim::<f32, _, Vec<f32>>::owned(AdamConfig::default(), n).unwrap();
        g.bench_with_input(BenchmarkId::new("fused", n), &n, |b, _| {
            b.iter(|| step_fused(&mut fused, black_box(&mut p), black_box(&grads)).unwrap())
        });
        // The plain-slice API on its own buffers (same kernel, no optimizer wrapper).
        let (mut sm, mut sv) = (vec![0f32; n], vec![0f32; n]);
        let hp = AdamParams::default();
        let mut t = 0u64;
        g.bench_with_input(BenchmarkId::new("slices", n), &n, |b, _| {
            b.iter(|| {
                t += 1;
                adam_step(
                    black_box(&mut p),
                    black_box(&grads),
                    &mut sm,
                    &mut sv,
                    None,
                    &hp,
                    t,
                )
                .unwrap()
            })
        });
        // The same bytes with no arithmetic (read p, g, m, v; write p, m, v), split over the
        // rayon pool like the fused update: the ceiling for the update on this many threads.
        let (mut m, mut v) = (vec![0f32; n], vec![0f32; n]);
        let threads = rayon::current_num_threads();
        let chunk = if n < (1 << 16) || threads == 1 {
            n
        } else {
            n.div_ceil(4 * threads)
        };
        g.bench_with_input(BenchmarkId::new("stream", n), &n, |b, _| {
            b.iter(|| {
                p.par_chunks_mut(chunk)
                    .zip(grads.par_chunks(chunk))
                    .zip(m.par_chunks_mut(chunk))
                    .zip(v.par_chunks_mut(chunk))
                    .for_each(|(((p, g), m), v)| move_chunk(p, g, m, v));
                black_box(&mut p);
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sgd_momentum");
    g.measurement_time(secs())
        .warm_up_time(Duration::from_millis(300))
        .sample_size(10);
    for n in [1_000usize, 100_000, 669_706, 10_000_000] {
        g.throughput(Throughput::Bytes(20 * n as u64));
        let grads = vec![1e-3f32; n];
        let mut p = vec![0.1f32; n];
        let cfg = SgdConfig::default().lr(0.01).momentum(0.9);
        let mut core = Optim::<f32, _, Vec<f32>>::owned(cfg, n).unwrap();
        g.bench_with_input(BenchmarkId::new("core", n), &n, |b, _| {
            b.iter(|| core.step(black_box(&mut p), black_box(&grads)).unwrap())
        });
        let mut fused = Optim::<f32, _, Vec<f32>>::owned(cfg, n).unwrap();
        g.bench_with_input(BenchmarkId::new("fused", n), &n, |b, _| {
            b.iter(|| step_fused(&mut fused, black_box(&mut p), black_box(&grads)).unwrap())
        });
    }
    g.finish();
}

/// The other element-wise rules: descent-core's step (`core`, the build's baseline vectors
/// on the calling thread) against the fused kernel (`fused`), on the optimizer's own state.
/// Bytes: read p, g and each slot, write p and each slot.
fn others(c: &mut Criterion) {
    fn one<R: FusedRule>(c: &mut Criterion, name: &str, cfg: R) {
        let mut g = c.benchmark_group(name);
        g.measurement_time(secs())
            .warm_up_time(Duration::from_millis(300))
            .sample_size(10);
        for n in [100_000usize, 1_000_000, 10_000_000] {
            core_and_fused(&mut g, cfg, n, 4 * (3 + 2 * cfg.slots()));
        }
        g.finish();
    }
    one(c, "nadam", NAdamConfig::default());
    one(c, "radam", RAdamConfig::default());
    one(c, "adamax", AdamaxConfig::default());
    one(c, "adadelta", AdadeltaConfig::default());
    one(c, "rprop", RpropConfig::default());
    // Averaging from the first step (μ < 1 from step 3): the slot is read and written.
    one(c, "asgd", AsgdConfig::default().t0(1.0));
    one(
        c,
        "rmsprop_centered_momentum",
        RmsPropConfig::default().momentum(0.9).centered(true),
    );
}

/// `core` (descent-core's step) and `fused` (`step_fused`) of `cfg` on `n` parameters, each
/// on its own optimizer state; `bytes` per parameter for the throughput.
fn core_and_fused<R: FusedRule>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    cfg: R,
    n: usize,
    bytes: usize,
) {
    g.throughput(Throughput::Bytes((bytes * n) as u64));
    let grads: Vec<f32> = (0..n).map(|i| ((i % 113) as f32 - 56.0) * 1e-3).collect();
    let mut p = vec![0.1f32; n];
    let mut core = Optim::<f32, _, Vec<f32>>::owned(cfg, n).unwrap();
    g.bench_with_input(BenchmarkId::new("core", n), &n, |b, _| {
        b.iter(|| core.step(black_box(&mut p), black_box(&grads)).unwrap())
    });
    let mut fused = Optim::<f32, _, Vec<f32>>::owned(cfg, n).unwrap();
    g.bench_with_input(BenchmarkId::new("fused", n), &n, |b, _| {
        b.iter(|| step_fused(&mut fused, black_box(&mut p), black_box(&grads)).unwrap())
    });
}

/// Adafactor on the 784-512-512-10 MLP's tensors (each weight `[out, in]` factored, the
/// biases not; 669,706 parameters): descent-core's step against the fused one (rayon parts,
/// widest vectors). Bytes: read p and g, write p (the factored state is small).
fn adafactor(c: &mut Criterion) {
    let mut g = c.benchmark_group("adafactor");
    g.measurement_time(secs())
        .warm_up_time(Duration::from_millis(300))
        .sample_size(10);
    let mut shapes = Vec::new();
    for (i, o) in [(784, 512), (512, 512), (512, 10)] {
        shapes.push(TensorShape::Matrix(o, i));
        shapes.push(TensorShape::Vector(o));
    }
    let cfg = AdafactorConfig::default().shapes(Shapes::new(&shapes).unwrap());
    let n: usize = shapes.iter().map(|s| s.numel()).sum();
    core_and_fused(&mut g, cfg, n, 12);
    g.finish();
}

/// The parameters' running average (`--average`): descent-core's `WeightAverage::update`
/// against descent-kernels' `average_update`, past the first (copying) update.
fn average(c: &mut Criterion) {
    for (name, rule) in [
        ("average_swa", Averaging::Swa),
        ("average_ema", Averaging::Ema { decay: 0.999 }),
    ] {
        let mut g = c.benchmark_group(name);
        g.measurement_time(secs())
            .warm_up_time(Duration::from_millis(300))
            .sample_size(10);
        for n in [100_000usize, 1_000_000, 10_000_000] {
            g.throughput(Throughput::Bytes(12 * n as u64));
            let p: Vec<f32> = (0..n).map(|i| ((i % 113) as f32 - 56.0) * 1e-3).collect();
            let mut a = p.clone();
            let mut core = WeightAverage::with_n_averaged(rule, 1).unwrap();
            g.bench_with_input(BenchmarkId::new("core", n), &n, |b, _| {
                b.iter(|| core.update(black_box(&mut a), black_box(&p)).unwrap())
            });
            let mut fast = WeightAverage::with_n_averaged(rule, 1).unwrap();
            g.bench_with_input(BenchmarkId::new("fused", n), &n, |b, _| {
                b.iter(|| average_update(&mut fast, black_box(&mut a), black_box(&p)).unwrap())
            });
        }
        g.finish();
    }
}

/// Muon on the weights of the 784-100-10 and 784-512-512-10 MLPs (see the module docs).
fn muon(c: &mut Criterion) {
    let mut g = c.benchmark_group("muon");
    g.measurement_time(secs())
        .warm_up_time(Duration::from_millis(300))
        .sample_size(10);
    for (name, layers) in [
        ("784-100-10", &[(784usize, 100usize), (100, 10)][..]),
        ("784-512-512-10", &[(784, 512), (512, 512), (512, 10)][..]),
    ] {
        let shapes: Vec<TensorShape> = layers
            .iter()
            .map(|&(i, o)| TensorShape::Matrix(o, i))
            .collect();
        let n: usize = shapes.iter().map(|s| s.numel()).sum();
        let cfg = MuonConfig::default().shapes(Shapes::new(&shapes).unwrap());
        let flops: usize = layers
            .iter()
            .map(|&(i, o)| {
                let (m, k) = (i.min(o), i.max(o));
                cfg.ns_steps as usize * (4 * m * m * k + 2 * m * m * m)
            })
            .sum();
        g.throughput(Throughput::Elements(flops as u64));
        let grads: Vec<f32> = (0..n).map(|i| ((i % 113) as f32 - 56.0) * 1e-3).collect();
        let mut p = vec![0.1f32; n];
        for (prec, tag) in [(NsPrecision::Bf16, "bf16"), (NsPrecision::Native, "native")] {
            let cfg = cfg.ns_precision(prec);
            if name == "784-100-10" {
                let mut core = Optim::<f32, _, Vec<f32>>::owned(cfg, n).unwrap();
                g.bench_with_input(BenchmarkId::new(format!("core_{tag}"), name), &n, |b, _| {
                    b.iter(|| core.step(black_box(&mut p), black_box(&grads)).unwrap())
                });
            }
            let mut fused = Optim::<f32, _, Vec<f32>>::owned(cfg, n).unwrap();
            g.bench_with_input(
                BenchmarkId::new(format!("fused_{tag}"), name),
                &n,
                |b, _| {
                    b.iter(|| step_fused(&mut fused, black_box(&mut p), black_box(&grads)).unwrap())
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench, others, adafactor, average, muon);
criterion_main!(benches);
