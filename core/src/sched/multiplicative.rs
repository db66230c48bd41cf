//! [`MultiplicativeLR`]: multiply the lr by a function of the epoch every step.

use super::check_lr;
use super::codec::{ensure, params, Reader, Writer};
use super::lambda::{scaled, LrFactor};
use super::lr_lambda::LrLambda;
use crate::error::Result;

/// PyTorch's `MultiplicativeLR(optimizer, lr_lambda)`: `lr_0 = base_lr`,
/// `lr_t = lr_{t-1} · lr_lambda(t)` for `t >= 1` (`lr_lambda(0)` is never evaluated).
///
/// `lr_lambda` is an [`LrFactor`] as for [`LambdaLR`](super::LambdaLR). A chainable form: in
/// a [`ChainedScheduler`](super::ChainedScheduler) it multiplies the lr the schedules before
/// it left; in a [`SequentialLR`](super::SequentialLR) it starts at its milestone from the lr
/// in effect times `lr_lambda(0)` (PyTorch's `step(0)`: the class has no closed form).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiplicativeLR<F = LrLambda> {
    base_lr: f64,
    lr_lambda: F,
    last_epoch: u64,
    lr: f64,
}

impl<F: LrFactor> MultiplicativeLR<F> {
    /// Build for initial lr `base_lr` (`lr_0 = base_lr`). Errors: `lr` not finite or negative.
    pub fn new(base_lr: f64, lr_lambda: F) -> Result<Self> {
        check_lr("lr", base_lr)?;
        Ok(MultiplicativeLR {
            base_lr,
            lr_lambda,
            last_epoch: 0,
            lr: base_lr,
        })
    }

    /// The lr in effect for the current step: `base_lr · Π_{s=1..t} lr_lambda(s)`.
    #[inline]
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Number of `step` calls so far (`t`).
    #[inline]
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// The function.
    pub fn lr_lambda(&self) -> &F {
        &self.lr_lambda
    }

    /// Advance one step: `lr ← lr · lr_lambda(t + 1)`. Errors (`lr_lambda`, state
    /// unchanged): the new lr is not finite and `>= 0`.
    pub fn step(&mut self) -> Result<()> {
        let t = self.last_epoch + 1;
        self.lr = scaled(self.lr, self.lr_lambda.factor(t))?;
        self.last_epoch = t;
        Ok(())
    }

    /// PyTorch's chainable step on the lr `lr` left by the schedules before (after this
    /// schedule's own `step`): `lr · lr_lambda(t)`.
    pub(crate) fn chain(&self, lr: f64) -> Result<f64> {
        scaled(lr, self.lr_lambda.factor(self.last_epoch))
    }

    /// Back to `t = 0`, `lr = base_lr`.
    pub fn reset(&mut self) {
        self.last_epoch = 0;
        self.lr = self.base_lr;
    }

    /// PyTorch's `step(0)` at a [`SequentialLR`](super::SequentialLR) milestone: back to
    /// `t = 0` with `lr · lr_lambda(0)`, `lr` being the lr in effect (the class has no closed
    /// form, and its `get_lr` multiplies outside the initial step). Errors as
    /// [`step`](Self::step).
    pub(crate) fn restart(&mut self, lr: f64) -> Result<()> {
        self.lr = scaled(lr, self.lr_lambda.factor(0))?;
        self.last_epoch = 0;
        Ok(())
    }
}

impl MultiplicativeLR<LrLambda> {
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.u64(self.last_epoch);
        w.f64(self.lr);
        self.lr_lambda.encode(w);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let base_lr = r.f64()?;
        let last_epoch = r.u64()?;
        let lr = r.f64()?;
        let f = LrLambda::decode(r)?;
        let mut s = params(Self::new(base_lr, f))?;
        ensure(lr.is_finite() && lr >= 0.0, "MultiplicativeLR lr invalid")?;
        s.last_epoch = last_epoch;
        s.lr = lr;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_the_factors() {
        let f = LrLambda::parse("lambda e: 0.5 if e % 2 == 0 else 1").unwrap();
        let mut s = MultiplicativeLR::new(0.8, f).unwrap();
        let mut lrs = [0.0; 5];
        for lr in &mut lrs {
            *lr = s.lr();
            s.step().unwrap();
        }
        // f(0) is never used: 0.8, ·f(1) = 1, ·f(2) = 0.5, ·1, ·0.5.
        assert_eq!(lrs, [0.8, 0.8, 0.4, 0.4, 0.2]);
        s.reset();
        assert_eq!((s.lr(), s.last_epoch()), (0.8, 0));
        let mut inf =
            MultiplicativeLR::new(1.0, |t: u64| if t > 1 { f64::INFINITY } else { 2.0 }).unwrap();
        inf.step().unwrap();
        assert!(inf.step().is_err());
        assert_eq!((inf.lr(), inf.last_epoch()), (2.0, 1));
    }
}
