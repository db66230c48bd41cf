//! Fused Adam vs descent-core's Adam vs the Adam-pattern streaming bandwidth, at 10M
//! parameters, on the current rayon pool (set RAYON_NUM_THREADS). Prints medians of 15 steps.
use descent_core::optim::{AdamConfig, Optim, Optimizer};
use descent_kernels::fused::step_fused;
use descent_kernels::peak::stream_bandwidth_gbs;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let bytes = 28.0 * n as f64;
    let g: Vec<f32> = (0..n).map(|i| (i % 97) as f32 * 1e-3).collect();
    let mut p = vec![0.5f32; n];
    let mut core_opt = Optim::<f32, _, Vec<f32>>::owned(AdamConfig::default(), n).unwrap();
    let mut fused_opt = Optim::<f32, _, Vec<f32>>::owned(AdamConfig::default(), n).unwrap();
    let (mut tc, mut tf) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let t = Instant::now();
        core_opt.step(&mut p, &g).unwrap();
        tc.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        step_fused(&mut fused_opt, &mut p, &g).unwrap();
        tf.push(t.elapsed().as_secs_f64());
    }
    let mut m = vec![0f32; n];
    let mut v = vec![0f32; n];
    let mut tp = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        plain(&mut p, &g, &mut m, &mut v);
        tp.push(t.elapsed().as_secs_f64());
    }
    println!("plain loop {:.1} GB/s", bytes / median(tp) / 1e9);
    let bw = stream_bandwidth_gbs(n, rayon::current_num_threads() > 1, 15);
    let (c, f) = (bytes / median(tc) / 1e9, bytes / median(tf) / 1e9);
    println!(
        "n={n} threads={} core Adam {c:.1} GB/s, fused Adam {f:.1} GB/s, stream {bw:.1} GB/s, fused/stream {:.0}%",
        rayon::current_num_threads(),
        100.0 * f / bw
    );
}

#[allow(dead_code)]
#[inline(never)]
pub fn plain(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = *m + 0.1 * (g - *m);
        *v = *v * 0.999 + 0.001 * g * g;
        let denom = v.sqrt() / 0.3 + 1e-8;
        *p += -0.001 * *m / denom;
    }
}
