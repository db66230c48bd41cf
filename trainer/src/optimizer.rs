//! Building a descent-core optimizer from `--optimizer NAME` and PyTorch-named flags.
//!
//! Each optimizer accepts exactly the flags its PyTorch constructor has; a flag that does not
//! apply (e.g. `--momentum` with Adam) is a usage error rather than silently ignored. Omitted
//! flags take PyTorch's defaults.

use crate::cli::OpsKind;
use crate::cli::TrainArgs;
use crate::error::{Error, Result};
use descent_core::optim::{
    AdadeltaConfig, AdagradConfig, AdamConfig, AdamWConfig, AdamaxConfig, Group, NAdamConfig,
    Optim, Optimizer, OptimizerKind, RAdamConfig, RmsPropConfig, SgdConfig,
};
use descent_core::Result as CoreResult;
use descent_kernels::fused::{step_fused, FusedRule};

/// Names accepted by `--optimizer`.
pub const NAMES: &[&str] = &[
    "sgd", "adam", "adamw", "adagrad", "rmsprop", "adadelta", "adamax", "nadam", "radam",
];

/// A boxed optimizer over f32 parameters.
pub type BoxedOptimizer = Box<dyn Optimizer<f32> + Send>;

/// A core optimizer whose steps run through descent-kernels' fused, vectorized and parallel
/// update (bitwise equal to core's, on the same state, so checkpoints are interchangeable).
#[derive(Debug, Clone)]
pub struct Fused<R: FusedRule>(pub Optim<f32, R, Vec<f32>>);

impl<R: FusedRule> Optimizer<f32> for Fused<R> {
    fn kind(&self) -> OptimizerKind {
        self.0.kind()
    }
    fn n_params(&self) -> usize {
        self.0.n_params()
    }
    fn step(&mut self, params: &mut [f32], grads: &[f32]) -> CoreResult<()> {
        step_fused(&mut self.0, params, grads)
    }
    fn steps(&self) -> u64 {
        self.0.steps()
    }
    fn groups(&self) -> &[Group] {
        self.0.groups()
    }
    fn lr(&self, group: usize) -> CoreResult<f64> {
        self.0.lr(group)
    }
    fn set_lr(&mut self, group: usize, lr: f64) -> CoreResult<()> {
        self.0.set_lr(group, lr)
    }
    fn weight_decay(&self, group: usize) -> CoreResult<f64> {
        self.0.weight_decay(group)
    }
    fn set_weight_decay(&mut self, group: usize, weight_decay: f64) -> CoreResult<()> {
        self.0.set_weight_decay(group, weight_decay)
    }
    fn state_bytes_len(&self) -> usize {
        self.0.state_bytes_len()
    }
    fn export_state(&self, out: &mut [u8]) -> CoreResult<usize> {
        self.0.export_state(out)
    }
    fn import_state(&mut self, bytes: &[u8]) -> CoreResult<()> {
        self.0.import_state(bytes)
    }
    fn reset_state(&mut self) {
        self.0.reset_state()
    }
}

/// Which flags were given (name, given?) for the applicability check.
fn given_flags(a: &TrainArgs) -> Vec<(&'static str, bool)> {
    vec![
        ("momentum", a.momentum.is_some()),
        ("dampening", a.dampening.is_some()),
        ("nesterov", a.nesterov),
        ("betas", a.betas.is_some()),
        ("eps", a.eps.is_some()),
        ("amsgrad", a.amsgrad),
        ("alpha", a.alpha.is_some()),
        ("centered", a.centered),
        ("rho", a.rho.is_some()),
        ("lr-decay", a.lr_decay.is_some()),
        (
            "initial-accumulator-value",
            a.initial_accumulator_value.is_some(),
        ),
        ("momentum-decay", a.momentum_decay.is_some()),
        ("decoupled-weight-decay", a.decoupled_weight_decay),
    ]
}

fn allowed(name: &str) -> &'static [&'static str] {
    match name {
        "sgd" => &["momentum", "dampening", "nesterov"],
        "adam" | "adamw" => &["betas", "eps", "amsgrad"],
        "adagrad" => &["lr-decay", "initial-accumulator-value", "eps"],
        "rmsprop" => &["alpha", "eps", "momentum", "centered"],
        "adadelta" => &["rho", "eps"],
        "adamax" => &["betas", "eps"],
        "nadam" => &["betas", "eps", "momentum-decay", "decoupled-weight-decay"],
        "radam" => &["betas", "eps", "decoupled-weight-decay"],
        _ => &[],
    }
}

fn betas(a: &TrainArgs, default: (f64, f64)) -> (f64, f64) {
    match a.betas.as_deref() {
        Some([b1, b2]) => (*b1, *b2),
        _ => default,
    }
}

/// Build the optimizer named by `args.optimizer` for `n` parameters.
pub fn build(args: &TrainArgs, n: usize) -> Result<BoxedOptimizer> {
    let name = args.optimizer.to_ascii_lowercase();
    if !NAMES.contains(&name.as_str()) {
        return Err(Error::usage(format!(
            "--optimizer {}: unknown optimizer, expected one of {}",
            args.optimizer,
            NAMES.join(", ")
        )));
    }
    let ok = allowed(&name);
    for (flag, on) in given_flags(args) {
        if on && !ok.contains(&flag) {
            return Err(Error::usage(format!(
                "--{flag} does not apply to --optimizer {name} (its flags: lr, weight-decay, maximize, {})",
                ok.join(", ")
            )));
        }
    }
    let ctx = format!("--optimizer {name}");
    let core = |e| Error::core(ctx.clone(), e);
    macro_rules! make {
        ($cfg:expr) => {{
            let mut c = $cfg;
            if let Some(lr) = args.lr {
                c.lr = lr;
            }
            if let Some(wd) = args.weight_decay {
                c.weight_decay = wd;
            }
            c.maximize = args.maximize;
            Box::new(Optim::owned(c, n).map_err(core)?) as BoxedOptimizer
        }};
        (fused $cfg:expr) => {{
            let mut c = $cfg;
            if let Some(lr) = args.lr {
                c.lr = lr;
            }
            if let Some(wd) = args.weight_decay {
                c.weight_decay = wd;
            }
            c.maximize = args.maximize;
            let o = Optim::owned(c, n).map_err(core)?;
            if args.ops == OpsKind::Fast {
                Box::new(Fused(o)) as BoxedOptimizer
            } else {
                Box::new(o) as BoxedOptimizer
            }
        }};
    }
    Ok(match name.as_str() {
        "sgd" => {
            let d = SgdConfig::default();
            make!(fused SgdConfig {
                momentum: args.momentum.unwrap_or(d.momentum),
                dampening: args.dampening.unwrap_or(d.dampening),
                nesterov: args.nesterov,
                ..d
            })
        }
        "adam" => {
            let d = AdamConfig::default();
            make!(fused AdamConfig {
                betas: betas(args, d.betas),
                eps: args.eps.unwrap_or(d.eps),
                amsgrad: args.amsgrad,
                ..d
            })
        }
        "adamw" => {
            let d = AdamWConfig::default();
            make!(fused AdamWConfig {
                betas: betas(args, d.betas),
                eps: args.eps.unwrap_or(d.eps),
                amsgrad: args.amsgrad,
                ..d
            })
        }
        "adagrad" => {
            let d = AdagradConfig::default();
            make!(fused AdagradConfig {
                lr_decay: args.lr_decay.unwrap_or(d.lr_decay),
                initial_accumulator_value: args
                    .initial_accumulator_value
                    .unwrap_or(d.initial_accumulator_value),
                eps: args.eps.unwrap_or(d.eps),
                ..d
            })
        }
        "rmsprop" => {
            let d = RmsPropConfig::default();
            make!(fused RmsPropConfig {
                alpha: args.alpha.unwrap_or(d.alpha),
                eps: args.eps.unwrap_or(d.eps),
                momentum: args.momentum.unwrap_or(d.momentum),
                centered: args.centered,
                ..d
            })
        }
        "adadelta" => {
            let d = AdadeltaConfig::default();
            make!(AdadeltaConfig {
                rho: args.rho.unwrap_or(d.rho),
                eps: args.eps.unwrap_or(d.eps),
                ..d
            })
        }
        "adamax" => {
            let d = AdamaxConfig::default();
            make!(AdamaxConfig {
                betas: betas(args, d.betas),
                eps: args.eps.unwrap_or(d.eps),
                ..d
            })
        }
        "nadam" => {
            let d = NAdamConfig::default();
            make!(NAdamConfig {
                betas: betas(args, d.betas),
                eps: args.eps.unwrap_or(d.eps),
                momentum_decay: args.momentum_decay.unwrap_or(d.momentum_decay),
                decoupled_weight_decay: args.decoupled_weight_decay,
                ..d
            })
        }
        _ => {
            let d = RAdamConfig::default();
            make!(RAdamConfig {
                betas: betas(args, d.betas),
                eps: args.eps.unwrap_or(d.eps),
                decoupled_weight_decay: args.decoupled_weight_decay,
                ..d
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(v: &[&str]) -> TrainArgs {
        let mut all = vec!["descent", "train"];
        all.extend_from_slice(v);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Train(t) => *t,
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_name_builds_with_defaults() {
        for n in NAMES {
            let o = build(&args(&["--optimizer", n]), 10).unwrap();
            assert_eq!(o.n_params(), 10);
        }
    }

    #[test]
    fn fused_adam_steps_bitwise_like_core() {
        for name in ["adam", "adamw", "sgd", "adagrad", "rmsprop"] {
            let mut fast = args(&["--optimizer", name, "--lr", "0.01", "--weight-decay", "0.1"]);
            if name == "sgd" || name == "rmsprop" {
                fast.momentum = Some(0.9);
            }
            let mut reference = fast.clone();
            reference.ops = OpsKind::Reference;
            let n = 1037;
            let (mut a, mut b) = (build(&fast, n).unwrap(), build(&reference, n).unwrap());
            let mut pa: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut pb = pa.clone();
            for t in 0..5 {
                let g: Vec<f32> = (0..n).map(|i| ((i + t) as f32 * 0.11).cos()).collect();
                a.step(&mut pa, &g).unwrap();
                b.step(&mut pb, &g).unwrap();
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&pa), bits(&pb), "{name}");
            let mut sa = vec![0u8; a.state_bytes_len()];
            let mut sb = vec![0u8; b.state_bytes_len()];
            a.export_state(&mut sa).unwrap();
            b.export_state(&mut sb).unwrap();
            assert_eq!(sa, sb);
        }
    }

    #[test]
    fn flags_reach_the_config() {
        let o = build(
            &args(&["--optimizer", "sgd", "--lr", "0.25", "--momentum", "0.9"]),
            3,
        )
        .unwrap();
        assert_eq!(o.lr(0).unwrap(), 0.25);
        assert_eq!(o.kind().torch_name(), "SGD");
    }

    #[test]
    fn bad_input_is_a_one_line_error() {
        let Err(e) = build(&args(&["--optimizer", "adam", "--momentum", "0.9"]), 3) else {
            panic!("accepted --momentum for adam")
        };
        assert!(e.to_string().contains("--momentum"), "{e}");
        let Err(e) = build(&args(&["--optimizer", "sgd", "--lr=-1"]), 3) else {
            panic!("accepted a negative lr")
        };
        assert!(e.to_string().contains("lr"), "{e}");
        assert_eq!(e.exit_code(), 2);
        assert!(build(&args(&["--optimizer", "lion"]), 3).is_err());
    }
}
