//! Shared helpers for the optimizer integration tests.
#![allow(dead_code)]

use descent_core::optim::*;

/// A strongly convex quadratic f(x) = ½ (x − x*)ᵀ A (x − x*) with A = Q diag(λ) Q,
/// Q = I − 2 v vᵀ / ‖v‖² (a Householder reflection), eigenvalues λ ∈ [mu, l].
#[derive(Debug, Clone)]
pub struct Quadratic {
    pub n: usize,
    pub a: Vec<f64>,
    pub x_star: Vec<f64>,
}

impl Quadratic {
    /// Build from eigenvalues, a reflection vector (nonzero) and the optimum.
    pub fn new(lambda: &[f64], v: &[f64], x_star: &[f64]) -> Self {
        let n = lambda.len();
        let vv: f64 = v.iter().map(|x| x * x).sum();
        let q = |i: usize, j: usize| (if i == j { 1.0 } else { 0.0 }) - 2.0 * v[i] * v[j] / vv;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| q(i, k) * lambda[k] * q(k, j)).sum();
            }
        }
        Self {
            n,
            a,
            x_star: x_star.to_vec(),
        }
    }

    /// Loss at x; writes the gradient A (x − x*) into g.
    pub fn loss_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let n = self.n;
        let d: Vec<f64> = x.iter().zip(&self.x_star).map(|(a, b)| a - b).collect();
        let mut f = 0.0;
        for i in 0..n {
            let gi: f64 = (0..n).map(|j| self.a[i * n + j] * d[j]).sum();
            g[i] = gi;
            f += 0.5 * d[i] * gi;
        }
        f
    }

    /// max |x − x*|.
    pub fn dist(&self, x: &[f64]) -> f64 {
        x.iter()
            .zip(&self.x_star)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }
}

/// Every first-order optimizer, with a configuration that suits quadratics whose eigenvalues
/// lie in [1, 10], over the given groups.
pub fn zoo<T: descent_core::Float>(
    groups: &[GroupSpec],
) -> Vec<(&'static str, Box<dyn Optimizer<T>>)> {
    fn b<T: descent_core::Float, R: Rule + 'static>(
        r: R,
        g: &[GroupSpec],
    ) -> Box<dyn Optimizer<T>> {
        Box::new(Optim::<T, R, Vec<T>>::owned_with_groups(r, g).unwrap())
    }
    let g = groups;
    vec![
        ("SGD", b(SgdConfig::default().lr(0.1), g)),
        (
            "SGD-heavy-ball",
            b(SgdConfig::default().lr(0.2307).momentum(0.2699), g),
        ),
        (
            "SGD-nesterov",
            b(SgdConfig::default().lr(0.1).momentum(0.5).nesterov(true), g),
        ),
        (
            "SGD-dampening",
            b(SgdConfig::default().lr(0.1).momentum(0.5).dampening(0.5), g),
        ),
        ("Adam", b(AdamConfig::default().lr(0.05), g)),
        (
            "Adam-amsgrad",
            b(AdamConfig::default().lr(0.05).amsgrad(true), g),
        ),
        (
            "AdamW",
            b(AdamWConfig::default().lr(0.05).weight_decay(0.0), g),
        ),
        ("Adagrad", b(AdagradConfig::default().lr(0.5), g)),
        ("RMSprop", b(RmsPropConfig::default().lr(0.01), g)),
        (
            "RMSprop-centered-momentum",
            b(
                RmsPropConfig::default()
                    .lr(0.01)
                    .centered(true)
                    .momentum(0.5),
                g,
            ),
        ),
        ("Adadelta", b(AdadeltaConfig::default().lr(1.0), g)),
        ("Adamax", b(AdamaxConfig::default().lr(0.05), g)),
        ("NAdam", b(NAdamConfig::default().lr(0.05), g)),
        (
            "NAdam-decoupled",
            b(
                NAdamConfig::default().lr(0.05).decoupled_weight_decay(true),
                g,
            ),
        ),
        ("RAdam", b(RAdamConfig::default().lr(0.05), g)),
        (
            "RAdam-decoupled",
            b(
                RAdamConfig::default().lr(0.05).decoupled_weight_decay(true),
                g,
            ),
        ),
        ("Rprop", b(RpropConfig::default().lr(0.05), g)),
        // λ = 0: with a decay term the iterates settle at the optimum of f + λ/2 |θ|².
        (
            "ASGD",
            b(AsgdConfig::default().lr(0.05).lambd(0.0).t0(50.0), g),
        ),
        // No shapes: each group is one vector tensor.
        ("Adafactor", b(AdafactorConfig::default().lr(0.05), g)),
    ]
}

/// A standard normal from a xoshiro stream (Box–Muller, one value per call).
pub fn normal(rng: &mut rand_xoshiro::Xoshiro256PlusPlus) -> f64 {
    use rand_core::RngCore;
    let u1 = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Rosenbrock in n dimensions: Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at (1, …, 1).
pub fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
    g.fill(0.0);
    let mut f = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
        g[i] += -400.0 * a * x[i] - 2.0 * b;
        g[i + 1] += 200.0 * a;
    }
    f
}
