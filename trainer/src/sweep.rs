//! `descent sweep`: grid or random search over `train` flags, trials in parallel (rayon),
//! ranked by validation loss, printed as a leaderboard table and written as CSV.

use crate::cli::{Cli, Command, Search, SweepArgs, TrainArgs};
use crate::error::{Error, Result};
use crate::train::{RunOptions, Summary};
use clap::{ArgAction, CommandFactory, Parser};
use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// How one searched flag takes its values.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// A list of values (grid points, or random choices).
    Choices(Vec<String>),
    /// Log-uniform in `[lo, hi]`.
    LogUniform(f64, f64),
    /// Uniform in `[lo, hi]`.
    Uniform(f64, f64),
    /// Uniform integer in `[lo, hi]`.
    Int(i64, i64),
}

/// One trial's flag values.
pub type Assignment = Vec<(String, String)>;

/// One `--param FLAG=SPEC`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Long flag name of `descent train`.
    pub flag: String,
    /// Its values.
    pub dist: Dist,
}

fn train_flags() -> Vec<(String, bool)> {
    let cmd = Cli::command();
    let sub = cmd.find_subcommand("train").cloned().unwrap_or_default();
    sub.get_arguments()
        .filter_map(|a| {
            a.get_long()
                .map(|l| (l.to_string(), !matches!(a.get_action(), ArgAction::SetTrue)))
        })
        .collect()
}

/// Parse `FLAG=SPEC` (see [`SweepArgs::params`]).
pub fn parse_param(s: &str) -> Result<Param> {
    let Some((flag, spec)) = s.split_once('=') else {
        return Err(Error::usage(format!(
            "--param {s}: expected FLAG=VALUES, e.g. lr=0.1,0.01 or lr=log:1e-4:1e-1"
        )));
    };
    let flag = flag.trim().trim_start_matches("--").replace('_', "-");
    let flags = train_flags();
    match flags.iter().find(|(f, _)| *f == flag) {
        None => {
            return Err(Error::usage(format!(
                "--param {s}: `{flag}` is not a `descent train` flag"
            )))
        }
        Some((_, false)) => {
            return Err(Error::usage(format!(
                "--param {s}: `{flag}` is an on/off flag; search over flags that take values"
            )))
        }
        _ => {}
    }
    if [
        "config",
        "checkpoint-dir",
        "resume",
        "metrics",
        "plot",
        "summary-json",
    ]
    .contains(&flag.as_str())
    {
        return Err(Error::usage(format!(
            "--param {s}: `{flag}` cannot be searched"
        )));
    }
    let num = |v: &str| -> Result<f64> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| Error::usage(format!("--param {s}: `{v}` is not a finite number")))
    };
    let range = |rest: &str| -> Result<(f64, f64)> {
        let Some((a, b)) = rest.split_once(':') else {
            return Err(Error::usage(format!(
                "--param {s}: expected LO:HI after the kind"
            )));
        };
        let (a, b) = (num(a)?, num(b)?);
        if a > b {
            return Err(Error::usage(format!("--param {s}: LO {a} is above HI {b}")));
        }
        Ok((a, b))
    };
    let dist = if let Some(r) = spec.strip_prefix("log:") {
        let (a, b) = range(r)?;
        if a <= 0.0 {
            return Err(Error::usage(format!("--param {s}: log range needs LO > 0")));
        }
        Dist::LogUniform(a, b)
    } else if let Some(r) = spec.strip_prefix("uniform:") {
        let (a, b) = range(r)?;
        Dist::Uniform(a, b)
    } else if let Some(r) = spec.strip_prefix("int:") {
        let (a, b) = range(r)?;
        // Beyond 2^53 the bounds are not exact integers, and `b - a + 1` could overflow i64
        // (`int:-1e300:1e300` saturated both ends and wrapped the span).
        const EXACT: f64 = (1u64 << 53) as f64;
        if a.fract() != 0.0 || b.fract() != 0.0 || a.abs() > EXACT || b.abs() > EXACT {
            return Err(Error::usage(format!(
                "--param {s}: int range needs whole numbers between -2^53 and 2^53"
            )));
        }
        Dist::Int(a as i64, b as i64)
    } else {
        // Values separated by ','; inside a value '/' stands for ',' (hidden=64,128/128).
        let vals: Vec<String> = spec
            .split(',')
            .map(|v| v.trim().replace('/', ","))
            .filter(|v| !v.is_empty())
            .collect();
        if vals.is_empty() {
            return Err(Error::usage(format!("--param {s}: no values")));
        }
        Dist::Choices(vals)
    };
    Ok(Param { flag, dist })
}

/// The trials: one list of `(flag, value)` per trial.
pub fn expand(
    params: &[Param],
    search: Search,
    trials: usize,
    seed: u64,
) -> Result<Vec<Vec<(String, String)>>> {
    // A flag searched twice would get two leaderboard columns while its trials run with the
    // last value only.
    for (i, p) in params.iter().enumerate() {
        if params[..i].iter().any(|q| q.flag == p.flag) {
            return Err(Error::usage(format!(
                "--param {}: given more than once; list all its values in one --param",
                p.flag
            )));
        }
    }
    match search {
        Search::Grid => {
            let mut out: Vec<Vec<(String, String)>> = vec![vec![]];
            for p in params {
                let Dist::Choices(vals) = &p.dist else {
                    return Err(Error::usage(format!(
                        "--param {}: grid search needs a list of values (ranges are for --search random)",
                        p.flag
                    )));
                };
                out = out
                    .into_iter()
                    .flat_map(|t| {
                        vals.iter().map(move |v| {
                            let mut t = t.clone();
                            t.push((p.flag.clone(), v.clone()));
                            t
                        })
                    })
                    .collect();
                if out.len() > 100_000 {
                    return Err(Error::usage("sweep grid has more than 100000 trials"));
                }
            }
            Ok(out)
        }
        Search::Random => {
            if trials == 0 {
                return Err(Error::usage("--trials 0: expected a positive integer"));
            }
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut unit = move || (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            Ok((0..trials)
                .map(|_| {
                    params
                        .iter()
                        .map(|p| {
                            let v = match &p.dist {
                                Dist::Choices(v) => {
                                    let i = ((unit() * v.len() as f64) as usize).min(v.len() - 1);
                                    v[i].clone()
                                }
                                Dist::LogUniform(a, b) => {
                                    format!("{:.6e}", (a.ln() + unit() * (b.ln() - a.ln())).exp())
                                }
                                Dist::Uniform(a, b) => format!("{}", a + unit() * (b - a)),
                                Dist::Int(a, b) => {
                                    let span = (b - a + 1) as f64;
                                    format!("{}", a + ((unit() * span) as i64).min(b - a))
                                }
                            };
                            (p.flag.clone(), v)
                        })
                        .collect()
                })
                .collect())
        }
    }
}

const SWEEP_ONLY: &[&str] = &[
    "search",
    "param",
    "trials",
    "parallel",
    "sweep-seed",
    "leaderboard",
];

/// Remove `--flag`, `--flag value` and `--flag=value` for every flag in `drop` from `args`
/// (`takes_value` says which flags consume the next argument).
fn strip(args: &[String], drop: &[String], takes_value: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let name = a
            .strip_prefix("--")
            .map(|n| n.split('=').next().unwrap_or(n));
        match name {
            Some(n) if drop.iter().any(|d| d == n) => {
                if !a.contains('=') && takes_value(n) {
                    i += 1;
                }
            }
            _ => out.push(a.clone()),
        }
        i += 1;
    }
    out
}

/// One finished trial.
#[derive(Debug, Clone)]
pub struct Trial {
    /// Trial number (0-based, in expansion order).
    pub id: usize,
    /// The searched flags and their values.
    pub values: Vec<(String, String)>,
    /// The run's summary, or the error that ended it.
    pub result: Result<Summary>,
}

fn rank_key(t: &Trial) -> f64 {
    match &t.result {
        Ok(s) => s
            .best_val_loss
            .or(s.val_loss)
            .unwrap_or(s.train_loss)
            .to_owned(),
        Err(_) => f64::INFINITY,
    }
}

fn opt(v: Option<f64>, pct: bool) -> String {
    match v {
        Some(x) if pct => format!("{:.2}", 100.0 * x),
        Some(x) => format!("{x:.6}"),
        None => "-".into(),
    }
}

/// Run the sweep; `argv` is the full (config-expanded) command line of `descent sweep`.
pub fn run(argv: &[String], args: &SweepArgs) -> Result<Vec<Trial>> {
    crate::cli::check_thread_count("parallel", args.parallel)?;
    let params: Vec<Param> = args
        .params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<_>>()?;
    let trials = expand(&params, args.search, args.trials, args.sweep_seed)?;
    let flags = train_flags();
    let sweep_cmd = Cli::command();
    let sweep_sub = sweep_cmd
        .find_subcommand("sweep")
        .cloned()
        .unwrap_or_default();
    let takes_value = |n: &str| {
        sweep_sub
            .get_arguments()
            .find(|a| a.get_long() == Some(n))
            .is_some_and(|a| !matches!(a.get_action(), ArgAction::SetTrue))
    };
    let mut drop: Vec<String> = SWEEP_ONLY.iter().map(|s| s.to_string()).collect();
    drop.extend(params.iter().map(|p| p.flag.clone()));
    drop.extend(
        [
            "config",
            "checkpoint-dir",
            "resume",
            "metrics",
            "plot",
            "summary-json",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let base = strip(argv.get(2..).unwrap_or(&[]), &drop, &takes_value);
    let _ = flags;
    // Parse and validate every trial up front, so a bad flag or value that the command line
    // checks fails before anything runs. A value refused only when its part is built (an
    // optimizer's `lr` below 0, from a range that crosses it) fails that trial alone: its
    // error is shown in the leaderboard (and the sweep fails when no trial succeeds, see
    // [`all_failed`]).
    let mut parsed: Vec<(usize, Assignment, TrainArgs)> = Vec::new();
    for (id, t) in trials.into_iter().enumerate() {
        let mut a = vec!["descent".to_string(), "train".to_string()];
        a.extend(base.iter().cloned());
        for (f, v) in &t {
            // `--flag=value`: a value starting with `-` (lr=-0.5, uniform:-1:1) is a value,
            // not taken for an unknown flag.
            a.push(format!("--{f}={v}"));
        }
        let cli = Cli::try_parse_from(&a).map_err(|e| {
            Error::usage(format!("sweep trial {}: {}", id, crate::clap_one_line(&e)))
        })?;
        let Command::Train(mut ta) = cli.command else {
            return Err(Error::Runtime("sweep: trial did not parse as train".into()));
        };
        ta.quiet = true;
        ta.no_progress = true;
        crate::train::validate(&ta)?;
        parsed.push((id, t, *ta));
    }
    let threads = args
        .parallel
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Runtime(format!("sweep thread pool: {e}")))?;
    let mut results: Vec<Trial> = pool.install(|| {
        parsed
            .into_par_iter()
            .map(|(id, values, ta)| {
                let result = crate::wire::build(&ta)
                    .and_then(|parts| crate::train::run(&ta, parts, RunOptions { silent: true }));
                Trial { id, values, result }
            })
            .collect()
    });
    results.sort_by(|a, b| rank_key(a).total_cmp(&rank_key(b)).then(a.id.cmp(&b.id)));
    Ok(results)
}

/// The error of a sweep none of whose trials succeeded: the count and the first trial's
/// error, with that error's exit status (2 for a value its part refused, 3 for a diverged
/// run, 1 otherwise); `None` when some trial succeeded or there were none.
pub fn all_failed(trials: &[Trial]) -> Option<Error> {
    if trials.iter().any(|t| t.result.is_ok()) {
        return None;
    }
    let first = trials.iter().min_by_key(|t| t.id)?;
    let e = first.result.as_ref().err()?;
    let msg = format!(
        "sweep: all {} trials failed; trial {}: {e}",
        trials.len(),
        first.id
    );
    Some(match e.exit_code() {
        2 => Error::Usage(msg),
        3 => Error::Diverged(msg),
        _ => Error::Runtime(msg),
    })
}

/// The leaderboard as rows of cells (header first).
pub fn leaderboard(trials: &[Trial]) -> Vec<Vec<String>> {
    let names: Vec<String> = trials
        .first()
        .map(|t| t.values.iter().map(|(f, _)| f.clone()).collect())
        .unwrap_or_default();
    let mut rows = vec![];
    let mut header = vec!["rank".to_string(), "trial".to_string()];
    header.extend(names.iter().cloned());
    header.extend(
        [
            "best_val_loss",
            "val_acc_%",
            "test_loss",
            "test_acc_%",
            "steps",
            "seconds",
            "status",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    rows.push(header);
    for (rank, t) in trials.iter().enumerate() {
        let mut r = vec![(rank + 1).to_string(), t.id.to_string()];
        r.extend(t.values.iter().map(|(_, v)| v.clone()));
        match &t.result {
            Ok(s) => {
                r.push(opt(s.best_val_loss.or(s.val_loss), false));
                r.push(opt(s.val_accuracy, true));
                r.push(opt(s.test_loss, false));
                r.push(opt(s.test_accuracy, true));
                r.push(s.steps.to_string());
                r.push(format!("{:.2}", s.train_seconds));
                r.push(if s.stopped_early { "early-stop" } else { "ok" }.to_string());
            }
            Err(e) => {
                r.extend(["-", "-", "-", "-", "-", "-"].iter().map(|s| s.to_string()));
                r.push(format!("error: {e}"));
            }
        }
        rows.push(r);
    }
    rows
}

/// Render rows as an aligned text table.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| format!("{s:<w$}", w = widths[c]))
            .collect();
        out += line.join("  ").trim_end();
        out.push('\n');
    }
    out
}

/// Rows as CSV (cells with commas or quotes are quoted).
pub fn csv(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .map(|s| {
                if s.contains([',', '"', '\n']) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s.clone()
                }
            })
            .collect();
        out += &cells.join(",");
        out.push('\n');
    }
    out
}

/// Parse check used by tests: `descent sweep` arguments.
pub fn parse_sweep(argv: &[&str]) -> std::result::Result<SweepArgs, clap::Error> {
    let cli = Cli::try_parse_from(argv)?;
    match cli.command {
        Command::Sweep(s) => Ok(*s),
        _ => Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_cartesian_product() {
        let p = vec![
            parse_param("lr=0.1,0.01").unwrap(),
            parse_param("batch-size=16,32,64").unwrap(),
        ];
        let t = expand(&p, Search::Grid, 0, 0).unwrap();
        assert_eq!(t.len(), 6);
        assert_eq!(
            t[0],
            [
                ("lr".into(), "0.1".into()),
                ("batch-size".into(), "16".into())
            ]
        );
        let h = parse_param("hidden=64,128/128").unwrap();
        assert_eq!(h.dist, Dist::Choices(vec!["64".into(), "128,128".into()]));
    }

    #[test]
    fn random_draws_stay_in_range_and_are_seeded() {
        let p = vec![
            parse_param("lr=log:1e-4:1e-1").unwrap(),
            parse_param("momentum=uniform:0:0.99").unwrap(),
            parse_param("batch-size=int:16:128").unwrap(),
        ];
        let a = expand(&p, Search::Random, 50, 7).unwrap();
        assert_eq!(a, expand(&p, Search::Random, 50, 7).unwrap());
        assert_ne!(a, expand(&p, Search::Random, 50, 8).unwrap());
        for t in &a {
            let lr: f64 = t[0].1.parse().unwrap();
            assert!((1e-4 * 0.999..=1e-1 * 1.001).contains(&lr));
            let m: f64 = t[1].1.parse().unwrap();
            assert!((0.0..=0.99).contains(&m));
            let b: i64 = t[2].1.parse().unwrap();
            assert!((16..=128).contains(&b));
        }
        assert!(expand(&p, Search::Grid, 0, 0).is_err());
    }

    #[test]
    fn bad_params_are_rejected() {
        assert!(parse_param("lr").is_err());
        assert!(parse_param("learning-rate=0.1").is_err());
        assert!(parse_param("amsgrad=true").is_err());
        assert!(parse_param("lr=log:0:1").is_err());
        assert!(parse_param("lr=uniform:1:0").is_err());
        assert!(parse_param("lr=").is_err());
        for huge in ["batch-size=int:1:1e300", "batch-size=int:-1e300:1e300"] {
            let e = parse_param(huge).unwrap_err();
            assert!(e.to_string().contains("between -2^53 and 2^53"), "{e}");
        }
        // The widest accepted range draws in range.
        let p = [parse_param("seed=int:-9007199254740992:9007199254740992").unwrap()];
        for t in expand(&p, Search::Random, 100, 3).unwrap() {
            let v: i64 = t[0].1.parse().unwrap();
            assert!(v.abs() <= 1 << 53, "{v}");
        }
    }

    #[test]
    fn a_flag_searched_twice_is_rejected() {
        let p = vec![
            parse_param("lr=0.1").unwrap(),
            parse_param("batch-size=8").unwrap(),
            parse_param("--lr=0.2").unwrap(),
        ];
        for search in [Search::Grid, Search::Random] {
            let e = expand(&p, search, 4, 0).unwrap_err();
            assert!(
                e.to_string().contains("--param lr: given more than once"),
                "{e}"
            );
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn strip_removes_flags_and_values() {
        let v: Vec<String> = [
            "--lr",
            "0.1",
            "--param",
            "lr=1",
            "--nesterov",
            "--trials=3",
            "--seed",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let drop: Vec<String> = ["lr", "param", "trials"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = strip(&v, &drop, &|n| n != "nesterov");
        assert_eq!(out, ["--nesterov", "--seed", "1"]);
    }

    #[test]
    fn csv_quotes() {
        let rows = vec![vec!["a".to_string(), "1,2".to_string()]];
        assert_eq!(csv(&rows), "a,\"1,2\"\n");
        assert!(table(&rows).starts_with("a  1,2"));
    }
}
