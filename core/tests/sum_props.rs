//! Properties of the cascade summation (`descent_core::sum`) on random inputs.

use descent_core::sum::{cascade_sum, CascadeSum, BLOCK, LANES};
use proptest::prelude::*;

proptest! {
    /// Within the cascade bound of the exact (f64) sum, for any length and sign mix:
    /// `(BLOCK / LANES + 2 + log2 n + 2) ε Σ|x_i|`.
    #[test]
    fn within_the_cascade_bound(x in proptest::collection::vec(-1e3f32..1e3, 0..5000)) {
        let exact: f64 = x.iter().map(|&v| f64::from(v)).sum();
        let abs: f64 = x.iter().map(|&v| f64::from(v).abs()).sum();
        let n = x.len().max(1) as f64;
        let bound = ((BLOCK / LANES) as f64 + 4.0 + n.log2()) * f64::from(f32::EPSILON) * abs;
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

    /// Slices of any lengths, single terms and the iterator form give the same bits: the
    /// order is fixed by each term's position in the stream.
    #[test]
    fn every_way_in_gives_the_same_bits(
        x in proptest::collection::vec(-1e3f32..1e3, 0..700),
        cuts in proptest::collection::vec(0usize..700, 0..6),
    ) {
        let mut one = CascadeSum::new();
        for &v in &x {
            one.add(v);
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(x.len())).collect();
        cuts.sort_unstable();
        let mut pieces = CascadeSum::new();
        let mut from = 0;
        for c in cuts.into_iter().chain([x.len()]) {
            pieces.extend_from_slice(&x[from..c]);
            from = c;
        }
        prop_assert_eq!(pieces.total().to_bits(), one.total().to_bits());
        prop_assert_eq!(cascade_sum(x.iter().copied()).to_bits(), one.total().to_bits());
    }
}
