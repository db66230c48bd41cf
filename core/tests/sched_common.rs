//! Shared proptest strategies for the scheduler integration tests (included with `#[path]`).
#![allow(dead_code)]

use descent_core::sched::*;
use proptest::prelude::*;

/// Any valid epoch-driven schedule with random parameters.
pub fn arb_schedule() -> impl Strategy<Value = Schedule> {
    let lr = 1e-4f64..1.0;
    prop_oneof![
        (lr.clone(), 1u64..10, 0.0f64..1.5)
            .prop_map(|(l, s, g)| StepLR::new(l, s, g).unwrap().into()),
        (
            lr.clone(),
            proptest::collection::vec(0u64..40, 0..6),
            0.0f64..1.0
        )
            .prop_map(|(l, m, g)| MultiStepLR::new(l, &m, g).unwrap().into()),
        (lr.clone(), 0.5f64..1.2).prop_map(|(l, g)| ExponentialLR::new(l, g).unwrap().into()),
        (lr.clone(), 1u64..30, 0.0f64..1e-3)
            .prop_map(|(l, t, e)| CosineAnnealingLR::new(l, t, e).unwrap().into()),
        (lr.clone(), 1u64..8, 1u64..4, 0.0f64..1e-3).prop_map(|(l, t, m, e)| {
            CosineAnnealingWarmRestarts::new(l, t, m, e).unwrap().into()
        }),
        (
            1e-4f64..0.1,
            0.1f64..1.0,
            1u32..10,
            proptest::option::of(0u32..10),
            0usize..3,
            0.5f64..1.0,
            any::<bool>()
        )
            .prop_map(|(b, m, up, down, mode, g, mom)| {
                let mode = [
                    CyclicMode::Triangular,
                    CyclicMode::Triangular2,
                    CyclicMode::ExpRange,
                ][mode];
                let s = CyclicLR::new(b, m, up as f64, down.map(f64::from), mode, g).unwrap();
                let s = if mom {
                    s.with_momentum(0.8, 0.9).unwrap()
                } else {
                    s
                };
                s.into()
            }),
        (
            1e-3f64..1.0,
            20u64..60,
            0.05f64..0.6,
            any::<bool>(),
            1.0f64..50.0,
            1.0f64..1e4,
            any::<bool>(),
            any::<bool>()
        )
            .prop_filter_map(
                "zero-length phase",
                |(m, n, p, lin, df, fdf, three, mom)| {
                    let a = if lin {
                        AnnealStrategy::Linear
                    } else {
                        AnnealStrategy::Cos
                    };
                    let s = OneCycleLR::new(m, n, p, a, df, fdf, three).ok()?;
                    let s = if mom {
                        s.with_momentum(0.85, 0.95).unwrap()
                    } else {
                        s
                    };
                    Some(s.into())
                }
            ),
        (lr.clone(), 0u64..20, 0.0f64..3.0)
            .prop_map(|(l, t, p)| PolynomialLR::new(l, t, p).unwrap().into()),
        (lr.clone(), 0.01f64..1.0, 0.0f64..1.0, 0u64..20).prop_map(|(l, s, e, t)| LinearLR::new(
            l, s, e, t
        )
        .unwrap()
        .into()),
        (lr.clone(), 0.01f64..1.0, 0u64..20)
            .prop_map(|(l, f, t)| ConstantLR::new(l, f, t).unwrap().into()),
        (lr.clone(), 0.1f64..20.0).prop_map(|(l, c)| InverseTime::new(l, c).unwrap().into()),
        (lr.clone(), 0.1f64..20.0).prop_map(|(l, c)| InverseSqrtTime::new(l, c).unwrap().into()),
        (lr.clone(), 0usize..LAMBDAS.len(), 0.5f64..1.0, 1u32..10)
            .prop_map(|(l, i, a, k)| { LambdaLR::new(l, lambda(i, a, k)).unwrap().into() }),
        (lr.clone(), 0usize..LAMBDAS.len(), 0.5f64..1.0, 1u32..10)
            .prop_map(|(l, i, a, k)| { MultiplicativeLR::new(l, lambda(i, a, k)).unwrap().into() }),
        (lr.clone(), lr, 0u64..15, any::<bool>()).prop_map(|(l, s, n, lin)| {
            let a = if lin {
                AnnealStrategy::Linear
            } else {
                AnnealStrategy::Cos
            };
            SWALR::new(l, s, n, a).unwrap().into()
        }),
    ]
}

/// Shapes of `lr_lambda` with a factor `A` in [0.5, 1) and a whole `K` in 1..10.
pub const LAMBDAS: [&str; 5] = [
    "lambda e: A ** (e // K)",
    "lambda e: min(1.0, (e + 1) / K) * A ** e",
    "lambda e: A if e % K == 0 else 1",
    "lambda epoch: 1 / math.sqrt(epoch + K)",
    "lambda e: (e + 1) / K if e < K else 0.5 * (1 + math.cos(math.pi * A * (e - K) / 40))",
];

/// [`LAMBDAS`]`[i]` with `A = a`, `K = k`, compiled.
pub fn lambda(i: usize, a: f64, k: u32) -> LrLambda {
    let src = LAMBDAS[i]
        .replace('A', &format!("{a:?}"))
        .replace('K', &k.to_string());
    LrLambda::parse(&src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// A valid plateau configuration.
pub fn arb_plateau() -> impl Strategy<Value = ReduceLROnPlateau> {
    (
        1e-4f64..1.0,
        any::<bool>(),
        0.0f64..0.99,
        0u64..5,
        0.0f64..0.1,
        any::<bool>(),
        0u64..4,
        0.0f64..1e-3,
    )
        .prop_map(
            |(lr, max, factor, patience, threshold, abs, cooldown, min_lr)| {
                let cfg = PlateauConfig {
                    mode: if max {
                        PlateauMode::Max
                    } else {
                        PlateauMode::Min
                    },
                    factor,
                    patience,
                    threshold,
                    threshold_mode: if abs {
                        ThresholdMode::Abs
                    } else {
                        ThresholdMode::Rel
                    },
                    cooldown,
                    min_lr,
                    eps: 1e-8,
                };
                ReduceLROnPlateau::new(lr, cfg).unwrap()
            },
        )
}

/// Any scheduler: a schedule, a sequence or a chain of 1–4 schedules, or a plateau scheduler.
pub fn arb_scheduler() -> impl Strategy<Value = Scheduler> {
    prop_oneof![
        arb_schedule().prop_map(Scheduler::from),
        (
            proptest::collection::vec(arb_schedule(), 1..=MAX_SEQUENTIAL),
            proptest::collection::vec(1u64..40, MAX_SEQUENTIAL)
        )
            .prop_map(|(s, mut m)| {
                m.truncate(s.len() - 1);
                m.sort_unstable();
                SequentialLR::new(&s, &m).unwrap().into()
            }),
        proptest::collection::vec(arb_schedule(), 1..=MAX_SEQUENTIAL)
            .prop_map(|s| ChainedScheduler::new(&s).unwrap().into()),
        arb_plateau().prop_map(Scheduler::from),
    ]
}

/// Step once, feeding a deterministic pseudo-metric to metric-driven schedulers; a `OneCycleLR`
/// past its end is left as is (that error is tested separately).
pub fn advance(s: &mut Scheduler, t: u64) {
    let metric = 1.0 + ((t * 7919) % 13) as f64 / 13.0 - t as f64 * 1e-3;
    let _ = s.step_with_metric(metric);
}
