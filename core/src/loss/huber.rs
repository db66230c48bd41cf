//! Huber loss, `torch.nn.HuberLoss`.

use super::{regression, Reduction};
use crate::error::{check_arg, Result};
use crate::Float;

/// `nn.HuberLoss(reduction, delta=1.0)`: with `d_i = x_i - y_i`,
///
/// `l_i = 0.5 d_i^2` if `|d_i| < delta`, else `delta (|d_i| - 0.5 delta)`;
/// `dl_i/dx_i = clamp(d_i, -delta, delta)`.
///
/// `delta` must be `> 0` ([`Error::InvalidArgument`](crate::Error::InvalidArgument) `delta`
/// otherwise). Input and target are flat arrays of equal length. See the
/// [module docs](crate::loss) for the calling convention.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HuberLoss<T> {
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
    /// Threshold between the quadratic and linear regimes (default 1.0, must be > 0).
    pub delta: T,
}

impl<T: Float> Default for HuberLoss<T> {
    /// `HuberLoss()`: `reduction = Mean`, `delta = 1`.
    fn default() -> Self {
        Self {
            reduction: Reduction::Mean,
            delta: T::ONE,
        }
    }
}

impl<T: Float> HuberLoss<T> {
    /// `HuberLoss(reduction, delta)`; `delta` is validated when the loss is evaluated.
    pub fn new(reduction: Reduction, delta: T) -> Self {
        Self { reduction, delta }
    }

    /// Loss value: `Σ l_i` (see the type docs), divided by `n` for `Mean`; per-element into
    /// `out` for `None`. Errors: `delta <= 0`, `target` / `out` length.
    pub fn forward(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        let delta = self.check()?;
        regression(self.reduction, input, target, out, None, |x, y| {
            f(x, y, delta)
        })
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)`:
    /// `clamp(x_i - y_i, -delta, delta)`, times `1/n` for `Mean`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        let delta = self.check()?;
        regression(
            self.reduction,
            input,
            target,
            out,
            Some(grad_input),
            |x, y| f(x, y, delta),
        )
    }

    fn check(&self) -> Result<T> {
        check_arg(self.delta > T::ZERO, "delta", self.delta.to_f64(), "> 0")?;
        Ok(self.delta)
    }
}

#[inline(always)]
fn f<T: Float>(x: T, y: T, delta: T) -> (T, T) {
    let d = x - y;
    let z = d.abs();
    let l = if z < delta {
        T::HALF * d * d
    } else {
        delta * (z - T::HALF * delta)
    };
    let g = if d < -delta {
        -delta
    } else if d > delta {
        delta
    } else {
        d
    };
    (l, g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_regimes() {
        let l = HuberLoss::new(Reduction::None, 0.5f64);
        let mut out = [0.0; 3];
        let mut g = [0.0; 3];
        l.forward_backward(&[0.25, 2.0, -3.0], &[0.0, 0.0, 0.0], &mut out, &mut g)
            .unwrap();
        assert_eq!(out, [0.03125, 0.5 * (2.0 - 0.25), 0.5 * (3.0 - 0.25)]);
        assert_eq!(g, [0.25, 0.5, -0.5]);
    }

    #[test]
    fn delta_must_be_positive() {
        for d in [0.0f32, -1.0, f32::NAN] {
            assert!(matches!(
                HuberLoss::new(Reduction::Mean, d).forward(&[1.0], &[0.0], &mut []),
                Err(crate::Error::InvalidArgument { name: "delta", .. })
            ));
        }
    }
}
