//! Arbitrary TOML config files through the `descent` binary's argument pipeline:
//! `config::expand` (the `--config FILE.toml` reader), clap, then `train::validate`.
//!
//! Properties: no panic; every error is one line (the binary prints it as `error: ...`).
#![no_main]

use arbitrary::Arbitrary;
use clap::Parser;
use descent_trainer::cli::{Cli, Command};
use descent_trainer::{clap_one_line, config, train};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// `key = value` lines built from known flag names (reaches the logic) ...
    entries: Vec<(u8, Val)>,
    /// ... or raw text.
    raw: Option<String>,
    /// Flags also given on the command line (they override the file).
    cli: Vec<u8>,
    sub: u8,
}

#[derive(Arbitrary, Debug)]
enum Val {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<i16>),
    Table,
}

const KEYS: [&str; 24] = [
    "lr",
    "batch_size",
    "batch-size",
    "epochs",
    "iters",
    "optimizer",
    "momentum",
    "betas",
    "scheduler",
    "sched_args",
    "hidden",
    "activation",
    "model",
    "dataset",
    "seed",
    "threads",
    "nesterov",
    "clip_grad_norm",
    "norm_type",
    "patience",
    "val_fraction",
    "weight_decay",
    "config",
    "bogus",
];
const OPTS: [&str; 6] = [
    "sgd",
    "adam",
    "StepLR",
    "relu",
    "128,64",
    "step_size=2,gamma=0.5",
];

fn toml_text(entries: &[(u8, Val)]) -> String {
    let mut s = String::new();
    for (k, v) in entries.iter().take(12) {
        let key = KEYS[*k as usize % KEYS.len()];
        let val = match v {
            Val::Int(i) => i.to_string(),
            Val::Float(f) if f.is_nan() => "nan".into(),
            Val::Float(f) if f.is_infinite() => if *f > 0.0 { "inf" } else { "-inf" }.into(),
            Val::Float(f) => format!("{f:?}"),
            Val::Bool(b) => b.to_string(),
            Val::Str(x) if x.len() < 3 => format!("{:?}", OPTS[x.len() % OPTS.len()]),
            Val::Str(x) => format!("{x:?}"),
            Val::Array(a) => format!("{a:?}"),
            Val::Table => "{ a = 1 }".into(),
        };
        s.push_str(&format!("{key} = {val}\n"));
    }
    s
}

fn one_line(m: &str) {
    assert!(
        !m.is_empty() && !m.trim_end().contains('\n'),
        "error is not one line: {m:?}"
    );
}

fuzz_target!(|inp: Input| {
    let text = inp.raw.clone().unwrap_or_else(|| toml_text(&inp.entries));
    let path =
        std::env::temp_dir().join(format!("descent-fuzz-config-{}.toml", std::process::id()));
    std::fs::write(&path, &text).expect("write temp config");
    let sub = ["train", "sweep", "eval"][inp.sub as usize % 3];
    let mut argv = vec!["descent".to_string(), sub.to_string()];
    for &c in inp.cli.iter().take(3) {
        argv.push(["--lr=0.1", "--batch-size=8", "--quiet", "--epochs=1"][c as usize % 4].into());
    }
    argv.push("--config".into());
    argv.push(path.display().to_string());
    let argv = match config::expand(argv) {
        Ok(a) => a,
        Err(e) => return one_line(&e.to_string()),
    };
    match Cli::try_parse_from(&argv) {
        Err(e) => one_line(&clap_one_line(&e)),
        Ok(cli) => {
            if let Command::Train(args) = cli.command {
                if let Err(e) = train::validate(&args) {
                    one_line(&e.to_string());
                }
            }
        }
    }
});
