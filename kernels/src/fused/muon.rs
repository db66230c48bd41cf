//! Muon through descent-core's own update ([`MuonConfig::update_with`]) with the
//! Newton–Schulz products on this crate's SGEMM ([`Fast`]): each iteration's three products
//! (`X Xᵀ`, `c A² + b A`, `B X + a X`) are cache-blocked, vectorized for the CPU and split
//! over the rayon pool above SGEMM's parallel threshold. The element-wise parts (momentum,
//! normalization, `bfloat16` rounding, the parameter update) are core's loops.
//!
//! The products accumulate in another order than descent-core's scalar reference, so the two
//! agree to rounding, not bit for bit (tested: `tests/fused_props.rs`).

use super::FusedRule;
use crate::Fast;
use descent_core::optim::{Group, MuonConfig};

impl FusedRule for MuonConfig {
    fn fused_update(
        &self,
        t: u64,
        groups: &[Group],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) {
        self.update_with(&Fast, t, groups, params, grads, state);
    }
}
