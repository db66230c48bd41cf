//! Scheduler state export/import: mid-run restore continues bit for bit; malformed bytes are
//! rejected with `Error::BadState` and never panic.

#[path = "sched_common.rs"]
mod common;

use common::{advance, arb_scheduler};
use descent_core::sched::*;
use descent_core::Error;
use proptest::prelude::*;

fn save(s: &Scheduler) -> Vec<u8> {
    let mut buf = vec![0u8; s.saved_len()];
    assert_eq!(s.save(&mut buf), Ok(buf.len()));
    buf
}

fn is_bad(r: &Result<Scheduler, Error>) -> bool {
    matches!(r, Err(Error::BadState { .. }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn restore_mid_run_is_bitwise_identical(s0 in arb_scheduler(), k in 0u64..50, n in 1u64..50) {
        let mut a = s0;
        for t in 0..k {
            advance(&mut a, t);
        }
        let bytes = save(&a);
        prop_assert!(bytes.len() <= MAX_STATE_BYTES);
        let mut b = Scheduler::load(&bytes).unwrap();
        prop_assert_eq!(save(&b), bytes.clone());
        prop_assert_eq!(b, a);
        for t in k..k + n {
            prop_assert_eq!(a.lr().to_bits(), b.lr().to_bits());
            prop_assert_eq!(a.momentum().map(f64::to_bits), b.momentum().map(f64::to_bits));
            prop_assert_eq!(a.last_epoch(), b.last_epoch());
            advance(&mut a, t);
            advance(&mut b, t);
        }
        prop_assert_eq!(save(&a), save(&b));
    }

    #[test]
    fn every_truncation_and_extension_is_rejected(s0 in arb_scheduler(), k in 0u64..20) {
        let mut s = s0;
        for t in 0..k {
            advance(&mut s, t);
        }
        let bytes = save(&s);
        for cut in 0..bytes.len() {
            prop_assert!(is_bad(&Scheduler::load(&bytes[..cut])), "cut at {}", cut);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert!(is_bad(&Scheduler::load(&longer)), "trailing byte accepted");
    }

    #[test]
    fn corrupted_bytes_never_panic(s0 in arb_scheduler(), pos in any::<prop::sample::Index>(),
                                   byte in any::<u8>()) {
        let bytes = save(&s0);
        let mut bad = bytes.clone();
        let i = pos.index(bad.len());
        bad[i] = byte;
        // Either rejected as BadState, or a valid scheduler that re-saves to the same bytes.
        match Scheduler::load(&bad) {
            Ok(s) => prop_assert_eq!(save(&s), bad),
            r @ Err(_) => prop_assert!(is_bad(&r), "{:?}", r),
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let r = Scheduler::load(&bytes);
        prop_assert!(r.is_ok() || is_bad(&r), "{:?}", r);
        let mut with_header = b"DSCH\x01".to_vec();
        with_header.extend_from_slice(&bytes);
        let r = Scheduler::load(&with_header);
        prop_assert!(r.is_ok() || is_bad(&r), "{:?}", r);
    }
}

#[test]
fn header_and_buffer_checks() {
    let s: Scheduler = StepLR::new(0.1, 3, 0.5).unwrap().into();
    let bytes = save(&s);
    assert_eq!(&bytes[..5], b"DSCH\x01");
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(matches!(
        Scheduler::load(&wrong_magic),
        Err(Error::BadState { .. })
    ));
    let mut wrong_version = bytes.clone();
    wrong_version[4] = 2;
    assert!(matches!(
        Scheduler::load(&wrong_version),
        Err(Error::BadState { .. })
    ));
    let mut wrong_kind = bytes.clone();
    wrong_kind[5] = 99;
    assert!(matches!(
        Scheduler::load(&wrong_kind),
        Err(Error::BadState { .. })
    ));
    let mut short = vec![0u8; bytes.len() - 1];
    assert_eq!(
        s.save(&mut short),
        Err(Error::BufferTooSmall {
            what: "out",
            needed: bytes.len(),
            got: bytes.len() - 1
        })
    );
    // Parameters out of range inside a well-formed image: step_size = 0.
    let mut zero_step = bytes.clone();
    zero_step[14..22].copy_from_slice(&0u64.to_le_bytes());
    assert!(matches!(
        Scheduler::load(&zero_step),
        Err(Error::BadState { .. })
    ));
    #[cfg(feature = "alloc")]
    assert_eq!(s.save_to_vec(), bytes);
}

#[test]
fn largest_state_fits_max_state_bytes() {
    let ms = [7u64; MAX_MILESTONES];
    let m = Schedule::from(MultiStepLR::new(0.1, &ms, 0.5).unwrap());
    let s: Scheduler = SequentialLR::new(&[m; MAX_SEQUENTIAL], &[1, 2, 3])
        .unwrap()
        .into();
    assert_eq!(s.saved_len(), MAX_STATE_BYTES);
    let c: Scheduler = ChainedScheduler::new(&[m; MAX_SEQUENTIAL]).unwrap().into();
    assert!(c.saved_len() <= MAX_STATE_BYTES);
}
