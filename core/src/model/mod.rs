//! Models with hand-derived backward passes: linear least squares, softmax regression and
//! multilayer perceptrons, all one type, [`Mlp`].
//!
//! * Parameters live in one flat slice in `nn.Linear` layout: for each layer `i`, the weight
//!   `[out, in]` row-major (`layers.{i}.weight`), then the bias `[out]` (`layers.{i}.bias`).
//!   An optimizer sees one vector and a checkpoint maps 1:1 to a PyTorch `state_dict`
//!   ([`Mlp::params`] enumerates names, offsets and shapes).
//! * A linear model is an `Mlp` with dims `[in, out]` (no hidden layer) and [`Task::Regression`];
//!   softmax regression is dims `[in, classes]` with [`Task::Classification`].
//! * Dense math goes through [`Ops`](crate::Ops), so the same code runs on the scalar
//!   [`Reference`](crate::Reference) or on `descent-kernels`' fast implementation.
//! * No allocation: scratch space is a caller buffer of [`Mlp::scratch_len`] elements.

mod argmax;
mod init;
mod mlp;
mod params;

pub use argmax::argmax;
pub use init::{init_uniform, linear_init_bound};
pub use mlp::{Mlp, Task, MAX_LAYERS};
pub use params::{ParamInfo, ParamKind};
