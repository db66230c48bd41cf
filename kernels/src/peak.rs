//! Measuring this machine's own limits: f32 FMA peak and streaming memory bandwidth.
//!
//! `descent bench` reports every kernel's figure as a fraction of these, so the numbers mean
//! the same on any machine. Both measurements take the best of several short repetitions (the
//! limit is the fastest the hardware ever goes; noise only slows a run down).

use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Which instruction set [`fma_peak_gflops`] exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeakIsa {
    /// 512-bit FMA (`vfmadd231ps zmm`), 16 lanes.
    Avx512,
    /// 256-bit FMA (`vfmadd231ps ymm`), 8 lanes.
    Avx2Fma,
    /// Portable `wide::f32x8` multiply-add (whatever the compiler makes of it).
    Portable,
}

impl PeakIsa {
    /// Short human-readable name.
    pub fn name(self) -> &'static str {
        match self {
            PeakIsa::Avx512 => "avx512f",
            PeakIsa::Avx2Fma => "avx2+fma",
            PeakIsa::Portable => "portable",
        }
    }
}

/// The widest FMA instruction set available on this CPU at run time.
pub fn best_isa() -> PeakIsa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return PeakIsa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return PeakIsa::Avx2Fma;
        }
    }
    PeakIsa::Portable
}

/// Number of independent accumulators: enough to cover FMA latency x throughput (4 x 2 on
/// current x86 cores) with room to spare.
const ACC: usize = 12;

/// Run `iters` rounds of `ACC` independent vector FMAs and return the flops done.
fn fma_burst(isa: PeakIsa, iters: u64) -> (f64, f32) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        PeakIsa::Avx512 => {
            // SAFETY: `Avx512` is only selected by `best_isa` after runtime detection of avx512f
            // (or by a caller of `fma_peak_gflops` that passed the value `best_isa` returned).
            let s = unsafe { burst_avx512(iters) };
            (iters as f64 * ACC as f64 * 16.0 * 2.0, s)
        }
        #[cfg(target_arch = "x86_64")]
        PeakIsa::Avx2Fma => {
            // SAFETY: selected only after runtime detection of avx2 and fma.
            let s = unsafe { burst_avx2(iters) };
            (iters as f64 * ACC as f64 * 8.0 * 2.0, s)
        }
        _ => {
            let s = burst_portable(iters);
            (iters as f64 * ACC as f64 * 8.0 * 2.0, s)
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn burst_avx512(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(0.0); ACC];
    let a = _mm512_set1_ps(std::hint::black_box(0.999_999));
    let b = _mm512_set1_ps(std::hint::black_box(1e-7));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let mut s = 0.0;
    for v in acc {
        s += _mm512_reduce_add_ps(v);
    }
    s
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn burst_avx2(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(0.0); ACC];
    let a = _mm256_set1_ps(std::hint::black_box(0.999_999));
    let b = _mm256_set1_ps(std::hint::black_box(1e-7));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut lanes = [0.0f32; 8];
    let mut s = 0.0;
    for v in acc {
        _mm256_storeu_ps(lanes.as_mut_ptr(), v);
        s += lanes.iter().sum::<f32>();
    }
    s
}

fn burst_portable(iters: u64) -> f32 {
    use wide::f32x8;
    let mut acc = [f32x8::splat(0.0); ACC];
    let a = f32x8::splat(std::hint::black_box(0.999_999));
    let b = f32x8::splat(std::hint::black_box(1e-7));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = v.mul_add(a, b);
        }
    }
    acc.iter().map(|v| v.reduce_add()).sum()
}

/// Best-of-`reps` throughput in GFLOP/s of `f` doing `flops` per call.
fn best_rate(reps: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let flops = f();
        let secs = t.elapsed().as_secs_f64();
        if secs > 0.0 {
            best = best.max(flops / secs);
        }
    }
    best
}

/// Peak f32 FMA throughput in GFLOP/s (one FMA = 2 flops) on `threads` threads of the current
/// rayon pool, using instruction set `isa`; each of `reps` repetitions runs about `per_rep`.
///
/// Formula: `threads * iters * ACC * lanes * 2 / seconds`, best of the repetitions.
pub fn fma_peak_gflops(isa: PeakIsa, threads: usize, per_rep: Duration, reps: usize) -> f64 {
    let threads = threads.max(1);
    // Calibrate the iteration count on one thread.
    let mut iters = 1u64 << 16;
    loop {
        let t = Instant::now();
        std::hint::black_box(fma_burst(isa, iters));
        if t.elapsed() >= per_rep / 4 || iters > (1 << 34) {
            let scale = per_rep.as_secs_f64() / t.elapsed().as_secs_f64().max(1e-9);
            iters = ((iters as f64) * scale).max(1.0) as u64;
            break;
        }
        iters *= 4;
    }
    best_rate(reps, || {
        if threads == 1 {
            std::hint::black_box(fma_burst(isa, iters).0)
        } else {
            (0..threads)
                .into_par_iter()
                .map(|_| std::hint::black_box(fma_burst(isa, iters)).0)
                .sum()
        }
    }) / 1e9
}

/// Streaming bandwidth in GB/s with Adam's access pattern: 4 arrays of `n` f32 read and 3
/// written per pass (28 bytes per element, counting each read and each write once), split into
/// contiguous chunks over the current rayon pool when `parallel`. Best of `reps` passes.
///
/// This is the ceiling a fused Adam update can reach on this machine: same bytes, no math.
pub fn stream_bandwidth_gbs(n: usize, parallel: bool, reps: usize) -> f64 {
    let mut p = vec![1.0f32; n];
    let g = vec![0.5f32; n];
    let mut m = vec![0.25f32; n];
    let mut v = vec![0.125f32; n];
    let bytes = 28.0 * n as f64;
    let chunk = if parallel {
        n.div_ceil(rayon::current_num_threads().max(1)).max(1 << 14)
    } else {
        n.max(1)
    };
    best_rate(reps, || {
        p.par_chunks_mut(chunk)
            .zip(g.par_chunks(chunk))
            .zip(m.par_chunks_mut(chunk))
            .zip(v.par_chunks_mut(chunk))
            .for_each(|(((p, g), m), v)| {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let (mi, vi) = (*m, *v);
                    *m = vi;
                    *v = g;
                    *p += mi;
                }
            });
        std::hint::black_box(&mut p);
        bytes
    }) / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_positive_and_flop_count_matches_isa() {
        let isa = best_isa();
        let g = fma_peak_gflops(isa, 1, Duration::from_millis(5), 2);
        assert!(g > 0.0 && g.is_finite(), "{g}");
        let (flops, _) = fma_burst(PeakIsa::Portable, 10);
        assert_eq!(flops, 10.0 * ACC as f64 * 16.0);
    }

    #[test]
    fn stream_moves_data() {
        let bw = stream_bandwidth_gbs(1 << 12, false, 2);
        assert!(bw > 0.0 && bw.is_finite(), "{bw}");
    }
}
