//! [`average_update`]: descent-core's [`WeightAverage`] update (SWA or EMA of the parameters)
//! in chunks on the rayon pool, each compiled for the CPU's widest vectors.

use super::{chunk_len, simd_level, with_simd, SimdLevel, PAR_THRESHOLD};

/// Below this many elements the update runs on the calling thread.
const SERIAL_BELOW: usize = 4 * PAR_THRESHOLD;
use descent_core::error::check_len;
use descent_core::optim::WeightAverage;
use descent_core::Result;
use rayon::prelude::*;

/// One [`WeightAverage::update`]: `average ← avg(average, params)` for the current count
/// (SWA: `θ̄ + (θ − θ̄)/(n + 1)`; EMA: `lerp(θ̄, θ, 1 − decay)` with PyTorch's two fused
/// forms; a copy on the first update), then `n ← n + 1`. The element formula is
/// descent-core's own [`WeightAverage::apply`] (its FMA is explicit, so vectorizing it changes
/// no bit): bitwise equal to `wa.update(average, params)`. Errors, changing nothing: lengths
/// that differ.
pub fn average_update(wa: &mut WeightAverage, average: &mut [f32], params: &[f32]) -> Result<()> {
    check_len("average", average.len(), params.len())?;
    let level = simd_level();
    let n = average.len();
    // One light pass (12 bytes and one or two operations per element): the pool's hand-over
    // costs more than it saves below `SERIAL_BELOW` elements (2 threads, Zen 3: SWA at 10^5
    // parameters 25-29 GiB/s split in two against 44-45 on the calling thread).
    let c = if n < SERIAL_BELOW {
        n.max(1)
    } else {
        chunk_len(n)
    };
    in_chunks(level, wa, c, average, params);
    wa.advance();
    Ok(())
}

fn in_chunks(level: SimdLevel, wa: &WeightAverage, c: usize, a: &mut [f32], p: &[f32]) {
    if a.len() <= c {
        with_simd(
            level,
            #[inline(always)]
            || wa.apply(a, p),
        );
    } else {
        a.par_chunks_mut(c).zip(p.par_chunks(c)).for_each(|(a, p)| {
            with_simd(
                level,
                #[inline(always)]
                || wa.apply(a, p),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use descent_core::optim::Averaging;

    #[test]
    fn equals_the_core_update_bitwise() {
        let n = SERIAL_BELOW + 3 * PAR_THRESHOLD + 13;
        for rule in [
            Averaging::Swa,
            Averaging::Ema { decay: 0.999 },
            Averaging::Ema { decay: 0.3 },
        ] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            let (mut core, mut fast) = (
                WeightAverage::new(rule).unwrap(),
                WeightAverage::new(rule).unwrap(),
            );
            let (mut a, mut b) = (vec![0.0f32; n], vec![0.0f32; n]);
            for k in 0..4u32 {
                let p: Vec<f32> = (0..n)
                    .map(|i| (i as f32 * 0.37 + k as f32).sin() * 3.0)
                    .collect();
                core.update(&mut a, &p).unwrap();
                pool.install(|| average_update(&mut fast, &mut b, &p))
                    .unwrap();
                assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
            }
            assert_eq!(fast, core);
            assert!(average_update(&mut fast, &mut b, &[0.0; 3]).is_err());
            assert_eq!(fast.n_averaged(), 4);
        }
    }
}
