//! Adafactor through descent-core's own update ([`AdafactorConfig::update_with`]) with a
//! [`Fork`] that runs its independent parts (rows, column blocks, blocks of a vector, the
//! partial sums' tree) on the rayon pool and each leaf compiled for the CPU's widest vectors.
//! The tree's shape depends only on the tensors' sizes, so the result is bitwise equal to the
//! core step on any number of threads. Below [`PAR_THRESHOLD`] parameters, or on a one-thread
//! pool, it stays on the calling thread.

use super::{simd_level, with_simd, FusedRule, SimdLevel, PAR_THRESHOLD};
use descent_core::optim::{AdafactorConfig, Fork, Group};

/// Each leaf through the vector dispatch of `level`; the two sides of a join on the rayon
/// pool when `parallel`, else one after the other on the calling thread.
#[derive(Clone, Copy)]
struct Pool {
    level: SimdLevel,
    parallel: bool,
}

impl Fork for Pool {
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        if self.parallel {
            rayon::join(a, b)
        } else {
            (a(), b())
        }
    }
    #[inline(always)]
    fn leaf<R>(self, f: impl FnOnce() -> R) -> R {
        with_simd(self.level, f)
    }
}

impl FusedRule for AdafactorConfig {
    fn fused_update(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) {
        let level = simd_level();
        if params.len() < PAR_THRESHOLD || rayon::current_num_threads() == 1 {
            let fork = Pool {
                level,
                parallel: false,
            };
            self.update_with(fork, t, groups, params, grads, state);
        } else {
            // One hand-over to the pool for the whole step: the joins inside then run on its
            // workers (a join from outside the pool waits for a worker each time).
            let fork = Pool {
                level,
                parallel: true,
            };
            rayon::scope(|_| self.update_with(fork, t, groups, params, grads, state));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::fused::step_fused;
    use descent_core::optim::{
        Adafactor, AdafactorConfig, GroupSpec, Optim, Optimizer, Shapes, TensorShape,
    };

    /// Matrices whose rows and column blocks span several leaves, a long vector of several
    /// blocks, two groups: bitwise the core step on 1 and 3 threads.
    #[test]
    fn pool_runs_are_bitwise_core() {
        let shapes = [
            TensorShape::Matrix(300, 131),
            TensorShape::Vector(300),
            TensorShape::Matrix(7, 3000),
            TensorShape::Vector(5000),
        ];
        let n: usize = shapes.iter().map(|s| s.numel()).sum();
        let cfg = AdafactorConfig::default()
            .weight_decay(0.01)
            .shapes(Shapes::new(&shapes).unwrap());
        let k = 300 * 131 + 300;
        let groups = [GroupSpec::new(k), GroupSpec::new(n - k).lr(0.05)];
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut a: Adafactor<f32, Vec<f32>> = Optim::owned_with_groups(cfg, &groups).unwrap();
            let mut b = a.clone();
            let mut pa: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
                .collect();
            let mut pb = pa.clone();
            for s in 0..4 {
                let g: Vec<f32> = (0..n)
                    .map(|i| (((i + s) * 104729) % 2001) as f32 / 1000.0 - 1.0)
                    .collect();
                a.step(&mut pa, &g).unwrap();
                pool.install(|| step_fused(&mut b, &mut pb, &g)).unwrap();
                assert!(
                    pa.iter().zip(&pb).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "step {s}"
                );
                assert!(a
                    .state()
                    .iter()
                    .zip(b.state())
                    .all(|(x, y)| x.to_bits() == y.to_bits()));
            }
        }
    }
}
