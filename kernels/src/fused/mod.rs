//! Fused single-pass updates and model ops: each buffer is read once and written once per
//! step, the loop is compiled for the CPU's widest vector unit (chosen at run time), and long
//! vectors are split into chunks processed in parallel on the caller's rayon pool.
//!
//! The element formulas are descent-core's own (e.g. [`AdamStep`](descent_core::optim::AdamStep)),
//! so a fused step is bitwise equal to the core optimizer's step: vectorizing element-wise
//! arithmetic does not change any rounding, and no FMA contraction is introduced.
//! [`average_update`] does the same for descent-core's running average of the parameters
//! (`WeightAverage`, SWA or EMA). Muon's [`FusedRule`] runs descent-core's update with its
//! Newton–Schulz products on [`sgemm`](crate::sgemm) (equal to the core step to rounding:
//! the products accumulate in another order).

mod adafactor;
mod adam;
#[cfg(target_arch = "x86_64")]
mod adam_avx2;
mod adam_slices;
mod average;
mod dispatch;
mod elementwise;
mod muon;
mod ops;
mod sgd;

pub use adam::{step_fused, FusedRule};
pub use adam_slices::{adam_step, AdamParams};
pub use average::average_update;
pub(crate) use dispatch::{chunk_len, with_simd};
pub use dispatch::{simd_level, SimdLevel, PAR_THRESHOLD};
pub use elementwise::step_elementwise;
pub use ops::{
    act_backward, act_backward_input, bias_act, bias_act_keep, col_sums, erf_f32, exp_f32,
    expm1_f32, gelu_f32, gelu_grad_f32, gelu_tanh_f32, gelu_tanh_grad_f32, sigmoid_f32, silu_f32,
    silu_grad_f32, softmax_rows, softmax_xent, tanh_f32,
};
