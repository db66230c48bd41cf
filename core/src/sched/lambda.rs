//! [`LambdaLR`]: the initial lr times a function of the epoch.

use super::check_lr;
use super::codec::{params, Reader, Writer};
use super::lr_lambda::LrLambda;
use crate::error::{check_arg, Result};

/// A factor of the epoch: `lr_lambda` of [`LambdaLR`] and [`MultiplicativeLR`]
/// (`f(epoch)`). Implemented by [`LrLambda`] (a Python lambda given as text, which can be
/// built by name and saved) and by any `Fn(u64) -> f64` closure.
///
/// [`MultiplicativeLR`]: super::MultiplicativeLR
pub trait LrFactor {
    /// `f(epoch)`.
    fn factor(&self, epoch: u64) -> f64;
}

impl LrFactor for LrLambda {
    fn factor(&self, epoch: u64) -> f64 {
        self.eval(epoch)
    }
}

impl<F: Fn(u64) -> f64> LrFactor for F {
    fn factor(&self, epoch: u64) -> f64 {
        self(epoch)
    }
}

/// `lr = base · f(t)`, refusing a value that is not finite and `>= 0` (where Python raises,
/// the factor is infinite or NaN; a negative lr is a mistake every optimizer refuses).
pub(crate) fn scaled(base: f64, f: f64) -> Result<f64> {
    let lr = base * f;
    check_arg(
        lr.is_finite() && lr >= 0.0,
        "lr_lambda",
        f,
        "a factor giving a finite lr >= 0",
    )?;
    Ok(lr)
}

/// PyTorch's `LambdaLR(optimizer, lr_lambda)`: `lr_t = base_lr · lr_lambda(t)`.
///
/// `lr_lambda` is an [`LrFactor`]: an [`LrLambda`] (`LrLambda::parse("lambda e: 0.95 **
/// e")`, the form [`Scheduler::from_spec`](super::Scheduler::from_spec), the trainer and
/// checkpoints use) or a closure (`LambdaLR::new(0.1, |t| 1.0 / (t + 1) as f64)`). A closed
/// form: in a [`ChainedScheduler`](super::ChainedScheduler) it sets the lr outright, in a
/// [`SequentialLR`](super::SequentialLR) it restarts at `lr_lambda(0)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LambdaLR<F = LrLambda> {
    base_lr: f64,
    lr_lambda: F,
    last_epoch: u64,
    lr: f64,
}

impl<F: LrFactor> LambdaLR<F> {
    /// Build for initial lr `base_lr`: `lr_0 = base_lr · lr_lambda(0)`. Errors: `lr` not
    /// finite or negative; `lr_lambda` (its value at 0 gives an lr that is not finite and
    /// `>= 0`).
    pub fn new(base_lr: f64, lr_lambda: F) -> Result<Self> {
        check_lr("lr", base_lr)?;
        let lr = scaled(base_lr, lr_lambda.factor(0))?;
        Ok(LambdaLR {
            base_lr,
            lr_lambda,
            last_epoch: 0,
            lr,
        })
    }

    /// The lr in effect for the current step: `base_lr · lr_lambda(t)`.
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

    /// Advance one step: `lr ← base_lr · lr_lambda(t + 1)`. Errors (`lr_lambda`, state
    /// unchanged): the new lr is not finite and `>= 0`.
    pub fn step(&mut self) -> Result<()> {
        let t = self.last_epoch + 1;
        self.lr = scaled(self.base_lr, self.lr_lambda.factor(t))?;
        self.last_epoch = t;
        Ok(())
    }

    /// Back to `t = 0`: `lr = base_lr · lr_lambda(0)` (checked when built).
    pub fn reset(&mut self) -> Result<()> {
        self.lr = scaled(self.base_lr, self.lr_lambda.factor(0))?;
        self.last_epoch = 0;
        Ok(())
    }
}

impl LambdaLR<LrLambda> {
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.f64(self.base_lr);
        w.u64(self.last_epoch);
        self.lr_lambda.encode(w);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self> {
        let base_lr = r.f64()?;
        let last_epoch = r.u64()?;
        let f = LrLambda::decode(r)?;
        let mut s = params(Self::new(base_lr, f))?;
        // The lr is a function of t: recomputed, and refused where it is not a valid lr.
        s.lr = params(scaled(base_lr, f.eval(last_epoch)))?;
        s.last_epoch = last_epoch;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_of_the_epoch() {
        let f = LrLambda::parse("lambda epoch: 0.5 ** (epoch // 2)").unwrap();
        let mut s = LambdaLR::new(0.4, f).unwrap();
        let mut lrs = [0.0; 5];
        for lr in &mut lrs {
            *lr = s.lr();
            s.step().unwrap();
        }
        assert_eq!(lrs, [0.4, 0.4, 0.2, 0.2, 0.1]);
        s.reset().unwrap();
        assert_eq!((s.lr(), s.last_epoch()), (0.4, 0));
        // A closure works the same way.
        let mut c = LambdaLR::new(1.0, |t: u64| 1.0 / (t + 1) as f64).unwrap();
        c.step().unwrap();
        assert_eq!(c.lr(), 0.5);
    }

    #[test]
    fn invalid_values_are_errors_and_leave_the_state() {
        assert!(LambdaLR::new(0.1, |_| f64::NAN).is_err());
        assert!(LambdaLR::new(-0.1, |_| 1.0).is_err());
        let f = LrLambda::parse("lambda e: 1 / (2 - e)").unwrap();
        let mut s = LambdaLR::new(1.0, f).unwrap();
        s.step().unwrap();
        assert_eq!(s.lr(), 1.0);
        assert!(s.step().is_err()); // 1 / 0
        assert_eq!((s.lr(), s.last_epoch()), (1.0, 1));
        let neg = LrLambda::parse("lambda e: 1 - e").unwrap();
        let mut s = LambdaLR::new(1.0, neg).unwrap();
        s.step().unwrap();
        assert!(s.step().is_err()); // -1: negative lr
    }
}
