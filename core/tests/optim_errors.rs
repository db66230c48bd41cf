//! Error paths: every invalid hyperparameter is `InvalidArgument` naming it (PyTorch's name);
//! wrong lengths are `ShapeMismatch` / `BufferTooSmall` and change nothing; garbage state bytes
//! are `BadState` and never panic.

mod optim_common;

use descent_core::optim::*;
use descent_core::Error;
use optim_common::zoo;
use proptest::prelude::*;

fn arg_name<X: std::fmt::Debug>(r: Result<X, Error>) -> &'static str {
    match r {
        Err(Error::InvalidArgument { name, .. }) => name,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

fn new<R: Rule>(r: R) -> Result<Optim<f64, R, Vec<f64>>, Error> {
    Optim::owned(r, 3)
}

const BAD_NONNEG: [f64; 4] = [-1e-3, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
const BAD_BETA: [f64; 5] = [-0.1, 1.0, 1.5, f64::NAN, f64::INFINITY];

#[test]
fn sgd_hyperparameters() {
    let d = SgdConfig::default();
    for v in BAD_NONNEG {
        assert_eq!(arg_name(new(d.lr(v))), "lr");
        assert_eq!(arg_name(new(d.momentum(v))), "momentum");
        assert_eq!(arg_name(new(d.dampening(v))), "dampening");
        assert_eq!(arg_name(new(d.weight_decay(v))), "weight_decay");
    }
    assert_eq!(arg_name(new(d.nesterov(true))), "momentum");
    assert_eq!(
        arg_name(new(d.nesterov(true).momentum(0.9).dampening(0.1))),
        "dampening"
    );
    assert!(new(d.nesterov(true).momentum(0.9)).is_ok());
}

#[test]
fn adam_family_hyperparameters() {
    for v in BAD_NONNEG {
        assert_eq!(arg_name(new(AdamConfig::default().lr(v))), "lr");
        assert_eq!(arg_name(new(AdamConfig::default().eps(v))), "eps");
        assert_eq!(
            arg_name(new(AdamConfig::default().weight_decay(v))),
            "weight_decay"
        );
        assert_eq!(arg_name(new(AdamWConfig::default().lr(v))), "lr");
        assert_eq!(arg_name(new(AdamWConfig::default().eps(v))), "eps");
        assert_eq!(
            arg_name(new(AdamWConfig::default().weight_decay(v))),
            "weight_decay"
        );
        assert_eq!(arg_name(new(AdamaxConfig::default().lr(v))), "lr");
        assert_eq!(arg_name(new(AdamaxConfig::default().eps(v))), "eps");
        assert_eq!(
            arg_name(new(AdamaxConfig::default().weight_decay(v))),
            "weight_decay"
        );
        assert_eq!(arg_name(new(NAdamConfig::default().lr(v))), "lr");
        assert_eq!(arg_name(new(NAdamConfig::default().eps(v))), "eps");
        assert_eq!(
            arg_name(new(NAdamConfig::default().weight_decay(v))),
            "weight_decay"
        );
        assert_eq!(
            arg_name(new(NAdamConfig::default().momentum_decay(v))),
            "momentum_decay"
        );
        assert_eq!(arg_name(new(RAdamConfig::default().lr(v))), "lr");
        assert_eq!(arg_name(new(RAdamConfig::default().eps(v))), "eps");
        assert_eq!(
            arg_name(new(RAdamConfig::default().weight_decay(v))),
            "weight_decay"
        );
    }
    for b in BAD_BETA {
        assert_eq!(
            arg_name(new(AdamConfig::default().betas((b, 0.999)))),
            "betas[0]"
        );
        assert_eq!(
            arg_name(new(AdamConfig::default().betas((0.9, b)))),
            "betas[1]"
        );
        assert_eq!(
            arg_name(new(AdamWConfig::default().betas((b, 0.999)))),
            "betas[0]"
        );
        assert_eq!(
            arg_name(new(AdamWConfig::default().betas((0.9, b)))),
            "betas[1]"
        );
        assert_eq!(
            arg_name(new(AdamaxConfig::default().betas((b, 0.999)))),
            "betas[0]"
        );
        assert_eq!(
            arg_name(new(AdamaxConfig::default().betas((0.9, b)))),
            "betas[1]"
        );
        assert_eq!(
            arg_name(new(NAdamConfig::default().betas((b, 0.999)))),
            "betas[0]"
        );
        assert_eq!(
            arg_name(new(NAdamConfig::default().betas((0.9, b)))),
            "betas[1]"
        );
        assert_eq!(
            arg_name(new(RAdamConfig::default().betas((b, 0.999)))),
            "betas[0]"
        );
        assert_eq!(
            arg_name(new(RAdamConfig::default().betas((0.9, b)))),
            "betas[1]"
        );
    }
    // β = 0 is allowed, as in PyTorch.
    assert!(new(AdamConfig::default().betas((0.0, 0.0))).is_ok());
}

#[test]
fn adagrad_rmsprop_adadelta_hyperparameters() {
    for v in BAD_NONNEG {
        let a = AdagradConfig::default();
        assert_eq!(arg_name(new(a.lr(v))), "lr");
        assert_eq!(arg_name(new(a.lr_decay(v))), "lr_decay");
        assert_eq!(arg_name(new(a.weight_decay(v))), "weight_decay");
        assert_eq!(
            arg_name(new(a.initial_accumulator_value(v))),
            "initial_accumulator_value"
        );
        assert_eq!(arg_name(new(a.eps(v))), "eps");
        let r = RmsPropConfig::default();
        assert_eq!(arg_name(new(r.lr(v))), "lr");
        assert_eq!(arg_name(new(r.alpha(v))), "alpha");
        assert_eq!(arg_name(new(r.eps(v))), "eps");
        assert_eq!(arg_name(new(r.weight_decay(v))), "weight_decay");
        assert_eq!(arg_name(new(r.momentum(v))), "momentum");
        let d = AdadeltaConfig::default();
        assert_eq!(arg_name(new(d.lr(v))), "lr");
        assert_eq!(arg_name(new(d.eps(v))), "eps");
        assert_eq!(arg_name(new(d.weight_decay(v))), "weight_decay");
    }
    for rho in [-0.1, 1.1, f64::NAN] {
        assert_eq!(arg_name(new(AdadeltaConfig::default().rho(rho))), "rho");
    }
    assert!(new(AdadeltaConfig::default().rho(1.0)).is_ok()); // PyTorch allows rho = 1
}

#[test]
fn group_and_lr_accessors() {
    for (name, mut opt) in zoo::<f64>(&[GroupSpec::new(2), GroupSpec::new(1)]) {
        assert_eq!(opt.n_groups(), 2, "{name}");
        assert_eq!(arg_name(opt.lr(2)), "group", "{name}");
        assert_eq!(arg_name(opt.set_lr(2, 0.1)), "group", "{name}");
        assert_eq!(arg_name(opt.set_lr(0, -0.1)), "lr", "{name}");
        assert_eq!(arg_name(opt.set_lr_all(f64::NAN)), "lr", "{name}");
        assert_eq!(
            arg_name(opt.set_weight_decay(0, -1.0)),
            "weight_decay",
            "{name}"
        );
        assert_eq!(arg_name(opt.weight_decay(5)), "group", "{name}");
        opt.set_lr(1, 0.25).unwrap();
        assert_eq!(opt.lr(1).unwrap(), 0.25);
        opt.set_lr_all(0.5).unwrap();
        assert_eq!((opt.lr(0).unwrap(), opt.lr(1).unwrap()), (0.5, 0.5));
        opt.set_weight_decay(0, 0.1).unwrap();
        assert_eq!(opt.weight_decay(0).unwrap(), 0.1);
        assert_eq!(opt.groups()[1].range(), 2..3);
    }
    // Bad group specs.
    assert_eq!(
        arg_name(Sgd::<f64, _>::owned_with_groups(SgdConfig::default(), &[])),
        "groups"
    );
    assert_eq!(
        arg_name(Sgd::<f64, _>::owned_with_groups(
            SgdConfig::default(),
            &[GroupSpec::new(1); MAX_GROUPS + 1]
        )),
        "groups"
    );
    assert_eq!(
        arg_name(Sgd::<f64, _>::owned_with_groups(
            SgdConfig::default(),
            &[GroupSpec::new(1).weight_decay(-1.0)]
        )),
        "weight_decay"
    );
}

#[test]
fn wrong_lengths_change_nothing() {
    for (name, mut opt) in zoo::<f32>(&[GroupSpec::new(3)]) {
        let mut p = [1.0f32, 2.0, 3.0];
        let mut short = [1.0f32, 2.0];
        assert_eq!(
            opt.step(&mut short, &[0.1, 0.1, 0.1]),
            Err(Error::ShapeMismatch {
                what: "params",
                expected: 3,
                got: 2
            }),
            "{name}"
        );
        assert_eq!(
            opt.step(&mut p, &[0.1, 0.1]),
            Err(Error::ShapeMismatch {
                what: "grads",
                expected: 3,
                got: 2
            }),
            "{name}"
        );
        assert_eq!(p, [1.0, 2.0, 3.0]);
        assert_eq!(short, [1.0, 2.0]);
        assert_eq!(opt.steps(), 0);
        let mut out = vec![0u8; opt.state_bytes_len() - 1];
        assert!(matches!(
            opt.export_state(&mut out),
            Err(Error::BufferTooSmall { what: "out", .. })
        ));
    }
    // Caller-provided state that is too small.
    let mut st = [0.0f32; 5];
    assert_eq!(
        Adam::new(AdamConfig::default(), 3, &mut st[..]).err(),
        Some(Error::BufferTooSmall {
            what: "state",
            needed: 6,
            got: 5
        })
    );
    // Larger buffers are fine; only the prefix is used.
    let mut st = [7.0f32; 8];
    let opt = Adam::new(AdamConfig::default(), 3, &mut st[..]).unwrap();
    assert_eq!(opt.state().len(), 6);
    let st = opt.into_state();
    assert_eq!(st[6..], [7.0, 7.0]);
}

#[test]
fn state_from_another_optimizer_or_layout_is_rejected() {
    let mut a = Adam::<f64, _>::owned(AdamConfig::default(), 3).unwrap();
    let mut bytes = vec![0u8; a.state_bytes_len()];
    a.step(&mut [1.0, 2.0, 3.0], &[0.1, 0.2, 0.3]).unwrap();
    a.export_state(&mut bytes).unwrap();
    let bad_state =
        |r: Result<(), Error>| assert!(matches!(r, Err(Error::BadState { .. })), "{r:?}");
    bad_state(
        AdamW::<f64, _>::owned(AdamWConfig::default(), 3)
            .unwrap()
            .import_state(&bytes),
    );
    bad_state(
        Adam::<f64, _>::owned(AdamConfig::default(), 4)
            .unwrap()
            .import_state(&bytes),
    );
    bad_state(
        Adam::<f32, _>::owned(AdamConfig::default(), 3)
            .unwrap()
            .import_state(&bytes),
    );
    bad_state(
        Adam::<f64, _>::owned(AdamConfig::default().amsgrad(true), 3)
            .unwrap()
            .import_state(&bytes),
    );
    bad_state(
        Adam::<f64, _>::owned_with_groups(
            AdamConfig::default(),
            &[GroupSpec::new(1), GroupSpec::new(2)],
        )
        .unwrap()
        .import_state(&bytes),
    );
    let mut ok = Adam::<f64, _>::owned(AdamConfig::default(), 3).unwrap();
    ok.import_state(&bytes).unwrap();
    assert_eq!(ok.steps(), 1);
    // reset_state goes back to a fresh optimizer.
    ok.reset_state();
    assert_eq!(ok.steps(), 0);
    assert!(ok.state().iter().all(|&x| x == 0.0));
}

proptest! {
    /// Random bytes, and valid blobs with random corruption, are rejected without panicking and
    /// leave the optimizer untouched.
    #[test]
    fn garbage_state_never_panics(
        junk in prop::collection::vec(any::<u8>(), 0..200),
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        cut in any::<prop::sample::Index>(),
    ) {
        for (name, mut opt) in zoo::<f32>(&[GroupSpec::new(2), GroupSpec::new(1)]) {
            let mut p = [0.5f32, -0.5, 1.0];
            opt.step(&mut p, &[0.1, -0.2, 0.3]).unwrap();
            let mut before = vec![0u8; opt.state_bytes_len()];
            opt.export_state(&mut before).unwrap();
            prop_assert!(matches!(opt.import_state(&junk), Err(Error::BadState { .. })), "{}", name);
            let mut corrupt = before.clone();
            corrupt[pos.index(before.len())] ^= xor;
            prop_assert!(matches!(opt.import_state(&corrupt), Err(Error::BadState { .. })), "{}", name);
            let truncated = &before[..cut.index(before.len())];
            prop_assert!(matches!(opt.import_state(truncated), Err(Error::BadState { .. })), "{}", name);
            let mut after = vec![0u8; opt.state_bytes_len()];
            opt.export_state(&mut after).unwrap();
            prop_assert_eq!(before, after, "{} changed by a failed import", name);
        }
    }
}

/// The momentum a schedule cycles: read and set through `Optimizer`, checked like the
/// constructor, refused where it would add or drop a state buffer or does not exist.
#[test]
fn set_momentum_checks_and_refuses() {
    let mut sgd = new(SgdConfig::default().momentum(0.9)).unwrap();
    assert_eq!(sgd.momentum(), Some(0.9));
    sgd.set_momentum(0.85).unwrap();
    assert_eq!(sgd.momentum(), Some(0.85));
    assert_eq!(arg_name(sgd.set_momentum(0.0)), "momentum"); // would drop the buffer
    assert_eq!(arg_name(sgd.set_momentum(-0.5)), "momentum");
    assert_eq!(sgd.momentum(), Some(0.85)); // unchanged by the refusals
    let mut plain = new(SgdConfig::default()).unwrap();
    assert_eq!(arg_name(plain.set_momentum(0.9)), "momentum"); // would add one
    let mut rms = new(RmsPropConfig::default().momentum(0.5)).unwrap();
    rms.set_momentum(0.6).unwrap();
    assert_eq!(rms.momentum(), Some(0.6));
    let mut adam = new(AdamConfig::default()).unwrap();
    assert_eq!(adam.momentum(), Some(0.9));
    adam.set_momentum(0.95).unwrap();
    assert_eq!(adam.config().betas, (0.95, 0.999));
    for v in BAD_BETA {
        assert_eq!(arg_name(adam.set_momentum(v)), "betas[0]");
    }
    let mut adagrad = new(AdagradConfig::default()).unwrap();
    assert_eq!(adagrad.momentum(), None);
    assert_eq!(arg_name(adagrad.set_momentum(0.9)), "momentum");
}
