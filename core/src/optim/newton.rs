//! Newton's method for linear least squares, as an optimizer.

use crate::linalg::{newton_scratch_len, newton_step};
use crate::{Float, Result};

/// Newton's method on the [`Mlp::linear`](crate::Mlp::linear) least-squares model:
/// `theta <- theta - H^{-1} g` with the closed-form Hessian `H = (2/(N m)) X~^T X~` of the
/// full batch `x` (`N x d`) and the MSE gradient `g` (see [`crate::linalg`]). Because the loss
/// is exactly quadratic, one step from any start lands on the normal-equation optimum; the
/// second-order counterpart of the first-order optimizers, for deterministic full-batch
/// problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewtonLeastSquares {
    d: usize,
    m: usize,
    bias: bool,
    steps: u64,
}

impl NewtonLeastSquares {
    /// For a linear model with `d` inputs, `m` outputs and (optionally) a bias.
    pub fn new(d: usize, m: usize, bias: bool) -> Self {
        Self {
            d,
            m,
            bias,
            steps: 0,
        }
    }

    /// Scratch elements [`step`](Self::step) needs: `p^2 + p`, `p = d + bias`.
    pub fn scratch_len(&self) -> usize {
        newton_scratch_len(self.d, self.bias)
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One Newton step on the full batch `x` (`n x d`) given the gradient `grad` at `params`
    /// (layout `W [m, d]` then `b [m]`). Fails with a typed error on wrong lengths or a
    /// singular `X~^T X~` (e.g. fewer samples than unknowns).
    pub fn step<T: Float>(
        &mut self,
        x: &[T],
        n: usize,
        params: &mut [T],
        grad: &[T],
        scratch: &mut [T],
    ) -> Result<()> {
        newton_step(x, n, self.d, self.m, self.bias, params, grad, scratch)?;
        self.steps += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mlp, Reference};

    #[test]
    fn one_step_to_the_optimum() {
        let (n, d) = (12, 3);
        let x: [f64; 36] = core::array::from_fn(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0);
        let y: [f64; 12] =
            core::array::from_fn(|i| x[3 * i] - 2.0 * x[3 * i + 1] + 0.5 * x[3 * i + 2] + 1.0);
        let model = Mlp::linear(d, 1, true).unwrap();
        let mut p = [0.3f64; 4];
        let mut g = [0.0f64; 4];
        let mut s = [0.0f64; 64];
        let mut newton = NewtonLeastSquares::new(d, 1, true);
        model
            .loss_grad_regression(&Reference, &p, &x, &y, n, &mut s, &mut g)
            .unwrap();
        let mut ns = [0.0f64; 20];
        newton
            .step(&x, n, &mut p, &g, &mut ns[..newton.scratch_len()])
            .unwrap();
        for (a, b) in p.iter().zip([1.0, -2.0, 0.5, 1.0]) {
            assert!((a - b).abs() < 1e-10, "{p:?}");
        }
        assert_eq!(newton.steps(), 1);
        // Singular: fewer samples than unknowns.
        assert!(newton.step(&x[..3], 1, &mut p, &g, &mut ns).is_err());
    }
}
