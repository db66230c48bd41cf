//! Fused kernels against descent-core's scalar reference: the optimizer updates bitwise (same
//! formula, vectorized and chunked), the model ops within stated tolerances.

use descent_core::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GroupSpec, Optim, Optimizer, Rule,
};
use descent_core::{Activation, Mlp, Ops, Reference, Task};
use descent_kernels::fused::{step_fused, FusedRule, PAR_THRESHOLD};
use descent_kernels::Fast;
use proptest::prelude::*;

fn vals(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Run `steps` steps of the core optimizer and of the fused kernel from the same start and
/// require bitwise-equal parameters and state after every step.
fn same_as_core<R: FusedRule>(cfg: R, groups: &[GroupSpec], steps: usize, seed: u64) {
    same_steps(cfg, groups, steps, seed, step_fused);
}

/// [`same_as_core`] with `fused` as the fused step.
fn same_steps<R: Rule>(
    cfg: R,
    groups: &[GroupSpec],
    steps: usize,
    seed: u64,
    fused: impl Fn(&mut Optim<f32, R, Vec<f32>>, &mut [f32], &[f32]) -> descent_core::Result<()>,
) {
    let n: usize = groups.iter().map(|g| g.len).sum();
    let mut a: Optim<f32, R, Vec<f32>> = Optim::owned_with_groups(cfg, groups).unwrap();
    let mut b: Optim<f32, R, Vec<f32>> = Optim::owned_with_groups(cfg, groups).unwrap();
    let mut pa = vals(seed, n, 1.0);
    let mut pb = pa.clone();
    for s in 0..steps {
        let g = vals(seed.wrapping_add(s as u64 + 1), n, 0.5);
        a.step(&mut pa, &g).unwrap();
        fused(&mut b, &mut pb, &g).unwrap();
        assert!(
            pa.iter().zip(&pb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "params differ at step {s}"
        );
        assert!(
            a.state()
                .iter()
                .zip(b.state())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "state differs at step {s}"
        );
    }
    assert_eq!(a.steps(), b.steps());
}

fn lens() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(7),
        Just(13),
        Just(97),
        0usize..300,
        Just(PAR_THRESHOLD + 17)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn fused_adam_is_bitwise_core_adam(n in lens(), split in 0usize..100, amsgrad in any::<bool>(), maximize in any::<bool>(), wd in prop_oneof![Just(0.0), Just(0.01)], seed in any::<u64>()) {
        let k = split.min(n);
        let groups = [GroupSpec::new(k).lr(3e-3), GroupSpec::new(n - k).weight_decay(0.0)];
        let cfg = AdamConfig::default().amsgrad(amsgrad).maximize(maximize).weight_decay(wd);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| same_as_core(cfg, &groups, 4, seed));
    }

    #[test]
    fn fused_adamw_is_bitwise_core_adamw(n in lens(), amsgrad in any::<bool>(), seed in any::<u64>()) {
        let cfg = AdamWConfig::default().amsgrad(amsgrad).lr(0.01);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| same_as_core(cfg, &[GroupSpec::new(n)], 4, seed));
    }

    /// Model ops: relative tolerance 1e-5 (the fused softmax uses a polynomial exp with
    /// relative error < 2e-7 per element; sums of up to 64 terms).
    #[test]
    fn ops_match_reference(rows in 0usize..20, cols in 1usize..40, act in prop::sample::select(activations()), seed in any::<u64>()) {
        let x = vals(seed, rows * cols, 4.0);
        let bias = vals(seed ^ 3, cols, 1.0);
        let (mut a, mut b) = (x.clone(), x.clone());
        Reference.bias_act(rows, cols, &mut a, Some(&bias), act);
        Fast.bias_act(rows, cols, &mut b, Some(&bias), act);
        if matches!(act, Activation::Tanh | Activation::Sigmoid) {
            // Fast's own tanh / sigmoid (vectorizable, within 2.5 ulp of exact) against libm.
            for (u, v) in a.iter().zip(&b) {
                prop_assert!((u - v).abs() <= 4.0 * f32::EPSILON * u.abs(), "{} vs {}", u, v);
            }
        } else if matches!(act, Activation::Gelu | Activation::GeluTanh | Activation::Silu | Activation::Elu { .. } | Activation::Selu | Activation::Celu { .. } | Activation::Softplus { .. } | Activation::Mish) {
            // Fast's erf / tanh / sigmoid / expm1 / exp (within 3e-7 (1 + |x|) for GELU, a
            // few ulp for the others) against libm; x + bias is below 5 in magnitude here.
            for (u, v) in a.iter().zip(&b) {
                prop_assert!((u - v).abs() <= 4.0 * f32::EPSILON * u.abs() + 2e-6, "{:?}: {} vs {}", act, u, v);
            }
        } else {
            prop_assert_eq!(&a, &b);
        }
        let g = vals(seed ^ 5, rows * cols, 1.0);
        let (mut ga, mut gb) = (g.clone(), g.clone());
        Reference.act_backward(act, &a, &mut ga);
        Fast.act_backward(act, &a, &mut gb);
        if act.needs_input() {
            // Not defined through the output: NaN in both.
            prop_assert!(ga.iter().chain(&gb).all(|v| v.is_nan()));
        } else {
            prop_assert_eq!(&ga, &gb);
        }
        // The out-of-place forward that keeps the pre-activation, and the backward through it.
        let (mut za, mut zb) = (x.clone(), x.clone());
        let (mut ya, mut yb) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
        Reference.bias_act_keep(rows, cols, &mut za, &mut ya, Some(&bias), act);
        Fast.bias_act_keep(rows, cols, &mut zb, &mut yb, Some(&bias), act);
        prop_assert_eq!(&za, &zb);
        prop_assert_eq!(&ya, &a, "Reference: keep = in place");
        prop_assert_eq!(&yb, &b, "Fast: keep = in place");
        let (mut ga, mut gb) = (g.clone(), g.clone());
        Reference.act_backward_input(act, &za, &mut ga);
        Fast.act_backward_input(act, &za, &mut gb);
        for (u, v) in ga.iter().zip(&gb) {
            prop_assert!((u - v).abs() <= 4.0 * f32::EPSILON * u.abs() + 1e-6, "{:?}: {} vs {}", act, u, v);
        }
        let (mut ca, mut cb) = (vec![f32::NAN; cols], vec![f32::NAN; cols]);
        Reference.col_sums(rows, cols, &x, 0.0, &mut ca);
        Fast.col_sums(rows, cols, &x, 0.0, &mut cb);
        prop_assert_eq!(&ca, &cb);
        if cols >= 2 {
            let labels: Vec<u32> = (0..rows).map(|i| ((seed >> (i % 60)) as usize % cols) as u32).collect();
            let (mut za, mut zb) = (x.clone(), x.clone());
            let la = Reference.softmax_xent(rows, cols, &mut za, &labels, 0.25);
            let lb = Fast.softmax_xent(rows, cols, &mut zb, &labels, 0.25);
            prop_assert!((la - lb).abs() <= 1e-5 * (1.0 + la.abs()), "{} vs {}", la, lb);
            for (u, v) in za.iter().zip(&zb) {
                prop_assert!((u - v).abs() <= 1e-5 * (1.0 + u.abs()), "{} vs {}", u, v);
            }
            let (mut sa, mut sb) = (x.clone(), x.clone());
            Reference.softmax_rows(rows, cols, &mut sa);
            Fast.softmax_rows(rows, cols, &mut sb);
            for (u, v) in sa.iter().zip(&sb) {
                prop_assert!((u - v).abs() <= 1e-6 + 1e-5 * u.abs(), "{} vs {}", u, v);
            }
        }
    }

    /// A whole MLP loss + gradient on Fast vs Reference: relative 1e-4 (SGEMM accumulates in
    /// a different order).
    #[test]
    fn mlp_gradient_fast_vs_reference(batch in 1usize..40, hidden in 1usize..50, act in prop::sample::select(activations()), seed in any::<u64>()) {
        let m = Mlp::new(&[17, hidden, 5], act, true, Task::Classification).unwrap();
        let mut p = vec![0f32; m.num_params()];
        m.init(&mut p, seed).unwrap();
        let x = vals(seed ^ 9, batch * 17, 1.0);
        let labels: Vec<u32> = (0..batch).map(|i| (i * 7 % 5) as u32).collect();
        let mut s = vec![0f32; m.scratch_len(batch)];
        let (mut ga, mut gb) = (vec![0f32; p.len()], vec![0f32; p.len()]);
        let la = m.loss_grad(&Reference, &p, &x, &labels, batch, &mut s, &mut ga).unwrap();
        let lb = m.loss_grad(&Fast, &p, &x, &labels, batch, &mut s, &mut gb).unwrap();
        prop_assert!((la - lb).abs() <= 1e-4 * (1.0 + la.abs()));
        let gmax = ga.iter().fold(0f32, |a, v| a.max(v.abs()));
        for (u, v) in ga.iter().zip(&gb) {
            prop_assert!((u - v).abs() <= 1e-4 * (gmax + 1e-3), "{} vs {}", u, v);
        }
    }
}

/// `step_elementwise` (the generic entry for any `ElementwiseRule`) is the same step as the
/// core's, and refuses bad lengths without stepping.
#[test]
fn step_elementwise_is_the_core_step() {
    use descent_core::optim::{NAdamConfig, RmsPropConfig};
    use descent_kernels::fused::step_elementwise;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let n = 3 * PAR_THRESHOLD + 11;
        let groups = [GroupSpec::new(1000).lr(0.01), GroupSpec::new(n - 1000)];
        let cfg = NAdamConfig::default().weight_decay(0.1);
        same_steps(cfg, &groups, 3, 7, step_elementwise);
        let mut r: Optim<f32, _, Vec<f32>> = Optim::owned(RmsPropConfig::default(), 4).unwrap();
        assert!(step_elementwise(&mut r, &mut [0.0; 4], &[0.0; 5]).is_err());
        assert_eq!(r.steps(), 0);
    });
}

#[test]
fn fused_step_rejects_bad_lengths() {
    let mut o: Adam<f32, Vec<f32>> = Optim::owned(AdamConfig::default(), 4).unwrap();
    let mut p = [0f32; 4];
    assert!(step_fused(&mut o, &mut p, &[0.0; 3]).is_err());
    assert_eq!(o.steps(), 0);
    let _ = <AdamConfig as Rule>::KIND;
    let _: Option<AdamW<f32, Vec<f32>>> = None;
}

mod elementwise {
    use super::*;
    use descent_core::optim::{
        AdadeltaConfig, AdagradConfig, AdamaxConfig, AsgdConfig, NAdamConfig, RAdamConfig,
        RmsPropConfig, RpropConfig, SgdConfig,
    };

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn fused_sgd_is_bitwise_core_sgd(n in lens(), momentum in prop_oneof![Just(0.0), Just(0.9)], nesterov in any::<bool>(), wd in prop_oneof![Just(0.0), Just(1e-3)], maximize in any::<bool>(), dampening in prop_oneof![Just(0.0), Just(0.3)], seed in any::<u64>()) {
            let nesterov = nesterov && momentum > 0.0;
            let cfg = SgdConfig::default()
                .lr(0.1)
                .momentum(momentum)
                .nesterov(nesterov)
                .dampening(if nesterov { 0.0 } else { dampening })
                .weight_decay(wd)
                .maximize(maximize);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            pool.install(|| same_as_core(cfg, &[GroupSpec::new(n / 2), GroupSpec::new(n - n / 2).lr(0.01)], 4, seed));
        }

        #[test]
        fn fused_adagrad_and_rmsprop_are_bitwise_core(n in lens(), split in 0usize..100, momentum in prop_oneof![Just(0.0), Just(0.5)], centered in any::<bool>(), maximize in any::<bool>(), wd in prop_oneof![Just(0.0), Just(1e-3)], threads in 1usize..4, seed in any::<u64>()) {
            let k = split.min(n);
            let groups = [GroupSpec::new(k).lr(3e-3), GroupSpec::new(n - k).weight_decay(0.0)];
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                same_as_core(AdagradConfig::default().lr_decay(0.01).maximize(maximize).weight_decay(wd), &groups, 4, seed);
                same_as_core(RmsPropConfig::default().momentum(momentum).centered(centered).maximize(maximize).weight_decay(wd), &groups, 4, seed);
            });
        }

        /// The rules that had no fused kernel before 2026-11-30 (the trainer ran them through
        /// the core loop on one thread), Rprop and ASGD.
        #[test]
        fn fused_adadelta_adamax_nadam_radam_rprop_asgd_are_bitwise_core(n in lens(), split in 0usize..100, maximize in any::<bool>(), wd in prop_oneof![Just(0.0), Just(1e-2)], decoupled in any::<bool>(), threads in 1usize..4, seed in any::<u64>()) {
            let k = split.min(n);
            let groups = [GroupSpec::new(k).lr(3e-3), GroupSpec::new(n - k).weight_decay(0.0)];
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                same_as_core(AdadeltaConfig::default().maximize(maximize).weight_decay(wd), &groups, 4, seed);
                same_as_core(AdamaxConfig::default().maximize(maximize).weight_decay(wd), &groups, 4, seed);
                let nadam = NAdamConfig::default().maximize(maximize).weight_decay(wd).decoupled_weight_decay(decoupled);
                same_as_core(nadam, &groups, 4, seed);
                // With the default betas RAdam rectifies from step 6 on: 7 steps take both forms.
                let radam = RAdamConfig::default().maximize(maximize).weight_decay(wd).decoupled_weight_decay(decoupled);
                same_as_core(radam, &groups, 7, seed);
                let rprop = RpropConfig::default().step_sizes((1e-3, 0.5)).maximize(maximize);
                same_as_core(rprop, &groups, 7, seed);
                // Per-group η carried between steps; averaging from step 4.
                let asgd = AsgdConfig::default().lr(0.05).lambd(0.1).t0(2.0).maximize(maximize).weight_decay(wd);
                same_as_core(asgd, &groups, 7, seed);
            });
        }
    }
}

mod adafactor {
    use super::*;
    use descent_core::optim::{AdafactorConfig, Shapes, TensorShape};

    fn shape() -> impl Strategy<Value = TensorShape> {
        prop_oneof![
            (1usize..400, 1usize..400).prop_map(|(r, c)| TensorShape::Matrix(r, c)),
            (1usize..5, 1usize..3000).prop_map(|(r, c)| TensorShape::Matrix(r, c)),
            (1usize..3000).prop_map(TensorShape::Vector),
            Just(TensorShape::Vector(70_001)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Factored matrices (1 row, 1 column, primes, more than one leaf of rows or column
        /// blocks), vectors of several blocks, two groups split at a tensor boundary, 1-3
        /// threads (parallel above the threshold): bitwise descent-core's step.
        #[test]
        fn fused_adafactor_is_bitwise_core(shapes in proptest::collection::vec(shape(), 1..5), split in 0usize..5, wd in prop_oneof![Just(0.0), Just(0.01)], maximize in any::<bool>(), threads in 1usize..4, seed in any::<u64>()) {
            let n: usize = shapes.iter().map(|s| s.numel()).sum();
            let k: usize = shapes[..split.min(shapes.len())].iter().map(|s| s.numel()).sum();
            let cfg = AdafactorConfig::default()
                .lr(0.05)
                .weight_decay(wd)
                .maximize(maximize)
                .shapes(Shapes::new(&shapes).unwrap());
            let groups = [GroupSpec::new(k).lr(0.02), GroupSpec::new(n - k)];
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| same_as_core(cfg, &groups, 3, seed));
        }
    }
}

/// Every activation with PyTorch's defaults ([`Activation::ALL`]) and with other parameters:
/// LeakyReLU and ELU with positive and negative ones (a negative one needs the input),
/// CELU with a small and a negative alpha, Softplus with a low threshold, a shifted Hardtanh.
fn activations() -> Vec<Activation> {
    let mut v = Activation::ALL.to_vec();
    v.extend([
        Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        Activation::LeakyRelu {
            negative_slope: -0.3,
        },
        Activation::Elu { alpha: 0.5 },
        Activation::Elu { alpha: -0.5 },
        Activation::Celu { alpha: 0.5 },
        Activation::Celu { alpha: -2.0 },
        Activation::Softplus {
            beta: 2.0,
            threshold: 5.0,
        },
        Activation::Hardtanh {
            min_val: -0.5,
            max_val: 2.0,
        },
    ]);
    v
}

/// Activation backward on non-finite values: Fast and Reference agree element by element
/// (NaN where the other is NaN), and ReLU follows torch's `threshold_backward`.
#[test]
fn act_backward_non_finite_matches_reference() {
    let specials = [
        0.0f32,
        -0.0,
        1.5,
        -2.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let (mut y, mut g) = (Vec::new(), Vec::new());
    for &a in &specials {
        for &b in &specials {
            y.push(a);
            g.push(b);
        }
    }
    for act in activations() {
        let (mut ga, mut gb) = (g.clone(), g.clone());
        if act.needs_input() {
            // Through the input instead: finite x with non-finite g (Fast's vectorized
            // functions clamp infinite x where the libm formulas give NaN).
            Reference.act_backward_input(act, &y, &mut ga);
            Fast.act_backward_input(act, &y, &mut gb);
            for i in (0..y.len()).filter(|&i| y[i].is_finite()) {
                let close = ga[i] == gb[i]
                    || (ga[i].is_nan() && gb[i].is_nan())
                    || (ga[i] - gb[i]).abs() <= 1e-6 * (1.0 + ga[i].abs());
                assert!(
                    close,
                    "{act:?} x {} g {}: {} vs {}",
                    y[i], g[i], ga[i], gb[i]
                );
            }
            continue;
        }
        Reference.act_backward(act, &y, &mut ga);
        Fast.act_backward(act, &y, &mut gb);
        for i in 0..y.len() {
            let same = ga[i] == gb[i] || (ga[i].is_nan() && gb[i].is_nan());
            assert!(
                same,
                "{act:?} y {} g {}: {} vs {}",
                y[i], g[i], ga[i], gb[i]
            );
        }
        if act == Activation::Relu {
            for i in 0..y.len() {
                let torch = if y[i] <= 0.0 { 0.0 } else { g[i] };
                assert!(ga[i] == torch || (ga[i].is_nan() && torch.is_nan()));
            }
        }
    }
}

mod muon {
    use super::*;
    use descent_core::optim::{AdjustLr, Muon, MuonConfig, NsPrecision, Shapes, TensorShape};

    /// Sides: 1, primes, non-multiples of the register tiles, and above SGEMM's no-pack and
    /// parallel thresholds.
    fn side() -> impl Strategy<Value = usize> {
        prop_oneof![
            Just(1usize),
            Just(2),
            Just(7),
            Just(13),
            1usize..40,
            60usize..200
        ]
    }

    /// Two steps from the same parameters and gradients through the scalar reference
    /// products and through SGEMM, on 1-3 threads. The products accumulate in another order
    /// and the iteration amplifies that (its polynomial has slope a = 3.4445 at 0), so the
    /// parameters agree to a fraction `tol` of the two steps' scale `2 · adjusted lr` (entries
    /// of O are at most about 1) plus 4 ulp of the parameter: `tol` = 2^-8 with bfloat16
    /// (one rounding step; measured up to 2^-11.4, on the [100, 784] weight) and 1e-5
    /// natively (measured up to 1.5e-7).
    fn fast_matches_reference(shapes: &[TensorShape], bf16: bool, threads: usize, seed: u64) {
        let n: usize = shapes.iter().map(|s| s.numel()).sum();
        let prec = if bf16 {
            NsPrecision::Bf16
        } else {
            NsPrecision::Native
        };
        let cfg = MuonConfig::default()
            .lr(0.02)
            .ns_precision(prec)
            .adjust_lr_fn(AdjustLr::MatchRmsAdamW)
            .shapes(Shapes::new(shapes).unwrap());
        let mut a = Muon::<f32, Vec<f32>>::owned(cfg, n).unwrap();
        let mut b = Muon::<f32, Vec<f32>>::owned(cfg, n).unwrap();
        let p0 = vals(seed, n, 1.0);
        let (mut pa, mut pb) = (p0.clone(), p0.clone());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for s in 0..2 {
            let g = vals(seed.wrapping_add(s + 1), n, 0.5);
            a.step(&mut pa, &g).unwrap();
            pool.install(|| step_fused(&mut b, &mut pb, &g)).unwrap();
            // The momentum buffer is element-wise: bitwise.
            assert!(a
                .state()
                .iter()
                .zip(b.state())
                .all(|(x, y)| x.to_bits() == y.to_bits()));
        }
        let tol = if bf16 { 2f64.powi(-8) } else { 1e-5 };
        let mut at = 0;
        for s in shapes {
            let TensorShape::Matrix(r, c) = *s else {
                unreachable!()
            };
            let len = r * c;
            let adj = AdjustLr::MatchRmsAdamW.apply(0.02, r, c);
            // Two steps of at most adj · |O| ≤ adj · √min(r, c) each (‖O‖₂ ≲ 1.2).
            let scale = 2.0 * adj;
            for e in at..at + len {
                let d = (pa[e] as f64 - pb[e] as f64).abs();
                assert!(
                    d <= tol * scale + 4.0 * f32::EPSILON as f64 * (pa[e] as f64).abs(),
                    "[{r}, {c}] element {}: reference {} fast {} (|d| = {d:e}, bound {:e})",
                    e - at,
                    pa[e],
                    pb[e],
                    tol * scale
                );
            }
            at += len;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn fused_muon_matches_core(dims in proptest::collection::vec((side(), side()), 1..4), bf16 in any::<bool>(), threads in 1usize..4, seed in any::<u64>()) {
            let shapes: Vec<TensorShape> = dims.iter().map(|&(r, c)| TensorShape::Matrix(r, c)).collect();
            fast_matches_reference(&shapes, bf16, threads, seed);
        }
    }

    /// The MLP-sized matrices of the trainer's default Fashion-MNIST model, and one past a
    /// block of the symmetric products.
    #[test]
    fn fused_muon_matches_core_on_mlp_weights() {
        let shapes = [TensorShape::Matrix(100, 784), TensorShape::Matrix(10, 100)];
        fast_matches_reference(&shapes, true, 2, 7);
        fast_matches_reference(&shapes, false, 2, 8);
        // Past one 256-row block of the symmetric products (two blocks, transposed).
        let shapes = [TensorShape::Matrix(300, 261)];
        fast_matches_reference(&shapes, true, 2, 9);
        fast_matches_reference(&shapes, false, 1, 10);
    }
}
