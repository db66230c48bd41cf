//! # descent-trainer
//!
//! Data sets, loaders, the epoch/batch loop, validation, early stopping, checkpoints, logs,
//! plots and sweeps, behind the `descent` binary.
#![warn(missing_docs)]

pub mod data;
pub mod loader;
