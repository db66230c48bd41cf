//! Building schedulers by PyTorch class name and keyword arguments.

use super::*;
use crate::error::{check_arg, Error, Result};

/// A keyword-argument value, mirroring the Python values PyTorch's constructors take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A number; integer arguments (`step_size`, `T_max`, …) must be whole and `>= 0`.
    Num(f64),
    /// A boolean (`cycle_momentum`, `three_phase`); `Num(0.0)`/`Num(1.0)` are accepted too.
    Bool(bool),
    /// A string (`mode`, `threshold_mode`, `anneal_strategy`).
    Str(&'a str),
    /// A list of numbers (`milestones`).
    List(&'a [f64]),
    /// A list of schedulers (`SequentialLR`'s `schedulers`).
    Schedulers(&'a [Spec<'a>]),
    /// Python's `None`: the same as leaving the key out.
    None,
}

impl From<f64> for Value<'_> {
    fn from(x: f64) -> Self {
        Value::Num(x)
    }
}
impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(s)
    }
}

/// A scheduler described by PyTorch's class name and its keyword arguments (the optimizer
/// argument aside), e.g. `Spec { name: "StepLR", params: &[("step_size", Value::Num(5.0))] }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec<'a> {
    /// Class name: one of [`SCHEDULER_NAMES`].
    pub name: &'a str,
    /// Keyword arguments; omitted ones take PyTorch's defaults.
    pub params: &'a [(&'a str, Value<'a>)],
}

/// Every name [`Scheduler::from_spec`] accepts.
pub const SCHEDULER_NAMES: [&str; 18] = [
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
    "PolynomialLR",
    "LinearLR",
    "ConstantLR",
    "InverseTime",
    "InverseSqrtTime",
    "LambdaLR",
    "MultiplicativeLR",
    "SWALR",
    "SequentialLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
];

const NAMES_MSG: &str = "one of StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, \
CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, PolynomialLR, LinearLR, ConstantLR, \
InverseTime, InverseSqrtTime, LambdaLR, MultiplicativeLR, SWALR, SequentialLR, \
ChainedScheduler, ReduceLROnPlateau";

/// Keyword-argument reader that remembers which keys were consumed.
struct Args<'s, 'a> {
    params: &'s [(&'a str, Value<'a>)],
    used: u64,
    what: &'static str,
    keys: &'static str,
}

fn wrong_type(key: &'static str, expected: &'static str) -> Error {
    Error::InvalidArgument {
        name: key,
        value: f64::NAN,
        expected,
    }
}

fn to_u64(key: &'static str, x: f64) -> Result<u64> {
    check_arg(
        x.is_finite() && x >= 0.0 && libm::floor(x) == x && x <= 9_007_199_254_740_992.0,
        key,
        x,
        "a whole number >= 0",
    )?;
    Ok(x as u64)
}

impl<'s, 'a> Args<'s, 'a> {
    fn new(
        params: &'s [(&'a str, Value<'a>)],
        what: &'static str,
        keys: &'static str,
    ) -> Result<Self> {
        check_arg(
            params.len() <= 64,
            what,
            params.len() as f64,
            "at most 64 keyword arguments",
        )?;
        Ok(Args {
            params,
            used: 0,
            what,
            keys,
        })
    }

    fn get(&mut self, key: &'static str) -> Result<Option<Value<'a>>> {
        let mut found = None;
        for (i, (k, v)) in self.params.iter().enumerate() {
            if *k == key {
                if found.is_some() {
                    return Err(Error::InvalidArgument {
                        name: key,
                        value: i as f64,
                        expected: "the keyword given once",
                    });
                }
                self.used |= 1 << i;
                found = Some(*v);
            }
        }
        Ok(match found {
            Some(Value::None) | None => None,
            v => v,
        })
    }

    fn num(&mut self, key: &'static str) -> Result<Option<f64>> {
        match self.get(key)? {
            None => Ok(None),
            Some(Value::Num(x)) => Ok(Some(x)),
            Some(_) => Err(wrong_type(key, "a number")),
        }
    }

    fn num_or(&mut self, key: &'static str, default: f64) -> Result<f64> {
        Ok(self.num(key)?.unwrap_or(default))
    }

    fn req_num(&mut self, key: &'static str) -> Result<f64> {
        self.num(key)?
            .ok_or_else(|| wrong_type(key, "a value (required argument)"))
    }

    fn int(&mut self, key: &'static str) -> Result<Option<u64>> {
        self.num(key)?.map(|x| to_u64(key, x)).transpose()
    }

    fn int_or(&mut self, key: &'static str, default: u64) -> Result<u64> {
        Ok(self.int(key)?.unwrap_or(default))
    }

    fn req_int(&mut self, key: &'static str) -> Result<u64> {
        self.int(key)?
            .ok_or_else(|| wrong_type(key, "a value (required argument)"))
    }

    fn flag_or(&mut self, key: &'static str, default: bool) -> Result<bool> {
        match self.get(key)? {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::Num(x)) if x == 0.0 || x == 1.0 => Ok(x == 1.0),
            Some(_) => Err(wrong_type(key, "a boolean")),
        }
    }

    fn str_or(&mut self, key: &'static str, default: &'static str) -> Result<&'a str> {
        match self.get(key)? {
            None => Ok(default),
            Some(Value::Str(s)) => Ok(s),
            Some(_) => Err(wrong_type(key, "a string")),
        }
    }

    /// `milestones`-style integer list into `buf`; returns the count.
    fn int_list(&mut self, key: &'static str, buf: &mut [u64]) -> Result<usize> {
        match self.get(key)? {
            Some(Value::List(xs)) => {
                check_arg(
                    xs.len() <= buf.len(),
                    key,
                    xs.len() as f64,
                    "no more entries than the fixed capacity (MAX_MILESTONES / MAX_SEQUENTIAL)",
                )?;
                for (b, &x) in buf.iter_mut().zip(xs) {
                    *b = to_u64(key, x)?;
                }
                Ok(xs.len())
            }
            Some(_) => Err(wrong_type(key, "a list of whole numbers")),
            None => Err(wrong_type(key, "a list (required argument)")),
        }
    }

    /// `lr_lambda`, required: a Python lambda as text ([`LrLambda::parse`]), or a number (the
    /// constant function).
    fn lr_lambda(&mut self) -> Result<LrLambda> {
        match self.get("lr_lambda")? {
            Some(Value::Str(s)) => LrLambda::parse(s),
            Some(Value::Num(x)) => LrLambda::constant(x),
            Some(_) => Err(wrong_type("lr_lambda", "a Python lambda as text")),
            None => Err(wrong_type("lr_lambda", "a value (required argument)")),
        }
    }

    /// Accept PyTorch's `last_epoch` only at its default, -1 (a fresh start).
    fn last_epoch(&mut self) -> Result<()> {
        if let Some(x) = self.num("last_epoch")? {
            check_arg(
                x == -1.0,
                "last_epoch",
                x,
                "-1 (resume with Scheduler::load instead)",
            )?;
        }
        Ok(())
    }

    /// Fail on the first keyword that was not consumed.
    fn finish(self) -> Result<()> {
        match (0..self.params.len()).find(|&i| self.used & (1 << i) == 0) {
            None => Ok(()),
            Some(i) => Err(Error::InvalidArgument {
                name: self.what,
                value: i as f64,
                expected: self.keys,
            }),
        }
    }
}

fn parse_mode<T>(
    key: &'static str,
    s: &str,
    f: fn(&str) -> Option<T>,
    e: &'static str,
) -> Result<T> {
    f(s).ok_or(Error::InvalidArgument {
        name: key,
        value: f64::NAN,
        expected: e,
    })
}

impl Schedule {
    /// Build an epoch-driven schedule from PyTorch's class name and keyword arguments, for an
    /// optimizer whose initial lr is `lr0` (ignored by `CyclicLR` and `OneCycleLR`, which set
    /// their own). Errors: `InvalidArgument` naming `scheduler` for an unknown (or
    /// non-epoch-driven) name; naming e.g. `StepLR keyword` with the index of an unknown key as
    /// its value; naming the argument for a missing, mistyped or out-of-range value.
    pub fn from_spec(lr0: f64, spec: &Spec) -> Result<Self> {
        let p = spec.params;
        Ok(match spec.name {
            "StepLR" => {
                let mut a = Args::new(p, "StepLR keyword", "a StepLR keyword: step_size, gamma")?;
                a.last_epoch()?;
                let s = StepLR::new(
                    lr0,
                    a.req_int("step_size")?,
                    a.num_or("gamma", StepLR::DEFAULT_GAMMA)?,
                )?;
                a.finish()?;
                s.into()
            }
            "MultiStepLR" => {
                let mut a = Args::new(
                    p,
                    "MultiStepLR keyword",
                    "a MultiStepLR keyword: milestones, gamma",
                )?;
                a.last_epoch()?;
                let mut ms = [0u64; MAX_MILESTONES];
                let n = a.int_list("milestones", &mut ms)?;
                let s = MultiStepLR::new(
                    lr0,
                    &ms[..n],
                    a.num_or("gamma", MultiStepLR::DEFAULT_GAMMA)?,
                )?;
                a.finish()?;
                s.into()
            }
            "ExponentialLR" => {
                let mut a = Args::new(
                    p,
                    "ExponentialLR keyword",
                    "an ExponentialLR keyword: gamma",
                )?;
                a.last_epoch()?;
                let s = ExponentialLR::new(lr0, a.req_num("gamma")?)?;
                a.finish()?;
                s.into()
            }
            "CosineAnnealingLR" => {
                let mut a = Args::new(
                    p,
                    "CosineAnnealingLR keyword",
                    "a CosineAnnealingLR keyword: T_max, eta_min",
                )?;
                a.last_epoch()?;
                let s =
                    CosineAnnealingLR::new(lr0, a.req_int("T_max")?, a.num_or("eta_min", 0.0)?)?;
                a.finish()?;
                s.into()
            }
            "CosineAnnealingWarmRestarts" => {
                let mut a = Args::new(
                    p,
                    "CosineAnnealingWarmRestarts keyword",
                    "a CosineAnnealingWarmRestarts keyword: T_0, T_mult, eta_min",
                )?;
                a.last_epoch()?;
                let s = CosineAnnealingWarmRestarts::new(
                    lr0,
                    a.req_int("T_0")?,
                    a.int_or("T_mult", 1)?,
                    a.num_or("eta_min", 0.0)?,
                )?;
                a.finish()?;
                s.into()
            }
            "CyclicLR" => {
                let mut a = Args::new(
                    p,
                    "CyclicLR keyword",
                    "a CyclicLR keyword: base_lr, max_lr, step_size_up, step_size_down, mode, \
                     gamma, scale_mode, cycle_momentum, base_momentum, max_momentum",
                )?;
                a.last_epoch()?;
                let mode = parse_mode(
                    "mode",
                    a.str_or("mode", "triangular")?,
                    CyclicMode::from_name,
                    "\"triangular\", \"triangular2\" or \"exp_range\"",
                )?;
                // Only meaningful with a custom scale_fn, which PyTorch then ignores too.
                let sm = a.str_or("scale_mode", "cycle")?;
                check_arg(
                    sm == "cycle" || sm == "iterations",
                    "scale_mode",
                    f64::NAN,
                    "\"cycle\" or \"iterations\"",
                )?;
                let s = CyclicLR::new(
                    a.req_num("base_lr")?,
                    a.req_num("max_lr")?,
                    a.num_or("step_size_up", CyclicLR::DEFAULT_STEP_SIZE_UP)?,
                    a.num("step_size_down")?,
                    mode,
                    a.num_or("gamma", 1.0)?,
                )?;
                let bm = a.num_or("base_momentum", CyclicLR::DEFAULT_BASE_MOMENTUM)?;
                let mm = a.num_or("max_momentum", CyclicLR::DEFAULT_MAX_MOMENTUM)?;
                let s = if a.flag_or("cycle_momentum", true)? {
                    s.with_momentum(bm, mm)?
                } else {
                    s
                };
                a.finish()?;
                s.into()
            }
            "OneCycleLR" => {
                let mut a = Args::new(
                    p,
                    "OneCycleLR keyword",
                    "a OneCycleLR keyword: max_lr, total_steps, epochs, steps_per_epoch, \
                     pct_start, anneal_strategy, cycle_momentum, base_momentum, max_momentum, \
                     div_factor, final_div_factor, three_phase",
                )?;
                a.last_epoch()?;
                let max_lr = a.req_num("max_lr")?;
                let total = a.int("total_steps")?;
                let epochs = a.int("epochs")?;
                let spe = a.int("steps_per_epoch")?;
                let pct = a.num_or("pct_start", OneCycleLR::DEFAULT_PCT_START)?;
                let anneal = parse_mode(
                    "anneal_strategy",
                    a.str_or("anneal_strategy", "cos")?,
                    AnnealStrategy::from_name,
                    "\"cos\" or \"linear\"",
                )?;
                let df = a.num_or("div_factor", OneCycleLR::DEFAULT_DIV_FACTOR)?;
                let fdf = a.num_or("final_div_factor", OneCycleLR::DEFAULT_FINAL_DIV_FACTOR)?;
                let three = a.flag_or("three_phase", false)?;
                let s = match (total, epochs, spe) {
                    (Some(t), _, _) => OneCycleLR::new(max_lr, t, pct, anneal, df, fdf, three)?,
                    (None, Some(e), Some(n)) => {
                        OneCycleLR::with_epochs(max_lr, e, n, pct, anneal, df, fdf, three)?
                    }
                    _ => {
                        return Err(wrong_type(
                            "total_steps",
                            "total_steps, or both epochs and steps_per_epoch",
                        ))
                    }
                };
                let bm = a.num_or("base_momentum", OneCycleLR::DEFAULT_BASE_MOMENTUM)?;
                let mm = a.num_or("max_momentum", OneCycleLR::DEFAULT_MAX_MOMENTUM)?;
                let s = if a.flag_or("cycle_momentum", true)? {
                    s.with_momentum(bm, mm)?
                } else {
                    s
                };
                a.finish()?;
                s.into()
            }
            "PolynomialLR" => {
                let mut a = Args::new(
                    p,
                    "PolynomialLR keyword",
                    "a PolynomialLR keyword: total_iters, power",
                )?;
                a.last_epoch()?;
                let s = PolynomialLR::new(
                    lr0,
                    a.int_or("total_iters", PolynomialLR::DEFAULT_TOTAL_ITERS)?,
                    a.num_or("power", PolynomialLR::DEFAULT_POWER)?,
                )?;
                a.finish()?;
                s.into()
            }
            "LinearLR" => {
                let mut a = Args::new(
                    p,
                    "LinearLR keyword",
                    "a LinearLR keyword: start_factor, end_factor, total_iters",
                )?;
                a.last_epoch()?;
                let s = LinearLR::new(
                    lr0,
                    a.num_or("start_factor", LinearLR::DEFAULT_START_FACTOR)?,
                    a.num_or("end_factor", LinearLR::DEFAULT_END_FACTOR)?,
                    a.int_or("total_iters", LinearLR::DEFAULT_TOTAL_ITERS)?,
                )?;
                a.finish()?;
                s.into()
            }
            "ConstantLR" => {
                let mut a = Args::new(
                    p,
                    "ConstantLR keyword",
                    "a ConstantLR keyword: factor, total_iters",
                )?;
                a.last_epoch()?;
                let s = ConstantLR::new(
                    lr0,
                    a.num_or("factor", ConstantLR::DEFAULT_FACTOR)?,
                    a.int_or("total_iters", ConstantLR::DEFAULT_TOTAL_ITERS)?,
                )?;
                a.finish()?;
                s.into()
            }
            "InverseTime" => {
                let mut a = Args::new(p, "InverseTime keyword", "an InverseTime keyword: c")?;
                let s = InverseTime::new(lr0, a.num_or("c", InverseTime::DEFAULT_C)?)?;
                a.finish()?;
                s.into()
            }
            "InverseSqrtTime" => {
                let mut a = Args::new(
                    p,
                    "InverseSqrtTime keyword",
                    "an InverseSqrtTime keyword: c",
                )?;
                let s = InverseSqrtTime::new(lr0, a.num_or("c", InverseSqrtTime::DEFAULT_C)?)?;
                a.finish()?;
                s.into()
            }
            "LambdaLR" => {
                let mut a = Args::new(p, "LambdaLR keyword", "a LambdaLR keyword: lr_lambda")?;
                a.last_epoch()?;
                let s = LambdaLR::new(lr0, a.lr_lambda()?)?;
                a.finish()?;
                s.into()
            }
            "MultiplicativeLR" => {
                let mut a = Args::new(
                    p,
                    "MultiplicativeLR keyword",
                    "a MultiplicativeLR keyword: lr_lambda",
                )?;
                a.last_epoch()?;
                let s = MultiplicativeLR::new(lr0, a.lr_lambda()?)?;
                a.finish()?;
                s.into()
            }
            "SWALR" => {
                let mut a = Args::new(
                    p,
                    "SWALR keyword",
                    "a SWALR keyword: swa_lr, anneal_epochs, anneal_strategy",
                )?;
                a.last_epoch()?;
                let strategy = parse_mode(
                    "anneal_strategy",
                    a.str_or("anneal_strategy", "cos")?,
                    AnnealStrategy::from_name,
                    "\"cos\" or \"linear\"",
                )?;
                let s = SWALR::new(
                    lr0,
                    a.req_num("swa_lr")?,
                    a.int_or("anneal_epochs", SWALR::DEFAULT_ANNEAL_EPOCHS)?,
                    strategy,
                )?;
                a.finish()?;
                s.into()
            }
            "SequentialLR" | "ChainedScheduler" | "ReduceLROnPlateau" => {
                return Err(Error::InvalidArgument {
                    name: "scheduler",
                    value: f64::NAN,
                    expected: "an epoch-driven scheduler here (not SequentialLR, \
                               ChainedScheduler or ReduceLROnPlateau)",
                })
            }
            _ => {
                return Err(Error::InvalidArgument {
                    name: "scheduler",
                    value: f64::NAN,
                    expected: NAMES_MSG,
                })
            }
        })
    }
}

/// The required `schedulers` list of `SequentialLR` / `ChainedScheduler` (1 to
/// [`MAX_SEQUENTIAL`] epoch-driven schedules, each built with `lr0`) and its length.
fn schedules_arg(a: &mut Args, lr0: f64) -> Result<([Schedule; MAX_SEQUENTIAL], usize)> {
    let specs = match a.get("schedulers")? {
        Some(Value::Schedulers(s)) => s,
        Some(_) => return Err(wrong_type("schedulers", "a list of schedulers")),
        None => return Err(wrong_type("schedulers", "a list (required argument)")),
    };
    check_arg(
        (1..=MAX_SEQUENTIAL).contains(&specs.len()),
        "schedulers",
        specs.len() as f64,
        "1 to 4 schedulers",
    )?;
    let first = Schedule::from_spec(lr0, &specs[0])?;
    let mut arr = [first; MAX_SEQUENTIAL];
    for (dst, sp) in arr.iter_mut().zip(specs).skip(1) {
        *dst = Schedule::from_spec(lr0, sp)?;
    }
    Ok((arr, specs.len()))
}

impl Scheduler {
    /// Build any scheduler from PyTorch's class name and keyword arguments (see [`Spec`]) for
    /// an optimizer whose initial lr is `lr0`. `SequentialLR` takes
    /// `schedulers = Value::Schedulers(&[...])` (each built with the same `lr0`) and
    /// `milestones = Value::List(&[...])`; `ChainedScheduler` takes `schedulers` alone. Errors as in [`Schedule::from_spec`]; an unknown
    /// name is `InvalidArgument { name: "scheduler", .. }`; arguments whose initial lr is not
    /// finite (e.g. an lr0 near `f64::MAX` over a tiny factor) are `InvalidArgument { name:
    /// "lr", .. }`.
    pub fn from_spec(lr0: f64, spec: &Spec) -> Result<Self> {
        let s = Self::build_spec(lr0, spec)?;
        let lr = s.lr();
        check_arg(
            lr.is_finite(),
            "lr",
            lr,
            "a finite initial learning rate (the scheduler's arguments overflow it)",
        )?;
        Ok(s)
    }

    fn build_spec(lr0: f64, spec: &Spec) -> Result<Self> {
        let p = spec.params;
        match spec.name {
            "SequentialLR" => {
                let mut a = Args::new(
                    p,
                    "SequentialLR keyword",
                    "a SequentialLR keyword: schedulers, milestones",
                )?;
                a.last_epoch()?;
                let (arr, k) = schedules_arg(&mut a, lr0)?;
                let mut ms = [0u64; MAX_SEQUENTIAL];
                let n = a.int_list("milestones", &mut ms)?;
                a.finish()?;
                Ok(SequentialLR::new(&arr[..k], &ms[..n])?.into())
            }
            "ChainedScheduler" => {
                let mut a = Args::new(
                    p,
                    "ChainedScheduler keyword",
                    "a ChainedScheduler keyword: schedulers",
                )?;
                let (arr, k) = schedules_arg(&mut a, lr0)?;
                a.finish()?;
                Ok(ChainedScheduler::new(&arr[..k])?.into())
            }
            "ReduceLROnPlateau" => {
                let mut a = Args::new(
                    p,
                    "ReduceLROnPlateau keyword",
                    "a ReduceLROnPlateau keyword: mode, factor, patience, threshold, \
                     threshold_mode, cooldown, min_lr, eps",
                )?;
                let d = PlateauConfig::default();
                let cfg = PlateauConfig {
                    mode: parse_mode(
                        "mode",
                        a.str_or("mode", "min")?,
                        PlateauMode::from_name,
                        "\"min\" or \"max\"",
                    )?,
                    factor: a.num_or("factor", d.factor)?,
                    patience: a.int_or("patience", d.patience)?,
                    threshold: a.num_or("threshold", d.threshold)?,
                    threshold_mode: parse_mode(
                        "threshold_mode",
                        a.str_or("threshold_mode", "rel")?,
                        ThresholdMode::from_name,
                        "\"rel\" or \"abs\"",
                    )?,
                    cooldown: a.int_or("cooldown", d.cooldown)?,
                    min_lr: a.num_or("min_lr", d.min_lr)?,
                    eps: a.num_or("eps", d.eps)?,
                };
                a.finish()?;
                Ok(ReduceLROnPlateau::new(lr0, cfg)?.into())
            }
            _ => Ok(Schedule::from_spec(lr0, spec)?.into()),
        }
    }

    /// Shorthand for [`Scheduler::from_spec`] when every argument is a number:
    /// `Scheduler::from_pairs("StepLR", 0.1, &[("step_size", 30.0), ("gamma", 0.1)])`.
    pub fn from_pairs(name: &str, lr0: f64, pairs: &[(&str, f64)]) -> Result<Self> {
        check_arg(
            pairs.len() <= 64,
            "params",
            pairs.len() as f64,
            "at most 64 keyword arguments",
        )?;
        let mut buf = [("", Value::None); 64];
        for (b, &(k, v)) in buf.iter_mut().zip(pairs) {
            *b = (k, Value::Num(v));
        }
        Self::from_spec(
            lr0,
            &Spec {
                name,
                params: &buf[..pairs.len()],
            },
        )
    }
}
