//! Helpers shared by the fuzz targets.

/// FNV-1a 64, the checksum of descent's state byte format (re-implemented here so that a fuzz
/// target can repair the checksum after mutating a blob and reach the deeper validation).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Overwrite the trailing 8-byte checksum of a state blob so it matches its body.
pub fn fix_checksum(blob: &mut [u8]) {
    if blob.len() >= 8 {
        let body = blob.len() - 8;
        let sum = fnv1a(&blob[..body]);
        blob[body..].copy_from_slice(&sum.to_le_bytes());
    }
}
