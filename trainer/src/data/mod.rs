//! Data sets and their readers: IDX image files (MNIST / Fashion-MNIST / KMNIST), CSV, the UCI
//! sets embedded in the binary (digits is the default), and the lectures' synthetic linear
//! regression; plus deterministic splits and feature scaling.
//!
//! Every reader validates what it reads and returns a [`DataError`] whose one-line message
//! names the file, the line or field, and what was expected. Sizes claimed by a file header are
//! checked against hard caps and the file's real length before anything is allocated.

mod csv;
mod error;
mod gzip;
mod idx;
mod named;
mod scale;
pub(crate) mod split;
mod synthetic;
mod uci;

pub use self::csv::{parse_csv, read_csv, CsvOptions, Header, LabelColumn};
pub use error::DataError;
pub use idx::{decode_idx, load_idx_pair, read_idx, IdxArray, MAX_IDX_BYTES};
pub use named::{csv_path, find_idx_files, load_named, DataSplits, LoadOptions, IDX_SETS};
pub use scale::{Scaler, Standardizer};
pub use split::{shuffled_indices, split_indices};
pub use synthetic::{synthetic_linear, SyntheticLinear};
pub use uci::{load_uci, UCI_SETS};

/// `Result` with a [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;

/// What each row is labelled with.
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
    /// Output width a model needs: classes, or outputs per row.
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

    /// The targets of rows `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Targets {
        match self {
            Targets::Labels { y, classes } => Targets::Labels {
                y: idx.iter().map(|&i| y[i]).collect(),
                classes: *classes,
            },
            Targets::Values { y, outputs } => Targets::Values {
                y: idx
                    .iter()
                    .flat_map(|&i| y[i * outputs..(i + 1) * outputs].iter().copied())
                    .collect(),
                outputs: *outputs,
            },
        }
    }
}

/// A data set in memory: `rows x features` f32 features, row-major, and their targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name for messages and summaries (e.g. `digits`, a file path).
    pub name: String,
    /// Row-major features.
    pub x: Vec<f32>,
    /// Number of rows.
    pub rows: usize,
    /// Features per row.
    pub features: usize,
    /// Targets of the rows.
    pub targets: Targets,
}

impl Dataset {
    /// Build a data set, checking that `x` and the targets have `rows` rows and that every
    /// feature and target value is finite and every label is below `classes`.
    pub fn new(
        name: impl Into<String>,
        x: Vec<f32>,
        features: usize,
        targets: Targets,
    ) -> Result<Self> {
        let name = name.into();
        let rows = x.len().checked_div(features).unwrap_or(0);
        if features == 0 || !x.len().is_multiple_of(features) {
            return Err(DataError::new(format!(
                "{name}: {} feature values do not form rows of {features} features",
                x.len()
            )));
        }
        let trows = match &targets {
            Targets::Labels { y, .. } => y.len(),
            Targets::Values { y, outputs } => {
                if *outputs == 0 || !y.len().is_multiple_of(*outputs) {
                    return Err(DataError::new(format!(
                        "{name}: {} target values do not form rows of {outputs}",
                        y.len()
                    )));
                }
                y.len() / outputs
            }
        };
        if trows != rows {
            return Err(DataError::new(format!(
                "{name}: {rows} feature rows but {trows} targets; expected one target row per sample"
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(DataError::new(format!(
                "{name}: row {}, feature {}: value {} is not finite; expected finite numbers",
                i / features,
                i % features,
                x[i]
            )));
        }
        match &targets {
            Targets::Labels { y, classes } => {
                if let Some(i) = y.iter().position(|&c| c as usize >= *classes) {
                    return Err(DataError::new(format!(
                        "{name}: row {i}: label {} out of range; expected 0..{classes}",
                        y[i]
                    )));
                }
            }
            Targets::Values { y, outputs } => {
                if let Some(i) = y.iter().position(|v| !v.is_finite()) {
                    return Err(DataError::new(format!(
                        "{name}: row {}: target {} is not finite",
                        i / outputs,
                        y[i]
                    )));
                }
            }
        }
        Ok(Dataset {
            name,
            x,
            rows,
            features,
            targets,
        })
    }

    /// The rows `idx`, in that order, as a new data set named `name`.
    pub fn subset(&self, name: impl Into<String>, idx: &[usize]) -> Dataset {
        let f = self.features;
        let mut x = Vec::with_capacity(idx.len() * f);
        for &i in idx {
            x.extend_from_slice(&self.x[i * f..(i + 1) * f]);
        }
        Dataset {
            name: name.into(),
            x,
            rows: idx.len(),
            features: f,
            targets: self.targets.select(idx),
        }
    }

    /// Row `i`'s features.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.features..(i + 1) * self.features]
    }
}
