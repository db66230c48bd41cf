//! Hostile input to the `descent` binary: malformed data files, corrupt and truncated
//! checkpoints, unwritable outputs, and `kill -9` in the middle of training.
//!
//! Every failure must be a clear one-line `error: ...` on stderr and a non-zero exit status
//! that is not a panic (no "panicked at", status != 101), and must leave the previous
//! checkpoint byte for byte as it was. A run killed with SIGKILL and resumed must end with
//! exactly the parameters of an uninterrupted run.
//!
//! Write failures: the tests run as root, so `chmod` cannot make a directory unwritable.
//! They use paths the kernel refuses for everyone instead: a checkpoint directory *under a
//! regular file* (ENOTDIR), outputs under `/proc/self/` (no file can be created there), a
//! checkpoint destination occupied by a non-empty directory, and a file-size limit
//! (`ulimit -f`) that makes the write of the temporary file itself fail with EFBIG.
//! `/dev/full` is deliberately not used: outputs written by temp-file-and-rename would replace
//! the device node with a regular file (reported as a bug).

#[path = "fixtures/hostile/mod.rs"]
mod hostile;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use descent_trainer::checkpoint::{to_hex, Checkpoint, FORMAT_VERSION};
use hostile::*;

struct Out {
    code: Option<i32>,
    stderr: String,
}

fn descent(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .output()
        .expect("run descent");
    Out {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A clean failure: non-zero exit that is not a panic, one `error:` line containing `expect`.
fn assert_clean_failure(case: &str, o: &Out, expect: &str) {
    assert!(
        !o.stderr.contains("panicked at"),
        "{case}: panicked:\n{}",
        o.stderr
    );
    match o.code {
        Some(0) => panic!("{case}: succeeded although it should fail"),
        Some(101) => panic!("{case}: exit status 101 (panic):\n{}", o.stderr),
        None => panic!("{case}: killed by a signal:\n{}", o.stderr),
        Some(_) => {}
    }
    let err = o.stderr.trim_end();
    assert!(err.starts_with("error: "), "{case}: stderr `{err}`");
    assert_one_line(case, err, expect);
}

const QUICK: [&str; 4] = ["--epochs", "1", "--no-progress", "--quiet"];

#[test]
fn malformed_idx_sets_fail_cleanly() {
    for f in idx_fixtures() {
        let d = write_idx_fixture(&fresh_dir(f.case), &f);
        let mut a = vec!["train", "--dataset", "mnist", "--data-dir", s(&d)];
        a.extend(QUICK);
        assert_clean_failure(f.case, &descent(&a), f.expect);
    }
    // The baseline trains.
    let d = fresh_dir("idx-ok");
    write_valid_idx(&d);
    let mut a = vec!["train", "--dataset", "mnist", "--data-dir", s(&d)];
    a.extend(QUICK);
    let o = descent(&a);
    assert_eq!(o.code, Some(0), "valid IDX set: {}", o.stderr);
}

#[test]
fn malformed_csv_files_fail_cleanly() {
    let d = fresh_dir("csv");
    for f in csv_fixtures() {
        let p = write_csv_fixture(&d, &f);
        let mut a = vec!["train", "--dataset", s(&p)];
        a.extend(QUICK);
        assert_clean_failure(f.case, &descent(&a), f.expect);
    }
    let p = d.join("ok.csv");
    std::fs::write(&p, valid_csv()).unwrap();
    let mut a = vec!["train", "--dataset", s(&p)];
    a.extend(QUICK);
    let o = descent(&a);
    assert_eq!(o.code, Some(0), "valid CSV: {}", o.stderr);
}

/// Arguments of the small checkpointed run the checkpoint tests start from.
fn run_args(dir: &Path, iters: &str) -> Vec<String> {
    [
        "train",
        "--dataset",
        "iris",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--scheduler",
        "StepLR",
        "--sched-args",
        "step_size=1,gamma=0.9",
        "--eval-every",
        "20",
        "--seed",
        "5",
        "--iters",
        iters,
        "--checkpoint-dir",
        s(dir),
        "--no-progress",
        "--quiet",
    ]
    .map(String::from)
    .to_vec()
}

fn run(args: &[String]) -> Out {
    descent(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A directory holding the checkpoints of 40 steps.
fn trained_dir(tag: &str) -> PathBuf {
    let d = fresh_dir(tag);
    let o = run(&run_args(&d, "40"));
    assert_eq!(o.code, Some(0), "baseline run: {}", o.stderr);
    assert!(d.join("last.safetensors").is_file());
    d
}

/// The valid checkpoint with one metadata entry replaced (or removed when `value` is None).
fn with_meta(valid: &[u8], key: &str, value: Option<&str>) -> Vec<u8> {
    let mut c = Checkpoint::from_bytes(valid, Path::new("x")).unwrap();
    match value {
        Some(v) => c.meta.insert(key.into(), v.into()),
        None => c.meta.remove(key),
    };
    c.to_bytes().unwrap()
}

/// The valid checkpoint with one binary state entry replaced (or removed when `value` is
/// None).
fn with_blob(valid: &[u8], key: &str, value: Option<&[u8]>) -> Vec<u8> {
    let mut c = Checkpoint::from_bytes(valid, Path::new("x")).unwrap();
    match value {
        Some(v) => c.blobs.insert(key.into(), v.to_vec()),
        None => c.blobs.remove(key),
    };
    c.to_bytes().unwrap()
}

/// The valid checkpoint in format version 1 (the state as metadata: JSON text for `state`,
/// hex for the binary parts), after `edit`.
fn as_version_1(valid: &[u8], edit: impl FnOnce(&mut Checkpoint)) -> Vec<u8> {
    let mut c = Checkpoint::from_bytes(valid, Path::new("x")).unwrap();
    for (k, b) in std::mem::take(&mut c.blobs) {
        let v = if k == "state" {
            String::from_utf8(b).unwrap()
        } else {
            to_hex(&b)
        };
        c.meta.insert(k, v);
    }
    c.meta.insert("format_version".into(), "1".into());
    edit(&mut c);
    c.to_bytes().unwrap()
}

#[test]
fn corrupt_checkpoints_fail_resume_and_eval_cleanly_and_stay_untouched() {
    let d = trained_dir("ckpt");
    let last = d.join("last.safetensors");
    let valid = std::fs::read(&last).unwrap();
    let mut flipped = valid.clone();
    flipped[12] ^= 0x5a; // inside the JSON header
    let mut tensor_tail = valid.clone();
    let n = tensor_tail.len();
    tensor_tail.truncate(n - 3);
    let c = Checkpoint::from_bytes(&valid, Path::new("x")).unwrap();
    let mut wrong_shape = c.clone();
    wrong_shape.tensors[0].1 = vec![1, wrong_shape.tensors[0].2.len()];
    let huge_steps = {
        let st = String::from_utf8(c.blobs["state"].clone()).unwrap();
        st.replacen("\"step\":", "\"step\":18446744073709551615,\"_x\":", 1)
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "last.safetensors"),
        (
            "truncated-half",
            valid[..valid.len() / 2].to_vec(),
            "last.safetensors",
        ),
        ("truncated-tail", tensor_tail, "last.safetensors"),
        (
            "garbage",
            b"not a checkpoint at all".to_vec(),
            "last.safetensors",
        ),
        ("header-bit-flip", flipped, "last.safetensors"),
        (
            "header-length-huge",
            {
                let mut b = valid.clone();
                b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
                b
            },
            "last.safetensors",
        ),
        (
            "not-descent",
            with_meta(&valid, "format", Some("pytorch")),
            "descent checkpoint",
        ),
        (
            "future-version",
            with_meta(&valid, "format_version", Some("99")),
            "format version `99`",
        ),
        (
            "no-state",
            with_blob(&valid, "state", None),
            "descent.state",
        ),
        (
            "state-not-json",
            with_blob(&valid, "state", Some(b"{oops")),
            "last.safetensors",
        ),
        (
            "optimizer-missing",
            with_blob(&valid, "optimizer", None),
            "descent.optimizer",
        ),
        (
            "optimizer-garbage",
            with_blob(&valid, "optimizer", Some(b"DSOP garbage")),
            "optimizer",
        ),
        (
            "scheduler-garbage",
            with_blob(&valid, "scheduler", Some(&[1, 2, 3])),
            "scheduler",
        ),
        (
            "loader-garbage",
            with_blob(&valid, "loader", Some(b"DSLD")),
            "loader",
        ),
        (
            "loader-position-off-boundary",
            with_blob(
                &valid,
                "loader",
                Some(&{
                    let mut b = b"DSLD".to_vec();
                    b.extend(1u32.to_le_bytes());
                    b.extend([0u64, 7, 3].iter().flat_map(|v| v.to_le_bytes()));
                    b
                }),
            ),
            "batch boundary",
        ),
        (
            "state-tensor-unknown",
            with_blob(&valid, "extra", Some(b"x")),
            "descent.extra",
        ),
        (
            "v1-optimizer-not-hex",
            as_version_1(&valid, |c| {
                c.meta.insert("optimizer".into(), "zz".into());
            }),
            "optimizer",
        ),
        (
            "v1-optimizer-garbage",
            as_version_1(&valid, |c| {
                c.meta.insert("optimizer".into(), to_hex(b"DSOP garbage"));
            }),
            "optimizer",
        ),
        (
            "wrong-shape",
            wrong_shape.to_bytes().unwrap(),
            "last.safetensors",
        ),
    ];
    // A step counter far beyond --iters is not necessarily an error (a finished run resumed has
    // nothing left to do), but it must not panic or overflow.
    std::fs::write(
        &last,
        with_blob(&valid, "state", Some(huge_steps.as_bytes())),
    )
    .unwrap();
    let mut a = run_args(&d, "80");
    a.push("--resume".into());
    let o = run(&a);
    assert!(
        !o.stderr.contains("panicked at") && o.code != Some(101) && o.code.is_some(),
        "resume/state-huge-step: {:?} {}",
        o.code,
        o.stderr
    );
    for (case, bytes, expect) in cases {
        std::fs::write(&last, &bytes).unwrap();
        let mut a = run_args(&d, "80");
        a.push("--resume".into());
        let o = run(&a);
        assert_clean_failure(&format!("resume/{case}"), &o, expect);
        // A bad checkpoint is bad input: exit status 2, and the error names the file.
        assert_eq!(o.code, Some(2), "resume/{case}: {}", o.stderr);
        assert!(
            o.stderr.contains("last.safetensors"),
            "resume/{case}: {}",
            o.stderr
        );
        assert_eq!(
            std::fs::read(&last).unwrap(),
            bytes,
            "resume/{case}: the checkpoint was modified by a failed resume"
        );
        let o = descent(&["eval", "--checkpoint", s(&last)]);
        if case.starts_with("state")
            || case.starts_with("optimizer")
            || case.starts_with("scheduler")
            || case.starts_with("loader")
            || case == "no-state"
            || case == "v1-optimizer-garbage"
        {
            // `eval` needs only the parameters and the config: these may evaluate fine.
            assert!(
                !o.stderr.contains("panicked at") && o.code != Some(101),
                "eval/{case}: {}",
                o.stderr
            );
        } else {
            assert_clean_failure(&format!("eval/{case}"), &o, "last.safetensors");
        }
    }
}

/// `--resume` with a flag that shapes the run changed (learning rate, activation, batch size,
/// seed, evaluation interval) is refused with an error naming the flag and both values, and
/// leaves the checkpoint as it was. Before, each of these resumed silently: the parameters
/// trained with one configuration continued under another (a relu-trained net evaluated with
/// tanh, a different batch order), so the run could not continue bitwise as `--resume`
/// promises. Changing only the run's length still resumes.
#[test]
fn resume_with_changed_flags_is_refused() {
    let d = trained_dir("changed");
    let last = d.join("last.safetensors");
    let before = std::fs::read(&last).unwrap();
    let with = |flag: &str, value: Option<&str>| {
        let mut a = run_args(&d, "80");
        a.push("--resume".into());
        match (a.iter().position(|x| x == flag), value) {
            (Some(i), Some(v)) => a[i + 1] = v.into(),
            (None, Some(v)) => a.extend([flag.into(), v.into()]),
            (None, None) => a.push(flag.into()),
            (Some(_), None) => unreachable!(),
        }
        a
    };
    for (flag, value, expect) in [
        ("--lr", Some("0.02"), "--lr 0.02 (checkpoint: 0.01)"),
        (
            "--activation",
            Some("tanh"),
            "--activation tanh (checkpoint: relu)",
        ),
        (
            "--batch-size",
            Some("16"),
            "--batch-size 16 (checkpoint: 32)",
        ),
        ("--seed", Some("6"), "--seed 6 (checkpoint: 5)"),
        (
            "--eval-every",
            Some("10"),
            "--eval-every 10 (checkpoint: 20)",
        ),
        ("--amsgrad", None, "--amsgrad true (checkpoint: false)"),
        (
            "--loss-args",
            Some("label_smoothing=0.1"),
            "--loss-args label_smoothing=0.1 (checkpoint: unset)",
        ),
    ] {
        let o = run(&with(flag, value));
        assert_clean_failure(&format!("resume with {flag}"), &o, expect);
        assert!(o.stderr.contains("last.safetensors"), "{}", o.stderr);
        assert_eq!(o.code, Some(2), "{flag}: {}", o.stderr);
        assert_eq!(std::fs::read(&last).unwrap(), before, "{flag}");
    }
    // Equivalent spellings of the same settings resume: names in another case, the default
    // model and loss named, the scheduler's arguments with spaces.
    let mut a = run_args(&d, "50");
    a.push("--resume".into());
    for (flag, v) in [
        ("--optimizer", "Adam"),
        ("--scheduler", "steplr"),
        ("--sched-args", "step_size=1, gamma=0.9"),
    ] {
        let i = a.iter().position(|x| x == flag).unwrap();
        a[i + 1] = v.into();
    }
    a.extend(["--model".into(), "mlp".into()]);
    a.extend(["--loss".into(), "cross-entropy".into()]);
    let o = run(&a);
    assert_eq!(o.code, Some(0), "resume, equivalent flags: {}", o.stderr);
    let mut a = run_args(&d, "60");
    a.push("--resume".into());
    let o = run(&a);
    assert_eq!(
        o.code,
        Some(0),
        "resume with a longer --iters: {}",
        o.stderr
    );
    // A checkpoint written before a flag existed has no key for it: it resumes when this run
    // leaves the flag unset (before, every added flag made older checkpoints un-resumable),
    // and a missing key this run does set still differs.
    let valid = std::fs::read(&last).unwrap();
    let config = |drop: &[&str]| {
        let c = Checkpoint::from_bytes(&valid, Path::new("x")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&c.meta["config"]).unwrap();
        for k in drop {
            assert!(v.as_object_mut().unwrap().remove(*k).is_some(), "{k}");
        }
        v.to_string()
    };
    std::fs::write(
        &last,
        with_meta(&valid, "config", Some(&config(&["etas", "step_sizes"]))),
    )
    .unwrap();
    let mut a = run_args(&d, "70");
    a.push("--resume".into());
    let o = run(&a);
    assert_eq!(
        o.code,
        Some(0),
        "resume, keys of later flags missing: {}",
        o.stderr
    );
    std::fs::write(&last, with_meta(&valid, "config", Some(&config(&["lr"])))).unwrap();
    let o = run(&with("--iters", Some("80")));
    assert_clean_failure("resume, lr missing", &o, "--lr 0.01 (checkpoint: unset)");
}

#[test]
fn resume_finds_a_csv_data_set_by_another_path_and_defaults_spelled_out() {
    let d = fresh_dir("csv-resume");
    let csv = d.join("points.csv");
    let mut text = String::from("a,b,label\n");
    for i in 0..60 {
        text += &format!("{},{},{}\n", i % 7, i % 5, i % 2);
    }
    std::fs::write(&csv, text).unwrap();
    let ck = d.join("ck");
    let args = |path: &str, iters: &str, extra: &[&str]| {
        let mut a = vec![
            "train",
            "--dataset",
            path,
            "--iters",
            iters,
            "--checkpoint-dir",
            s(&ck),
            "--quiet",
            "--no-progress",
        ];
        if iters != "10" {
            a.push("--resume");
        }
        a.extend(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let o = run(&args(s(&csv), "10", &[]));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    // The same file by another path; the data-dependent defaults given explicitly (the
    // default optimizer and its lr, the default model).
    let other = format!(
        "{}/../{}/points.csv",
        s(&d),
        d.file_name().unwrap().to_str().unwrap()
    );
    let explicit = ["--optimizer", "adam", "--lr", "0.001", "--model", "mlp"];
    let o = run(&args(&other, "20", &explicit));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    // `csv:PATH` names the same file.
    let o = run(&args(&format!("csv:{}", s(&csv)), "25", &[]));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    // Another lr is still refused.
    let o = run(&args(s(&csv), "30", &["--lr", "0.5"]));
    assert_clean_failure("another lr", &o, "--lr 0.5 (checkpoint: 0.001)");
}

#[test]
fn unwritable_outputs_fail_cleanly() {
    let d = fresh_dir("unwritable");
    let file = d.join("a-regular-file");
    std::fs::write(&file, b"x").unwrap();
    // Checkpoint directory below a regular file: ENOTDIR for everyone, root included.
    let under_file = file.join("ckpt");
    let o = run(&run_args(&under_file, "40"));
    assert_clean_failure("checkpoint-dir under a file", &o, "a-regular-file");
    // An unwritable output is not bad input: exit status 1 (README), here and below.
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    // Outputs in /proc: no file can be created there, root included. (Not /dev/full: outputs
    // written with the atomic temp-file-and-rename would replace the device node itself.)
    for flag in ["--metrics", "--summary-json", "--plot"] {
        let target = match flag {
            "--metrics" => "/proc/self/descent-metrics.csv",
            "--summary-json" => "/proc/self/descent-summary.json",
            _ => "/proc/self/descent-plot.svg",
        };
        let o = descent(&[
            "train",
            "--dataset",
            "iris",
            "--iters",
            "40",
            "--eval-every",
            "20",
            flag,
            target,
            "--no-progress",
            "--quiet",
        ]);
        assert_clean_failure(&format!("{flag} {target}"), &o, target);
        assert_eq!(o.code, Some(1), "{flag} {target}: {}", o.stderr);
        // With the flag's extension, so that the failure is the write, not the name.
        let under = file.join(Path::new(target).file_name().unwrap());
        let o = descent(&[
            "train",
            "--dataset",
            "iris",
            "--iters",
            "40",
            "--eval-every",
            "20",
            flag,
            s(&under),
            "--no-progress",
            "--quiet",
        ]);
        assert_clean_failure(&format!("{flag} under a file"), &o, "a-regular-file");
        assert_eq!(o.code, Some(1), "{flag} under a file: {}", o.stderr);
    }
}

#[test]
fn unwritable_eval_and_sweep_outputs_exit_1() {
    let d = trained_dir("unwritable-eval");
    let last = d.join("last.safetensors");
    let o = descent(&[
        "eval",
        "--checkpoint",
        s(&last),
        "--summary-json",
        "/proc/self/descent-eval.json",
    ]);
    assert_clean_failure("eval --summary-json", &o, "/proc/self/descent-eval.json");
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    let o = descent(&[
        "sweep",
        "--dataset",
        "iris",
        "--iters",
        "3",
        "--param",
        "lr=0.01",
        "--leaderboard",
        "/proc/self/descent-leaderboard.csv",
    ]);
    assert!(
        o.stderr
            .contains("error: /proc/self/descent-leaderboard.csv"),
        "{}",
        o.stderr
    );
    assert_eq!(o.code, Some(1), "{}", o.stderr);
}

/// The files of a checkpoint directory, name and bytes, temporary files included.
fn dir_files(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn occupied_best_checkpoint_path_fails_cleanly_and_keeps_the_checkpoint() {
    let d = trained_dir("keep");
    let last = d.join("last.safetensors");
    let before = std::fs::read(&last).unwrap();
    // best.safetensors occupied by a non-empty directory: the resume cannot read the best
    // parameters from it (and a save could not replace it), so the run stops at once.
    let best = d.join("best.safetensors");
    std::fs::remove_file(&best).unwrap();
    std::fs::create_dir(&best).unwrap();
    std::fs::write(best.join("occupied"), b"x").unwrap();
    let mut a = run_args(&d, "200");
    a.push("--resume".into());
    let o = run(&a);
    assert_clean_failure("best.safetensors occupied", &o, "best.safetensors");
    assert_eq!(
        std::fs::read(&last).unwrap(),
        before,
        "last.safetensors changed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn failed_checkpoint_write_keeps_the_previous_checkpoint() {
    // A write that fails half-way: the resumed run's file-size limit (RLIMIT_FSIZE, 2 KiB;
    // SIGXFSZ ignored, so write() returns EFBIG) is below a checkpoint's size, so the
    // temporary file cannot be filled. Reading the old checkpoints is unaffected, and the
    // limit holds for root as well, unlike permissions.
    let d = trained_dir("efbig");
    let before = dir_files(&d);
    let mut a = run_args(&d, "200");
    a.push("--resume".into());
    let script = "ulimit -f 4; trap '' XFSZ; exec \"$@\"";
    let out = Command::new("sh")
        .args(["-c", script, "sh", env!("CARGO_BIN_EXE_descent")])
        .args(&a)
        .output()
        .expect("run sh");
    let o = Out {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_clean_failure("file size limit", &o, ".safetensors: cannot write");
    assert_eq!(o.code, Some(1), "an output failure is exit 1: {}", o.stderr);
    // Every file as it was, and no temporary file left behind.
    assert!(dir_files(&d) == before, "checkpoint directory changed");
}

fn tensor_bits(p: &Path) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    let c = Checkpoint::load(p).unwrap();
    c.tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.into_iter().map(f32::to_bits).collect()))
        .collect()
}

#[test]
fn kill_9_then_resume_matches_an_uninterrupted_run_bit_for_bit() {
    let args = |dir: &Path| {
        // Long enough that it cannot finish within milliseconds of its first checkpoint even
        // on fast storage (the kill lands right after that checkpoint).
        let mut a = run_args(dir, "12000");
        a.extend(["--checkpoint-every".into(), "13".into()]);
        a
    };
    let straight = fresh_dir("straight");
    let o = run(&args(&straight));
    assert_eq!(o.code, Some(0), "uninterrupted run: {}", o.stderr);

    let killed = fresh_dir("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args(&killed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for a few checkpoints, then SIGKILL (Child::kill sends SIGKILL on Unix).
    let last = killed.join("last.safetensors");
    let t0 = Instant::now();
    while !last.is_file() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no checkpoint after 60 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(5));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        still_running,
        "the run finished before it could be killed; make it longer"
    );
    let mid = Checkpoint::load(&last).expect("the checkpoint left by the killed run loads");
    assert!(mid.blobs.contains_key("state"));

    let mut a = args(&killed);
    a.push("--resume".into());
    let o = run(&a);
    assert_eq!(o.code, Some(0), "resume after kill -9: {}", o.stderr);
    assert_eq!(
        tensor_bits(&killed.join("last.safetensors")),
        tensor_bits(&straight.join("last.safetensors")),
        "parameters after kill -9 + --resume differ from the uninterrupted run"
    );
}

/// Found while writing this suite: outputs are written by temp-file-and-rename
/// (`checkpoint::write_atomic`), which *replaces* whatever the path names — as root,
/// `--summary-json /dev/full` turned /dev/full into a regular file. A destination that exists
/// and is not a regular file (device, FIFO) must be written into or refused, never replaced.
/// (Tested with a FIFO, which any user can create, and a reader draining it.)
#[test]
fn outputs_never_replace_a_special_file() {
    use std::os::unix::fs::FileTypeExt;
    let d = fresh_dir("fifo");
    let fifo = d.join("summary.json");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        // Blocks until a writer opens the FIFO; left behind if nobody ever does.
        std::thread::spawn(move || std::fs::read(&fifo).map(|b| b.len()))
    };
    let o = descent(&[
        "train",
        "--dataset",
        "iris",
        "--iters",
        "20",
        "--eval-every",
        "10",
        "--summary-json",
        s(&fifo),
        "--no-progress",
        "--quiet",
    ]);
    assert!(
        !o.stderr.contains("panicked at") && o.code != Some(101),
        "{}",
        o.stderr
    );
    let ft = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(
        ft.is_fifo(),
        "--summary-json replaced the FIFO at {} with a {:?} (exit {:?})",
        fifo.display(),
        ft,
        o.code
    );
    if o.code == Some(0) {
        assert!(
            reader.join().unwrap().unwrap() > 0,
            "nothing was written into the FIFO"
        );
    }
}

#[test]
fn a_model_whose_buffers_do_not_fit_is_a_usage_error_not_an_abort() {
    // 64-1000000-10: 75M parameters (300 MB); Adam's state is twice that, the gradient as
    // much again, a 32-row batch's working memory 384 MB. Under address-space limits
    // (RLIMIT_AS) that stop the run at the state, the gradient or the working memory, the
    // failed allocation is an error naming what did not fit (exit 2), not an abort.
    for (kib, what) in [
        ("700000", Some("its state")),
        ("1100000", None),
        ("1400000", None),
    ] {
        let script = format!("ulimit -v {kib}; exec \"$@\"");
        let out = Command::new("sh")
            .args(["-c", &script, "sh", env!("CARGO_BIN_EXE_descent")])
            .args(["train", "--hidden", "1000000", "--optimizer", "adam"])
            .args(["--iters", "1", "--no-progress", "--quiet"])
            .output()
            .expect("run sh");
        let o = Out {
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let case = format!("ulimit -v {kib}");
        assert!(
            !o.stderr.contains("memory allocation of"),
            "{case}: {}",
            o.stderr
        );
        assert_clean_failure(&case, &o, what.unwrap_or("does not fit in memory"));
        assert!(
            o.stderr.contains("does not fit in memory"),
            "{case}: {}",
            o.stderr
        );
        assert_eq!(o.code, Some(2), "{case}: {}", o.stderr);
    }
}

/// A checkpoint of format version 1 (the binary state as hex metadata) still resumes, and
/// continues bit for bit as the same checkpoint in the current format does; the checkpoint
/// it then writes is in the current format.
#[test]
fn a_version_1_checkpoint_resumes_like_the_current_format() {
    let current = trained_dir("v2");
    let old = fresh_dir("v1");
    let valid = std::fs::read(current.join("last.safetensors")).unwrap();
    std::fs::write(old.join("last.safetensors"), as_version_1(&valid, |_| {})).unwrap();
    std::fs::copy(
        current.join("best.safetensors"),
        old.join("best.safetensors"),
    )
    .unwrap();
    for d in [&current, &old] {
        let mut a = run_args(d, "80");
        a.push("--resume".into());
        let o = run(&a);
        assert_eq!(o.code, Some(0), "resume from {}: {}", d.display(), o.stderr);
    }
    let (a, b) = (
        current.join("last.safetensors"),
        old.join("last.safetensors"),
    );
    assert_eq!(tensor_bits(&a), tensor_bits(&b));
    let (ca, cb) = (Checkpoint::load(&a).unwrap(), Checkpoint::load(&b).unwrap());
    assert_eq!(cb.meta["format_version"], FORMAT_VERSION);
    // The binary state bit for bit; the loop state (which holds wall-clock times) by its
    // counters.
    for k in ["optimizer", "scheduler", "loader"] {
        assert_eq!(ca.blobs[k], cb.blobs[k], "{k}");
    }
    let step = |c: &Checkpoint| {
        let v: serde_json::Value = serde_json::from_slice(&c.blobs["state"]).unwrap();
        (v["step"].clone(), v["best_bits"].clone())
    };
    assert_eq!(step(&ca), step(&cb));
}
