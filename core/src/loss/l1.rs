//! Mean absolute error, `torch.nn.L1Loss`.

use super::{regression, Reduction};
use crate::error::Result;
use crate::Float;

/// `nn.L1Loss(reduction)`: `l_i = |x_i - y_i|`, (sub)gradient `dl_i/dx_i = sign(x_i - y_i)`
/// with `sign(0) = 0` (PyTorch's choice; NaN stays NaN).
///
/// Input and target are flat arrays of equal length (any shape). See the
/// [module docs](crate::loss) for the `forward` / `forward_backward` convention.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct L1Loss {
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl L1Loss {
    /// `L1Loss(reduction)`.
    pub fn new(reduction: Reduction) -> Self {
        Self { reduction }
    }

    /// Loss value: `Σ |x_i - y_i|`, divided by `n` for `Mean`; per-element into `out` for
    /// `None`. Errors: `target` length, `out` length (`None` only).
    pub fn forward<T: Float>(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        regression(self.reduction, input, target, out, None, f::<T>)
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)`:
    /// `sign(x_i - y_i)` (`sign(0) = 0`), times `1/n` for `Mean`.
    pub fn forward_backward<T: Float>(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        regression(self.reduction, input, target, out, Some(grad_input), f::<T>)
    }
}

#[inline(always)]
pub(crate) fn f<T: Float>(x: T, y: T) -> (T, T) {
    let d = x - y;
    (d.abs(), d.signum0())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_of_zero_is_zero() {
        let x = [1.0f64, 2.0, -1.0];
        let y = [0.0f64, 2.0, 1.0];
        let mut g = [9.0; 3];
        let v = L1Loss::new(Reduction::Sum)
            .forward_backward(&x, &y, &mut [], &mut g)
            .unwrap();
        assert_eq!(v, 3.0);
        assert_eq!(g, [1.0, 0.0, -1.0]);
    }

    #[test]
    fn nan_propagates() {
        let mut g = [0.0f32; 2];
        let mut out = [0.0f32; 2];
        let v = L1Loss::new(Reduction::None)
            .forward_backward(&[f32::NAN, 1.0], &[0.0, 0.0], &mut out, &mut g)
            .unwrap();
        assert!(v.is_nan() && out[0].is_nan() && g[0].is_nan());
        assert_eq!((out[1], g[1]), (1.0, 1.0));
    }
}
