//! Second order for least squares: the closed-form Hessian equals finite differences of the
//! gradient, and one Newton step from any start lands on the normal-equation optimum.

use descent_core::linalg::{
    least_squares_hessian, least_squares_optimum, lstsq_dim, newton_scratch_len, newton_step,
};
use descent_core::{Mlp, Reference};
use proptest::prelude::*;

fn data(seed: u64, n: usize, len: usize) -> Vec<f64> {
    let mut s = seed | 1;
    (0..n * len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Tolerance: 1e-6 relative to the largest Hessian entry (central differences of an exactly
    /// linear gradient are exact up to rounding).
    #[test]
    fn hessian_matches_finite_differences(d in 1usize..5, m in 1usize..3, n in 6usize..20, bias in any::<bool>(), seed in any::<u64>()) {
        let model = Mlp::linear(d, m, bias).unwrap();
        let x = data(seed, n, d);
        let y = data(seed ^ 7, n, m);
        let mut params = vec![0.0; model.num_params()];
        model.init(&mut params, seed).unwrap();
        let p = lstsq_dim(d, bias);
        let mut h = vec![0.0; p * p];
        least_squares_hessian(&x, n, d, m, bias, &mut h).unwrap();
        let mut scratch = vec![0.0; model.scratch_len(n)];
        let mut g = |params: &[f64]| {
            let mut gr = vec![0.0; params.len()];
            model.loss_grad_regression(&Reference, params, &x, &y, n, &mut scratch, &mut gr).unwrap();
            gr
        };
        // Parameter index of unknown j of output 0.
        let idx = |j: usize| if j < d { j } else { m * d };
        let hmax = h.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for j in 0..p {
            let mut pp = params.clone();
            pp[idx(j)] += 1e-4;
            let gp = g(&pp);
            pp[idx(j)] -= 2e-4;
            let gm = g(&pp);
            for i in 0..p {
                let fd = (gp[idx(i)] - gm[idx(i)]) / 2e-4;
                prop_assert!((fd - h[i * p + j]).abs() <= 1e-6 * (1.0 + hmax), "H[{i}][{j}] {} vs {fd}", h[i * p + j]);
            }
        }
    }

    /// One Newton step from a random start reaches the normal-equation solution
    /// (relative tolerance 1e-8), and the gradient there vanishes.
    #[test]
    fn newton_reaches_optimum_in_one_step(d in 1usize..6, m in 1usize..3, extra in 1usize..20, bias in any::<bool>(), seed in any::<u64>()) {
        let n = d + 1 + extra;
        let model = Mlp::linear(d, m, bias).unwrap();
        let x = data(seed, n, d);
        let y = data(seed ^ 11, n, m);
        let mut params = vec![0.0; model.num_params()];
        model.init(&mut params, seed).unwrap();
        let mut scratch = vec![0.0; model.scratch_len(n)];
        let mut grad = vec![0.0; params.len()];
        model.loss_grad_regression(&Reference, &params, &x, &y, n, &mut scratch, &mut grad).unwrap();
        let mut ns = vec![0.0; newton_scratch_len(d, bias)];
        newton_step(&x, n, d, m, bias, &mut params, &grad, &mut ns).unwrap();
        let mut opt = vec![0.0; params.len()];
        least_squares_optimum(&x, &y, n, d, m, bias, &mut opt, &mut ns).unwrap();
        for (a, b) in params.iter().zip(&opt) {
            prop_assert!((a - b).abs() <= 1e-8 * (1.0 + b.abs()), "{a} vs {b}");
        }
        model.loss_grad_regression(&Reference, &params, &x, &y, n, &mut scratch, &mut grad).unwrap();
        prop_assert!(grad.iter().all(|g| g.abs() < 1e-9), "{grad:?}");
    }
}

#[test]
fn recovers_exact_linear_model() {
    // y = 2 x0 - 3 x1 + 0.5, noise-free: the optimum is the generating parameters.
    let n = 10;
    let x = data(5, n, 2);
    let y: Vec<f64> = x.chunks(2).map(|r| 2.0 * r[0] - 3.0 * r[1] + 0.5).collect();
    let mut theta = vec![0.0; 3];
    let mut s = vec![0.0; newton_scratch_len(2, true)];
    least_squares_optimum(&x, &y, n, 2, 1, true, &mut theta, &mut s).unwrap();
    for (a, b) in theta.iter().zip([2.0, -3.0, 0.5]) {
        assert!((a - b).abs() < 1e-12, "{theta:?}");
    }
}
