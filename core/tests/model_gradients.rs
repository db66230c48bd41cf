//! Every model gradient against central finite differences in f64.
//!
//! Tolerance: |analytic - numeric| <= 1e-6 * (1 + |analytic|), with step h = 1e-6 on losses of
//! order 1 (central differences have O(h^2) truncation and O(eps/h) rounding error, ~1e-10).
//! Every activation with PyTorch's defaults ([`Activation::ALL`]) and with other parameters
//! (positive and negative LeakyReLU slopes and ELU alphas, CELU alphas 0.5 and 2 (a negative
//! one makes the negative branch grow exponentially, and deep random nets overflow), a
//! Softplus with a low threshold, a shifted Hardtanh); the ones that need the input through
//! their stored pre-activations. Kinks (ReLU, LeakyReLU, ELU, ReLU6, Hardtanh, Hardswish, Hardsigmoid,
//! Softplus' threshold): inputs are random reals, so a pre-activation lands within h of a kink
//! with negligible probability; cases where one does are detected and re-drawn by checking
//! that the one-sided differences agree.

use descent_core::loss::{CrossEntropyLoss, HuberLoss, MSELoss, Reduction};
use descent_core::{Activation, Mlp, Reference, Task};
use proptest::prelude::*;

const H: f64 = 1e-6;
const TOL: f64 = 1e-6;

fn acts() -> impl Strategy<Value = Activation> {
    let mut all = Activation::ALL.to_vec();
    all.extend([
        Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        Activation::LeakyRelu {
            negative_slope: -0.3,
        },
        Activation::Elu { alpha: 0.5 },
        Activation::Elu { alpha: -0.5 },
        Activation::Celu { alpha: 0.5 },
        Activation::Celu { alpha: 2.0 },
        Activation::Softplus {
            beta: 2.0,
            threshold: 1.0,
        },
        Activation::Hardtanh {
            min_val: -0.5,
            max_val: 2.0,
        },
    ]);
    prop::sample::select(all)
}

/// (dims, activation, bias, batch) with 0..=3 hidden layers, widths 1..=5, batch 1..=4.
fn arch(classes_min: usize) -> impl Strategy<Value = (Vec<usize>, Activation, bool, usize)> {
    (
        1usize..=5,
        prop::collection::vec(1usize..=5, 0..=3),
        classes_min..=5usize,
        acts(),
        any::<bool>(),
        1usize..=4,
    )
        .prop_map(|(i, hidden, o, a, b, batch)| {
            let mut d = vec![i];
            d.extend(hidden);
            d.push(o);
            (d, a, b, batch)
        })
}

fn check_fd(
    model: &Mlp,
    params: &[f64],
    mut loss: impl FnMut(&[f64], &mut [f64]) -> f64,
) -> Result<(), TestCaseError> {
    let n = params.len();
    let mut grad = vec![0.0; n];
    loss(params, &mut grad);
    let mut p = params.to_vec();
    let mut scratch_g = vec![0.0; n];
    for i in 0..n {
        let orig = p[i];
        p[i] = orig + H;
        let lp = loss(&p, &mut scratch_g);
        p[i] = orig - H;
        let lm = loss(&p, &mut scratch_g);
        p[i] = orig;
        let l0 = loss(&p, &mut scratch_g);
        let fd = (lp - lm) / (2.0 * H);
        // At a ReLU kink the one-sided slopes differ: the derivative does not exist there.
        let (right, left) = ((lp - l0) / H, (l0 - lm) / H);
        prop_assume!((right - left).abs() < 1e-3 * (1.0 + fd.abs()));
        prop_assert!(
            (grad[i] - fd).abs() <= TOL * (1.0 + grad[i].abs()),
            "{:?} param {i}: analytic {} vs numeric {fd}",
            model.dims(),
            grad[i]
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn classifier_gradients((dims, act, bias, batch) in arch(2), seed in any::<u64>()) {
        let m = Mlp::new(&dims, act, bias, Task::Classification).unwrap();
        let mut params = vec![0.0f64; m.num_params()];
        m.init(&mut params, seed).unwrap();
        // Scale up so the hidden units leave the near-linear regime.
        params.iter_mut().for_each(|v| *v *= 2.0);
        let mut rng = seed;
        let mut next = || { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((rng >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0 };
        let x: Vec<f64> = (0..batch * m.inputs()).map(|_| next()).collect();
        let c = m.outputs() as u64;
        let labels: Vec<u32> = (0..batch).map(|i| ((seed >> (i * 3)) % c) as u32).collect();
        let mut scratch = vec![0.0; m.scratch_len(batch)];
        check_fd(&m, &params, |p, g| {
            m.loss_grad(&Reference, p, &x, &labels, batch, &mut scratch, g).unwrap()
        })?;
    }

    #[test]
    fn regression_gradients((dims, act, bias, batch) in arch(1), seed in any::<u64>()) {
        let m = Mlp::new(&dims, act, bias, Task::Regression).unwrap();
        let mut params = vec![0.0f64; m.num_params()];
        m.init(&mut params, seed).unwrap();
        params.iter_mut().for_each(|v| *v *= 2.0);
        let mut rng = seed ^ 0x9e37_79b9;
        let mut next = || { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((rng >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0 };
        let x: Vec<f64> = (0..batch * m.inputs()).map(|_| next()).collect();
        let t: Vec<f64> = (0..batch * m.outputs()).map(|_| next()).collect();
        let mut scratch = vec![0.0; m.scratch_len(batch)];
        check_fd(&m, &params, |p, g| {
            m.loss_grad_regression(&Reference, p, &x, &t, batch, &mut scratch, g).unwrap()
        })?;
    }

    /// `loss_grad_with` and a loss of `descent_core::loss`: cross-entropy with label smoothing
    /// and class weights on a classifier, Huber on a regressor, against finite differences; and
    /// with the plain cross-entropy / MSE it equals the built-in passes (to rounding).
    #[test]
    fn custom_loss_gradients(
        (dims, act, bias, batch) in arch(2),
        seed in any::<u64>(),
        smoothing in 0.0f64..0.5,
        delta in 0.1f64..2.0,
    ) {
        let mut rng = seed ^ 0x51ed_2701;
        let mut next = || { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((rng >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0 };
        for task in [Task::Classification, Task::Regression] {
            let m = Mlp::new(&dims, act, bias, task).unwrap();
            let mut params = vec![0.0f64; m.num_params()];
            m.init(&mut params, seed).unwrap();
            params.iter_mut().for_each(|v| *v *= 2.0);
            let x: Vec<f64> = (0..batch * m.inputs()).map(|_| next()).collect();
            let c = m.outputs();
            let labels: Vec<u32> = (0..batch).map(|i| ((seed >> (i * 3)) % c as u64) as u32).collect();
            let idx: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
            let weight: Vec<f64> = (0..c).map(|_| next().abs() + 0.1).collect();
            let t: Vec<f64> = (0..batch * c).map(|_| next()).collect();
            let mut scratch = vec![0.0; m.scratch_len(batch)];
            let mut g_with = vec![0.0; m.num_params()];
            let mut g_builtin = vec![0.0; m.num_params()];
            let (l_with, l_builtin) = if task == Task::Classification {
                let ce = CrossEntropyLoss::new(Some(&weight), -100, Reduction::Mean, smoothing);
                check_fd(&m, &params, |p, g| {
                    m.loss_grad_with(&Reference, p, &x, batch, &mut scratch, g, |z, dz| {
                        ce.forward_backward(z, &idx, c, &mut [], dz)
                    }).unwrap()
                })?;
                let plain = CrossEntropyLoss::<f64>::default();
                (
                    m.loss_grad_with(&Reference, &params, &x, batch, &mut scratch, &mut g_with, |z, dz| {
                        plain.forward_backward(z, &idx, c, &mut [], dz)
                    }).unwrap(),
                    m.loss_grad(&Reference, &params, &x, &labels, batch, &mut scratch, &mut g_builtin).unwrap(),
                )
            } else {
                let huber = HuberLoss::new(Reduction::Mean, delta);
                check_fd(&m, &params, |p, g| {
                    m.loss_grad_with(&Reference, p, &x, batch, &mut scratch, g, |z, dz| {
                        huber.forward_backward(z, &t, &mut [], dz)
                    }).unwrap()
                })?;
                let mse = MSELoss::new(Reduction::Mean);
                (
                    m.loss_grad_with(&Reference, &params, &x, batch, &mut scratch, &mut g_with, |z, dz| {
                        mse.forward_backward(z, &t, &mut [], dz)
                    }).unwrap(),
                    m.loss_grad_regression(&Reference, &params, &x, &t, batch, &mut scratch, &mut g_builtin).unwrap(),
                )
            };
            prop_assert!((l_with - l_builtin).abs() <= 1e-12 * (1.0 + l_builtin.abs()));
            for (a, b) in g_with.iter().zip(&g_builtin) {
                prop_assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
    }
}

/// A custom loss's error comes back unchanged, and an empty batch gives a zero gradient.
#[test]
fn custom_loss_errors_and_empty_batches() {
    let m = Mlp::new(&[2, 3, 2], Activation::Relu, true, Task::Classification).unwrap();
    let params = vec![0.5f64; m.num_params()];
    let mut scratch = vec![0.0; m.scratch_len(1)];
    let mut grad = vec![1.0; m.num_params()];
    let ce = CrossEntropyLoss::<f64>::default();
    let e = m.loss_grad_with(
        &Reference,
        &params,
        &[1.0, 2.0],
        1,
        &mut scratch,
        &mut grad,
        |z, dz| ce.forward_backward(z, &[7], 2, &mut [], dz),
    );
    assert!(matches!(
        e,
        Err(descent_core::Error::ClassOutOfRange { class: 7, .. })
    ));
    let l = m
        .loss_grad_with(
            &Reference,
            &params,
            &[],
            0,
            &mut scratch,
            &mut grad,
            |z, dz| ce.forward_backward(z, &[], 2, &mut [], dz),
        )
        .unwrap();
    assert!(l.is_nan());
    assert!(grad.iter().all(|&g| g == 0.0));
    // A linear model's scratch holds its output and, in the delta space, its gradient.
    let lin = Mlp::linear(3, 2, true).unwrap();
    assert_eq!(lin.scratch_len(4), 4 * (2 + 2));
}

#[test]
fn predict_and_accuracy_agree() {
    let m = Mlp::new(&[4, 6, 3], Activation::Relu, true, Task::Classification).unwrap();
    let mut p = vec![0.0f32; m.num_params()];
    m.init(&mut p, 3).unwrap();
    let x: Vec<f32> = (0..20).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut s = vec![0.0f32; m.scratch_len(5)];
    let mut pred = [0u32; 5];
    m.predict(&Reference, &p, &x, 5, &mut s, &mut pred).unwrap();
    let acc = m.accuracy(&Reference, &p, &x, &pred, 5, &mut s).unwrap();
    assert_eq!(acc, 1.0);
    let wrong: Vec<u32> = pred.iter().map(|&c| (c + 1) % 3).collect();
    assert_eq!(
        m.accuracy(&Reference, &p, &x, &wrong, 5, &mut s).unwrap(),
        0.0
    );
}
