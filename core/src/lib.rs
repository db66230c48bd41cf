//! # descent-core
//!
//! `#![no_std]` building blocks for training models by gradient descent, with PyTorch's
//! semantics and numbers: losses with closed-form gradients, linear / softmax-regression / MLP
//! models with hand-derived backward passes, optimizers, gradient clipping, learning-rate
//! schedules and regularization.
//!
//! * No allocation is required: everything that needs scratch space takes a caller-provided
//!   buffer and has a function that says how large it must be. The `alloc` feature adds owned
//!   convenience types; `std` (default) adds `std::error::Error` impls and takes
//!   [`Float::mul_add`] from the standard library (a hardware FMA where the target has one;
//!   libm's software FMA without `std`, with the same results).
//! * Generic over `f32` and `f64` through one trait, [`Float`].
//! * Dense math goes through the [`Ops`] trait; [`Reference`] is the scalar implementation and
//!   `descent-kernels` provides the fast one.
//! * Every public entry point validates its inputs and returns [`Error`] instead of panicking.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod error;
pub mod float;
pub mod linalg;
pub mod loss;
pub mod model;
pub mod ops;
pub mod optim;
pub mod regularize;
pub mod sched;
pub mod sum;

pub use error::{Error, Result};
pub use float::Float;
pub use model::{Mlp, Task};
pub use ops::{Activation, Ops, Reference};
