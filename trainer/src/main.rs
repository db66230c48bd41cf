//! The `descent` binary: `descent train` (default), `descent eval`, `descent sweep`.

use clap::Parser;
use descent_trainer::cli::{Cli, Command};
use descent_trainer::{clap_one_line, config, eval, sweep, train, wire, Error, Result};

fn threads(n: Option<usize>) -> Result<()> {
    descent_trainer::cli::check_threads(n)?;
    if let Some(n) = n {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::Runtime(format!("--threads {n}: {e}")))?;
    }
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map(|a| format!("{:.2}%", 100.0 * a))
        .unwrap_or_else(|| "-".into())
}

fn real_main() -> Result<()> {
    let argv = cli_args()?;
    let argv = config::expand(argv)?;
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            return Err(Error::usage(clap_one_line(&e)));
        }
    };
    match cli.command {
        Command::Bench(args) => {
            descent_trainer::cli::check_threads(args.threads)?;
            let report = descent_trainer::bench::run(descent_trainer::bench::BenchOptions {
                quick: args.quick,
                threads: args.threads,
            });
            print!("{}", descent_trainer::bench::format_table(&report));
            if let Some(path) = &args.json {
                let json = descent_trainer::bench::to_json(&report);
                if path.as_os_str() == "-" {
                    println!("{json}");
                } else {
                    std::fs::write(path, json + "\n")
                        .map_err(|e| Error::Runtime(format!("{}: {e}", path.display())))?;
                }
            }
        }
        Command::Train(args) => {
            threads(args.threads)?;
            train::validate(&args)?;
            let parts = wire::build(&args)?;
            let s = train::run(&args, parts, train::RunOptions::default())?;
            // Report the test split; without one, the validation (else training) split.
            let (split, loss, acc) = match (s.test_loss, s.val_loss) {
                (Some(l), _) => ("test", l, s.test_accuracy),
                (None, Some(l)) => ("val", l, s.val_accuracy),
                (None, None) => ("train", s.train_loss, s.train_accuracy),
            };
            match acc {
                Some(a) => println!(
                    "{split} accuracy: {} ({split} loss {loss:.4}, {} steps, {:.2} epochs, {:.2}s, {:.0} samples/s)",
                    pct(Some(a)),
                    s.steps,
                    s.epochs,
                    s.train_seconds,
                    s.samples_per_second
                ),
                None => println!(
                    "{split} loss: {loss:.6e} ({} steps, {:.2} epochs, {:.2}s)",
                    s.steps, s.epochs, s.train_seconds
                ),
            }
            if let Some(ls) = &s.least_squares {
                println!(
                    "least squares: |theta - theta_hat| = {:.3e}, train MSE {:.6e} (optimum {:.6e}){}",
                    ls.distance_to_optimum,
                    ls.train_mse,
                    ls.optimum_train_mse,
                    ls.distance_to_true
                        .map(|d| format!(", |theta - theta_true| = {d:.3e}"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Eval(args) => {
            threads(args.threads)?;
            let r = eval::run_eval(&args)?;
            match r.accuracy {
                Some(a) => println!(
                    "{} accuracy: {:.2}% (loss {:.4}, {} rows)",
                    r.split,
                    100.0 * a,
                    r.loss,
                    r.rows
                ),
                None => println!("{} loss: {} ({} rows)", r.split, r.loss, r.rows),
            }
        }
        Command::Sweep(args) => {
            threads(args.train.threads)?;
            let trials = sweep::run(&argv, &args)?;
            let rows = sweep::leaderboard(&trials);
            print!("{}", sweep::table(&rows));
            if let Some(p) = &args.leaderboard {
                descent_trainer::checkpoint::write_atomic(p, sweep::csv(&rows).as_bytes())?;
            }
            if let Some(e) = sweep::all_failed(&trials) {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn cli_args() -> Result<Vec<String>> {
    let mut v = Vec::new();
    for a in std::env::args_os() {
        match a.into_string() {
            Ok(s) => v.push(s),
            Err(a) => return Err(Error::usage(format!("argument {a:?} is not valid UTF-8"))),
        }
    }
    Ok(descent_trainer::cli::with_default_subcommand(v))
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
