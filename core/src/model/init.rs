//! PyTorch's default `nn.Linear` initialization, seeded.

use crate::Float;
use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The bound `1/sqrt(fan_in)` of PyTorch's default `nn.Linear` init: weights are
/// `kaiming_uniform_(a = sqrt(5))`, i.e. `U(-b, b)` with `b = sqrt(6 / ((1 + 5) fan_in)) =
/// 1/sqrt(fan_in)`, and biases `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`: the same bound.
/// `fan_in = 0` gives 0.
pub fn linear_init_bound(fan_in: usize) -> f64 {
    if fan_in == 0 {
        0.0
    } else {
        1.0 / (fan_in as f64).sqrt()
    }
}

/// Fill `out` with independent draws from `U(-bound, bound)` using `rng`
/// (53-bit uniform `u` in [0, 1), value `bound * (2u - 1)`).
pub fn init_uniform<T: Float>(out: &mut [T], bound: f64, rng: &mut Xoshiro256PlusPlus) {
    for v in out.iter_mut() {
        let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        *v = T::from_f64(bound * (2.0 * u - 1.0));
    }
}

/// A seeded generator for initialization (`Xoshiro256PlusPlus::seed_from_u64`).
pub(crate) fn init_rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_within_bound_and_deterministic() {
        let mut a = [0.0f64; 1000];
        let mut b = [0.0f64; 1000];
        init_uniform(&mut a, 0.1, &mut init_rng(7));
        init_uniform(&mut b, 0.1, &mut init_rng(7));
        assert_eq!(a, b);
        assert!(a.iter().all(|v| v.abs() <= 0.1));
        let mean: f64 = a.iter().sum::<f64>() / 1000.0;
        assert!(mean.abs() < 0.01, "{mean}");
        // Variance of U(-b, b) is b^2/3.
        let var: f64 = a.iter().map(|v| v * v).sum::<f64>() / 1000.0;
        assert!((var - 0.01 / 3.0).abs() < 0.0006, "{var}");
    }

    #[test]
    fn bound_formula() {
        assert_eq!(linear_init_bound(4), 0.5);
        assert_eq!(linear_init_bound(0), 0.0);
    }
}
