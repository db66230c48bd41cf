//! Softmax cross-entropy, `torch.nn.CrossEntropyLoss`.

use super::{
    check_classes, check_grad, check_matrix, check_out, exp_shifted, log_sum_exp, Reduction,
};
use crate::error::{check_arg, check_len, Result};
use crate::sum::CascadeSum;
use crate::Float;

/// `nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean',
/// label_smoothing=0.0)` on logits `z` of shape `[N, C]` (row-major).
///
/// With `lp[i, c] = z[i, c] - logsumexp_c z[i, ·]` (max-shifted, stable for huge logits),
/// `w` the class weights (1 without `weight`), `eps = label_smoothing`:
///
/// **Class-index targets** `t` `[N]` ([`forward`](Self::forward)):
/// `l_i = (1 - eps) (-w[t_i] lp[i, t_i]) + (eps / C) (-Σ_c w[c] lp[i, c])`, `l_i = 0` when
/// `t_i == ignore_index`; the smoothing term is skipped entirely when `eps == 0`. `Mean`
/// divides `Σ l_i` by `Σ_{i not ignored} w[t_i]` (the count without weights) — PyTorch's
/// formula, NaN when every target is ignored.
///
/// **Probability targets** `p` `[N, C]` ([`forward_probs`](Self::forward_probs)):
/// `q = (1 - eps) p + eps / C` (just `p` when `eps == 0`), `l_i = -Σ_c w[c] q[i, c] lp[i, c]`;
/// `Mean` divides by `N`. `ignore_index` must be negative (PyTorch: "ignore_index is not
/// supported for floating point target") and plays no role otherwise.
///
/// Gradient (both forms): with `a[c]` the coefficient of `-lp[i, c]` in `l_i` and
/// `A = Σ_c a[c]`, `dl_i/dz[i, j] = A softmax(z_i)[j] - a[j]`, divided by the mean's
/// denominator for `Mean`.
///
/// Errors: `label_smoothing` outside `[0, 1]` (PyTorch silently treats a negative value as 0;
/// here it is an error), `input.len() != N * C` (`input`),
/// `target` length (probabilities), `weight.len() != C`, class out of range, `out` /
/// `grad_input` length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropyLoss<'a, T> {
    /// Per-class rescaling weight `[C]` (PyTorch's `weight`, default `None`).
    pub weight: Option<&'a [T]>,
    /// Ignored class-index target (default -100; any `i64`). Must be negative with
    /// probability targets, where it is unused.
    pub ignore_index: i64,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
    /// Label smoothing `eps` in `[0, 1]` (default 0).
    pub label_smoothing: T,
}

impl<T: Float> Default for CrossEntropyLoss<'_, T> {
    /// `CrossEntropyLoss()`: no weight, `ignore_index = -100`, `Mean`, no smoothing.
    fn default() -> Self {
        Self {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
            label_smoothing: T::ZERO,
        }
    }
}

impl<'a, T: Float> CrossEntropyLoss<'a, T> {
    /// `CrossEntropyLoss(weight, ignore_index, reduction, label_smoothing)`.
    pub fn new(
        weight: Option<&'a [T]>,
        ignore_index: i64,
        reduction: Reduction,
        label_smoothing: T,
    ) -> Self {
        Self {
            weight,
            ignore_index,
            reduction,
            label_smoothing,
        }
    }

    /// Loss for logits `input` `[N, C]` and class indices `target` `[N]` (`N =
    /// target.len()`, `C = classes`); per-row losses into `out` `[N]` for `None`.
    pub fn forward(&self, input: &[T], target: &[i64], classes: usize, out: &mut [T]) -> Result<T> {
        self.run_index(input, target, classes, out, None)
    }

    /// [`forward`](Self::forward) plus `grad_input` `[N, C]` = `d(value)/d(input)`.
    pub fn forward_backward(
        &self,
        input: &[T],
        target: &[i64],
        classes: usize,
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run_index(input, target, classes, out, Some(grad_input))
    }

    /// Loss for logits `input` `[N, C]` and class probabilities `target` `[N, C]`
    /// (`N = input.len() / C`); per-row losses into `out` `[N]` for `None`.
    /// `classes` must be > 0 unless the input is empty.
    pub fn forward_probs(
        &self,
        input: &[T],
        target: &[T],
        classes: usize,
        out: &mut [T],
    ) -> Result<T> {
        self.run_probs(input, target, classes, out, None)
    }

    /// [`forward_probs`](Self::forward_probs) plus `grad_input` `[N, C]`.
    pub fn forward_backward_probs(
        &self,
        input: &[T],
        target: &[T],
        classes: usize,
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run_probs(input, target, classes, out, Some(grad_input))
    }

    fn check_common(&self, classes: usize) -> Result<T> {
        let eps = self.label_smoothing;
        check_arg(
            eps >= T::ZERO && eps <= T::ONE,
            "label_smoothing",
            eps.to_f64(),
            "in [0, 1]",
        )?;
        if let Some(w) = self.weight {
            check_len("weight", w.len(), classes)?;
        }
        Ok(eps)
    }

    #[inline(always)]
    fn w(&self, c: usize) -> T {
        self.weight.map_or(T::ONE, |w| w[c])
    }

    fn run_index(
        &self,
        input: &[T],
        target: &[i64],
        classes: usize,
        out: &mut [T],
        grad: Option<&mut [T]>,
    ) -> Result<T> {
        let n = target.len();
        check_matrix("input", input.len(), n, classes)?;
        let eps = self.check_common(classes)?;
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, input.len())?;
        check_classes(target, classes, self.ignore_index)?;

        let smooth = eps > T::ZERO;
        let c_f = T::from_usize(classes);
        let keep = T::ONE - eps;
        let per_class = eps / c_f;
        let wsum_all: T = match self.weight {
            Some(w) => w.iter().copied().sum(),
            None => c_f,
        };
        // Mean's denominator first, so the gradient can be written in the same pass.
        let mut denom = CascadeSum::new();
        for &t in target {
            if t != self.ignore_index {
                denom.add(self.w(t as usize));
            }
        }
        let denom = denom.total();
        let scale = if self.reduction == Reduction::Mean {
            T::ONE / denom
        } else {
            T::ONE
        };
        let mut grad = grad;
        let mut sum = CascadeSum::new();
        for (i, &t) in target.iter().enumerate() {
            let span = i * classes..(i + 1) * classes;
            if t == self.ignore_index {
                if none {
                    out[i] = T::ZERO;
                }
                if let Some(g) = grad.as_deref_mut() {
                    g[span].fill(T::ZERO);
                }
                continue;
            }
            let row = &input[span.clone()];
            let t = t as usize;
            // With a gradient buffer, exp(z - max) is kept there for the softmax below.
            let (lse, inv_s) = match grad.as_deref_mut() {
                Some(g) => exp_shifted(row, &mut g[span.clone()]),
                None => (log_sum_exp(row), T::ZERO),
            };
            let wt = self.w(t);
            let nll = -wt * (row[t] - lse);
            let l = if smooth {
                let mut s = T::ZERO;
                for (c, &z) in row.iter().enumerate() {
                    s -= self.w(c) * (z - lse);
                }
                keep * nll + per_class * s
            } else {
                nll
            };
            sum.add(l);
            if none {
                out[i] = l;
            }
            if let Some(g) = grad.as_deref_mut() {
                let grow = &mut g[span];
                // a[c] = keep*wt*[c==t] + per_class*w[c] (smoothing only); A = Σ a[c].
                // grow holds exp(z - max); softmax = grow * inv_s.
                if smooth {
                    let a_total = keep * wt + per_class * wsum_all;
                    let ap = a_total * inv_s;
                    for (c, gc) in grow.iter_mut().enumerate() {
                        *gc = (ap * *gc - per_class * self.w(c)) * scale;
                    }
                    grow[t] -= keep * wt * scale;
                } else {
                    let ap = wt * inv_s * scale;
                    for gc in grow.iter_mut() {
                        *gc *= ap;
                    }
                    grow[t] -= wt * scale;
                }
            }
        }
        Ok(if self.reduction == Reduction::Mean {
            sum.total() / denom
        } else {
            sum.total()
        })
    }

    fn run_probs(
        &self,
        input: &[T],
        target: &[T],
        classes: usize,
        out: &mut [T],
        grad: Option<&mut [T]>,
    ) -> Result<T> {
        if classes == 0 {
            check_len("input", input.len(), 0)?;
        } else if !input.len().is_multiple_of(classes) {
            return Err(crate::Error::ShapeMismatch {
                what: "input",
                expected: input.len() / classes * classes,
                got: input.len(),
            });
        }
        let n = input.len().checked_div(classes).unwrap_or(0);
        check_len("target", target.len(), input.len())?;
        let eps = self.check_common(classes)?;
        check_arg(
            self.ignore_index < 0,
            "ignore_index",
            self.ignore_index as f64,
            "< 0 (not supported for probability targets)",
        )?;
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, input.len())?;

        let smooth = eps > T::ZERO;
        let keep = T::ONE - eps;
        let per_class = eps / T::from_usize(classes);
        let q = |p: T| if smooth { p * keep + per_class } else { p };
        let d = T::from_usize(n);
        let scale = if self.reduction == Reduction::Mean {
            T::ONE / d
        } else {
            T::ONE
        };
        let mut grad = grad;
        let mut sum = CascadeSum::new();
        let c = classes.max(1);
        for (i, (row, trow)) in input
            .chunks_exact(c)
            .zip(target.chunks_exact(c))
            .enumerate()
        {
            let span = i * c..(i + 1) * c;
            let (lse, inv_s) = match grad.as_deref_mut() {
                Some(g) => exp_shifted(row, &mut g[span.clone()]),
                None => (log_sum_exp(row), T::ZERO),
            };
            // l = -Σ a[k] lp[k] with a[k] = w[k] q(p[k]); A = Σ a[k].
            let mut l = T::ZERO;
            let mut a_total = T::ZERO;
            for (k, (&z, &p)) in row.iter().zip(trow).enumerate() {
                let a = self.w(k) * q(p);
                l -= (z - lse) * a;
                a_total += a;
            }
            sum.add(l);
            if none {
                out[i] = l;
            }
            if let Some(g) = grad.as_deref_mut() {
                let grow = &mut g[span];
                let ap = a_total * inv_s;
                for (k, (gk, &p)) in grow.iter_mut().zip(trow).enumerate() {
                    *gk = (ap * *gk - self.w(k) * q(p)) * scale;
                }
            }
        }
        Ok(if self.reduction == Reduction::Mean {
            sum.total() / d
        } else {
            sum.total()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::NLLLoss;
    use crate::Error;

    const Z: [f64; 6] = [1.0, 2.0, 0.5, -1.0, 0.0, 3.0];

    fn log_softmax(z: &[f64], c: usize) -> [f64; 6] {
        let mut o = [0.0; 6];
        for (r, orow) in z.chunks(c).zip(o.chunks_mut(c)) {
            let lse = r.iter().map(|x| x.exp()).sum::<f64>().ln();
            for (a, b) in orow.iter_mut().zip(r) {
                *a = b - lse;
            }
        }
        o
    }

    #[test]
    fn equals_nll_of_log_softmax() {
        let w = [0.5, 2.0, 1.0];
        let t = [1i64, 2];
        let lp = log_softmax(&Z, 3);
        for red in [Reduction::Mean, Reduction::Sum] {
            let a = CrossEntropyLoss::new(Some(&w[..]), -100, red, 0.0)
                .forward(&Z, &t, 3, &mut [])
                .unwrap();
            let b = NLLLoss::new(Some(&w[..]), -100, red)
                .forward(&lp, &t, 3, &mut [])
                .unwrap();
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn smoothing_one_is_uniform_target() {
        // eps = 1: loss = -(1/C) Σ_c w_c lp_c, independent of the target class.
        let lp = log_softmax(&Z, 3);
        let mut out = [0.0; 2];
        CrossEntropyLoss::<f64>::new(None, -100, Reduction::None, 1.0)
            .forward(&Z, &[0, 2], 3, &mut out)
            .unwrap();
        for i in 0..2 {
            let want = -(lp[3 * i] + lp[3 * i + 1] + lp[3 * i + 2]) / 3.0;
            assert!((out[i] - want).abs() < 1e-12);
        }
        // Same as probability targets with any p under eps = 1.
        let mut out2 = [0.0; 2];
        CrossEntropyLoss::<f64>::new(None, -100, Reduction::None, 1.0)
            .forward_probs(&Z, &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0], 3, &mut out2)
            .unwrap();
        assert!((out[0] - out2[0]).abs() < 1e-12 && (out[1] - out2[1]).abs() < 1e-12);
    }

    #[test]
    fn index_matches_one_hot_probs_without_weights() {
        let mut g1 = [0.0; 6];
        let mut g2 = [0.0; 6];
        let l = CrossEntropyLoss::<f64>::new(None, -100, Reduction::Mean, 0.3);
        let a = l
            .forward_backward(&Z, &[2, 0], 3, &mut [], &mut g1)
            .unwrap();
        let b = l
            .forward_backward_probs(&Z, &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0], 3, &mut [], &mut g2)
            .unwrap();
        assert!((a - b).abs() < 1e-12);
        for (x, y) in g1.iter().zip(&g2) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn huge_logits_are_stable() {
        let z = [1000.0f32, -1000.0, 0.0, 900.0, 1000.0, 0.0];
        let mut g = [0.0f32; 6];
        let v = CrossEntropyLoss::<f32>::default()
            .forward_backward(&z, &[1, 0], 3, &mut [], &mut g)
            .unwrap();
        assert_eq!(v, (2000.0 + 100.0) / 2.0);
        assert!(g.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn all_ignored_mean_is_nan_with_zero_grad() {
        let mut g = [1.0; 6];
        let v = CrossEntropyLoss::<f64>::new(None, 5, Reduction::Mean, 0.2)
            .forward_backward(&Z, &[5, 5], 3, &mut [], &mut g)
            .unwrap();
        assert!(v.is_nan());
        assert_eq!(g, [0.0; 6]);
    }

    #[test]
    fn errors() {
        for eps in [-0.1, 1.5, f64::NAN] {
            assert!(matches!(
                CrossEntropyLoss::<f64>::new(None, -100, Reduction::Mean, eps).forward(
                    &Z,
                    &[0, 1],
                    3,
                    &mut []
                ),
                Err(Error::InvalidArgument {
                    name: "label_smoothing",
                    ..
                })
            ));
        }
        let l = CrossEntropyLoss::<f64>::default();
        assert!(matches!(
            l.forward(&Z, &[0, 3], 3, &mut []),
            Err(Error::ClassOutOfRange { index: 1, .. })
        ));
        assert!(matches!(
            l.forward_probs(&Z, &[0.0; 5], 3, &mut []),
            Err(Error::ShapeMismatch { what: "target", .. })
        ));
        assert!(matches!(
            l.forward_probs(&Z, &[0.0; 6], 4, &mut []),
            Err(Error::ShapeMismatch { what: "input", .. })
        ));
        assert!(matches!(
            CrossEntropyLoss::<f64>::new(None, 0, Reduction::Mean, 0.0).forward_probs(
                &Z,
                &[0.0; 6],
                3,
                &mut []
            ),
            Err(Error::InvalidArgument {
                name: "ignore_index",
                ..
            })
        ));
        assert!(matches!(
            l.forward_probs(&Z, &[0.0; 6], 0, &mut []),
            Err(Error::ShapeMismatch { what: "input", .. })
        ));
    }
}
