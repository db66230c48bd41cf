//! SGEMM throughput, descent vs matrixmultiply vs gemm, **interleaved**: the three libraries
//! take turns batch by batch (rotating which goes first) inside one process, and each
//! figure is the median over all batches.
//!
//! Why: on a shared, virtualised machine the speed available to a process drifts by tens of
//! percent over seconds. Criterion measures one library after the other, so a drift between
//! them reads as a difference between them (runs of the same shape moved by up to 1.8x). Here
//! each batch of one library sits next to batches of the others, so drift hits all three
//! alike and the ratios are stable (repeat runs agree within a few percent).
//!
//! Each batch is about 20 Mflop of repeated calls on the same operands (so small shapes are
//! timed over many calls and caches are warm, as in the criterion bench).
//! Threads follow the global rayon pool (`RAYON_NUM_THREADS=1` for one core); the gemm crate
//! gets the same count, matrixmultiply always runs on one core.
//!
//! `cargo bench -p descent-benches --bench sgemm_interleaved` runs the table of the criterion
//! `sgemm` bench; shape labels as arguments (`-- 1024x1024x1024 100x784x100-tB`) run only
//! those; `SGEMM_BATCHES` sets the batches per library (default 101).

use std::time::Instant;

use descent_benches::{median, shapes, Lib, Operands, Shape};

fn main() {
    let batches: usize = std::env::var("SGEMM_BATCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(101)
        .max(1);
    let threads = rayon::current_num_threads();
    // `cargo bench` passes `--bench`; every other argument is a shape label.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let table: Vec<Shape> = shapes()
        .into_iter()
        .filter(|s| wanted.is_empty() || wanted.contains(&s.label()))
        .collect();
    if table.is_empty() {
        eprintln!(
            "no shape matches {wanted:?}; labels: {}",
            shapes()
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(" ")
        );
        std::process::exit(2);
    }
    println!(
        "{threads} thread(s), {batches} batches per library, median GFLOP/s\n\n\
         | shape | descent | matrixmultiply | gemm | descent / best other |\n|---|---|---|---|---|"
    );
    let (mut ahead, mut total) = (0, 0);
    for sh in table {
        let mut ops = Operands::new(sh);
        let flops = ops.flops();
        let reps = ((2e7 / flops) as usize).clamp(1, 100_000);
        let mut times: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        // Batch 0 warms every library up (first-call allocations, page faults) untimed.
        for it in 0..=batches {
            for j in 0..3 {
                let w = (j + it) % 3;
                let t0 = Instant::now();
                for _ in 0..reps {
                    ops.run(Lib::ALL[w], threads);
                    std::hint::black_box(&mut ops.c);
                }
                if it > 0 {
                    times[w].push(t0.elapsed().as_secs_f64());
                }
            }
        }
        let g: Vec<f64> = times
            .iter_mut()
            .map(|t| flops * reps as f64 / median(t) / 1e9)
            .collect();
        let ratio = g[0] / g[1].max(g[2]);
        total += 1;
        if ratio > 1.0 {
            ahead += 1;
        }
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} |",
            sh.label(),
            g[0],
            g[1],
            g[2],
            ratio
        );
    }
    println!("\ndescent ahead of both on {ahead} of {total} shapes");
}
