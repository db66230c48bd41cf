//! Scheduler invariants against closed forms and bounds, over random parameters.

#[path = "sched_common.rs"]
mod common;

use core::f64::consts::PI;
use descent_core::sched::*;
use proptest::prelude::*;

/// |a − b| <= 1e-12·scale
fn near(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-12 * scale
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cosine_matches_closed_form_and_stays_in_range(
        base in 1e-4f64..1.0, frac in 0.0f64..1.0, t_max in 1u64..40
    ) {
        let eta = base * frac;
        let mut s = CosineAnnealingLR::new(base, t_max, eta).unwrap();
        for t in 0..5 * t_max + 3 {
            let closed = eta + (base - eta) * (1.0 + (PI * t as f64 / t_max as f64).cos()) / 2.0;
            prop_assert!(near(s.lr(), closed, base), "t={} {} vs {}", t, s.lr(), closed);
            prop_assert!(s.lr() >= eta - 1e-12 * base && s.lr() <= base * (1.0 + 1e-12));
            s.step();
        }
    }

    #[test]
    fn warm_restarts_in_range_and_restart_at_base(
        base in 1e-4f64..1.0, frac in 0.0f64..1.0, t0 in 1u64..6, mult in 1u64..4
    ) {
        let eta = base * frac;
        let mut s = CosineAnnealingWarmRestarts::new(base, t0, mult, eta).unwrap();
        let mut period = t0;
        let mut next_restart = t0;
        for t in 0..100u64 {
            prop_assert!(s.lr() >= eta - 1e-12 * base && s.lr() <= base * (1.0 + 1e-12));
            if t == next_restart {
                period *= mult;
                next_restart += period;
            }
            if t == 0 || t == next_restart - period {
                prop_assert_eq!(s.t_cur(), 0);
                prop_assert!(near(s.lr(), base, base));
            }
            s.step();
        }
    }

    #[test]
    fn exponential_is_monotone_and_geometric(base in 1e-4f64..1.0, gamma in 0.5f64..1.5) {
        let mut s = ExponentialLR::new(base, gamma).unwrap();
        let mut prev = s.lr();
        for t in 0..100i32 {
            prop_assert!(near(s.lr(), base * gamma.powi(t), s.lr()) );
            s.step();
            if gamma <= 1.0 {
                prop_assert!(s.lr() <= prev);
            } else {
                prop_assert!(s.lr() >= prev);
            }
            prev = s.lr();
        }
    }

    #[test]
    fn step_and_multistep_match_closed_forms(
        base in 1e-4f64..1.0, gamma in 0.1f64..1.0, step in 1u64..10,
        ms in proptest::collection::vec(0u64..60, 0..8)
    ) {
        let mut s = StepLR::new(base, step, gamma).unwrap();
        let mut m = MultiStepLR::new(base, &ms, gamma).unwrap();
        for t in 0..60u64 {
            let k = (t / step) as i32;
            prop_assert!(near(s.lr(), base * gamma.powi(k), s.lr()));
            let c = ms.iter().filter(|&&x| x <= t).count() as i32;
            prop_assert!(near(m.lr(), base * gamma.powi(c), m.lr()));
            s.step();
            m.step();
        }
    }

    #[test]
    fn polynomial_linear_constant_match_closed_forms(
        base in 1e-4f64..1.0, total in 0u64..20, power in 0.0f64..3.0,
        sf in 0.01f64..1.0, ef in 0.0f64..1.0, factor in 0.01f64..1.0
    ) {
        let mut p = PolynomialLR::new(base, total, power).unwrap();
        let mut l = LinearLR::new(base, sf, ef, total).unwrap();
        let mut c = ConstantLR::new(base, factor, total).unwrap();
        let mut prev = p.lr();
        for t in 0..40u64 {
            let tf = t.min(total) as f64;
            let closed_p = if total == 0 { base } else {
                base * (1.0 - tf / total as f64).powf(power)
            };
            prop_assert!(near(p.lr(), closed_p, base), "poly t={} {} vs {}", t, p.lr(), closed_p);
            prop_assert!(p.lr() <= prev && p.lr() >= 0.0);
            prev = p.lr();
            let closed_l = if total == 0 { base * sf } else {
                base * (sf + (ef - sf) * tf / total as f64)
            };
            prop_assert!(near(l.lr(), closed_l, base), "linear t={} {} vs {}", t, l.lr(), closed_l);
            let closed_c = if t < total || total == 0 { base * factor } else { base };
            prop_assert!(near(c.lr(), closed_c, base), "constant t={} {} vs {}", t, c.lr(), closed_c);
            if t < total || total == 0 {
                prop_assert_eq!(c.lr(), base * factor);
            }
            p.step();
            l.step();
            c.step();
        }
    }

    #[test]
    fn cyclic_stays_between_bounds_and_is_periodic(
        b in 1e-4f64..0.1, m in 0.1f64..1.0, up in 1u32..8, down in 0u32..8,
        mode in 0usize..3, gamma in 0.8f64..1.0
    ) {
        let mode = [CyclicMode::Triangular, CyclicMode::Triangular2, CyclicMode::ExpRange][mode];
        let s0 = CyclicLR::new(b, m, up as f64, Some(down as f64), mode, gamma)
            .unwrap().with_momentum(0.8, 0.9).unwrap();
        let total = (up + down) as u64;
        let mut s = s0;
        let mut shifted = s0;
        for _ in 0..total {
            shifted.step();
        }
        for _ in 0..60 {
            let lr = s.lr();
            prop_assert!(lr >= b * (1.0 - 1e-12) && lr <= m * (1.0 + 1e-12), "{}", lr);
            let mo = s.momentum().unwrap();
            prop_assert!((0.8 - 1e-12..=0.9 + 1e-12).contains(&mo));
            if mode == CyclicMode::Triangular {
                prop_assert!(near(lr, shifted.lr(), m));
            }
            s.step();
            shifted.step();
        }
    }

    #[test]
    fn one_cycle_within_bounds_and_ends_at_min(
        max_lr in 1e-3f64..1.0, n in 10u64..80, pct in 0.1f64..0.5, lin in any::<bool>(),
        df in 2.0f64..50.0, fdf in 2.0f64..1e4, three in any::<bool>()
    ) {
        let a = if lin { AnnealStrategy::Linear } else { AnnealStrategy::Cos };
        let Ok(mut s) = OneCycleLR::new(max_lr, n, pct, a, df, fdf, three) else {
            return Ok(()); // a zero-length phase: PyTorch divides by zero too
        };
        let min_lr = max_lr / df / fdf;
        prop_assert!(near(s.lr(), max_lr / df, max_lr));
        let mut ok = true;
        for _ in 0..n - 1 {
            prop_assert!(s.lr() >= min_lr * (1.0 - 1e-12) && s.lr() <= max_lr * (1.0 + 1e-12));
            ok &= s.step().is_ok();
        }
        if ok {
            prop_assert!(near(s.lr(), min_lr, max_lr), "{} vs {}", s.lr(), min_lr);
            prop_assert!(s.step().is_ok()); // t = total_steps is allowed
            prop_assert!(s.step().is_err());
        }
    }

    #[test]
    fn plateau_never_increases_and_respects_min_lr(
        s0 in common::arb_plateau(), metrics in proptest::collection::vec(-2.0f64..2.0, 1..80)
    ) {
        let mut s = s0;
        let min_lr = s.config().min_lr;
        let lr0 = s.lr();
        let mut prev = s.lr();
        for m in metrics {
            s.step(m);
            prop_assert!(s.lr() <= prev);
            prop_assert!(s.lr() >= min_lr.min(lr0));
            prev = s.lr();
        }
    }

    #[test]
    fn plateau_strict_improvement_never_reduces(lr in 1e-3f64..1.0, patience in 0u64..3) {
        let cfg = PlateauConfig {
            patience,
            threshold: 0.0,
            threshold_mode: ThresholdMode::Abs,
            ..PlateauConfig::default()
        };
        let mut s = ReduceLROnPlateau::new(lr, cfg).unwrap();
        for t in 0..50 {
            s.step(10.0 - t as f64);
            prop_assert_eq!(s.lr(), lr);
            prop_assert_eq!(s.num_bad_epochs(), 0);
        }
    }

    #[test]
    fn inverse_time_schedules_are_exact_and_decreasing(lr0 in 1e-3f64..1.0, c in 0.1f64..20.0) {
        let mut a = InverseTime::new(lr0, c).unwrap();
        let mut b = InverseSqrtTime::new(lr0, c).unwrap();
        let (mut pa, mut pb) = (f64::INFINITY, f64::INFINITY);
        for t in 0..100u64 {
            prop_assert_eq!(a.lr(), lr0 / (c + t as f64));
            prop_assert_eq!(b.lr(), lr0 / (c + (t as f64).sqrt()));
            prop_assert!(a.lr() < pa && b.lr() < pb);
            pa = a.lr();
            pb = b.lr();
            a.step();
            b.step();
        }
    }

    #[test]
    fn sequential_follows_each_schedule_from_its_milestone(
        a in common::arb_schedule(), b in common::arb_schedule(), m in 1u64..30
    ) {
        // ConstantLR(total_iters=0) restarts differently (its closed form; tested by hand).
        prop_assume!(!matches!(b, Schedule::Constant(c) if c.total_iters() == 0));
        let mut seq = SequentialLR::new(&[a, b], &[m]).unwrap();
        let mut fa = a;
        fa.reset().unwrap();
        let mut fb = b;
        fb.reset().unwrap();
        for t in 0..m + 40 {
            if t < m {
                prop_assert_eq!(seq.lr().to_bits(), fa.lr().to_bits(), "t={}", t);
                prop_assert_eq!(seq.active(), 0);
                // MultiplicativeLR restarts from the lr in effect times lr_lambda(0).
                if let (true, Schedule::Multiplicative(mb)) = (t + 1 == m, b) {
                    let lr0 = fa.lr() * mb.lr_lambda().eval(0);
                    fb = MultiplicativeLR::new(lr0, *mb.lr_lambda()).unwrap().into();
                }
                // SWALR starts annealing from the lr in effect.
                if let (true, Schedule::Swa(sb)) = (t + 1 == m, b) {
                    fb = SWALR::new(fa.lr(), sb.swa_lr(), sb.anneal_epochs(), sb.anneal_strategy())
                        .unwrap()
                        .into();
                }
                let _ = fa.step();
            } else {
                prop_assert_eq!(seq.active(), 1);
                // Restarts use PyTorch's closed form at step 0: equal up to rounding.
                prop_assert!(near(seq.lr(), fb.lr(), fb.lr().abs().max(1e-300)),
                    "t={} {} vs {}", t, seq.lr(), fb.lr());
                let _ = fb.step();
            }
            if seq.step().is_err() {
                break;
            }
        }
    }
}

#[test]
fn sequential_warmup_then_decay_by_hand() {
    // SequentialLR([LinearLR(start_factor=0.5, total_iters=2), ExponentialLR(gamma=0.5)],
    // milestones=[2]) with lr 1.0: 0.5, 0.75, then the exponential restarts at 1.0.
    let w = LinearLR::new(1.0, 0.5, 1.0, 2).unwrap();
    let e = ExponentialLR::new(1.0, 0.5).unwrap();
    let mut s = SequentialLR::new(&[w.into(), e.into()], &[2]).unwrap();
    let mut got = [0.0; 5];
    for g in &mut got {
        *g = s.lr();
        s.step().unwrap();
    }
    assert_eq!(got, [0.5, 0.75, 1.0, 0.5, 0.25]);
    // Equal milestones: the later schedule wins, as with bisect_right.
    let c = ConstantLR::new(1.0, 0.25, 5).unwrap();
    let mut s = SequentialLR::new(&[w.into(), e.into(), c.into()], &[2, 2]).unwrap();
    s.step().unwrap();
    s.step().unwrap();
    assert_eq!((s.active(), s.lr()), (2, 0.25));
    // ConstantLR(total_iters=0) restarted at a milestone takes PyTorch's closed form:
    // base·(factor + (1 − factor)).
    let c0 = ConstantLR::new(0.3, 0.1, 0).unwrap();
    assert_eq!(c0.lr(), 0.3 * 0.1);
    let mut s = SequentialLR::new(&[e.into(), c0.into()], &[1]).unwrap();
    s.step().unwrap();
    assert_eq!(s.lr(), 0.3 * (0.1 + (1.0 - 0.1)));
}

#[test]
fn one_cycle_epochs_equals_total_steps() {
    let a = OneCycleLR::new(0.5, 30, 0.3, AnnealStrategy::Cos, 25.0, 1e4, false).unwrap();
    let b = OneCycleLR::with_epochs(0.5, 5, 6, 0.3, AnnealStrategy::Cos, 25.0, 1e4, false).unwrap();
    assert_eq!(a, b);
    assert!(
        OneCycleLR::with_epochs(0.5, u64::MAX, 2, 0.3, AnnealStrategy::Cos, 25.0, 1e4, false)
            .is_err()
    );
}
