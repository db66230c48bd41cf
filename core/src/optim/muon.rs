//! Muon (`torch.optim.Muon`): momentum SGD whose update for each weight matrix is replaced by
//! an approximately orthogonal matrix, the Newton–Schulz iteration's "zeroth power" of the
//! momentum.

use super::shape::{Shapes, TensorShape};
use super::stateful::{Optim, Rule};
use super::{check_lr, check_nonneg, Group, Lerp, OptimizerKind};
use crate::error::check_arg;
use crate::ops::{Ops, Reference};
use crate::{Float, Result};

/// PyTorch's `adjust_lr_fn`: how the learning rate is scaled for a `[A, B]` matrix (`A` =
/// rows = fan-out, `B` = columns = fan-in for `nn.Linear`'s weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdjustLr {
    /// `None` / `"original"` (Keller Jordan's): `lr · √max(1, A/B)`.
    #[default]
    Original,
    /// `"match_rms_adamw"` (Moonshot's): `lr · 0.2 · √max(A, B)`, so that the update's RMS
    /// matches AdamW's and AdamW's lr and weight decay carry over.
    MatchRmsAdamW,
    /// `"spectral_unclamped"` (Bernstein's): `lr · √(A/B)`.
    SpectralUnclamped,
}

impl AdjustLr {
    /// PyTorch's name (`"original"`, `"match_rms_adamw"`, `"spectral_unclamped"`).
    pub fn name(self) -> &'static str {
        match self {
            AdjustLr::Original => "original",
            AdjustLr::MatchRmsAdamW => "match_rms_adamw",
            AdjustLr::SpectralUnclamped => "spectral_unclamped",
        }
    }

    /// The variant named `s` (PyTorch's names; `"None"` is [`Original`](Self::Original)).
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "original" | "None" | "none" => AdjustLr::Original,
            "match_rms_adamw" => AdjustLr::MatchRmsAdamW,
            "spectral_unclamped" => AdjustLr::SpectralUnclamped,
            _ => return None,
        })
    }

    /// The adjusted learning rate for a `[rows, cols]` matrix, in `f64` as Python computes it.
    pub fn apply(self, lr: f64, rows: usize, cols: usize) -> f64 {
        let (a, b) = (rows as f64, cols as f64);
        let ratio = match self {
            AdjustLr::Original => <f64 as Float>::sqrt(if a / b > 1.0 { a / b } else { 1.0 }),
            AdjustLr::MatchRmsAdamW => 0.2 * <f64 as Float>::sqrt(if a > b { a } else { b }),
            AdjustLr::SpectralUnclamped => <f64 as Float>::sqrt(a / b),
        };
        lr * ratio
    }
}

/// The arithmetic of the Newton–Schulz iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NsPrecision {
    /// PyTorch's: the matrices are `bfloat16`. Every intermediate (the input, the normalized
    /// matrix, each product `X Xᵀ`, `b A + c A²`, `a X + B X`) is rounded to `bfloat16`
    /// ([`Float::round_bf16`]) after being computed in `T` (PyTorch's CPU kernels accumulate a
    /// `bfloat16` product in `f32` and round it once). Agreement with PyTorch is to `bfloat16`
    /// rounding (a product's accumulation order can flip a rounding), not bit for bit.
    #[default]
    Bf16,
    /// The iteration in the parameters' own type `T` (no `bfloat16` rounding): closer to the
    /// exact polynomial, and what PyTorch's algorithm computes when run in `f32` / `f64`.
    Native,
}

/// Muon hyperparameters (PyTorch names and defaults) and the parameters' matrix shapes.
///
/// Step t, for each weight matrix θ of shape `[A, B]` in a group with learning rate lr and
/// weight decay λ, g its gradient, B the momentum buffer (zeros at the start):
///
/// ```text
/// B ← lerp(B, g, 1 − momentum)              (= momentum·B + (1 − momentum)·g)
/// U ← lerp(g, B, momentum)  if nesterov,  else  U ← B
/// X ← U (Uᵀ if A > B) ;  X ← X / max(‖X‖_F, eps)
/// ns_steps times:  A₁ ← X Xᵀ ;  B₁ ← b A₁ + c A₁ A₁ ;  X ← a X + B₁ X     ((a, b, c) = ns_coefficients)
/// O ← X (Xᵀ if A > B)
/// θ ← θ · (1 − lr·λ) ;  θ ← θ − adjust_lr_fn(lr, A, B) · O
/// ```
///
/// The products run through an [`Ops`] implementation ([`Reference`] for [`Rule::update`];
/// descent-kernels runs them through its SGEMM), the two symmetric ones (`X Xᵀ`, `A₁ A₁`) on
/// their upper triangle in blocks of 256 rows and mirrored, in working memory after the momentum buffers
/// ([`Rule::scratch_len`]: `2 m k + 2 m²` elements for the largest matrix, `m ≤ k` its sides),
/// so a step allocates nothing. The iteration runs in `bfloat16` as PyTorch's
/// ([`NsPrecision::Bf16`], the default) or in `T` ([`NsPrecision::Native`]).
///
/// Every parameter must belong to a matrix, as PyTorch's Muon accepts only 2-D parameters:
/// [`shapes`](Self::shapes) lists them back to back, covering the parameters, no matrix
/// crossing a group boundary (no shapes: no parameters). Biases and other vectors go to another optimizer (PyTorch's
/// documentation pairs Muon with AdamW). State: the momentum buffer, one element per
/// parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MuonConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Decoupled weight decay λ (default 0.1).
    pub weight_decay: f64,
    /// Momentum factor (default 0.95; >= 0).
    pub momentum: f64,
    /// Nesterov momentum (default true).
    pub nesterov: bool,
    /// (a, b, c) of the quintic Newton–Schulz polynomial `a x + b x³ + c x⁵` (default
    /// (3.4445, −4.7750, 2.0315), Keller Jordan's).
    pub ns_coefficients: (f64, f64, f64),
    /// Floor of the Frobenius norm the input is divided by (default 1e-7).
    pub eps: f64,
    /// Newton–Schulz iterations (default 5; below 100, as PyTorch requires).
    pub ns_steps: u32,
    /// The learning-rate adjustment for the matrix's shape (default [`AdjustLr::Original`]).
    pub adjust_lr_fn: AdjustLr,
    /// The iteration's arithmetic (default [`NsPrecision::Bf16`], PyTorch's; not a PyTorch
    /// argument).
    pub ns_precision: NsPrecision,
    /// The parameters' matrices (required).
    pub shapes: Shapes,
}

impl Default for MuonConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            weight_decay: 0.1,
            momentum: 0.95,
            nesterov: true,
            ns_coefficients: (3.4445, -4.7750, 2.0315),
            eps: 1e-7,
            ns_steps: 5,
            adjust_lr_fn: AdjustLr::Original,
            ns_precision: NsPrecision::Bf16,
            shapes: Shapes::default(),
        }
    }
}

setters!(MuonConfig {
    lr: f64,
    weight_decay: f64,
    momentum: f64,
    nesterov: bool,
    ns_coefficients: (f64, f64, f64),
    eps: f64,
    ns_steps: u32,
    adjust_lr_fn: AdjustLr,
    ns_precision: NsPrecision,
    shapes: Shapes,
});

/// `torch.optim.Muon` (see [`MuonConfig`] for the formula).
pub type Muon<T, S> = Optim<T, MuonConfig, S>;

/// The sides `(m, k)`, `m <= k`, of the matrix the iteration runs on for a `[rows, cols]`
/// parameter, and whether that is the transpose.
fn sides(rows: usize, cols: usize) -> (usize, usize, bool) {
    if rows > cols {
        (cols, rows, true)
    } else {
        (rows, cols, false)
    }
}

/// Scratch elements for one `[rows, cols]` matrix: X and its successor (`m k` each), X Xᵀ and
/// the polynomial's matrix (`m²` each).
fn scratch_of(rows: usize, cols: usize) -> usize {
    let (m, k, _) = sides(rows, cols);
    let mk = m.saturating_mul(k);
    let mm = m.saturating_mul(m);
    mk.saturating_add(mk).saturating_add(mm).saturating_add(mm)
}

impl Rule for MuonConfig {
    const KIND: OptimizerKind = OptimizerKind::Muon;

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_nonneg("weight_decay", self.weight_decay)?;
        check_nonneg("momentum", self.momentum)?;
        let (a, b, c) = self.ns_coefficients;
        check_arg(
            a.is_finite() && b.is_finite() && c.is_finite(),
            "ns_coefficients",
            if a.is_finite() { b } else { a },
            "three finite numbers",
        )?;
        check_nonneg("eps", self.eps)?;
        check_arg(
            self.ns_steps < 100,
            "ns_steps",
            self.ns_steps as f64,
            "below 100 (PyTorch's limit)",
        )
    }
    fn validate_layout(&self, n: usize, groups: &[Group]) -> Result<()> {
        check_arg(
            !self.shapes.is_empty() || n == 0,
            "shapes",
            0.0,
            "the parameters' matrices (Muon updates 2-D parameters only)",
        )?;
        for (i, s) in self.shapes.as_slice().iter().enumerate() {
            check_arg(
                matches!(s, TensorShape::Matrix(..)),
                "shapes",
                i as f64,
                "matrices only: Muon updates 2-D parameters (the value is the index of a vector; give biases to another optimizer)",
            )?;
        }
        self.shapes.check_cover(n, groups)
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        self.weight_decay
    }
    /// The momentum buffer.
    fn slots(&self) -> usize {
        1
    }
    fn scratch_len(&self, _n: usize) -> usize {
        self.shapes
            .as_slice()
            .iter()
            .map(|&s| match s {
                TensorShape::Matrix(r, c) => scratch_of(r, c),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
    /// PyTorch's schedulers cycle Muon's `momentum` (its defaults have that key).
    fn momentum(&self) -> Option<f64> {
        Some(self.momentum)
    }
    fn set_momentum(&mut self, momentum: f64) -> Result<()> {
        check_nonneg("momentum", momentum)?;
        self.momentum = momentum;
        Ok(())
    }
    fn update<T: Float>(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        self.update_with(&Reference, t, groups, params, grads, state);
    }
}

/// Rows per block of [`sym_product`]: 256-row products keep SGEMM's parallel split
/// efficient; 128 saved more multiply-adds but lost on 2 threads (784-512-512-10 weights,
/// native, alternating with the full products: 128 took 13% less time on 1 thread and 5% more
/// on 2, 256 8% less on both; BENCHMARKS.md).
const SYM_BLOCK: usize = 256;

/// `C ← alpha X Xᵀ + beta C` for an `m x k` matrix X and a symmetric `m x m` C (row-major,
/// dense): each block of [`SYM_BLOCK`] rows `i0..i1` against the columns `i0..m` only (the
/// upper triangle and the diagonal blocks), then the lower triangle copied from the upper.
/// For large m that is about half the multiply-adds of the full product (`X Xᵀ` and, A
/// symmetric, `A A = A Aᵀ` are the Newton–Schulz step's two symmetric products), and the
/// result is exactly symmetric. One block (m <= 256) is the full product.
fn sym_product<T: Float, O: Ops<T> + ?Sized>(
    ops: &O,
    m: usize,
    k: usize,
    alpha: T,
    x: &[T],
    beta: T,
    c: &mut [T],
) {
    let mut i0 = 0;
    while i0 < m {
        let i1 = (i0 + SYM_BLOCK).min(m);
        let xs = &x[i0 * k..];
        ops.gemm(
            false,
            true,
            i1 - i0,
            m - i0,
            k,
            alpha,
            xs,
            k,
            xs,
            k,
            beta,
            &mut c[i0 * m + i0..],
            m,
        );
        i0 = i1;
    }
    for i in 1..m {
        for j in 0..i {
            c[i * m + j] = c[j * m + i];
        }
    }
}

impl MuonConfig {
    /// [`Rule::update`] with the products computed by `ops` (descent-kernels passes its fast
    /// SGEMM); `state` is the momentum buffer followed by the scratch, as [`Rule::update`]'s.
    pub fn update_with<T: Float, O: Ops<T> + ?Sized>(
        &self,
        ops: &O,
        _t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let n = params.len();
        let (bufs, scratch) = state.split_at_mut(n);
        let bf16 = self.ns_precision == NsPrecision::Bf16;
        let round = |x: T| if bf16 { x.round_bf16() } else { x };
        let into_buf = Lerp::<T>::new(1.0 - self.momentum);
        let nesterov = Lerp::<T>::new(self.momentum);
        let (ca, cb, cc) = self.ns_coefficients;
        let (ca, cb, cc) = (T::from_f64(ca), T::from_f64(cb), T::from_f64(cc));
        let eps = round(T::from_f64(self.eps));
        let mut start = 0;
        let mut gi = 0;
        for &shape in self.shapes.as_slice() {
            let TensorShape::Matrix(rows, cols) = shape else {
                continue; // validated: matrices only
            };
            let len = rows * cols;
            while gi + 1 < groups.len() && start >= groups[gi].start + groups[gi].len {
                gi += 1;
            }
            let grp = groups[gi];
            let p = &mut params[start..start + len];
            let g = &grads[start..start + len];
            let b = &mut bufs[start..start + len];
            start += len;

            // Momentum, then the matrix the iteration starts from, X (m x k, m <= k).
            for (bv, &gv) in b.iter_mut().zip(g) {
                *bv = into_buf.apply(*bv, gv);
            }
            let (m, k, tr) = sides(rows, cols);
            let (x, rest) = scratch.split_at_mut(m * k);
            let (y, rest) = rest.split_at_mut(m * k);
            let (a1, rest) = rest.split_at_mut(m * m);
            let b1 = &mut rest[..m * m];
            let (mut x, mut y) = (x, y);
            let u = |gv: T, bv: T| {
                round(if self.nesterov {
                    nesterov.apply(gv, bv)
                } else {
                    bv
                })
            };
            if tr {
                // Column j of U is row j of X (strided reads, once per step).
                for (j, xrow) in x.chunks_exact_mut(rows).enumerate() {
                    for (i, xv) in xrow.iter_mut().enumerate() {
                        *xv = u(g[i * cols + j], b[i * cols + j]);
                    }
                }
            } else {
                for ((xv, &gv), &bv) in x.iter_mut().zip(g).zip(b.iter()) {
                    *xv = u(gv, bv);
                }
            }

            // X / max(‖X‖_F, eps): the norm summed in f64 and rounded to T (then bf16).
            let ss: f64 = x.iter().map(|&v| v.to_f64() * v.to_f64()).sum();
            let norm = round(T::from_f64(<f64 as Float>::sqrt(ss)));
            let denom = if norm.is_nan() || norm >= eps {
                norm
            } else {
                eps
            };
            for v in x.iter_mut() {
                *v = round(*v / denom);
            }

            for _ in 0..self.ns_steps {
                // A₁ = X Xᵀ
                sym_product(ops, m, k, T::ONE, x, T::ZERO, a1);
                a1.iter_mut().for_each(|v| *v = round(*v));
                // B₁ = c A₁ A₁ᵀ + b A₁ (A₁ is symmetric)
                b1.copy_from_slice(a1);
                sym_product(ops, m, m, cc, a1, cb, b1);
                b1.iter_mut().for_each(|v| *v = round(*v));
                // X ← B₁ X + a X
                y.copy_from_slice(x);
                ops.gemm(false, false, m, k, m, T::ONE, b1, m, x, k, ca, y, k);
                y.iter_mut().for_each(|v| *v = round(*v));
                core::mem::swap(&mut x, &mut y);
            }

            // θ ← θ (1 − lr λ) − adjusted_lr · O
            let decay = T::from_f64(1.0 - grp.lr * grp.weight_decay);
            let neg = T::from_f64(-self.adjust_lr_fn.apply(grp.lr, rows, cols));
            let step = |pv: &mut T, o: T| *pv = *pv * decay + neg * o;
            if tr {
                for (i, prow) in p.chunks_exact_mut(cols).enumerate() {
                    for (j, pv) in prow.iter_mut().enumerate() {
                        step(pv, x[j * rows + i]);
                    }
                }
            } else {
                for (pv, &o) in p.iter_mut().zip(x.iter()) {
                    step(pv, o);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    fn shapes(s: &[TensorShape]) -> Shapes {
        Shapes::new(s).unwrap()
    }

    /// The blocked symmetric product equals the full one bit for bit with the reference
    /// products (each entry is the same dot product in the same order), across the block
    /// size (255, 256, 257 and 520 rows), with and without a beta term.
    #[test]
    fn sym_product_equals_the_full_product() {
        use alloc::vec::Vec;
        // Small shapes under Miri (an interpreter: CI's undefined-behaviour check).
        let shapes: &[(usize, usize)] = if cfg!(miri) {
            &[(1, 3), (5, 1), (9, 2)]
        } else {
            &[(1, 3), (5, 1), (255, 3), (256, 2), (257, 4), (520, 3)]
        };
        for &(m, k) in shapes {
            let x: Vec<f64> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f64 - 50.0) / 17.0)
                .collect();
            // A symmetric C for the beta term.
            let c0: Vec<f64> = (0..m * m)
                .map(|e| ((e / m + e % m) % 7) as f64 - 3.0)
                .collect();
            for (alpha, beta) in [(1.0, 0.0), (2.0315, -4.775)] {
                let mut full = c0.clone();
                Reference.gemm(
                    false, true, m, m, k, alpha, &x, k, &x, k, beta, &mut full, m,
                );
                let mut sym = c0.clone();
                sym_product(&Reference, m, k, alpha, &x, beta, &mut sym);
                assert!(
                    full.iter()
                        .zip(&sym)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "m = {m}, k = {k}"
                );
            }
        }
    }

    #[test]
    fn defaults_are_pytorchs() {
        let c = MuonConfig::default();
        assert_eq!(
            (c.lr, c.weight_decay, c.momentum, c.nesterov),
            (1e-3, 0.1, 0.95, true)
        );
        assert_eq!(c.ns_coefficients, (3.4445, -4.7750, 2.0315));
        assert_eq!((c.eps, c.ns_steps), (1e-7, 5));
        assert_eq!(c.adjust_lr_fn, AdjustLr::Original);
    }

    #[test]
    fn adjust_lr_matches_pytorch() {
        assert_eq!(AdjustLr::Original.apply(0.02, 100, 784), 0.02);
        assert_eq!(
            AdjustLr::Original.apply(0.02, 784, 100),
            0.02 * <f64 as Float>::sqrt(7.84)
        );
        assert_eq!(
            AdjustLr::MatchRmsAdamW.apply(0.02, 100, 784),
            0.02 * (0.2 * 28.0)
        );
        assert_eq!(
            AdjustLr::SpectralUnclamped.apply(0.02, 100, 400),
            0.02 * 0.5
        );
        for a in [
            AdjustLr::Original,
            AdjustLr::MatchRmsAdamW,
            AdjustLr::SpectralUnclamped,
        ] {
            assert_eq!(AdjustLr::from_name(a.name()), Some(a));
        }
        assert_eq!(AdjustLr::from_name("None"), Some(AdjustLr::Original));
        assert_eq!(AdjustLr::from_name("rms"), None);
    }

    #[test]
    fn layout_errors_name_shapes() {
        let v = [0.0f32; 64];
        let no = Muon::new(MuonConfig::default(), 6, v);
        assert!(matches!(
            no,
            Err(crate::Error::InvalidArgument { name: "shapes", .. })
        ));
        let vec = MuonConfig::default()
            .shapes(shapes(&[TensorShape::Matrix(2, 2), TensorShape::Vector(2)]));
        assert!(Muon::new(vec, 6, v).is_err());
        let short = MuonConfig::default().shapes(shapes(&[TensorShape::Matrix(2, 2)]));
        assert!(Muon::new(short, 6, v).is_err());
        let bad = MuonConfig::default().ns_steps(100);
        assert!(matches!(
            bad.validate(),
            Err(crate::Error::InvalidArgument {
                name: "ns_steps",
                ..
            })
        ));
        assert!(MuonConfig::default().momentum(-0.1).validate().is_err());
        assert!(MuonConfig::default()
            .ns_coefficients((1.0, f64::NAN, 1.0))
            .validate()
            .is_err());
    }

    #[test]
    fn scratch_is_counted_for_the_largest_matrix_and_not_exported() {
        let c = MuonConfig::default().shapes(shapes(&[
            TensorShape::Matrix(3, 5),
            TensorShape::Matrix(7, 2),
        ]));
        // [3, 5]: 2·15 + 2·9 = 48; [7, 2] runs transposed, m = 2: 2·14 + 2·4 = 36.
        assert_eq!(c.scratch_len(29), 48);
        assert_eq!(Muon::<f32, &mut [f32]>::state_len(&c, 29), 29 + 48);
        let mut buf = [0.0f32; 77];
        let mut o = Muon::new(c, 29, &mut buf[..]).unwrap();
        assert_eq!(o.state().len(), 29);
        let mut p = [0.5f32; 29];
        let g: [f32; 29] = core::array::from_fn(|i| (i as f32 * 0.37).sin());
        o.step(&mut p, &g).unwrap();
        let mut bytes = [0u8; 512];
        let len = o.export_state(&mut bytes).unwrap();
        assert_eq!(len, o.state_bytes_len());
        assert!(p.iter().all(|v| v.is_finite()) && p.iter().any(|&v| v != 0.5));
    }

    /// Native f64: the iteration's output has singular values near 1 (Keller Jordan's
    /// coefficients leave them in roughly [0.7, 1.2]), so ‖O‖_F² ≈ m.
    #[test]
    fn native_update_is_near_orthogonal() {
        let c = MuonConfig::default()
            .ns_precision(NsPrecision::Native)
            .weight_decay(0.0)
            .lr(1.0)
            .momentum(0.0)
            .nesterov(false)
            .shapes(shapes(&[TensorShape::Matrix(4, 9)]));
        let mut o = Muon::<f64, _>::owned(c, 36).unwrap();
        let mut p = [0.0f64; 36];
        let g: [f64; 36] =
            core::array::from_fn(|i| ((i * 7 % 11) as f64 - 5.0) * 0.3 + 0.01 * i as f64);
        // momentum 0 without nesterov: B = lerp(B, g, 1) = g, and θ = −O.
        o.step(&mut p, &g).unwrap();
        let fro2: f64 = p.iter().map(|v| v * v).sum();
        assert!((fro2 / 4.0 - 1.0).abs() < 0.35, "‖O‖² / m = {}", fro2 / 4.0);
        // O Oᵀ's off-diagonal entries are small next to the diagonal.
        for i in 0..4 {
            for j in 0..4 {
                let d: f64 = (0..9).map(|l| p[i * 9 + l] * p[j * 9 + l]).sum();
                if i == j {
                    assert!((0.4..1.6).contains(&d), "diag {d}");
                } else {
                    assert!(d.abs() < 0.3, "off-diagonal {d}");
                }
            }
        }
    }
}
