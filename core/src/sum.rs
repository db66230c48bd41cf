//! Cascade (pairwise) summation: the reductions of the losses, penalties and norms.
//!
//! A running sum `s ← s + x_i` in `f32` loses the small terms once `s` is large: its error
//! grows like `n·ε·Σ|x_i|` (a sum of 2²⁴ + 1 ones stops at 2²⁴ = 16 777 216, and 10⁷ terms of
//! 0.1 come out near 1 087 937). PyTorch's CPU reductions (`sum`, `mean`, and so every
//! `reduction='mean'` loss) use a cascade sum, whose error grows like `log₂(n)·ε·Σ|x_i|`.
//! [`CascadeSum`] is the allocation-free equivalent:
//!
//! * terms are taken in blocks of [`BLOCK`] = 64; within a block, term `j` goes to lane
//!   `j mod 4` ([`LANES`]), each lane a running sum of 16 terms, and the block's sum is
//!   `(lane₀ + lane₁) + (lane₂ + lane₃)` (the order of a 4-wide vector reduction);
//! * block sums are combined pairwise through a binary counter of partial sums (one per power
//!   of two), so equal-sized partial sums are always added together.
//!
//! Error bound: about `(BLOCK/LANES + 2 + log₂(n / BLOCK))·ε·Σ|x_i|`. The order is fixed, so
//! the result is deterministic and the same whichever way the terms arrive
//! ([`add`](CascadeSum::add) one at a time, [`extend_from_slice`](CascadeSum::extend_from_slice)
//! in pieces of any length, [`cascade_sum`]). The slice path sums whole blocks with four
//! independent chains, which runs faster than a running sum (whose every addition waits for
//! the previous one). Works in the input's own type (no `f64` on an FPU that only has `f32`).

use crate::Float;

/// Terms per block: summed in [`LANES`] interleaved running sums before the block's sum
/// enters the pairwise tree.
pub const BLOCK: usize = 64;

/// Interleaved running sums within a block: term `j` of a block goes to lane `j mod LANES`.
pub const LANES: usize = 4;

/// Levels of the binary counter: partial sums of `BLOCK·2^k` terms for `k < LEVELS`. Beyond
/// `BLOCK·2^LEVELS` terms (over 10¹¹) the top level accumulates naively.
const LEVELS: usize = 32;

/// Running cascade sum of a stream of terms (see the [module docs](self)):
/// `Σ x_i`, with error bounded by about `(BLOCK/LANES + 2 + log₂(n / BLOCK))·ε·Σ|x_i|`.
///
/// NaN and infinities propagate as in a naive sum (any NaN term, or `+∞` and `−∞` terms
/// together, give NaN).
#[derive(Clone, Copy, Debug)]
pub struct CascadeSum<T> {
    lanes: [T; LANES],
    in_block: usize,
    tree: Tree<T>,
}

/// The binary counter of block sums: `levels[k]` holds the sum of `BLOCK·2^k` terms when bit
/// `k` of `occupied` is set.
#[derive(Clone, Copy, Debug)]
struct Tree<T> {
    levels: [T; LEVELS],
    occupied: u32,
}

impl<T: Float> Tree<T> {
    /// Add a full block's sum, merging equal-sized partial sums.
    #[inline(never)]
    fn push(&mut self, block: T) {
        let mut carry = block;
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

    /// The partial sums, from the smallest up.
    fn total(&self) -> T {
        let mut s = T::ZERO;
        let mut bits = self.occupied;
        while bits != 0 {
            let level = bits.trailing_zeros() as usize;
            s += self.levels[level];
            bits &= bits - 1;
        }
        s
    }
}

// `combine` and `block_sum` spell out four lanes.
const _: () = assert!(LANES == 4);

/// `(l₀ + l₁) + (l₂ + l₃)`.
#[inline(always)]
fn combine<T: Float>(l: [T; LANES]) -> T {
    (l[0] + l[1]) + (l[2] + l[3])
}

/// The sum of one full block, lane by lane (the order [`CascadeSum::add`] uses).
#[inline]
fn block_sum<T: Float>(block: &[T]) -> T {
    let mut l = [T::ZERO; LANES];
    for q in block.chunks_exact(LANES) {
        l[0] += q[0];
        l[1] += q[1];
        l[2] += q[2];
        l[3] += q[3];
    }
    combine(l)
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
            lanes: [T::ZERO; LANES],
            in_block: 0,
            tree: Tree {
                levels: [T::ZERO; LEVELS],
                occupied: 0,
            },
        }
    }

    /// Add one term: `s ← s + x` (into lane `in_block mod LANES` of the current block).
    #[inline]
    pub fn add(&mut self, x: T) {
        self.lanes[self.in_block % LANES] += x;
        self.in_block += 1;
        if self.in_block == BLOCK {
            self.tree.push(combine(self.lanes));
            self.lanes = [T::ZERO; LANES];
            self.in_block = 0;
        }
    }

    /// Add every term of `terms`, in order: the same result as [`add`](Self::add) on each,
    /// with whole blocks summed directly from the slice.
    #[inline]
    pub fn extend_from_slice(&mut self, terms: &[T]) {
        let mut rest = terms;
        // Complete a pending block term by term.
        while self.in_block != 0 {
            let Some((&x, tail)) = rest.split_first() else {
                return;
            };
            self.add(x);
            rest = tail;
        }
        let mut blocks = rest.chunks_exact(BLOCK);
        for b in &mut blocks {
            self.tree.push(block_sum(b));
        }
        for &x in blocks.remainder() {
            self.add(x);
        }
    }

    /// The sum of every term added so far: the partial sums from the smallest up, then the
    /// current block.
    #[inline]
    pub fn total(&self) -> T {
        self.tree.total() + combine(self.lanes)
    }
}

/// `Σ x_i` by [`CascadeSum`].
#[inline]
pub fn cascade_sum<T: Float>(terms: impl IntoIterator<Item = T>) -> T {
    let mut s = CascadeSum::new();
    s.extend(terms);
    s.total()
}

/// Adds the terms in order (the same result as [`CascadeSum::add`] on each), gathered a
/// block at a time so that whole blocks take the slice path.
impl<T: Float> Extend<T> for CascadeSum<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, terms: I) {
        let mut it = terms.into_iter();
        let mut buf = [T::ZERO; BLOCK];
        loop {
            let mut n = 0;
            for (slot, x) in buf.iter_mut().zip(&mut it) {
                *slot = x;
                n += 1;
            }
            self.extend_from_slice(&buf[..n]);
            if n < BLOCK {
                return;
            }
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
            s.extend(core::iter::repeat_n(1.0, BLOCK << k));
            assert_eq!(s.tree.occupied, 1 << k);
            assert_eq!(s.total(), (BLOCK << k) as f64);
        }
    }

    #[test]
    fn the_top_level_accumulates_when_full() {
        let mut s = CascadeSum::<f64>::new();
        s.tree.occupied = u32::MAX;
        s.tree.levels = [1.0; LEVELS];
        s.extend(core::iter::repeat_n(1.0, BLOCK));
        // Every lower level merged into the top one, which kept its own.
        assert_eq!(s.tree.occupied, 1 << (LEVELS - 1));
        assert_eq!(s.total(), (LEVELS + BLOCK) as f64);
    }
}
