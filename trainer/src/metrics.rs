//! Evaluation records and their CSV / JSONL log.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Loss and accuracy of one split (accuracy is `None` for regression).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    /// Mean loss over the split.
    pub loss: f64,
    /// Fraction of correct predictions (classification only).
    pub accuracy: Option<f64>,
}

/// One evaluation: where the run was and how it was doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Optimizer steps done.
    pub step: u64,
    /// Epoch (fractional: steps / steps per epoch).
    pub epoch: f64,
    /// Learning rate in effect.
    pub lr: f64,
    /// Seconds of training so far.
    pub seconds: f64,
    /// Mean training loss of the mini-batches since the previous record.
    pub train_loss: f64,
    /// Training-split metrics (full pass).
    pub train: SplitMetrics,
    /// Validation-split metrics (`None` when there is no validation split).
    pub val: Option<SplitMetrics>,
    /// Test-split metrics (reported only, never used for decisions).
    pub test: Option<SplitMetrics>,
}

const COLUMNS: &[&str] = &[
    "step",
    "epoch",
    "lr",
    "seconds",
    "batch_loss",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "test_loss",
    "test_accuracy",
];

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

impl Record {
    fn csv_row(&self) -> String {
        [
            self.step.to_string(),
            format!("{}", self.epoch),
            format!("{}", self.lr),
            format!("{:.3}", self.seconds),
            format!("{}", self.train_loss),
            format!("{}", self.train.loss),
            opt(self.train.accuracy),
            opt(self.val.map(|m| m.loss)),
            opt(self.val.and_then(|m| m.accuracy)),
            opt(self.test.map(|m| m.loss)),
            opt(self.test.and_then(|m| m.accuracy)),
        ]
        .join(",")
    }

    fn json_row(&self) -> String {
        let v = serde_json::json!({
            "step": self.step,
            "epoch": self.epoch,
            "lr": self.lr,
            "seconds": self.seconds,
            "batch_loss": finite(self.train_loss),
            "train_loss": finite(self.train.loss),
            "train_accuracy": self.train.accuracy,
            "val_loss": self.val.map(|m| finite(m.loss)),
            "val_accuracy": self.val.and_then(|m| m.accuracy),
            "test_loss": self.test.map(|m| finite(m.loss)),
            "test_accuracy": self.test.and_then(|m| m.accuracy),
        });
        v.to_string()
    }
}

/// JSON has no NaN: non-finite values become `null`.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Output format, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// `.csv` or `.jsonl` / `.json`; anything else is a usage error naming the file.
    pub fn from_path(path: &Path) -> Result<Self> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Ok(Format::Csv),
            Some("jsonl") | Some("json") | Some("ndjson") => Ok(Format::Jsonl),
            _ => Err(Error::usage(format!(
                "--metrics {}: unknown extension, expected .csv or .jsonl",
                path.display()
            ))),
        }
    }
}

/// Writes [`Record`]s to a metrics file, flushing after each one.
#[derive(Debug)]
pub struct MetricsWriter {
    path: PathBuf,
    format: Format,
    file: std::fs::File,
}

impl MetricsWriter {
    /// Create (truncate) `path` and write `history` (records restored from a checkpoint)
    /// first, so a resumed run's file equals an uninterrupted run's.
    pub fn create(path: &Path, history: &[Record]) -> Result<Self> {
        let format = Format::from_path(path)?;
        let file = std::fs::File::create(path).map_err(|e| Error::output(path, e))?;
        let mut w = Self {
            path: path.to_path_buf(),
            format,
            file,
        };
        if format == Format::Csv {
            w.line(&COLUMNS.join(","))?;
        }
        for r in history {
            w.write(r)?;
        }
        Ok(w)
    }

    fn line(&mut self, s: &str) -> Result<()> {
        writeln!(self.file, "{s}")
            .and_then(|_| self.file.flush())
            .map_err(|e| Error::output(&self.path, e))
    }

    /// Append one record.
    pub fn write(&mut self, r: &Record) -> Result<()> {
        let s = match self.format {
            Format::Csv => r.csv_row(),
            Format::Jsonl => r.json_row(),
        };
        self.line(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(step: u64) -> Record {
        Record {
            step,
            epoch: step as f64 / 10.0,
            lr: 0.1,
            seconds: 1.0,
            train_loss: 0.5,
            train: SplitMetrics {
                loss: 0.4,
                accuracy: Some(0.9),
            },
            val: Some(SplitMetrics {
                loss: f64::NAN,
                accuracy: None,
            }),
            test: None,
        }
    }

    #[test]
    fn csv_and_jsonl() {
        let d = std::env::temp_dir().join(format!("descent-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("m.csv");
        let mut w = MetricsWriter::create(&p, &[rec(1)]).unwrap();
        w.write(&rec(2)).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<_> = s.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].split(',').count(), lines[2].split(',').count());
        let p = d.join("m.jsonl");
        let mut w = MetricsWriter::create(&p, &[]).unwrap();
        w.write(&rec(3)).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
        assert_eq!(v["step"], 3);
        assert!(v["val_loss"].is_null());
        assert!(Format::from_path(Path::new("m.txt")).is_err());
    }
}
