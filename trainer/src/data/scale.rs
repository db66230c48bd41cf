//! Feature scaling fitted on the training split only.

use super::Dataset;

/// How features are scaled.
#[derive(Debug, Clone, PartialEq)]
pub enum Scaler {
    /// Leave features as they are (IDX images are already in [0, 1]).
    None,
    /// Divide by a constant (e.g. 16 for the digits' 0..16 pixels), mapping to [0, 1].
    Divide(f32),
    /// Per-feature standardization.
    Standardize(Standardizer),
}

/// Per-feature `(x - mean) / std`, statistics from the training split; a constant feature
/// (std 0) is only centred.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Per-feature means.
    pub mean: Vec<f32>,
    /// Per-feature population standard deviations (1 where the feature is constant).
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Fit on `d` (accumulating in f64).
    pub fn fit(d: &Dataset) -> Self {
        let f = d.features;
        let n = d.rows.max(1) as f64;
        let mut mean = vec![0f64; f];
        for r in 0..d.rows {
            for (m, &v) in mean.iter_mut().zip(d.row(r)) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0f64; f];
        for r in 0..d.rows {
            for ((s, &v), m) in var.iter_mut().zip(d.row(r)).zip(&mean) {
                *s += (v as f64 - m) * (v as f64 - m);
            }
        }
        Standardizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: var
                .iter()
                .map(|&s| {
                    let sd = (s / n).sqrt();
                    if sd > 0.0 {
                        sd as f32
                    } else {
                        1.0
                    }
                })
                .collect(),
        }
    }
}

impl Scaler {
    /// Apply to every row of `d` in place.
    pub fn apply(&self, d: &mut Dataset) {
        match self {
            Scaler::None => {}
            Scaler::Divide(c) => d.x.iter_mut().for_each(|v| *v /= c),
            Scaler::Standardize(s) => {
                for row in d.x.chunks_exact_mut(d.features.max(1)) {
                    for ((v, m), sd) in row.iter_mut().zip(&s.mean).zip(&s.std) {
                        *v = (*v - m) / sd;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;

    #[test]
    fn standardizer_uses_given_stats() {
        let d = Dataset::new(
            "t",
            vec![1.0, 5.0, 3.0, 5.0],
            2,
            Targets::Labels {
                y: vec![0, 1],
                classes: 2,
            },
        )
        .unwrap();
        let s = Standardizer::fit(&d);
        assert_eq!(s.mean, vec![2.0, 5.0]);
        assert_eq!(s.std, vec![1.0, 1.0]);
        let mut t = d.clone();
        Scaler::Standardize(s).apply(&mut t);
        assert_eq!(t.x, vec![-1.0, 0.0, 1.0, 0.0]);
    }
}
