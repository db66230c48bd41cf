//! The losses' reductions: descent-core's cascade summation against a running sum, alone and
//! inside `MSELoss` / `CrossEntropyLoss` forward + backward, at 10⁴ to 10⁶ elements (f32).
//!
//! `reduce/naive` is `fold(0.0, +)`, the running sum the losses used before; `reduce/cascade`
//! is `descent_core::sum::cascade_sum`; throughput in elements. Both are scalar: a strict
//! f32 sum cannot be vectorized without changing its result.
//!
//! `cargo bench -p descent-benches --bench losses` (`LOSSES_BENCH_SECS` sets the measurement
//! time, default 1 s).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent_core::loss::{CrossEntropyLoss, MSELoss, Reduction};
use descent_core::sum::cascade_sum;
use std::hint::black_box;
use std::time::Duration;

fn secs() -> Duration {
    Duration::from_secs_f64(descent_benches::env_secs("LOSSES_BENCH_SECS", 1.0))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("reduce");
    g.measurement_time(secs())
        .warm_up_time(Duration::from_millis(300))
        .sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000] {
        g.throughput(Throughput::Elements(n as u64));
        let x: Vec<f32> = (0..n).map(|i| ((i % 97) as f32) * 0.01).collect();
        g.bench_with_input(BenchmarkId::new("naive", n), &x, |b, x| {
            b.iter(|| black_box(x).iter().fold(0.0f32, |s, &v| s + v))
        });
        g.bench_with_input(BenchmarkId::new("cascade", n), &x, |b, x| {
            b.iter(|| cascade_sum(black_box(x).iter().copied()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("loss_forward_backward");
    g.measurement_time(secs())
        .warm_up_time(Duration::from_millis(300))
        .sample_size(10);
    for n in [10_000usize, 1_000_000] {
        g.throughput(Throughput::Elements(n as u64));
        let x: Vec<f32> = (0..n).map(|i| ((i % 97) as f32) * 0.01).collect();
        let y: Vec<f32> = (0..n).map(|i| ((i % 89) as f32) * 0.01).collect();
        let mut grad = vec![0.0f32; n];
        let mse = MSELoss::new(Reduction::Mean);
        g.bench_function(BenchmarkId::new("mse", n), |b| {
            b.iter(|| {
                mse.forward_backward(black_box(&x), &y, &mut [], &mut grad)
                    .unwrap()
            })
        });
        // n logits as n / 10 rows of 10 classes.
        let rows = n / 10;
        let labels: Vec<i64> = (0..rows).map(|i| (i % 10) as i64).collect();
        let ce = CrossEntropyLoss::new(None, -100, Reduction::Mean, 0.0);
        g.bench_function(BenchmarkId::new("cross_entropy", n), |b| {
            b.iter(|| {
                ce.forward_backward(black_box(&x), &labels, 10, &mut [], &mut grad)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
