//! SGEMM throughput: descent-kernels vs matrixmultiply vs gemm, side by side per shape.
//!
//! Throughput is reported in elements = flops (`2 m n k`), so criterion's `Gelem/s` reads as
//! GFLOP/s. Threads follow the global rayon pool (`RAYON_NUM_THREADS=1` for one core); the
//! gemm crate is given the same thread count, matrixmultiply is built without its threading
//! feature and always runs on one core.
//!
//! Shapes: squares 64..2048 and the MLP layers 784 -> 100 -> 10 at batch 100 and 1000:
//! forward `Y = X W^T` (`transb`), backward `dX = dY W` and `dW = dY^T X` (`transa`).
//! Names read `MxKxN` plus `-tA` / `-tB` for a transposed operand.
//!
//! Quick run: `cargo bench -p descent-benches --bench sgemm -- --quick` or a filter such
//! as `-- 1024x`; `SGEMM_BENCH_SECS` sets the measurement time (default 1 s).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent_benches::{shapes, Lib, Operands};

fn bench_sgemm(c: &mut Criterion) {
    let secs = descent_benches::env_secs("SGEMM_BENCH_SECS", 1.0);
    let threads = rayon::current_num_threads();
    for sh in shapes() {
        let mut ops = Operands::new(sh);
        let mut g = c.benchmark_group(format!("sgemm/{}", sh.label()));
        g.throughput(Throughput::Elements(ops.flops() as u64))
            .sample_size(20)
            .warm_up_time(Duration::from_secs_f64(secs / 2.0))
            .measurement_time(Duration::from_secs_f64(secs));
        for lib in Lib::ALL {
            g.bench_function(BenchmarkId::from_parameter(lib.name()), |bch| {
                bch.iter(|| ops.run(lib, threads))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench_sgemm);
criterion_main!(benches);
