//! The small UCI data sets compiled into the binary (provenance: `trainer/data/README.md`).

use super::csv::{parse_csv, CsvOptions, Header};
use super::{DataError, Dataset, Result, Targets};
use flate2::read::GzDecoder;
use std::io::Read;

/// Names accepted by [`load_uci`].
pub const UCI_SETS: [&str; 5] = ["digits", "iris", "wine", "breast-cancer", "diabetes"];

const DIGITS: &[u8] = include_bytes!("../../data/digits.csv.gz");
const IRIS: &[u8] = include_bytes!("../../data/iris.csv");
const WINE: &[u8] = include_bytes!("../../data/wine_data.csv");
const BREAST: &[u8] = include_bytes!("../../data/breast_cancer.csv");
const DIABETES_X: &[u8] = include_bytes!("../../data/diabetes_data_raw.csv.gz");
const DIABETES_Y: &[u8] = include_bytes!("../../data/diabetes_target.csv.gz");

fn gunzip(name: &str, b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(b)
        .read_to_end(&mut out)
        .map_err(|e| DataError::new(format!("{name}: gzip: {e}")))?;
    Ok(out)
}

/// Load an embedded UCI set by name (see [`UCI_SETS`]), unscaled:
/// `digits` (1797 x 64, 10 classes), `iris` (150 x 4, 3), `wine` (178 x 13, 3),
/// `breast-cancer` (569 x 30, 2), `diabetes` (442 x 10, regression).
pub fn load_uci(name: &str) -> Result<Dataset> {
    let opts = CsvOptions::default();
    match name {
        "digits" => parse_csv(
            "digits",
            &gunzip("digits", DIGITS)?,
            &CsvOptions {
                header: Header::Absent,
                ..opts
            },
        ),
        "iris" => parse_csv("iris", IRIS, &opts),
        "wine" => parse_csv("wine", WINE, &opts),
        "breast-cancer" | "breast_cancer" => parse_csv("breast-cancer", BREAST, &opts),
        "diabetes" => {
            let x = gunzip("diabetes", DIABETES_X)?;
            let y = gunzip("diabetes", DIABETES_Y)?;
            let parse = |b: &[u8]| -> Result<Vec<f32>> {
                std::str::from_utf8(b)
                    .map_err(|_| DataError::new("diabetes: embedded file is not UTF-8"))?
                    .split_whitespace()
                    .map(|t| {
                        t.parse::<f32>()
                            .map_err(|_| DataError::new(format!("diabetes: bad number `{t}`")))
                    })
                    .collect()
            };
            Dataset::new(
                "diabetes",
                parse(&x)?,
                10,
                Targets::Values {
                    y: parse(&y)?,
                    outputs: 1,
                },
            )
        }
        other => Err(DataError::new(format!(
            "unknown embedded data set `{other}`; expected one of {UCI_SETS:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sets_have_documented_shapes() {
        for (name, rows, features, width) in [
            ("digits", 1797, 64, 10),
            ("iris", 150, 4, 3),
            ("wine", 178, 13, 3),
            ("breast-cancer", 569, 30, 2),
            ("diabetes", 442, 10, 1),
        ] {
            let d = load_uci(name).unwrap();
            assert_eq!(
                (d.rows, d.features, d.targets.width()),
                (rows, features, width),
                "{name}"
            );
        }
        let d = load_uci("digits").unwrap();
        let Targets::Labels { y, .. } = &d.targets else {
            panic!()
        };
        let mut counts = [0usize; 10];
        y.iter().for_each(|&c| counts[c as usize] += 1);
        assert!(
            counts.iter().all(|&c| (170..=190).contains(&c)),
            "{counts:?}"
        );
        assert!(d.x.iter().all(|&v| (0.0..=16.0).contains(&v)));
        assert!(load_uci("nope").is_err());
    }
}
