//! `--average swa|ema`: a running average of the parameters (PyTorch's
//! `torch.optim.swa_utils.AveragedModel`) kept beside any optimizer.
//!
//! [`AveragedStepper`] wraps the optimizer: after each step it takes the parameters into
//! descent-core's [`WeightAverage`] (through descent-kernels' fused update with `--ops fast`)
//! once `--average-start` steps have been taken, every `--average-every` steps. The average is
//! what [`Stepper::averaged`] returns, so `--eval-averaged` evaluates it, keeps it in
//! `best.safetensors` and reports it, as for ASGD. Its state (the count and the average) is
//! saved with the optimizer's, so `--resume` continues bit for bit.

use crate::cli::{OpsKind, TrainArgs};
use crate::error::{Error, Result};
use crate::optimizer::{zeroed, BoxedOptimizer, Stepper};
use descent_core::optim::{Averaging, WeightAverage};
use descent_core::Result as CoreResult;

/// The averaging rules `--average` accepts.
pub const NAMES: &[&str] = &["swa", "ema"];

const MAGIC: &[u8; 4] = b"DAVG";
const VERSION: u8 = 1;
/// Header bytes: magic, version, rule, decay, start, every, steps, count, inner length.
const HEADER: usize = 4 + 1 + 1 + 8 * 6;

/// An optimizer whose steps also update a [`WeightAverage`] of the parameters.
pub struct AveragedStepper {
    inner: BoxedOptimizer,
    wa: WeightAverage,
    average: Vec<f32>,
    start: u64,
    every: u64,
    steps: u64,
    fast: bool,
}

/// The `--average` settings of `args`, `None` without `--average`. Errors (usage): an unknown
/// rule, `--ema-decay` outside `[0, 1]` or without `--average ema`, `--average-every 0`, or
/// `--average-start` / `--average-every` without `--average`.
pub fn settings(args: &TrainArgs) -> Result<Option<(Averaging, u64, u64)>> {
    let Some(name) = args.average.as_deref() else {
        for (flag, on) in [
            ("ema-decay", args.ema_decay.is_some()),
            ("average-start", args.average_start.is_some()),
            ("average-every", args.average_every.is_some()),
        ] {
            if on {
                return Err(Error::usage(format!(
                    "--{flag} needs --average (swa or ema)"
                )));
            }
        }
        return Ok(None);
    };
    let rule = match name.to_ascii_lowercase().as_str() {
        "swa" => {
            if args.ema_decay.is_some() {
                return Err(Error::usage(
                    "--ema-decay applies to --average ema only (swa weighs every iterate equally)",
                ));
            }
            Averaging::Swa
        }
        "ema" => Averaging::Ema {
            decay: args.ema_decay.unwrap_or(Averaging::DEFAULT_EMA_DECAY),
        },
        _ => {
            return Err(Error::usage(format!(
                "--average {name}: expected one of {}",
                NAMES.join(", ")
            )))
        }
    };
    WeightAverage::new(rule).map_err(|e| Error::core("--ema-decay", e))?;
    let every = args.average_every.unwrap_or(1);
    if every == 0 {
        return Err(Error::usage("--average-every 0: expected at least 1 step"));
    }
    Ok(Some((rule, args.average_start.unwrap_or(0), every)))
}

/// `opt` wrapped in an [`AveragedStepper`] for `n` parameters when `args` has `--average`,
/// else `opt` itself.
pub fn wrap(args: &TrainArgs, opt: BoxedOptimizer, n: usize) -> Result<BoxedOptimizer> {
    let Some((rule, start, every)) = settings(args)? else {
        return Ok(opt);
    };
    Ok(Box::new(AveragedStepper {
        inner: opt,
        wa: WeightAverage::new(rule).map_err(|e| Error::core("--average", e))?,
        average: zeroed(n, "--average", "average", n)?,
        start,
        every,
        steps: 0,
        fast: args.ops == OpsKind::Fast,
    }))
}

impl AveragedStepper {
    fn rule_bytes(&self) -> (u8, f64) {
        match self.wa.rule() {
            Averaging::Swa => (0, 0.0),
            Averaging::Ema { decay } => (1, decay),
        }
    }
}

fn bad(why: &'static str) -> descent_core::Error {
    descent_core::Error::BadState { reason: why }
}

impl Stepper for AveragedStepper {
    fn torch_name(&self) -> &'static str {
        self.inner.torch_name()
    }
    fn lr(&self) -> f64 {
        self.inner.lr()
    }
    fn set_lr(&mut self, lr: f64) -> CoreResult<()> {
        self.inner.set_lr(lr)
    }
    fn momentum(&self) -> Option<f64> {
        self.inner.momentum()
    }
    fn set_momentum(&mut self, momentum: f64) -> CoreResult<()> {
        self.inner.set_momentum(momentum)
    }
    /// The parameters' average once it holds an iterate, else `None` (the iterate is
    /// evaluated).
    fn averaged(&self) -> Option<&[f32]> {
        if self.wa.n_averaged() > 0 {
            Some(&self.average)
        } else {
            None
        }
    }
    fn export(&self) -> Result<Vec<u8>> {
        let inner = self.inner.export()?;
        let len = HEADER + inner.len() + 4 * self.average.len();
        let mut b = Vec::new();
        b.try_reserve_exact(len).map_err(|_| {
            Error::Runtime(format!(
                "exporting optimizer state: {len} bytes do not fit in memory"
            ))
        })?;
        let (kind, decay) = self.rule_bytes();
        b.extend_from_slice(MAGIC);
        b.push(VERSION);
        b.push(kind);
        for v in [
            decay.to_bits(),
            self.start,
            self.every,
            self.steps,
            self.wa.n_averaged(),
            inner.len() as u64,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&inner);
        for x in &self.average {
            b.extend_from_slice(&x.to_le_bytes());
        }
        Ok(b)
    }
    /// Restore [`export`](Stepper::export)'s bytes: the rule, start and interval must be this
    /// run's, and the lengths this model's; nothing changes on an error.
    fn import(&mut self, bytes: &[u8]) -> CoreResult<()> {
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return Err(bad(
                "not an averaged optimizer state (run without --average?)",
            ));
        }
        if bytes[4] != VERSION {
            return Err(bad("averaged optimizer state of an unknown version"));
        }
        let word = |i: usize| {
            let o = 6 + 8 * i;
            u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"))
        };
        let (kind, decay) = self.rule_bytes();
        if bytes[5] != kind
            || word(0) != decay.to_bits()
            || word(1) != self.start
            || word(2) != self.every
        {
            return Err(bad("averaging settings differ from this run's"));
        }
        let (steps, count, inner_len) = (word(3), word(4), word(5));
        let rest = &bytes[HEADER..];
        let avg_bytes = 4 * self.average.len();
        if usize::try_from(inner_len)
            .ok()
            .and_then(|l| l.checked_add(avg_bytes))
            != Some(rest.len())
        {
            return Err(bad("averaged optimizer state has the wrong length"));
        }
        let (inner, avg) = rest.split_at(inner_len as usize);
        let wa = WeightAverage::with_n_averaged(self.wa.rule(), count)?;
        // Validate the inner state before touching anything of ours (import changes nothing
        // on an error).
        self.inner.import(inner)?;
        for (x, c) in self.average.iter_mut().zip(avg.chunks_exact(4)) {
            *x = f32::from_le_bytes(c.try_into().expect("4 bytes"));
        }
        self.wa = wa;
        self.steps = steps;
        Ok(())
    }
    fn step(
        &mut self,
        params: &mut [f32],
        grad: &mut [f32],
        eval: &mut dyn FnMut(&[f32], &mut [f32]) -> f32,
    ) -> CoreResult<f32> {
        let loss = self.inner.step(params, grad, eval)?;
        self.steps += 1;
        if self.steps > self.start && (self.steps - self.start).is_multiple_of(self.every) {
            if self.fast {
                descent_kernels::fused::average_update(&mut self.wa, &mut self.average, params)?;
            } else {
                self.wa.update(&mut self.average, params)?;
            }
        }
        Ok(loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn stepper(flags: &[&str], n: usize) -> BoxedOptimizer {
        let mut v = vec!["descent", "train", "--optimizer", "sgd", "--lr", "0.5"];
        v.extend_from_slice(flags);
        let crate::cli::Command::Train(a) = crate::cli::Cli::parse_from(v).command else {
            panic!("not a train command")
        };
        crate::optimizer::build(&a, n).unwrap()
    }

    fn run(o: &mut BoxedOptimizer, p: &mut [f32], steps: usize) {
        let mut g = vec![0.0; p.len()];
        for _ in 0..steps {
            o.step(p, &mut g, &mut |x, g| {
                // Gradient of ½‖x − 1‖² + 0.1 sin x: a moving target for the average.
                for (gi, &xi) in g.iter_mut().zip(x) {
                    *gi = xi - 1.0 + 0.1 * xi.sin();
                }
                1.0
            })
            .unwrap();
        }
    }

    #[test]
    fn swa_averages_the_iterates_from_start_every_k() {
        let mut o = stepper(
            &[
                "--average",
                "swa",
                "--average-start",
                "2",
                "--average-every",
                "3",
            ],
            3,
        );
        let mut p = vec![3.0f32, -2.0, 0.5];
        let mut plain = stepper(&[], 3);
        let mut q = p.clone();
        assert!(o.averaged().is_none());
        let mut want = vec![0.0f64; 3];
        let mut k = 0.0;
        for step in 1..=11u64 {
            run(&mut o, &mut p, 1);
            run(&mut plain, &mut q, 1);
            assert_eq!(p, q, "the average never changes the iterate");
            if step > 2 && (step - 2) % 3 == 0 {
                k += 1.0;
                for (w, &x) in want.iter_mut().zip(&q) {
                    *w += (x as f64 - *w) / k;
                }
            }
        }
        // Averaged after steps 5, 8 and 11.
        assert_eq!(k, 3.0);
        let avg = o.averaged().unwrap();
        for (a, w) in avg.iter().zip(&want) {
            assert!((*a as f64 - w).abs() < 1e-6, "{avg:?} {want:?}");
        }
    }

    #[test]
    fn state_round_trips_and_bad_state_changes_nothing() {
        let flags = [
            "--average",
            "ema",
            "--ema-decay",
            "0.8",
            "--momentum",
            "0.9",
        ];
        let mut o = stepper(&flags, 4);
        let mut p = vec![1.0f32, 2.0, 3.0, 4.0];
        run(&mut o, &mut p, 5);
        let bytes = o.export().unwrap();
        let mut r = stepper(&flags, 4);
        r.import(&bytes).unwrap();
        assert_eq!(r.export().unwrap(), bytes);
        let (mut p2, mut p3) = (p.clone(), p.clone());
        run(&mut o, &mut p2, 3);
        run(&mut r, &mut p3, 3);
        assert_eq!(p2, p3);
        assert_eq!(o.averaged(), r.averaged());
        // Other settings, a plain optimizer's state, a truncated state, another model size.
        let before = r.export().unwrap();
        let mut other = stepper(
            &[
                "--average",
                "ema",
                "--ema-decay",
                "0.7",
                "--momentum",
                "0.9",
            ],
            4,
        );
        assert!(other.import(&bytes).is_err());
        let plain = stepper(&["--momentum", "0.9"], 4).export().unwrap();
        assert!(r.import(&plain).is_err());
        assert!(r.import(&bytes[..bytes.len() - 1]).is_err());
        assert!(stepper(&flags, 5).import(&bytes).is_err());
        let mut corrupt = bytes.clone();
        corrupt[HEADER] ^= 0xff;
        let _ = r.import(&corrupt);
        assert_eq!(r.export().unwrap().len(), before.len());
        assert!(r.import(&before).is_ok());
        assert_eq!(r.export().unwrap(), before);
    }
}
