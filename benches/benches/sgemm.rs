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

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// One benchmarked product.
struct Shape {
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
}

impl Shape {
    fn label(&self) -> String {
        let mut s = format!("{}x{}x{}", self.m, self.k, self.n);
        if self.ta {
            s.push_str("-tA");
        }
        if self.tb {
            s.push_str("-tB");
        }
        s
    }
}

fn shapes() -> Vec<Shape> {
    let sq = |d| Shape {
        m: d,
        k: d,
        n: d,
        ta: false,
        tb: false,
    };
    let mut v: Vec<Shape> = [64, 128, 256, 512, 1024, 2048]
        .into_iter()
        .map(sq)
        .collect();
    for batch in [100, 1000] {
        for (fan_in, fan_out) in [(784, 100), (100, 10)] {
            // forward Y[b, out] = X[b, in] W[out, in]^T
            v.push(Shape {
                m: batch,
                k: fan_in,
                n: fan_out,
                ta: false,
                tb: true,
            });
            // backward dX[b, in] = dY[b, out] W[out, in]
            v.push(Shape {
                m: batch,
                k: fan_out,
                n: fan_in,
                ta: false,
                tb: false,
            });
            // backward dW[out, in] = dY[b, out]^T X[b, in]
            v.push(Shape {
                m: fan_out,
                k: batch,
                n: fan_in,
                ta: true,
                tb: false,
            });
        }
    }
    // The 784-512-512-10 MLP at batch 16 (the lectures' second recipe).
    for (fan_in, fan_out) in [(784, 512), (512, 512)] {
        v.push(Shape {
            m: 16,
            k: fan_in,
            n: fan_out,
            ta: false,
            tb: true,
        });
        v.push(Shape {
            m: fan_out,
            k: 16,
            n: fan_in,
            ta: true,
            tb: false,
        });
    }
    v.push(Shape {
        m: 16,
        k: 512,
        n: 512,
        ta: false,
        tb: false,
    });
    // Its evaluation forward (`descent train` evaluates in chunks of 512 rows).
    for fan_in in [784, 512] {
        v.push(Shape {
            m: 512,
            k: fan_in,
            n: 512,
            ta: false,
            tb: true,
        });
    }
    v
}

/// Deterministic inputs in [-1, 1).
fn fill(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn bench_sgemm(c: &mut Criterion) {
    let secs: f64 = std::env::var("SGEMM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let threads = rayon::current_num_threads();
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    for sh in shapes() {
        let Shape { m, k, n, ta, tb } = sh;
        let a = fill(m * k, 1);
        let b = fill(k * n, 2);
        let mut out = vec![0.0f32; m * n];
        let lda = if ta { m } else { k };
        let ldb = if tb { k } else { n };
        // Element strides of op(A) (m x k) and op(B) (k x n) for the strided APIs.
        let (rsa, csa) = if ta {
            (1, lda as isize)
        } else {
            (lda as isize, 1)
        };
        let (rsb, csb) = if tb {
            (1, ldb as isize)
        } else {
            (ldb as isize, 1)
        };
        let flops = 2 * (m * n * k) as u64;
        let mut g = c.benchmark_group(format!("sgemm/{}", sh.label()));
        g.throughput(Throughput::Elements(flops))
            .sample_size(20)
            .warm_up_time(Duration::from_secs_f64(secs / 2.0))
            .measurement_time(Duration::from_secs_f64(secs));
        g.bench_function(BenchmarkId::from_parameter("descent"), |bch| {
            bch.iter(|| {
                descent_kernels::sgemm(
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    1.0,
                    black_box(&a),
                    lda,
                    black_box(&b),
                    ldb,
                    0.0,
                    &mut out,
                    n,
                )
            })
        });
        g.bench_function(BenchmarkId::from_parameter("matrixmultiply"), |bch| {
            bch.iter(|| {
                // SAFETY: the strides describe the allocated matrices exactly.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(a.as_ptr()),
                        rsa,
                        csa,
                        black_box(b.as_ptr()),
                        rsb,
                        csb,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            })
        });
        g.bench_function(BenchmarkId::from_parameter("gemm"), |bch| {
            bch.iter(|| {
                // SAFETY: as above; gemm takes (column stride, row stride) pairs and computes
                // dst = alpha * dst + beta * lhs * rhs, here with alpha = 0 (dst not read).
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        out.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        black_box(a.as_ptr()),
                        csa,
                        rsa,
                        black_box(b.as_ptr()),
                        csb,
                        rsb,
                        0.0f32,
                        1.0f32,
                        false,
                        false,
                        false,
                        par,
                    )
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_sgemm);
criterion_main!(benches);
