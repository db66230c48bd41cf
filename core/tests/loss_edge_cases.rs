//! Edge cases and error paths of the losses, through the public API only.

use descent_core::loss::{
    BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, GaussianNLLLoss,
    HingeEmbeddingLoss, HuberLoss, KLDivLoss, KLDivReduction, L1Loss, MSELoss, MarginRankingLoss,
    MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, NLLLoss, PoissonNLLLoss,
    Reduction, SmoothL1Loss, SoftMarginLoss, TripletMarginLoss,
};
use descent_core::loss::{
    CosineDistance, Distance, PairwiseDistance, TripletMarginWithDistanceLoss,
};
use descent_core::Error;

const Z: [f64; 8] = [0.5, -1.0, 2.0, 0.0, 1.5, 1.5, -3.0, 0.25]; // [2, 4]

fn log_softmax(z: &[f64], c: usize) -> Vec<f64> {
    z.chunks(c)
        .flat_map(|r| {
            let lse = r.iter().map(|x| x.exp()).sum::<f64>().ln();
            r.iter().map(move |x| x - lse)
        })
        .collect()
}

#[test]
fn all_targets_ignored() {
    for red in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let m = if red == Reduction::None { 2 } else { 0 };
        for eps in [0.0, 0.4] {
            let mut out = vec![5.0; m];
            let mut g = [5.0; 8];
            let v = CrossEntropyLoss::<f64>::new(None, 3, red, eps)
                .forward_backward(&Z, &[3, 3], 4, &mut out, &mut g)
                .unwrap();
            assert_eq!(v.is_nan(), red == Reduction::Mean, "{red:?}");
            if red != Reduction::Mean {
                assert_eq!(v, 0.0);
            }
            assert!(out.iter().all(|&x| x == 0.0));
            assert_eq!(g, [0.0; 8]);
        }
        let mut out = vec![5.0; m];
        let mut g = [5.0; 8];
        let v = NLLLoss::<f64>::new(None, -100, red)
            .forward_backward(&Z, &[-100, -100], 4, &mut out, &mut g)
            .unwrap();
        assert_eq!(v.is_nan(), red == Reduction::Mean);
        assert!(out.iter().all(|&x| x == 0.0));
        assert_eq!(g, [0.0; 8]);
    }
}

#[test]
fn zero_weights() {
    let w = [0.0; 4];
    // Sum: everything is zero.
    let mut g = [1.0; 8];
    let v = CrossEntropyLoss::new(Some(&w[..]), -100, Reduction::Sum, 0.3)
        .forward_backward(&Z, &[0, 2], 4, &mut [], &mut g)
        .unwrap();
    assert_eq!(v, 0.0);
    assert!(g.iter().all(|&x| x == 0.0));
    // Mean: 0 / 0 like PyTorch.
    let v = CrossEntropyLoss::new(Some(&w[..]), -100, Reduction::Mean, 0.0)
        .forward(&Z, &[0, 2], 4, &mut [])
        .unwrap();
    assert!(v.is_nan());
    // Only the target class weight zero: that row drops out of value and denominator.
    let w = [1.0, 0.0, 1.0, 1.0];
    let a = CrossEntropyLoss::new(Some(&w[..]), -100, Reduction::Mean, 0.0)
        .forward(&Z, &[1, 2], 4, &mut [])
        .unwrap();
    let b = CrossEntropyLoss::<f64>::new(None, -100, Reduction::Mean, 0.0)
        .forward(&Z[4..], &[2], 4, &mut [])
        .unwrap();
    assert!((a - b).abs() < 1e-12);
}

#[test]
fn label_smoothing_limits() {
    let w = [0.5, 1.0, 2.0, 1.5];
    let lp = log_softmax(&Z, 4);
    // eps = 0 is bit-identical to NLL(log_softmax).
    let l0 = CrossEntropyLoss::new(Some(&w[..]), -100, Reduction::None, 0.0);
    let mut o = [0.0; 2];
    l0.forward(&Z, &[1, 3], 4, &mut o).unwrap();
    let mut o2 = [0.0; 2];
    NLLLoss::new(Some(&w[..]), -100, Reduction::None)
        .forward(&lp, &[1, 3], 4, &mut o2)
        .unwrap();
    for i in 0..2 {
        assert!((o[i] - o2[i]).abs() < 1e-12);
    }
    // eps = 1: loss is -(1/C) Σ_c w_c lp_c whatever the target; mean divides by w[t] sums.
    let l1 = CrossEntropyLoss::new(Some(&w[..]), -100, Reduction::Mean, 1.0);
    let v = l1.forward(&Z, &[1, 3], 4, &mut []).unwrap();
    let want: f64 = (0..8).map(|k| -w[k % 4] * lp[k] / 4.0).sum::<f64>() / (w[1] + w[3]);
    assert!((v - want).abs() < 1e-12);
    // eps = 1 with probability targets: the target does not matter.
    let l1p = CrossEntropyLoss::<f64>::new(None, -100, Reduction::Sum, 1.0);
    let a = l1p
        .forward_probs(&Z, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], 4, &mut [])
        .unwrap();
    let b = l1p.forward_probs(&Z, &[0.25; 8], 4, &mut []).unwrap();
    assert!((a - b).abs() < 1e-12);
}

#[test]
fn unbatched_and_batch_one() {
    // PyTorch's unbatched [C] input is N = 1.
    let mut g = [0.0; 4];
    let v = CrossEntropyLoss::<f64>::default()
        .forward_backward(&Z[..4], &[2], 4, &mut [], &mut g)
        .unwrap();
    let lp = log_softmax(&Z[..4], 4);
    assert!((v + lp[2]).abs() < 1e-12);
    let s: f64 = g.iter().sum();
    assert!(s.abs() < 1e-12, "softmax gradient rows sum to 0");
}

#[test]
fn nan_propagates_per_row() {
    let mut z = Z;
    z[1] = f64::NAN;
    let mut out = [0.0; 2];
    let mut g = [0.0; 8];
    CrossEntropyLoss::<f64>::new(None, -100, Reduction::None, 0.1)
        .forward_backward(&z, &[0, 1], 4, &mut out, &mut g)
        .unwrap();
    assert!(out[0].is_nan() && out[1].is_finite());
    assert!(g[..4].iter().all(|x| x.is_nan()) && g[4..].iter().all(|x| x.is_finite()));

    let x = [f64::NAN, 1.0];
    let y = [0.0, 0.5];
    let mut out = [0.0; 2];
    let mut g = [0.0; 2];
    macro_rules! check {
        ($l:expr) => {{
            $l.forward_backward(&x, &y, &mut out, &mut g).unwrap();
            assert!(out[0].is_nan() && g[0].is_nan(), "{}", stringify!($l));
            assert!(out[1].is_finite() && g[1].is_finite(), "{}", stringify!($l));
        }};
    }
    check!(MSELoss::new(Reduction::None));
    check!(L1Loss::new(Reduction::None));
    check!(HuberLoss::new(Reduction::None, 1.0));
    check!(SmoothL1Loss::new(Reduction::None, 1.0));
    check!(BCEWithLogitsLoss::<f64>::new(None, Reduction::None, None));
    let mut o = [0.0; 2];
    let mut gg = [0.0; 2];
    // KLDiv: NaN in the target propagates (the gradient w.r.t. input is -y).
    KLDivLoss::new(KLDivReduction::None, false)
        .forward_backward(&[-1.0, -1.0], &[f64::NAN, 0.5], 1, &mut o, &mut gg)
        .unwrap();
    assert!(o[0].is_nan() && gg[0].is_nan() && o[1].is_finite());
}

#[test]
fn f32_and_f64_agree() {
    let z32: Vec<f32> = Z.iter().map(|&v| v as f32).collect();
    let mut g32 = [0.0f32; 8];
    let mut g64 = [0.0f64; 8];
    let w = [0.5, 1.0, 2.0, 1.5];
    let w32 = [0.5f32, 1.0, 2.0, 1.5];
    let a = CrossEntropyLoss::new(Some(&w32[..]), 0, Reduction::Mean, 0.2f32)
        .forward_backward(&z32, &[0, 3], 4, &mut [], &mut g32)
        .unwrap();
    let b = CrossEntropyLoss::new(Some(&w[..]), 0, Reduction::Mean, 0.2)
        .forward_backward(&Z, &[0, 3], 4, &mut [], &mut g64)
        .unwrap();
    assert!((a as f64 - b).abs() < 1e-6);
    for (x, y) in g32.iter().zip(&g64) {
        assert!((*x as f64 - y).abs() < 1e-6);
    }
}

#[test]
fn class_index_errors() {
    let l = CrossEntropyLoss::<f64>::new(None, -100, Reduction::None, 0.0);
    let mut out = [0.0; 2];
    assert_eq!(
        l.forward(&Z, &[0, 4], 4, &mut out),
        Err(Error::ClassOutOfRange {
            index: 1,
            class: 4,
            classes: 4
        })
    );
    assert_eq!(
        l.forward(&Z, &[-1, 0], 4, &mut out),
        Err(Error::ClassOutOfRange {
            index: 0,
            class: -1,
            classes: 4
        })
    );
    // -100 is the ignore index by default, so it is fine; -99 is not.
    assert!(l.forward(&Z, &[-100, 0], 4, &mut out).is_ok());
    assert!(matches!(
        l.forward(&Z, &[-99, 0], 4, &mut out),
        Err(Error::ClassOutOfRange { class: -99, .. })
    ));
    assert_eq!(
        l.forward(&Z, &[0, 1, 2], 4, &mut [0.0; 3]),
        Err(Error::ShapeMismatch {
            what: "input",
            expected: 12,
            got: 8
        })
    );
    assert_eq!(
        l.forward(&Z, &[0, 1], 4, &mut [0.0; 3]),
        Err(Error::ShapeMismatch {
            what: "out",
            expected: 2,
            got: 3
        })
    );
    assert_eq!(
        l.forward_backward(&Z, &[0, 1], 4, &mut out, &mut [0.0; 4]),
        Err(Error::ShapeMismatch {
            what: "grad_input",
            expected: 8,
            got: 4
        })
    );
    let w = [1.0; 3];
    assert_eq!(
        CrossEntropyLoss::new(Some(&w[..]), -100, Reduction::Mean, 0.0).forward(
            &Z,
            &[0, 1],
            4,
            &mut []
        ),
        Err(Error::ShapeMismatch {
            what: "weight",
            expected: 4,
            got: 3
        })
    );
    // Nothing is written when validation fails.
    let mut g = [7.0; 8];
    let _ = l.forward_backward(&Z, &[0, 9], 4, &mut out, &mut g);
    assert_eq!(g, [7.0; 8]);
}

#[test]
fn elementwise_errors() {
    let x = [1.0f64, 2.0, 3.0];
    let short = [1.0f64, 2.0];
    let want = Err(Error::ShapeMismatch {
        what: "target",
        expected: 3,
        got: 2,
    });
    assert_eq!(MSELoss::default().forward(&x, &short, &mut []), want);
    assert_eq!(L1Loss::default().forward(&x, &short, &mut []), want);
    assert_eq!(HuberLoss::default().forward(&x, &short, &mut []), want);
    assert_eq!(SmoothL1Loss::default().forward(&x, &short, &mut []), want);
    assert_eq!(
        BCEWithLogitsLoss::default().forward(&x, &short, &mut []),
        want
    );
    assert_eq!(KLDivLoss::default().forward(&x, &short, 1, &mut []), want);
    assert!(matches!(
        HuberLoss::new(Reduction::Mean, 0.0).forward(&x, &x, &mut []),
        Err(Error::InvalidArgument { name: "delta", .. })
    ));
    assert!(matches!(
        SmoothL1Loss::new(Reduction::Mean, -1.0).forward(&x, &x, &mut []),
        Err(Error::InvalidArgument { name: "beta", .. })
    ));
    let pw = [1.0, 2.0];
    assert!(matches!(
        BCEWithLogitsLoss::new(None, Reduction::Mean, Some(&pw[..])).forward(&x, &x, &mut []),
        Err(Error::InvalidArgument {
            name: "pos_weight",
            ..
        })
    ));
    assert!(matches!(
        KLDivLoss::new(KLDivReduction::BatchMean, false).forward(&x, &x, 2, &mut []),
        Err(Error::InvalidArgument { name: "batch", .. })
    ));
}

#[test]
fn defaults_match_pytorch() {
    assert_eq!(Reduction::default(), Reduction::Mean);
    assert_eq!(KLDivReduction::default(), KLDivReduction::Mean);
    let n = NLLLoss::<f32>::default();
    assert_eq!(
        (n.weight, n.ignore_index, n.reduction),
        (None, -100, Reduction::Mean)
    );
    let c = CrossEntropyLoss::<f32>::default();
    assert_eq!(
        (c.weight, c.ignore_index, c.reduction, c.label_smoothing),
        (None, -100, Reduction::Mean, 0.0)
    );
    assert_eq!(HuberLoss::<f32>::default().delta, 1.0);
    assert_eq!(SmoothL1Loss::<f32>::default().beta, 1.0);
    assert!(!KLDivLoss::default().log_target);
    let b = BCEWithLogitsLoss::<f32>::default();
    assert_eq!(
        (b.weight, b.pos_weight, b.reduction),
        (None, None, Reduction::Mean)
    );
}

/// Relative error of `got` against the f64 sum of `terms`, and of the naive f32 running sum.
fn rel_errors(got: f32, terms: impl Iterator<Item = f32> + Clone, divisor: f64) -> (f64, f64) {
    let exact = terms.clone().map(f64::from).sum::<f64>() / divisor;
    let naive = f64::from(terms.fold(0.0f32, |s, x| s + x)) / divisor;
    let rel = |v: f64| (v - exact).abs() / exact.abs();
    (rel(f64::from(got)), rel(naive))
}

/// The reductions add a million f32 terms by cascade summation (as PyTorch does): within
/// 1e-6 of the exact sum, where a running f32 sum is off by more than 1e-4.
#[test]
fn large_f32_reductions_keep_their_small_terms() {
    let n = 1_000_000;
    let x = vec![0.1f32; n];
    let zeros = vec![0.0f32; n];
    let check = |what: &str, got: f32, term: f32, divisor: f64| {
        let (rel, naive) = rel_errors(got, std::iter::repeat_n(term, n), divisor);
        assert!(rel < 1e-6, "{what}: relative error {rel}");
        assert!(
            naive > 1e-4,
            "{what}: the naive sum is not a test ({naive})"
        );
    };
    let d = 0.1f32 * 0.1;
    for (red, div) in [(Reduction::Mean, n as f64), (Reduction::Sum, 1.0)] {
        let v = MSELoss::new(red).forward(&x, &zeros, &mut []).unwrap();
        check("MSELoss", v, d, div);
        let v = L1Loss::new(red).forward(&x, &zeros, &mut []).unwrap();
        check("L1Loss", v, 0.1, div);
        // Logit 0, target 0: ln 2 per element.
        let v = BCEWithLogitsLoss::new(None, red, None)
            .forward(&zeros, &zeros, &mut [])
            .unwrap();
        check("BCEWithLogitsLoss", v, std::f32::consts::LN_2, div);
        // One class: -input at the label.
        let neg: Vec<f32> = x.iter().map(|v| -v).collect();
        let labels = vec![0i64; n];
        let v = NLLLoss::new(None, -100, red)
            .forward(&neg, &labels, 1, &mut [])
            .unwrap();
        check("NLLLoss", v, 0.1, div);
        // Two equal logits: ln 2 per row.
        let two = vec![0.0f32; 2 * n];
        let v = CrossEntropyLoss::new(None, -100, red, 0.0)
            .forward(&two, &labels, 2, &mut [])
            .unwrap();
        check("CrossEntropyLoss", v, std::f32::consts::LN_2, div);
    }
    let v = descent_core::regularize::L1Penalty::new(1.0f32)
        .unwrap()
        .value(&x);
    check("L1Penalty", v, 0.1, 1.0);
}

/// BCELoss: empty input, length and range errors, NaN propagation, defaults.
#[test]
fn bce_edges_and_errors() {
    let l = BCELoss::<f64>::default();
    assert_eq!((l.weight, l.reduction), (None, Reduction::Mean));
    // Empty: Sum 0, Mean NaN.
    assert_eq!(
        BCELoss::<f64>::new(None, Reduction::Sum)
            .forward(&[], &[], &mut [])
            .unwrap(),
        0.0
    );
    assert!(l.forward(&[], &[], &mut []).unwrap().is_nan());
    // Lengths.
    assert!(matches!(
        l.forward(&[0.5; 3], &[0.5; 2], &mut []),
        Err(Error::ShapeMismatch { what: "target", .. })
    ));
    assert!(matches!(
        BCELoss::<f64>::new(None, Reduction::None).forward(&[0.5; 3], &[0.5; 3], &mut [0.0; 2]),
        Err(Error::ShapeMismatch { what: "out", .. })
    ));
    assert!(matches!(
        l.forward_backward(&[0.5; 3], &[0.5; 3], &mut [], &mut [0.0; 4]),
        Err(Error::ShapeMismatch {
            what: "grad_input",
            ..
        })
    ));
    let empty: [f64; 0] = [];
    assert!(matches!(
        BCELoss::new(Some(&empty[..]), Reduction::Sum).forward(&[0.5; 3], &[0.5; 3], &mut []),
        Err(Error::InvalidArgument { name: "weight", .. })
    ));
    // Range: PyTorch raises for input or target outside [0, 1]; infinities too.
    for bad in [-1e-30, 1.0 + 1e-15, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            l.forward(&[0.5, bad], &[0.5, 0.5], &mut []),
            Err(Error::InvalidArgument { name: "input", .. })
        ));
        assert!(matches!(
            l.forward(&[0.5, 0.5], &[bad, 0.5], &mut []),
            Err(Error::InvalidArgument { name: "target", .. })
        ));
    }
    // NaN propagates to its own element only.
    let mut out = [0.0; 3];
    let mut g = [0.0; 3];
    BCELoss::<f64>::new(None, Reduction::None)
        .forward_backward(
            &[f64::NAN, 0.5, 0.25],
            &[0.0, f64::NAN, 1.0],
            &mut out,
            &mut g,
        )
        .unwrap();
    assert!(out[0].is_nan() && g[0].is_nan() && out[1].is_nan() && g[1].is_nan());
    assert!(out[2].is_finite() && g[2].is_finite());
}

/// PoissonNLLLoss: empty input, lengths, the Stirling mask at y = 1, NaN, negative rates.
#[test]
fn poisson_nll_edges() {
    let l = PoissonNLLLoss::<f64>::default();
    assert!(l.forward(&[], &[], &mut []).unwrap().is_nan());
    let sum = PoissonNLLLoss::new(false, true, 1e-8, Reduction::Sum);
    assert_eq!(sum.forward(&[], &[], &mut []).unwrap(), 0.0);
    assert!(matches!(
        l.forward(&[0.0; 2], &[0.0; 3], &mut []),
        Err(Error::ShapeMismatch { what: "target", .. })
    ));
    assert!(matches!(
        l.forward_backward(&[0.0; 2], &[0.0; 2], &mut [], &mut [0.0; 1]),
        Err(Error::ShapeMismatch {
            what: "grad_input",
            ..
        })
    ));
    assert!(matches!(
        PoissonNLLLoss::new(true, false, 1e-8, Reduction::None).forward(
            &[0.0; 2],
            &[0.0; 2],
            &mut [0.0; 3]
        ),
        Err(Error::ShapeMismatch { what: "out", .. })
    ));
    // The Stirling term is masked for y <= 1 (so at y = 1 full and not-full agree) and
    // added just above 1.
    let (mut a, mut b) = ([0.0; 3], [0.0; 3]);
    let x = [0.3, 0.3, 0.3];
    let y = [1.0, 0.5, 1.0 + 1e-9];
    PoissonNLLLoss::new(true, true, 1e-8, Reduction::None)
        .forward(&x, &y, &mut a)
        .unwrap();
    PoissonNLLLoss::new(true, false, 1e-8, Reduction::None)
        .forward(&x, &y, &mut b)
        .unwrap();
    assert_eq!(a[..2], b[..2]);
    let st = 0.5 * (2.0 * std::f64::consts::PI).ln() - 1.0;
    assert!((a[2] - b[2] - st).abs() < 1e-8);
    // A negative rate is NaN, as PyTorch (ln of a negative); its neighbours are unaffected.
    let mut out = [0.0; 2];
    let mut g = [0.0; 2];
    PoissonNLLLoss::new(false, false, 1e-8, Reduction::None)
        .forward_backward(&[-1.0, f64::NAN], &[1.0, 1.0], &mut out, &mut g)
        .unwrap();
    assert!(out[0].is_nan() && out[1].is_nan() && g[1].is_nan());
    assert_eq!(g[0], 1.0 - 1.0 / (-1.0 + 1e-8));
}

/// GaussianNLLLoss: empty input, var shapes, negative and NaN variances, lengths.
#[test]
fn gaussian_nll_edges() {
    let l = GaussianNLLLoss::<f64>::default();
    // Empty input, with var empty or one per (empty) row, as PyTorch's [3, 0] input with var [3].
    assert!(l.forward(&[], &[], &[], &mut []).unwrap().is_nan());
    let sum = GaussianNLLLoss::new(false, 1e-6, Reduction::Sum);
    let mut gv = [7.0; 3];
    assert_eq!(
        sum.forward_backward(&[], &[], &[1.0; 3], &mut [], &mut [], &mut gv)
            .unwrap(),
        0.0
    );
    assert_eq!(gv, [0.0; 3]);
    // A single variance for every element (PyTorch's float var) equals the expanded one.
    let x = [0.5, -1.0, 2.0, 0.25];
    let y = [0.0, 0.0, 1.0, 1.0];
    let (mut g1, mut g4) = ([0.0; 4], [0.0; 4]);
    let (mut v1, mut v4) = ([0.0; 1], [0.0; 4]);
    let a = l
        .forward_backward(&x, &y, &[0.7], &mut [], &mut g1, &mut v1)
        .unwrap();
    let b = l
        .forward_backward(&x, &y, &[0.7; 4], &mut [], &mut g4, &mut v4)
        .unwrap();
    assert!((a - b).abs() < 1e-15 && g1 == g4);
    assert!((v1[0] - v4.iter().sum::<f64>()).abs() < 1e-15);
    // Lengths.
    assert!(matches!(
        l.forward(&x, &y[..3], &[1.0; 4], &mut []),
        Err(Error::ShapeMismatch { what: "target", .. })
    ));
    assert!(matches!(
        l.forward(&x, &y, &[1.0; 3], &mut []),
        Err(Error::InvalidArgument { name: "var", .. })
    ));
    assert!(matches!(
        l.forward_backward(&x, &y, &[1.0; 2], &mut [], &mut [0.0; 3], &mut [0.0; 2]),
        Err(Error::ShapeMismatch {
            what: "grad_input",
            ..
        })
    ));
    assert!(matches!(
        GaussianNLLLoss::new(false, 1e-6, Reduction::None).forward(
            &x,
            &y,
            &[1.0; 2],
            &mut [0.0; 2]
        ),
        Err(Error::ShapeMismatch { what: "out", .. })
    ));
    // Negative variance: error (PyTorch's ValueError), -0.0 is not negative.
    assert!(matches!(
        l.forward(&x, &y, &[1.0, -1e-300], &mut []),
        Err(Error::InvalidArgument { name: "var", .. })
    ));
    assert!(l.forward(&x, &y, &[1.0, -0.0], &mut []).is_ok());
    // NaN variance propagates to its row only; NaN input to its element.
    let mut out = [0.0; 4];
    let (mut gi, mut gv) = ([0.0; 4], [0.0; 2]);
    GaussianNLLLoss::new(false, 1e-6, Reduction::None)
        .forward_backward(&x, &y, &[f64::NAN, 1.0], &mut out, &mut gi, &mut gv)
        .unwrap();
    assert!(out[..2].iter().chain(&gi[..2]).all(|v| v.is_nan()) && gv[0].is_nan());
    assert!(out[2..].iter().chain(&gi[2..]).all(|v| v.is_finite()) && gv[1].is_finite());
}

/// SoftMarginLoss and HingeEmbeddingLoss: empty input, lengths, NaN, the hinge's kink.
#[test]
fn soft_margin_and_hinge_edges() {
    let s = SoftMarginLoss::default();
    let h = HingeEmbeddingLoss::<f64>::default();
    assert_eq!(
        (s.reduction, h.margin, h.reduction),
        (Reduction::Mean, 1.0, Reduction::Mean)
    );
    assert!(s.forward::<f64>(&[], &[], &mut []).unwrap().is_nan());
    assert!(h.forward(&[], &[], &mut []).unwrap().is_nan());
    assert_eq!(
        SoftMarginLoss::new(Reduction::Sum)
            .forward::<f64>(&[], &[], &mut [])
            .unwrap(),
        0.0
    );
    assert!(matches!(
        s.forward(&[0.0f64; 2], &[1.0; 3], &mut []),
        Err(Error::ShapeMismatch { what: "target", .. })
    ));
    assert!(matches!(
        h.forward_backward(&[0.0; 2], &[1.0; 2], &mut [], &mut [0.0; 3]),
        Err(Error::ShapeMismatch {
            what: "grad_input",
            ..
        })
    ));
    assert!(matches!(
        HingeEmbeddingLoss::new(1.0, Reduction::None).forward(
            &[0.0f64; 2],
            &[1.0; 2],
            &mut [0.0; 1]
        ),
        Err(Error::ShapeMismatch { what: "out", .. })
    ));
    // Soft margin far past f64's exp overflow: finite.
    let mut g = [0.0f64; 1];
    let v = SoftMarginLoss::new(Reduction::Sum)
        .forward_backward(&[1e4], &[-1.0], &mut [], &mut g)
        .unwrap();
    assert_eq!((v, g[0]), (1e4, 1.0));
    // Hinge at the kink from both sides and on it (PyTorch: 0 on it).
    let mut g = [0.0f64; 3];
    HingeEmbeddingLoss::new(0.5, Reduction::Sum)
        .forward_backward(&[0.5 - 1e-9, 0.5, 0.5 + 1e-9], &[-1.0; 3], &mut [], &mut g)
        .unwrap();
    assert_eq!(g, [-1.0, 0.0, 0.0]);
    // A NaN target selects both terms and does not propagate (PyTorch's masks).
    let mut out = [0.0f64; 1];
    HingeEmbeddingLoss::new(1.0, Reduction::None)
        .forward_backward(&[0.25], &[f64::NAN], &mut out, &mut g[..1])
        .unwrap();
    assert_eq!((out[0], g[0]), (1.0, 0.0));
}

/// Empty batches of the margin losses: `Sum` 0, `Mean` NaN (0/0), `None` an empty output.
#[test]
fn margin_losses_empty_batch() {
    for (red, want) in [
        (Reduction::Sum, Some(0.0)),
        (Reduction::Mean, None),
        (Reduction::None, Some(0.0)),
    ] {
        let check = |v: f64| match want {
            Some(w) => assert_eq!(v, w, "{red:?}"),
            None => assert!(v.is_nan(), "{red:?}"),
        };
        let l = MultiMarginLoss::<f64>::new(1, 1.0, None, red);
        check(l.forward_backward(&[], &[], 3, &mut [], &mut []).unwrap());
        let l = MultiLabelMarginLoss::new(red);
        check(
            l.forward_backward::<f64>(&[], &[], 3, &mut [], &mut [])
                .unwrap(),
        );
        check(l.forward::<f64>(&[], &[], 0, &mut []).unwrap());
        let l = MultiLabelSoftMarginLoss::<f64>::new(None, red);
        check(l.forward_backward(&[], &[], 3, &mut [], &mut []).unwrap());
        let l = MarginRankingLoss::<f64>::new(0.5, red);
        check(
            l.forward_backward(&[], &[], &[], &mut [], &mut [], &mut [])
                .unwrap(),
        );
    }
}

/// `MultiMarginLoss`: a row of one class has no terms (loss 0); NaN margin is NaN everywhere.
#[test]
fn multi_margin_edge_cases() {
    let l = MultiMarginLoss::<f64>::new(2, 1.0, None, Reduction::Sum);
    let mut g = [9.0; 2];
    assert_eq!(
        l.forward_backward(&[3.0, -1.0], &[0, 0], 1, &mut [], &mut g),
        Ok(0.0)
    );
    assert_eq!(g, [0.0, 0.0]);
    let l = MultiMarginLoss::<f64>::new(1, f64::NAN, None, Reduction::Mean);
    let mut g = [0.0; 4];
    assert!(l
        .forward_backward(&Z[..4], &[1], 4, &mut [], &mut g)
        .unwrap()
        .is_nan());
    assert!(g.iter().all(|v| v.is_nan()));
}

/// `MultiLabelMarginLoss`: a NaN score makes its row's loss NaN, and the gradient entries of
/// its terms, and leaves the other rows alone; a large
/// row (C = 1000, 500 targets) needs no scratch memory.
#[test]
fn multilabel_margin_nan_and_large_rows() {
    let l = MultiLabelMarginLoss::new(Reduction::None);
    let x = [f64::NAN, 0.0, 0.0, 0.0, 0.5, 0.25];
    let (mut out, mut g) = ([0.0; 2], [0.0; 6]);
    l.forward_backward(&x, &[1, -1, 0, 0, -1, 0], 3, &mut out, &mut g)
        .unwrap();
    // Row 0: the term with the NaN score is NaN in both its entries; class 2's term is not.
    assert!(out[0].is_nan() && g[0].is_nan() && g[1].is_nan() && g[2] == 1.0 / 3.0);
    assert!(out[1].is_finite() && g[3..].iter().all(|v| v.is_finite()));
    let c = 1000;
    let x: Vec<f32> = (0..c).map(|i| (i % 7) as f32 * 0.1).collect();
    let t: Vec<i64> = (0..c as i64)
        .map(|i| if i < 500 { 2 * i } else { -1 })
        .collect();
    let mut g = vec![0.0f32; c];
    let v = MultiLabelMarginLoss::new(Reduction::Sum)
        .forward_backward(&x, &t, c, &mut [], &mut g)
        .unwrap();
    assert!(v > 0.0);
    // Every term moves one target down and one non-target up by the same amount.
    assert!(g.iter().sum::<f32>().abs() < 1e-3);
}

/// `MultiLabelSoftMarginLoss`: a NaN logit or target makes its row NaN and its own gradient
/// entry NaN, nothing else; large logits on the right side give 0 loss and gradient. (An
/// infinite logit gives NaN, `0 · ∞`, as PyTorch's `y ln σ(x) + (1 - y) ln σ(-x)`.)
#[test]
fn multilabel_soft_margin_nan_and_inf() {
    let l = MultiLabelSoftMarginLoss::<f64>::new(None, Reduction::None);
    let x = [f64::NAN, 1.0, 0.5, 800.0, -800.0, 0.0];
    let y = [1.0, 0.0, f64::NAN, 1.0, 0.0, 1.0];
    let (mut out, mut g) = ([0.0; 3], [0.0; 6]);
    l.forward_backward(&x, &y, 2, &mut out, &mut g).unwrap();
    assert!(out[0].is_nan() && out[1].is_nan());
    let mut inf = [0.0];
    l.forward(&[f64::INFINITY], &[1.0], 1, &mut inf).unwrap();
    assert!(inf[0].is_nan());
    assert!(g[0].is_nan() && g[1].is_finite() && g[2].is_nan() && g[3] == 0.0);
    assert!((out[2] - std::f64::consts::LN_2 / 2.0).abs() < 1e-15);
    assert_eq!((g[4], g[5]), (0.0, -0.25));
}

/// `MarginRankingLoss`: NaN in either input or the target is NaN in the output and both
/// gradients of that element only; a target of 0 leaves just the margin.
#[test]
fn margin_ranking_nan_and_zero_target() {
    let l = MarginRankingLoss::<f64>::new(0.25, Reduction::None);
    let (mut out, mut g1, mut g2) = ([0.0; 4], [0.0; 4], [0.0; 4]);
    l.forward_backward(
        &[f64::NAN, 0.0, 0.0, 3.0],
        &[0.0, f64::NAN, 0.0, -3.0],
        &[1.0, 1.0, f64::NAN, 0.0],
        &mut out,
        &mut g1,
        &mut g2,
    )
    .unwrap();
    for i in 0..3 {
        assert!(out[i].is_nan() && g1[i].is_nan() && g2[i].is_nan(), "{i}");
    }
    assert_eq!((out[3], g1[3], g2[3]), (0.25, 0.0, 0.0));
}

/// `CosineEmbeddingLoss`: NaN in a target or input is NaN in that row only (PyTorch gives a
/// NaN target loss 0); `D = 0` rows are zero vectors (cosine 0).
#[test]
fn cosine_embedding_nan_and_empty_rows() {
    let l = CosineEmbeddingLoss::<f64>::new(0.0, Reduction::None);
    let x1 = [1.0, 2.0, f64::NAN, 1.0, 1.0, 0.5];
    let x2 = [2.0, 1.0, 1.0, 1.0, -1.0, 1.0];
    let (mut out, mut g1, mut g2) = ([0.0; 3], [0.0; 6], [0.0; 6]);
    l.forward_backward(
        &x1,
        &x2,
        &[f64::NAN, 1.0, 1.0],
        2,
        &mut out,
        &mut g1,
        &mut g2,
    )
    .unwrap();
    assert!(out[0].is_nan() && out[1].is_nan() && out[2].is_finite());
    assert!(g1[..4].iter().chain(&g2[..4]).all(|v| v.is_nan()));
    assert!(g1[4..].iter().chain(&g2[4..]).all(|v| v.is_finite()));
    let mut out = [0.0; 2];
    l.forward(&[], &[], &[1.0, -1.0], 0, &mut out).unwrap();
    assert_eq!(out, [1.0, 0.0]);
}

/// `TripletMarginLoss`: NaN in any input is NaN in that row's loss and all three gradients
/// (also through the swap's min), and nowhere else.
#[test]
fn triplet_margin_nan() {
    for swap in [false, true] {
        let l = TripletMarginLoss::<f64>::new(1.0, 2.0, 1e-6, swap, Reduction::None);
        let a = [0.0, 0.0, 0.0, 0.0];
        let q = [0.5, 0.0, 0.5, 0.0];
        let r = [f64::NAN, 0.3, 0.0, 0.3];
        let mut out = [0.0; 2];
        let (mut ga, mut gq, mut gr) = ([0.0; 4], [0.0; 4], [0.0; 4]);
        l.forward_backward(&a, &q, &r, 2, &mut out, &mut ga, &mut gq, &mut gr)
            .unwrap();
        assert!(out[0].is_nan() && out[1].is_finite(), "{swap}");
        for g in [&ga, &gq, &gr] {
            assert!(g[..2].iter().all(|v| v.is_nan()), "{swap}");
            assert!(g[2..].iter().all(|v| v.is_finite()), "{swap}");
        }
    }
}

/// `TripletMarginWithDistanceLoss`: empty input (`Sum` 0, `Mean` NaN, `dim = 0` included);
/// NaN in any input is NaN in that row's loss and its three gradients, for both distances,
/// with and without swap, and nowhere else; a reference to a distance is a distance.
#[test]
fn triplet_with_distance_edges() {
    let pw = PairwiseDistance::<f64>::default();
    let cos = CosineDistance::<f64>::default();
    for dim in [0, 3] {
        let (mut g1, mut g2, mut g3) = ([0.0; 0], [0.0; 0], [0.0; 0]);
        let l = TripletMarginWithDistanceLoss::new(pw, 1.0, false, Reduction::Sum);
        let v = l.forward_backward(&[], &[], &[], dim, &mut [], &mut g1, &mut g2, &mut g3);
        assert_eq!(v.unwrap(), 0.0);
        let l = TripletMarginWithDistanceLoss::new(cos, 1.0, true, Reduction::Mean);
        assert!(l.forward(&[], &[], &[], dim, &mut []).unwrap().is_nan());
        let l = TripletMarginWithDistanceLoss::new(cos, 1.0, true, Reduction::None);
        assert_eq!(l.forward(&[], &[], &[], dim, &mut []).unwrap(), 0.0);
    }
    fn nan_rows<D: Distance<f64> + Copy>(dist: D) {
        for swap in [false, true] {
            for bad in 0..3 {
                let l = TripletMarginWithDistanceLoss::new(dist, 1.0, swap, Reduction::None);
                let mut x = [
                    [0.1, 0.2, 0.1, 0.2],
                    [0.5, 0.1, 0.5, 0.1],
                    [0.2, 0.3, 0.2, 0.3],
                ];
                x[bad][1] = f64::NAN;
                let mut out = [0.0; 2];
                let (mut ga, mut gq, mut gr) = ([0.0; 4], [0.0; 4], [0.0; 4]);
                l.forward_backward(&x[0], &x[1], &x[2], 2, &mut out, &mut ga, &mut gq, &mut gr)
                    .unwrap();
                assert!(out[0].is_nan() && out[1].is_finite(), "{swap} {bad}");
                for g in [&ga, &gq, &gr] {
                    assert!(g[..2].iter().all(|v| v.is_nan()), "{swap} {bad} {g:?}");
                    assert!(g[2..].iter().all(|v| v.is_finite()), "{swap} {bad}");
                }
            }
        }
    }
    nan_rows(pw);
    nan_rows(cos);
    #[allow(clippy::needless_borrows_for_generic_args)] // A reference is a distance too.
    nan_rows(&cos);
    // Zero vectors under the cosine: cos = 0, distance 1, finite gradients.
    let l = TripletMarginWithDistanceLoss::new(cos, 1.0, false, Reduction::Sum);
    let (mut ga, mut gq, mut gr) = ([0.0; 2], [0.0; 2], [0.0; 2]);
    let v = l
        .forward_backward(
            &[0.0; 2],
            &[0.0; 2],
            &[0.0; 2],
            2,
            &mut [],
            &mut ga,
            &mut gq,
            &mut gr,
        )
        .unwrap();
    assert_eq!((v, ga, gq, gr), (1.0, [0.0; 2], [0.0; 2], [0.0; 2]));
    // Errors name the argument; the margin is checked before the distance.
    let x = [0.0; 4];
    let bad =
        TripletMarginWithDistanceLoss::new(CosineDistance::new(-1.0), 0.0, false, Reduction::Sum);
    assert!(matches!(
        bad.forward(&x, &x, &x, 2, &mut []),
        Err(descent_core::Error::InvalidArgument { name: "margin", .. })
    ));
    assert!(matches!(
        TripletMarginWithDistanceLoss { margin: 1.0, ..bad }.forward(&x, &x, &x, 2, &mut []),
        Err(descent_core::Error::InvalidArgument { name: "eps", .. })
    ));
    let l = TripletMarginWithDistanceLoss::new(pw, 1.0, false, Reduction::Sum);
    assert!(matches!(
        l.forward(&x, &x, &x[..2], 2, &mut []),
        Err(descent_core::Error::ShapeMismatch {
            what: "negative",
            ..
        })
    ));
    assert!(matches!(
        l.forward(&x, &x, &x, 0, &mut []),
        Err(descent_core::Error::ShapeMismatch { what: "anchor", .. })
    ));
}

use descent_core::loss::{CTCLoss, CTCTargets};

/// `ln` of each probability.
fn lns(p: &[f64]) -> Vec<f64> {
    p.iter().map(|x| x.ln()).collect()
}

/// `CTCLoss` with `Reduction::None` on `x` `[T, N, C]`: `(out, grad)`.
fn ctc_none(
    x: &[f64],
    targets: CTCTargets<'_>,
    il: &[i64],
    tl: &[i64],
    c: usize,
    zi: bool,
) -> (Vec<f64>, Vec<f64>) {
    let mut out = vec![0.0; il.len()];
    let mut g = vec![7.0; x.len()];
    let mut scratch = vec![0.0; CTCLoss::scratch_len(8, 4)];
    CTCLoss::new(0, Reduction::None, zi)
        .forward_backward(x, targets, il, tl, c, &mut scratch, &mut out, &mut g)
        .unwrap();
    (out, g)
}

/// Input length 0: loss 0 for an empty target and +inf otherwise, gradient 0 either way
/// (PyTorch: nothing to differentiate); empty target: `-Σ_t x[t, blank]`.
#[test]
fn ctc_empty_input_and_target() {
    // T = 2, N = 3, C = 2.
    let x = lns(&[0.5, 0.5, 0.3, 0.7, 0.9, 0.1, 0.25, 0.75, 0.6, 0.4, 0.8, 0.2]);
    let (out, g) = ctc_none(
        &x,
        CTCTargets::Concatenated(&[1]),
        &[0, 0, 2],
        &[0, 1, 0],
        2,
        false,
    );
    assert_eq!(out[0], 0.0);
    assert_eq!(out[1], f64::INFINITY);
    assert!((out[2] - -(0.9f64.ln() + 0.8f64.ln())).abs() < 1e-15);
    for t in 0..2 {
        assert_eq!(&g[t * 6..t * 6 + 4], &[0.0; 4]);
    }
    // The empty target's gradient: e^x minus the occupation 1 of blank.
    assert!((g[4] - (0.9 - 1.0)).abs() < 1e-15 && (g[5] - 0.1).abs() < 1e-15);
    // Mean divides an empty target's loss by max(0, 1) = 1.
    let mut s = vec![0.0; 16];
    let v = CTCLoss::default()
        .forward(
            &x,
            CTCTargets::Concatenated(&[]),
            &[2, 2, 2],
            &[0, 0, 0],
            2,
            &mut s,
            &mut [],
        )
        .unwrap();
    let want =
        -(0.5f64.ln() + 0.3f64.ln() + 0.9f64.ln() + 0.25f64.ln() + 0.6f64.ln() + 0.8f64.ln()) / 3.0;
    assert!((v - want).abs() < 1e-14);
    // An empty batch: Sum 0, Mean NaN (0/0), None nothing.
    let l = CTCLoss::new(0, Reduction::Sum, false);
    assert_eq!(
        l.forward::<f64>(&[], CTCTargets::Padded(&[]), &[], &[], 2, &mut [], &mut []),
        Ok(0.0)
    );
    let l = CTCLoss::new(0, Reduction::Mean, false);
    assert!(l
        .forward::<f64>(
            &[],
            CTCTargets::Concatenated(&[]),
            &[],
            &[],
            2,
            &mut [],
            &mut []
        )
        .unwrap()
        .is_nan());
}

/// Impossible alignments: a repeated label without room for its blank, a target longer than
/// its input. +inf and a NaN gradient for `t < T_n` (0 past it) as PyTorch; 0 and 0 with
/// `zero_infinity`. The other samples are untouched.
#[test]
fn ctc_impossible_alignments() {
    // T = 3, N = 3, C = 3; sample 2 ("12" in 3 steps) is possible.
    let x = lns(&[
        0.2, 0.5, 0.3, 0.3, 0.3, 0.4, 0.1, 0.1, 0.8, 0.5, 0.25, 0.25, 0.6, 0.2, 0.2, 0.3, 0.3, 0.4,
        0.4, 0.4, 0.2, 0.2, 0.2, 0.6, 0.2, 0.2, 0.6,
    ]);
    let targets = [1, 1, 2, 1, 2, 1, 2, 0];
    let pad = CTCTargets::Padded(&targets[..6]);
    // Sample 0: "11" in 2 steps; sample 1: "21" in 1 step.
    let (il, tl) = ([2, 1, 3], [2, 2, 2]);
    let (out, g) = ctc_none(&x, pad, &il, &tl, 3, false);
    assert_eq!(&out[..2], &[f64::INFINITY; 2]);
    assert!(out[2].is_finite());
    let (out_zi, g_zi) = ctc_none(&x, pad, &il, &tl, 3, true);
    assert_eq!(&out_zi[..2], &[0.0; 2]);
    assert_eq!(out_zi[2], out[2]);
    for t in 0..3 {
        for k in 0..3 {
            let (r, rz) = (&g[(t * 3 + k) * 3..][..3], &g_zi[(t * 3 + k) * 3..][..3]);
            if k == 2 {
                assert!(r.iter().all(|v| v.is_finite()));
                assert_eq!(r, rz);
            } else {
                assert_eq!(rz, &[0.0; 3]);
                if (t as i64) < il[k] {
                    assert!(r.iter().all(|v| v.is_nan()), "{t} {k}");
                } else {
                    assert_eq!(r, &[0.0; 3]);
                }
            }
        }
    }
    // "11" in 3 steps has exactly one alignment, 1 blank 1.
    let (out, _) = ctc_none(&x[..9], CTCTargets::Padded(&[1, 1]), &[3], &[2], 3, false);
    assert!((out[0] - -(0.5f64.ln() + 0.3f64.ln() + 0.1f64.ln())).abs() < 1e-15);
    // ... and is impossible in 2 (the same data as [T = 3, N = 1] with input length 2).
    let (out, _) = ctc_none(&x[..9], CTCTargets::Padded(&[1, 1]), &[2], &[2], 3, false);
    assert_eq!(out[0], f64::INFINITY);
}

/// NaN in a log-probability: on a class some alignment uses, the sample's loss and its whole
/// gradient are NaN; on a class none uses, only that entry's gradient; past the input length,
/// nothing. Other samples are untouched.
#[test]
fn ctc_nan_propagation() {
    // T = 3, N = 2, C = 3; both samples have target "1".
    let mut x = lns(&[
        0.2, 0.5, 0.3, 0.3, 0.3, 0.4, 0.1, 0.1, 0.8, 0.5, 0.25, 0.25, 0.6, 0.2, 0.2, 0.3, 0.3, 0.4,
    ]);
    let conc = CTCTargets::Concatenated(&[1, 1]);
    let (clean, g_clean) = ctc_none(&x, conc, &[3, 2], &[1, 1], 3, false);
    // (t = 1, n = 0, class 1): on the path.
    x[7] = f64::NAN;
    // (t = 2, n = 1, class 0): past sample 1's input length.
    x[15] = f64::NAN;
    let (out, g) = ctc_none(&x, conc, &[3, 2], &[1, 1], 3, false);
    assert!(out[0].is_nan());
    assert_eq!(out[1], clean[1]);
    for t in 0..3 {
        assert!(g[t * 6..t * 6 + 3].iter().all(|v| v.is_nan()), "{t}");
        assert_eq!(
            &g[t * 6 + 3..t * 6 + 6],
            &g_clean[t * 6 + 3..t * 6 + 6],
            "{t}"
        );
    }
    // (t = 0, n = 1, class 2): a class sample 1 never uses.
    let mut x2 = lns(&[
        0.2, 0.5, 0.3, 0.3, 0.3, 0.4, 0.1, 0.1, 0.8, 0.5, 0.25, 0.25, 0.6, 0.2, 0.2, 0.3, 0.3, 0.4,
    ]);
    x2[5] = f64::NAN;
    let (out, g) = ctc_none(&x2, conc, &[3, 2], &[1, 1], 3, false);
    assert_eq!(out, clean);
    for (i, (&a, &b)) in g.iter().zip(&g_clean).enumerate() {
        if i == 5 {
            assert!(a.is_nan());
        } else {
            assert_eq!(a, b, "{i}");
        }
    }
}

/// Argument errors, each naming its argument; scratch too short.
#[test]
fn ctc_errors() {
    let x = [0.0f32; 12]; // T = 3, N = 2, C = 2
    let pad = CTCTargets::Padded(&[1, 1, 1, 1]);
    let mut s = [0.0f32; 64];
    let mut g = [0.0f32; 12];
    let fb =
        |l: CTCLoss, t: CTCTargets<'_>, il: &[i64], tl: &[i64], s: &mut [f32], g: &mut [f32]| {
            l.forward_backward(&x, t, il, tl, 2, s, &mut [], g)
        };
    let d = CTCLoss::default();
    for blank in [-1, 2, i64::MAX] {
        assert!(matches!(
            fb(
                CTCLoss::new(blank, Reduction::Sum, false),
                pad,
                &[3, 3],
                &[1, 1],
                &mut s,
                &mut g
            ),
            Err(Error::InvalidArgument { name: "blank", .. })
        ));
    }
    // Input lengths above T or negative; target lengths negative or above S.
    for il in [[4, 3], [3, -1]] {
        assert!(matches!(
            fb(d, pad, &il, &[1, 1], &mut s, &mut g),
            Err(Error::InvalidArgument {
                name: "input_lengths",
                ..
            })
        ));
    }
    for tl in [[3, 1], [1, -2]] {
        assert!(matches!(
            fb(d, pad, &[3, 3], &tl, &mut s, &mut g),
            Err(Error::InvalidArgument {
                name: "target_lengths",
                ..
            })
        ));
    }
    // A target longer than the input is not an error: its loss is inf.
    let mut out = [0.0f32; 2];
    CTCLoss::new(0, Reduction::None, false)
        .forward(
            &x,
            CTCTargets::Padded(&[1, 1, 1, 1]),
            &[1, 3],
            &[2, 1],
            2,
            &mut s,
            &mut out,
        )
        .unwrap();
    assert_eq!(out[0], f32::INFINITY);
    // Labels equal to blank or out of range (only the used ones are read).
    assert!(matches!(
        fb(CTCLoss::new(1, Reduction::Sum, false), CTCTargets::Concatenated(&[0, 1]), &[3, 3], &[1, 1], &mut s, &mut g),
        Err(Error::InvalidArgument { name: "targets", value, .. }) if value == 1.0
    ));
    assert_eq!(
        fb(
            d,
            CTCTargets::Concatenated(&[1, -1]),
            &[3, 3],
            &[1, 1],
            &mut s,
            &mut g
        ),
        Err(Error::ClassOutOfRange {
            index: 1,
            class: -1,
            classes: 2
        })
    );
    assert!(fb(
        d,
        CTCTargets::Padded(&[1, 9, 1, 0]),
        &[3, 3],
        &[1, 1],
        &mut s,
        &mut g
    )
    .is_ok());
    // Shapes.
    assert!(matches!(
        fb(d, pad, &[3; 5], &[1; 5], &mut s, &mut g),
        Err(Error::ShapeMismatch {
            what: "log_probs",
            ..
        })
    ));
    assert!(matches!(
        fb(
            d,
            CTCTargets::Concatenated(&[1, 1, 1]),
            &[3, 3],
            &[1, 1],
            &mut s,
            &mut g
        ),
        Err(Error::ShapeMismatch {
            what: "targets",
            ..
        })
    ));
    // Scratch: (3 + 2) (2 * 2 + 1) = 25 for forward_backward with a target of 2, 10 for forward.
    let two = CTCTargets::Padded(&[1, 1, 1, 0]);
    assert_eq!(
        fb(d, two, &[3, 3], &[2, 1], &mut s[..24], &mut g),
        Err(Error::BufferTooSmall {
            what: "scratch",
            needed: 25,
            got: 24
        })
    );
    assert!(fb(d, two, &[3, 3], &[2, 1], &mut s[..25], &mut g).is_ok());
    assert_eq!(
        d.forward(&x, two, &[3, 3], &[2, 1], 2, &mut s[..9], &mut []),
        Err(Error::BufferTooSmall {
            what: "scratch",
            needed: 10,
            got: 9
        })
    );
    assert!(d
        .forward(&x, two, &[3, 3], &[2, 1], 2, &mut s[..10], &mut [])
        .is_ok());
    assert_eq!(CTCLoss::scratch_len(3, 2), 25);
}
