//! Mean squared error, `torch.nn.MSELoss`.

use super::{regression, Reduction};
use crate::error::Result;
use crate::Float;

/// `nn.MSELoss(reduction)`: `l_i = (x_i - y_i)^2`, gradient `dl_i/dx_i = 2 (x_i - y_i)`.
///
/// Input and target are flat arrays of equal length (any shape). See the
/// [module docs](crate::loss) for the `forward` / `forward_backward` convention.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MSELoss {
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl MSELoss {
    /// `MSELoss(reduction)`.
    pub fn new(reduction: Reduction) -> Self {
        Self { reduction }
    }

    /// Loss value: `Σ (x_i - y_i)^2`, divided by `n` for `Mean`; per-element into `out` for
    /// `None`. Errors: `target` length, `out` length (`None` only).
    pub fn forward<T: Float>(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        regression(self.reduction, input, target, out, None, f::<T>)
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)`:
    /// `2 (x_i - y_i)`, times `1/n` for `Mean`.
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
fn f<T: Float>(x: T, y: T) -> (T, T) {
    let d = x - y;
    (d * d, T::TWO * d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_grad() {
        let x = [1.0f64, 2.0, -1.0];
        let y = [0.0f64, 2.0, 1.0];
        let mut g = [0.0; 3];
        let v = MSELoss::new(Reduction::Mean)
            .forward_backward(&x, &y, &mut [], &mut g)
            .unwrap();
        assert_eq!(v, 5.0 / 3.0);
        assert_eq!(g, [2.0 / 3.0, 0.0, -4.0 / 3.0]);
        let mut out = [0.0; 3];
        let s = MSELoss::new(Reduction::None)
            .forward(&x, &y, &mut out)
            .unwrap();
        assert_eq!(out, [1.0, 0.0, 4.0]);
        assert_eq!(s, 5.0);
    }

    #[test]
    fn empty_mean_is_nan_sum_is_zero() {
        let e: [f32; 0] = [];
        assert!(MSELoss::new(Reduction::Mean)
            .forward(&e, &e, &mut [])
            .unwrap()
            .is_nan());
        assert_eq!(
            MSELoss::new(Reduction::Sum)
                .forward(&e, &e, &mut [])
                .unwrap(),
            0.0
        );
    }

    #[test]
    fn shape_errors() {
        let l = MSELoss::new(Reduction::None);
        assert!(matches!(
            l.forward(&[1.0f32, 2.0], &[1.0], &mut [0.0; 2]),
            Err(crate::Error::ShapeMismatch { what: "target", .. })
        ));
        assert!(matches!(
            l.forward(&[1.0f32, 2.0], &[1.0, 2.0], &mut [0.0; 1]),
            Err(crate::Error::ShapeMismatch { what: "out", .. })
        ));
        assert!(matches!(
            l.forward_backward(&[1.0f32, 2.0], &[1.0, 2.0], &mut [0.0; 2], &mut [0.0; 3]),
            Err(crate::Error::ShapeMismatch {
                what: "grad_input",
                ..
            })
        ));
    }
}
