//! Properties of the cascade summation (`descent_core::sum`) on random inputs.

use descent_core::sum::{cascade_sum, CascadeSum, BLOCK};
use proptest::prelude::*;

proptest! {
    /// Within the cascade bound of the exact (f64) sum, for any length and sign mix:
    /// `(BLOCK + log2 n + 2) ε Σ|x_i|`.
    #[test]
    fn within_the_cascade_bound(x in proptest::collection::vec(-1e3f32..1e3, 0..5000)) {
        let exact: f64 = x.iter().map(|&v| f64::from(v)).sum();
        let abs: f64 = x.iter().map(|&v| f64::from(v).abs()).sum();
        let n = x.len().max(1) as f64;
        let bound = (f64::from(BLOCK) + n.log2() + 2.0) * f64::from(f32::EPSILON) * abs;
        let got = f64::from(cascade_sum(x.iter().copied()));
        prop_assert!((got - exact).abs() <= bound, "{} vs {} (bound {})", got, exact, bound);
    }

    /// Extending in pieces is the same sum as one pass.
    #[test]
    fn pieces_equal_one_pass(x in proptest::collection::vec(-1e3f32..1e3, 0..500), cut in 0usize..500) {
        let cut = cut.min(x.len());
        let mut s = CascadeSum::new();
        s.extend(x[..cut].iter().copied());
        s.extend(x[cut..].iter().copied());
        prop_assert_eq!(s.total().to_bits(), cascade_sum(x.iter().copied()).to_bits());
    }
}
