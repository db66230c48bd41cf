//! Deterministic shuffles and train / validation / test splits.

use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Fisher–Yates shuffle of `0..n` driven by `Xoshiro256PlusPlus::seed_from_u64(seed)`.
pub fn shuffled_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut idx: Vec<usize> = (0..n).collect();
    shuffle(&mut idx, &mut rng);
    idx
}

/// In-place Fisher–Yates shuffle with an unbiased bounded draw (Lemire's method).
pub(crate) fn shuffle(idx: &mut [usize], rng: &mut Xoshiro256PlusPlus) {
    for i in (1..idx.len()).rev() {
        let j = bounded(rng, i as u64 + 1) as usize;
        idx.swap(i, j);
    }
}

/// Uniform integer in `0..n` (`n >= 1`) without modulo bias.
pub(crate) fn bounded(rng: &mut Xoshiro256PlusPlus, n: u64) -> u64 {
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = (rng.next_u64() as u128) * (n as u128);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Split `0..n` into two disjoint index sets after a seeded shuffle: the first holds
/// `n - round(n * fraction)` indices, the second the rest (both sorted, so row order within a
/// split is the file's order).
pub fn split_indices(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let k = ((n as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
    let idx = shuffled_indices(n, seed);
    let (a, b) = idx.split_at(n - k);
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_deterministic_disjoint_and_complete() {
        let (a, b) = split_indices(101, 0.2, 9);
        assert_eq!((a.len(), b.len()), (81, 20));
        assert_eq!(split_indices(101, 0.2, 9), (a.clone(), b.clone()));
        let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
        assert_ne!(split_indices(101, 0.2, 10).1, b);
    }
}
