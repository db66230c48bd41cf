//! Building schedulers by name: defaults, aliases of the typed constructors, and every error
//! path (unknown names and keys, bad types, out-of-range values), each naming the argument.

use descent_core::sched::*;
use descent_core::Error;

fn spec<'a>(name: &'a str, params: &'a [(&'a str, Value<'a>)]) -> Spec<'a> {
    Spec { name, params }
}

fn build(name: &str, params: &[(&str, Value)]) -> Result<Scheduler, Error> {
    Scheduler::from_spec(0.1, &spec(name, params))
}

/// The `name` of an `InvalidArgument` error.
fn arg_name(r: Result<Scheduler, Error>) -> &'static str {
    match r {
        Err(Error::InvalidArgument { name, .. }) => name,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn defaults_are_pytorchs() {
    use Value::Num;
    let s = build("StepLR", &[("step_size", Num(3.0))]).unwrap();
    assert_eq!(s, StepLR::new(0.1, 3, 0.1).unwrap().into());
    let s = build("MultiStepLR", &[("milestones", Value::List(&[2.0, 4.0]))]).unwrap();
    assert_eq!(s, MultiStepLR::new(0.1, &[2, 4], 0.1).unwrap().into());
    let s = build("CosineAnnealingLR", &[("T_max", Num(10.0))]).unwrap();
    assert_eq!(s, CosineAnnealingLR::new(0.1, 10, 0.0).unwrap().into());
    let s = build("CosineAnnealingWarmRestarts", &[("T_0", Num(10.0))]).unwrap();
    assert_eq!(
        s,
        CosineAnnealingWarmRestarts::new(0.1, 10, 1, 0.0)
            .unwrap()
            .into()
    );
    let s = build("PolynomialLR", &[]).unwrap();
    assert_eq!(s, PolynomialLR::new(0.1, 5, 1.0).unwrap().into());
    let s = build("SWALR", &[("swa_lr", Num(0.05))]).unwrap();
    assert_eq!(
        s,
        SWALR::new(0.1, 0.05, 10, AnnealStrategy::Cos)
            .unwrap()
            .into()
    );
    let s = build("LinearLR", &[]).unwrap();
    assert_eq!(s, LinearLR::new(0.1, 1.0 / 3.0, 1.0, 5).unwrap().into());
    let s = build("ConstantLR", &[]).unwrap();
    assert_eq!(s, ConstantLR::new(0.1, 1.0 / 3.0, 5).unwrap().into());
    let s = build("InverseTime", &[]).unwrap();
    assert_eq!(s.lr(), 0.1);
    let s = build("CyclicLR", &[("base_lr", Num(0.01)), ("max_lr", Num(0.1))]).unwrap();
    let want = CyclicLR::new(0.01, 0.1, 2000.0, None, CyclicMode::Triangular, 1.0)
        .unwrap()
        .with_momentum(0.8, 0.9)
        .unwrap();
    assert_eq!(s, want.into());
    assert_eq!(s.momentum(), Some(0.9));
    let s = build(
        "OneCycleLR",
        &[("max_lr", Num(1.0)), ("total_steps", Num(100.0))],
    )
    .unwrap();
    let want = OneCycleLR::new(1.0, 100, 0.3, AnnealStrategy::Cos, 25.0, 1e4, false)
        .unwrap()
        .with_momentum(0.85, 0.95)
        .unwrap();
    assert_eq!(s, want.into());
    let s = build("ReduceLROnPlateau", &[]).unwrap();
    assert_eq!(
        s,
        ReduceLROnPlateau::new(0.1, PlateauConfig::default())
            .unwrap()
            .into()
    );
    assert!(s.needs_metric());
}

#[test]
fn every_listed_name_is_accepted() {
    use Value::Num;
    let child = [("gamma", Num(0.9))];
    let children = [spec("ExponentialLR", &child), spec("ExponentialLR", &child)];
    for name in SCHEDULER_NAMES {
        let params: &[(&str, Value)] = match name {
            "StepLR" => &[("step_size", Num(2.0))],
            "MultiStepLR" => &[("milestones", Value::List(&[1.0]))],
            "ExponentialLR" => &[("gamma", Num(0.9))],
            "CosineAnnealingLR" => &[("T_max", Num(5.0))],
            "CosineAnnealingWarmRestarts" => &[("T_0", Num(5.0))],
            "CyclicLR" => &[("base_lr", Num(0.01)), ("max_lr", Num(0.1))],
            "OneCycleLR" => &[("max_lr", Num(0.1)), ("total_steps", Num(10.0))],
            "SequentialLR" => &[
                ("schedulers", Value::Schedulers(&children)),
                ("milestones", Value::List(&[3.0])),
            ],
            "ChainedScheduler" => &[("schedulers", Value::Schedulers(&children))],
            "LambdaLR" | "MultiplicativeLR" => &[("lr_lambda", Value::Str("lambda e: 0.9"))],
            "SWALR" => &[("swa_lr", Num(0.05))],
            _ => &[],
        };
        let s = build(name, params).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.name(), name);
    }
}

#[test]
fn lambda_schedules_by_name_equal_the_typed_ones() {
    let src = "lambda epoch: 0.95 ** epoch";
    let f = LrLambda::parse(src).unwrap();
    let s = build("LambdaLR", &[("lr_lambda", Value::Str(src))]).unwrap();
    assert_eq!(s, LambdaLR::new(0.1, f).unwrap().into());
    let s = build("MultiplicativeLR", &[("lr_lambda", Value::Str(src))]).unwrap();
    assert_eq!(s, MultiplicativeLR::new(0.1, f).unwrap().into());
    // A number is the constant function.
    let s = build("LambdaLR", &[("lr_lambda", Value::Num(0.5))]).unwrap();
    assert_eq!(s.lr(), 0.05);
    // Not NaN: MultiplicativeLR does not evaluate it when built, and its save would not
    // load (found by fuzzing).
    assert_eq!(
        arg_name(build(
            "MultiplicativeLR",
            &[("lr_lambda", Value::Num(f64::NAN))]
        )),
        "lr_lambda"
    );
    // The value at 0 is checked when built.
    assert_eq!(
        arg_name(build(
            "LambdaLR",
            &[("lr_lambda", Value::Str("lambda e: 1 / e"))]
        )),
        "lr_lambda"
    );
    assert_eq!(
        arg_name(build(
            "LambdaLR",
            &[("lr_lambda", Value::Str("lambda e: e - 1"))]
        )),
        "lr_lambda"
    );
}

#[test]
fn unknown_names_and_keys_are_errors() {
    use Value::Num;
    assert_eq!(arg_name(build("StepLr", &[])), "scheduler");
    assert_eq!(arg_name(build("LambdaLr", &[])), "scheduler");
    assert_eq!(arg_name(build("LambdaLR", &[])), "lr_lambda");
    assert_eq!(
        arg_name(build(
            "MultiplicativeLR",
            &[("lr_lambda", Value::Bool(true))]
        )),
        "lr_lambda"
    );
    // A malformed lambda names the byte where it went wrong.
    assert!(matches!(
        build("LambdaLR", &[("lr_lambda", Value::Str("lambda e: e ** "))]),
        Err(Error::BadExpression { at: 15, .. })
    ));
    match build("StepLR", &[("step_size", Num(2.0)), ("gama", Num(0.5))]) {
        Err(Error::InvalidArgument { name, value, .. }) => {
            assert_eq!(name, "StepLR keyword");
            assert_eq!(value, 1.0); // index of the unknown key
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        arg_name(build(
            "ReduceLROnPlateau",
            &[("verbose", Value::Bool(true))]
        )),
        "ReduceLROnPlateau keyword"
    );
    // A known key of another scheduler is still unknown here.
    assert_eq!(
        arg_name(build(
            "ExponentialLR",
            &[("gamma", Num(0.9)), ("T_max", Num(3.0))]
        )),
        "ExponentialLR keyword"
    );
}

#[test]
fn invalid_values_name_the_argument() {
    use Value::{Num, Str};
    type Case<'a> = (&'a str, &'a [(&'a str, Value<'a>)], &'a str);
    let cases: &[Case] = &[
        (
            "StepLR",
            &[("step_size", Num(2.0)), ("gamma", Num(-0.1))],
            "gamma",
        ),
        ("StepLR", &[("step_size", Num(0.0))], "step_size"),
        ("SWALR", &[], "swa_lr"),
        ("SWALR", &[("swa_lr", Num(-0.1))], "swa_lr"),
        (
            "SWALR",
            &[("swa_lr", Num(0.1)), ("anneal_epochs", Num(1.5))],
            "anneal_epochs",
        ),
        (
            "SWALR",
            &[("swa_lr", Num(0.1)), ("anneal_epochs", Num(-1.0))],
            "anneal_epochs",
        ),
        (
            "SWALR",
            &[("swa_lr", Num(0.1)), ("anneal_strategy", Str("exp"))],
            "anneal_strategy",
        ),
        ("StepLR", &[("step_size", Num(2.5))], "step_size"),
        ("StepLR", &[("step_size", Num(-1.0))], "step_size"),
        ("StepLR", &[], "step_size"),
        ("StepLR", &[("step_size", Str("2"))], "step_size"),
        (
            "StepLR",
            &[("step_size", Num(2.0)), ("step_size", Num(3.0))],
            "step_size",
        ),
        (
            "StepLR",
            &[("step_size", Num(2.0)), ("last_epoch", Num(4.0))],
            "last_epoch",
        ),
        ("ExponentialLR", &[("gamma", Num(f64::NAN))], "gamma"),
        ("ExponentialLR", &[], "gamma"),
        ("MultiStepLR", &[("milestones", Num(3.0))], "milestones"),
        (
            "MultiStepLR",
            &[("milestones", Value::List(&[1.0, -2.0]))],
            "milestones",
        ),
        (
            "MultiStepLR",
            &[("milestones", Value::List(&[1.0; 33]))],
            "milestones",
        ),
        ("CosineAnnealingLR", &[("T_max", Num(0.0))], "T_max"),
        (
            "CosineAnnealingLR",
            &[("T_max", Num(5.0)), ("eta_min", Num(-1.0))],
            "eta_min",
        ),
        (
            "CosineAnnealingWarmRestarts",
            &[("T_0", Num(5.0)), ("T_mult", Num(0.0))],
            "T_mult",
        ),
        ("CyclicLR", &[("max_lr", Num(0.1))], "base_lr"),
        (
            "CyclicLR",
            &[
                ("base_lr", Num(0.01)),
                ("max_lr", Num(0.1)),
                ("mode", Str("sine")),
            ],
            "mode",
        ),
        (
            "CyclicLR",
            &[
                ("base_lr", Num(0.01)),
                ("max_lr", Num(0.1)),
                ("step_size_up", Num(0.0)),
            ],
            "step_size_up",
        ),
        (
            "CyclicLR",
            &[
                ("base_lr", Num(0.01)),
                ("max_lr", Num(0.1)),
                ("cycle_momentum", Num(2.0)),
            ],
            "cycle_momentum",
        ),
        ("OneCycleLR", &[("max_lr", Num(0.1))], "total_steps"),
        (
            "OneCycleLR",
            &[("max_lr", Num(0.1)), ("epochs", Num(3.0))],
            "total_steps",
        ),
        (
            "OneCycleLR",
            &[
                ("max_lr", Num(0.1)),
                ("total_steps", Num(10.0)),
                ("pct_start", Num(1.5)),
            ],
            "pct_start",
        ),
        (
            "OneCycleLR",
            &[
                ("max_lr", Num(0.1)),
                ("total_steps", Num(10.0)),
                ("anneal_strategy", Str("exp")),
            ],
            "anneal_strategy",
        ),
        (
            "OneCycleLR",
            &[
                ("max_lr", Num(0.1)),
                ("total_steps", Num(10.0)),
                ("div_factor", Num(0.0)),
            ],
            "div_factor",
        ),
        ("PolynomialLR", &[("power", Num(-1.0))], "power"),
        ("LinearLR", &[("start_factor", Num(0.0))], "start_factor"),
        ("LinearLR", &[("end_factor", Num(1.5))], "end_factor"),
        ("ConstantLR", &[("factor", Num(1.5))], "factor"),
        ("InverseTime", &[("c", Num(0.0))], "c"),
        ("InverseSqrtTime", &[("c", Num(-1.0))], "c"),
        ("ReduceLROnPlateau", &[("factor", Num(1.0))], "factor"),
        ("ReduceLROnPlateau", &[("mode", Str("avg"))], "mode"),
        (
            "ReduceLROnPlateau",
            &[("threshold_mode", Str("pct"))],
            "threshold_mode",
        ),
        ("ReduceLROnPlateau", &[("patience", Num(1.5))], "patience"),
        ("ReduceLROnPlateau", &[("min_lr", Num(-1.0))], "min_lr"),
        (
            "SequentialLR",
            &[("milestones", Value::List(&[]))],
            "schedulers",
        ),
    ];
    for (name, params, want) in cases {
        let got = arg_name(build(name, params));
        assert_eq!(got, *want, "{name} {params:?}");
    }
    assert_eq!(
        arg_name(Scheduler::from_spec(
            -0.1,
            &spec("ExponentialLR", &[("gamma", Num(0.9))])
        )),
        "lr"
    );
}

#[test]
fn sequential_by_name() {
    use Value::{List, Num, Schedulers};
    let warm = [("start_factor", Num(0.5)), ("total_iters", Num(2.0))];
    let decay = [("gamma", Num(0.5))];
    let kids = [spec("LinearLR", &warm), spec("ExponentialLR", &decay)];
    let mut s = Scheduler::from_spec(
        1.0,
        &spec(
            "SequentialLR",
            &[
                ("schedulers", Schedulers(&kids)),
                ("milestones", List(&[2.0])),
            ],
        ),
    )
    .unwrap();
    let mut got = [0.0; 5];
    for g in &mut got {
        *g = s.lr();
        s.step().unwrap();
    }
    assert_eq!(got, [0.5, 0.75, 1.0, 0.5, 0.25]);

    let bad_count = [
        ("schedulers", Schedulers(&kids)),
        ("milestones", List(&[2.0, 3.0])),
    ];
    assert_eq!(arg_name(build("SequentialLR", &bad_count)), "milestones");
    let unsorted_kids = [kids[0], kids[1], kids[0]];
    let unsorted = [
        ("schedulers", Schedulers(&unsorted_kids)),
        ("milestones", List(&[3.0, 2.0])),
    ];
    assert_eq!(arg_name(build("SequentialLR", &unsorted)), "milestones");
    let zero = [
        ("schedulers", Schedulers(&kids)),
        ("milestones", List(&[0.0])),
    ];
    assert_eq!(arg_name(build("SequentialLR", &zero)), "milestones");
    let inner = [
        ("schedulers", Schedulers(&kids)),
        ("milestones", List(&[2.0])),
    ];
    let nested = [spec("SequentialLR", &inner), kids[1]];
    let nested_p = [
        ("schedulers", Schedulers(&nested)),
        ("milestones", List(&[2.0])),
    ];
    assert_eq!(arg_name(build("SequentialLR", &nested_p)), "scheduler");
    let bad_kid = [spec("LinearLR", &decay), kids[1]];
    let bad_kid_p = [
        ("schedulers", Schedulers(&bad_kid)),
        ("milestones", List(&[2.0])),
    ];
    assert_eq!(
        arg_name(build("SequentialLR", &bad_kid_p)),
        "LinearLR keyword"
    );
    let five = [kids[0]; 5];
    let five_p = [
        ("schedulers", Schedulers(&five)),
        ("milestones", List(&[1.0, 2.0, 3.0, 4.0])),
    ];
    assert_eq!(arg_name(build("SequentialLR", &five_p)), "schedulers");
}

#[test]
fn none_means_default_and_pairs_shorthand() {
    use Value::Num;
    let a = build(
        "CyclicLR",
        &[
            ("base_lr", Num(0.01)),
            ("max_lr", Num(0.1)),
            ("step_size_up", Num(4.0)),
            ("step_size_down", Value::None),
        ],
    )
    .unwrap();
    let b = build(
        "CyclicLR",
        &[
            ("base_lr", Num(0.01)),
            ("max_lr", Num(0.1)),
            ("step_size_up", Num(4.0)),
            ("step_size_down", Num(4.0)),
            ("last_epoch", Num(-1.0)),
        ],
    )
    .unwrap();
    assert_eq!(a, b);
    let p = Scheduler::from_pairs("StepLR", 0.1, &[("step_size", 30.0), ("gamma", 0.5)]).unwrap();
    assert_eq!(p, StepLR::new(0.1, 30, 0.5).unwrap().into());
    assert!(Scheduler::from_pairs("StepLR", 0.1, &[("step", 30.0)]).is_err());
    let e = build(
        "OneCycleLR",
        &[
            ("max_lr", Num(0.1)),
            ("epochs", Num(3.0)),
            ("steps_per_epoch", Num(4.0)),
        ],
    )
    .unwrap();
    let t = build(
        "OneCycleLR",
        &[("max_lr", Num(0.1)), ("total_steps", Num(12.0))],
    )
    .unwrap();
    assert_eq!(e, t);
}

#[test]
fn stepping_errors() {
    let mut p = build("ReduceLROnPlateau", &[]).unwrap();
    let before = p;
    assert_eq!(arg_name(p.step().map(|_| p)), "metrics");
    assert_eq!(p, before);
    p.step_with_metric(1.0).unwrap();
    assert_eq!(p.last_epoch(), 1);
    // Other schedulers ignore the metric.
    let mut s = build("StepLR", &[("step_size", Value::Num(1.0))]).unwrap();
    s.step_with_metric(123.0).unwrap();
    assert_eq!(s.lr(), 0.1 * 0.1);
    // OneCycleLR past its end.
    let mut o = build(
        "OneCycleLR",
        &[
            ("max_lr", Value::Num(0.1)),
            ("total_steps", Value::Num(3.0)),
        ],
    )
    .unwrap();
    for _ in 0..3 {
        o.step().unwrap();
    }
    let before = o;
    assert_eq!(arg_name(o.step().map(|_| o)), "total_steps");
    assert_eq!(o, before);
}
