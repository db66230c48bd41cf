//! Connectionist temporal classification, `torch.nn.CTCLoss`.

use super::margin::rows;
use super::{check_grad, check_out, Reduction};
use crate::error::{check_arg, check_len, check_min_len, Result};
use crate::sum::CascadeSum;
use crate::{Error, Float};

/// The label sequences of a CTC batch, in either of PyTorch's two layouts (`i64` class
/// indices; sample `n` uses its first `target_lengths[n]` labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CTCTargets<'a> {
    /// `[N, S]`, row-major and padded: row `n` holds sample `n`'s labels followed by padding
    /// (any values, never read). `S = len / N` (`N` = the batch size); every
    /// `target_lengths[n] <= S`.
    Padded(&'a [i64]),
    /// 1-D: the `N` label sequences back to back, `len = Σ target_lengths` exactly.
    Concatenated(&'a [i64]),
}

/// `nn.CTCLoss(blank=0, reduction='mean', zero_infinity=False)` on log-probabilities `x` of
/// shape `[T, N, C]` (time-major, row-major, as PyTorch; normally a `log_softmax` over `C`),
/// label sequences `y_n` of lengths `L_n = target_lengths[n]` ([`CTCTargets`]) and
/// `input_lengths` `T_n <= T`.
///
/// **Value.** With the extended sequence `y'_n` of length `2 L_n + 1` (a `blank` before,
/// between and after the labels), `l_n = -ln p(y_n | x[..T_n, n, ·])`, the probability summed
/// over every alignment (path of `T_n` classes that collapses to `y_n` by merging repeats and
/// dropping blanks). It is computed by PyTorch's forward recursion in log space:
/// `α_0(0) = x[0, blank]`, `α_0(1) = x[0, y'_1]`, `α_0(s) = -∞` for `s >= 2`, and
///
/// `α_t(s) = logsumexp(α_{t-1}(s), α_{t-1}(s-1), α_{t-1}(s-2)) + x[t, y'_s]`,
///
/// where the `s-2` term is taken only when `y'_s != y'_{s-2}` (so never for a blank, nor
/// between repeated labels, which need a blank between them); `l_n = -logsumexp(α_{T_n-1}(2
/// L_n), α_{T_n-1}(2 L_n - 1))` (`-α_{T_n-1}(0)` for `L_n = 0`, which is `-Σ_t x[t, blank]`).
/// `T_n = 0` gives `l_n = 0` for `L_n = 0` and `+∞` otherwise. An impossible target (`T_n` less
/// than `L_n` plus its number of adjacent repeats) gives `l_n = +∞`; with `zero_infinity` such
/// losses are replaced by 0. Each `logsumexp` is PyTorch's: max-shifted, with a max of `-∞`
/// replaced by 0.
///
/// Reductions: `None` gives `[N]`, `Sum` `Σ l_n`, `Mean` `(1/N) Σ l_n / max(L_n, 1)` (PyTorch
/// clamps the target lengths to 1 for the mean; NaN for `N = 0`).
///
/// **Gradient: PyTorch's, which is not the partial derivative with respect to `x`.** With the
/// backward recursion `β` (the mirror image of `α`, also including the emission `x[t, y'_s]`,
/// so that `α_t(s) β_t(s) / e^{x[t, y'_s]}` is the probability of the alignments through
/// `(t, s)`), the occupation `γ_t(c) = e^{ln Σ_{s: y'_s = c} α_t(s) β_t(s) + l_n - x[t, c]}`
/// (the posterior probability of class `c` at time `t`), and `g_n` the upstream scale (1 for
/// `None` / `Sum`, `1 / (N max(L_n, 1))` for `Mean`):
///
/// `grad_input[t, n, c] = (e^{x[t, n, c]} - γ_t(c)) g_n` for `t < T_n`, 0 for `t >= T_n`.
///
/// The partial derivative of `l_n` with respect to `x[t, n, c]` is `-γ_t(c)` alone. PyTorch
/// returns instead the gradient with respect to the **logits** `z` when `x = log_softmax(z)`:
/// through `log_softmax`, `∂l/∂z_c = -γ_t(c) + softmax(z)_c Σ_{c'} γ_t(c') = e^{x_c} - γ_t(c)`,
/// since the occupations of each time step sum to 1. The returned `grad_input` is therefore
/// the logits' gradient, and passing it back through `log_softmax`'s Jacobian leaves it
/// unchanged (its rows sum to 0 when each `x[t, n, ·]` is normalized). Pass it to the logits
/// directly, as PyTorch's autograd effectively does.
///
/// Infinite losses: with `zero_infinity` the loss and the whole gradient of that sample are 0;
/// without it the gradient of that sample is NaN for `t < T_n` (PyTorch's `-∞ + ∞`), and 0 for
/// `T_n = 0`. NaN in `x[t, n, ·]` (`t < T_n`) gives a NaN gradient at that entry, and makes
/// `l_n` and its whole gradient NaN whenever an alignment can pass through it, as PyTorch.
///
/// **Scratch.** The recursions need `scratch` (no allocation):
/// [`forward_backward`](Self::forward_backward) at least `max_n (T_n + 2) (2 L_n + 1)`
/// elements (the `α` table of each sample and two rows of `β`),
/// [`forward`](Self::forward) `max_n 2 (2 L_n + 1)`; [`scratch_len`](Self::scratch_len)`(T,
/// S)` is enough for both. Everything is computed in `T` (`f32` or `f64`), like PyTorch's CPU
/// kernel in the input's dtype.
///
/// Errors: `blank` outside `0..C` ([`Error::InvalidArgument`] `blank`), `C = 0` included;
/// `target_lengths.len() != N` with `N = input_lengths.len()` (`target_lengths`);
/// `log_probs.len()` not a multiple of `N C` (`log_probs`); an input length outside `0..=T`
/// (`input_lengths`), a negative target length or (padded) one above `S` (`target_lengths`);
/// padded `targets.len()` not a multiple of `N`, or concatenated `targets.len() != Σ L_n`
/// (`targets`); a used label outside `0..C` ([`Error::ClassOutOfRange`], `index` its position
/// in `targets`), or equal to `blank` ([`Error::InvalidArgument`] `targets` whose `value` is
/// its position; PyTorch does not check either); `out` / `grad_input` lengths; `scratch`
/// shorter than needed ([`Error::BufferTooSmall`] `scratch`).
///
/// ```
/// use descent_core::loss::{CTCLoss, CTCTargets, Reduction};
/// // T = 3 steps, N = 1, C = 3 classes (blank 0), uniform; target "12": five alignments
/// // (112, 122, 012, 102, 120) of probability 1/27 each.
/// let x = [(1.0f64 / 3.0).ln(); 9];
/// let mut scratch = [0.0; 25];
/// assert_eq!(CTCLoss::scratch_len(3, 2), 25);
/// let mut grad = [0.0; 9];
/// let ctc = CTCLoss::new(0, Reduction::Sum, false);
/// let targets = CTCTargets::Padded(&[1, 2]);
/// let loss = ctc.forward_backward(&x, targets, &[3], &[2], 3, &mut scratch, &mut [], &mut grad)?;
/// assert!((loss - -(5.0f64 / 27.0).ln()).abs() < 1e-12);
/// // Each time step's gradient row sums to 0 (the logits' gradient).
/// assert!(grad.chunks(3).all(|row| row.iter().sum::<f64>().abs() < 1e-12));
/// # Ok::<(), descent_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CTCLoss {
    /// The blank class (default 0), in `0..C`.
    pub blank: i64,
    /// PyTorch's `reduction` (default `Mean`).
    pub reduction: Reduction,
    /// Replace infinite losses (impossible alignments) and their gradients by 0 (default
    /// false).
    pub zero_infinity: bool,
}

impl CTCLoss {
    /// `CTCLoss(blank, reduction, zero_infinity)`; `blank` is validated when evaluated.
    pub fn new(blank: i64, reduction: Reduction, zero_infinity: bool) -> Self {
        Self {
            blank,
            reduction,
            zero_infinity,
        }
    }

    /// Scratch length enough for [`forward_backward`](Self::forward_backward) (and
    /// [`forward`](Self::forward)) on `time` steps and targets of at most
    /// `max_target_length` labels: `(time + 2) (2 max_target_length + 1)` (saturating).
    pub fn scratch_len(time: usize, max_target_length: usize) -> usize {
        time.saturating_add(2)
            .saturating_mul(max_target_length.saturating_mul(2).saturating_add(1))
    }

    /// Loss value for log-probabilities `log_probs` `[T, N, C]` (`N = input_lengths.len()`,
    /// `C = classes`, `T = log_probs.len() / (N C)`); per-sample losses into `out` (`[N]`)
    /// for `None`. `scratch`: at least `2 (2 max_n L_n + 1)` elements.
    #[allow(clippy::too_many_arguments)] // PyTorch's four arguments, C, scratch and out.
    pub fn forward<T: Float>(
        &self,
        log_probs: &[T],
        targets: CTCTargets<'_>,
        input_lengths: &[i64],
        target_lengths: &[i64],
        classes: usize,
        scratch: &mut [T],
        out: &mut [T],
    ) -> Result<T> {
        self.run(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            classes,
            scratch,
            out,
            None,
        )
    }

    /// [`forward`](Self::forward) plus `grad_input` `[T, N, C]`: PyTorch's gradient (see the
    /// type docs: the logits' gradient when `log_probs = log_softmax(logits)`). `scratch`: at
    /// least `max_n (T_n + 2) (2 L_n + 1)` elements, e.g. [`scratch_len`](Self::scratch_len).
    #[allow(clippy::too_many_arguments)] // PyTorch's four arguments, C and three buffers.
    pub fn forward_backward<T: Float>(
        &self,
        log_probs: &[T],
        targets: CTCTargets<'_>,
        input_lengths: &[i64],
        target_lengths: &[i64],
        classes: usize,
        scratch: &mut [T],
        out: &mut [T],
        grad_input: &mut [T],
    ) -> Result<T> {
        self.run(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            classes,
            scratch,
            out,
            Some(grad_input),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn run<T: Float>(
        &self,
        log_probs: &[T],
        targets: CTCTargets<'_>,
        input_lengths: &[i64],
        target_lengths: &[i64],
        classes: usize,
        scratch: &mut [T],
        out: &mut [T],
        mut grad: Option<&mut [T]>,
    ) -> Result<T> {
        let c = classes;
        check_arg(
            self.blank >= 0 && (self.blank as u64) < c as u64,
            "blank",
            self.blank as f64,
            "in 0..C (the number of classes)",
        )?;
        let blank = self.blank as usize;
        let n = input_lengths.len();
        check_len("target_lengths", target_lengths.len(), n)?;
        let row = n.checked_mul(c).ok_or(Error::ShapeMismatch {
            what: "log_probs",
            expected: usize::MAX,
            got: log_probs.len(),
        })?;
        let time = rows("log_probs", log_probs.len(), row)?;
        for &il in input_lengths {
            check_arg(
                il >= 0 && il as u64 <= time as u64,
                "input_lengths",
                il as f64,
                "in 0..=T (log_probs' time steps)",
            )?;
        }
        for &tl in target_lengths {
            check_arg(tl >= 0, "target_lengths", tl as f64, ">= 0")?;
        }
        // Row stride of padded targets (`None`: concatenated).
        let (tg, stride) = match targets {
            CTCTargets::Padded(t) => {
                let s = rows("targets", t.len(), n)?;
                for &tl in target_lengths {
                    check_arg(
                        tl as u64 <= s as u64,
                        "target_lengths",
                        tl as f64,
                        "<= S (the padded targets' width)",
                    )?;
                }
                (t, Some(s))
            }
            CTCTargets::Concatenated(t) => {
                let mut total = 0usize;
                for &tl in target_lengths {
                    total = total.saturating_add(tl as usize);
                }
                check_len("targets", t.len(), total)?;
                (t, None)
            }
        };
        let none = self.reduction == Reduction::None;
        check_out(none, out, n)?;
        check_grad(&grad, log_probs.len())?;
        // Labels in range and not blank; the scratch each sample needs.
        let mut needed = 0usize;
        let mut offset = 0usize;
        for (k, (&tl, &il)) in target_lengths.iter().zip(input_lengths).enumerate() {
            let start = stride.map_or(offset, |s| k * s);
            let tl = tl as usize;
            offset += tl;
            for (j, &y) in tg[start..start + tl].iter().enumerate() {
                if y < 0 || y as u64 >= c as u64 {
                    return Err(Error::ClassOutOfRange {
                        index: start + j,
                        class: y,
                        classes: c,
                    });
                }
                check_arg(
                    y != self.blank,
                    "targets",
                    (start + j) as f64,
                    "no label equal to blank (value: its position in targets)",
                )?;
            }
            let width = 2 * tl + 1;
            let rows_needed = if grad.is_some() { il as usize + 2 } else { 2 };
            needed = needed.max(rows_needed.saturating_mul(width));
        }
        check_min_len("scratch", scratch.len(), needed)?;

        let mut sum = CascadeSum::new();
        let n_t = T::from_usize(n);
        let mut offset = 0usize;
        for (k, (&tl, &il)) in target_lengths.iter().zip(input_lengths).enumerate() {
            let start = stride.map_or(offset, |s| k * s);
            let (tl, il) = (tl as usize, il as usize);
            offset += tl;
            let lab = &tg[start..start + tl];
            let w = 2 * tl + 1;
            // Sample k's row of log_probs / grad at time t.
            let at = |t: usize| (t * n + k) * c;
            let nll = if il == 0 {
                if tl == 0 {
                    -T::ZERO
                } else {
                    T::INFINITY
                }
            } else if grad.is_some() {
                let alpha = &mut scratch[..il * w];
                for t in 0..il {
                    let lp = &log_probs[at(t)..at(t) + c];
                    let (done, rest) = alpha.split_at_mut(t * w);
                    let cur = &mut rest[..w];
                    if t == 0 {
                        alpha_init(cur, lp, lab, blank);
                    } else {
                        alpha_step(&done[(t - 1) * w..], cur, lp, lab, blank);
                    }
                }
                nll_of(&alpha[(il - 1) * w..], tl)
            } else {
                let (mut prev, rest) = scratch.split_at_mut(w);
                let mut cur = &mut rest[..w];
                alpha_init(prev, &log_probs[at(0)..at(0) + c], lab, blank);
                for t in 1..il {
                    alpha_step(prev, cur, &log_probs[at(t)..at(t) + c], lab, blank);
                    core::mem::swap(&mut prev, &mut cur);
                }
                nll_of(prev, tl)
            };
            let inf = nll == T::INFINITY;
            let l = if self.zero_infinity && inf {
                T::ZERO
            } else {
                nll
            };
            if none {
                out[k] = l;
            }
            let tl_t = T::from_usize(tl.max(1));
            sum.add(if self.reduction == Reduction::Mean {
                l / tl_t
            } else {
                l
            });
            if let Some(g) = grad.as_deref_mut() {
                if self.zero_infinity && inf {
                    for t in 0..time {
                        g[at(t)..at(t) + c].fill(T::ZERO);
                    }
                    continue;
                }
                let scale = if self.reduction == Reduction::Mean {
                    T::ONE / n_t / tl_t
                } else {
                    T::ONE
                };
                if il > 0 {
                    let (alpha, rest) = scratch.split_at_mut(il * w);
                    backward(
                        log_probs, alpha, rest, g, lab, blank, il, &at, c, w, nll, scale,
                    );
                }
                for t in il..time {
                    g[at(t)..at(t) + c].fill(T::ZERO);
                }
            }
        }
        let total = sum.total();
        Ok(if self.reduction == Reduction::Mean {
            total / n_t
        } else {
            total
        })
    }
}

/// `y'_s`: blank for even `s`, label `s / 2` for odd `s` (labels already validated).
#[inline(always)]
fn label(lab: &[i64], blank: usize, s: usize) -> usize {
    if s.is_multiple_of(2) {
        blank
    } else {
        lab[s / 2] as usize
    }
}

/// PyTorch's `logsumexp` of three terms: shifted by their max (`>` comparisons from the first,
/// so a NaN first term stays the max), a max of `-∞` replaced by 0.
#[inline(always)]
fn lse3<T: Float>(a: T, b: T, c: T) -> T {
    let mut m = a;
    if b > m {
        m = b;
    }
    if c > m {
        m = c;
    }
    if m == T::NEG_INFINITY {
        m = T::ZERO;
    }
    ((a - m).exp() + (b - m).exp() + (c - m).exp()).ln() + m
}

/// `logsumexp(a, b)` with C++'s `std::max(a, b)` (`b` only if `a < b`) as the shift.
#[inline(always)]
fn lse2<T: Float>(a: T, b: T) -> T {
    let mut m = if a < b { b } else { a };
    if m == T::NEG_INFINITY {
        m = T::ZERO;
    }
    ((a - m).exp() + (b - m).exp()).ln() + m
}

/// `α_0`: `x[0, blank]`, `x[0, y_1]`, then `-∞`.
fn alpha_init<T: Float>(cur: &mut [T], lp: &[T], lab: &[i64], blank: usize) {
    cur.fill(T::NEG_INFINITY);
    cur[0] = lp[blank];
    if let Some(&y) = lab.first() {
        cur[1] = lp[y as usize];
    }
}

/// `α_t` from `α_{t-1}` (`prev`, at least `cur.len()` long) and the log-probabilities `lp` of
/// time `t`.
fn alpha_step<T: Float>(prev: &[T], cur: &mut [T], lp: &[T], lab: &[i64], blank: usize) {
    for (s, a) in cur.iter_mut().enumerate() {
        let y = label(lab, blank, s);
        let a1 = prev[s];
        let a2 = if s > 0 { prev[s - 1] } else { T::NEG_INFINITY };
        let a3 = if s > 1 && label(lab, blank, s - 2) != y {
            prev[s - 2]
        } else {
            T::NEG_INFINITY
        };
        *a = lse3(a1, a2, a3) + lp[y];
    }
}

/// `-ln p` from the last `α` row.
fn nll_of<T: Float>(last: &[T], tl: usize) -> T {
    if tl == 0 {
        -last[0]
    } else {
        -lse2(last[2 * tl], last[2 * tl - 1])
    }
}

/// PyTorch's backward for one sample of input length `il >= 1`: the `β` recursion in two rows
/// of `beta`, `ln Σ_{s: y'_s = c} α_t(s) β_t(s)` accumulated in `g`'s rows, then the
/// gradient `(e^x - γ) scale` written over them.
#[allow(clippy::too_many_arguments)]
fn backward<T: Float>(
    log_probs: &[T],
    alpha: &[T],
    beta: &mut [T],
    g: &mut [T],
    lab: &[i64],
    blank: usize,
    il: usize,
    at: &impl Fn(usize) -> usize,
    c: usize,
    w: usize,
    nll: T,
    scale: T,
) {
    let ninf = T::NEG_INFINITY;
    let tl = lab.len();
    for t in 0..il {
        g[at(t)..at(t) + c].fill(ninf);
    }
    let (next, rest) = beta.split_at_mut(w);
    let (mut next, mut cur) = (next, &mut rest[..w]);
    // t = il - 1: β ends in the last blank or the last label.
    let last = il - 1;
    let lp = &log_probs[at(last)..at(last) + c];
    let a = &alpha[last * w..];
    let gr = &mut g[at(last)..at(last) + c];
    next.fill(ninf);
    next[2 * tl] = lp[blank];
    gr[blank] = a[2 * tl] + next[2 * tl];
    if let Some(&y) = lab.last() {
        let y = y as usize;
        next[2 * tl - 1] = lp[y];
        gr[y] = a[2 * tl - 1] + next[2 * tl - 1];
    }
    for t in (0..last).rev() {
        let lp = &log_probs[at(t)..at(t) + c];
        let a = &alpha[t * w..];
        let gr = &mut g[at(t)..at(t) + c];
        for s in (0..w).rev() {
            let y = label(lab, blank, s);
            let b1 = next[s];
            let b2 = if s < 2 * tl { next[s + 1] } else { ninf };
            let b3 = if s + 1 < 2 * tl && label(lab, blank, s + 2) != y {
                next[s + 2]
            } else {
                ninf
            };
            let b = lse3(b1, b2, b3) + lp[y];
            cur[s] = b;
            let ab = a[s] + b;
            let acc = &mut gr[y];
            *acc = if *acc == ninf {
                ab
            } else {
                let m = if *acc < ab { ab } else { *acc };
                ((*acc - m).exp() + (ab - m).exp()).ln() + m
            };
        }
        core::mem::swap(&mut next, &mut cur);
    }
    for t in 0..il {
        let lp = &log_probs[at(t)..at(t) + c];
        for (r, &x) in g[at(t)..at(t) + c].iter_mut().zip(lp) {
            *r = (x.exp() - (*r + nll - x).exp()) * scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln<const K: usize>(p: [f64; K]) -> [f64; K] {
        p.map(|x| x.ln())
    }

    /// T = 2, N = 1, C = 2, target [1]: alignments 11, 01, 10.
    #[test]
    fn two_steps_by_hand() {
        let p = [0.6, 0.4, 0.3, 0.7]; // p[t][c]
        let x = ln(p);
        let want = -(0.4 * 0.7 + 0.6 * 0.7 + 0.4 * 0.3f64).ln();
        let mut scratch = [0.0; 12];
        let mut out = [0.0];
        let mut g = [0.0; 4];
        let l = CTCLoss::new(0, Reduction::None, false);
        let v = l
            .forward_backward(
                &x,
                CTCTargets::Padded(&[1]),
                &[2],
                &[1],
                2,
                &mut scratch,
                &mut out,
                &mut g,
            )
            .unwrap();
        assert!((v - want).abs() < 1e-14 && out[0] == v);
        // Occupations: P = 0.82; γ_0(1) = (0.28 + 0.12) / P, γ_1(1) = (0.28 + 0.42) / P.
        let pz = 0.82;
        let gamma = [1.0 - 0.4 / pz, 0.4 / pz, 1.0 - 0.7 / pz, 0.7 / pz];
        for i in 0..4 {
            assert!((g[i] - (p[i] - gamma[i])).abs() < 1e-14, "{i}: {g:?}");
        }
        // forward alone agrees, in two rows of scratch.
        let v2 = l
            .forward(
                &x,
                CTCTargets::Concatenated(&[1]),
                &[2],
                &[1],
                2,
                &mut scratch[..6],
                &mut out,
            )
            .unwrap();
        assert_eq!(v, v2);
    }

    /// Empty target: `-Σ_t x[t, blank]`; `Mean` divides by `max(L, 1) = 1`.
    #[test]
    fn empty_target_and_mean_clamp() {
        let x = ln([0.5, 0.5, 0.25, 0.75]);
        let mut scratch = [0.0; 4];
        let mut g = [0.0; 4];
        let v = CTCLoss::default()
            .forward_backward(
                &x,
                CTCTargets::Concatenated(&[]),
                &[2],
                &[0],
                2,
                &mut scratch,
                &mut [],
                &mut g,
            )
            .unwrap();
        assert!((v - -(0.5f64.ln() + 0.25f64.ln())).abs() < 1e-15);
        // γ_t(blank) = 1.
        assert!((g[0] - (0.5 - 1.0)).abs() < 1e-15 && (g[1] - 0.5).abs() < 1e-15);
        assert!((g[2] - (0.25 - 1.0)).abs() < 1e-15 && (g[3] - 0.75).abs() < 1e-15);
    }

    /// A repeated label needs a blank between: "11" in two steps is impossible.
    #[test]
    fn repeats_need_a_blank() {
        let x = ln([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
        let mut scratch = [0.0; 25];
        let mut out = [0.0];
        let l = CTCLoss::new(0, Reduction::None, false);
        let v = l
            .forward(
                &x[..4],
                CTCTargets::Padded(&[1, 1]),
                &[2],
                &[2],
                2,
                &mut scratch,
                &mut out,
            )
            .unwrap();
        assert_eq!(v, f64::INFINITY);
        // Three steps: only 1 b 1.
        let v = l
            .forward(
                &x,
                CTCTargets::Padded(&[1, 1]),
                &[3],
                &[2],
                2,
                &mut scratch,
                &mut out,
            )
            .unwrap();
        assert!((v - 3.0 * 2f64.ln()).abs() < 1e-14);
    }

    #[test]
    fn scratch_len_covers_both() {
        assert_eq!(CTCLoss::scratch_len(4, 2), 30);
        assert_eq!(CTCLoss::scratch_len(usize::MAX, 1), usize::MAX);
        let x = [0.0f32; 8];
        let l = CTCLoss::new(0, Reduction::Sum, false);
        let mut g = [0.0f32; 8];
        // T = 4, C = 2, one sample of input length 4 and target length 1: needs 6 * 3.
        let e = l.forward_backward(
            &x,
            CTCTargets::Padded(&[1]),
            &[4],
            &[1],
            2,
            &mut [0.0; 17],
            &mut [],
            &mut g,
        );
        assert_eq!(
            e,
            Err(Error::BufferTooSmall {
                what: "scratch",
                needed: 18,
                got: 17
            })
        );
        let e = l.forward(
            &x,
            CTCTargets::Padded(&[1]),
            &[4],
            &[1],
            2,
            &mut [0.0; 5],
            &mut [],
        );
        assert!(matches!(e, Err(Error::BufferTooSmall { needed: 6, .. })));
    }

    #[test]
    fn errors() {
        let x = [0.0f64; 12]; // T = 3, N = 2, C = 2
        let mut s = [0.0; 64];
        let run = |l: CTCLoss, t: CTCTargets<'_>, il: &[i64], tl: &[i64], c: usize| {
            l.forward(&x, t, il, tl, c, &mut [0.0; 64], &mut [])
        };
        let d = CTCLoss::default();
        let pad = CTCTargets::Padded(&[1, 1, 1, 1]);
        assert!(matches!(
            run(
                CTCLoss::new(2, Reduction::Mean, false),
                pad,
                &[3, 3],
                &[1, 1],
                2
            ),
            Err(Error::InvalidArgument { name: "blank", .. })
        ));
        assert!(matches!(
            run(
                CTCLoss::new(-1, Reduction::Mean, false),
                pad,
                &[3, 3],
                &[1, 1],
                2
            ),
            Err(Error::InvalidArgument { name: "blank", .. })
        ));
        assert!(matches!(
            run(d, pad, &[3, 3], &[1], 2),
            Err(Error::ShapeMismatch {
                what: "target_lengths",
                ..
            })
        ));
        assert!(matches!(
            run(d, pad, &[3, 3], &[1, 1], 5),
            Err(Error::ShapeMismatch {
                what: "log_probs",
                ..
            })
        ));
        assert!(matches!(
            run(d, pad, &[4, 3], &[1, 1], 2),
            Err(Error::InvalidArgument {
                name: "input_lengths",
                ..
            })
        ));
        assert!(matches!(
            run(d, pad, &[-1, 3], &[1, 1], 2),
            Err(Error::InvalidArgument {
                name: "input_lengths",
                ..
            })
        ));
        assert!(matches!(
            run(d, pad, &[3, 3], &[3, 1], 2),
            Err(Error::InvalidArgument {
                name: "target_lengths",
                ..
            })
        ));
        assert!(matches!(
            run(d, pad, &[3, 3], &[-1, 1], 2),
            Err(Error::InvalidArgument {
                name: "target_lengths",
                ..
            })
        ));
        assert!(matches!(
            run(d, CTCTargets::Padded(&[1, 1, 1]), &[3, 3], &[1, 1], 2),
            Err(Error::ShapeMismatch {
                what: "targets",
                ..
            })
        ));
        assert!(matches!(
            run(d, CTCTargets::Concatenated(&[1, 1]), &[3, 3], &[1, 2], 2),
            Err(Error::ShapeMismatch {
                what: "targets",
                ..
            })
        ));
        assert_eq!(
            run(d, CTCTargets::Concatenated(&[1, 1, 2]), &[3, 3], &[1, 2], 2),
            Err(Error::ClassOutOfRange {
                index: 2,
                class: 2,
                classes: 2
            })
        );
        // Labels equal to blank, the value naming the position.
        assert_eq!(
            run(d, CTCTargets::Padded(&[1, 7, 1, 0]), &[3, 3], &[1, 2], 2),
            Err(Error::InvalidArgument {
                name: "targets",
                value: 3.0,
                expected: "no label equal to blank (value: its position in targets)"
            })
        );
        // Padding is never read.
        assert!(run(d, CTCTargets::Padded(&[1, -7, 1, 0]), &[3, 3], &[1, 1], 2).is_ok());
        let none = CTCLoss::new(0, Reduction::None, false);
        assert!(matches!(
            none.forward(&x, pad, &[3, 3], &[1, 1], 2, &mut s, &mut [0.0]),
            Err(Error::ShapeMismatch { what: "out", .. })
        ));
        assert!(matches!(
            d.forward_backward(
                &x,
                pad,
                &[3, 3],
                &[1, 1],
                2,
                &mut s,
                &mut [],
                &mut [0.0; 11]
            ),
            Err(Error::ShapeMismatch {
                what: "grad_input",
                ..
            })
        ));
        assert!(matches!(
            d.forward(&x, pad, &[3, 3], &[1, 1], usize::MAX, &mut s, &mut []),
            Err(Error::ShapeMismatch {
                what: "log_probs",
                ..
            })
        ));
    }
}
