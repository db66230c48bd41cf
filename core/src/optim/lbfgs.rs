//! L-BFGS (`torch.optim.LBFGS`) over a caller-supplied closure, with PyTorch's optional
//! strong-Wolfe line search; all memory is one caller-provided buffer.

use super::{Group, OptimizerKind};
use crate::error::{check_arg, check_len, check_min_len};
use crate::{Float, Result};

/// Trailing scalar state in the buffer: the last step length t and the H₀ scaling.
const TAIL: usize = 2;

/// Line search used by [`Lbfgs`] (`line_search_fn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineSearch {
    /// Fixed step `lr` (first iteration: `min(1, 1/‖g‖₁) · lr`).
    #[default]
    None,
    /// PyTorch's `"strong_wolfe"` (cubic interpolation, c₁ = 1e-4, c₂ = 0.9, 25 evaluations).
    StrongWolfe,
}

/// L-BFGS hyperparameters (PyTorch names and defaults).
///
/// Each [`Lbfgs::step`] runs up to `max_iter` iterations of
///
/// ```text
/// y = g − g_prev ;  s = t_prev d_prev ;  if yᵀs > 1e-10: push (y, s, ρ = 1/yᵀs), H₀ = yᵀs / yᵀy
/// d = −H g   (two-loop recursion over the last history_size pairs, H₀ scaling)
/// t = lr  (first iteration ever: min(1, 1/‖g‖₁) · lr), or the strong-Wolfe step
/// θ ← θ + t d
/// ```
///
/// stopping like PyTorch on ‖g‖∞ ≤ tolerance_grad, gᵀd > −tolerance_change,
/// ‖t d‖∞ ≤ tolerance_change, |Δloss| < tolerance_change, or `max_eval` evaluations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsConfig {
    /// Step length (default 1).
    pub lr: f64,
    /// Iterations per `step` (default 20).
    pub max_iter: usize,
    /// Closure evaluations per `step` (default `None`: max_iter · 5 / 4).
    pub max_eval: Option<usize>,
    /// First-order optimality tolerance (default 1e-7).
    pub tolerance_grad: f64,
    /// Tolerance on function / parameter changes (default 1e-9).
    pub tolerance_change: f64,
    /// Number of (y, s) pairs kept (default 100).
    pub history_size: usize,
    /// Line search (default none).
    pub line_search_fn: LineSearch,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        Self {
            lr: 1.0,
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search_fn: LineSearch::None,
        }
    }
}

setters!(LbfgsConfig {
    lr: f64,
    max_iter: usize,
    max_eval: Option<usize>,
    tolerance_grad: f64,
    tolerance_change: f64,
    history_size: usize,
    line_search_fn: LineSearch,
});

impl LbfgsConfig {
    fn validate(&self) -> Result<()> {
        super::check_lr(self.lr)?;
        check_arg(self.max_iter >= 1, "max_iter", self.max_iter as f64, ">= 1")?;
        if let Some(e) = self.max_eval {
            check_arg(e >= 1, "max_eval", e as f64, ">= 1")?;
        }
        super::check_nonneg("tolerance_grad", self.tolerance_grad)?;
        super::check_nonneg("tolerance_change", self.tolerance_change)?;
        check_arg(
            self.history_size >= 1,
            "history_size",
            self.history_size as f64,
            ">= 1",
        )
    }
    fn resolved_max_eval(&self) -> usize {
        self.max_eval.unwrap_or(self.max_iter * 5 / 4)
    }
}

/// Which gradient buffer holds a value during the line search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GRef {
    /// The gradient at the start point.
    Orig,
    /// Scratch slot 0..3.
    Slot(usize),
}

/// Persistent scalar state between `step` calls.
#[derive(Debug, Clone, Copy)]
struct Scalars<T> {
    n_iter: u64,
    func_evals: u64,
    t: T,
    h_diag: T,
    hist_len: usize,
    hist_start: usize,
}

/// L-BFGS optimizer; `S` is the buffer (`&mut [T]` or `Vec<T>`) of
/// [`buffer_len`](Self::buffer_len) elements.
#[derive(Debug, Clone)]
pub struct Lbfgs<T, S> {
    cfg: LbfgsConfig,
    n: usize,
    buf: S,
    sc: Scalars<T>,
}

#[inline]
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut s = T::ZERO;
    for (&x, &y) in a.iter().zip(b) {
        s += x * y;
    }
    s
}

#[inline]
fn max_abs<T: Float>(a: &[T]) -> T {
    let mut m = T::ZERO;
    for &x in a {
        let v = x.abs();
        if v > m || v.is_nan() {
            m = v;
        }
    }
    m
}

/// PyTorch's `_cubic_interpolate`: the minimiser of the cubic through (x₁, f₁, g₁), (x₂, f₂, g₂),
/// clamped to `bounds` (default: the interval between x₁ and x₂).
fn cubic_interpolate<T: Float>(
    x1: T,
    f1: T,
    g1: T,
    x2: T,
    f2: T,
    g2: T,
    bounds: Option<(T, T)>,
) -> T {
    let (lo, hi) = match bounds {
        Some(b) => b,
        None => {
            if x1 <= x2 {
                (x1, x2)
            } else {
                (x2, x1)
            }
        }
    };
    let three = T::from_f64(3.0);
    let d1 = g1 + g2 - three * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= T::ZERO {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + T::TWO * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + T::TWO * d2))
        };
        min_pos.max(lo).min(hi)
    } else {
        (lo + hi) / T::TWO
    }
}

impl<T: Float, S: AsRef<[T]> + AsMut<[T]>> Lbfgs<T, S> {
    /// Buffer elements needed for `n_params` parameters:
    /// `7 n + 2 · history_size · n + 2 · history_size + 2`.
    pub fn buffer_len(config: &LbfgsConfig, n_params: usize) -> usize {
        let h = config.history_size;
        n_params
            .saturating_mul(7)
            .saturating_add(h.saturating_mul(n_params).saturating_mul(2))
            .saturating_add(h.saturating_mul(2))
            .saturating_add(TAIL)
    }

    /// Validate `config` and wrap `buffer` (at least [`buffer_len`](Self::buffer_len)).
    pub fn new(config: LbfgsConfig, n_params: usize, mut buffer: S) -> Result<Self> {
        config.validate()?;
        let len = Self::buffer_len(&config, n_params);
        check_min_len("buffer", buffer.as_ref().len(), len)?;
        // Deterministic contents (the scratch parts are exported with the state).
        buffer.as_mut()[..len].fill(T::ZERO);
        buffer.as_mut()[len - 1] = T::ONE; // H₀ scaling

        Ok(Self {
            cfg: config,
            n: n_params,
            buf: buffer,
            sc: Scalars {
                n_iter: 0,
                func_evals: 0,
                t: T::ZERO,
                h_diag: T::ONE,
                hist_len: 0,
                hist_start: 0,
            },
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &LbfgsConfig {
        &self.cfg
    }
    /// Learning rate.
    pub fn lr(&self) -> f64 {
        self.cfg.lr
    }
    /// Set the learning rate (finite, >= 0).
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        super::check_lr(lr)?;
        self.cfg.lr = lr;
        Ok(())
    }
    /// Total iterations so far (PyTorch's `state["n_iter"]`).
    pub fn n_iter(&self) -> u64 {
        self.sc.n_iter
    }
    /// Total closure evaluations so far (`state["func_evals"]`).
    pub fn func_evals(&self) -> u64 {
        self.sc.func_evals
    }

    /// One `optimizer.step(closure)`: `closure(θ, grad)` returns the loss at θ and writes the
    /// gradient into `grad`. Returns the loss at the starting point, as PyTorch does.
    pub fn step<F: FnMut(&[T], &mut [T]) -> T>(
        &mut self,
        params: &mut [T],
        mut closure: F,
    ) -> Result<T> {
        check_len("params", params.len(), self.n)?;
        let n = self.n;
        let h = self.cfg.history_size;
        let cfg = self.cfg;
        let tol_grad = T::from_f64(cfg.tolerance_grad);
        let tol_change = T::from_f64(cfg.tolerance_change);
        let lr = T::from_f64(cfg.lr);
        let max_eval = cfg.resolved_max_eval();
        let len = Self::buffer_len(&cfg, n);
        let buf = &mut self.buf.as_mut()[..len];
        let (buf, tail) = buf.split_at_mut(len - TAIL);
        let (vecs, hist) = buf.split_at_mut(7 * n);
        let [d, prev_g, g, x_trial, s0, s1, s2] = super::split_slots::<T, 7>(vecs, n);
        let mut slots = [s0, s1, s2];
        let (dirs, rest) = hist.split_at_mut(h * n);
        let (stps, rest) = rest.split_at_mut(h * n);
        let (ro, al) = rest.split_at_mut(h);
        let sc = &mut self.sc;

        let mut loss = closure(params, g);
        let orig_loss = loss;
        let mut current_evals = 1usize;
        sc.func_evals += 1;
        let mut opt_cond = max_abs(g) <= tol_grad;
        if opt_cond {
            return Ok(orig_loss);
        }
        let mut n_iter = 0usize;
        while n_iter < cfg.max_iter {
            n_iter += 1;
            sc.n_iter += 1;
            if sc.n_iter == 1 {
                for (di, &gi) in d.iter_mut().zip(g.iter()) {
                    *di = -gi;
                }
                sc.hist_len = 0;
                sc.hist_start = 0;
                sc.h_diag = T::ONE;
            } else {
                // y = g − g_prev, s = d · t
                let t = sc.t;
                let mut ys = T::ZERO;
                let mut yy = T::ZERO;
                for ((&gi, &pi), &di) in g.iter().zip(prev_g.iter()).zip(d.iter()) {
                    let y = gi - pi;
                    ys += y * (di * t);
                    yy += y * y;
                }
                if ys > T::from_f64(1e-10) {
                    if sc.hist_len == h {
                        sc.hist_start = (sc.hist_start + 1) % h;
                        sc.hist_len -= 1;
                    }
                    let k = (sc.hist_start + sc.hist_len) % h;
                    let dk = &mut dirs[k * n..(k + 1) * n];
                    let sk = &mut stps[k * n..(k + 1) * n];
                    for ((((yk, sk), &gi), &pi), &di) in dk
                        .iter_mut()
                        .zip(sk.iter_mut())
                        .zip(g.iter())
                        .zip(prev_g.iter())
                        .zip(d.iter())
                    {
                        *yk = gi - pi;
                        *sk = di * t;
                    }
                    ro[k] = T::ONE / ys;
                    sc.hist_len += 1;
                    sc.h_diag = ys / yy;
                }
                // Two-loop recursion; q lives in d.
                for (di, &gi) in d.iter_mut().zip(g.iter()) {
                    *di = -gi;
                }
                for i in (0..sc.hist_len).rev() {
                    let k = (sc.hist_start + i) % h;
                    let (yk, sk) = (&dirs[k * n..(k + 1) * n], &stps[k * n..(k + 1) * n]);
                    al[k] = dot(sk, d) * ro[k];
                    let a = -al[k];
                    for (di, &y) in d.iter_mut().zip(yk) {
                        *di += a * y;
                    }
                }
                let hd = sc.h_diag;
                for di in d.iter_mut() {
                    *di *= hd;
                }
                for i in 0..sc.hist_len {
                    let k = (sc.hist_start + i) % h;
                    let (yk, sk) = (&dirs[k * n..(k + 1) * n], &stps[k * n..(k + 1) * n]);
                    let be = dot(yk, d) * ro[k];
                    let a = al[k] - be;
                    for (di, &s) in d.iter_mut().zip(sk) {
                        *di += a * s;
                    }
                }
            }
            prev_g.copy_from_slice(g);
            let prev_loss = loss;
            sc.t = if sc.n_iter == 1 {
                let l1 = crate::sum::cascade_sum(g.iter().map(|x| x.abs()));
                (T::ONE / l1).min(T::ONE) * lr
            } else {
                lr
            };
            let gtd = dot(g, d);
            if gtd > -tol_change {
                break;
            }
            let ls_evals;
            match cfg.line_search_fn {
                LineSearch::StrongWolfe => {
                    let (f_new, t, evals) = strong_wolfe(
                        &mut closure,
                        params,
                        sc.t,
                        d,
                        loss,
                        g,
                        gtd,
                        x_trial,
                        &mut slots,
                    );
                    loss = f_new;
                    sc.t = t;
                    ls_evals = evals;
                    for (p, &di) in params.iter_mut().zip(d.iter()) {
                        *p += t * di;
                    }
                    opt_cond = max_abs(g) <= tol_grad;
                }
                LineSearch::None => {
                    let t = sc.t;
                    for (p, &di) in params.iter_mut().zip(d.iter()) {
                        *p += t * di;
                    }
                    if n_iter != cfg.max_iter {
                        loss = closure(params, g);
                        opt_cond = max_abs(g) <= tol_grad;
                        ls_evals = 1;
                    } else {
                        ls_evals = 0;
                    }
                }
            }
            current_evals += ls_evals;
            sc.func_evals += ls_evals as u64;
            if n_iter == cfg.max_iter || current_evals >= max_eval || opt_cond {
                break;
            }
            let t = sc.t;
            let mut step_max = T::ZERO;
            for &di in d.iter() {
                let v = (di * t).abs();
                if v > step_max || v.is_nan() {
                    step_max = v;
                }
            }
            if step_max <= tol_change || (loss - prev_loss).abs() < tol_change {
                break;
            }
        }
        tail[0] = sc.t;
        tail[1] = sc.h_diag;
        Ok(orig_loss)
    }
}

impl<T: Float, S: AsRef<[T]> + AsMut<[T]>> Lbfgs<T, S> {
    /// Exact size in bytes of the exported state (format in [`state`](super::state)).
    pub fn state_bytes_len(&self) -> usize {
        super::state::bytes_len(1, 3, Self::buffer_len(&self.cfg, self.n), T::BYTES)
    }

    fn group(&self) -> Group {
        Group {
            start: 0,
            len: self.n,
            lr: self.cfg.lr,
            weight_decay: 0.0,
        }
    }

    /// Export iteration counters, lr, history and direction into `out`; returns bytes written.
    pub fn export_state(&self, out: &mut [u8]) -> Result<usize> {
        let len = Self::buffer_len(&self.cfg, self.n);
        let sc = &self.sc;
        super::state::encode(
            OptimizerKind::Lbfgs,
            self.n,
            sc.n_iter,
            &[self.group()],
            &[sc.func_evals, sc.hist_len as u64, sc.hist_start as u64],
            &self.buf.as_ref()[..len],
            out,
        )
    }

    /// Import a state exported by an L-BFGS with the same parameter count, dtype and
    /// `history_size`; validates everything first (`Error::BadState`).
    pub fn import_state(&mut self, bytes: &[u8]) -> Result<()> {
        let len = Self::buffer_len(&self.cfg, self.n);
        let h = self.cfg.history_size as u64;
        let mut groups = [self.group()];
        let mut counters = [0u64; 3];
        let steps = super::state::decode(
            OptimizerKind::Lbfgs,
            self.n,
            &mut groups,
            &mut counters,
            |c| {
                let (len, start) = (super::state::counter(c, 1), super::state::counter(c, 2));
                len <= h && start < h && super::state::counter(c, 0) <= super::state::MAX_STEPS
            },
            &mut self.buf.as_mut()[..len],
            bytes,
        )?;
        let buf = &self.buf.as_ref()[..len];
        self.cfg.lr = groups[0].lr;
        self.sc = Scalars {
            n_iter: steps,
            func_evals: counters[0],
            t: buf[len - TAIL],
            h_diag: buf[len - TAIL + 1],
            hist_len: counters[1] as usize,
            hist_start: counters[2] as usize,
        };
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl<T: Float> Lbfgs<T, alloc::vec::Vec<T>> {
    /// [`Lbfgs::new`] with an owned buffer.
    pub fn owned(config: LbfgsConfig, n_params: usize) -> Result<Self> {
        config.validate()?;
        let len = Self::buffer_len(&config, n_params);
        Self::new(config, n_params, alloc::vec![T::ZERO; len])
    }
}

/// Evaluate the closure at x + t d into the gradient slot; returns (loss, gᵀd).
#[allow(clippy::too_many_arguments)]
fn eval_at<T: Float, F: FnMut(&[T], &mut [T]) -> T>(
    closure: &mut F,
    x: &[T],
    t: T,
    d: &[T],
    x_trial: &mut [T],
    g_out: &mut [T],
) -> (T, T) {
    for ((xt, &xi), &di) in x_trial.iter_mut().zip(x).zip(d) {
        *xt = xi + t * di;
    }
    let f = closure(x_trial, g_out);
    (f, dot(g_out, d))
}

/// PyTorch's `_strong_wolfe` with c₁ = 1e-4, c₂ = 0.9, tolerance_change = 1e-9, max_ls = 25.
/// On return `g` holds the gradient at the accepted step; returns (loss, t, evaluations).
#[allow(clippy::too_many_arguments)]
fn strong_wolfe<T: Float, F: FnMut(&[T], &mut [T]) -> T>(
    closure: &mut F,
    x: &[T],
    mut t: T,
    d: &[T],
    f: T,
    g: &mut [T],
    gtd: T,
    x_trial: &mut [T],
    slots: &mut [&mut [T]; 3],
) -> (T, T, usize) {
    const MAX_LS: usize = 25;
    let c1 = T::from_f64(1e-4);
    let c2 = T::from_f64(0.9);
    let tol_change = T::from_f64(1e-9);
    let d_norm = max_abs(d);

    let mut g_new = GRef::Slot(0);
    let (mut f_new, mut gtd_new) = eval_at(closure, x, t, d, x_trial, slots[0]);
    let mut evals = 1usize;
    let (mut t_prev, mut f_prev, mut g_prev, mut gtd_prev) = (T::ZERO, f, GRef::Orig, gtd);
    let mut done = false;
    let mut ls_iter = 0usize;
    let mut br = [T::ZERO; 2];
    let mut br_f = [T::ZERO; 2];
    let mut br_g = [GRef::Orig; 2];
    let mut br_gtd = [T::ZERO; 2];
    let mut br_len = 0usize;
    while ls_iter < MAX_LS {
        let armijo_fails = f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev);
        if !armijo_fails && gtd_new.abs() <= -c2 * gtd {
            br[0] = t;
            br_f[0] = f_new;
            br_g[0] = g_new;
            br_len = 1;
            done = true;
            break;
        }
        if armijo_fails || gtd_new >= T::ZERO {
            br = [t_prev, t];
            br_f = [f_prev, f_new];
            br_g = [g_prev, g_new];
            br_gtd = [gtd_prev, gtd_new];
            br_len = 2;
            break;
        }
        let min_step = t + T::from_f64(0.01) * (t - t_prev);
        let max_step = t * T::from_f64(10.0);
        let tmp = t;
        t = cubic_interpolate(
            t_prev,
            f_prev,
            gtd_prev,
            t,
            f_new,
            gtd_new,
            Some((min_step, max_step)),
        );
        t_prev = tmp;
        f_prev = f_new;
        g_prev = g_new;
        gtd_prev = gtd_new;
        // A slot different from g_prev (the other of 0 / 1).
        let k = if g_prev == GRef::Slot(0) { 1 } else { 0 };
        g_new = GRef::Slot(k);
        (f_new, gtd_new) = eval_at(closure, x, t, d, x_trial, slots[k]);
        evals += 1;
        ls_iter += 1;
    }
    if ls_iter == MAX_LS {
        br = [T::ZERO, t];
        br_f = [f, f_new];
        br_g = [GRef::Orig, g_new];
        br_len = 2;
    }
    let last = br_len.saturating_sub(1);
    let (mut low, mut high) = if br_f[0] <= br_f[last] {
        (0, 1)
    } else {
        (1, 0)
    };
    let mut insuf = false;
    while !done && ls_iter < MAX_LS {
        if (br[1] - br[0]).abs() * d_norm < tol_change {
            break;
        }
        t = cubic_interpolate(br[0], br_f[0], br_gtd[0], br[1], br_f[1], br_gtd[1], None);
        let bmax = br[0].max(br[1]);
        let bmin = br[0].min(br[1]);
        let eps = T::from_f64(0.1) * (bmax - bmin);
        if (bmax - t).min(t - bmin) < eps {
            if insuf || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() {
                    bmax - eps
                } else {
                    bmin + eps
                };
                insuf = false;
            } else {
                insuf = true;
            }
        } else {
            insuf = false;
        }
        let k = (0..3)
            .find(|&k| br_g[0] != GRef::Slot(k) && br_g[1] != GRef::Slot(k))
            .unwrap_or(2);
        (f_new, gtd_new) = eval_at(closure, x, t, d, x_trial, slots[k]);
        evals += 1;
        ls_iter += 1;
        if f_new > f + c1 * t * gtd || f_new >= br_f[low] {
            br[high] = t;
            br_f[high] = f_new;
            br_g[high] = GRef::Slot(k);
            br_gtd[high] = gtd_new;
            (low, high) = if br_f[0] <= br_f[1] { (0, 1) } else { (1, 0) };
        } else {
            if gtd_new.abs() <= -c2 * gtd {
                done = true;
            } else if gtd_new * (br[high] - br[low]) >= T::ZERO {
                br[high] = br[low];
                br_f[high] = br_f[low];
                br_g[high] = br_g[low];
                br_gtd[high] = br_gtd[low];
            }
            br[low] = t;
            br_f[low] = f_new;
            br_g[low] = GRef::Slot(k);
            br_gtd[low] = gtd_new;
        }
    }
    if let GRef::Slot(k) = br_g[low] {
        g.copy_from_slice(slots[k]);
    }
    (br_f[low], br[low], evals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_interpolation_finds_the_minimum_of_a_cubic() {
        // f(x) = (x − 1)² has its minimum at 1; the cubic fit through (0, f, f') and
        // (3, f, f') is exact for a quadratic.
        let f = |x: f64| (x - 1.0) * (x - 1.0);
        let df = |x: f64| 2.0 * (x - 1.0);
        let t = cubic_interpolate(0.0, f(0.0), df(0.0), 3.0, f(3.0), df(3.0), None);
        assert!((t - 1.0).abs() < 1e-12);
        // Same with the points swapped, and clamped by bounds.
        let t = cubic_interpolate(3.0, f(3.0), df(3.0), 0.0, f(0.0), df(0.0), None);
        assert!((t - 1.0).abs() < 1e-12);
        let t = cubic_interpolate(0.0, f(0.0), df(0.0), 3.0, f(3.0), df(3.0), Some((2.0, 2.5)));
        assert_eq!(t, 2.0);
    }

    #[test]
    fn one_iteration_on_a_quadratic_without_line_search() {
        // f = ½ x², g = x: the first step is t = min(1, 1/|g|₁)·lr along −g.
        let cfg = LbfgsConfig::default().max_iter(1).history_size(2);
        let mut buf = [0.0f64; 17];
        let mut opt = Lbfgs::new(cfg, 1, &mut buf[..]).unwrap();
        let mut x = [4.0f64];
        let f0 = opt
            .step(&mut x, |x, g| {
                g[0] = x[0];
                0.5 * x[0] * x[0]
            })
            .unwrap();
        assert_eq!(f0, 8.0);
        assert_eq!(x[0], 4.0 - 0.25 * 4.0);
        assert_eq!((opt.n_iter(), opt.func_evals()), (1, 1));
    }
}
