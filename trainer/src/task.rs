//! What the training loop needs from the data and model layers: the three splits ([`Splits`],
//! the data layer's), a mini-batch order with exportable state ([`BatchOrder`], implemented by
//! [`crate::loader::Loader`]) and a model with a loss-and-gradient pass ([`Net`], implemented
//! by `crate::wire::CoreNet` over descent-core's `Mlp`).

use crate::checkpoint::LayerShape;
use crate::error::Result;

pub use crate::data::{DataSplits as Splits, Dataset as Split, Targets};

/// A borrowed mini-batch of targets.
#[derive(Debug, Clone, Copy)]
pub enum BatchTargets<'a> {
    /// Class labels.
    Labels(&'a [u32]),
    /// Real values, row-major `rows x outputs`.
    Values(&'a [f32]),
}

/// The order in which training rows are visited: mini-batches of row indices, reshuffled
/// each epoch, with state that can be saved and restored exactly.
pub trait BatchOrder: Send {
    /// Row indices of the next mini-batch (a new epoch starts after the last batch).
    fn next_batch(&mut self) -> &[usize];
    /// Mini-batches per epoch.
    fn batches_per_epoch(&self) -> usize;
    /// Serialized position and RNG state.
    fn export_state(&self) -> Vec<u8>;
    /// Restore [`BatchOrder::export_state`]'s bytes.
    fn import_state(&mut self, bytes: &[u8]) -> Result<()>;
}

/// A model over a flat f32 parameter vector in PyTorch's nn.Linear layout.
pub trait Net: Send {
    /// Layer shapes (parameter layout and checkpoint tensor names).
    fn layers(&self) -> Vec<LayerShape>;
    /// Number of parameters.
    fn n_params(&self) -> usize {
        crate::checkpoint::n_params(&self.layers())
    }
    /// Output width.
    fn outputs(&self) -> usize;
    /// PyTorch's default initialization from `seed`.
    fn init(&mut self, params: &mut [f32], seed: u64) -> Result<()>;
    /// Mean loss of the batch (`rows` rows of `x`); writes its gradient into `grad`.
    fn loss_grad(
        &mut self,
        params: &[f32],
        x: &[f32],
        y: BatchTargets<'_>,
        rows: usize,
        grad: &mut [f32],
    ) -> Result<f32>;
    /// The sum of the run's criterion over the rows of `out` (model outputs, `rows x
    /// outputs()`) against `y`, in f64: per sample for classification, per output element for
    /// regression (the training loss is this divided by the rows, or the rows × outputs).
    fn loss_sum(&mut self, out: &[f32], y: BatchTargets<'_>) -> Result<f64>;
    /// Model outputs (logits or predictions), `rows x outputs()` into `out`.
    fn forward(&mut self, params: &[f32], x: &[f32], rows: usize, out: &mut [f32]) -> Result<()>;
}

/// Copy rows `idx` of `split` into `xb` / `yb_labels` / `yb_values` (cleared first).
pub fn gather(
    split: &Split,
    features: usize,
    idx: &[usize],
    xb: &mut Vec<f32>,
    yb_labels: &mut Vec<u32>,
    yb_values: &mut Vec<f32>,
) {
    xb.clear();
    yb_labels.clear();
    yb_values.clear();
    for &i in idx {
        xb.extend_from_slice(&split.x[i * features..(i + 1) * features]);
        match &split.targets {
            Targets::Labels { y, .. } => yb_labels.push(y[i]),
            Targets::Values { y, outputs } => {
                yb_values.extend_from_slice(&y[i * outputs..(i + 1) * outputs])
            }
        }
    }
}

impl BatchOrder for crate::loader::Loader {
    fn next_batch(&mut self) -> &[usize] {
        crate::loader::Loader::next_batch(self)
    }
    fn batches_per_epoch(&self) -> usize {
        crate::loader::Loader::batches_per_epoch(self)
    }
    fn export_state(&self) -> Vec<u8> {
        crate::loader::Loader::export_state(self)
    }
    fn import_state(&mut self, bytes: &[u8]) -> Result<()> {
        crate::loader::Loader::import_state(self, bytes)
            .map_err(|e| crate::Error::usage(e.to_string()))
    }
}
