//! Binary cross-entropy on logits, `torch.nn.BCEWithLogitsLoss`.

use super::{check_grad, check_out, Reduction};
use crate::error::{check_len, Result};
use crate::sum::CascadeSum;
use crate::{Error, Float};

/// `nn.BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None)` on logits `x` and
/// targets `y` in `[0, 1]`, flat arrays of equal length whose last dimension is `C`:
///
/// `l_i = w_i [ (1 - y_i) x_i + (1 + (pw_c - 1) y_i) softplus(-x_i) ]`, computed stably as
/// `softplus(-x) = max(-x, 0) + ln(1 + e^{-|x|})` (never overflows), with `c = i mod C`.
/// This equals `-w [pw y ln σ(x) + (1 - y) ln(1 - σ(x))]`.
///
/// Gradient: `dl_i/dx_i = w_i [ (1 + (pw_c - 1) y_i) σ(x_i) - pw_c y_i ]`, divided by `n`
/// for `Mean`.
///
/// Broadcasting: `pos_weight` (length `C`) is broadcast over the last dimension, so its
/// length must divide `input.len()`. `weight` is broadcast the same way as a trailing block:
/// any length `L` dividing `input.len()` works, `w_i = weight[i mod L]` — this covers a full
/// per-element weight (`L = n`) and a per-class weight `[C]`. Errors: `target`, `out`,
/// `grad_input` length; `weight` / `pos_weight` of length 0 or not dividing `input.len()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BCEWithLogitsLoss<'a, T> {
    /// Per-element rescaling weight, broadcast as a trailing block (default `None`).
    pub weight: Option<&'a [T]>,
    /// Weight of positive examples per class `[C]`, broadcast over the last dim (default
    /// `None` = all ones).
    pub pos_weight: Option<&'a [T]>,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
}

impl<T> Default for BCEWithLogitsLoss<'_, T> {
    /// `BCEWithLogitsLoss()`: no weights, `Mean`.
    fn default() -> Self {
        Self {
            weight: None,
            pos_weight: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<'a, T: Float> BCEWithLogitsLoss<'a, T> {
    /// `BCEWithLogitsLoss(weight, reduction, pos_weight)`.
    pub fn new(weight: Option<&'a [T]>, reduction: Reduction, pos_weight: Option<&'a [T]>) -> Self {
        Self {
            weight,
            pos_weight,
            reduction,
        }
    }

    /// Loss value; per-element losses into `out` for `None`.
    pub fn forward(&self, input: &[T], target: &[T], out: &mut [T]) -> Result<T> {
        self.run(input, target, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input = d(value)/d(input)`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run(input, target, out, Some(grad_input))
    }

    fn run(
        &self,
        input: &[T],
        target: &[T],
        out: &mut [T],
        mut grad: Option<&mut [T]>,
    ) -> Result<T> {
        let n = input.len();
        check_len("target", target.len(), n)?;
        let ones = [T::ONE];
        let weight = broadcast("weight", self.weight, n, &ones)?;
        let pos_weight = broadcast("pos_weight", self.pos_weight, n, &ones)?;
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, n)?;
        let divisor = if self.reduction == Reduction::Mean {
            T::from_usize(n)
        } else {
            T::ONE
        };
        let scale = T::ONE / divisor;
        let mut sum = CascadeSum::new();
        // Both weights are indexed modulo their length (trailing broadcast).
        let (lw, lp) = (weight.len(), pos_weight.len());
        let (mut iw, mut ip) = (0usize, 0usize);
        for (i, (&x, &y)) in input.iter().zip(target).enumerate() {
            let w = weight[iw];
            let pw = pos_weight[ip];
            iw += 1;
            if iw == lw {
                iw = 0;
            }
            ip += 1;
            if ip == lp {
                ip = 0;
            }
            let log_weight = (pw - T::ONE) * y + T::ONE;
            let ax = x.abs();
            let e = (-ax).exp();
            let softplus_neg = (-x).max(T::ZERO) + e.ln_1p();
            let l = w * ((T::ONE - y) * x + log_weight * softplus_neg);
            sum.add(l);
            if none {
                out[i] = l;
            }
            if let Some(g) = grad.as_deref_mut() {
                // σ(x) without overflow.
                let sig = if x >= T::ZERO {
                    T::ONE / (T::ONE + e)
                } else {
                    e / (T::ONE + e)
                };
                g[i] = w * (log_weight * sig - pw * y) * scale;
            }
        }
        Ok(sum.total() / divisor)
    }
}

/// Validate a trailing-broadcast vector; `None` becomes `[1]`.
pub(super) fn broadcast<'b, T: Float>(
    name: &'static str,
    v: Option<&'b [T]>,
    n: usize,
    ones: &'b [T; 1],
) -> Result<&'b [T]> {
    match v {
        None => Ok(&ones[..]),
        Some(v) if !v.is_empty() && n.is_multiple_of(v.len()) => Ok(v),
        Some(v) => Err(Error::InvalidArgument {
            name,
            value: v.len() as f64,
            expected: "a non-empty length dividing input.len() (broadcast over trailing dims)",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_formula_and_is_stable() {
        let x = [0.3f64, -2.0, 4.0, 0.0];
        let y = [1.0f64, 0.0, 0.25, 0.5];
        let pw = [2.0, 0.5];
        let mut out = [0.0; 4];
        let mut g = [0.0; 4];
        BCEWithLogitsLoss::new(None, Reduction::None, Some(&pw[..]))
            .forward_backward(&x, &y, &mut out, &mut g)
            .unwrap();
        for i in 0..4 {
            let s = 1.0 / (1.0 + (-x[i]).exp());
            let p = pw[i % 2];
            let want = -(p * y[i] * s.ln() + (1.0 - y[i]) * (1.0 - s).ln());
            assert!((out[i] - want).abs() < 1e-12, "{i}");
            let dwant = (1.0 + (p - 1.0) * y[i]) * s - p * y[i];
            assert!((g[i] - dwant).abs() < 1e-12, "{i}");
        }
        // Huge logits: finite values, exact limits.
        let mut g = [0.0f32; 2];
        let v = BCEWithLogitsLoss::<f32>::default()
            .forward_backward(&[1e4, -1e4], &[0.0, 0.0], &mut [], &mut g)
            .unwrap();
        assert_eq!(v, 5e3);
        assert_eq!(g, [0.5, 0.0]);
    }

    #[test]
    fn weight_broadcast_errors() {
        let w = [1.0f64; 3];
        let l = BCEWithLogitsLoss::new(Some(&w[..]), Reduction::Sum, None);
        assert!(matches!(
            l.forward(&[0.0; 4], &[0.0; 4], &mut []),
            Err(Error::InvalidArgument { name: "weight", .. })
        ));
        let e: [f64; 0] = [];
        let l = BCEWithLogitsLoss::new(None, Reduction::Sum, Some(&e[..]));
        assert!(matches!(
            l.forward(&[0.0; 4], &[0.0; 4], &mut []),
            Err(Error::InvalidArgument {
                name: "pos_weight",
                ..
            })
        ));
    }
}
