//! `descent-ab-harness SHAPE...`: the SGEMM of two copies of descent-kernels (slot a and
//! slot b, see `benches/ab/run.sh`) on each shape, taking turns batch by batch in one
//! process (which goes first alternates), and prints per shape the median GFLOP/s of each
//! and their ratio `b/a`:
//!
//! `SHAPE a <GFLOP/s> b <GFLOP/s> b/a <ratio>`
//!
//! A shape is `MxKxN`, optionally with `-tA` and/or `-tB` (transposed operands), e.g.
//! `1000x784x100-tB`. `BATCHES` (default 101) sets the batches per slot; each batch runs
//! about 2e7 flops. Threads follow the global rayon pool (`RAYON_NUM_THREADS`).

use std::time::Instant;

use descent_benches::{median, Operands, Shape};

fn main() {
    let batches: usize = std::env::var("BATCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(101)
        .max(1);
    for label in std::env::args().skip(1) {
        let shape = match Shape::parse(&label) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("descent-ab-harness: {e}");
                std::process::exit(2);
            }
        };
        let Shape { m, k, n, ta, tb } = shape;
        let mut ops = Operands::new(shape);
        let lda = if ta { m } else { k };
        let ldb = if tb { k } else { n };
        let flops = ops.flops();
        let reps = ((2.0e7 / flops.max(1.0)).ceil() as usize).max(1);
        let (mut ra, mut rb) = (Vec::new(), Vec::new());
        // Two warm-up batches per slot, then `batches` timed ones.
        for bi in 0..batches + 2 {
            for side in 0..2 {
                let which = (side + bi) % 2;
                let (a, b, c) = (&ops.a, &ops.b, &mut ops.c);
                let t = Instant::now();
                for _ in 0..reps {
                    if which == 0 {
                        ka::sgemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, n);
                    } else {
                        kb::sgemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, n);
                    }
                }
                let g = flops * reps as f64 / t.elapsed().as_secs_f64().max(1e-12) / 1e9;
                if bi >= 2 {
                    if which == 0 {
                        ra.push(g)
                    } else {
                        rb.push(g)
                    }
                }
            }
        }
        let (ma, mb) = (median(&mut ra), median(&mut rb));
        println!("{label} a {ma:.2} b {mb:.2} b/a {:.4}", mb / ma);
    }
}
