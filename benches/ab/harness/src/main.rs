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

/// `(m, k, n, transa, transb)` of a shape argument.
fn parse(s: &str) -> Result<(usize, usize, usize, bool, bool), String> {
    let mut parts = s.split('-');
    let dims: Vec<usize> = parts
        .next()
        .unwrap_or("")
        .split('x')
        .map(|x| {
            x.parse()
                .map_err(|_| format!("shape {s:?}: expected MxKxN[-tA][-tB]"))
        })
        .collect::<Result<_, _>>()?;
    let [m, k, n] = dims[..] else {
        return Err(format!("shape {s:?}: expected three dimensions MxKxN"));
    };
    let (mut ta, mut tb) = (false, false);
    for p in parts {
        match p {
            "tA" => ta = true,
            "tB" => tb = true,
            _ => {
                return Err(format!(
                    "shape {s:?}: unknown suffix -{p} (expected -tA or -tB)"
                ))
            }
        }
    }
    Ok((m, k, n, ta, tb))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let batches: usize = std::env::var("BATCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(101)
        .max(1);
    for s in std::env::args().skip(1) {
        let (m, k, n, ta, tb) = match parse(&s) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("descent-ab-harness: {e}");
                std::process::exit(2);
            }
        };
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.1)
            .collect();
        let mut c = vec![0f32; m * n];
        let lda = if ta { m } else { k };
        let ldb = if tb { k } else { n };
        let flops = 2.0 * (m * n * k) as f64;
        let reps = ((2.0e7 / flops.max(1.0)).ceil() as usize).max(1);
        let (mut ra, mut rb) = (Vec::new(), Vec::new());
        // Two warm-up batches per slot, then `batches` timed ones.
        for bi in 0..batches + 2 {
            for side in 0..2 {
                let which = (side + bi) % 2;
                let t = Instant::now();
                for _ in 0..reps {
                    if which == 0 {
                        ka::sgemm(ta, tb, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, &mut c, n);
                    } else {
                        kb::sgemm(ta, tb, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, &mut c, n);
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
        println!("{s} a {ma:.2} b {mb:.2} b/a {:.4}", mb / ma);
    }
}
