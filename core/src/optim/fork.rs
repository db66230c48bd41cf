//! [`Fork`]: how an update that is not element-wise (Adafactor's per-tensor norms) lets a
//! faster runner split its work: a fixed tree of independent parts whose shape depends only on
//! the sizes, so any runner — [`Sequential`] here, rayon's `join` in descent-kernels — gives
//! the same bits.

/// Runs two parts of an update, possibly in parallel, and each leaf of the tree, possibly
/// compiled for wider vectors.
pub trait Fork: Copy + Send + Sync {
    /// Run `a` and `b` (in any order or at once) and return both results.
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send;
    /// Run one leaf (descent-kernels: inside its CPU-feature dispatch).
    fn leaf<R>(self, f: impl FnOnce() -> R) -> R;
}

/// The reference [`Fork`]: everything in order on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sequential;

impl Fork for Sequential {
    #[inline]
    fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        (a(), b())
    }
    #[inline]
    fn leaf<R>(self, f: impl FnOnce() -> R) -> R {
        f()
    }
}

/// Σ `f(b)` over blocks `a..b`: in order within a leaf of at most `leaf` blocks, and the two
/// halves of a larger range added (left + right), so the rounding depends only on the sizes.
pub(crate) fn tree_sum<F: Fork>(
    fork: F,
    a: usize,
    b: usize,
    leaf: usize,
    f: impl Fn(usize) -> f64 + Sync,
) -> f64 {
    sum_in(fork, a, b, leaf, &f)
}

fn sum_in<F: Fork>(
    fork: F,
    a: usize,
    b: usize,
    leaf: usize,
    f: &(impl Fn(usize) -> f64 + Sync),
) -> f64 {
    if b - a <= leaf.max(1) {
        return fork.leaf(
            #[inline(always)]
            || {
                let mut s = 0.0;
                for i in a..b {
                    s += f(i);
                }
                s
            },
        );
    }
    let m = a + (b - a) / 2;
    let (x, y) = fork.join(
        || sum_in(fork, a, m, leaf, f),
        || sum_in(fork, m, b, leaf, f),
    );
    x + y
}

/// `f(first_block, chunk)` over `x` split at block boundaries (`bl` elements per block, the
/// last may be shorter), halving until a part has at most `leaf` blocks.
pub(crate) fn tree_mut<F: Fork, T: Send>(
    fork: F,
    x: &mut [T],
    bl: usize,
    leaf: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    mut_in(fork, x, bl, leaf, 0, &f)
}

fn mut_in<F: Fork, T: Send>(
    fork: F,
    x: &mut [T],
    bl: usize,
    leaf: usize,
    first: usize,
    f: &(impl Fn(usize, &mut [T]) + Sync),
) {
    let blocks = x.len().div_ceil(bl.max(1));
    if blocks <= leaf.max(1) {
        fork.leaf(
            #[inline(always)]
            || f(first, x),
        );
        return;
    }
    let m = blocks / 2;
    let (x0, x1) = x.split_at_mut(m * bl);
    fork.join(
        || mut_in(fork, x0, bl, leaf, first, f),
        || mut_in(fork, x1, bl, leaf, first + m, f),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_cover_every_block_once() {
        let s = tree_sum(Sequential, 0, 1000, 7, |i| i as f64);
        assert_eq!(s, 999.0 * 1000.0 / 2.0);
        let mut x = [0usize; 1003];
        tree_mut(Sequential, &mut x, 10, 3, |b, c| {
            for (k, v) in c.iter_mut().enumerate() {
                *v += b * 10 + k + 1;
            }
        });
        assert!(x.iter().enumerate().all(|(i, &v)| v == i + 1));
    }
}
