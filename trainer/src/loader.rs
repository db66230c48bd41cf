//! Mini-batch order over a training split: shuffle without replacement each epoch (the
//! default), sampling with replacement, or sequential; optional `drop_last`.
//!
//! Randomness is derived from `(seed, epoch)` (permutations) and `(seed, batch number)`
//! (draws with replacement) with `Xoshiro256PlusPlus`, so the whole state is three counters:
//! [`Loader::export_state`] is 32 bytes and a resumed run sees exactly the batches an
//! uninterrupted one would. Batches are written into a reused buffer: no allocation per step.

use crate::data::split::{bounded, shuffle};
use crate::data::DataError;
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// How rows are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// A fresh random permutation each epoch (sampling without replacement).
    #[default]
    Shuffle,
    /// Every batch drawn uniformly with replacement.
    Replacement,
    /// Rows in file order.
    Sequential,
}

impl Sampling {
    /// Parse `shuffle`, `replacement` or `sequential`.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "shuffle" => Some(Sampling::Shuffle),
            "replacement" | "with-replacement" => Some(Sampling::Replacement),
            "sequential" => Some(Sampling::Sequential),
            _ => None,
        }
    }
}

const STATE_MAGIC: &[u8; 4] = b"DSLD";
const STATE_LEN: usize = 4 + 4 + 8 + 8 + 8;

/// Yields the row indices of successive mini-batches of a split of `n` rows.
#[derive(Debug, Clone)]
pub struct Loader {
    n: usize,
    batch: usize,
    sampling: Sampling,
    drop_last: bool,
    seed: u64,
    perm: Vec<usize>,
    out: Vec<usize>,
    epoch: u64,
    pos: usize,
    batches: u64,
}

fn mix(seed: u64, k: u64, salt: u64) -> u64 {
    seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt
}

impl Loader {
    /// A loader over `n` rows with batches of `batch` rows.
    pub fn new(
        n: usize,
        batch: usize,
        sampling: Sampling,
        drop_last: bool,
        seed: u64,
    ) -> Result<Self, DataError> {
        if batch == 0 {
            return Err(DataError::new("--batch-size 0: expected at least 1"));
        }
        if n == 0 || (drop_last && batch > n) {
            return Err(DataError::new(format!(
                "--batch-size {batch} with {n} training rows{}: no full batch; expected a batch size <= the number of rows",
                if drop_last { " and drop_last" } else { "" }
            )));
        }
        let mut l = Loader {
            n,
            batch,
            sampling,
            drop_last,
            seed,
            perm: (0..n).collect(),
            // A batch never holds more than the n rows (PyTorch's DataLoader takes a batch
            // size above n as "one batch of everything").
            out: Vec::with_capacity(batch.min(n)),
            epoch: 0,
            pos: 0,
            batches: 0,
        };
        l.start_epoch();
        Ok(l)
    }

    fn start_epoch(&mut self) {
        if self.sampling == Sampling::Shuffle {
            for (i, p) in self.perm.iter_mut().enumerate() {
                *p = i;
            }
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(self.seed, self.epoch, 0x5eed));
            shuffle(&mut self.perm, &mut rng);
        }
    }

    /// Batches per epoch: `n / batch` with `drop_last`, else `ceil(n / batch)`.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.n / self.batch
        } else {
            self.n.div_ceil(self.batch)
        }
    }

    /// Completed epochs.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Batches handed out so far.
    pub fn batches(&self) -> u64 {
        self.batches
    }

    /// The next batch's row indices (a new epoch begins after the last batch of one).
    pub fn next_batch(&mut self) -> &[usize] {
        let per_epoch_rows = self.batches_per_epoch() * self.batch;
        let end_of_epoch = if self.drop_last {
            self.pos >= per_epoch_rows
        } else {
            self.pos >= self.n
        };
        if end_of_epoch {
            self.epoch += 1;
            self.pos = 0;
            self.start_epoch();
        }
        let take = self.batch.min(self.n - self.pos);
        self.out.clear();
        match self.sampling {
            Sampling::Shuffle => self
                .out
                .extend_from_slice(&self.perm[self.pos..self.pos + take]),
            Sampling::Sequential => self.out.extend(self.pos..self.pos + take),
            Sampling::Replacement => {
                let mut rng =
                    Xoshiro256PlusPlus::seed_from_u64(mix(self.seed, self.batches, 0x4e91));
                let n = self.n as u64;
                self.out
                    .extend((0..take).map(|_| bounded(&mut rng, n) as usize));
            }
        }
        self.pos += take;
        self.batches += 1;
        &self.out
    }

    /// The position as bytes: magic `DSLD`, version 1, epoch, row position and batch count
    /// (u64 little-endian each).
    pub fn export_state(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(STATE_LEN);
        v.extend_from_slice(STATE_MAGIC);
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&self.epoch.to_le_bytes());
        v.extend_from_slice(&(self.pos as u64).to_le_bytes());
        v.extend_from_slice(&self.batches.to_le_bytes());
        v
    }

    /// Restore a position saved by [`export_state`](Self::export_state) from a loader with the
    /// same `n`, batch size, sampling and seed; validates every field.
    pub fn import_state(&mut self, b: &[u8]) -> Result<(), DataError> {
        if b.len() != STATE_LEN || &b[..4] != STATE_MAGIC {
            return Err(DataError::new(format!(
                "loader state: {} bytes; expected {STATE_LEN} starting with `DSLD`",
                b.len()
            )));
        }
        let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if u32::from_le_bytes(b[4..8].try_into().expect("4 bytes")) != 1 {
            return Err(DataError::new("loader state: unknown version; expected 1"));
        }
        let (epoch, pos, batches) = (u(8), u(16), u(24));
        // Positions are batch boundaries (or the end of the split when the last batch is
        // partial); counters stay far from overflow.
        let end = if self.drop_last {
            (self.batches_per_epoch() * self.batch) as u64
        } else {
            self.n as u64
        };
        if pos > end || (pos % self.batch as u64 != 0 && pos != end) {
            return Err(DataError::new(format!(
                "loader state: position {pos} is not a batch boundary of {} training rows in batches of {}",
                self.n, self.batch
            )));
        }
        if epoch > 1 << 53 || batches > 1 << 53 {
            return Err(DataError::new(format!(
                "loader state: epoch {epoch} / batch count {batches} implausibly large (more than 2^53)"
            )));
        }
        self.epoch = epoch;
        self.pos = pos as usize;
        self.batches = batches;
        self.start_epoch();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_covers_every_row_once_per_epoch() {
        let mut l = Loader::new(10, 3, Sampling::Shuffle, false, 1).unwrap();
        assert_eq!(l.batches_per_epoch(), 4);
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.extend_from_slice(l.next_batch());
        }
        let first = seen.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        let mut second = Vec::new();
        for _ in 0..4 {
            second.extend_from_slice(l.next_batch());
        }
        assert_ne!(first, second, "a new permutation each epoch");
        assert_eq!(l.epoch(), 1);
    }

    #[test]
    fn drop_last_and_sequential() {
        let mut l = Loader::new(10, 3, Sampling::Sequential, true, 0).unwrap();
        assert_eq!(l.batches_per_epoch(), 3);
        assert_eq!(l.next_batch(), &[0, 1, 2]);
        l.next_batch();
        assert_eq!(l.next_batch(), &[6, 7, 8]);
        assert_eq!(l.next_batch(), &[0, 1, 2]);
        assert!(Loader::new(2, 3, Sampling::Shuffle, true, 0).is_err());
        assert!(Loader::new(2, 0, Sampling::Shuffle, false, 0).is_err());
    }

    /// `--batch-size 100000000000` on a 150-row set aborted the process: the batch buffer
    /// was allocated for the batch size, not for the rows it can hold.
    #[test]
    fn batch_size_above_the_row_count_is_one_batch() {
        for s in [
            Sampling::Shuffle,
            Sampling::Replacement,
            Sampling::Sequential,
        ] {
            let mut l = Loader::new(10, usize::MAX / 4, s, false, 0).unwrap();
            assert_eq!(l.batches_per_epoch(), 1);
            assert_eq!(l.next_batch().len(), 10);
            assert_eq!(l.next_batch().len(), 10);
            let st = l.export_state();
            l.import_state(&st).unwrap();
        }
    }

    #[test]
    fn replacement_stays_in_range() {
        let mut l = Loader::new(7, 5, Sampling::Replacement, false, 3).unwrap();
        for _ in 0..20 {
            assert!(l.next_batch().iter().all(|&i| i < 7));
        }
    }

    #[test]
    fn state_round_trip_continues_identically() {
        for s in [
            Sampling::Shuffle,
            Sampling::Replacement,
            Sampling::Sequential,
        ] {
            let mut a = Loader::new(23, 4, s, false, 9).unwrap();
            for _ in 0..9 {
                a.next_batch();
            }
            let st = a.export_state();
            let mut b = Loader::new(23, 4, s, false, 9).unwrap();
            b.import_state(&st).unwrap();
            for _ in 0..20 {
                assert_eq!(a.next_batch().to_vec(), b.next_batch().to_vec());
            }
            assert!(b.import_state(&st[..10]).is_err());
            let mut bad = st.clone();
            bad[16..24].copy_from_slice(&999u64.to_le_bytes());
            assert!(b.import_state(&bad).is_err());
        }
    }
}
