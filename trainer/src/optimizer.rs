//! Building a descent-core optimizer from `--optimizer NAME` and PyTorch-named flags.
//!
//! Each optimizer accepts exactly the flags its PyTorch constructor has; a flag that does not
//! apply (e.g. `--momentum` with Adam) is a usage error rather than silently ignored. Omitted
//! flags take PyTorch's defaults.

use crate::cli::TrainArgs;
use crate::error::{Error, Result};
use descent_core::optim::{
    AdadeltaConfig, AdagradConfig, AdamConfig, AdamWConfig, AdamaxConfig, NAdamConfig, Optim,
    Optimizer, RAdamConfig, RmsPropConfig, SgdConfig,
};

/// Names accepted by `--optimizer`.
pub const NAMES: &[&str] = &[
    "sgd", "adam", "adamw", "adagrad", "rmsprop", "adadelta", "adamax", "nadam", "radam",
];

/// A boxed optimizer over f32 parameters.
pub type BoxedOptimizer = Box<dyn Optimizer<f32> + Send>;

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
    }
    Ok(match name.as_str() {
        "sgd" => {
            let d = SgdConfig::default();
            make!(SgdConfig {
                momentum: args.momentum.unwrap_or(d.momentum),
                dampening: args.dampening.unwrap_or(d.dampening),
                nesterov: args.nesterov,
                ..d
            })
        }
        "adam" => {
            let d = AdamConfig::default();
            make!(AdamConfig {
                betas: betas(args, d.betas),
                eps: args.eps.unwrap_or(d.eps),
                amsgrad: args.amsgrad,
                ..d
            })
        }
        "adamw" => {
            let d = AdamWConfig::default();
            make!(AdamWConfig {
                betas: betas(args, d.betas),
                eps: args.eps.unwrap_or(d.eps),
                amsgrad: args.amsgrad,
                ..d
            })
        }
        "adagrad" => {
            let d = AdagradConfig::default();
            make!(AdagradConfig {
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
            make!(RmsPropConfig {
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
