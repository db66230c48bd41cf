//! The multilayer perceptron (and its depth-0 special cases: linear and softmax regression).
#![allow(clippy::too_many_arguments)] // BLAS-style entry points: shapes, buffers and ops.

use super::argmax::argmax;
use super::init::{init_rng, init_uniform, linear_init_bound};
use super::params::{ParamInfo, ParamKind};
use crate::error::{check_arg, check_len, check_min_len};
use crate::sum::CascadeSum;
use crate::{Activation, Error, Float, Ops, Result};

/// Most layers (weight matrices) an [`Mlp`] may have.
pub const MAX_LAYERS: usize = 16;

/// What the last layer's output is trained for, and so which loss [`Mlp::loss_grad`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    /// Logits over `classes = dims.last()`, `CrossEntropyLoss` with mean reduction:
    /// `L = (1/B) sum_i -log softmax(z_i)[y_i]`.
    Classification,
    /// Real-valued outputs, `MSELoss` with mean reduction over all `B * out` elements:
    /// `L = (1/(B out)) sum_{i,j} (z_ij - t_ij)^2`.
    Regression,
}

/// A fully connected network `x -> z_1 = f(W_1 x + b_1) -> ... -> z_L = W_L z_{L-1} + b_L`
/// with activation `f` between layers (none after the last), in `nn.Linear` layout.
///
/// `dims = [in, hidden..., out]`: `dims.len() - 1` layers. With `dims = [in, out]` it is a
/// linear model (least squares for [`Task::Regression`], softmax regression for
/// [`Task::Classification`]).
///
/// Backward pass (closed form), with `delta_L = dL/dz_L` from the loss:
/// `dW_l = delta_l^T a_{l-1}`, `db_l = sum_i delta_l[i]`,
/// `delta_{l-1} = (delta_l W_l) * f'(a_{l-1})`, where `a_0 = x` and `a_l` are the
/// post-activation outputs (so `f'` is expressed through the output, see
/// [`Activation::backward`]; for the activations which
/// [`need the input`](Activation::needs_input), GELU, SiLU, Softplus, Mish, Hardswish,
/// Hardsigmoid among them, through the stored pre-activations,
/// [`Activation::backward_from_input`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mlp {
    dims: [usize; MAX_LAYERS + 1],
    n_dims: usize,
    act: Activation,
    bias: bool,
    task: Task,
}

impl Mlp {
    /// A network with layer widths `dims = [in, hidden..., out]` (at least 2, at most
    /// `MAX_LAYERS + 1` entries, all >= 1; `out >= 2` for classification), activation `act`
    /// between layers (its parameters [valid](Activation::validate)), biases when `bias`,
    /// trained for `task`.
    pub fn new(dims: &[usize], act: Activation, bias: bool, task: Task) -> Result<Self> {
        act.validate()?;
        check_arg(
            dims.len() >= 2 && dims.len() <= MAX_LAYERS + 1,
            "dims.len()",
            dims.len() as f64,
            "between 2 and MAX_LAYERS + 1 = 17 (input width, hidden widths..., output width)",
        )?;
        for &d in dims {
            check_arg(d >= 1, "dims[i]", d as f64, ">= 1")?;
        }
        let out = dims[dims.len() - 1];
        if task == Task::Classification {
            check_arg(
                out >= 2 && out <= u32::MAX as usize,
                "dims.last() (classes)",
                out as f64,
                ">= 2 classes",
            )?;
        }
        let mut d = [0usize; MAX_LAYERS + 1];
        d[..dims.len()].copy_from_slice(dims);
        let m = Mlp {
            dims: d,
            n_dims: dims.len(),
            act,
            bias,
            task,
        };
        // Guard the sizes the scratch and parameter arithmetic will compute.
        let mut total: usize = 0;
        for l in 0..m.layers() {
            let (o, i) = (m.dims[l + 1], m.dims[l]);
            let w = o.checked_mul(i).and_then(|w| w.checked_add(o));
            total = w
                .and_then(|w| total.checked_add(w))
                .ok_or(Error::InvalidArgument {
                    name: "dims",
                    value: o as f64,
                    expected: "a parameter count that fits in usize",
                })?;
        }
        Ok(m)
    }

    /// Linear least squares `y = W x + b` (`[in, out]`, MSE loss).
    pub fn linear(inputs: usize, outputs: usize, bias: bool) -> Result<Self> {
        Self::new(
            &[inputs, outputs],
            Activation::Identity,
            bias,
            Task::Regression,
        )
    }

    /// Softmax regression: logits `W x + b`, cross-entropy loss.
    pub fn softmax_regression(inputs: usize, classes: usize) -> Result<Self> {
        Self::new(
            &[inputs, classes],
            Activation::Identity,
            true,
            Task::Classification,
        )
    }

    /// Layer widths `[in, hidden..., out]`.
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.n_dims]
    }

    /// Number of weight matrices (`dims.len() - 1`).
    pub fn layers(&self) -> usize {
        self.n_dims - 1
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.dims[0]
    }

    /// Output width (classes for classification).
    pub fn outputs(&self) -> usize {
        self.dims[self.n_dims - 1]
    }

    /// The hidden activation.
    pub fn activation(&self) -> Activation {
        self.act
    }

    /// Whether layers have biases.
    pub fn has_bias(&self) -> bool {
        self.bias
    }

    /// The task (and so the loss).
    pub fn task(&self) -> Task {
        self.task
    }

    /// Total parameters: `sum_l out_l * in_l (+ out_l with bias)`.
    pub fn num_params(&self) -> usize {
        (0..self.layers())
            .map(|l| self.dims[l + 1] * self.dims[l] + if self.bias { self.dims[l + 1] } else { 0 })
            .sum()
    }

    /// The tensors in flat order, `layers.0.weight, layers.0.bias, layers.1.weight, ...`.
    pub fn params(&self) -> impl Iterator<Item = ParamInfo> + '_ {
        let bias = self.bias;
        let mut offset = 0usize;
        (0..self.layers()).flat_map(move |l| {
            let (rows, cols) = (self.dims[l + 1], self.dims[l]);
            let w = ParamInfo {
                layer: l,
                kind: ParamKind::Weight,
                offset,
                rows,
                cols,
            };
            offset += rows * cols;
            let b = bias.then(|| {
                let b = ParamInfo {
                    layer: l,
                    kind: ParamKind::Bias,
                    offset,
                    rows,
                    cols: 1,
                };
                offset += rows;
                b
            });
            core::iter::once(w).chain(b)
        })
    }

    /// Offsets of layer `l`'s weight and (if any) bias in the flat slice.
    fn layer_offsets(&self, l: usize) -> (usize, Option<usize>) {
        let mut off = 0;
        for j in 0..l {
            off += self.dims[j + 1] * self.dims[j] + if self.bias { self.dims[j + 1] } else { 0 };
        }
        let w = self.dims[l + 1] * self.dims[l];
        (off, self.bias.then_some(off + w))
    }

    /// Fill `params` with PyTorch's default `nn.Linear` init: every weight and bias of layer
    /// `l` drawn from `U(-1/sqrt(in_l), 1/sqrt(in_l))`, layer by layer (weight then bias), from
    /// `Xoshiro256PlusPlus::seed_from_u64(seed)`.
    pub fn init<T: Float>(&self, params: &mut [T], seed: u64) -> Result<()> {
        check_len("params", params.len(), self.num_params())?;
        let mut rng = init_rng(seed);
        for p in self.params() {
            let bound = linear_init_bound(self.dims[p.layer]);
            init_uniform(&mut params[p.range()], bound, &mut rng);
        }
        Ok(())
    }

    /// Scratch elements [`forward`](Self::forward), [`loss_grad`](Self::loss_grad) and
    /// [`loss_grad_with`](Self::loss_grad_with) need for a batch of `batch`: every layer's
    /// output plus two buffers for back-propagated deltas (which also hold the output
    /// gradient of a custom loss), `batch * (sum_{l>=1} dims[l] + max(2 max_{1<=l<L} dims[l],
    /// dims[L]))`; for an activation that [`needs its input`](Activation::needs_input)
    /// (GELU, SiLU, Softplus, Mish, Hardswish, Hardsigmoid, ...) also every hidden layer's
    /// pre-activation after them, `+ batch * sum_{1<=l<L} dims[l]`. Saturates at `usize::MAX`
    /// (a length no buffer has, so an overflowing batch is `BufferTooSmall`).
    pub fn scratch_len(&self, batch: usize) -> usize {
        let outs: usize = self.dims[1..self.n_dims].iter().sum();
        let pre = if self.act.needs_input() {
            self.hidden_sum()
        } else {
            0
        };
        outs.checked_add(self.delta_len(1))
            .and_then(|per_row| per_row.checked_add(pre))
            .and_then(|per_row| batch.checked_mul(per_row))
            .unwrap_or(usize::MAX)
    }

    /// `sum_{1<=l<L} dims[l]`, the hidden widths.
    fn hidden_sum(&self) -> usize {
        self.dims[1..self.n_dims - 1].iter().sum()
    }

    /// The delta buffers' length, `batch * max(2 max_{1<=l<L} dims[l], dims[L])`.
    fn delta_len(&self, batch: usize) -> usize {
        let hidden_max = self.dims[1..self.n_dims - 1]
            .iter()
            .copied()
            .max()
            .unwrap_or(0);
        batch * (2 * hidden_max).max(self.outputs())
    }

    /// Offset in the scratch of the hidden pre-activations (used when the activation
    /// [`needs its input`](Activation::needs_input)): after the outputs and the deltas.
    fn pre_offset(&self, batch: usize) -> usize {
        let outs: usize = self.dims[1..self.n_dims].iter().sum();
        batch * outs + self.delta_len(batch)
    }

    fn check_common<T: Float>(
        &self,
        params: &[T],
        x: &[T],
        batch: usize,
        scratch: &[T],
    ) -> Result<()> {
        check_len("params", params.len(), self.num_params())?;
        // Checked: a wrapped product could match a short `x` and reach the GEMM with `batch`
        // rows. Once `x` and `scratch` fit, every `batch * dims[l]` below fits too.
        match batch.checked_mul(self.inputs()) {
            Some(len) => check_len("x", x.len(), len)?,
            None => {
                return Err(Error::ShapeMismatch {
                    what: "x",
                    expected: usize::MAX,
                    got: x.len(),
                })
            }
        }
        check_min_len("scratch", scratch.len(), self.scratch_len(batch))
    }

    /// Forward pass without checks; returns the offset of the last layer's output in `scratch`.
    fn forward_unchecked<T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        batch: usize,
        scratch: &mut [T],
    ) -> usize {
        let mut in_off = usize::MAX; // usize::MAX: input is `x`
        let mut out_off = 0usize;
        let pre_base = self.pre_offset(batch);
        for l in 0..self.layers() {
            let (din, dout) = (self.dims[l], self.dims[l + 1]);
            let (w_off, b_off) = self.layer_offsets(l);
            let w = &params[w_off..w_off + dout * din];
            let bias = b_off.map(|o| &params[o..o + dout]);
            let act = if l + 1 == self.layers() {
                Activation::Identity
            } else {
                self.act
            };
            // Hidden layers of an activation that needs its input: the GEMM writes the
            // pre-activation to its own region (same offsets as the outputs, past
            // `pre_offset`), and the output is computed from it out of place.
            let keep = act.needs_input();
            let (head, pre) = scratch.split_at_mut(if keep { pre_base } else { scratch.len() });
            let (before, rest) = head.split_at_mut(out_off);
            let out = &mut rest[..batch * dout];
            let input: &[T] = if in_off == usize::MAX {
                x
            } else {
                &before[in_off..in_off + batch * din]
            };
            let mut z = if keep {
                Some(&mut pre[out_off..out_off + batch * dout])
            } else {
                None
            };
            // z (or out) = input (batch x din) * W^T (din x dout)
            ops.gemm(
                false,
                true,
                batch,
                dout,
                din,
                T::ONE,
                input,
                din,
                w,
                din,
                T::ZERO,
                z.as_deref_mut().unwrap_or(&mut *out),
                dout,
            );
            match z {
                Some(z) => ops.bias_act_keep(batch, dout, z, out, bias, act),
                None if bias.is_some() || act != Activation::Identity => {
                    ops.bias_act(batch, dout, out, bias, act)
                }
                None => {}
            }
            in_off = out_off;
            out_off += batch * dout;
        }
        in_off
    }

    /// Forward pass: returns the last layer's output (logits or predictions), `[batch, out]`,
    /// as a view into `scratch` (at least [`scratch_len`](Self::scratch_len)`(batch)` long).
    pub fn forward<'s, T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        batch: usize,
        scratch: &'s mut [T],
    ) -> Result<&'s [T]> {
        self.check_common(params, x, batch, scratch)?;
        let off = self.forward_unchecked(ops, params, x, batch, scratch);
        Ok(&scratch[off..off + batch * self.outputs()])
    }

    /// Classification: the loss `(1/B) sum_i -log softmax(z_i)[labels_i]` of the batch, and its
    /// gradient w.r.t. every parameter written to `grad` (same layout as `params`).
    pub fn loss_grad<T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        labels: &[u32],
        batch: usize,
        scratch: &mut [T],
        grad: &mut [T],
    ) -> Result<T> {
        self.check_classification(labels, batch)?;
        self.check_common(params, x, batch, scratch)?;
        check_len("grad", grad.len(), self.num_params())?;
        let out_off = self.forward_unchecked(ops, params, x, batch, scratch);
        let c = self.outputs();
        if batch == 0 {
            grad.iter_mut().for_each(|g| *g = T::ZERO);
            return Ok(T::NAN); // mean over an empty batch, as torch
        }
        let scale = T::ONE / T::from_usize(batch);
        let z = &mut scratch[out_off..out_off + batch * c];
        let total = ops.softmax_xent(batch, c, z, labels, scale);
        self.backward(ops, params, x, batch, scratch, grad, out_off);
        Ok(total * scale)
    }

    /// Regression: the loss `(1/(B out)) sum (z - t)^2` against `targets` `[batch, out]`, and its
    /// gradient w.r.t. every parameter written to `grad`.
    pub fn loss_grad_regression<T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        targets: &[T],
        batch: usize,
        scratch: &mut [T],
        grad: &mut [T],
    ) -> Result<T> {
        check_arg(
            self.task == Task::Regression,
            "task",
            0.0,
            "Task::Regression for loss_grad_regression (use loss_grad for classification)",
        )?;
        self.check_common(params, x, batch, scratch)?;
        check_len("targets", targets.len(), batch * self.outputs())?;
        check_len("grad", grad.len(), self.num_params())?;
        let out_off = self.forward_unchecked(ops, params, x, batch, scratch);
        let n = batch * self.outputs();
        if n == 0 {
            grad.iter_mut().for_each(|g| *g = T::ZERO);
            return Ok(T::NAN);
        }
        let inv = T::ONE / T::from_usize(n);
        let two_inv = T::TWO * inv;
        let mut total = CascadeSum::new();
        for (z, &t) in scratch[out_off..out_off + n].iter_mut().zip(targets) {
            let d = *z - t;
            total.add(d * d);
            *z = two_inv * d;
        }
        self.backward(ops, params, x, batch, scratch, grad, out_off);
        Ok(total.total() * inv)
    }

    /// Any loss of the output: `loss(z, dz)` gets the last layer's output `z` (`[batch, out]`,
    /// logits or predictions) and must write `dz = d(value)/dz` into `dz` (same length) and
    /// return the value; its gradient w.r.t. every parameter is then written to `grad`. Errors:
    /// the shapes (as [`loss_grad`](Self::loss_grad)), or the closure's own.
    ///
    /// Every loss of [`crate::loss`] has this form (`forward_backward`), so a model trains on
    /// any of them, for either task:
    ///
    /// ```
    /// use descent_core::loss::{HuberLoss, Reduction};
    /// use descent_core::model::{Mlp, Task};
    /// use descent_core::{Activation, Reference};
    /// let m = Mlp::new(&[3, 4, 2], Activation::Tanh, true, Task::Regression)?;
    /// let mut params = vec![0.0f64; m.num_params()];
    /// m.init(&mut params, 7)?;
    /// let (x, t) = ([0.5, -1.0, 2.0], [0.25, 3.0]);
    /// let mut scratch = vec![0.0; m.scratch_len(1)];
    /// let mut grad = vec![0.0; m.num_params()];
    /// let huber = HuberLoss::new(Reduction::Mean, 0.5);
    /// let loss = m.loss_grad_with(&Reference, &params, &x, 1, &mut scratch, &mut grad, |z, dz| {
    ///     huber.forward_backward(z, &t, &mut [], dz)
    /// })?;
    /// assert!(loss > 0.0 && grad.iter().any(|&g| g != 0.0));
    /// # Ok::<(), descent_core::Error>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn loss_grad_with<T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        batch: usize,
        scratch: &mut [T],
        grad: &mut [T],
        loss: impl FnOnce(&[T], &mut [T]) -> Result<T>,
    ) -> Result<T> {
        self.check_common(params, x, batch, scratch)?;
        check_len("grad", grad.len(), self.num_params())?;
        let out_off = self.forward_unchecked(ops, params, x, batch, scratch);
        let n = batch * self.outputs();
        let outs: usize = self.dims[1..self.n_dims].iter().sum();
        // The delta buffers are free until the backward pass: the output gradient goes there,
        // then over the output, where the backward pass reads it.
        let (acts, deltas) = scratch.split_at_mut(batch * outs);
        let (z, dz) = (&mut acts[out_off..out_off + n], &mut deltas[..n]);
        let value = loss(z, dz)?;
        if batch == 0 {
            grad.iter_mut().for_each(|g| *g = T::ZERO);
            return Ok(value);
        }
        z.copy_from_slice(dz);
        self.backward(ops, params, x, batch, scratch, grad, out_off);
        Ok(value)
    }

    fn check_classification(&self, labels: &[u32], batch: usize) -> Result<()> {
        check_arg(
            self.task == Task::Classification,
            "task",
            1.0,
            "Task::Classification for loss_grad (use loss_grad_regression for regression)",
        )?;
        check_len("labels", labels.len(), batch)?;
        let c = self.outputs();
        if let Some(i) = labels.iter().position(|&y| y as usize >= c) {
            return Err(Error::ClassOutOfRange {
                index: i,
                class: labels[i] as i64,
                classes: c,
            });
        }
        Ok(())
    }

    /// Back-propagate `delta_L` (stored at `scratch[out_off..]`) through every layer.
    #[allow(clippy::too_many_arguments)]
    fn backward<T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        batch: usize,
        scratch: &mut [T],
        grad: &mut [T],
        out_off: usize,
    ) {
        let outs: usize = self.dims[1..self.n_dims].iter().sum();
        let hidden_max = self.dims[1..self.n_dims - 1]
            .iter()
            .copied()
            .max()
            .unwrap_or(0);
        let (acts, rest) = scratch.split_at_mut(batch * outs);
        let (deltas, pre) = rest.split_at_mut(self.delta_len(batch));
        let (d0, d1) = deltas[..2 * batch * hidden_max].split_at_mut(batch * hidden_max);
        let mut bufs = [d0, d1];
        // Offsets of each layer's output inside `acts`.
        let mut act_off = [0usize; MAX_LAYERS + 1];
        for l in 1..self.layers() {
            act_off[l] = act_off[l - 1] + batch * self.dims[l];
        }
        debug_assert_eq!(act_off[self.layers() - 1], out_off);
        // `cur` says where delta_l lives: None = in `acts` (the last layer), Some(k) = bufs[k].
        let mut cur: Option<usize> = None;
        for l in (0..self.layers()).rev() {
            let (din, dout) = (self.dims[l], self.dims[l + 1]);
            let (w_off, b_off) = self.layer_offsets(l);
            let input: &[T] = if l == 0 {
                x
            } else {
                &acts[act_off[l - 1]..act_off[l - 1] + batch * din]
            };
            let delta: &[T] = match cur {
                None => &acts[out_off..out_off + batch * dout],
                Some(k) => &bufs[k][..batch * dout],
            };
            // dW (dout x din) = delta^T (dout x batch) * input (batch x din)
            ops.gemm(
                true,
                false,
                dout,
                din,
                batch,
                T::ONE,
                delta,
                dout,
                input,
                din,
                T::ZERO,
                &mut grad[w_off..w_off + dout * din],
                din,
            );
            if let Some(b) = b_off {
                ops.col_sums(batch, dout, delta, T::ZERO, &mut grad[b..b + dout]);
            }
            if l > 0 {
                let next = match cur {
                    None => 0,
                    Some(k) => 1 - k,
                };
                let w = &params[w_off..w_off + dout * din];
                let [b0, b1] = &mut bufs;
                let (src, dst): (&[T], &mut [T]) = match (cur, next) {
                    (None, _) => (
                        &acts[out_off..out_off + batch * dout],
                        &mut b0[..batch * din],
                    ),
                    (Some(0), _) => (&b0[..batch * dout], &mut b1[..batch * din]),
                    (Some(_), _) => (&b1[..batch * dout], &mut b0[..batch * din]),
                };
                // delta_{l-1} (batch x din) = delta_l (batch x dout) * W (dout x din)
                ops.gemm(
                    false,
                    false,
                    batch,
                    din,
                    dout,
                    T::ONE,
                    src,
                    dout,
                    w,
                    din,
                    T::ZERO,
                    dst,
                    din,
                );
                if self.act.needs_input() {
                    let z = &pre[act_off[l - 1]..act_off[l - 1] + batch * din];
                    ops.act_backward_input(self.act, z, dst);
                } else {
                    ops.act_backward(self.act, input, dst);
                }
                cur = Some(next);
            }
        }
    }

    /// Predicted classes into `out` `[batch]`: the [`argmax`] of each row of logits (first
    /// maximum on ties, NaN above every number, as `torch.argmax`).
    pub fn predict<T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        batch: usize,
        scratch: &mut [T],
        out: &mut [u32],
    ) -> Result<()> {
        check_len("out", out.len(), batch)?;
        let c = self.outputs();
        let z = self.forward(ops, params, x, batch, scratch)?;
        for (o, row) in out.iter_mut().zip(z.chunks_exact(c)) {
            *o = argmax(row) as u32;
        }
        Ok(())
    }

    /// Number of rows whose [`argmax`] (the class [`predict`](Self::predict) gives) equals the
    /// label (divide by `batch` for accuracy).
    pub fn correct<T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        labels: &[u32],
        batch: usize,
        scratch: &mut [T],
    ) -> Result<usize> {
        check_len("labels", labels.len(), batch)?;
        self.check_common(params, x, batch, scratch)?;
        let c = self.outputs();
        let off = self.forward_unchecked(ops, params, x, batch, scratch);
        let z = &scratch[off..off + batch * c];
        Ok(z.chunks_exact(c)
            .zip(labels)
            .filter(|(row, &y)| argmax(row) == y as usize)
            .count())
    }

    /// Accuracy in [0, 1]: [`correct`](Self::correct) / `batch` (NaN for an empty batch).
    pub fn accuracy<T: Float, O: Ops<T>>(
        &self,
        ops: &O,
        params: &[T],
        x: &[T],
        labels: &[u32],
        batch: usize,
        scratch: &mut [T],
    ) -> Result<f64> {
        let c = self.correct(ops, params, x, labels, batch, scratch)?;
        Ok(c as f64 / batch as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reference;

    #[test]
    fn layout_matches_nn_linear() {
        let m = Mlp::new(&[3, 4, 2], Activation::Relu, true, Task::Classification).unwrap();
        assert_eq!(m.num_params(), 3 * 4 + 4 + 4 * 2 + 2);
        let ps: [(usize, usize, usize); 4] = [(0, 4, 3), (12, 4, 1), (16, 2, 4), (24, 2, 1)];
        for (p, (off, r, c)) in m.params().zip(ps) {
            assert_eq!((p.offset, p.rows, p.cols), (off, r, c));
        }
        let mut s = [0u8; 32];
        let name = {
            use core::fmt::Write;
            struct W<'a>(&'a mut [u8], usize);
            impl Write for W<'_> {
                fn write_str(&mut self, s: &str) -> core::fmt::Result {
                    self.0[self.1..self.1 + s.len()].copy_from_slice(s.as_bytes());
                    self.1 += s.len();
                    Ok(())
                }
            }
            let mut w = W(&mut s, 0);
            write!(w, "{}", m.params().nth(3).unwrap()).unwrap();
            w.1
        };
        assert_eq!(&s[..name], b"layers.1.bias");
    }

    #[test]
    fn errors_instead_of_panics() {
        assert!(Mlp::new(&[3], Activation::Relu, true, Task::Regression).is_err());
        assert!(Mlp::new(&[3, 0], Activation::Relu, true, Task::Regression).is_err());
        assert!(Mlp::new(&[3, 1], Activation::Relu, true, Task::Classification).is_err());
        let m = Mlp::new(&[2, 3, 2], Activation::Tanh, true, Task::Classification).unwrap();
        let p = [0.1f64; 17];
        let mut g = [0.0f64; 17];
        let mut s = [0.0f64; 64];
        let x = [0.5f64; 4];
        assert!(matches!(
            m.loss_grad(&Reference, &p, &x, &[0, 2], 2, &mut s, &mut g),
            Err(Error::ClassOutOfRange {
                index: 1,
                class: 2,
                classes: 2
            })
        ));
        assert!(matches!(
            m.loss_grad(&Reference, &p[..16], &x, &[0, 1], 2, &mut s, &mut g),
            Err(Error::ShapeMismatch { what: "params", .. })
        ));
        assert!(matches!(
            m.loss_grad(&Reference, &p, &x[..3], &[0, 1], 2, &mut s, &mut g),
            Err(Error::ShapeMismatch { what: "x", .. })
        ));
        assert!(matches!(
            m.loss_grad(&Reference, &p, &x, &[0, 1], 2, &mut s[..3], &mut g),
            Err(Error::BufferTooSmall {
                what: "scratch",
                ..
            })
        ));
        assert!(m
            .loss_grad_regression(&Reference, &p, &x, &[0.0; 4], 2, &mut s, &mut g)
            .is_err());
    }

    #[test]
    fn batch_sizes_that_overflow_the_shapes_are_errors() {
        // batch * 2 wraps to 0 = x.len() (and to 0 scratch elements): this reached the GEMM
        // with 2^63 rows over empty slices (index out of bounds, or the multiplication
        // overflow itself with debug assertions).
        let big = 1usize << (usize::BITS - 1);
        let m = Mlp::linear(2, 2, true).unwrap();
        let p = [0.1f64; 6];
        let mut g = [0.0f64; 6];
        assert_eq!(m.scratch_len(big), usize::MAX);
        assert!(matches!(
            m.forward(&Reference, &p, &[], big, &mut []),
            Err(Error::ShapeMismatch { what: "x", .. })
        ));
        assert!(matches!(
            m.loss_grad_regression(&Reference, &p, &[], &[], big, &mut [], &mut g),
            Err(Error::ShapeMismatch { what: "x", .. })
        ));
        // With hidden layers too: the scratch length saturates instead of wrapping.
        let m = Mlp::new(&[1, 4, 2], Activation::Relu, true, Task::Regression).unwrap();
        assert_eq!(m.scratch_len(big), usize::MAX);
    }

    #[test]
    fn init_is_deterministic_and_bounded() {
        let m = Mlp::new(&[16, 8, 3], Activation::Relu, true, Task::Classification).unwrap();
        let mut a = [0.0f32; 16 * 8 + 8 + 8 * 3 + 3];
        let mut b = a;
        m.init(&mut a, 42).unwrap();
        m.init(&mut b, 42).unwrap();
        assert_eq!(a, b);
        assert!(a[..136].iter().all(|v| v.abs() <= 0.25));
        assert!(a[136..].iter().all(|v| v.abs() <= 1.0 / 8f32.sqrt()));
        m.init(&mut b, 43).unwrap();
        assert_ne!(a, b);
    }
}
