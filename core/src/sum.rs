//! Cascade (pairwise) summation: the reductions of the losses, penalties and norms.
//!
//! A running sum `s ← s + x_i` in `f32` loses the small terms once `s` is large: its error
//! grows like `n·ε·Σ|x_i|` (a sum of 2²⁴ + 1 ones stops at 2²⁴ = 16 777 216, and 10⁷ terms of
//! 0.1 come out near 1 087 937). PyTorch's CPU reductions (`sum`, `mean`, and so every
//! `reduction='mean'` loss) use a cascade sum, whose error grows like `log₂(n)·ε·Σ|x_i|`.
//! [`CascadeSum`] is the allocation-free equivalent: terms are added naively in blocks of
//! [`BLOCK`], and the block sums are combined pairwise through a binary counter of partial
//! sums (one per power of two), so equal-sized partial sums are always added together.
//! It costs one addition per term plus, amortized, one per block, and works in the input's
//! own type (no `f64` on an FPU that only has `f32`).

use crate::Float;

/// Terms added naively before a block's sum enters the pairwise tree.
pub const BLOCK: u32 = 32;

/// Levels of the binary counter: partial sums of `BLOCK·2^k` terms for `k < LEVELS`. Beyond
/// `BLOCK·2^LEVELS` terms (over 10¹¹) the top level accumulates naively.
const LEVELS: usize = 32;

/// Running cascade sum of a stream of terms (see the [module docs](self)):
/// `Σ x_i`, with error bounded by about `(BLOCK + log₂(n / BLOCK))·ε·Σ|x_i|`.
///
/// NaN and infinities propagate as in a naive sum (any NaN term, or `+∞` and `−∞` terms
/// together, give NaN).
#[derive(Clone, Copy, Debug)]
pub struct CascadeSum<T> {
    block: T,
    in_block: u32,
    levels: [T; LEVELS],
    occupied: u32,
}

impl<T: Float> Default for CascadeSum<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> CascadeSum<T> {
    /// An empty sum (`total() == 0`).
    #[inline]
    pub fn new() -> Self {
        CascadeSum {
            block: T::ZERO,
            in_block: 0,
            levels: [T::ZERO; LEVELS],
            occupied: 0,
        }
    }

    /// Add one term: `s ← s + x`.
    #[inline]
    pub fn add(&mut self, x: T) {
        self.block += x;
        self.in_block += 1;
        if self.in_block == BLOCK {
            self.carry();
        }
    }

    /// Move the full block into the counter, merging equal-sized partial sums.
    #[inline(never)]
    fn carry(&mut self) {
        let mut carry = self.block;
        self.block = T::ZERO;
        self.in_block = 0;
        let mut level = 0;
        while level < LEVELS - 1 && self.occupied & (1 << level) != 0 {
            carry = self.levels[level] + carry;
            self.levels[level] = T::ZERO;
            self.occupied &= !(1 << level);
            level += 1;
        }
        if self.occupied & (1 << level) != 0 {
            // Only the top level can still be occupied here.
            carry = self.levels[level] + carry;
        }
        self.levels[level] = carry;
        self.occupied |= 1 << level;
    }

    /// The sum of every term added so far: the partial sums from the smallest up, then the
    /// current block.
    #[inline]
    pub fn total(&self) -> T {
        let mut s = T::ZERO;
        let mut bits = self.occupied;
        while bits != 0 {
            let level = bits.trailing_zeros() as usize;
            s += self.levels[level];
            bits &= bits - 1;
        }
        s + self.block
    }
}

/// `Σ x_i` by [`CascadeSum`].
#[inline]
pub fn cascade_sum<T: Float>(terms: impl IntoIterator<Item = T>) -> T {
    let mut s = CascadeSum::new();
    for x in terms {
        s.add(x);
    }
    s.total()
}

impl<T: Float> Extend<T> for CascadeSum<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, terms: I) {
        for x in terms {
            self.add(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn naive(x: &[f32]) -> f32 {
        let mut s = 0.0f32;
        for &v in x {
            s += v;
        }
        s
    }

    #[test]
    fn small_sums_are_exact_and_empty_is_zero() {
        assert_eq!(cascade_sum::<f32>([]), 0.0);
        assert_eq!(cascade_sum([1.5f32]), 1.5);
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(cascade_sum(v.iter().copied()), 500_500.0);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // 17M terms
    fn ones_past_two_to_the_24_are_all_counted() {
        // A naive f32 sum stops at 2^24: 1 + 2^24 is not representable and rounds down.
        let n = (1u32 << 24) + 4096;
        let ones = core::iter::repeat_n(1.0f32, n as usize);
        assert_eq!(cascade_sum(ones.clone()), n as f32);
        assert_eq!(ones.fold(0.0f32, |s, x| s + x), 16_777_216.0);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // 10M terms
    fn ten_million_tenths() {
        let n = 10_000_000usize;
        let exact = n as f64 * f64::from(0.1f32);
        let got = f64::from(cascade_sum(core::iter::repeat_n(0.1f32, n)));
        assert!((got - exact).abs() / exact < 1e-6, "{got} vs {exact}");
        let naive = f64::from(naive(&std::vec![0.1f32; n]));
        assert!((naive - exact).abs() / exact > 1e-2, "{naive}");
    }

    #[test]
    fn nan_and_infinities_propagate() {
        assert!(cascade_sum([1.0f32, f32::NAN, 2.0]).is_nan());
        assert_eq!(cascade_sum([1.0f32, f32::INFINITY]), f32::INFINITY);
        let mut both = std::vec![0.0f32; 100];
        both[3] = f32::INFINITY;
        both[90] = f32::NEG_INFINITY;
        assert!(cascade_sum(both).is_nan());
    }

    #[test]
    fn the_counter_merges_equal_sizes() {
        // After 2^k full blocks exactly one level is occupied.
        for k in 0..6u32 {
            let mut s = CascadeSum::<f64>::new();
            s.extend(core::iter::repeat_n(1.0, (BLOCK << k) as usize));
            assert_eq!(s.occupied, 1 << k);
            assert_eq!(s.total(), f64::from(BLOCK << k));
        }
    }

    #[test]
    fn the_top_level_accumulates_when_full() {
        let mut s = CascadeSum::<f64>::new();
        s.occupied = u32::MAX;
        s.levels = [1.0; LEVELS];
        s.extend(core::iter::repeat_n(1.0, BLOCK as usize));
        // Every lower level merged into the top one, which kept its own.
        assert_eq!(s.occupied, 1 << (LEVELS - 1));
        assert_eq!(s.total(), LEVELS as f64 + f64::from(BLOCK));
    }
}
