//! [`Fast`]: descent-core's [`Ops`] trait on this crate's kernels.

use crate::fused;
use descent_core::{Activation, Ops};

/// The fast implementation of [`Ops<f32>`]: [`sgemm`](crate::sgemm) for products and the
/// fused, runtime-dispatched loops of [`fused`] for everything else. Models
/// switch to it by type: `model.loss_grad(&Fast, ...)` instead of `&Reference`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fast;

impl Ops<f32> for Fast {
    fn gemm(
        &self,
        transa: bool,
        transb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        beta: f32,
        c: &mut [f32],
        ldc: usize,
    ) {
        crate::sgemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    fn bias_act(
        &self,
        rows: usize,
        cols: usize,
        y: &mut [f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) {
        fused::bias_act(rows, cols, y, bias, act);
    }

    fn act_backward(&self, act: Activation, y: &[f32], grad: &mut [f32]) {
        fused::act_backward(act, y, grad);
    }

    fn bias_act_keep(
        &self,
        rows: usize,
        cols: usize,
        z: &mut [f32],
        y: &mut [f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) {
        fused::bias_act_keep(rows, cols, z, y, bias, act);
    }

    fn act_backward_input(&self, act: Activation, z: &[f32], grad: &mut [f32]) {
        fused::act_backward_input(act, z, grad);
    }

    fn softmax_xent(
        &self,
        rows: usize,
        cols: usize,
        z: &mut [f32],
        labels: &[u32],
        scale: f32,
    ) -> f32 {
        fused::softmax_xent(rows, cols, z, labels, scale)
    }

    fn softmax_rows(&self, rows: usize, cols: usize, x: &mut [f32]) {
        fused::softmax_rows(rows, cols, x);
    }

    fn col_sums(&self, rows: usize, cols: usize, x: &[f32], beta: f32, out: &mut [f32]) {
        fused::col_sums(rows, cols, x, beta, out);
    }
}
