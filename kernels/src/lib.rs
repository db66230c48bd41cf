//! # descent-kernels
//!
//! Fast implementations for descent: cache-blocked SIMD SGEMM with runtime CPU dispatch
//! (AVX-512, AVX2+FMA, portable `wide`), fused single-pass optimizer updates and model ops,
//! parallel with rayon.
#![warn(missing_docs)]

mod fast;
pub mod fused;
pub mod gemm;

pub use fast::Fast;
pub use gemm::{dgemm, dgemm_strided, sgemm, sgemm_strided};
pub mod peak;
