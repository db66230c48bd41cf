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

    /// Whether this CPU can run `self`'s instructions (the SGEMM dispatch's run-time check
    /// of the same instruction set).
    pub fn is_available(self) -> bool {
        use crate::gemm::Isa;
        match self {
            PeakIsa::Avx512 => Isa::Avx512,
            PeakIsa::Avx2Fma => Isa::Avx2Fma,
            PeakIsa::Portable => Isa::Portable,
        }
        .is_available()
    }
}

/// The widest FMA instruction set available on this CPU at run time.
pub fn best_isa() -> PeakIsa {
    [PeakIsa::Avx512, PeakIsa::Avx2Fma]
        .into_iter()
        .find(|isa| isa.is_available())
        .unwrap_or(PeakIsa::Portable)
}

/// Number of independent accumulators: enough to cover FMA latency x throughput (4 x 2 on
/// current x86 cores) with room to spare.
const ACC: usize = 12;

/// Run `iters` rounds of `ACC` independent vector FMAs and return the flops done. Only for an
/// `isa` this CPU has: callers go through [`FmaBurst::calibrate`], which checks.
fn fma_burst(isa: PeakIsa, iters: u64) -> (f64, f32) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        PeakIsa::Avx512 => {
            // SAFETY: bursts run inside `FmaBurst::calibrate`, after its check that this CPU
            // has `isa` (avx512f detected), or for an `FmaBurst` it built, so checked.
            let s = unsafe { burst_avx512(iters) };
            (iters as f64 * ACC as f64 * 16.0 * 2.0, s)
        }
        #[cfg(target_arch = "x86_64")]
        PeakIsa::Avx2Fma => {
            // SAFETY: as above, avx2 and fma detected by `FmaBurst::calibrate`.
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

/// One FMA burst calibrated to a duration: `ACC` independent vector FMA chains per thread,
/// `iters` rounds each, on `threads` threads of the current rayon pool.
///
/// [`fma_peak_gflops`] takes the best of many; `descent bench` also runs one right after each
/// timed kernel repetition, so that a kernel's fraction of the peak can be taken against the
/// FMA throughput the machine gave at that same moment (see [`FmaBurst::gflops`]).
#[derive(Debug, Clone, Copy)]
pub struct FmaBurst {
    isa: PeakIsa,
    threads: usize,
    iters: u64,
}

impl FmaBurst {
    /// Calibrates the round count on one thread so that a burst lasts about `per_rep`.
    ///
    /// # Panics
    /// If this CPU cannot run `isa` (see [`PeakIsa::is_available`]; [`best_isa`] always can).
    pub fn calibrate(isa: PeakIsa, threads: usize, per_rep: Duration) -> Self {
        // The bursts execute `isa`'s instructions: on a CPU without them that would be
        // undefined behaviour, so this check is what makes them sound.
        assert!(
            isa.is_available(),
            "FmaBurst::calibrate: {} is not available on this CPU",
            isa.name()
        );
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
        FmaBurst {
            isa,
            threads: threads.max(1),
            iters,
        }
    }

    /// Flops of one burst: `threads * iters * ACC * lanes * 2`.
    fn run(&self) -> f64 {
        if self.threads == 1 {
            std::hint::black_box(fma_burst(self.isa, self.iters).0)
        } else {
            (0..self.threads)
                .into_par_iter()
                .map(|_| std::hint::black_box(fma_burst(self.isa, self.iters)).0)
                .sum()
        }
    }

    /// Runs one burst: GFLOP/s = flops / seconds / 1e9.
    pub fn gflops(&self) -> f64 {
        let t = Instant::now();
        let flops = self.run();
        flops / t.elapsed().as_secs_f64().max(1e-12) / 1e9
    }
}

/// Peak f32 FMA throughput in GFLOP/s (one FMA = 2 flops) on `threads` threads of the current
/// rayon pool, using instruction set `isa`; each of `reps` repetitions runs about `per_rep`.
///
/// Formula: `threads * iters * ACC * lanes * 2 / seconds`, best of the repetitions.
///
/// # Panics
/// If this CPU cannot run `isa` (as [`FmaBurst::calibrate`]).
pub fn fma_peak_gflops(isa: PeakIsa, threads: usize, per_rep: Duration, reps: usize) -> f64 {
    let burst = FmaBurst::calibrate(isa, threads, per_rep);
    best_rate(reps, || burst.run()) / 1e9
}

/// The four arrays of Adam's access pattern and one pass over them: `m <- v`, `v <- g`,
/// `p <- p + m_old` (4 arrays of `n` f32 read and 3 written, 28 bytes per element counting
/// each read and each write once; no arithmetic to speak of), split into contiguous chunks
/// over the current rayon pool when `parallel`.
#[derive(Debug, Clone)]
pub struct StreamBuffers {
    p: Vec<f32>,
    g: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl StreamBuffers {
    /// Allocates and touches the arrays for `n` elements.
    pub fn new(n: usize) -> Self {
        StreamBuffers {
            p: vec![1.0; n],
            g: vec![0.5; n],
            m: vec![0.25; n],
            v: vec![0.125; n],
        }
    }

    /// Bytes one pass moves: `28 n`.
    fn pass(&mut self, parallel: bool) -> f64 {
        let n = self.p.len();
        let chunk = if parallel {
            n.div_ceil(rayon::current_num_threads().max(1)).max(1 << 14)
        } else {
            n.max(1)
        };
        self.p
            .par_chunks_mut(chunk)
            .zip(self.g.par_chunks(chunk))
            .zip(self.m.par_chunks_mut(chunk))
            .zip(self.v.par_chunks_mut(chunk))
            .for_each(|(((p, g), m), v)| move_chunk(p, g, m, v));
        std::hint::black_box(&mut self.p);
        28.0 * n as f64
    }

    /// Runs one pass: GB/s = 28 n / seconds / 1e9.
    pub fn gbs(&mut self, parallel: bool) -> f64 {
        let t = Instant::now();
        let bytes = self.pass(parallel);
        bytes / t.elapsed().as_secs_f64().max(1e-12) / 1e9
    }
}

/// One chunk of a [`StreamBuffers`] pass (`m <- v`, `v <- g`, `p <- p + m_old` over the
/// shortest length), with the widest vectors this CPU has: the data mover must not be slower
/// than the kernels it is the limit of (built for the baseline x86-64 target, the loop moves
/// 16 bytes per instruction, while the AVX2 Adam kernel moves 32). The criterion benches use
/// it for the same ceiling.
pub fn move_chunk(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected at run time just above.
            return unsafe { move_chunk_avx2(p, g, m, v) };
        }
    }
    move_chunk_body(p, g, m, v)
}

/// [`move_chunk`] compiled for AVX2 (the same loop, vectorised 8 wide).
///
/// # Safety
/// Requires AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn move_chunk_avx2(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    move_chunk_body(p, g, m, v)
}

/// `m <- v`, `v <- g`, `p <- p + m_old`, element by element.
#[inline(always)]
fn move_chunk_body(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let (mi, vi) = (*m, *v);
        *m = vi;
        *v = g;
        *p += mi;
    }
}

/// Streaming bandwidth in GB/s with Adam's access pattern ([`StreamBuffers`]) over `n`
/// elements, best of `reps` passes.
///
/// This is the ceiling a fused Adam update can reach on this machine: same bytes, no math.
pub fn stream_bandwidth_gbs(n: usize, parallel: bool, reps: usize) -> f64 {
    let mut bufs = StreamBuffers::new(n);
    best_rate(reps, || bufs.pass(parallel)) / 1e9
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
    fn single_bursts_and_passes_measure_positive_rates() {
        let burst = FmaBurst::calibrate(best_isa(), 2, Duration::from_millis(1));
        let g = burst.gflops();
        assert!(g > 0.0 && g.is_finite(), "{g}");
        let mut bufs = StreamBuffers::new(1 << 12);
        let before = bufs.p[0];
        let bw = bufs.gbs(true);
        assert!(bw > 0.0 && bw.is_finite(), "{bw}");
        // The pass really moved the data: p gained m's old value, m took v's, v took g's.
        assert_eq!(
            (bufs.p[0], bufs.m[0], bufs.v[0]),
            (before + 0.25, 0.125, 0.5)
        );
    }

    #[test]
    fn an_isa_this_cpu_lacks_is_refused_not_run() {
        for isa in [PeakIsa::Avx512, PeakIsa::Avx2Fma] {
            if isa.is_available() {
                continue;
            }
            let r = std::panic::catch_unwind(|| {
                FmaBurst::calibrate(isa, 1, Duration::from_millis(1));
            });
            assert!(r.is_err(), "{isa:?} ran on a CPU without it");
            let r = std::panic::catch_unwind(|| {
                fma_peak_gflops(isa, 1, Duration::from_millis(1), 1);
            });
            assert!(r.is_err(), "{isa:?} ran on a CPU without it");
        }
        assert!(PeakIsa::Portable.is_available() && best_isa().is_available());
    }

    #[test]
    fn stream_moves_data() {
        let bw = stream_bandwidth_gbs(1 << 12, false, 2);
        assert!(bw > 0.0 && bw.is_finite(), "{bw}");
    }
}
