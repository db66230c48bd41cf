//! Print this machine's FMA peak and streaming bandwidth (what `descent bench` measures first).
use descent_kernels::peak::*;
use std::time::Duration;
fn main() {
    let isa = best_isa();
    for t in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap();
        pool.install(|| {
            let g = fma_peak_gflops(isa, t, Duration::from_millis(100), 5);
            let bw = stream_bandwidth_gbs(10_000_000, t > 1, 5);
            println!(
                "threads {t}: {} peak {g:.1} GFLOP/s, stream {bw:.1} GB/s",
                isa.name()
            );
        });
    }
}
