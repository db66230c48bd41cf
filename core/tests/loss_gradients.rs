//! Property tests: every loss and every option against central finite differences in f64.
//!
//! Tolerance: with step `h = 1e-5` the central difference has truncation error
//! `O(h^2 |f'''|) ~ 1e-9` and rounding error `O(eps |f| / h) ~ 1e-9` for the value ranges used
//! here, so we require `|analytic - fd| <= 1e-6 * (1 + |analytic|)` per element.
//! Piecewise losses (L1, Huber, SmoothL1) have their inputs nudged at least `1e-3` away from
//! their kinks so that the difference quotient never straddles one.
//!
//! 512 random cases per property. Each test also checks the reductions against each other:
//! `Sum` equals the sum of the `None` outputs, which is also what `None` returns, and
//! `Mean * denominator == Sum`.

use descent_core::loss::{
    BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, GaussianNLLLoss,
    HingeEmbeddingLoss, HuberLoss, KLDivLoss, KLDivReduction, L1Loss, MSELoss, MarginRankingLoss,
    MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, NLLLoss, PoissonNLLLoss,
    Reduction, SmoothL1Loss, SoftMarginLoss, TripletMarginLoss,
};
use descent_core::loss::{
    CosineDistance, Distance, PairwiseDistance, TripletMarginWithDistanceLoss,
};
use descent_core::regularize::{L1Penalty, L2Penalty};
use proptest::prelude::*;

const H: f64 = 1e-5;
const TOL: f64 = 1e-6;
const REDUCTIONS: [Reduction; 3] = [Reduction::None, Reduction::Mean, Reduction::Sum];

/// Compare `grad` with central differences of `f` at `x`.
fn fd_check(
    what: &str,
    x: &[f64],
    grad: &[f64],
    f: impl Fn(&[f64]) -> f64,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(x.len(), grad.len());
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        let x0 = xp[i];
        xp[i] = x0 + H;
        let fp = f(&xp);
        xp[i] = x0 - H;
        let fm = f(&xp);
        xp[i] = x0;
        let fd = (fp - fm) / (2.0 * H);
        let err = (grad[i] - fd).abs();
        prop_assert!(
            err <= TOL * (1.0 + grad[i].abs()),
            "{}: grad[{}] = {} but finite difference {} (err {})",
            what,
            i,
            grad[i],
            fd,
            err
        );
    }
    Ok(())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

/// Push every `x_i - y_i` at least 1e-3 away from each of `kinks` (in absolute value).
fn nudge(x: &mut [f64], y: &[f64], kinks: &[f64]) {
    for (xi, &yi) in x.iter_mut().zip(y) {
        for &k in kinks {
            let d = *xi - yi;
            if (d.abs() - k).abs() < 1e-3 {
                *xi += if d >= 0.0 { 2e-3 } else { -2e-3 };
            }
        }
    }
}

fn vecs(len: usize, lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(lo..hi, len)
}

/// `(n, c)` with batch 1 and 2 classes included.
fn shape() -> impl Strategy<Value = (usize, usize)> {
    (1usize..6, 2usize..7)
}

/// Elementwise regression data: x, y of equal length 1..20.
fn regression_data() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (1usize..20).prop_flat_map(|n| (vecs(n, -4.0, 4.0), vecs(n, -4.0, 4.0)))
}

macro_rules! check_regression {
    ($x:expr, $y:expr, $mk:expr) => {{
        let (x, y): (&[f64], &[f64]) = ($x, $y);
        let n = x.len();
        let mut values = [0.0; 3];
        for (k, &red) in REDUCTIONS.iter().enumerate() {
            let l = $mk(red);
            let mut out = vec![0.0; if red == Reduction::None { n } else { 0 }];
            let mut g = vec![0.0; n];
            let v = l.forward_backward(x, y, &mut out, &mut g).unwrap();
            // forward alone gives the same value.
            let mut out2 = out.clone();
            prop_assert_eq!(l.forward(x, y, &mut out2).unwrap(), v);
            prop_assert_eq!(&out2, &out);
            if red == Reduction::None {
                prop_assert!(close(out.iter().sum::<f64>(), v));
            }
            values[k] = v;
            fd_check(&format!("{:?}", red), x, &g, |xp| {
                let mut o = vec![0.0; if red == Reduction::None { n } else { 0 }];
                l.forward(xp, y, &mut o).unwrap()
            })?;
        }
        prop_assert!(close(values[0], values[2]));
        prop_assert!(close(values[1] * n as f64, values[2]));
    }};
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mse_grad((x, y) in regression_data()) {
        check_regression!(&x, &y, MSELoss::new);
    }

    #[test]
    fn l1_grad((mut x, y) in regression_data()) {
        nudge(&mut x, &y, &[0.0]);
        check_regression!(&x, &y, L1Loss::new);
    }

    #[test]
    fn huber_grad((mut x, y) in regression_data(), delta in 0.05f64..3.0) {
        nudge(&mut x, &y, &[delta]);
        check_regression!(&x, &y, |r| HuberLoss::new(r, delta));
    }

    #[test]
    fn smooth_l1_grad((mut x, y) in regression_data(), beta in prop_oneof![Just(0.0f64), 0.05f64..3.0]) {
        nudge(&mut x, &y, &[0.0, beta]);
        check_regression!(&x, &y, |r| SmoothL1Loss::new(r, beta));
    }

    #[test]
    fn bce_with_logits_grad(
        (n, c, x, y, w, pw) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -12.0, 12.0), vecs(n * c, 0.0, 1.0),
             vecs(n * c, 0.1, 2.0), vecs(c, 0.1, 3.0))
        }),
        use_w in 0usize..3,
        use_pw in any::<bool>(),
    ) {
        // weight: none, per-class [C] (first C entries), or full [N*C].
        let w: Option<&[f64]> = match use_w { 0 => None, 1 => Some(&w[..c]), _ => Some(&w[..]) };
        let pw: Option<&[f64]> = if use_pw { Some(&pw[..]) } else { None };
        let _ = n;
        check_regression!(&x, &y, |r| BCEWithLogitsLoss::new(w, r, pw));
    }

    #[test]
    fn kl_div_grad(
        (n, c, x, y) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -5.0, 0.0), vecs(n * c, 0.0, 1.0))
        }),
        log_target in any::<bool>(),
    ) {
        let y: Vec<f64> = if log_target { y.iter().map(|v| (v + 1e-3).ln()).collect() } else { y };
        let len = n * c;
        let reds = [KLDivReduction::None, KLDivReduction::Mean, KLDivReduction::Sum, KLDivReduction::BatchMean];
        let mut values = [0.0; 4];
        for (k, &red) in reds.iter().enumerate() {
            let l = KLDivLoss::new(red, log_target);
            let m = if red == KLDivReduction::None { len } else { 0 };
            let mut out = vec![0.0; m];
            let mut g = vec![0.0; len];
            let v = l.forward_backward(&x, &y, n, &mut out, &mut g).unwrap();
            prop_assert_eq!(l.forward(&x, &y, n, &mut vec![0.0; m]).unwrap(), v);
            if red == KLDivReduction::None {
                prop_assert!(close(out.iter().sum::<f64>(), v));
            }
            values[k] = v;
            fd_check(&format!("{red:?}"), &x, &g, |xp| {
                l.forward(xp, &y, n, &mut vec![0.0; m]).unwrap()
            })?;
        }
        prop_assert!(close(values[0], values[2]));
        prop_assert!(close(values[1] * len as f64, values[2]));
        prop_assert!(close(values[3] * n as f64, values[2]));
    }

    #[test]
    fn nll_grad(
        (n, c, x, t, w) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -6.0, 0.0),
             prop::collection::vec(0..c as i64 + 1, n), vecs(c, 0.1, 2.0))
        }),
        ignore in prop_oneof![Just(-100i64), Just(-1), Just(0)],
        use_w in any::<bool>(),
    ) {
        // raw value c stands for "the ignore index".
        let t: Vec<i64> = t.iter().map(|&v| if v == c as i64 { ignore } else { v }).collect();
        let w: Option<&[f64]> = if use_w { Some(&w[..]) } else { None };
        class_checks(n, c, &x, &t, ignore, w, |red| NLLLoss::new(w, ignore, red),
            |l, x, out, g| l.forward_backward(x, &t, c, out, g).unwrap(),
            |l, x, out| l.forward(x, &t, c, out).unwrap())?;
    }

    #[test]
    fn cross_entropy_index_grad(
        (n, c, x, t, w) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -8.0, 8.0),
             prop::collection::vec(0..c as i64 + 1, n), vecs(c, 0.1, 2.0))
        }),
        ignore in prop_oneof![Just(-100i64), Just(-1), Just(1)],
        use_w in any::<bool>(),
        eps in prop_oneof![Just(0.0f64), Just(1.0), 0.0f64..1.0],
        scale in prop_oneof![Just(1.0f64), Just(30.0)],
    ) {
        let x: Vec<f64> = x.iter().map(|v| v * scale).collect();
        let t: Vec<i64> = t.iter().map(|&v| if v == c as i64 { ignore } else { v }).collect();
        let w: Option<&[f64]> = if use_w { Some(&w[..]) } else { None };
        class_checks(n, c, &x, &t, ignore, w, |red| CrossEntropyLoss::new(w, ignore, red, eps),
            |l, x, out, g| l.forward_backward(x, &t, c, out, g).unwrap(),
            |l, x, out| l.forward(x, &t, c, out).unwrap())?;
    }

    #[test]
    fn cross_entropy_probs_grad(
        (n, c, x, p, w) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -8.0, 8.0), vecs(n * c, 0.0, 1.0), vecs(c, 0.1, 2.0))
        }),
        use_w in any::<bool>(),
        normalize in any::<bool>(),
        eps in prop_oneof![Just(0.0f64), Just(1.0), 0.0f64..1.0],
    ) {
        let mut p = p;
        if normalize {
            for row in p.chunks_mut(c) {
                let s: f64 = row.iter().sum::<f64>() + 1e-9;
                row.iter_mut().for_each(|v| *v /= s);
            }
        }
        let w: Option<&[f64]> = if use_w { Some(&w[..]) } else { None };
        let mut values = [0.0; 3];
        for (k, &red) in REDUCTIONS.iter().enumerate() {
            let l = CrossEntropyLoss::new(w, -100, red, eps);
            let m = if red == Reduction::None { n } else { 0 };
            let mut out = vec![0.0; m];
            let mut g = vec![0.0; n * c];
            let v = l.forward_backward_probs(&x, &p, c, &mut out, &mut g).unwrap();
            prop_assert_eq!(l.forward_probs(&x, &p, c, &mut vec![0.0; m]).unwrap(), v);
            if red == Reduction::None {
                prop_assert!(close(out.iter().sum::<f64>(), v));
            }
            values[k] = v;
            fd_check(&format!("{red:?}"), &x, &g, |xp| {
                l.forward_probs(xp, &p, c, &mut vec![0.0; m]).unwrap()
            })?;
        }
        prop_assert!(close(values[0], values[2]));
        prop_assert!(close(values[1] * n as f64, values[2]));
    }

    #[test]
    fn l2_penalty_grad(w in prop::collection::vec(-5.0f64..5.0, 0..30), lambda in 0.0f64..3.0, a in 0usize..30, b in 0usize..30) {
        let p = L2Penalty::new(lambda).unwrap();
        let g0: Vec<f64> = (0..w.len()).map(|i| i as f64 * 0.1).collect();
        let mut g = g0.clone();
        let v = p.accumulate_grad(&w, &mut g).unwrap();
        prop_assert_eq!(v, p.value(&w));
        let dg: Vec<f64> = g.iter().zip(&g0).map(|(a, b)| a - b).collect();
        fd_check("l2", &w, &dg, |wp| p.value(wp))?;
        range_checks(&w, lambda, a, b, |ws| p.value(ws), |ws, gs, r| p.accumulate_grad_range(ws, gs, r).unwrap(), |ws, r| p.value_range(ws, r).unwrap())?;
    }

    #[test]
    fn l1_penalty_grad(mut w in prop::collection::vec(-5.0f64..5.0, 0..30), lambda in 0.0f64..3.0, a in 0usize..30, b in 0usize..30) {
        let zeros = vec![0.0; w.len()];
        nudge(&mut w, &zeros, &[0.0]);
        let p = L1Penalty::new(lambda).unwrap();
        let mut g = vec![0.0; w.len()];
        let v = p.accumulate_grad(&w, &mut g).unwrap();
        prop_assert_eq!(v, p.value(&w));
        fd_check("l1", &w, &g, |wp| p.value(wp))?;
        range_checks(&w, lambda, a, b, |ws| p.value(ws), |ws, gs, r| p.accumulate_grad_range(ws, gs, r).unwrap(), |ws, r| p.value_range(ws, r).unwrap())?;
    }
}

/// Range methods equal the whole-slice methods on the sub-slice and leave the rest untouched.
fn range_checks(
    w: &[f64],
    _lambda: f64,
    a: usize,
    b: usize,
    value: impl Fn(&[f64]) -> f64,
    acc_range: impl Fn(&[f64], &mut [f64], core::ops::Range<usize>) -> f64,
    value_range: impl Fn(&[f64], core::ops::Range<usize>) -> f64,
) -> Result<(), TestCaseError> {
    let (lo, hi) = (a.min(b).min(w.len()), a.max(b).min(w.len()));
    let mut g = vec![7.0; w.len()];
    let v = acc_range(w, &mut g, lo..hi);
    prop_assert_eq!(v, value(&w[lo..hi]));
    prop_assert_eq!(v, value_range(w, lo..hi));
    for (i, &gi) in g.iter().enumerate() {
        if i < lo || i >= hi {
            prop_assert_eq!(gi, 7.0);
        }
    }
    Ok(())
}

/// Shared checks for the class-index losses: FD gradient for every reduction, reduction
/// consistency (`Mean * Σ w[t_i] == Sum`), and all-ignored behaviour.
#[allow(clippy::too_many_arguments)]
fn class_checks<L>(
    n: usize,
    c: usize,
    x: &[f64],
    t: &[i64],
    ignore: i64,
    w: Option<&[f64]>,
    mk: impl Fn(Reduction) -> L,
    fb: impl Fn(&L, &[f64], &mut [f64], &mut [f64]) -> f64,
    fwd: impl Fn(&L, &[f64], &mut [f64]) -> f64,
) -> Result<(), TestCaseError> {
    let denom: f64 = t
        .iter()
        .filter(|&&v| v != ignore)
        .map(|&v| w.map_or(1.0, |w| w[v as usize]))
        .sum();
    let all_ignored = t.iter().all(|&v| v == ignore);
    let mut values = [0.0; 3];
    for (k, &red) in REDUCTIONS.iter().enumerate() {
        let l = mk(red);
        let m = if red == Reduction::None { n } else { 0 };
        let mut out = vec![0.0; m];
        let mut g = vec![f64::NAN; n * c];
        let v = fb(&l, x, &mut out, &mut g);
        let v2 = fwd(&l, x, &mut vec![0.0; m]);
        prop_assert!(v2 == v || (v2.is_nan() && v.is_nan()));
        values[k] = v;
        for (i, &ti) in t.iter().enumerate() {
            if ti == ignore {
                if red == Reduction::None {
                    prop_assert_eq!(out[i], 0.0);
                }
                prop_assert!(g[i * c..(i + 1) * c].iter().all(|&v| v == 0.0));
            }
        }
        if red == Reduction::Mean && all_ignored {
            prop_assert!(v.is_nan());
            continue;
        }
        if red == Reduction::None {
            prop_assert!(close(out.iter().sum::<f64>(), v));
        }
        fd_check(&format!("{red:?}"), x, &g, |xp| {
            fwd(&l, xp, &mut vec![0.0; m])
        })?;
    }
    prop_assert!(close(values[0], values[2]));
    if !all_ignored {
        prop_assert!(close(values[1] * denom, values[2]));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn bce_grad(
        (c, x, y, w) in shape().prop_flat_map(|(n, c)| {
            (Just(c), vecs(n * c, 0.02, 0.98), vecs(n * c, 0.0, 1.0), vecs(n * c, 0.0, 2.0))
        }),
        use_w in 0usize..3,
        hard in any::<bool>(),
    ) {
        // Away from 0 and 1 the clamps are inactive and the gradient is the derivative.
        let y: Vec<f64> = if hard { y.iter().map(|v| v.round()).collect() } else { y };
        let w: Option<&[f64]> = match use_w { 0 => None, 1 => Some(&w[..c]), _ => Some(&w[..]) };
        check_regression!(&x, &y, |r| BCELoss::new(w, r));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn poisson_nll_grad(
        (x, y) in (1usize..20).prop_flat_map(|n| (vecs(n, -3.0, 3.0), vecs(n, 0.0, 8.0))),
        log_input in any::<bool>(),
        full in any::<bool>(),
        eps in prop_oneof![Just(1e-8f64), 0.01f64..1.0],
        integer in any::<bool>(),
    ) {
        let y: Vec<f64> = if integer { y.iter().map(|v| v.round()).collect() } else { y };
        // Rates (log_input = false) must be positive: shift [-3, 3) to [0.05, 6.05).
        let x: Vec<f64> = if log_input { x } else { x.iter().map(|v| v + 3.05).collect() };
        check_regression!(&x, &y, |r| PoissonNLLLoss::new(log_input, full, eps, r));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// GaussianNLLLoss: gradients w.r.t. input and var against finite differences, var per
    /// element or per row; where `var < eps` (clamped), `grad_var` is PyTorch's pass-through
    /// formula at `eps` instead (the value is flat there).
    #[test]
    fn gaussian_nll_grad(
        (n, c, x, y, v) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -3.0, 3.0), vecs(n * c, -3.0, 3.0), vecs(n * c, 0.05, 3.0))
        }),
        per_row in any::<bool>(),
        full in any::<bool>(),
        eps in prop_oneof![Just(1e-6f64), 0.1f64..1.0],
    ) {
        let len = n * c;
        let mut v: Vec<f64> = if per_row { v[..n].to_vec() } else { v };
        // Keep every variance 1e-3 away from the kink at eps.
        for vi in v.iter_mut() {
            if (*vi - eps).abs() < 1e-3 {
                *vi = eps + 2e-3;
            }
        }
        let block = len / v.len();
        let mut values = [0.0; 3];
        for (k, &red) in REDUCTIONS.iter().enumerate() {
            let l = GaussianNLLLoss::new(full, eps, red);
            let m = if red == Reduction::None { len } else { 0 };
            let mut out = vec![0.0; m];
            let (mut gi, mut gv) = (vec![0.0; len], vec![0.0; v.len()]);
            let val = l.forward_backward(&x, &y, &v, &mut out, &mut gi, &mut gv).unwrap();
            prop_assert_eq!(l.forward(&x, &y, &v, &mut vec![0.0; m]).unwrap(), val);
            if red == Reduction::None {
                prop_assert!(close(out.iter().sum::<f64>(), val));
            }
            values[k] = val;
            fd_check(&format!("input {red:?}"), &x, &gi, |xp| {
                l.forward(xp, &y, &v, &mut vec![0.0; m]).unwrap()
            })?;
            let scale = if red == Reduction::Mean { len as f64 } else { 1.0 };
            let mut fd_gv = gv.clone();
            for (j, &vj) in v.iter().enumerate() {
                if vj < eps {
                    // Pass-through: the formula at eps, summed over the block.
                    fd_gv[j] = (0..block)
                        .map(|i| {
                            let d = x[j * block + i] - y[j * block + i];
                            0.5 * (1.0 / eps - d * d / (eps * eps))
                        })
                        .sum::<f64>()
                        / scale;
                    prop_assert!((gv[j] - fd_gv[j]).abs() <= 1e-9 * (1.0 + fd_gv[j].abs()));
                }
            }
            let clamped: Vec<bool> = v.iter().map(|&vj| vj < eps).collect();
            let masked: Vec<f64> = gv.iter().zip(&clamped).map(|(&g, &c)| if c { 0.0 } else { g }).collect();
            // Finite differences see 0 for clamped variances (the value is flat there).
            fd_check(&format!("var {red:?}"), &v, &masked, |vp| {
                l.forward(&x, &y, vp, &mut vec![0.0; m]).unwrap()
            })?;
        }
        prop_assert!(close(values[0], values[2]));
        prop_assert!(close(values[1] * len as f64, values[2]));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn soft_margin_grad(
        (x, y) in (1usize..20).prop_flat_map(|n| (vecs(n, -20.0, 20.0), vecs(n, -1.0, 1.0))),
        pm_one in any::<bool>(),
    ) {
        // Targets +-1 or any value in [-1, 1].
        let y: Vec<f64> = if pm_one { y.iter().map(|v| if *v < 0.0 { -1.0 } else { 1.0 }).collect() } else { y };
        check_regression!(&x, &y, SoftMarginLoss::new);
    }

    #[test]
    fn hinge_embedding_grad(
        (mut x, y) in (1usize..20).prop_flat_map(|n| {
            (vecs(n, -3.0, 3.0), prop::collection::vec(prop_oneof![Just(1.0f64), Just(-1.0), -2.0f64..2.0], n))
        }),
        margin in prop_oneof![Just(1.0f64), -1.0f64..3.0],
    ) {
        // Away from the kink x = margin.
        let m = vec![margin; x.len()];
        nudge(&mut x, &m, &[0.0]);
        check_regression!(&x, &y, |r| HingeEmbeddingLoss::new(margin, r));
    }
}

/// Push every hinge argument `margin - x[n, y_n] + x[n, i]` (`i != y_n`) at least 1e-3 away
/// from the kink 0 by moving `x[n, i]`.
fn nudge_multi_margin(x: &mut [f64], t: &[i64], c: usize, margin: f64) {
    for (row, &y) in x.chunks_mut(c).zip(t) {
        let xy = row[y as usize];
        for (i, xi) in row.iter_mut().enumerate() {
            let z = margin - xy + *xi;
            if i != y as usize && z.abs() < 1e-3 {
                *xi += if z >= 0.0 { 2e-3 } else { -2e-3 };
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn multi_margin_grad(
        (n, c, x, t, w) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -2.0, 2.0),
             prop::collection::vec(0..c as i64, n), vecs(c, 0.1, 2.0))
        }),
        p in 1u32..3,
        margin in prop_oneof![Just(1.0f64), Just(0.0), -1.0f64..2.0],
        use_w in any::<bool>(),
    ) {
        let mut x = x;
        nudge_multi_margin(&mut x, &t, c, margin);
        let w: Option<&[f64]> = if use_w { Some(&w[..]) } else { None };
        // No ignore index (-100 never occurs); the mean divides by N whatever the weights.
        class_checks(n, c, &x, &t, -100, None, |red| MultiMarginLoss::new(p, margin, w, red),
            |l, x, out, g| l.forward_backward(x, &t, c, out, g).unwrap(),
            |l, x, out| l.forward(x, &t, c, out).unwrap())?;
    }
}

/// Multi-label targets in PyTorch's format from a raw `[N, C]` draw: row `r` keeps its first
/// `k_r` entries as targets (values taken modulo `C`, so repeats occur), then -1, then padding.
fn multilabel_targets(raw: &[i64], ks: &[usize], c: usize) -> Vec<i64> {
    let mut t = raw.to_vec();
    for (row, &k) in t.chunks_mut(c).zip(ks) {
        let k = k.min(c);
        for v in row[..k].iter_mut() {
            *v = v.rem_euclid(c as i64);
        }
        if k < c {
            row[k] = -1;
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn multilabel_margin_grad(
        (n, c, x, raw, ks) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -2.0, 2.0),
             prop::collection::vec(-1..c as i64, n * c), prop::collection::vec(0..c + 1, n))
        }),
    ) {
        let t = multilabel_targets(&raw, &ks, c);
        let mut x = x;
        // Keep every pairwise 1 - x[j] + x[i] away from 0: move x[i] of the non-targets.
        for (row, trow) in x.chunks_mut(c).zip(t.chunks(c)) {
            let len = trow.iter().position(|&v| v < 0).unwrap_or(c);
            let prefix = &trow[..len];
            for i in 0..c {
                if prefix.contains(&(i as i64)) {
                    continue;
                }
                for _ in 0..8 {
                    match prefix.iter().find(|&&j| (1.0 - row[j as usize] + row[i]).abs() < 1e-3) {
                        Some(_) => row[i] += 2.5e-3,
                        None => break,
                    }
                }
            }
        }
        class_checks(n, c, &x, &vec![0; n], -100, None, MultiLabelMarginLoss::new,
            |l, x, out, g| l.forward_backward(x, &t, c, out, g).unwrap(),
            |l, x, out| l.forward(x, &t, c, out).unwrap())?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn multilabel_soft_margin_grad(
        (n, c, x, y, w) in shape().prop_flat_map(|(n, c)| {
            (Just(n), Just(c), vecs(n * c, -12.0, 12.0), vecs(n * c, 0.0, 1.0), vecs(c, 0.1, 2.0))
        }),
        binary in any::<bool>(),
        use_w in any::<bool>(),
    ) {
        let y: Vec<f64> = if binary { y.iter().map(|v| v.round()).collect() } else { y };
        let w: Option<&[f64]> = if use_w { Some(&w[..]) } else { None };
        class_checks(n, c, &x, &vec![0; n], -100, None,
            |red| MultiLabelSoftMarginLoss::new(w, red),
            |l, x, out, g| l.forward_backward(x, &y, c, out, g).unwrap(),
            |l, x, out| l.forward(x, &y, c, out).unwrap())?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn margin_ranking_grad(
        (x1, x2, y) in (1usize..20).prop_flat_map(|n| {
            (vecs(n, -3.0, 3.0), vecs(n, -3.0, 3.0), prop::collection::vec(prop_oneof![Just(1.0f64), Just(-1.0)], n))
        }),
        margin in prop_oneof![Just(0.0f64), -1.0f64..2.0],
    ) {
        let n = x1.len();
        let mut x1 = x1;
        // Keep -y (x1 - x2) + margin away from the kink.
        for ((a, &b), &yi) in x1.iter_mut().zip(&x2).zip(&y) {
            let z = -yi * (*a - b) + margin;
            if z.abs() < 1e-3 {
                *a += 3e-3;
            }
        }
        let mut values = [0.0; 3];
        for (k, &red) in REDUCTIONS.iter().enumerate() {
            let l = MarginRankingLoss::new(margin, red);
            let m = if red == Reduction::None { n } else { 0 };
            let (mut out, mut g1, mut g2) = (vec![0.0; m], vec![0.0; n], vec![0.0; n]);
            let v = l.forward_backward(&x1, &x2, &y, &mut out, &mut g1, &mut g2).unwrap();
            prop_assert_eq!(l.forward(&x1, &x2, &y, &mut vec![0.0; m]).unwrap(), v);
            if red == Reduction::None {
                prop_assert!(close(out.iter().sum::<f64>(), v));
            }
            values[k] = v;
            fd_check(&format!("{red:?} input1"), &x1, &g1, |xp| {
                l.forward(xp, &x2, &y, &mut vec![0.0; m]).unwrap()
            })?;
            fd_check(&format!("{red:?} input2"), &x2, &g2, |xp| {
                l.forward(&x1, xp, &y, &mut vec![0.0; m]).unwrap()
            })?;
        }
        prop_assert!(close(values[0], values[2]));
        prop_assert!(close(values[1] * n as f64, values[2]));
    }
}

/// The cosine of PyTorch's `CosineEmbeddingLoss` (with its 1e-12), for the test's nudging.
fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(x, y)| x * y).sum::<f64>();
    dot(a, b) / ((dot(a, a) + 1e-12) * (dot(b, b) + 1e-12)).sqrt()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cosine_embedding_grad(
        (n, d, x1, x2, y) in shape().prop_flat_map(|(n, d)| {
            (Just(n), Just(d), vecs(n * d, -2.0, 2.0), vecs(n * d, -2.0, 2.0),
             prop::collection::vec(prop_oneof![Just(1.0f64), Just(-1.0), Just(0.0)], n))
        }),
        margin in prop_oneof![Just(0.0f64), -1.0f64..1.0],
    ) {
        let mut y = y;
        // A dissimilar pair whose cosine is within 1e-3 of the margin sits at the kink: make it
        // a similar pair instead.
        for ((a, b), yi) in x1.chunks(d).zip(x2.chunks(d)).zip(y.iter_mut()) {
            if *yi == -1.0 && (cosine(a, b) - margin).abs() < 1e-3 {
                *yi = 1.0;
            }
        }
        let mut values = [0.0; 3];
        for (k, &red) in REDUCTIONS.iter().enumerate() {
            let l = CosineEmbeddingLoss::new(margin, red);
            let m = if red == Reduction::None { n } else { 0 };
            let (mut out, mut g1, mut g2) = (vec![0.0; m], vec![0.0; n * d], vec![0.0; n * d]);
            let v = l.forward_backward(&x1, &x2, &y, d, &mut out, &mut g1, &mut g2).unwrap();
            prop_assert_eq!(l.forward(&x1, &x2, &y, d, &mut vec![0.0; m]).unwrap(), v);
            if red == Reduction::None {
                prop_assert!(close(out.iter().sum::<f64>(), v));
            }
            values[k] = v;
            fd_check(&format!("{red:?} input1"), &x1, &g1, |xp| {
                l.forward(xp, &x2, &y, d, &mut vec![0.0; m]).unwrap()
            })?;
            fd_check(&format!("{red:?} input2"), &x2, &g2, |xp| {
                l.forward(&x1, xp, &y, d, &mut vec![0.0; m]).unwrap()
            })?;
        }
        prop_assert!(close(values[0], values[2]));
        prop_assert!(close(values[1] * n as f64, values[2]));
    }
}

/// `||x - y + eps||_p`, for the triplet test's kink checks.
fn p_dist(x: &[f64], y: &[f64], p: f64, eps: f64) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b + eps).abs().powf(p))
        .sum::<f64>()
        .powf(1.0 / p)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn triplet_margin_grad(
        (n, d, a, q, r) in shape().prop_flat_map(|(n, d)| {
            (Just(n), Just(d), vecs(n * d, -2.0, 2.0), vecs(n * d, -2.0, 2.0), vecs(n * d, -2.0, 2.0))
        }),
        p in prop_oneof![Just(2.0f64), Just(1.0), Just(3.0), Just(1.5)],
        eps in prop_oneof![Just(1e-6f64), Just(0.0), Just(0.1)],
        swap in any::<bool>(),
        margin in prop_oneof![Just(1.0f64), 0.05f64..3.0],
    ) {
        // Away from the kinks: of the hinge, of the swap's min, and (p = 1, 1.5) of |v_k| at 0,
        // where |v|^(p-1) is not differentiable (p = 1.5 needs a wider berth: its third
        // derivative grows like |v|^-1.5).
        let comp = if p == 1.0 { 1e-4 } else if p == 1.5 { 1e-2 } else { 0.0 };
        for ((ra, rq), rr) in a.chunks(d).zip(q.chunks(d)).zip(r.chunks(d)) {
            for (x, y) in [(ra, rq), (ra, rr), (rq, rr)] {
                prop_assume!(x.iter().zip(y).all(|(u, v)| (u - v + eps).abs() > comp));
            }
            let (daq, dar, dqr) = (p_dist(ra, rq, p, eps), p_dist(ra, rr, p, eps), p_dist(rq, rr, p, eps));
            let dneg = if swap { dar.min(dqr) } else { dar };
            prop_assume!((daq - dneg + margin).abs() > 1e-3);
            prop_assume!(!swap || (dar - dqr).abs() > 1e-3);
        }
        let len = n * d;
        let mut values = [0.0; 3];
        for (k, &red) in REDUCTIONS.iter().enumerate() {
            let l = TripletMarginLoss::new(margin, p, eps, swap, red);
            let m = if red == Reduction::None { n } else { 0 };
            let mut out = vec![0.0; m];
            let (mut ga, mut gq, mut gr) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
            let v = l.forward_backward(&a, &q, &r, d, &mut out, &mut ga, &mut gq, &mut gr).unwrap();
            prop_assert_eq!(l.forward(&a, &q, &r, d, &mut vec![0.0; m]).unwrap(), v);
            if red == Reduction::None {
                prop_assert!(close(out.iter().sum::<f64>(), v));
            }
            values[k] = v;
            fd_check(&format!("{red:?} anchor"), &a, &ga, |x| {
                l.forward(x, &q, &r, d, &mut vec![0.0; m]).unwrap()
            })?;
            fd_check(&format!("{red:?} positive"), &q, &gq, |x| {
                l.forward(&a, x, &r, d, &mut vec![0.0; m]).unwrap()
            })?;
            fd_check(&format!("{red:?} negative"), &r, &gr, |x| {
                l.forward(&a, &q, x, d, &mut vec![0.0; m]).unwrap()
            })?;
        }
        prop_assert!(close(values[0], values[2]));
        prop_assert!(close(values[1] * n as f64, values[2]));
    }
}

/// `TripletMarginWithDistanceLoss` with `dist`: every reduction against central differences
/// for the three inputs, away from the kinks of the hinge and of the swap's min.
#[allow(clippy::too_many_arguments)]
fn triplet_distance_check<D: Distance<f64> + Copy>(
    dist: D,
    n: usize,
    d: usize,
    a: &[f64],
    q: &[f64],
    r: &[f64],
    margin: f64,
    swap: bool,
) -> Result<(), TestCaseError> {
    for ((ra, rq), rr) in a.chunks(d).zip(q.chunks(d)).zip(r.chunks(d)) {
        let (daq, dar) = (dist.distance(ra, rq), dist.distance(ra, rr));
        let dqr = dist.distance(rq, rr);
        let dneg = if swap { dar.min(dqr) } else { dar };
        prop_assume!((margin + daq - dneg).abs() > 1e-3);
        prop_assume!(!swap || (dar - dqr).abs() > 1e-3);
    }
    let len = n * d;
    let mut values = [0.0; 3];
    for (k, &red) in REDUCTIONS.iter().enumerate() {
        let l = TripletMarginWithDistanceLoss::new(dist, margin, swap, red);
        let m = if red == Reduction::None { n } else { 0 };
        let mut out = vec![0.0; m];
        let (mut ga, mut gq, mut gr) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        let v = l
            .forward_backward(a, q, r, d, &mut out, &mut ga, &mut gq, &mut gr)
            .unwrap();
        prop_assert_eq!(l.forward(a, q, r, d, &mut vec![0.0; m]).unwrap(), v);
        if red == Reduction::None {
            prop_assert!(close(out.iter().sum::<f64>(), v));
        }
        values[k] = v;
        fd_check(&format!("{red:?} anchor"), a, &ga, |x| {
            l.forward(x, q, r, d, &mut vec![0.0; m]).unwrap()
        })?;
        fd_check(&format!("{red:?} positive"), q, &gq, |x| {
            l.forward(a, x, r, d, &mut vec![0.0; m]).unwrap()
        })?;
        fd_check(&format!("{red:?} negative"), r, &gr, |x| {
            l.forward(a, q, x, d, &mut vec![0.0; m]).unwrap()
        })?;
    }
    prop_assert!(close(values[0], values[2]));
    prop_assert!(close(values[1] * n as f64, values[2]));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn triplet_with_distance_pairwise_grad(
        (n, d, a, q, r) in shape().prop_flat_map(|(n, d)| {
            (Just(n), Just(d), vecs(n * d, -2.0, 2.0), vecs(n * d, -2.0, 2.0), vecs(n * d, -2.0, 2.0))
        }),
        p in prop_oneof![Just(2.0f64), Just(1.0), Just(3.0), Just(1.5)],
        eps in prop_oneof![Just(1e-6f64), Just(0.0), Just(0.1)],
        swap in any::<bool>(),
        margin in prop_oneof![Just(1.0f64), 0.05f64..3.0],
    ) {
        // Away from |v_k| = 0 for p = 1 and 1.5, as triplet_margin_grad.
        let comp = if p == 1.0 { 1e-4 } else if p == 1.5 { 1e-2 } else { 0.0 };
        for ((ra, rq), rr) in a.chunks(d).zip(q.chunks(d)).zip(r.chunks(d)) {
            for (x, y) in [(ra, rq), (ra, rr), (rq, rr)] {
                prop_assume!(x.iter().zip(y).all(|(u, v)| (u - v + eps).abs() > comp));
            }
        }
        triplet_distance_check(PairwiseDistance::new(p, eps), n, d, &a, &q, &r, margin, swap)?;
        // The default distance is TripletMarginLoss's, to the bit.
        if p == 2.0 && eps == 1e-6 {
            let l = TripletMarginWithDistanceLoss::<f64> { margin, swap, ..Default::default() };
            let t = TripletMarginLoss { margin, swap, ..Default::default() };
            let len = n * d;
            let mut g1 = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
            let mut g2 = g1.clone();
            let v1 = l.forward_backward(&a, &q, &r, d, &mut [], &mut g1.0, &mut g1.1, &mut g1.2);
            let v2 = t.forward_backward(&a, &q, &r, d, &mut [], &mut g2.0, &mut g2.1, &mut g2.2);
            prop_assert_eq!(v1.unwrap(), v2.unwrap());
            prop_assert_eq!(g1, g2);
        }
    }

    #[test]
    fn triplet_with_distance_cosine_grad(
        (n, d, a, q, r) in shape().prop_flat_map(|(n, d)| {
            (Just(n), Just(d), vecs(n * d, -2.0, 2.0), vecs(n * d, -2.0, 2.0), vecs(n * d, -2.0, 2.0))
        }),
        eps in prop_oneof![Just(1e-8f64), Just(0.0)],
        swap in any::<bool>(),
        margin in prop_oneof![Just(1.0f64), 0.05f64..3.0],
    ) {
        // Norms away from 0, where the cosine's derivatives blow up like 1/||x||.
        for row in a.chunks(d).chain(q.chunks(d)).chain(r.chunks(d)) {
            prop_assume!(row.iter().map(|v| v * v).sum::<f64>() > 0.04);
        }
        triplet_distance_check(CosineDistance::new(eps), n, d, &a, &q, &r, margin, swap)?;
    }

    /// Under the clamp (`||x|| < eps`) the cosine's gradient is PyTorch's rather than the
    /// derivative of the value (the norm's own gradient still flows, see `CosineDistance`), so
    /// no finite difference sees it: checked against PyTorch's formula, `x` of norm 0.3 under
    /// `eps = 1` and `y` either side of the clamp.
    #[test]
    fn cosine_distance_grad_under_clamp(
        (x, y) in (2usize..6).prop_flat_map(|d| (vecs(d, -1.0, 1.0), vecs(d, -2.0, 2.0))),
        scale in -2.0f64..2.0,
    ) {
        let nx = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        let ny = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        prop_assume!(nx > 0.1 && ny > 0.1 && (ny - 1.0).abs() > 1e-3);
        // ||x|| = 0.3 < eps = 1: clamped; y either side of the clamp.
        let x: Vec<f64> = x.iter().map(|v| v * 0.3 / nx).collect();
        let c = CosineDistance::new(1.0);
        let (mut gx, mut gy) = (vec![0.0; x.len()], vec![0.0; y.len()]);
        let dv = c.distance(&x, &y);
        c.grad(&x, &y, dv, scale, &mut gx, &mut gy);
        // PyTorch's pass-through: the value is Σ x_k y_k / (n_x n_y) with n_x = max(||x||, eps)
        // held at eps, but the norm's gradient enters as if n_x were ||x||:
        // ∂cos/∂x_k = y_k / (n_x n_y) - cos x_k / (n_x ||x||).
        let (rx, ry) = (0.3, ny);
        let (nx, ny) = (1.0f64, ny.max(1.0));
        let cos: f64 = x.iter().zip(&y).map(|(a, b)| (a / nx) * (b / ny)).sum();
        for k in 0..x.len() {
            let wx = -scale * (y[k] / (nx * ny) - cos * x[k] / (nx * rx));
            let wy = -scale * (x[k] / (nx * ny) - cos * y[k] / (ny * ry));
            prop_assert!((gx[k] - wx).abs() <= 1e-12 * (1.0 + wx.abs()), "{} {}", gx[k], wx);
            prop_assert!((gy[k] - wy).abs() <= 1e-12 * (1.0 + wy.abs()), "{} {}", gy[k], wy);
        }
    }
}

use descent_core::loss::{CTCLoss, CTCTargets};

/// A CTC batch: `[T, N, C]` values, per-sample labels (never `blank`) and input lengths.
#[derive(Clone, Debug)]
struct Ctc {
    t: usize,
    c: usize,
    blank: i64,
    x: Vec<f64>,
    labels: Vec<Vec<i64>>,
    il: Vec<i64>,
}

impl Ctc {
    fn n(&self) -> usize {
        self.labels.len()
    }
    fn tl(&self) -> Vec<i64> {
        self.labels.iter().map(|l| l.len() as i64).collect()
    }
    fn concatenated(&self) -> Vec<i64> {
        self.labels.concat()
    }
    /// `[N, S]` padded with `pad`.
    fn padded(&self, pad: i64) -> Vec<i64> {
        let s = self.labels.iter().map(Vec::len).max().unwrap_or(0);
        self.labels
            .iter()
            .flat_map(|l| {
                l.iter()
                    .copied()
                    .chain(std::iter::repeat_n(pad, s - l.len()))
            })
            .collect()
    }
    fn scratch(&self) -> Vec<f64> {
        let s = self.labels.iter().map(Vec::len).max().unwrap_or(0);
        vec![0.0; CTCLoss::scratch_len(self.t, s)]
    }
    /// `(value, out)` of `forward` at log-probabilities `x`.
    fn forward(&self, l: &CTCLoss, x: &[f64]) -> (f64, Vec<f64>) {
        let mut out = vec![
            0.0;
            if l.reduction == Reduction::None {
                self.n()
            } else {
                0
            }
        ];
        let t = self.concatenated();
        let v = l
            .forward(
                x,
                CTCTargets::Concatenated(&t),
                &self.il,
                &self.tl(),
                self.c,
                &mut self.scratch(),
                &mut out,
            )
            .unwrap();
        (v, out)
    }
    /// `(value, out, grad)` of `forward_backward`, with padded targets.
    fn forward_backward(&self, l: &CTCLoss, x: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        let mut out = vec![
            0.0;
            if l.reduction == Reduction::None {
                self.n()
            } else {
                0
            }
        ];
        let mut g = vec![0.0; x.len()];
        let t = self.padded(self.blank);
        let v = l
            .forward_backward(
                x,
                CTCTargets::Padded(&t),
                &self.il,
                &self.tl(),
                self.c,
                &mut self.scratch(),
                &mut out,
                &mut g,
            )
            .unwrap();
        (v, out, g)
    }
}

/// Steps a label sequence needs: one per label plus a blank between equal neighbours.
fn ctc_min_len(l: &[i64]) -> usize {
    l.len() + l.windows(2).filter(|w| w[0] == w[1]).count()
}

/// Random CTC batches: T in 1..7, N in 1..4, C in 2..5, any blank, up to 4 labels per sample
/// (repeats frequent with few classes), input lengths anywhere in `0..=T` when `feasible` is
/// false, else at least what the labels need (labels shortened to fit T).
fn ctc_batch(feasible: bool, lo: f64, hi: f64) -> impl Strategy<Value = Ctc> {
    (1usize..7, 1usize..4, 2usize..5)
        .prop_flat_map(move |(t, n, c)| {
            (
                Just((t, c)),
                0..c as i64,
                vecs(t * n * c, lo, hi),
                prop::collection::vec((prop::collection::vec(0..c as i64 - 1, 0..5), 0..=t), n),
            )
        })
        .prop_map(move |((t, c), blank, x, samples)| {
            let mut labels = Vec::new();
            let mut il = Vec::new();
            for (raw, len) in samples {
                // 0..C-1 onto the classes other than blank.
                let mut l: Vec<i64> = raw
                    .iter()
                    .map(|&v| if v >= blank { v + 1 } else { v })
                    .collect();
                let mut len = len;
                if feasible {
                    while ctc_min_len(&l) > t {
                        l.pop();
                    }
                    len = len.max(ctc_min_len(&l));
                }
                labels.push(l);
                il.push(len as i64);
            }
            Ctc {
                t,
                c,
                blank,
                x,
                labels,
                il,
            }
        })
}

/// Row-wise `log_softmax` over the last dimension.
fn log_softmax_rows(z: &[f64], c: usize) -> Vec<f64> {
    z.chunks(c)
        .flat_map(|r| {
            let m = r.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + r.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
            r.iter().map(move |x| x - lse)
        })
        .collect()
}

/// `-ln Σ` over the `C^T` paths of sample `k` that collapse to its labels (brute force).
fn ctc_brute_force(p: &Ctc, k: usize) -> f64 {
    let (n, c, t) = (p.n(), p.c, p.il[k] as usize);
    let mut total = 0.0;
    let mut path = vec![0usize; t];
    loop {
        let mut collapsed = Vec::new();
        let mut prev = None;
        for &s in &path {
            if Some(s) != prev && s as i64 != p.blank {
                collapsed.push(s as i64);
            }
            prev = Some(s);
        }
        if collapsed == p.labels[k] {
            let lp: f64 = path
                .iter()
                .enumerate()
                .map(|(i, &s)| p.x[(i * n + k) * c + s])
                .sum();
            total += lp.exp();
        }
        // Next path (odometer); the empty path is visited once.
        let mut i = 0;
        loop {
            if i == t {
                return -total.ln();
            }
            path[i] += 1;
            if path[i] < c {
                break;
            }
            path[i] = 0;
            i += 1;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Logits -> log_softmax -> CTC: PyTorch's gradient is the logits' gradient. Passing it
    /// back through log_softmax's Jacobian (`G - softmax Σ_c G`) leaves it unchanged, since
    /// its rows sum to 0, and it matches central differences of the loss in the logits; with
    /// `zero_infinity`, impossible samples (whose loss stays 0) included.
    #[test]
    fn ctc_grad_through_log_softmax(p in ctc_batch(false, -3.0, 3.0), zi in any::<bool>()) {
        let mut p = p;
        if !zi {
            // Without zero_infinity only feasible lengths keep the loss finite.
            for (l, il) in p.labels.iter_mut().zip(p.il.iter_mut()) {
                while ctc_min_len(l) > p.t {
                    l.pop();
                }
                *il = (*il).max(ctc_min_len(l) as i64);
            }
        }
        let (n, c) = (p.n(), p.c);
        let z = p.x.clone();
        let lp = log_softmax_rows(&z, c);
        for red in REDUCTIONS {
            let l = CTCLoss::new(p.blank, red, zi);
            let (v, out, g) = p.forward_backward(&l, &lp);
            prop_assert!(v.is_finite());
            let (v2, out2) = p.forward(&l, &lp);
            prop_assert_eq!(v, v2);
            prop_assert_eq!(&out, &out2);
            for (i, (row, lrow)) in g.chunks(c).zip(lp.chunks(c)).enumerate() {
                let (t, k) = (i / n, i % n);
                if t as i64 >= p.il[k] {
                    prop_assert!(row.iter().all(|&x| x == 0.0));
                }
                let s: f64 = row.iter().sum();
                prop_assert!(s.abs() < 1e-12, "row {} sums to {}", i, s);
                // Through log_softmax: G_c - softmax_c Σ G.
                for (&gc, &x) in row.iter().zip(lrow) {
                    prop_assert!((gc - (gc - x.exp() * s)).abs() < 1e-12);
                }
            }
            fd_check(&format!("{red:?} logits"), &z, &g, |zp| {
                p.forward(&l, &log_softmax_rows(zp, c)).0
            })?;
        }
    }

    /// The plain partial derivative in the log-probabilities (not normalized) is
    /// `grad_input - e^x g_n`, i.e. minus the occupation, for `t < T_n`.
    #[test]
    fn ctc_partial_derivative(p in ctc_batch(true, -3.0, 0.5)) {
        let (n, c) = (p.n(), p.c);
        let tl = p.tl();
        for red in REDUCTIONS {
            let l = CTCLoss::new(p.blank, red, false);
            let (_, _, g) = p.forward_backward(&l, &p.x);
            let partial: Vec<f64> = g
                .iter()
                .zip(&p.x)
                .enumerate()
                .map(|(i, (&gi, &x))| {
                    let (t, k) = (i / (n * c), i / c % n);
                    let scale = if red == Reduction::Mean { 1.0 / n as f64 / tl[k].max(1) as f64 } else { 1.0 };
                    if (t as i64) < p.il[k] { gi - x.exp() * scale } else { gi }
                })
                .collect();
            fd_check(&format!("{red:?} log_probs"), &p.x, &partial, |xp| p.forward(&l, xp).0)?;
        }
    }

    /// The recursion against brute force over every path, feasible or not (+inf when no path
    /// collapses to the target), for T <= 6 and C <= 4; both target layouts agree bit for bit.
    #[test]
    fn ctc_brute_force_paths(p in ctc_batch(false, -3.0, 1.0)) {
        let l = CTCLoss::new(p.blank, Reduction::None, false);
        let (v, out) = p.forward(&l, &p.x);
        let (v2, out2, _) = p.forward_backward(&l, &p.x);
        prop_assert_eq!(v.to_bits(), v2.to_bits());
        prop_assert_eq!(&out, &out2);
        for (k, &o) in out.iter().enumerate() {
            let want = ctc_brute_force(&p, k);
            if want.is_infinite() {
                prop_assert_eq!(o, f64::INFINITY, "sample {}", k);
            } else {
                prop_assert!((o - want).abs() <= 1e-12 * (1.0 + want.abs()), "sample {}: {} vs {}", k, o, want);
            }
        }
    }

    /// Reductions and zero_infinity: `Sum` = Σ out = the `None` return value, `Mean` =
    /// `(1/N) Σ out_n / max(L_n, 1)`; `zero_infinity` replaces infinite losses by 0 and their
    /// gradients by 0 (NaN for `t < T_n` without it), and leaves every other sample alone.
    #[test]
    fn ctc_reductions_and_zero_infinity(p in ctc_batch(false, -3.0, 0.0)) {
        let (n, c) = (p.n(), p.c);
        let tl = p.tl();
        for zi in [false, true] {
            let (none, out, g_none) = p.forward_backward(&CTCLoss::new(p.blank, Reduction::None, zi), &p.x);
            let (sum, _, g_sum) = p.forward_backward(&CTCLoss::new(p.blank, Reduction::Sum, zi), &p.x);
            let (mean, _, g_mean) = p.forward_backward(&CTCLoss::new(p.blank, Reduction::Mean, zi), &p.x);
            let want_sum: f64 = out.iter().sum();
            let want_mean = out.iter().zip(&tl).map(|(o, &t)| o / t.max(1) as f64).sum::<f64>() / n as f64;
            prop_assert!(close(none, want_sum) || none == want_sum);
            prop_assert!(close(sum, want_sum) || sum == want_sum);
            prop_assert!(close(mean, want_mean) || mean == want_mean);
            prop_assert_eq!(g_none.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                            g_sum.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            let (_, out_raw, g_raw) = p.forward_backward(&CTCLoss::new(p.blank, Reduction::None, false), &p.x);
            for (i, (&gm, &gs)) in g_mean.iter().zip(&g_sum).enumerate() {
                let (t, k) = (i / (n * c), i / c % n);
                let inf = out_raw[k] == f64::INFINITY;
                let past = t as i64 >= p.il[k];
                let s = 1.0 / n as f64 / tl[k].max(1) as f64;
                prop_assert!((gm.is_nan() && gs.is_nan()) || (gm - gs * s).abs() <= 1e-15 * (1.0 + gs.abs()));
                if zi && inf || past {
                    prop_assert_eq!(gs, 0.0);
                } else if inf {
                    prop_assert!(gs.is_nan());
                } else {
                    prop_assert_eq!(gs.to_bits(), g_raw[i].to_bits());
                }
            }
            for (k, (&o, &r)) in out.iter().zip(&out_raw).enumerate() {
                prop_assert!(!r.is_nan(), "sample {}", k);
                if zi && r == f64::INFINITY {
                    prop_assert_eq!(o, 0.0);
                } else {
                    prop_assert_eq!(o.to_bits(), r.to_bits());
                }
            }
        }
    }
}
