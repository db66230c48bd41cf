//! Naming and locating the tensors inside a flat parameter vector.

use core::fmt;

/// Which tensor of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// `layers.{i}.weight`, shape `[out, in]`.
    Weight,
    /// `layers.{i}.bias`, shape `[out]`.
    Bias,
}

/// One tensor of a model: PyTorch name `layers.{layer}.{weight|bias}`, its offset in the flat
/// parameter slice and its shape (`[rows, cols]` for weights, `[rows]` with `cols == 1` for
/// biases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamInfo {
    /// Layer index `i`.
    pub layer: usize,
    /// Weight or bias.
    pub kind: ParamKind,
    /// First element in the flat parameter slice.
    pub offset: usize,
    /// Output features of the layer.
    pub rows: usize,
    /// Input features (weights) or 1 (biases).
    pub cols: usize,
}

impl ParamInfo {
    /// Number of elements, `rows * cols`.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The flat range `offset..offset + len` of this tensor.
    pub fn range(&self) -> core::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }

    /// PyTorch's tensor shape: `[rows, cols]` for a weight, `[rows]` for a bias; returns the
    /// number of dimensions used in `out`.
    pub fn shape(&self, out: &mut [usize; 2]) -> usize {
        match self.kind {
            ParamKind::Weight => {
                *out = [self.rows, self.cols];
                2
            }
            ParamKind::Bias => {
                *out = [self.rows, 0];
                1
            }
        }
    }
}

impl fmt::Display for ParamInfo {
    /// Writes the `state_dict` name, e.g. `layers.0.weight`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ParamKind::Weight => "weight",
            ParamKind::Bias => "bias",
        };
        write!(f, "layers.{}.{}", self.layer, kind)
    }
}
