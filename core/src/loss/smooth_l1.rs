//! Smooth L1 loss, `torch.nn.SmoothL1Loss`.

use super::{regression, Reduction};
use crate::error::{check_arg, Result};
use crate::Float;

/// `nn.SmoothL1Loss(reduction, beta=1.0)`: with `d_i = x_i - y_i`,
///
/// `l_i = 0.5 d_i^2 / beta` if `|d_i| < beta`, else `|d_i| - 0.5 beta`;
/// `dl_i/dx_i = clamp(d_i / beta, -1, 1)`.
///
/// `beta = 0` is exactly [`L1Loss`](super::L1Loss) (gradient `sign(d)`, `sign(0) = 0`), as in
/// PyTorch. `beta` must be `>= 0` ([`Error::InvalidArgument`](crate::Error::InvalidArgument)
/// `beta` otherwise). Relation: `SmoothL1(beta) = Huber(delta=beta) / beta` for `beta > 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothL1Loss<T> {
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
    /// Threshold between the quadratic and linear regimes (default 1.0, must be >= 0).
    pub beta: T,
}

impl<T: Float> Default for SmoothL1Loss<T> {
    /// `SmoothL1Loss()`: `reduction = Mean`, `beta = 1`.
    fn default() -> Self {
        Self {
            reduction: Reduction::Mean,
            beta: T::ONE,
        }
    }
}

impl<T: Float> SmoothL1Loss<T> {
    /// `SmoothL1Loss(reduction, beta)`; `beta` is validated when the loss is evaluated.
    pub fn new(reduction: Reduction, beta: T) -> Self {
        Self { reduction, beta }
    }

    /// Loss value: `Σ l_i` (see the type docs), divided by `n` for `Mean`; per-element into
    /// `out` for `None`. Errors: `beta < 0` or NaN, `target` / `out` length.
    pub fn forward(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        self.run(input, target, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)`:
    /// `clamp(d_i / beta, -1, 1)` (`sign(d_i)` for `beta = 0`), times `1/n` for `Mean`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run(input, target, out, Some(grad_input))
    }

    fn run(&self, input: &[T], target: &[T], out: &mut [T], grad: Option<&mut [T]>) -> Result<T> {
        let beta = self.beta;
        check_arg(beta >= T::ZERO, "beta", beta.to_f64(), ">= 0")?;
        if beta == T::ZERO {
            return regression(self.reduction, input, target, out, grad, super::l1::f::<T>);
        }
        regression(self.reduction, input, target, out, grad, |x, y| {
            let d = x - y;
            let z = d.abs();
            let l = if z < beta {
                T::HALF * d * d / beta
            } else {
                z - T::HALF * beta
            };
            let g = if d < -beta {
                -T::ONE
            } else if d > beta {
                T::ONE
            } else {
                d / beta
            };
            (l, g)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_regimes() {
        let l = SmoothL1Loss::new(Reduction::None, 0.5f64);
        let mut out = [0.0; 3];
        let mut g = [0.0; 3];
        l.forward_backward(&[0.25, 2.0, -3.0], &[0.0, 0.0, 0.0], &mut out, &mut g)
            .unwrap();
        assert_eq!(out, [0.0625, 1.75, 2.75]);
        assert_eq!(g, [0.5, 1.0, -1.0]);
    }

    #[test]
    fn beta_zero_is_l1() {
        let x = [0.5f64, 0.0, -2.0];
        let y = [0.0f64, 0.0, 0.0];
        let (mut g1, mut g2) = ([0.0; 3], [0.0; 3]);
        let a = SmoothL1Loss::new(Reduction::Mean, 0.0)
            .forward_backward(&x, &y, &mut [], &mut g1)
            .unwrap();
        let b = crate::loss::L1Loss::new(Reduction::Mean)
            .forward_backward(&x, &y, &mut [], &mut g2)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(g1, g2);
        assert_eq!(g1[1], 0.0);
    }

    #[test]
    fn beta_must_be_non_negative() {
        for b in [-0.1f64, f64::NAN] {
            assert!(matches!(
                SmoothL1Loss::new(Reduction::Sum, b).forward(&[1.0], &[0.0], &mut []),
                Err(crate::Error::InvalidArgument { name: "beta", .. })
            ));
        }
    }
}
