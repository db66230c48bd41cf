//! L-BFGS and random search on deterministic full-batch problems.

mod optim_common;

use descent_core::optim::*;
use descent_core::Error;
use optim_common::*;
use proptest::prelude::*;

fn quadratic() -> impl Strategy<Value = (Quadratic, Vec<f64>)> {
    (2usize..=8).prop_flat_map(|n| {
        (
            prop::collection::vec(1.0f64..10.0, n),
            prop::collection::vec(-1.0f64..1.0, n),
            prop::collection::vec(-3.0f64..3.0, n),
            prop::collection::vec(-3.0f64..3.0, n),
        )
            .prop_map(|(lambda, mut v, xs, x0)| {
                v[0] += 2.0;
                (Quadratic::new(&lambda, &v, &xs), x0)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// On a quadratic L-BFGS (with or without line search) reaches the optimum to the precision its
    /// curvature-pair threshold allows.
    #[test]
    fn lbfgs_solves_quadratics((q, x0) in quadratic(), wolfe in any::<bool>(), hist in 1usize..12) {
        let ls = if wolfe { LineSearch::StrongWolfe } else { LineSearch::None };
        let cfg = LbfgsConfig::default()
            .line_search_fn(ls)
            .history_size(hist)
            .max_iter(100)
            .tolerance_grad(1e-12)
            .tolerance_change(0.0);
        let mut buf = vec![0.0f64; Lbfgs::<f64, &mut [f64]>::buffer_len(&cfg, q.n)];
        let mut opt = Lbfgs::new(cfg, q.n, &mut buf[..]).unwrap();
        let mut x = x0.clone();
        let f0 = q.loss_grad(&x0, &mut vec![0.0; q.n]);
        for _ in 0..5 {
            let f = opt.step(&mut x, |x, g| q.loss_grad(x, g)).unwrap();
            prop_assert!(f <= f0 + 1e-12);
        }
        // PyTorch's L-BFGS keeps a curvature pair only while y·s > 1e-10; once the steps are
        // that small the history freezes and the last approximation (not always a contraction
        // in every direction) carries on at unit step. The optimum is therefore reached to the
        // scale that threshold allows (loss ~1e-10, |x - x*| ~1e-5 for eigenvalues >= 1), not
        // to machine precision.
        let f = q.loss_grad(&x, &mut vec![0.0; q.n]);
        let d = q.dist(&x);
        prop_assert!(
            f <= 1e-10 && d <= 1e-5,
            "loss {f:e}, max|x - x*| = {d:e} (wolfe {wolfe}, history {hist})"
        );
        prop_assert!(opt.n_iter() >= 1 && opt.func_evals() >= opt.n_iter());
    }
}

#[test]
fn lbfgs_strong_wolfe_solves_rosenbrock() {
    for n in [2usize, 4, 10] {
        let cfg = LbfgsConfig::default()
            .line_search_fn(LineSearch::StrongWolfe)
            .history_size(10)
            .max_iter(200)
            .max_eval(Some(400))
            .tolerance_grad(1e-10)
            .tolerance_change(1e-14);
        let mut opt = Lbfgs::<f64, _>::owned(cfg, n).unwrap();
        let mut x = vec![-1.2; n];
        for (i, xi) in x.iter_mut().enumerate() {
            if i % 2 == 1 {
                *xi = 1.0;
            }
        }
        for _ in 0..5 {
            opt.step(&mut x, rosenbrock).unwrap();
        }
        let mut g = vec![0.0; n];
        let f = rosenbrock(&x, &mut g);
        for &xi in &x {
            assert!((xi - 1.0).abs() < 1e-6, "n = {n}: x = {x:?}, f = {f:e}");
        }
        assert!(f < 1e-12, "n = {n}: f = {f:e}");
    }
}

#[test]
fn lbfgs_stops_at_a_stationary_point_without_moving() {
    let q = Quadratic::new(&[1.0, 2.0], &[1.0, 0.5], &[0.5, -0.5]);
    let mut opt = Lbfgs::<f64, _>::owned(LbfgsConfig::default(), 2).unwrap();
    let mut x = vec![0.5, -0.5];
    let f = opt.step(&mut x, |x, g| q.loss_grad(x, g)).unwrap();
    assert_eq!(f, 0.0);
    assert_eq!(x, vec![0.5, -0.5]);
    assert_eq!((opt.n_iter(), opt.func_evals()), (0, 1));
}

#[test]
fn lbfgs_f32_works_and_is_deterministic() {
    let run = || {
        let cfg = LbfgsConfig::default().line_search_fn(LineSearch::StrongWolfe);
        let mut opt = Lbfgs::<f32, _>::owned(cfg, 2).unwrap();
        let mut x = vec![-1.2f32, 1.0];
        for _ in 0..10 {
            opt.step(&mut x, |x, g| {
                let a = x[1] - x[0] * x[0];
                let b = 1.0 - x[0];
                g[0] = -400.0 * a * x[0] - 2.0 * b;
                g[1] = 200.0 * a;
                100.0 * a * a + b * b
            })
            .unwrap();
        }
        x
    };
    let x = run();
    assert!(
        (x[0] - 1.0).abs() < 1e-3 && (x[1] - 1.0).abs() < 1e-3,
        "{x:?}"
    );
    assert_eq!(x, run());
}

#[test]
fn lbfgs_errors() {
    let bad = |c: LbfgsConfig| Lbfgs::<f64, _>::owned(c, 3).err();
    let name = |e: Option<Error>| match e {
        Some(Error::InvalidArgument { name, .. }) => name,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    assert_eq!(name(bad(LbfgsConfig::default().lr(-1.0))), "lr");
    assert_eq!(name(bad(LbfgsConfig::default().max_iter(0))), "max_iter");
    assert_eq!(
        name(bad(LbfgsConfig::default().max_eval(Some(0)))),
        "max_eval"
    );
    assert_eq!(
        name(bad(LbfgsConfig::default().history_size(0))),
        "history_size"
    );
    assert_eq!(
        name(bad(LbfgsConfig::default().tolerance_grad(f64::NAN))),
        "tolerance_grad"
    );
    assert_eq!(
        name(bad(LbfgsConfig::default().tolerance_change(-1.0))),
        "tolerance_change"
    );
    let cfg = LbfgsConfig::default();
    let mut small = [0.0f64; 10];
    assert!(matches!(
        Lbfgs::new(cfg, 3, &mut small[..]).err(),
        Some(Error::BufferTooSmall { what: "buffer", .. })
    ));
    let mut opt = Lbfgs::<f64, _>::owned(cfg, 3).unwrap();
    let mut x = vec![0.0; 2];
    assert!(matches!(
        opt.step(&mut x, |_, _| 0.0),
        Err(Error::ShapeMismatch {
            what: "params",
            expected: 3,
            got: 2
        })
    ));
    assert!(opt.set_lr(f64::INFINITY).is_err());
    opt.set_lr(0.5).unwrap();
    assert_eq!(opt.lr(), 0.5);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random search never increases the loss, is deterministic per seed, and on a quadratic
    /// makes steady progress (loss ≤ 1e-2 of the start after 3000 steps in ≤ 4 dimensions,
    /// σ = 0.05 — with a fixed σ it cannot get much closer than O(σ²) in loss).
    #[test]
    fn random_search_descends((q, x0) in quadratic().prop_filter("small", |(q, _)| q.n <= 4), seed in any::<u64>()) {
        let cfg = RandomSearchConfig::default().sigma(0.05).seed(seed);
        let run = || {
            let mut rs = RandomSearch::<f64>::new(cfg, q.n).unwrap();
            let mut scratch = vec![0.0; RandomSearch::<f64>::scratch_len(q.n)];
            let mut x = x0.clone();
            let mut g = vec![0.0; q.n];
            let mut losses = Vec::new();
            for _ in 0..3000 {
                let f = rs.step(&mut x, &mut scratch, |x| q.loss_grad(x, &mut g)).unwrap();
                losses.push(f);
            }
            (x, losses, rs.accepted())
        };
        let (x, losses, accepted) = run();
        let f0 = q.loss_grad(&x0, &mut vec![0.0; q.n]);
        for w in losses.windows(2) {
            prop_assert!(w[1] <= w[0]);
        }
        prop_assert_eq!(*losses.last().unwrap(), q.loss_grad(&x, &mut vec![0.0; q.n]));
        prop_assert!(accepted > 0 || f0 == 0.0);
        prop_assert!(*losses.last().unwrap() <= 1e-2 * f0 + 1e-4, "{} from {}", losses.last().unwrap(), f0);
        let (x2, losses2, _) = run();
        prop_assert_eq!(x, x2);
        prop_assert_eq!(losses, losses2);
    }
}

#[test]
fn random_search_errors() {
    assert!(matches!(
        RandomSearch::<f64>::new(RandomSearchConfig::default().sigma(-1.0), 2).err(),
        Some(Error::InvalidArgument { name: "sigma", .. })
    ));
    let mut rs = RandomSearch::<f64>::new(RandomSearchConfig::default(), 2).unwrap();
    let mut x = vec![0.0; 2];
    let mut scratch = vec![0.0; 3];
    assert!(matches!(
        rs.step(&mut x, &mut scratch, |_| 0.0),
        Err(Error::BufferTooSmall {
            what: "scratch",
            needed: 4,
            got: 3
        })
    ));
    let mut scratch = vec![0.0; 4];
    assert!(matches!(
        rs.step(&mut x[..1], &mut scratch, |_| 0.0),
        Err(Error::ShapeMismatch { what: "params", .. })
    ));
    assert!(rs.set_sigma(f64::NAN).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Save an L-BFGS mid-run (history, direction, counters), restore into a fresh one,
    /// continue: bitwise identical iterates and state.
    #[test]
    fn lbfgs_save_restore_is_bitwise(
        n in 2usize..6,
        steps in 1usize..8,
        split_frac in 0.0f64..1.0,
        wolfe in any::<bool>(),
        hist in 1usize..5,
    ) {
        let ls = if wolfe { LineSearch::StrongWolfe } else { LineSearch::None };
        let cfg = LbfgsConfig::default()
            .line_search_fn(ls)
            .history_size(hist)
            .max_iter(3)
            .lr(if wolfe { 1.0 } else { 0.1 });
        let split = ((steps as f64 * split_frac) as usize).min(steps);
        let x0: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { -1.2 } else { 1.0 }).collect();
        let mut a = Lbfgs::<f64, _>::owned(cfg, n).unwrap();
        let mut b = Lbfgs::<f64, _>::owned(cfg, n).unwrap();
        let mut c = Lbfgs::<f64, _>::owned(cfg, n).unwrap();
        let (mut xa, mut xb) = (x0.clone(), x0.clone());
        for t in 0..steps {
            a.step(&mut xa, rosenbrock).unwrap();
            if t < split {
                b.step(&mut xb, rosenbrock).unwrap();
            }
        }
        let mut bytes = vec![0u8; b.state_bytes_len()];
        prop_assert_eq!(b.export_state(&mut bytes).unwrap(), bytes.len());
        c.import_state(&bytes).unwrap();
        prop_assert_eq!(c.n_iter(), b.n_iter());
        for _ in split..steps {
            c.step(&mut xb, rosenbrock).unwrap();
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&xa), bits(&xb));
        prop_assert_eq!((a.n_iter(), a.func_evals()), (c.n_iter(), c.func_evals()));
        let mut sa = vec![0u8; a.state_bytes_len()];
        let mut sc = vec![0u8; c.state_bytes_len()];
        a.export_state(&mut sa).unwrap();
        c.export_state(&mut sc).unwrap();
        prop_assert_eq!(sa, sc);
    }

    #[test]
    fn lbfgs_garbage_state_is_rejected(
        junk in prop::collection::vec(any::<u8>(), 0..300),
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let cfg = LbfgsConfig::default().history_size(2);
        let mut opt = Lbfgs::<f32, _>::owned(cfg, 2).unwrap();
        let mut x = vec![-1.2f32, 1.0];
        opt.step(&mut x, |x, g| {
            g[0] = 2.0 * x[0];
            g[1] = 2.0 * x[1];
            x[0] * x[0] + x[1] * x[1]
        })
        .unwrap();
        let mut before = vec![0u8; opt.state_bytes_len()];
        opt.export_state(&mut before).unwrap();
        prop_assert!(matches!(opt.import_state(&junk), Err(Error::BadState { .. })), "junk");
        let mut corrupt = before.clone();
        corrupt[pos.index(before.len())] ^= xor;
        prop_assert!(matches!(opt.import_state(&corrupt), Err(Error::BadState { .. })), "corrupt");
        // A different history size or dtype is a different layout.
        let mut other = Lbfgs::<f32, _>::owned(cfg.history_size(3), 2).unwrap();
        prop_assert!(other.import_state(&before).is_err());
        let mut other = Lbfgs::<f64, _>::owned(cfg, 2).unwrap();
        prop_assert!(other.import_state(&before).is_err());
        let mut after = vec![0u8; opt.state_bytes_len()];
        opt.export_state(&mut after).unwrap();
        prop_assert_eq!(before, after);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random search saved mid-run and restored into a fresh instance continues bitwise
    /// identically (the stream is replayed from the seed).
    #[test]
    fn random_search_save_restore_is_bitwise(
        n in 1usize..6,
        steps in 1usize..40,
        split_frac in 0.0f64..1.0,
        seed in any::<u64>(),
        antithetic in any::<bool>(),
    ) {
        let cfg = RandomSearchConfig::default().seed(seed).antithetic(antithetic).sigma(0.3);
        let split = ((steps as f64 * split_frac) as usize).min(steps);
        let f = |x: &[f64]| x.iter().enumerate().map(|(i, v)| (i as f64 + 1.0) * (v - 1.0).powi(2)).sum::<f64>();
        let mut a = RandomSearch::<f64>::new(cfg, n).unwrap();
        let mut b = RandomSearch::<f64>::new(cfg, n).unwrap();
        // The fresh instance starts from a different seed and sigma: both come from the state.
        let mut c = RandomSearch::<f64>::new(cfg.seed(seed ^ 1).sigma(9.0), n).unwrap();
        let mut scratch = vec![0.0; RandomSearch::<f64>::scratch_len(n)];
        let (mut xa, mut xb) = (vec![0.0; n], vec![0.0; n]);
        for t in 0..steps {
            a.step(&mut xa, &mut scratch, f).unwrap();
            if t < split {
                b.step(&mut xb, &mut scratch, f).unwrap();
            }
        }
        let mut bytes = vec![0u8; b.state_bytes_len()];
        b.export_state(&mut bytes).unwrap();
        c.import_state(&bytes).unwrap();
        prop_assert_eq!(c.sigma(), 0.3);
        for _ in split..steps {
            c.step(&mut xb, &mut scratch, f).unwrap();
        }
        prop_assert_eq!(&xa, &xb);
        prop_assert_eq!((a.steps(), a.accepted(), a.best_loss()), (c.steps(), c.accepted(), c.best_loss()));
        let mut junk = bytes.clone();
        let last = junk.len() - 1;
        junk[last] ^= 1;
        prop_assert!(c.import_state(&junk).is_err());
    }
}
