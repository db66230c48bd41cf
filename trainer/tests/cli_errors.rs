//! Bad input to the `descent` binary: one-line error on stderr, exit status 2, no panic.

use std::process::Command;

fn descent(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .output()
        .expect("run descent");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_usage_error(args: &[&str], needle: &str) {
    let (code, _out, err) = descent(args);
    assert_eq!(code, 2, "{args:?}: stderr {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err} lacks {needle}");
    assert!(!err.contains("panicked"), "{err}");
}

fn tmp(name: &str, text: &str) -> String {
    let d = std::env::temp_dir().join(format!("descent-cli-errors-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn unknown_flag() {
    assert_usage_error(&["train", "--learning-rate", "0.1"], "--learning-rate");
    assert_usage_error(&["--bogus"], "--bogus");
}

#[test]
fn invalid_values() {
    // A thread count no pool should have is refused up front (`--threads 100000`
    // was still creating threads after a minute), for every subcommand that takes one, and
    // the sweep's --parallel.
    for sub in [
        &["train"][..],
        &["eval", "--checkpoint", "x"],
        &["sweep", "--param", "lr=0.1"],
        &["bench"],
    ] {
        for n in ["100000", "0"] {
            let mut a = sub.to_vec();
            a.extend(["--threads", n]);
            assert_usage_error(&a, &format!("--threads {n}"));
        }
    }
    for n in ["100000", "0"] {
        let a = ["sweep", "--param", "lr=0.1", "--parallel", n];
        assert_usage_error(&a, &format!("--parallel {n}"));
    }
    assert_usage_error(&["train", "--lr", "fast"], "fast");
    assert_usage_error(&["train", "--batch-size", "0"], "--batch-size");
    assert_usage_error(&["train", "--optimizer", "lion"], "lion");
    assert_usage_error(&["train", "--optimizer", "sgd", "--lr=-0.5"], "lr");
    assert_usage_error(
        &["train", "--optimizer", "adam", "--momentum", "0.9"],
        "--momentum",
    );
    assert_usage_error(
        &["train", "--optimizer", "adam", "--betas", "0.9,1.5"],
        "betas[1]` = 1.5",
    );
    assert_usage_error(
        &["train", "--optimizer", "adam", "--betas", "0.9"],
        "--betas 0.9:",
    );
    assert_usage_error(
        &["train", "--optimizer", "adam", "--betas", "0.9,0.95,0.99"],
        "--betas 0.9,0.95,0.99:",
    );
    assert_usage_error(&["train", "--scheduler", "warp"], "warp");
    assert_usage_error(
        &[
            "train",
            "--scheduler",
            "StepLR",
            "--sched-args",
            "gamma=0.5",
        ],
        "step_size",
    );
    // PyTorch raises for cycle_momentum=True on an optimizer without momentum or betas.
    assert_usage_error(
        &[
            "train",
            "--optimizer",
            "adagrad",
            "--scheduler",
            "OneCycleLR",
            "--sched-args",
            "max_lr=0.1,total_steps=10",
        ],
        "cycle_momentum",
    );
    assert_usage_error(
        &[
            "train",
            "--scheduler",
            "SequentialLR",
            "--sched-args",
            "schedulers=[LinearLR(total_iters=2),Warp()],milestones=[2]",
        ],
        "Warp",
    );
    assert_usage_error(&["train", "--loss", "MSELoss"], "regression loss");
    assert_usage_error(
        &["train", "--loss", "ce", "--loss-args", "weight=[1,2]"],
        "one per class (10)",
    );
    assert_usage_error(
        &["train", "--loss", "HingeLoss"],
        "--loss HingeLoss: unknown loss",
    );
    // A lambda that does not compile is quoted with the position of the problem.
    assert_usage_error(
        &[
            "train",
            "--scheduler",
            "LambdaLR",
            "--sched-args",
            "lr_lambda=lambda e: e.real",
        ],
        "`lambda e: e.real`: at byte 10",
    );
    // One that gives no valid lr names lr_lambda.
    assert_usage_error(
        &[
            "train",
            "--scheduler",
            "LambdaLR",
            "--sched-args",
            "lr_lambda=lambda e: 1 / e",
        ],
        "lr_lambda",
    );
    assert_usage_error(&["train", "--epochs", "3", "--iters", "5"], "--iters");
    assert_usage_error(&["train", "--metrics", "m.txt"], "m.txt");
    assert_usage_error(&["train", "--plot", "p.gif"], "p.gif");
    assert_usage_error(&["train", "--resume"], "--checkpoint-dir");
    // --activation: an unknown name, a parameter it lacks, a value that is no number or out
    // of range: one line naming the flag and what was expected.
    assert_usage_error(
        &["train", "--activation", "relu7"],
        "--activation relu7: expected relu",
    );
    assert_usage_error(
        &["train", "--activation", "elu:beta=2"],
        "--activation elu:beta=2: elu takes the parameter alpha",
    );
    assert_usage_error(
        &["train", "--activation", "selu:alpha=2"],
        "selu takes no parameters",
    );
    assert_usage_error(
        &["train", "--activation", "leaky_relu:negative_slope=steep"],
        "negative_slope: expected a number",
    );
    assert_usage_error(
        &["train", "--activation", "celu:alpha=0"],
        "--activation celu:alpha=0: alpha = 0: expected nonzero",
    );
    assert_usage_error(
        &["train", "--activation", "softplus:beta=0"],
        "beta = 0: expected nonzero",
    );
    assert_usage_error(
        &["train", "--activation", "hardtanh:min_val=2"],
        "max_val = 1: expected >= min_val",
    );
    assert_usage_error(
        &["train", "--activation", "elu:alpha=inf"],
        "alpha = inf: expected a finite number",
    );
    assert_usage_error(
        &["train", "--activation", "elu:0.5"],
        "expected name:key=value",
    );
    // Sizes whose buffers cannot exist (more than isize::MAX bytes, so refused on any machine
    // without touching memory) panicked with a capacity overflow.
    assert_usage_error(
        &[
            "train",
            "--dataset",
            "iris",
            "--hidden",
            "1152921504606846976",
        ],
        "do not fit in memory",
    );
    assert_usage_error(
        &[
            "train",
            "--dataset",
            "synthetic-linear",
            "--synthetic-n",
            "4611686018427387904",
            "--synthetic-m",
            "4",
        ],
        "do not fit in memory",
    );
}

/// `--betas beta1,beta2` (the form `--help` documents), `--betas beta1 beta2` (the README's)
/// and `betas = [beta1, beta2]` in a config file all set both betas.
#[test]
fn betas_in_every_documented_form() {
    let run = |extra: &[&str]| {
        let mut a = vec![
            "train",
            "--dataset",
            "iris",
            "--iters",
            "3",
            "--optimizer",
            "adam",
            "--quiet",
            "--no-progress",
        ];
        a.extend_from_slice(extra);
        let (code, out, err) = descent(&a);
        assert_eq!(code, 0, "{extra:?}: {err}");
        // The result without the timing (`..., 3 steps, 0.75 epochs, 0.00s, N samples/s)`).
        out.split(" epochs").next().unwrap().to_string()
    };
    let spaced = run(&["--betas", "0.5", "0.6"]);
    assert_eq!(run(&["--betas", "0.5,0.6"]), spaced);
    let p = tmp("betas.toml", "betas = [0.5, 0.6]\n");
    assert_eq!(run(&["--config", &p]), spaced);
    assert_ne!(run(&[]), spaced, "the betas had no effect");
}

#[test]
fn config_file_errors_name_file_and_key() {
    let p = tmp("unknown.toml", "lr = 0.1\nlearning_rate = 0.2\n");
    assert_usage_error(&["train", "--config", &p], "learning_rate");
    assert_usage_error(&["train", "--config", &p], "unknown.toml");
    let p = tmp("badvalue.toml", "batch-size = \"many\"\n");
    assert_usage_error(&["train", "--config", &p], "badvalue.toml");
    let p = tmp("broken.toml", "lr = \n");
    assert_usage_error(&["train", "--config", &p], "broken.toml");
    assert_usage_error(
        &["train", "--config", "/nonexistent/c.toml"],
        "/nonexistent/c.toml",
    );
}

#[test]
fn unreadable_checkpoint() {
    assert_usage_error(
        &["eval", "--checkpoint", "/nonexistent/x.safetensors"],
        "/nonexistent/x.safetensors",
    );
    let p = tmp("garbage.safetensors", "this is not a checkpoint");
    assert_usage_error(&["eval", "--checkpoint", &p], "garbage.safetensors");
}

#[test]
fn sweep_errors() {
    assert_usage_error(&["sweep", "--param", "warp=1,2"], "warp");
    assert_usage_error(
        &["sweep", "--search", "grid", "--param", "lr=log:1e-3:1e-1"],
        "grid",
    );
    let sweep_lr = |values: &str| {
        let param = format!("lr={values}");
        descent(&[
            "sweep",
            "--dataset",
            "iris",
            "--iters",
            "2",
            "--param",
            &param,
        ])
    };
    // A negative value reaches the flag's own check, the trial's error in the leaderboard
    // (was: the whole sweep refused with "unexpected argument '-0' found").
    let (code, out, err) = sweep_lr("0.1,-0.5");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("invalid argument `lr` = -0.5"), "{out}");
    // No trial succeeded: the leaderboard is still printed, and the sweep fails with the
    // first trial's error and its status (was: exit 0).
    let (code, out, err) = sweep_lr("-0.1,-0.5");
    assert_eq!(code, 2, "{err}");
    assert!(out.contains("invalid argument `lr` = -0.5"), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: sweep: all 2 trials failed; trial 0: ")
            && err.contains("`lr` = -0.1"),
        "{err}"
    );
}

#[test]
fn help_and_version_succeed() {
    let (code, out, _) = descent(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("train") && out.contains("sweep"));
    let (code, out, _) = descent(&["train", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--clip-grad-norm"));
}

/// `--average` and its flags: each bad value or combination is a usage error naming the flag.
#[test]
fn averaging_errors() {
    assert_usage_error(&["train", "--average", "mean"], "--average mean");
    assert_usage_error(
        &["train", "--average", "ema", "--ema-decay", "1.5"],
        "decay",
    );
    assert_usage_error(
        &["train", "--average", "swa", "--ema-decay", "0.9"],
        "--ema-decay",
    );
    assert_usage_error(
        &["train", "--ema-decay", "0.9"],
        "--ema-decay needs --average",
    );
    assert_usage_error(&["train", "--average-start", "5"], "--average-start");
    assert_usage_error(
        &["train", "--average", "swa", "--average-every", "0"],
        "--average-every 0",
    );
    assert_usage_error(&["train", "--average-start", "-1"], "-1");
    // Without --average, --eval-averaged is ASGD's alone.
    assert_usage_error(
        &["train", "--optimizer", "sgd", "--eval-averaged"],
        "--eval-averaged does not apply",
    );
    assert_usage_error(
        &["train", "--scheduler", "SWALR", "--sched-args", "swa_lr=-1"],
        "swa_lr",
    );
    assert_usage_error(
        &[
            "train",
            "--scheduler",
            "SWALR",
            "--sched-args",
            "swa_lr=0.1,anneal_strategy=exp",
        ],
        "anneal_strategy",
    );
}
