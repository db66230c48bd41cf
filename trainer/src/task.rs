//! What the training loop needs from the data and model layers, as small types and traits:
//! the three splits ([`Splits`]), a shuffled mini-batch order with exportable state
//! ([`BatchOrder`]) and a model with a loss-and-gradient pass ([`Net`]). `crate::wire` builds
//! them from the data sets, loader and descent-core models.

use crate::checkpoint::LayerShape;
use crate::error::Result;

/// Targets of a split.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class labels in `0..classes`.
    Labels {
        /// One label per row.
        y: Vec<u32>,
        /// Number of classes.
        classes: usize,
    },
    /// Real-valued targets, `outputs` per row.
    Values {
        /// Row-major `rows x outputs`.
        y: Vec<f32>,
        /// Outputs per row.
        outputs: usize,
    },
}

impl Targets {
    /// Output width a model needs (classes or outputs).
    pub fn width(&self) -> usize {
        match self {
            Targets::Labels { classes, .. } => *classes,
            Targets::Values { outputs, .. } => *outputs,
        }
    }

    /// True for classification.
    pub fn is_classification(&self) -> bool {
        matches!(self, Targets::Labels { .. })
    }
}

/// One split: row-major features and their targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// `rows x features`, row-major.
    pub x: Vec<f32>,
    /// Targets of the rows.
    pub targets: Targets,
    /// Number of rows.
    pub rows: usize,
}

/// The data a run trains and evaluates on.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Data set name.
    pub name: String,
    /// Features per row.
    pub features: usize,
    /// Training split.
    pub train: Split,
    /// Validation split (decisions: early stopping, plateau, best checkpoint).
    pub val: Option<Split>,
    /// Test split (reported only).
    pub test: Option<Split>,
    /// For synthetic regression: the true coefficients (weights then bias), if known.
    pub theta_true: Option<Vec<f64>>,
}

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
    fn next_batch(&mut self) -> Result<Vec<usize>>;
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
