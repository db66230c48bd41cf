//! Regression tests for trainer bugs found by fuzzing (fuzz/fuzz_targets/loader_state.rs).
//!
//! A resume state is hostile input (a checkpoint can be corrupted or hand-edited): importing it
//! must either fail with a one-line error or give a loader that keeps its guarantees.

use std::panic::{catch_unwind, AssertUnwindSafe};

use descent_trainer::loader::{Loader, Sampling};

fn state(epoch: u64, pos: u64, batches: u64) -> Vec<u8> {
    let mut b = b"DSLD".to_vec();
    b.extend_from_slice(&1u32.to_le_bytes());
    for v in [epoch, pos, batches] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

/// Found by `loader_state`: `import_state` only checks `pos <= n`, so a position that is not on
/// a batch boundary (n = 180, batch = 40, drop_last, pos = 70) is accepted, and the loader then
/// hands out a 30-row batch although `drop_last` promises full batches only.
#[test]
fn drop_last_resume_at_misaligned_position_gives_only_full_batches() {
    let mut l = Loader::new(180, 40, Sampling::Shuffle, true, 7).unwrap();
    if l.import_state(&state(0, 70, 1)).is_err() {
        return; // rejected: fine
    }
    for _ in 0..8 {
        let len = l.next_batch().len();
        assert_eq!(
            len, 40,
            "drop_last loader resumed at row 70 gave a {len}-row batch"
        );
    }
}

/// Found by `loader_state` (same family as the optimizer/scheduler counters): `import_state`
/// accepts `epoch = u64::MAX` and `batches = u64::MAX`; `next_batch` then does `epoch += 1` /
/// `batches += 1`, which panics under overflow checks and wraps to 0 otherwise (after which
/// `Replacement` sampling repeats the draws of batch 0).
#[test]
fn loader_counters_at_u64_max_do_not_overflow() {
    for (what, st) in [
        ("epoch", state(u64::MAX, 10, 0)),
        ("batches", state(0, 0, u64::MAX)),
    ] {
        let mut l = Loader::new(10, 5, Sampling::Replacement, false, 3).unwrap();
        if l.import_state(&st).is_err() {
            continue; // rejected: fine
        }
        let before = (l.epoch(), l.batches());
        let r = catch_unwind(AssertUnwindSafe(|| {
            l.next_batch();
        }));
        assert!(r.is_ok(), "{what} = u64::MAX: next_batch panicked");
        assert!(
            l.epoch() >= before.0 && l.batches() >= before.1,
            "{what} = u64::MAX: a counter wrapped: (epoch, batches) {before:?} -> {:?}",
            (l.epoch(), l.batches())
        );
    }
}
