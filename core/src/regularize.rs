//! L2 and L1 penalty terms added to a training objective, with their (sub)gradients
//! accumulated into an existing gradient buffer.
//!
//! * [`L2Penalty`]: `R(w) = (lambda / 2) Σ w_j^2`, `dR/dw_j = lambda w_j`.
//! * [`L1Penalty`]: `R(w) = lambda Σ |w_j|`, `dR/dw_j = lambda sign(w_j)` with `sign(0) = 0`
//!   (the minimum-norm subgradient, PyTorch's `sign`).
//!
//! Both apply to a whole parameter slice or, through the `*_range` methods, to a sub-range
//! of it (e.g. only the weights `[0, out*in)` of an `nn.Linear` layout, leaving the bias
//! unpenalised).
//!
//! ```
//! use descent_core::regularize::L2Penalty;
//! // nn.Linear(3 -> 2) layout: weight [2, 3] then bias [2]; penalise the weights only.
//! let params = [0.5f64, -1.0, 2.0, 0.0, 1.0, -0.5, 0.1, 0.2];
//! let mut grad = [0.0f64; 8]; // the loss gradient, computed elsewhere
//! let l2 = L2Penalty::new(0.01)?;
//! let penalty = l2.accumulate_grad_range(&params, &mut grad, 0..6)?;
//! assert!((penalty - 0.005 * 6.5).abs() < 1e-15);
//! assert_eq!(grad[1], -0.01);
//! assert_eq!(grad[6], 0.0); // bias untouched
//! # Ok::<(), descent_core::Error>(())
//! ```
//!
//! # Relation to optimizer weight decay
//!
//! The L2 penalty is defined with the factor 1/2 so that its gradient is `lambda * w`: adding
//! [`L2Penalty`] with `lambda` to the loss and stepping plain SGD is *exactly* SGD with
//! `weight_decay = lambda` (PyTorch adds `weight_decay * w` to the gradient). The same holds for
//! every optimizer whose `weight_decay` is coupled (added to the gradient: SGD, Adam, Adagrad,
//! RMSprop, ...), but **not** for AdamW's decoupled decay, which shrinks the weights outside the
//! adaptive scaling. Use one or the other, not both, unless you mean to penalise twice.
//!
//! # Edge cases
//!
//! `lambda` must be `>= 0` (NaN rejected); `lambda = 0` gives 0 and leaves the gradient
//! unchanged. NaN parameters propagate into the value and their gradient entries. An empty
//! slice or range gives 0.

use crate::error::{check_arg, check_len, Result};
use crate::sum::{CascadeSum, BLOCK};
use crate::{Error, Float};
use core::ops::Range;

/// L2 (ridge, Tikhonov) penalty `R(w) = (lambda / 2) ||w||_2^2`, gradient `lambda w`.
///
/// `L2Penalty::new(lambda)` added to a loss is equivalent to SGD's `weight_decay = lambda`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct L2Penalty<T> {
    lambda: T,
}

/// L1 (lasso) penalty `R(w) = lambda ||w||_1`, subgradient `lambda sign(w)` with
/// `sign(0) = 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct L1Penalty<T> {
    lambda: T,
}

fn check_lambda<T: Float>(lambda: T) -> Result<T> {
    check_arg(lambda >= T::ZERO, "lambda", lambda.to_f64(), ">= 0")?;
    Ok(lambda)
}

fn check_range(range: &Range<usize>, len: usize) -> Result<()> {
    if range.start > range.end {
        return Err(Error::InvalidArgument {
            name: "range.start",
            value: range.start as f64,
            expected: "<= range.end",
        });
    }
    if range.end > len {
        return Err(Error::InvalidArgument {
            name: "range.end",
            value: range.end as f64,
            expected: "<= params.len()",
        });
    }
    Ok(())
}

macro_rules! penalty_methods {
    ($ty:ident, $value:expr, $grad:expr) => {
        impl<T: Float> $ty<T> {
            /// Create the penalty; `lambda` must be `>= 0`
            /// ([`Error::InvalidArgument`](crate::Error::InvalidArgument) `lambda` otherwise).
            pub fn new(lambda: T) -> Result<Self> {
                Ok(Self {
                    lambda: check_lambda(lambda)?,
                })
            }

            /// The strength `lambda`.
            pub fn lambda(&self) -> T {
                self.lambda
            }

            /// Penalty value `R(params)` over the whole slice (see the type docs).
            pub fn value(&self, params: &[T]) -> T {
                let f: fn(T) -> T = $value;
                let s = crate::sum::cascade_sum(params.iter().map(|&w| f(w)));
                self.scale() * s
            }

            /// `grad += dR/dparams` over the whole slice and return `R(params)`.
            /// Errors: `grad.len() != params.len()`.
            pub fn accumulate_grad(&self, params: &[T], grad: &mut [T]) -> Result<T> {
                check_len("grad", grad.len(), params.len())?;
                let lambda = self.lambda;
                let f: fn(T) -> T = $value;
                let d: fn(T) -> T = $grad;
                let mut s = CascadeSum::new();
                let mut block = [T::ZERO; BLOCK];
                for (gs, ws) in grad.chunks_mut(BLOCK).zip(params.chunks(BLOCK)) {
                    let b = &mut block[..ws.len()];
                    for ((bl, g), &w) in b.iter_mut().zip(gs).zip(ws) {
                        *bl = f(w);
                        *g += lambda * d(w);
                    }
                    s.extend_from_slice(b);
                }
                Ok(self.scale() * s.total())
            }

            /// Penalty value over `params[range]` only.
            /// Errors: `range` not within `0..=params.len()` or reversed.
            pub fn value_range(&self, params: &[T], range: Range<usize>) -> Result<T> {
                check_range(&range, params.len())?;
                Ok(self.value(&params[range]))
            }

            /// `grad[range] += dR/dparams[range]` and return the penalty over `params[range]`;
            /// entries outside `range` are untouched. Errors: `grad.len() != params.len()`,
            /// bad `range`.
            pub fn accumulate_grad_range(
                &self,
                params: &[T],
                grad: &mut [T],
                range: Range<usize>,
            ) -> Result<T> {
                check_len("grad", grad.len(), params.len())?;
                check_range(&range, params.len())?;
                self.accumulate_grad(&params[range.clone()], &mut grad[range])
            }
        }
    };
}

impl<T: Float> L2Penalty<T> {
    #[inline(always)]
    fn scale(&self) -> T {
        T::HALF * self.lambda
    }
}

impl<T: Float> L1Penalty<T> {
    #[inline(always)]
    fn scale(&self) -> T {
        self.lambda
    }
}

penalty_methods!(L2Penalty, |w| w * w, |w| w);
penalty_methods!(L1Penalty, |w: T| w.abs(), |w: T| w.signum0());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2_value_and_grad() {
        let p = L2Penalty::new(0.5f64).unwrap();
        let w = [1.0, -2.0, 3.0];
        let mut g = [1.0, 1.0, 1.0];
        let v = p.accumulate_grad(&w, &mut g).unwrap();
        assert_eq!(v, 0.25 * 14.0);
        assert_eq!(p.value(&w), v);
        assert_eq!(g, [1.5, 0.0, 2.5]);
    }

    #[test]
    fn l1_sign_zero_and_range() {
        let p = L1Penalty::new(2.0f32).unwrap();
        let w = [0.0, -2.0, 3.0, 5.0];
        let mut g = [0.0; 4];
        let v = p.accumulate_grad_range(&w, &mut g, 0..3).unwrap();
        assert_eq!(v, 10.0);
        assert_eq!(g, [0.0, -2.0, 2.0, 0.0]);
        assert_eq!(p.value_range(&w, 3..4).unwrap(), 10.0);
        assert_eq!(p.value_range(&w, 2..2).unwrap(), 0.0);
    }

    #[test]
    fn l2_grad_equals_sgd_weight_decay() {
        // SGD(lr, weight_decay=lambda): w -= lr (g + lambda w). Same as penalised gradient.
        let (lr, lambda) = (0.1f64, 0.01);
        let w = [0.7, -1.3];
        let g0 = [0.2, 0.4];
        let mut g = g0;
        L2Penalty::new(lambda)
            .unwrap()
            .accumulate_grad(&w, &mut g)
            .unwrap();
        for i in 0..2 {
            assert_eq!(w[i] - lr * g[i], w[i] - lr * (g0[i] + lambda * w[i]));
        }
    }

    #[test]
    fn errors() {
        assert!(matches!(
            L2Penalty::new(-1.0f64),
            Err(Error::InvalidArgument { name: "lambda", .. })
        ));
        assert!(L1Penalty::new(f64::NAN).is_err());
        let p = L1Penalty::new(1.0f64).unwrap();
        let w = [1.0; 3];
        assert!(matches!(
            p.accumulate_grad(&w, &mut [0.0; 2]),
            Err(Error::ShapeMismatch { what: "grad", .. })
        ));
        assert!(matches!(
            p.value_range(&w, 1..4),
            Err(Error::InvalidArgument {
                name: "range.end",
                ..
            })
        ));
        #[allow(clippy::reversed_empty_ranges)]
        let r = 2..1;
        assert!(matches!(
            p.accumulate_grad_range(&w, &mut [0.0; 3], r),
            Err(Error::InvalidArgument {
                name: "range.start",
                ..
            })
        ));
        assert!(p.value(&[f64::NAN]).is_nan());
    }
}
