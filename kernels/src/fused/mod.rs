//! Fused single-pass optimizer updates and model ops (filled in by the fused-kernels work).
