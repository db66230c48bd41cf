//! `--config FILE.toml`: a TOML file whose keys are the subcommand's long flag names.
//!
//! The file is turned into command-line arguments placed before the real ones, so clap does
//! all value validation; a key that is also given on the command line, or that conflicts with
//! a flag given there (`epochs` against `--iters`), is skipped (the command line wins). Unknown
//! keys, a flag named twice (`batch-size` and `batch_size`), nested tables and wrong value
//! types are rejected with a one-line error naming the file and the key.

use crate::cli::Cli;
use crate::error::{Error, Result};
use clap::{ArgAction, CommandFactory};
use std::path::Path;

/// Find `--config FILE` / `--config=FILE` among `args`.
fn find_config(args: &[String]) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            return None;
        }
        if a == "--config" {
            return it.next().cloned();
        }
        if let Some(v) = a.strip_prefix("--config=") {
            return Some(v.to_string());
        }
    }
    None
}

/// Is `--flag` present on the command line?
fn given(args: &[String], flag: &str) -> bool {
    let long = format!("--{flag}");
    let eq = format!("--{flag}=");
    args.iter().any(|a| *a == long || a.starts_with(&eq))
}

/// Does a flag given on the command line conflict with `arg`, declared on either side
/// (`epochs` declares `conflicts_with = "iters"`: `iters` in the file and `--epochs` given
/// conflict as much as the other way round)?
fn excluded_by_cli(cmd: &clap::Command, arg: &clap::Arg, args: &[String]) -> bool {
    let given_long = |a: &clap::Arg| a.get_long().is_some_and(|l| given(args, l));
    cmd.get_arg_conflicts_with(arg).into_iter().any(given_long)
        || cmd.get_arguments().any(|other| {
            given_long(other)
                && cmd
                    .get_arg_conflicts_with(other)
                    .iter()
                    .any(|c| c.get_id() == arg.get_id())
        })
}

fn scalar(file: &str, key: &str, v: &toml::Value) -> Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        // A flag that takes a boolean value (`nesterov = false`); other flags' parsers refuse it.
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Float(f) => {
            if f.is_infinite() {
                if *f > 0.0 { "inf" } else { "-inf" }.to_string()
            } else {
                format!("{f:?}")
            }
        }
        other => {
            return Err(Error::usage(format!(
                "{file}: key `{key}` has a {} value, expected a string, number or boolean",
                other.type_str()
            )))
        }
    })
}

/// Turn the config file named in `argv` (`argv[1]` is the subcommand) into arguments inserted
/// right after the subcommand. Returns `argv` unchanged when there is no `--config`.
pub fn expand(argv: Vec<String>) -> Result<Vec<String>> {
    if argv.len() < 2 {
        return Ok(argv);
    }
    let rest = &argv[2..];
    let Some(path) = find_config(rest) else {
        return Ok(argv);
    };
    let sub = argv[1].clone();
    let cmd = Cli::command();
    let Some(subcmd) = cmd.find_subcommand(&sub) else {
        return Ok(argv); // clap reports the unknown subcommand
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(Path::new(&path), e))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Error::usage(format!(
            "{path}: not valid TOML: {}",
            e.message().lines().next().unwrap_or("parse error")
        ))
    })?;
    let mut extra = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (raw_key, value) in &table {
        let key = raw_key.replace('_', "-");
        let arg = subcmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()) && key != "config");
        let Some(arg) = arg else {
            return Err(Error::usage(format!(
                "{path}: unknown key `{raw_key}`: expected a `descent {sub}` flag name such as `lr` or `batch-size`"
            )));
        };
        if let Some(first) = seen.insert(key.clone(), raw_key.clone()) {
            return Err(Error::usage(format!(
                "{path}: keys `{first}` and `{raw_key}` name the same flag: expected it once"
            )));
        }
        // The command line wins, also over a key it excludes (`epochs` in the file,
        // `--iters` given).
        if given(rest, &key) || excluded_by_cli(subcmd, arg, rest) {
            continue;
        }
        let flag = format!("--{key}");
        match arg.get_action() {
            ArgAction::SetTrue => match value {
                toml::Value::Boolean(true) => extra.push(flag),
                toml::Value::Boolean(false) => {}
                other => {
                    return Err(Error::usage(format!(
                        "{path}: key `{raw_key}` = {other}: expected true or false"
                    )))
                }
            },
            _ => match value {
                toml::Value::Array(items) => {
                    if items.is_empty() {
                        return Err(Error::usage(format!(
                            "{path}: key `{raw_key}` is an empty list: expected at least one value"
                        )));
                    }
                    let parts: Result<Vec<String>> =
                        items.iter().map(|v| scalar(&path, raw_key, v)).collect();
                    let parts = parts?;
                    // One comma-separated value unless the flag repeats: a list-valued flag
                    // (`betas`), `eps = [1e-30, 1e-3]` (Adafactor's pair), and a list given to a
                    // one-value flag is refused by its parser rather than reduced to its last
                    // item.
                    if arg.get_value_delimiter().is_some()
                        || !matches!(arg.get_action(), ArgAction::Append)
                    {
                        extra.push(flag);
                        extra.push(parts.join(","));
                    } else {
                        // Repeatable flag (e.g. sweep's --param).
                        for p in parts {
                            extra.push(flag.clone());
                            extra.push(p);
                        }
                    }
                }
                v => {
                    extra.push(flag);
                    extra.push(scalar(&path, raw_key, v)?);
                }
            },
        }
    }
    // Validate the file's values on their own so errors name the file.
    let mut probe = vec![argv[0].clone(), sub.clone()];
    probe.extend(extra.iter().cloned());
    if let Err(e) = Cli::command()
        .args_override_self(true)
        .try_get_matches_from(&probe)
    {
        use clap::error::ErrorKind::*;
        if matches!(
            e.kind(),
            InvalidValue | ValueValidation | ArgumentConflict | WrongNumberOfValues | TooManyValues
        ) {
            return Err(Error::usage(format!(
                "{path}: {}",
                crate::clap_one_line(&e)
            )));
        }
    }
    let mut out = Vec::with_capacity(argv.len() + extra.len());
    out.extend(argv[..2].iter().cloned());
    out.extend(extra);
    out.extend(rest.iter().cloned());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("descent-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A list for a flag without a delimiter is one comma-separated value: Adafactor's `eps`
    /// pair, and a one-value flag refuses it instead of keeping the last item.
    #[test]
    fn lists_for_one_value_flags_are_joined() {
        let p = write(
            "eps.toml",
            "optimizer = \"adafactor\"\neps = [1e-3, 1e-2]\n",
        );
        let out = expand(argv(&["descent", "train", "--config", &p])).unwrap();
        assert!(out
            .windows(2)
            .any(|w| w[0] == "--eps" && w[1] == "0.001,0.01"));
        let p = write("lr-list.toml", "lr = [0.1, 0.2]\n");
        let e = expand(argv(&["descent", "train", "--config", &p])).unwrap_err();
        assert!(e.to_string().contains("lr-list.toml"), "{e}");
        assert!(e.to_string().contains("0.1,0.2"), "{e}");
    }

    #[test]
    fn keys_become_flags_and_cli_wins() {
        let p = write(
            "a.toml",
            "lr = 0.5\nbatch-size = 64\nhidden = [512, 512]\nnesterov = true\nweight_decay = 1e-4\n",
        );
        let out = expand(argv(&["descent", "train", "--config", &p, "--lr", "0.1"])).unwrap();
        assert!(!out.windows(2).any(|w| w[0] == "--lr" && w[1] == "0.5"));
        assert!(out
            .windows(2)
            .any(|w| w[0] == "--hidden" && w[1] == "512,512"));
        assert!(out
            .windows(2)
            .any(|w| w[0] == "--weight-decay" && w[1] == "0.0001"));
        assert!(out.contains(&"--nesterov".to_string()));
    }

    #[test]
    fn cli_wins_over_a_key_it_excludes() {
        // `epochs` in the file, `--iters` on the command line: the file's key is dropped
        // (was: clap's conflict error, naming no file).
        let p = write("e.toml", "dataset = \"iris\"\nepochs = 3\n");
        let out = expand(argv(&["descent", "train", "--config", &p, "--iters", "5"])).unwrap();
        assert!(!out.contains(&"--epochs".to_string()), "{out:?}");
        assert!(out.windows(2).any(|w| w[0] == "--iters" && w[1] == "5"));
        // Without the command-line flag the key stays.
        let out = expand(argv(&["descent", "train", "--config", &p])).unwrap();
        assert!(out.windows(2).any(|w| w[0] == "--epochs" && w[1] == "3"));
        // The other way round: `iters` in the file, `--epochs` given.
        let p = write("g.toml", "dataset = \"iris\"\niters = 5\n");
        let out = expand(argv(&["descent", "train", "--config", &p, "--epochs", "2"])).unwrap();
        assert!(!out.contains(&"--iters".to_string()), "{out:?}");
    }

    #[test]
    fn a_flag_named_twice_is_rejected() {
        let p = write("f.toml", "batch-size = 8\nbatch_size = 16\n");
        let e = expand(argv(&["descent", "train", "--config", &p])).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("f.toml") && s.contains("batch-size") && s.contains("batch_size"),
            "{s}"
        );
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn unknown_key_is_rejected_with_file_and_key() {
        let p = write("b.toml", "learning_rate = 0.1\n");
        let e = expand(argv(&["descent", "train", "--config", &p])).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("b.toml") && s.contains("learning_rate"), "{s}");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn bad_value_names_file() {
        let p = write("c.toml", "lr = \"fast\"\n");
        let e = expand(argv(&["descent", "train", "--config", &p])).unwrap_err();
        assert!(e.to_string().contains("c.toml"), "{e}");
        let p = write("d.toml", "lr = [\n");
        let e = expand(argv(&["descent", "train", "--config", &p])).unwrap_err();
        assert!(e.to_string().contains("not valid TOML"), "{e}");
        let e = expand(argv(&[
            "descent",
            "train",
            "--config",
            "/nonexistent/x.toml",
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.toml"), "{e}");
    }
}
