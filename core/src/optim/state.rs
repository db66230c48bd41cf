//! The optimizer state byte format (version 1, little-endian).
//!
//! ```text
//! offset  size  field
//! 0       4     magic  b"DSOP"
//! 4       2     version (u16) = 1
//! 6       1     optimizer kind (OptimizerKind as u8)
//! 7       1     dtype: bytes per element (4 = f32, 8 = f64)
//! 8       8     n_params (u64)
//! 16      8     completed steps (u64)
//! 24      4     n_groups (u32)
//! 28      4     n_counters (u32): extra integer counters (0 for first-order optimizers)
//! 32      8     state_len: number of state elements (u64)
//! 40      24*G  per group: len (u64), lr (f64), weight_decay (f64)
//! ..      8*C   counters (u64 each; L-BFGS: func_evals, history length, history start)
//! ..      B*L   state elements (the optimizer's buffers, slot after slot, then its scalars)
//! end-8   8     FNV-1a 64 checksum of every byte before it
//! ```
//!
//! Decoding validates magic, version, kind, dtype, parameter count, group layout, finite and
//! non-negative group hyperparameters, the exact total length and the checksum before anything
//! is written; any failure is [`Error::BadState`].

use super::{Group, OptimizerKind};
use crate::{Error, Float, Result};

/// The four magic bytes that open every state blob.
pub const MAGIC: [u8; 4] = *b"DSOP";
/// Current format version.
pub const VERSION: u16 = 1;
const HEADER: usize = 40;
/// Largest step count (and L-BFGS evaluation count) a state may claim: 2^53. A real run never
/// gets near it, and refusing more keeps every `+ 1` on the counters from overflowing.
pub const MAX_STEPS: u64 = 1 << 53;
const GROUP_BYTES: usize = 24;
const CHECKSUM: usize = 8;

/// Exact length of a blob with `n_groups` groups, `n_counters` counters and `state_len`
/// elements of `elem_bytes` bytes.
pub fn bytes_len(n_groups: usize, n_counters: usize, state_len: usize, elem_bytes: usize) -> usize {
    HEADER
        .saturating_add(n_groups.saturating_mul(GROUP_BYTES))
        .saturating_add(n_counters.saturating_mul(8))
        .saturating_add(state_len.saturating_mul(elem_bytes))
        .saturating_add(CHECKSUM)
}

/// FNV-1a, 64 bit.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The fixed header of a state blob, as read by [`read_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateHeader {
    /// Which optimizer wrote it.
    pub kind: OptimizerKind,
    /// Bytes per element (4 or 8).
    pub elem_bytes: u8,
    /// Parameter count.
    pub n_params: u64,
    /// Completed steps.
    pub steps: u64,
    /// Number of groups.
    pub n_groups: u32,
    /// Number of extra counters.
    pub n_counters: u32,
    /// Number of state elements.
    pub state_len: u64,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[o..o + 4]);
    u32::from_le_bytes(a)
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}
fn f64_at(b: &[u8], o: usize) -> f64 {
    f64::from_bits(u64_at(b, o))
}

/// Counter `i` of a counter section (little-endian u64s).
pub(crate) fn counter(bytes: &[u8], i: usize) -> u64 {
    u64_at(bytes, 8 * i)
}

/// Parse and check the header and the checksum of `bytes` (not the optimizer-specific parts).
pub fn read_header(bytes: &[u8]) -> Result<StateHeader> {
    let bad = |reason| Err(Error::BadState { reason });
    if bytes.len() < HEADER + CHECKSUM {
        return bad("shorter than the header");
    }
    if bytes[0..4] != MAGIC {
        return bad("wrong magic (not an optimizer state)");
    }
    if u16_at(bytes, 4) != VERSION {
        return bad("unsupported format version");
    }
    let Some(kind) = OptimizerKind::from_u8(bytes[6]) else {
        return bad("unknown optimizer kind");
    };
    let elem_bytes = bytes[7];
    if elem_bytes != 4 && elem_bytes != 8 {
        return bad("dtype is neither f32 nor f64");
    }
    let h = StateHeader {
        kind,
        elem_bytes,
        n_params: u64_at(bytes, 8),
        steps: u64_at(bytes, 16),
        n_groups: u32_at(bytes, 24),
        n_counters: u32_at(bytes, 28),
        state_len: u64_at(bytes, 32),
    };
    let (Ok(g), Ok(c), Ok(l)) = (
        usize::try_from(h.n_groups),
        usize::try_from(h.n_counters),
        usize::try_from(h.state_len),
    ) else {
        return bad("sizes do not fit in memory");
    };
    if bytes.len() != bytes_len(g, c, l, elem_bytes as usize) {
        return bad("length does not match the header");
    }
    let body = bytes.len() - CHECKSUM;
    if fnv1a(&bytes[..body]) != u64_at(bytes, body) {
        return bad("checksum mismatch");
    }
    Ok(h)
}

/// Write a blob; returns the number of bytes written.
pub(crate) fn encode<T: Float>(
    kind: OptimizerKind,
    n_params: usize,
    steps: u64,
    groups: &[Group],
    counters: &[u64],
    state: &[T],
    out: &mut [u8],
) -> Result<usize> {
    let total = bytes_len(groups.len(), counters.len(), state.len(), T::BYTES);
    crate::error::check_min_len("out", out.len(), total)?;
    let out = &mut out[..total];
    out[0..4].copy_from_slice(&MAGIC);
    out[4..6].copy_from_slice(&VERSION.to_le_bytes());
    out[6] = kind as u8;
    out[7] = T::BYTES as u8;
    out[8..16].copy_from_slice(&(n_params as u64).to_le_bytes());
    out[16..24].copy_from_slice(&steps.to_le_bytes());
    out[24..28].copy_from_slice(&(groups.len() as u32).to_le_bytes());
    out[28..32].copy_from_slice(&(counters.len() as u32).to_le_bytes());
    out[32..40].copy_from_slice(&(state.len() as u64).to_le_bytes());
    let mut o = HEADER;
    for g in groups {
        out[o..o + 8].copy_from_slice(&(g.len as u64).to_le_bytes());
        out[o + 8..o + 16].copy_from_slice(&g.lr.to_le_bytes());
        out[o + 16..o + 24].copy_from_slice(&g.weight_decay.to_le_bytes());
        o += GROUP_BYTES;
    }
    for c in counters {
        out[o..o + 8].copy_from_slice(&c.to_le_bytes());
        o += 8;
    }
    for (x, chunk) in state.iter().zip(out[o..].chunks_exact_mut(T::BYTES)) {
        x.write_le(chunk);
    }
    o += state.len() * T::BYTES;
    let sum = fnv1a(&out[..o]);
    out[o..o + 8].copy_from_slice(&sum.to_le_bytes());
    Ok(total)
}

/// Validate `bytes` against the receiving optimizer and, only if all is well (including
/// `check_counters`), overwrite `groups` (lr, weight decay), `counters` and `state`; returns the
/// step counter.
pub(crate) fn decode<T: Float>(
    kind: OptimizerKind,
    n_params: usize,
    groups: &mut [Group],
    counters: &mut [u64],
    check_counters: impl Fn(&[u8]) -> bool,
    state: &mut [T],
    bytes: &[u8],
) -> Result<u64> {
    let bad = |reason| Err(Error::BadState { reason });
    let h = read_header(bytes)?;
    if h.kind != kind {
        return bad("state belongs to a different optimizer");
    }
    if h.steps > MAX_STEPS {
        return bad("step count implausibly large (more than 2^53)");
    }
    if h.elem_bytes as usize != T::BYTES {
        return bad("state has a different dtype");
    }
    if h.n_params != n_params as u64 {
        return bad("state has a different parameter count");
    }
    if h.n_groups as usize != groups.len() {
        return bad("state has a different number of groups");
    }
    if h.n_counters as usize != counters.len() {
        return bad("state has a different number of counters");
    }
    if h.state_len != state.len() as u64 {
        return bad("state buffer layout differs (different hyperparameters such as amsgrad, momentum or centered?)");
    }
    let mut o = HEADER;
    for g in groups.iter() {
        let len = u64_at(bytes, o);
        let (lr, wd) = (f64_at(bytes, o + 8), f64_at(bytes, o + 16));
        if len != g.len as u64 {
            return bad("group lengths differ");
        }
        if !(lr.is_finite() && lr >= 0.0 && wd.is_finite() && wd >= 0.0) {
            return bad("group lr or weight_decay is negative or not finite");
        }
        o += GROUP_BYTES;
    }
    let counter_bytes = &bytes[o..o + 8 * counters.len()];
    if !check_counters(counter_bytes) {
        return bad("counters out of range");
    }
    // All checks passed: write.
    let mut o = HEADER;
    for g in groups.iter_mut() {
        g.lr = f64_at(bytes, o + 8);
        g.weight_decay = f64_at(bytes, o + 16);
        o += GROUP_BYTES;
    }
    for c in counters.iter_mut() {
        *c = u64_at(bytes, o);
        o += 8;
    }
    for (x, chunk) in state.iter_mut().zip(bytes[o..].chunks_exact(T::BYTES)) {
        *x = T::read_le(chunk);
    }
    Ok(h.steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> [Group; 2] {
        [
            Group {
                start: 0,
                len: 2,
                lr: 0.1,
                weight_decay: 0.0,
            },
            Group {
                start: 2,
                len: 1,
                lr: 0.2,
                weight_decay: 0.5,
            },
        ]
    }

    #[test]
    fn round_trip_and_every_byte_flip_is_caught() {
        let state = [1.0f32, -2.0, 3.5, 4.0, 5.0, 6.0, 7.0];
        let mut buf = [0u8; 256];
        let n = encode(
            OptimizerKind::Adam,
            3,
            42,
            &groups(),
            &[5, 6],
            &state,
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, bytes_len(2, 2, 7, 4));
        let blob = &buf[..n];
        let mut g2 = groups();
        g2[0].lr = 9.0;
        let mut s2 = [0.0f32; 7];
        let mut c2 = [0u64; 2];
        let steps = decode(
            OptimizerKind::Adam,
            3,
            &mut g2,
            &mut c2,
            |_| true,
            &mut s2,
            blob,
        )
        .unwrap();
        assert_eq!(steps, 42);
        assert_eq!(c2, [5, 6]);
        assert_eq!(s2, state);
        assert_eq!(g2, groups());
        for i in 0..n {
            for bit in 0..8 {
                let mut c = blob.to_vec();
                c[i] ^= 1 << bit;
                let mut s3 = [0.0f32; 7];
                let mut g3 = groups();
                let mut c3 = [0u64; 2];
                assert!(decode(
                    OptimizerKind::Adam,
                    3,
                    &mut g3,
                    &mut c3,
                    |_| true,
                    &mut s3,
                    &c
                )
                .is_err());
                assert_eq!(s3, [0.0; 7], "nothing written on failure");
            }
        }
        for cut in 0..n {
            assert!(read_header(&blob[..cut]).is_err());
        }
    }

    #[test]
    fn mismatches_are_rejected() {
        let state = [1.0f64, 2.0, 3.0];
        let mut buf = [0u8; 256];
        let n = encode(OptimizerKind::Sgd, 3, 1, &groups(), &[9], &state, &mut buf).unwrap();
        let blob = &buf[..n];
        let mut g = groups();
        let mut s = [0.0f64; 3];
        let mut c = [0u64; 1];
        let ok = |_: &[u8]| true;
        assert!(decode(OptimizerKind::Adam, 3, &mut g, &mut c, ok, &mut s, blob).is_err());
        assert!(decode(OptimizerKind::Sgd, 4, &mut g, &mut c, ok, &mut s, blob).is_err());
        let mut s4 = [0.0f64; 4];
        assert!(decode(OptimizerKind::Sgd, 3, &mut g, &mut c, ok, &mut s4, blob).is_err());
        let mut sf = [0.0f32; 3];
        assert!(decode(OptimizerKind::Sgd, 3, &mut g, &mut c, ok, &mut sf, blob).is_err());
        assert!(decode(OptimizerKind::Sgd, 3, &mut g, &mut [], ok, &mut s, blob).is_err());
        let reject = |c: &[u8]| counter(c, 0) < 5;
        assert!(decode(OptimizerKind::Sgd, 3, &mut g, &mut c, reject, &mut s, blob).is_err());
        assert_eq!(c, [0]);
        decode(OptimizerKind::Sgd, 3, &mut g, &mut c, ok, &mut s, blob).unwrap();
        assert_eq!(c, [9]);
        assert!(matches!(
            encode(
                OptimizerKind::Sgd,
                3,
                1,
                &groups(),
                &[],
                &state,
                &mut buf[..10]
            ),
            Err(Error::BufferTooSmall { what: "out", .. })
        ));
    }
}
