//! Adafactor (`torch.optim.Adafactor`): relative step sizes and a second moment that is
//! factored into row and column means for matrices, so its state is `rows + cols` numbers per
//! matrix instead of `rows · cols`.

use super::fork::{tree_mut, tree_sum, Fork, Sequential};
use super::shape::{Shapes, TensorShape};
use super::stateful::{Optim, Rule};
use super::{check_lr, check_nonneg, maximum, powf64, Group, Lerp, OptimizerKind};
use crate::error::check_arg;
use crate::{Float, Result};

/// Adafactor hyperparameters (PyTorch names and defaults) and the parameters' tensor shapes.
///
/// Step t, per tensor θ (n elements, in a group with learning rate lr), g the gradient
/// (negated when `maximize`), ε₁ = `eps.0` (default: the machine epsilon of `T`):
///
/// ```text
/// β̂ = t^beta2_decay ;  ρ = min(lr, 1/√t) ;  α = max(eps.1, ‖θ‖₂/√n) · ρ
/// θ ← θ (1 − lr · wd)                                          (if wd ≠ 0)
/// matrix [R, C]:  r ← lerp(r, (‖g_i,:‖₂)²/C, β̂) ;  c ← lerp(c, (‖g_:,j‖₂)²/R, β̂)
///                 v̂_ij = r_i c_j / max(mean(r), ε₁)
/// vector:         v ← lerp(v, g², β̂) ;  v̂ = v
/// u = g / √max(v̂, ε₁²) ;  θ ← θ − α / max(1, ‖u‖₂ / (√n · d)) · u
/// ```
///
/// The tensors are given with [`shapes`](Self::shapes) (default: none, each parameter group
/// is one vector tensor); they must lie back to back, cover the parameters and not cross a
/// group boundary. Norms and means are summed in f64; the scalar coefficients are f64 (Python
/// floats), as in PyTorch's single-tensor code. State: per matrix `r` (R elements) then `c` (C), per
/// vector `v` (n), in tensor order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdafactorConfig {
    /// Learning rate: the cap on the relative step size ρ (default 1e-2).
    pub lr: f64,
    /// Exponent of the second moment's decay, `1 − β₂(t) = t^beta2_decay` (default −0.8;
    /// must be <= 0).
    pub beta2_decay: f64,
    /// (ε₁, ε₂): the floor of the variance estimate (`None`: the machine epsilon of the
    /// parameters' type) and of a tensor's RMS in α (default (None, 1e-3)).
    pub eps: (Option<f64>, f64),
    /// Clipping threshold of the update's RMS (default 1; must be >= 1).
    pub d: f64,
    /// Decoupled weight decay (default 0).
    pub weight_decay: f64,
    /// Maximize the objective (default false).
    pub maximize: bool,
    /// The parameter tensors (default: none given, one vector).
    pub shapes: Shapes,
}

impl Default for AdafactorConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            beta2_decay: -0.8,
            eps: (None, 1e-3),
            d: 1.0,
            weight_decay: 0.0,
            maximize: false,
            shapes: Shapes::default(),
        }
    }
}

setters!(AdafactorConfig {
    lr: f64,
    beta2_decay: f64,
    eps: (Option<f64>, f64),
    d: f64,
    weight_decay: f64,
    maximize: bool,
    shapes: Shapes,
});

/// `torch.optim.Adafactor` (see [`AdafactorConfig`] for the formula).
pub type Adafactor<T, S> = Optim<T, AdafactorConfig, S>;

/// State elements of one tensor: `rows + cols` for a matrix, `n` for a vector.
fn state_of(s: TensorShape) -> usize {
    match s {
        TensorShape::Matrix(r, c) => r.saturating_add(c),
        other => other.numel(),
    }
}

impl Rule for AdafactorConfig {
    const KIND: OptimizerKind = OptimizerKind::Adafactor;

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_arg(
            self.beta2_decay <= 0.0 && self.beta2_decay.is_finite(),
            "beta2_decay",
            self.beta2_decay,
            "finite and <= 0",
        )?;
        if let Some(e1) = self.eps.0 {
            check_nonneg("eps[0]", e1)?;
        }
        check_nonneg("eps[1]", self.eps.1)?;
        check_arg(
            self.d >= 1.0 && self.d.is_finite(),
            "d",
            self.d,
            "finite and >= 1",
        )?;
        check_nonneg("weight_decay", self.weight_decay)
    }
    fn validate_layout(&self, n: usize, groups: &[Group]) -> Result<()> {
        if self.shapes.is_empty() {
            return Ok(());
        }
        self.shapes.check_cover(n, groups)
    }
    fn base_lr(&self) -> f64 {
        self.lr
    }
    fn base_weight_decay(&self) -> f64 {
        self.weight_decay
    }
    /// One buffer for vector tensors; matrices keep `rows + cols` ([`Rule::state_len`]).
    fn slots(&self) -> usize {
        1
    }
    fn state_len(&self, n: usize) -> usize {
        if self.shapes.is_empty() {
            return n;
        }
        self.shapes
            .as_slice()
            .iter()
            .fold(0usize, |a, &s| a.saturating_add(state_of(s)))
    }
    fn update<T: Float>(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        self.update_with(Sequential, t, groups, params, grads, state);
    }
}

/// Elements of a vector tensor per block (the unit of its sums and parallel parts).
const VBLOCK: usize = 1024;
/// Columns of a matrix per column-sum block (an f64 accumulator each, on the stack).
const CBLOCK: usize = 64;
/// Elements per leaf of the work tree (smaller tensors run as one leaf).
const LEAF: usize = 1 << 14;

/// Leaf size in blocks of `bl` elements.
fn leaf_of(bl: usize) -> usize {
    (LEAF / bl.max(1)).max(1)
}

impl AdafactorConfig {
    /// [`Rule::update`] with `fork` running the independent parts (rows, column blocks, blocks
    /// of a vector) and the tree of partial sums; the tree's shape depends only on the
    /// tensors' sizes, so every [`Fork`] gives the bits of [`Sequential`]. descent-kernels
    /// passes rayon's `join` and its vector dispatch.
    ///
    /// Sums of squares are in f64: eight interleaved partial sums within a row or a block of
    /// 1024 elements; rows / blocks added in order within leaves of about 16384 elements and
    /// the leaves pairwise; a column's in row order; the mean of a matrix's row variances in
    /// order.
    pub fn update_with<T: Float, F: Fork>(
        &self,
        fork: F,
        t: u64,
        groups: &[Group],
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let step = t as f64;
        let k = Consts {
            lerp: Lerp::<T>::new(powf64(step, self.beta2_decay)),
            eps1: self.eps.0.unwrap_or(T::EPSILON.to_f64()),
            sign: if self.maximize { -T::ONE } else { T::ONE },
            step,
        };
        if self.shapes.is_empty() {
            // Each group is one vector tensor.
            for grp in groups {
                let r = grp.range();
                let tensor = Tensor {
                    p: &mut params[r.clone()],
                    g: &grads[r.clone()],
                    state: &mut state[r],
                    shape: TensorShape::Vector(grp.len),
                };
                self.tensor_step(fork, tensor, grp, &k);
            }
            return;
        }
        let (mut at, mut st, mut gi) = (0usize, 0usize, 0usize);
        for &shape in self.shapes.as_slice() {
            let (n, s_len) = (shape.numel(), state_of(shape));
            // The tensor's group: tensors never cross a group boundary (validate_layout).
            while groups[gi].start + groups[gi].len <= at && gi + 1 < groups.len() {
                gi += 1;
            }
            let tensor = Tensor {
                p: &mut params[at..at + n],
                g: &grads[at..at + n],
                state: &mut state[st..st + s_len],
                shape,
            };
            self.tensor_step(fork, tensor, &groups[gi], &k);
            at += n;
            st += s_len;
        }
    }
}

/// One step's constants shared by the tensors.
struct Consts<T> {
    lerp: Lerp<T>,
    eps1: f64,
    sign: T,
    step: f64,
}

/// One tensor's slices for a step.
struct Tensor<'a, T> {
    p: &'a mut [T],
    g: &'a [T],
    state: &'a mut [T],
    shape: TensorShape,
}

/// Σ f(a_k, b_k)² in f64 over eight interleaved partial sums (term k into sum k mod 8),
/// combined pairwise; `a` and `b` have the same length.
#[inline(always)]
fn sumsq8_pairs<T: Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for ((s, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            let u = f(x, y).to_f64();
            *s += u * u;
        }
    }
    for ((s, &x), &y) in acc.iter_mut().zip(ar).zip(br) {
        let u = f(x, y).to_f64();
        *s += u * u;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// Σ x² of a slice, as [`sumsq8_pairs`].
#[inline(always)]
fn sumsq8_slice<T: Float>(x: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            let v = v.to_f64();
            *a += v * v;
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        let v = v.to_f64();
        *a += v * v;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// A norm of PyTorch's from its f64 sum of squares: rounded to `T` (a tensor of the
/// parameters' type), as f64. (`Float::sqrt` is correctly rounded, so Python's `x ** 0.5`
/// below, a correctly rounded `pow`, gives the same value.)
#[inline(always)]
fn norm_of<T: Float>(sumsq: f64) -> f64 {
    T::from_f64(Float::sqrt(sumsq)).to_f64()
}

/// The factored path's per-element `u = g / √max(r_i c_j / den, ε₁²)`.
#[derive(Clone, Copy)]
struct RowU<T> {
    den: T,
    floor: T,
    sign: T,
}

/// The unfactored path's per-element `u = g / √max(v, ε₁²)`.
#[derive(Clone, Copy)]
struct VecU<T> {
    floor: T,
    sign: T,
}

impl<T: Float> VecU<T> {
    #[inline(always)]
    fn u(&self, g: T, v: T) -> T {
        g * self.sign / maximum(v, self.floor).sqrt()
    }
}

impl<T: Float> RowU<T> {
    #[inline(always)]
    fn u(&self, g: T, ri: T, cj: T) -> T {
        g * self.sign / maximum(ri * cj / self.den, self.floor).sqrt()
    }
}

impl AdafactorConfig {
    fn tensor_step<T: Float, F: Fork>(
        &self,
        fork: F,
        x: Tensor<'_, T>,
        group: &Group,
        k: &Consts<T>,
    ) {
        let Tensor { p, g, state, shape } = x;
        let n = p.len();
        let lr = group.lr;
        let rho = {
            let inv = 1.0 / Float::sqrt(k.step);
            // Python's min(lr, inv): the first unless the second is smaller.
            if inv < lr {
                inv
            } else {
                lr
            }
        };
        let root_n = Float::sqrt(n as f64);
        let floor = T::from_f64(k.eps1 * k.eps1);
        let decay = if group.weight_decay != 0.0 {
            T::from_f64(1.0 - lr * group.weight_decay)
        } else {
            // θ · 1 is θ exactly.
            T::ONE
        };
        let sign = k.sign;
        let lerp = k.lerp;
        match shape {
            TensorShape::Matrix(rows, cols) => {
                let leaf = leaf_of(cols);
                let pn = tree_sum(
                    fork,
                    0,
                    rows,
                    leaf,
                    #[inline(always)]
                    |i| sumsq8_slice(&p[i * cols..(i + 1) * cols]),
                );
                let alpha = self.alpha(norm_of::<T>(pn) / root_n, rho);
                let (r, c) = state.split_at_mut(rows);
                let (cols_t, rows_t) = (T::from_f64(cols as f64), T::from_f64(rows as f64));
                tree_mut(
                    fork,
                    r,
                    1,
                    leaf,
                    #[inline(always)]
                    |i0, rs: &mut [T]| {
                        for (ri, grow) in rs.iter_mut().zip(g[i0 * cols..].chunks_exact(cols)) {
                            let nr = T::from_f64(norm_of::<T>(sumsq8_slice(grow)));
                            *ri = lerp.apply(*ri, nr * nr / cols_t);
                        }
                    },
                );
                let col_leaf = (LEAF / (CBLOCK * rows).max(1)).max(1);
                tree_mut(
                    fork,
                    c,
                    CBLOCK,
                    col_leaf,
                    #[inline(always)]
                    |b0, cs: &mut [T]| {
                        for (b, cb) in cs.chunks_mut(CBLOCK).enumerate() {
                            let j0 = (b0 + b) * CBLOCK;
                            let mut acc = [0.0f64; CBLOCK];
                            for grow in g.chunks_exact(cols) {
                                for (a, &v) in acc.iter_mut().zip(&grow[j0..j0 + cb.len()]) {
                                    let v = v.to_f64();
                                    *a += v * v;
                                }
                            }
                            for (cj, &a) in cb.iter_mut().zip(&acc) {
                                let nc = T::from_f64(norm_of::<T>(a));
                                *cj = lerp.apply(*cj, nc * nc / rows_t);
                            }
                        }
                    },
                );
                let (r, c) = (&*r, &*c);
                let mean = r.iter().fold(0.0, |s, x| s + x.to_f64()) / rows as f64;
                let ru = RowU {
                    den: maximum(T::from_f64(mean), T::from_f64(k.eps1)),
                    floor,
                    sign,
                };
                let un = tree_sum(
                    fork,
                    0,
                    rows,
                    leaf,
                    #[inline(always)]
                    |i| {
                        let grow = &g[i * cols..(i + 1) * cols];
                        let ri = r[i];
                        sumsq8_pairs(
                            grow,
                            c,
                            #[inline(always)]
                            |gij, cj| ru.u(gij, ri, cj),
                        )
                    },
                );
                let scale = T::from_f64(-alpha / clip(norm_of::<T>(un), root_n, self.d));
                // `u` is computed again here rather than kept from the norm pass: keeping it
                // would need a parameter-sized buffer (descent-core allocates nothing, and
                // PyTorch's `state` has none), and storing and re-reading it moves 8 bytes per
                // element where recomputing costs one division and one square root.
                tree_mut(
                    fork,
                    p,
                    cols,
                    leaf,
                    #[inline(always)]
                    |i0, ps: &mut [T]| {
                        let rows_here = ps.chunks_exact_mut(cols);
                        let grows = g[i0 * cols..].chunks_exact(cols);
                        for ((prow, grow), &ri) in rows_here.zip(grows).zip(&r[i0..]) {
                            for ((p, &gij), &cj) in prow.iter_mut().zip(grow).zip(c) {
                                *p = *p * decay + scale * ru.u(gij, ri, cj);
                            }
                        }
                    },
                );
            }
            _ => {
                let leaf = leaf_of(VBLOCK);
                let blocks = n.div_ceil(VBLOCK);
                let block = |b: usize| b * VBLOCK..((b + 1) * VBLOCK).min(n);
                let pn = tree_sum(
                    fork,
                    0,
                    blocks,
                    leaf,
                    #[inline(always)]
                    |b| sumsq8_slice(&p[block(b)]),
                );
                let alpha = self.alpha(norm_of::<T>(pn) / root_n, rho);
                tree_mut(
                    fork,
                    state,
                    VBLOCK,
                    leaf,
                    #[inline(always)]
                    |b0, vs: &mut [T]| {
                        for (v, &g) in vs.iter_mut().zip(&g[b0 * VBLOCK..]) {
                            let g = g * sign;
                            *v = lerp.apply(*v, g * g);
                        }
                    },
                );
                let v = &*state;
                let vu = VecU { floor, sign };

                let un = tree_sum(
                    fork,
                    0,
                    blocks,
                    leaf,
                    #[inline(always)]
                    |b| {
                        let r = block(b);
                        sumsq8_pairs(
                            &g[r.clone()],
                            &v[r],
                            #[inline(always)]
                            |gk, vk| vu.u(gk, vk),
                        )
                    },
                );
                let scale = T::from_f64(-alpha / clip(norm_of::<T>(un), root_n, self.d));
                tree_mut(
                    fork,
                    p,
                    VBLOCK,
                    leaf,
                    #[inline(always)]
                    |b0, ps: &mut [T]| {
                        let at = b0 * VBLOCK;
                        for ((p, &gk), &vk) in ps.iter_mut().zip(&g[at..]).zip(&v[at..]) {
                            *p = *p * decay + scale * vu.u(gk, vk);
                        }
                    },
                );
            }
        }
    }

    /// α = max(eps.1, rms) · ρ with Python's `max` (the first unless the second is larger).
    fn alpha(&self, rms: f64, rho: f64) -> f64 {
        (if rms > self.eps.1 { rms } else { self.eps.1 }) * rho
    }
}

/// `max(1, ‖u‖ / (√n · d))` with Python's `max` (NaN gives 1).
fn clip(un: f64, root_n: f64, d: f64) -> f64 {
    let q = un / (root_n * d);
    if q > 1.0 {
        q
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{GroupSpec, Optimizer};

    fn shapes(s: &[TensorShape]) -> Shapes {
        Shapes::new(s).unwrap()
    }

    #[test]
    fn a_matrix_keeps_rows_plus_cols() {
        let cfg = AdafactorConfig::default()
            .shapes(shapes(&[TensorShape::Matrix(3, 4), TensorShape::Vector(3)]));
        assert_eq!(cfg.state_len(15), 3 + 4 + 3);
        assert_eq!(AdafactorConfig::default().state_len(15), 15);
    }

    #[test]
    fn first_step_moves_by_alpha_along_the_sign() {
        // Step 1: β̂ = 1, so v = g²; u = sign(g) (|g| ≫ ε₁); ‖u‖/√n = 1: no clipping;
        // α = max(1e-3, RMS(θ)) · min(lr, 1).
        let mut st = [0.0f64; 2];
        let mut opt = Adafactor::new(AdafactorConfig::default().lr(0.5), 2, &mut st[..]).unwrap();
        let mut p = [3.0f64, -4.0];
        opt.step(&mut p, &[2.0, -0.5]).unwrap();
        let alpha = (12.5f64).sqrt() * 0.5;
        assert!((p[0] - (3.0 - alpha)).abs() < 1e-12 && (p[1] - (-4.0 + alpha)).abs() < 1e-12);
    }

    #[test]
    fn a_rank_one_matrix_is_factored_exactly() {
        // g_ij = a_i b_j: the factored estimate r_i c_j / mean(r) equals g_ij² at step 1,
        // so the update is sign(g) like the unfactored one.
        let (a, b) = ([1.0f64, 2.0], [0.5f64, -1.0, 3.0]);
        let g: [f64; 6] = core::array::from_fn(|k| a[k / 3] * b[k % 3]);
        let run = |s: Shapes| {
            let cfg = AdafactorConfig::default().shapes(s);
            let mut st = [0.0f64; 6];
            let mut opt = Adafactor::new(cfg, 6, &mut st[..]).unwrap();
            let mut p = [1.0f64; 6];
            opt.step(&mut p, &g).unwrap();
            p
        };
        let f = run(shapes(&[TensorShape::Matrix(2, 3)]));
        let v = run(shapes(&[TensorShape::Vector(6)]));
        for (x, y) in f.iter().zip(&v) {
            assert!((x - y).abs() < 1e-12, "{f:?} vs {v:?}");
        }
    }

    #[test]
    #[cfg(feature = "alloc")]
    fn layouts_are_checked() {
        let two = shapes(&[TensorShape::Matrix(2, 2), TensorShape::Vector(2)]);
        let cfg = AdafactorConfig::default().shapes(two);
        assert!(Adafactor::<f32, _>::owned(cfg, 6).is_ok());
        assert!(Adafactor::<f32, _>::owned(cfg, 7).is_err());
        let g = [GroupSpec::new(4), GroupSpec::new(2)];
        assert!(Adafactor::<f32, _>::owned_with_groups(cfg, &g).is_ok());
        let g = [GroupSpec::new(3), GroupSpec::new(3)];
        assert!(Adafactor::<f32, _>::owned_with_groups(cfg, &g).is_err());
        let g = [GroupSpec::new(4), GroupSpec::new(0), GroupSpec::new(2)];
        assert!(Adafactor::<f32, _>::owned_with_groups(cfg, &g).is_ok());
        assert!(Adafactor::<f32, _>::owned_with_groups(AdafactorConfig::default(), &g).is_ok());
        // A layout claiming more elements than there are is refused before any allocation.
        let huge = shapes(&[TensorShape::Matrix(usize::MAX / 2, 4)]);
        let cfg = AdafactorConfig::default().shapes(huge);
        assert!(Adafactor::<f32, _>::owned(cfg, 8).is_err());
    }

    #[test]
    fn hyperparameters_are_checked() {
        let ok = AdafactorConfig::default();
        assert!(ok.validate().is_ok());
        assert!(ok.beta2_decay(0.1).validate().is_err());
        assert!(ok.d(0.5).validate().is_err());
        assert!(ok.eps((Some(-1.0), 1e-3)).validate().is_err());
        assert!(ok.eps((None, f64::NAN)).validate().is_err());
        assert!(ok.weight_decay(-1.0).validate().is_err());
        assert!(ok.lr(f64::INFINITY).validate().is_err());
    }
}
