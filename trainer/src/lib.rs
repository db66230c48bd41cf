//! # descent-trainer
//!
//! Data sets, loaders, the epoch/batch loop, validation, early stopping, checkpoints, logs,
//! plots and sweeps, behind the `descent` binary.
//!
//! * [`cli`] / [`config`]: `descent train | eval | sweep`, flags with PyTorch's names, TOML
//!   config files whose keys are the flags.
//! * [`train`]: the loop (evaluation, schedules, clipping, regularization, early stopping,
//!   divergence detection, checkpoint/resume with bitwise-identical continuation).
//! * [`checkpoint`]: atomic safetensors checkpoints in PyTorch's `nn.Linear` naming.
//! * [`metrics`], [`plot`]: CSV / JSONL logs and PNG / SVG curves.
//! * [`sweep`]: grid and random search with a leaderboard.
#![warn(missing_docs)]

pub mod average;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod error;
pub mod eval;
pub mod loader;
pub mod loss;
pub mod metrics;
pub mod muon;
pub mod optimizer;
pub mod plot;
pub mod schedule;
pub mod sweep;
pub mod task;
pub mod train;
pub mod wire;

pub use error::{Error, Result};

/// The first line of a (possibly multi-line) message.
pub fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim_end()
}

/// A clap error as one line: its message lines up to the usage text, joined, without the
/// leading `error: `.
pub fn clap_one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    parts.join(" ").trim_start_matches("error: ").to_string()
}
