//! Data sets by name, split and scaled: what `descent train --dataset NAME` loads.

use super::csv::{read_csv, CsvOptions};
use super::idx::load_idx_pair;
use super::scale::{Scaler, Standardizer};
use super::split::split_indices;
use super::synthetic::synthetic_linear;
use super::uci::{load_uci, UCI_SETS};
use super::{DataError, Dataset, Result};
use std::path::{Path, PathBuf};

/// IDX data sets found by name: (name, Debian package providing it, default directory).
pub const IDX_SETS: [(&str, &str, &str); 3] = [
    (
        "fashion-mnist",
        "dataset-fashion-mnist",
        "/usr/share/datasets/fashion-mnist",
    ),
    ("mnist", "dataset-mnist", "/usr/share/datasets/mnist"),
    ("kmnist", "dataset-kmnist", "/usr/share/datasets/kmnist"),
];

/// How to load and split a named data set.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Directory holding IDX files (overrides the default location).
    pub data_dir: Option<PathBuf>,
    /// Fraction of the training rows carved out for validation (0 for none).
    pub val_fraction: f64,
    /// Fraction of all rows held out as the test split when the data set has no test file
    /// (0 for none).
    pub test_fraction: f64,
    /// Seed of the splits (and of synthetic data).
    pub seed: u64,
    /// Synthetic regression: samples N, features M, noise sigma.
    pub synthetic: (usize, usize, f64),
    /// For CSV files: how to read them.
    pub csv: CsvOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            data_dir: None,
            val_fraction: 0.1,
            test_fraction: 0.2,
            seed: 0,
            synthetic: (500, 2, 0.001),
            csv: CsvOptions::default(),
        }
    }
}

/// A data set split for training: decisions use `val`, `test` is only reported.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSplits {
    /// Data set name.
    pub name: String,
    /// Features per row.
    pub features: usize,
    /// Training rows (scaled).
    pub train: Dataset,
    /// Validation rows carved from the training rows.
    pub val: Option<Dataset>,
    /// Test rows (the data set's own test files where it has them).
    pub test: Option<Dataset>,
    /// The scaling fitted on `train` and applied to all three.
    pub scaler: Scaler,
    /// Synthetic regression: the coefficients that generated the data.
    pub theta_true: Option<Vec<f64>>,
}

/// The four IDX file paths of `name` in `dir` (`.gz` or raw), or an error saying which is
/// missing and what to install or pass.
pub fn find_idx_files(name: &str, dir: Option<&Path>) -> Result<[PathBuf; 4]> {
    let (_, package, default) = IDX_SETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| DataError::new(format!("`{name}` is not an IDX data set")))?;
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(default));
    let stems = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    let mut out: [PathBuf; 4] = Default::default();
    for (o, stem) in out.iter_mut().zip(stems) {
        let gz = dir.join(format!("{stem}.gz"));
        let raw = dir.join(stem);
        *o = if gz.is_file() {
            gz
        } else if raw.is_file() {
            raw
        } else {
            return Err(DataError::new(format!(
                "data set {name}: {} not found (nor {}); install it with `apt-get install {package}` or pass --data-dir DIR holding the four IDX files",
                gz.display(),
                raw.display()
            )));
        };
    }
    Ok(out)
}

fn carve(d: Dataset, fraction: f64, seed: u64, a: &str, b: &str) -> (Dataset, Option<Dataset>) {
    if fraction <= 0.0 || d.rows < 2 {
        return (d, None);
    }
    let (ia, ib) = split_indices(d.rows, fraction, seed);
    if ib.is_empty() || ia.is_empty() {
        return (d, None);
    }
    let name = d.name.clone();
    (
        d.subset(format!("{name}/{a}"), &ia),
        Some(d.subset(format!("{name}/{b}"), &ib)),
    )
}

/// The CSV file a `--dataset` value names (`PATH.csv`, `PATH.csv.gz` or `csv:PATH`), if it
/// names one.
pub fn csv_path(name: &str) -> Option<&str> {
    name.strip_prefix("csv:")
        .or_else(|| (name.ends_with(".csv") || name.ends_with(".csv.gz")).then_some(name))
}

/// Load data set `name`: an IDX set (`fashion-mnist`, `mnist`, `kmnist`), an embedded UCI set
/// (`digits`, `iris`, `wine`, `breast-cancer`, `diabetes`), `synthetic-linear`, or a CSV file
/// (a path ending in `.csv` / `.csv.gz`, or `csv:PATH`). Splits are deterministic in
/// `opts.seed`; scaling is fitted on the training rows only.
pub fn load_named(name: &str, opts: &LoadOptions) -> Result<DataSplits> {
    for f in [opts.val_fraction, opts.test_fraction] {
        if !(0.0..1.0).contains(&f) {
            return Err(DataError::new(format!(
                "split fraction {f} is invalid; expected a value in [0, 1)"
            )));
        }
    }
    let mut theta_true = None;
    let (all_train, file_test, scaler_kind) = if IDX_SETS.iter().any(|(n, _, _)| *n == name) {
        let [ti, tl, vi, vl] = find_idx_files(name, opts.data_dir.as_deref())?;
        let train = load_idx_pair(&format!("{name}/train"), &ti, &tl, 10)?;
        let test = load_idx_pair(&format!("{name}/test"), &vi, &vl, 10)?;
        if test.features != train.features {
            return Err(DataError::new(format!(
                "{}: test images have {} pixels but training images {}",
                vi.display(),
                test.features,
                train.features
            )));
        }
        (train, Some(test), 0)
    } else if UCI_SETS.contains(&name) || name == "breast_cancer" {
        (load_uci(name)?, None, if name == "digits" { 1 } else { 2 })
    } else if name == "synthetic-linear" {
        let (n, m, sigma) = opts.synthetic;
        let s = synthetic_linear(n, m, sigma, None, opts.seed)?;
        theta_true = Some(s.theta);
        (s.data, None, 0)
    } else if let Some(path) = csv_path(name) {
        (read_csv(Path::new(path), &opts.csv)?, None, 2)
    } else {
        return Err(DataError::new(format!(
            "unknown data set `{name}`; expected one of fashion-mnist, mnist, kmnist, {}, synthetic-linear, or a .csv file",
            UCI_SETS.join(", ")
        )));
    };
    let (train, test) = match file_test {
        Some(t) => (all_train, Some(t)),
        None => carve(
            all_train,
            opts.test_fraction,
            opts.seed ^ 0x7e57,
            "train",
            "test",
        ),
    };
    let (mut train, mut val) = carve(
        train,
        opts.val_fraction,
        opts.seed ^ 0x0a11d,
        "train",
        "val",
    );
    let scaler = match scaler_kind {
        1 => Scaler::Divide(16.0),
        2 => Scaler::Standardize(Standardizer::fit(&train)),
        _ => Scaler::None,
    };
    scaler.apply(&mut train);
    let mut test = test;
    for d in [val.as_mut(), test.as_mut()].into_iter().flatten() {
        scaler.apply(d);
    }
    Ok(DataSplits {
        name: name.to_string(),
        features: train.features,
        train,
        val,
        test,
        scaler,
        theta_true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_splits_are_disjoint_scaled_and_deterministic() {
        let o = LoadOptions::default();
        let s = load_named("digits", &o).unwrap();
        let (tr, va, te) = (&s.train, s.val.as_ref().unwrap(), s.test.as_ref().unwrap());
        assert_eq!(tr.rows + va.rows + te.rows, 1797);
        assert_eq!(te.rows, 359);
        assert!(tr.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert_eq!(load_named("digits", &o).unwrap(), s);
        let other = load_named(
            "digits",
            &LoadOptions {
                seed: 1,
                ..o.clone()
            },
        )
        .unwrap();
        assert_ne!(other.test, s.test);
    }

    #[test]
    fn standardization_uses_train_statistics_only() {
        let s = load_named("wine", &LoadOptions::default()).unwrap();
        for j in 0..s.features {
            let m: f64 = (0..s.train.rows)
                .map(|r| s.train.row(r)[j] as f64)
                .sum::<f64>()
                / s.train.rows as f64;
            assert!(m.abs() < 1e-4, "train mean {m}");
        }
        let te = s.test.as_ref().unwrap();
        let m0: f64 = (0..te.rows).map(|r| te.row(r)[0] as f64).sum::<f64>() / te.rows as f64;
        assert!(
            m0.abs() > 1e-6,
            "test is not re-centred on its own statistics"
        );
    }

    #[test]
    fn missing_idx_set_says_what_to_install() {
        let o = LoadOptions {
            data_dir: Some(PathBuf::from("/nonexistent-dir")),
            ..Default::default()
        };
        let e = load_named("fashion-mnist", &o).unwrap_err();
        assert!(
            e.message()
                .contains("apt-get install dataset-fashion-mnist"),
            "{e}"
        );
        assert!(e.message().contains("--data-dir"), "{e}");
        assert!(load_named("nope", &o).is_err());
    }
}
