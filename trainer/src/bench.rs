//! `descent bench`: a quick throughput report that first measures this machine's own limits
//! (f32 FMA peak, streaming bandwidth) and then gives every kernel's figure as a percentage of
//! the limit that bounds it, on one thread and on all threads of the pool.
//!
//! Every figure is the median of several timed repetitions after a warm-up. Each row with a
//! limit has two shares of it: `of limit`, the median over the best limit measured at the
//! start, and `alongside`, the median over the repetitions of each one's rate over the limit
//! measured right after it (one FMA burst or one stream pass), which a shared machine's
//! changing load moves less.

use descent_core::optim::{AdamConfig, Optim};
use descent_core::{Activation, Mlp, Task};
use descent_kernels::fused::step_fused;
use descent_kernels::peak::{
    best_isa, fma_peak_gflops, stream_bandwidth_gbs, FmaBurst, StreamBuffers,
};
use descent_kernels::{sgemm, Fast};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchOptions {
    /// Smaller sizes and fewer repetitions (about a second in all; the full run takes seconds).
    pub quick: bool,
    /// Threads for the "all threads" column (default: the machine's available parallelism).
    pub threads: Option<usize>,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRow {
    /// What was measured, e.g. `sgemm 1024x1024x1024`.
    pub kernel: String,
    /// Threads it ran on.
    pub threads: usize,
    /// The measured figure (median of the repetitions).
    pub value: f64,
    /// The figure of the fastest repetition; far above `value` when the machine is busy.
    pub best: f64,
    /// Its unit (`GFLOP/s`, `GB/s`, `samples/s`).
    pub unit: String,
    /// The machine limit it is compared with, in the same unit (0 when none applies).
    pub limit: f64,
    /// `100 * value / limit` (NaN when no limit applies).
    pub percent_of_limit: f64,
    /// The median over the repetitions of `100 * rate / limit now`, where `limit now` is one
    /// FMA burst (GFLOP/s rows) or one stream pass (GB/s rows) run right after that
    /// repetition: the kernel's share of what the machine gave at that moment. On a shared
    /// machine this is steadier than `percent_of_limit`, which divides a median by the best
    /// the machine ever did (NaN when no limit applies).
    pub percent_of_limit_alongside: f64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Vector instruction set the FMA peak was measured with.
    pub isa: String,
    /// CPU model name when known.
    pub cpu: String,
    /// Threads of the "all threads" measurements.
    pub threads: usize,
    /// f32 FMA peak, GFLOP/s, on one thread.
    pub fma_peak_1: f64,
    /// f32 FMA peak, GFLOP/s, on all threads.
    pub fma_peak_all: f64,
    /// Streaming bandwidth (Adam's access pattern), GB/s, one thread.
    pub stream_1: f64,
    /// Streaming bandwidth, GB/s, all threads.
    pub stream_all: f64,
    /// Kernel figures.
    pub rows: Vec<BenchRow>,
}

/// Seconds per repetition: the median and the fastest, and each repetition's seconds with
/// the limit measured right after it.
#[derive(Debug, Clone)]
struct Secs {
    median: f64,
    best: f64,
    pairs: Vec<(f64, f64)>,
}

/// Times `reps` repetitions of `f` after a warm-up, running `limit_now` right after each
/// one and keeping its rate with that repetition's seconds.
fn timed(reps: usize, mut f: impl FnMut(), mut limit_now: impl FnMut() -> f64) -> Secs {
    f(); // warm-up
    let pairs: Vec<(f64, f64)> = (0..reps.max(1))
        .map(|_| {
            let s = Instant::now();
            f();
            let secs = s.elapsed().as_secs_f64().max(1e-12);
            (secs, limit_now())
        })
        .collect();
    let mut t: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    t.sort_by(f64::total_cmp);
    Secs {
        median: t[t.len() / 2],
        best: t[0],
        pairs,
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// A row for `work` units done per repetition (GFLOP, GB or samples) in `secs`.
fn row(kernel: String, threads: usize, work: f64, secs: Secs, unit: &str, limit: f64) -> BenchRow {
    let value = work / secs.median;
    let mut alongside: Vec<f64> = secs
        .pairs
        .iter()
        .map(|&(t, l)| 100.0 * work / t / l)
        .filter(|x| x.is_finite())
        .collect();
    alongside.sort_by(f64::total_cmp);
    BenchRow {
        kernel,
        threads,
        value,
        best: work / secs.best,
        unit: unit.into(),
        limit,
        percent_of_limit: if limit > 0.0 {
            100.0 * value / limit
        } else {
            f64::NAN
        },
        percent_of_limit_alongside: if limit > 0.0 && !alongside.is_empty() {
            alongside[alongside.len() / 2]
        } else {
            f64::NAN
        },
    }
}

/// Problem sizes and repetition counts of one run (private so tests can shrink them).
#[derive(Debug, Clone, Copy)]
struct Sizes {
    reps: usize,
    per_rep: Duration,
    peak_reps: usize,
    stream_n: usize,
    sq: usize,
    n_adam: usize,
    steps: usize,
}

impl Sizes {
    fn for_options(quick: bool) -> Self {
        if quick {
            Sizes {
                reps: 9,
                per_rep: Duration::from_millis(2),
                peak_reps: 50,
                stream_n: 1 << 21,
                sq: 512,
                n_adam: 1 << 20,
                steps: 20,
            }
        } else {
            Sizes {
                reps: 21,
                per_rep: Duration::from_millis(2),
                peak_reps: 250,
                stream_n: 10_000_000,
                sq: 1024,
                n_adam: 10_000_000,
                steps: 100,
            }
        }
    }
}

/// Measure the machine and the kernels.
pub fn run(opts: BenchOptions) -> BenchReport {
    run_sized(opts.threads, Sizes::for_options(opts.quick))
}

fn run_sized(threads: Option<usize>, sz: Sizes) -> BenchReport {
    let all = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let reps = sz.reps;
    // The peak is the best of many short bursts: on a shared machine a burst shorter than a
    // scheduler time slice often runs uninterrupted, where a long one almost never does (the
    // kernels below are timed in bursts of about a millisecond too, so they compare fairly).
    let (peak_burst, peak_reps) = (sz.per_rep, sz.peak_reps);
    let isa = best_isa();
    let pools: Vec<(usize, rayon::ThreadPool)> = [1, all]
        .into_iter()
        .enumerate()
        .filter(|&(i, t)| i == 0 || t > 1)
        .map(|(_, t)| {
            (
                t,
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .expect("thread pool"),
            )
        })
        .collect();
    let stream_n = sz.stream_n;
    let mut peaks = Vec::new();
    for (t, pool) in &pools {
        peaks.push(pool.install(|| {
            (
                fma_peak_gflops(isa, *t, peak_burst, peak_reps),
                stream_bandwidth_gbs(stream_n, *t > 1, reps),
            )
        }));
    }
    let (p1, s1) = peaks[0];
    let (pa, sa) = *peaks.last().expect("at least one pool");
    let mut rows = Vec::new();
    let sq = sz.sq;
    // (label, m, k, n, transa, transb)
    let shapes = [
        (format!("sgemm {sq}x{sq}x{sq}"), sq, sq, sq, false, false),
        (
            "sgemm 100x784x100 (MLP forward, B^T)".to_string(),
            100,
            784,
            100,
            false,
            true,
        ),
        (
            "sgemm 100x100x784 (weight grad, A^T)".to_string(),
            100,
            100,
            784,
            true,
            false,
        ),
        (
            "sgemm 100x100x10 (MLP forward, B^T)".to_string(),
            100,
            100,
            10,
            false,
            true,
        ),
        (
            "sgemm 100x10x100 (input grad, NN)".to_string(),
            100,
            10,
            100,
            false,
            false,
        ),
        (
            "sgemm 10x100x100 (weight grad, A^T)".to_string(),
            10,
            100,
            100,
            true,
            false,
        ),
    ];
    for (t, pool) in &pools {
        let peak = if *t == 1 { p1 } else { pa };
        let bw = if *t == 1 { s1 } else { sa };
        pool.install(|| {
            // The limits again, one burst or pass right after each timed repetition.
            let burst = FmaBurst::calibrate(isa, *t, peak_burst);
            let fma_now = || burst.gflops();
            let mut bufs = StreamBuffers::new(stream_n);
            for (label, m, k, n, ta, tb) in &shapes {
                let (m, k, n) = (*m, *k, *n);
                let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
                let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
                let mut c = vec![0f32; m * n];
                let (lda, ldb) = (if *ta { m } else { k }, if *tb { k } else { n });
                let flops = 2.0 * (m * n * k) as f64;
                let inner = ((2e8 / flops).ceil() as usize).clamp(1, 1000);
                let s = timed(
                    reps,
                    || {
                        for _ in 0..inner {
                            sgemm(*ta, *tb, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, &mut c, n);
                        }
                    },
                    fma_now,
                );
                rows.push(row(
                    label.clone(),
                    *t,
                    flops * inner as f64 / 1e9,
                    s,
                    "GFLOP/s",
                    peak,
                ));
            }
            let n_adam = sz.n_adam;
            let grads: Vec<f32> = (0..n_adam).map(|i| (i % 97) as f32 * 1e-3).collect();
            let mut p = vec![0.5f32; n_adam];
            let mut opt =
                Optim::<f32, _, Vec<f32>>::owned(AdamConfig::default(), n_adam).expect("adam");
            let s = timed(
                reps,
                || step_fused(&mut opt, &mut p, &grads).expect("lengths match"),
                || bufs.gbs(*t > 1),
            );
            rows.push(row(
                format!("fused Adam {n_adam} params"),
                *t,
                28.0 * n_adam as f64 / 1e9,
                s,
                "GB/s",
                bw,
            ));
            let model = Mlp::new(
                &[784, 100, 10],
                Activation::Relu,
                true,
                Task::Classification,
            )
            .expect("mlp");
            let batch = 100;
            let mut params = vec![0f32; model.num_params()];
            model.init(&mut params, 0).expect("init");
            let x: Vec<f32> = (0..batch * 784)
                .map(|i| ((i * 31) % 256) as f32 / 255.0)
                .collect();
            let y: Vec<u32> = (0..batch as u32).map(|i| i % 10).collect();
            let mut grad = vec![0f32; params.len()];
            let mut scratch = vec![0f32; model.scratch_len(batch)];
            let mut opt = Optim::<f32, _, Vec<f32>>::owned(AdamConfig::default(), params.len())
                .expect("adam");
            let steps = sz.steps;
            let s = timed(
                reps,
                || {
                    for _ in 0..steps {
                        model
                            .loss_grad(&Fast, &params, &x, &y, batch, &mut scratch, &mut grad)
                            .expect("shapes");
                        step_fused(&mut opt, &mut params, &grad).expect("lengths");
                    }
                },
                fma_now,
            );
            // forward 2*B*784*100 + 2*B*100*10, backward: weight grads (same) + dX of layer 2.
            let flops =
                2.0 * batch as f64 * (2.0 * 784.0 * 100.0 + 3.0 * 100.0 * 10.0) * steps as f64;
            rows.push(row(
                "train step 784-100-10 b100 (GFLOP/s)".into(),
                *t,
                flops / 1e9,
                s.clone(),
                "GFLOP/s",
                peak,
            ));
            rows.push(row(
                "train step 784-100-10 b100".into(),
                *t,
                (batch * steps) as f64,
                s,
                "samples/s",
                0.0,
            ));
        });
    }
    BenchReport {
        isa: isa.name().into(),
        cpu: cpu_model(),
        threads: all,
        fma_peak_1: p1,
        fma_peak_all: pa,
        stream_1: s1,
        stream_all: sa,
        rows,
    }
}

/// The report as an aligned text table.
pub fn format_table(r: &BenchReport) -> String {
    let mut s = format!(
        "machine: {} ({}), {} thread(s)\nlimits:  f32 FMA peak {:.1} GFLOP/s (1 thread), {:.1} GFLOP/s ({} threads); stream {:.1} GB/s (1 thread), {:.1} GB/s ({} threads)\n\n",
        r.cpu, r.isa, r.threads, r.fma_peak_1, r.fma_peak_all, r.threads, r.stream_1, r.stream_all, r.threads
    );
    s += &format!(
        "{:<42} {:>7} {:>14} {:>14} {:<10} {:>9} {:>10}\n",
        "kernel", "threads", "median", "best", "unit", "of limit", "alongside"
    );
    let pct = |x: f64| {
        if x.is_finite() {
            format!("{x:.0}%")
        } else {
            "-".into()
        }
    };
    for row in &r.rows {
        s += &format!(
            "{:<42} {:>7} {:>14.1} {:>14.1} {:<10} {:>9} {:>10}\n",
            row.kernel,
            row.threads,
            row.value,
            row.best,
            row.unit,
            pct(row.percent_of_limit),
            pct(row.percent_of_limit_alongside)
        );
    }
    s
}

/// The report as pretty JSON.
pub fn to_json(r: &BenchReport) -> String {
    serde_json::to_string_pretty(r).expect("report serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_formats() {
        // Three repetitions of 100 units: 2 s, 1 s, 4 s, with the limit measured right after
        // each at 100, 200, 50: rates 50, 100, 25, shares alongside 50%, 50%, 50%.
        let secs = Secs {
            median: 2.0,
            best: 1.0,
            pairs: vec![(2.0, 100.0), (1.0, 200.0), (4.0, 50.0)],
        };
        let r = row("k".into(), 1, 100.0, secs.clone(), "GB/s", 200.0);
        assert_eq!((r.value, r.best), (50.0, 100.0));
        assert_eq!(r.percent_of_limit, 25.0);
        assert_eq!(r.percent_of_limit_alongside, 50.0);
        // The median of the per-repetition shares, not a ratio of medians.
        let skew = Secs {
            pairs: vec![(2.0, 100.0), (1.0, 100.0), (4.0, 10.0)],
            ..secs.clone()
        };
        let r2 = row("k".into(), 1, 100.0, skew, "GB/s", 200.0);
        assert_eq!(r2.percent_of_limit_alongside, 100.0);
        let none = row("k".into(), 1, 1.0, secs.clone(), "samples/s", 0.0);
        assert!(none.percent_of_limit.is_nan() && none.percent_of_limit_alongside.is_nan());
        let unpaired = Secs {
            pairs: Vec::new(),
            ..secs.clone()
        };
        assert!(row("k".into(), 1, 1.0, unpaired, "GB/s", 200.0)
            .percent_of_limit_alongside
            .is_nan());
        let rep = BenchReport {
            isa: "x".into(),
            cpu: "cpu".into(),
            threads: 2,
            fma_peak_1: 1.0,
            fma_peak_all: 2.0,
            stream_1: 3.0,
            stream_all: 4.0,
            rows: vec![r],
        };
        let t = format_table(&rep);
        assert!(
            t.contains("25%") && t.contains("50%") && t.contains("GB/s"),
            "{t}"
        );
        let j: serde_json::Value = serde_json::from_str(&to_json(&rep)).unwrap();
        assert_eq!(j["rows"][0]["percent_of_limit"], 25.0);
        assert_eq!(j["rows"][0]["percent_of_limit_alongside"], 50.0);
        assert_eq!(j["rows"][0]["best"], 100.0);
        assert_eq!(j["rows"][0]["kernel"], "k");
        assert_eq!(j["threads"], 2);
        // A row without a limit has no percentage: "-" in the table, null in JSON.
        let mut rep = rep;
        rep.rows = vec![row("train".into(), 1, 7.0, secs, "samples/s", 0.0)];
        let t = format_table(&rep);
        let line = t.lines().last().unwrap();
        assert!(line.trim_end().ends_with("-          -"), "{line}");
        let j: serde_json::Value = serde_json::from_str(&to_json(&rep)).unwrap();
        assert!(j["rows"][0]["percent_of_limit"].is_null());
        assert!(j["rows"][0]["percent_of_limit_alongside"].is_null());
    }

    #[test]
    fn tiny_run_measures_positive_finite_figures() {
        let sz = Sizes {
            reps: 1,
            per_rep: Duration::from_millis(1),
            peak_reps: 1,
            stream_n: 4096,
            sq: 16,
            n_adam: 4096,
            steps: 1,
        };
        let r = run_sized(Some(2), sz);
        assert_eq!(r.threads, 2);
        for v in [r.fma_peak_1, r.fma_peak_all, r.stream_1, r.stream_all] {
            assert!(v.is_finite() && v > 0.0, "{r:?}");
        }
        // 6 sgemm shapes + Adam + 2 training-step figures, on 1 and on 2 threads.
        assert_eq!(r.rows.len(), 2 * 9);
        for row in &r.rows {
            assert!(row.value.is_finite() && row.value > 0.0, "{row:?}");
            assert!(row.best.is_finite() && row.best >= row.value, "{row:?}");
            assert!(
                row.limit == 0.0
                    || (row.percent_of_limit.is_finite()
                        && row.percent_of_limit_alongside.is_finite()),
                "{row:?}"
            );
        }
        assert!(r.rows.iter().any(|x| x.kernel == "sgemm 16x16x16"));
        let t = format_table(&r);
        assert_eq!(t.lines().count(), 3 + 1 + r.rows.len(), "{t}");
    }
}
