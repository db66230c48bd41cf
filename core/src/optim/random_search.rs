//! Derivative-free random search: the baseline that only compares losses.

use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Group, OptimizerKind};
use crate::error::{check_arg, check_len};
use crate::{Float, Result};

/// Random-search hyperparameters.
///
/// Each step draws z ~ N(0, I) (Box–Muller on a seeded xoshiro256++ stream) and tries
///
/// ```text
/// θ' = θ + σ z            (and, if `antithetic`, θ'' = θ − σ z)
/// θ  ← the best of θ, θ', θ''   (strict decrease of the loss required to move)
/// ```
///
/// It needs only loss evaluations, so it is the yardstick for what gradients buy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomSearchConfig {
    /// Perturbation scale σ (default 0.1); plays the role of the learning rate.
    pub sigma: f64,
    /// Seed of the random stream (default 0).
    pub seed: u64,
    /// Also try the mirrored point θ − σ z (default true).
    pub antithetic: bool,
}

impl Default for RandomSearchConfig {
    fn default() -> Self {
        Self {
            sigma: 0.1,
            seed: 0,
            antithetic: true,
        }
    }
}

setters!(RandomSearchConfig {
    sigma: f64,
    seed: u64,
    antithetic: bool,
});

/// The random-search optimizer. Same seed, same losses: fully deterministic.
#[derive(Debug, Clone)]
pub struct RandomSearch<T> {
    cfg: RandomSearchConfig,
    n: usize,
    rng: Xoshiro256PlusPlus,
    best: Option<T>,
    steps: u64,
    accepted: u64,
}

impl<T: Float> RandomSearch<T> {
    /// Scratch elements [`step`](Self::step) needs: `2 n` (noise and candidate).
    pub fn scratch_len(n_params: usize) -> usize {
        n_params.saturating_mul(2)
    }

    /// Validate `config` (σ finite and >= 0).
    pub fn new(config: RandomSearchConfig, n_params: usize) -> Result<Self> {
        check_arg(
            config.sigma.is_finite() && config.sigma >= 0.0,
            "sigma",
            config.sigma,
            "finite and >= 0",
        )?;
        Ok(Self {
            cfg: config,
            n: n_params,
            rng: Xoshiro256PlusPlus::seed_from_u64(config.seed),
            best: None,
            steps: 0,
            accepted: 0,
        })
    }

    /// Current σ.
    pub fn sigma(&self) -> f64 {
        self.cfg.sigma
    }
    /// Set σ (finite, >= 0), e.g. from a schedule.
    pub fn set_sigma(&mut self, sigma: f64) -> Result<()> {
        check_arg(
            sigma.is_finite() && sigma >= 0.0,
            "sigma",
            sigma,
            "finite and >= 0",
        )?;
        self.cfg.sigma = sigma;
        Ok(())
    }
    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// Steps that moved θ.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }
    /// Best loss seen (the loss at the current θ), once known.
    pub fn best_loss(&self) -> Option<T> {
        self.best
    }

    /// Random 64-bit draws per step: two per pair of coordinates (Box–Muller).
    fn draws_per_step(&self) -> u64 {
        self.n.div_ceil(2) as u64 * 2
    }

    /// Exact size in bytes of the exported state (format in [`state`](super::state)).
    pub fn state_bytes_len(&self) -> usize {
        super::state::bytes_len(1, 3, 1, T::BYTES)
    }

    fn group(&self) -> Group {
        Group {
            start: 0,
            len: self.n,
            lr: self.cfg.sigma,
            weight_decay: 0.0,
        }
    }

    /// Export σ, seed, step counters and the best loss. The random stream is stored as
    /// (seed, steps): xoshiro256++ exposes no state, so import replays the draws, which is exact.
    pub fn export_state(&self, out: &mut [u8]) -> Result<usize> {
        let best = [self.best.unwrap_or(T::NAN)];
        super::state::encode(
            OptimizerKind::RandomSearch,
            self.n,
            self.steps,
            &[self.group()],
            &[self.cfg.seed, self.accepted, u64::from(self.best.is_some())],
            &best,
            out,
        )
    }

    /// Import a state exported by a random search over the same number of parameters and
    /// dtype; validates everything first (`Error::BadState`). Replays `steps · n` draws of
    /// the random stream.
    pub fn import_state(&mut self, bytes: &[u8]) -> Result<()> {
        let mut groups = [self.group()];
        let mut counters = [0u64; 3];
        let mut best = [T::ZERO];
        let steps = super::state::decode(
            OptimizerKind::RandomSearch,
            self.n,
            &mut groups,
            &mut counters,
            |c| super::state::counter(c, 2) <= 1,
            &mut best,
            bytes,
        )?;
        // The stream is restored by replaying its draws: refuse counts that would take more
        // than ~2^32 draws (seconds) rather than hang.
        if steps.saturating_mul(self.draws_per_step()) > 1 << 32 {
            return Err(crate::Error::BadState {
                reason: "step count too large to replay the random stream (more than 2^32 draws)",
            });
        }
        if counters[1] > steps {
            return Err(crate::Error::BadState {
                reason: "more accepted steps than steps",
            });
        }
        self.cfg.sigma = groups[0].lr;
        self.cfg.seed = counters[0];
        self.rng = Xoshiro256PlusPlus::seed_from_u64(counters[0]);
        let draws = steps.saturating_mul(self.draws_per_step());
        for _ in 0..draws {
            self.rng.next_u64();
        }
        self.steps = steps;
        self.accepted = counters[1];
        self.best = if counters[2] == 1 {
            Some(best[0])
        } else {
            None
        };
        Ok(())
    }

    /// A uniform in (0, 1] with 53 random bits.
    fn uniform(&mut self) -> f64 {
        ((self.rng.next_u64() >> 11) as f64 + 1.0) * (1.0 / (1u64 << 53) as f64)
    }

    /// One step; `loss(θ)` evaluates the objective, `scratch` has at least
    /// [`scratch_len`](Self::scratch_len) elements. Returns the loss at the (possibly moved) θ.
    pub fn step<F: FnMut(&[T]) -> T>(
        &mut self,
        params: &mut [T],
        scratch: &mut [T],
        mut loss: F,
    ) -> Result<T> {
        check_len("params", params.len(), self.n)?;
        crate::error::check_min_len("scratch", scratch.len(), Self::scratch_len(self.n))?;
        let (z, cand) = scratch[..2 * self.n].split_at_mut(self.n);
        let mut best = match self.best {
            Some(b) => b,
            None => loss(params),
        };
        // Box–Muller, two normals per pair of uniforms.
        let mut i = 0;
        while i < z.len() {
            let u1 = self.uniform();
            let u2 = self.uniform();
            let r = <f64 as Float>::sqrt(-2.0 * <f64 as Float>::ln(u1));
            let a = 2.0 * core::f64::consts::PI * u2;
            z[i] = T::from_f64(r * <f64 as Float>::cos(a));
            if i + 1 < z.len() {
                z[i + 1] = T::from_f64(r * <f64 as Float>::sin(a));
            }
            i += 2;
        }
        let sigma = T::from_f64(self.cfg.sigma);
        // Try θ + σz (and θ − σz); θ itself is left untouched until the choice is made.
        let mut chosen = T::ZERO;
        let tries: &[T] = if self.cfg.antithetic {
            &[T::ONE, T::NAN]
        } else {
            &[T::ONE]
        };
        for &s in tries {
            let sign = if s == T::ONE { T::ONE } else { -T::ONE };
            for ((c, &p), &zi) in cand.iter_mut().zip(params.iter()).zip(z.iter()) {
                *c = p + sign * sigma * zi;
            }
            let f = loss(cand);
            if f < best {
                best = f;
                chosen = sign;
            }
        }
        let moved = chosen != T::ZERO;
        if moved {
            // Same arithmetic as the candidate, so θ is bitwise the evaluated point.
            for (p, &zi) in params.iter_mut().zip(z.iter()) {
                *p += chosen * sigma * zi;
            }
        }
        if moved {
            self.accepted += 1;
        }
        self.steps += 1;
        self.best = Some(best);
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_only_downhill_and_counts() {
        let mut rs = RandomSearch::<f64>::new(RandomSearchConfig::default().sigma(0.5), 3).unwrap();
        let mut x = [2.0f64, -1.0, 0.5];
        let mut scratch = [0.0f64; 6];
        let f = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
        let mut last = f(&x);
        for _ in 0..200 {
            let l = rs.step(&mut x, &mut scratch, f).unwrap();
            assert!(l <= last);
            assert_eq!(l, f(&x));
            last = l;
        }
        assert_eq!(rs.steps(), 200);
        assert!(rs.accepted() > 0 && rs.accepted() <= 200);
        assert!(last < 0.1);
    }

    #[test]
    fn zero_sigma_never_moves() {
        let mut rs = RandomSearch::<f32>::new(RandomSearchConfig::default().sigma(0.0), 2).unwrap();
        let mut x = [1.0f32, 1.0];
        let mut scratch = [0.0f32; 4];
        rs.step(&mut x, &mut scratch, |x| x[0] + x[1]).unwrap();
        assert_eq!(x, [1.0, 1.0]);
        assert_eq!(rs.accepted(), 0);
    }
}
