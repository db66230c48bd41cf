//! [`InverseSqrtTime`]: `lr0 / (c + √t)`.

use super::check_lr;
use super::codec::{params, Reader, Writer};
use crate::error::{check_arg, Result};

/// The inverse-square-root schedule of the lectures: `lr_t = lr0 / (c + √t)` (the rate of
/// SGD on convex Lipschitz problems).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InverseSqrtTime {
    base_lr: f64,
    c: f64,
    last_epoch: u64,
}

impl InverseSqrtTime {
    /// Default `c` (1.0, so that `lr_0 = lr0`).
    pub const DEFAULT_C: f64 = 1.0;

    /// Build for initial lr `base_lr` (`lr0`). Errors: `lr` not finite or negative, `c` not
    /// finite and `> 0`.
    pub fn new(base_lr: f64, c: f64) -> Result<Self> {
        check_lr("lr", base_lr)?;
        check_arg(c.is_finite() && c > 0.0, "c", c, "finite and > 0")?;
        Ok(InverseSqrtTime {
            base_lr,
            c,
            last_epoch: 0,
        })
    }

    /// The lr in effect for the current step: `lr0 / (c + √t)`.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.base_lr / (self.c + libm::sqrt(self.last_epoch as f64))
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// Advance one step (`t += 1`).
    pub fn step(&mut self) {
        self.last_epoch += 1;
    }

    /// Back to `t = 0`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.f64(self.c);
        w.u64(self.last_epoch);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let mut s = params(Self::new(r.f64()?, r.f64()?))?;
        s.last_epoch = r.u64()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_sqrt() {
        let mut s = InverseSqrtTime::new(3.0, 1.0).unwrap();
        for _ in 0..4 {
            s.step();
        }
        assert_eq!(s.lr(), 1.0);
        assert!(InverseSqrtTime::new(1.0, -1.0).is_err());
    }
}
