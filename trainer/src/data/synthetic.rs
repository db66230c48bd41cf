//! The lectures' synthetic linear regression: `y = X theta + sigma * eps`.

use super::{Dataset, Result, Targets};
use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A generated regression problem and the coefficients that generated it.
#[derive(Debug, Clone)]
pub struct SyntheticLinear {
    /// The samples: `n x m` features `X ~ N(0, 1)`, one target each.
    pub data: Dataset,
    /// The true coefficients `theta` (`m` weights; no intercept).
    pub theta: Vec<f64>,
}

/// Standard normal draws by Box–Muller from 53-bit uniforms.
pub(crate) struct Normal {
    rng: Xoshiro256PlusPlus,
    spare: Option<f64>,
}

impl Normal {
    pub(crate) fn new(seed: u64) -> Self {
        Normal {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            spare: None,
        }
    }

    fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn sample(&mut self) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }
}

/// `n` samples of `y = X theta + sigma * eps` with `X_ij, eps_i ~ N(0, 1)` and
/// `theta ~ N(0, 1)^m` (or `theta` when given), all from `seed`.
pub fn synthetic_linear(
    n: usize,
    m: usize,
    sigma: f64,
    theta: Option<&[f64]>,
    seed: u64,
) -> Result<SyntheticLinear> {
    if m == 0 || n == 0 || !sigma.is_finite() || sigma < 0.0 {
        return Err(super::DataError::new(format!(
            "synthetic-linear: N = {n}, M = {m}, sigma = {sigma}; expected N >= 1, M >= 1, sigma >= 0"
        )));
    }
    // Reserve fallibly: N x M beyond memory (or beyond usize) is an error, not an abort.
    let too_big = || {
        super::DataError::new(format!(
            "synthetic-linear: N = {n}, M = {m}: N x M feature values do not fit in memory; expected smaller N or M"
        ))
    };
    let mut x: Vec<f32> = Vec::new();
    x.try_reserve_exact(n.checked_mul(m).ok_or_else(too_big)?)
        .map_err(|_| too_big())?;
    let mut y: Vec<f32> = Vec::new();
    y.try_reserve_exact(n).map_err(|_| too_big())?;
    let mut g = Normal::new(seed);
    let theta: Vec<f64> = match theta {
        Some(t) if t.len() == m => t.to_vec(),
        Some(t) => {
            return Err(super::DataError::new(format!(
                "synthetic-linear: theta has {} values; expected M = {m}",
                t.len()
            )))
        }
        None => (0..m).map(|_| g.sample()).collect(),
    };
    for _ in 0..n {
        let mut dot = 0.0;
        for t in &theta {
            let v = g.sample();
            dot += v * t;
            x.push(v as f32);
        }
        y.push((dot + sigma * g.sample()) as f32);
    }
    let data = Dataset::new("synthetic-linear", x, m, Targets::Values { y, outputs: 1 })?;
    Ok(SyntheticLinear { data, theta })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_follows_the_model() {
        let a = synthetic_linear(500, 2, 0.0, Some(&[1.5, -2.0]), 1).unwrap();
        let b = synthetic_linear(500, 2, 0.0, Some(&[1.5, -2.0]), 1).unwrap();
        assert_eq!(a.data, b.data);
        let Targets::Values { y, .. } = &a.data.targets else {
            panic!()
        };
        for (row, &yi) in a.data.x.chunks(2).zip(y) {
            let want = 1.5 * row[0] as f64 - 2.0 * row[1] as f64;
            assert!((yi as f64 - want).abs() < 1e-5);
        }
        let mean: f64 = a.data.x.iter().map(|&v| v as f64).sum::<f64>() / 1000.0;
        assert!(mean.abs() < 0.15, "{mean}");
        assert!(synthetic_linear(10, 2, -1.0, None, 0).is_err());
        // Sizes beyond memory, or whose product overflows usize, are errors, not aborts
        // (`--synthetic-n 4611686018427387904 --synthetic-m 4` panicked with a capacity
        // overflow).
        for (n, m) in [
            (1 << 62, 4),
            (1 << 61, 1),
            (usize::MAX, usize::MAX),
            (1, 1 << 62),
        ] {
            let e = synthetic_linear(n, m, 0.1, None, 0).unwrap_err();
            assert!(e.message().contains("do not fit in memory"), "{e}");
        }
    }
}
