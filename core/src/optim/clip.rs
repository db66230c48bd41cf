//! Gradient clipping (`torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`).

use crate::error::check_arg;
use crate::{Float, Result};

fn check_norm_type(norm_type: f64) -> Result<()> {
    check_arg(
        norm_type == f64::INFINITY || (norm_type.is_finite() && norm_type > 0.0),
        "norm_type",
        norm_type,
        "> 0 (finite) or infinity",
    )
}

/// Accumulator for a p-norm over several slices.
#[derive(Clone, Copy)]
struct NormAcc {
    p: f64,
    acc: f64,
}

impl NormAcc {
    fn new(p: f64) -> Self {
        Self { p, acc: 0.0 }
    }
    fn add<T: Float>(&mut self, g: &[T]) {
        if self.p == f64::INFINITY {
            for &x in g {
                let a = x.to_f64().abs();
                // NaN-propagating max, like torch's amax.
                if a.is_nan() || self.acc.is_nan() {
                    self.acc = f64::NAN;
                } else if a > self.acc {
                    self.acc = a;
                }
            }
        } else if self.p == 2.0 {
            for &x in g {
                let a = x.to_f64();
                self.acc += a * a;
            }
        } else if self.p == 1.0 {
            for &x in g {
                self.acc += x.to_f64().abs();
            }
        } else {
            for &x in g {
                self.acc += <f64 as Float>::powf(x.to_f64().abs(), self.p);
            }
        }
    }
    fn finish<T: Float>(self) -> T {
        let v = if self.p == f64::INFINITY || self.p == 1.0 {
            self.acc
        } else if self.p == 2.0 {
            <f64 as Float>::sqrt(self.acc)
        } else {
            <f64 as Float>::powf(self.acc, 1.0 / self.p)
        };
        T::from_f64(v)
    }
}

/// The `norm_type`-norm of `grads`: (Σ |gᵢ|^p)^(1/p), or max |gᵢ| for `f64::INFINITY`.
/// Accumulated in f64, rounded to `T` at the end. NaN in `grads` gives NaN.
pub fn grad_norm<T: Float>(grads: &[T], norm_type: f64) -> Result<T> {
    check_norm_type(norm_type)?;
    let mut acc = NormAcc::new(norm_type);
    acc.add(grads);
    Ok(acc.finish())
}

/// Scale `grads` so that their global `norm_type`-norm is at most `max_norm`
/// (`torch.nn.utils.clip_grad_norm_`). Returns the total norm before clipping.
///
/// ```text
/// total = ‖g‖_p ;  c = min(max_norm / (total + 1e-6), 1) ;  g ← c · g
/// ```
///
/// Like PyTorch, the multiplication happens even when c = 1, and a NaN / infinite norm is not
/// an error (the gradients become NaN). `max_norm = inf` leaves finite gradients as they are
/// (c = 1) and only measures the norm. The norm is global: one flat vector holding every
/// parameter group. A negative or NaN `max_norm` is an error.
pub fn clip_grad_norm<T: Float>(grads: &mut [T], max_norm: f64, norm_type: f64) -> Result<T> {
    clip_grad_norm_parts(&mut [grads], max_norm, norm_type)
}

/// [`clip_grad_norm`] over several gradient slices with one global norm (the list of tensors
/// PyTorch takes).
pub fn clip_grad_norm_parts<T: Float>(
    parts: &mut [&mut [T]],
    max_norm: f64,
    norm_type: f64,
) -> Result<T> {
    check_norm_type(norm_type)?;
    check_arg(
        max_norm >= 0.0,
        "max_norm",
        max_norm,
        ">= 0 (inf: no clipping)",
    )?;
    let mut acc = NormAcc::new(norm_type);
    for p in parts.iter() {
        acc.add(p);
    }
    let total: T = acc.finish();
    let coef = T::from_f64(max_norm) / (total + T::from_f64(1e-6));
    let coef = if coef.is_nan() {
        coef
    } else {
        coef.min(T::ONE)
    };
    for p in parts.iter_mut() {
        for g in p.iter_mut() {
            *g *= coef;
        }
    }
    Ok(total)
}

/// Clamp every gradient into `[-clip_value, clip_value]` (`torch.nn.utils.clip_grad_value_`).
/// NaN stays NaN.
pub fn clip_grad_value<T: Float>(grads: &mut [T], clip_value: f64) -> Result<()> {
    check_arg(
        clip_value >= 0.0 && !clip_value.is_nan(),
        "clip_value",
        clip_value,
        ">= 0",
    )?;
    let hi = T::from_f64(clip_value);
    let lo = -hi;
    for g in grads.iter_mut() {
        if *g > hi {
            *g = hi;
        } else if *g < lo {
            *g = lo;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn clips_to_max_norm() {
        let mut g = [3.0f64, 4.0];
        let total = clip_grad_norm(&mut g, 1.0, 2.0).unwrap();
        assert_eq!(total, 5.0);
        let c = 1.0 / (5.0 + 1e-6);
        assert_eq!(g, [3.0 * c, 4.0 * c]);
        let mut g = [0.1f32, -0.2];
        assert_eq!(clip_grad_norm(&mut g, 1.0, f64::INFINITY).unwrap(), 0.2);
        assert_eq!(g, [0.1, -0.2]);
    }

    #[test]
    fn infinite_max_norm_only_measures() {
        // torch: clamp(inf / (total + 1e-6), max=1) = 1 for a finite total.
        let mut g = [3.0f32, -4.0];
        assert_eq!(clip_grad_norm(&mut g, f64::INFINITY, 2.0).unwrap(), 5.0);
        assert_eq!(g, [3.0, -4.0]);
        // An infinite total gives inf / inf = NaN, as in torch.
        let mut g = [f64::INFINITY, 1.0];
        assert!(clip_grad_norm(&mut g, f64::INFINITY, 2.0)
            .unwrap()
            .is_infinite());
        assert!(g.iter().all(|x| x.is_nan()));
        assert!(clip_grad_norm(&mut [1.0f32], f64::NAN, 2.0).is_err());
    }

    #[test]
    fn parts_share_one_norm() {
        let (mut a, mut b) = ([3.0f64], [4.0f64]);
        let total = clip_grad_norm_parts(&mut [&mut a[..], &mut b[..]], 2.5, 2.0).unwrap();
        assert_eq!(total, 5.0);
        assert!((a[0] - 1.5).abs() < 1e-6 && (b[0] - 2.0).abs() < 1e-6);
    }

    #[test]
    fn value_clip_and_errors() {
        let mut g = [5.0f32, -5.0, 0.5, f32::NAN];
        clip_grad_value(&mut g, 1.0).unwrap();
        assert_eq!(&g[..3], &[1.0, -1.0, 0.5]);
        assert!(g[3].is_nan());
        assert!(matches!(
            clip_grad_value(&mut g, -1.0),
            Err(Error::InvalidArgument {
                name: "clip_value",
                ..
            })
        ));
        assert!(matches!(
            clip_grad_norm(&mut g, -1.0, 2.0),
            Err(Error::InvalidArgument {
                name: "max_norm",
                ..
            })
        ));
        assert!(matches!(
            clip_grad_norm(&mut g, 1.0, 0.0),
            Err(Error::InvalidArgument {
                name: "norm_type",
                ..
            })
        ));
    }
}
