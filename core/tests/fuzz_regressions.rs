//! Regression tests for bugs found by fuzzing (fuzz/fuzz_targets/optim_state_import.rs and the
//! other targets named at each test).
//!
//! Each test builds the hostile state blob the fuzzer found from a valid export: a header or
//! counter field is overwritten and the FNV-1a checksum repaired, so the blob passes the format
//! checks. The property is the one of the fuzz target: importing it is either rejected with
//! `BadState`, or accepted and then the optimizer keeps working — no panic (debug builds check
//! integer overflow), no hang, no silent wrap-around of a counter.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use descent_core::optim::*;
use descent_core::Error;

/// Offset of the `steps` field in the state format (core/src/optim/state.rs).
const STEPS_AT: usize = 16;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Overwrite the u64 at `at`, then repair the trailing checksum.
fn patch_u64(blob: &mut [u8], at: usize, v: u64) {
    blob[at..at + 8].copy_from_slice(&v.to_le_bytes());
    let body = blob.len() - 8;
    let sum = fnv1a(&blob[..body]);
    blob[body..].copy_from_slice(&sum.to_le_bytes());
}

/// Offset of counter `i` in a blob with one group.
fn counter_at(i: usize) -> usize {
    40 + 24 + 8 * i
}

/// Found by `optim_state_import`: `RandomSearch::import_state` replays `steps · n` draws of
/// its random stream, so a blob claiming 2⁶³ steps never returns (the fuzzer's timeout).
/// An import must finish promptly: reject such a count or restore the stream without replay.
#[test]
fn random_search_import_of_huge_step_count_returns_promptly() {
    let n = 18;
    let src = RandomSearch::<f32>::new(RandomSearchConfig::default(), n).unwrap();
    let mut blob = vec![0u8; src.state_bytes_len()];
    src.export_state(&mut blob).unwrap();
    patch_u64(&mut blob, STEPS_AT, 0xff << 56);

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut dst = RandomSearch::<f32>::new(RandomSearchConfig::default(), n).unwrap();
        let r = dst.import_state(&blob);
        let _ = tx.send(r);
    });
    // The replay runs at roughly 1e9 draws/s; 2⁶³·18 draws would take centuries.
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(())) | Ok(Err(Error::BadState { .. })) => {}
        Ok(Err(e)) => panic!("expected Ok or BadState, got {e:?}"),
        Err(_) => panic!("RandomSearch::import_state did not return within 20 s for steps = 2^63"),
    }
}

/// Found by `optim_state_import`: L-BFGS accepts `func_evals = u64::MAX` (and `n_iter =
/// steps = u64::MAX`); the next `step` does `func_evals += 1` (lbfgs.rs, start of `step`) and
/// `n_iter += 1`, which panics with "attempt to add with overflow" in builds with overflow
/// checks and silently wraps to 0 otherwise.
#[test]
fn lbfgs_counters_at_u64_max_do_not_overflow() {
    for (what, at) in [("func_evals", counter_at(0)), ("steps / n_iter", STEPS_AT)] {
        let cfg = LbfgsConfig::default().max_iter(2).history_size(2);
        let src = Lbfgs::<f64, Vec<f64>>::owned(cfg, 3).unwrap();
        let mut blob = vec![0u8; src.state_bytes_len()];
        src.export_state(&mut blob).unwrap();
        patch_u64(&mut blob, at, u64::MAX);

        let mut dst = Lbfgs::<f64, Vec<f64>>::owned(cfg, 3).unwrap();
        match dst.import_state(&blob) {
            Err(Error::BadState { .. }) => continue,
            Err(e) => panic!("{what}: expected Ok or BadState, got {e:?}"),
            Ok(()) => {}
        }
        let before = (dst.n_iter(), dst.func_evals());
        let mut params = [1.0f64, -2.0, 0.5];
        let r = catch_unwind(AssertUnwindSafe(|| {
            dst.step(&mut params, |x, g| {
                g.copy_from_slice(x);
                x.iter().map(|v| v * v).sum::<f64>() / 2.0
            })
        }));
        let r = r.unwrap_or_else(|_| panic!("{what} = u64::MAX: L-BFGS step panicked"));
        r.unwrap();
        assert!(
            dst.n_iter() >= before.0 && dst.func_evals() >= before.1,
            "{what} = u64::MAX: a counter wrapped around: (n_iter, func_evals) went from \
             {before:?} to {:?}",
            (dst.n_iter(), dst.func_evals())
        );
    }
}

/// Found by `optim_state_import` (same family): every first-order optimizer accepts
/// `steps = u64::MAX`; the next `step` computes `t = steps + 1` (stateful.rs), which panics
/// with overflow checks and otherwise wraps to t = 0, where Adam's bias correction
/// 1 − β₁⁰ = 0 divides by zero and the parameters become NaN.
#[test]
fn first_order_step_count_at_u64_max_does_not_overflow() {
    let mut opt = Adam::<f64, Vec<f64>>::owned(AdamConfig::default(), 3).unwrap();
    let mut blob = vec![0u8; opt.state_bytes_len()];
    opt.export_state(&mut blob).unwrap();
    patch_u64(&mut blob, STEPS_AT, u64::MAX);
    match opt.import_state(&blob) {
        Err(Error::BadState { .. }) => return,
        Err(e) => panic!("expected Ok or BadState, got {e:?}"),
        Ok(()) => {}
    }
    let mut params = [1.0f64, -2.0, 0.5];
    let grads = [0.1f64, 0.2, -0.3];
    let r = catch_unwind(AssertUnwindSafe(|| opt.step(&mut params, &grads)));
    r.unwrap_or_else(|_| panic!("steps = u64::MAX: Adam step panicked"))
        .unwrap();
    assert!(
        params.iter().all(|p| p.is_finite()),
        "steps = u64::MAX: the step counter wrapped and Adam produced {params:?}"
    );
    assert!(
        opt.steps() > 0,
        "steps = u64::MAX: the step counter wrapped to 0"
    );
}

/// Found by `sched_state_import`: LinearLR's chainable (PyTorch-exact) form ending at
/// `end_factor = 0` rounds to a tiny *negative* lr at the end of the ramp (lr0 = 0.1,
/// start_factor = 0.3, total_iters = 3 gives −2.2e-18 after 3 steps; 170 of 686 small
/// configurations do). `Optimizer::set_lr` rejects negative lrs, so a trainer feeding the
/// schedule's lr to its optimizer fails there. Every lr a schedule reports must be accepted by
/// `set_lr` (clamp at 0 where the schedule hands out its lr, or accept −0-like values).
#[test]
fn linear_lr_to_zero_gives_lrs_the_optimizer_accepts() {
    use descent_core::sched::Scheduler;
    let mut sched = Scheduler::from_pairs(
        "LinearLR",
        0.1,
        &[
            ("start_factor", 0.3),
            ("end_factor", 0.0),
            ("total_iters", 3.0),
        ],
    )
    .unwrap();
    let mut opt = Sgd::<f64, Vec<f64>>::owned(SgdConfig::default().lr(0.1), 2).unwrap();
    for t in 0..6 {
        let lr = sched.lr();
        if let Err(e) = opt.set_lr_all(lr) {
            panic!("step {t}: LinearLR reports lr = {lr:e}, which set_lr rejects: {e}");
        }
        sched.step().unwrap();
    }
}

/// Found by `sched_state_import`: LinearLR accepts a subnormal `start_factor` (5.6e-310 passes
/// the `> 0` check); the first step then computes `base_lr·start_factor` = 0 times an infinite
/// ratio and reports lr = NaN — and `save` of that schedule then fails to `load` ("LinearLR lr
/// is NaN"). Construction should reject such a factor (or the step should
/// stay finite).
#[test]
fn linear_lr_with_subnormal_start_factor_never_reports_nan() {
    use descent_core::sched::Scheduler;
    let built = Scheduler::from_pairs(
        "LinearLR",
        7.5e-202,
        &[
            ("start_factor", 5.6115981930694e-310),
            ("end_factor", 1.0),
            ("total_iters", 5.0),
        ],
    );
    let Ok(mut sched) = built else { return };
    for t in 0..6 {
        assert!(!sched.lr().is_nan(), "step {t}: LinearLR reports lr = NaN");
        sched.step().unwrap();
    }
}

/// Found by `sched_state_import` in CI (same family as LinearLR's subnormal `start_factor`):
/// ConstantLR accepted a subnormal `factor` (1.6e-317); `base_lr · factor` underflows to 0 and at
/// `t = total_iters` the chainable restore `lr · (1/factor)` is `0 · ∞` = NaN. Construction now
/// refuses a subnormal factor; a tiny normal one must stay NaN-free.
#[test]
fn constant_lr_with_tiny_factor_never_reports_nan() {
    use descent_core::sched::Scheduler;
    let pairs = |f: f64| [("factor", f), ("total_iters", 5.0)];
    assert!(Scheduler::from_pairs("ConstantLR", 3.03e-294, &pairs(1.6216104e-317)).is_err());
    let mut sched = Scheduler::from_pairs("ConstantLR", 3.03e-294, &pairs(f64::MIN_POSITIVE))
        .expect("a normal factor is accepted");
    for t in 0..21 {
        assert!(
            !sched.lr().is_nan(),
            "step {t}: ConstantLR reports lr = NaN"
        );
        sched.step().unwrap();
    }
}

/// Found by `sched_state_import`: `Scheduler::load` accepts `last_epoch = u64::MAX`; the next
/// `step` does `last_epoch += 1` (constant.rs, and likewise in every schedule's `step`), which
/// panics with "attempt to add with overflow" under overflow checks and wraps to 0 otherwise.
/// Load should reject a step count that cannot advance (or `step` should refuse / saturate).
#[test]
fn scheduler_loaded_at_u64_max_epoch_does_not_overflow() {
    use descent_core::sched::Scheduler;
    for (name, pairs) in [
        ("ConstantLR", &[("factor", 0.5), ("total_iters", 5.0)][..]),
        ("StepLR", &[("step_size", 2.0), ("gamma", 0.5)][..]),
        ("ExponentialLR", &[("gamma", 0.9)][..]),
    ] {
        let mut s = Scheduler::from_pairs(name, 0.1, pairs).unwrap();
        for _ in 0..3 {
            s.step().unwrap();
        }
        let mut blob = s.save_to_vec();
        // The only u64 equal to 3 in the image is last_epoch.
        let three = 3u64.to_le_bytes();
        let at: Vec<usize> = (0..blob.len() - 7)
            .filter(|&i| blob[i..i + 8] == three)
            .collect();
        assert_eq!(
            at.len(),
            1,
            "{name}: last_epoch not found uniquely in {blob:?}"
        );
        blob[at[0]..at[0] + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let Ok(mut loaded) = Scheduler::load(&blob) else {
            continue; // rejected: fine
        };
        let r = catch_unwind(AssertUnwindSafe(|| loaded.step()));
        let r = r.unwrap_or_else(|_| {
            panic!("{name}: step after loading last_epoch = u64::MAX panicked")
        });
        if r.is_ok() {
            assert_eq!(
                loaded.last_epoch(),
                u64::MAX,
                "{name}: last_epoch wrapped around from u64::MAX"
            );
        }
    }
}

/// Found by `sched_state_import` (same family as the subnormal `start_factor`): OneCycleLR
/// accepts a subnormal `div_factor`; `initial_lr = max_lr / div_factor` is +inf, and annealing
/// from +inf to `min_lr` (= +inf) gives lr = NaN. `Scheduler::load` accepts that state too
/// (it checks LinearLR's lr for NaN but not OneCycleLR's).
#[test]
fn one_cycle_with_subnormal_div_factor_never_reports_nan() {
    use descent_core::sched::Scheduler;
    let built = Scheduler::from_pairs(
        "OneCycleLR",
        0.1,
        &[
            ("max_lr", 1.0),
            ("total_steps", 4.0),
            ("div_factor", 2.331294e-317),
        ],
    );
    let Ok(mut sched) = built else { return };
    for t in 0..4 {
        assert!(
            !sched.lr().is_nan(),
            "step {t}: OneCycleLR reports lr = NaN"
        );
        if sched.step().is_err() {
            break;
        }
    }
}

/// Found by `sched_state_import` after the NaN fixes: a schedule whose arguments overflow the
/// initial lr (lr0 = 4e175 over c = 3e-293 in lr0/(c+t)) was built, and its save did not load.
/// Construction now refuses a non-finite initial lr; `load` refuses only NaN.
#[test]
fn scheduler_with_overflowing_initial_lr_is_refused_at_construction() {
    use descent_core::sched::Scheduler;
    let r = Scheduler::from_pairs("InverseTime", 4.034880275012163e175, &[("c", 3.0e-293)]);
    assert!(
        matches!(r, Err(Error::InvalidArgument { name: "lr", .. })),
        "{r:?}"
    );
    // A finite schedule that later overflows to +inf still saves and loads.
    let mut s = Scheduler::from_pairs("ExponentialLR", 1e300, &[("gamma", 1.0e10)]).unwrap();
    s.step().unwrap();
    assert!(s.lr().is_infinite());
    let blob = s.save_to_vec();
    assert!(Scheduler::load(&blob).is_ok());
}

/// Found by review after the ConstantLR fuzz crash (same family: legal-looking extremes giving
/// NaN): CyclicLR with a cycle shorter than `2^53 / f64::MAX` (`step_size_up = 1e-320`) made
/// `t / total` infinite and `x = ∞ − ∞`; `exp_range` with `gamma = 1e300` overflowed
/// `gamma^t` to ∞ and multiplied it by `s = 0` at the foot of a cycle; CosineAnnealingLR with
/// `eta_min = 1e308` overflowed `(base_lr − eta_min)·(1 − cos)`. Each now either is refused at
/// construction or stays NaN-free.
#[test]
fn cyclic_and_cosine_extremes_never_report_nan() {
    use descent_core::sched::{Scheduler, Spec, Value};
    type Case<'a> = (&'a str, f64, &'a [(&'a str, Value<'a>)]);
    let cases: [Case; 3] = [
        (
            "CyclicLR",
            0.1,
            &[
                ("base_lr", Value::Num(0.1)),
                ("max_lr", Value::Num(1.0)),
                ("step_size_up", Value::Num(1e-320)),
            ],
        ),
        (
            "CyclicLR",
            0.1,
            &[
                ("base_lr", Value::Num(0.1)),
                ("max_lr", Value::Num(1.0)),
                ("step_size_up", Value::Num(1.0)),
                ("mode", Value::Str("exp_range")),
                ("gamma", Value::Num(1e300)),
            ],
        ),
        (
            "CosineAnnealingLR",
            1e-300,
            &[("T_max", Value::Num(1.0)), ("eta_min", Value::Num(1e308))],
        ),
    ];
    for (name, lr0, params) in cases {
        let Ok(mut sched) = Scheduler::from_spec(lr0, &Spec { name, params }) else {
            continue;
        };
        for t in 0..64 {
            assert!(
                !sched.lr().is_nan(),
                "{name} {params:?}: lr = NaN at step {t}"
            );
            sched.step().unwrap();
        }
    }
}

/// Found by `sched_state_import` (local run): MultiStepLR with `lr = 0`, `gamma = 7.5e247` and
/// the milestone 3 listed three times multiplied 0 by `gamma^3` = ∞ and reported NaN.
#[test]
fn multi_step_lr_of_zero_with_overflowing_gamma_power_stays_zero() {
    use descent_core::sched::{Scheduler, Spec, Value};
    let milestones = [55.0, 55.0, 55.0, 185.0, 185.0, 185.0, 3.0, 3.0, 3.0];
    let params = [
        ("milestones", Value::List(&milestones)),
        ("gamma", Value::Num(7.474488825152835e247)),
    ];
    let spec = Spec {
        name: "MultiStepLR",
        params: &params,
    };
    let mut sched = Scheduler::from_spec(0.0, &spec).unwrap();
    for t in 0..200 {
        assert_eq!(sched.lr(), 0.0, "step {t}");
        sched.step().unwrap();
    }
}

/// Found by `losses_margin_probabilistic`: GaussianNLLLoss with an empty input and one variance
/// per row (input `[5, 0]`, `var` `[5]`; 5 divides 0, so the shapes are valid) and
/// `Reduction::Mean` wrote `grad_var = 0 · (1/0)` = NaN. No term depends on `var`: its gradient
/// is an empty sum, 0, for every reduction (PyTorch's autograd gives 0; `None` and `Sum` did).
#[test]
fn gaussian_nll_mean_of_empty_input_gives_zero_grad_var() {
    use descent_core::loss::{GaussianNLLLoss, Reduction};
    let var = [1.0f32; 5];
    let mut grad_var = [-4.5f32; 5];
    let value = GaussianNLLLoss::new(false, 1e-6, Reduction::Mean)
        .forward_backward(&[], &[], &var, &mut [], &mut [], &mut grad_var)
        .unwrap();
    assert!(value.is_nan(), "Mean of no elements is 0/0, got {value}");
    assert_eq!(grad_var, [0.0; 5]);
}

/// fuzz/fuzz_targets/sched_state_import.rs: `MultiplicativeLR(lr_lambda=NaN)` was built (the
/// constant is not evaluated at step 0) and saved, and its save did not load (a NaN constant is
/// refused as malformed). A NaN constant is now refused when built; every schedule that builds
/// saves and loads back equal.
#[test]
fn multiplicative_lr_with_a_nan_constant_is_refused_when_built() {
    use descent_core::sched::{Scheduler, Spec, Value};
    for name in ["LambdaLR", "MultiplicativeLR"] {
        let spec = Spec {
            name,
            params: &[("lr_lambda", Value::Num(f64::NAN))],
        };
        assert!(matches!(
            Scheduler::from_spec(1.97e-308, &spec),
            Err(Error::InvalidArgument {
                name: "lr_lambda",
                ..
            })
        ));
        let spec = Spec {
            name,
            params: &[("lr_lambda", Value::Num(f64::INFINITY))],
        };
        if let Ok(s) = Scheduler::from_spec(1.0, &spec) {
            assert_eq!(Scheduler::load(&s.save_to_vec()).unwrap(), s);
        }
    }
}
