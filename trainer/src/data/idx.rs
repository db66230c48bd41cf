//! IDX files (MNIST, Fashion-MNIST, KMNIST): gzip-compressed or raw, detected by content.
//!
//! Format: a 4-byte magic `00 00 TT NN` (`TT = 0x08`: unsigned bytes; `NN`: number of
//! dimensions), `NN` big-endian u32 sizes, then the payload row-major. Images are
//! `0x00000803` (`[n, rows, cols]`), labels `0x00000801` (`[n]`).

use super::gzip::GzMembers;
use super::{DataError, Dataset, Result, Targets};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Largest payload an IDX header may claim (1 GiB); larger claims are refused before anything
/// is allocated. Fashion-MNIST's training images are 47 MB.
pub const MAX_IDX_BYTES: u64 = 1 << 30;

/// A decoded IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes, outermost first.
    pub dims: Vec<usize>,
    /// Row-major payload, `dims.iter().product()` bytes.
    pub data: Vec<u8>,
}

/// Read an IDX file, gzip or raw (detected by the gzip magic `1f 8b`, not the extension).
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| DataError::io(path, &e))?;
    let len = file.metadata().map_err(|e| DataError::io(path, &e))?.len();
    let mut r = BufReader::new(file);
    let mut magic = [0u8; 2];
    let got = read_full(&mut r, &mut magic).map_err(|e| DataError::io(path, &e))?;
    let head = std::io::Cursor::new(magic[..got].to_vec());
    if got == 2 && magic == [0x1f, 0x8b] {
        // Every member of the gzip stream (as gunzip reads it), so that bytes after the
        // first one are data, padding or an error, never silently dropped.
        decode_idx(&name, GzMembers::new(BufReader::new(head.chain(r))), None)
    } else {
        decode_idx(&name, head.chain(r), Some(len))
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Decode an IDX stream. `raw_len` is the stream's total length when known (uncompressed
/// files): a header claiming more payload than that is refused before reading.
pub fn decode_idx(name: &str, mut r: impl Read, raw_len: Option<u64>) -> Result<IdxArray> {
    let io = |e: std::io::Error| DataError::new(format!("{name}: {e}"));
    let mut magic = [0u8; 4];
    let got = read_full(&mut r, &mut magic).map_err(io)?;
    if got < 4 {
        return Err(DataError::new(format!(
            "{name}: truncated: {got} bytes, expected at least a 4-byte IDX magic"
        )));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::new(format!(
            "{name}: not an IDX file: magic 0x{:08x}, expected 0x000008NN",
            u32::from_be_bytes(magic)
        )));
    }
    if magic[2] != 0x08 {
        return Err(DataError::new(format!(
            "{name}: IDX element type 0x{:02x} is not supported; expected 0x08 (unsigned byte)",
            magic[2]
        )));
    }
    let ndim = magic[3] as usize;
    if !(1..=4).contains(&ndim) {
        return Err(DataError::new(format!(
            "{name}: IDX header claims {ndim} dimensions; expected 1 to 4"
        )));
    }
    let mut dbytes = [0u8; 16];
    let got = read_full(&mut r, &mut dbytes[..4 * ndim]).map_err(io)?;
    if got < 4 * ndim {
        return Err(DataError::new(format!(
            "{name}: truncated header: {got} of {} dimension bytes",
            4 * ndim
        )));
    }
    let dims: Vec<usize> = dbytes[..4 * ndim]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let claimed = dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .filter(|&c| c <= MAX_IDX_BYTES)
        .ok_or_else(|| {
            DataError::new(format!(
                "{name}: IDX header claims dimensions {dims:?}, more than the {MAX_IDX_BYTES}-byte limit"
            ))
        })?;
    let header = 4 + 4 * ndim as u64;
    if let Some(len) = raw_len {
        if len < header + claimed {
            return Err(DataError::new(format!(
                "{name}: truncated: header claims {dims:?} = {claimed} bytes of data but the file holds {}",
                len.saturating_sub(header)
            )));
        }
    }
    // Grow as bytes actually arrive: a lying compressed stream cannot make us allocate
    // more than it delivers (plus the capped initial capacity).
    let mut data = Vec::with_capacity(claimed.min(1 << 24) as usize);
    let got = (&mut r).take(claimed).read_to_end(&mut data).map_err(io)?;
    if (got as u64) < claimed {
        return Err(DataError::new(format!(
            "{name}: truncated: header claims {dims:?} = {claimed} bytes of data, found {got}"
        )));
    }
    let mut extra = [0u8; 1];
    if read_full(&mut r, &mut extra).map_err(io)? != 0 {
        return Err(DataError::new(format!(
            "{name}: trailing bytes after the {claimed} bytes of data the header claims {dims:?}"
        )));
    }
    Ok(IdxArray { dims, data })
}

/// Load an image/label IDX pair as a classification data set with `classes` classes:
/// features are the pixels scaled to [0, 1] (`x / 255`), one row per image.
pub fn load_idx_pair(name: &str, images: &Path, labels: &Path, classes: usize) -> Result<Dataset> {
    let img = read_idx(images)?;
    let lab = read_idx(labels)?;
    if img.dims.len() < 2 {
        return Err(DataError::new(format!(
            "{}: images have dimensions {:?}; expected [n, rows, cols] (magic 0x00000803)",
            images.display(),
            img.dims
        )));
    }
    if lab.dims.len() != 1 {
        return Err(DataError::new(format!(
            "{}: labels have dimensions {:?}; expected [n] (magic 0x00000801)",
            labels.display(),
            lab.dims
        )));
    }
    let n = img.dims[0];
    if lab.dims[0] != n {
        return Err(DataError::new(format!(
            "{} has {n} images but {} has {} labels; expected the same count",
            images.display(),
            labels.display(),
            lab.dims[0]
        )));
    }
    if let Some(i) = lab.data.iter().position(|&c| c as usize >= classes) {
        return Err(DataError::new(format!(
            "{}: label {} at index {i} is out of range; expected 0..{classes}",
            labels.display(),
            lab.data[i]
        )));
    }
    let features: usize = img.dims[1..].iter().product();
    // An empty split would be evaluated as loss 0 and accuracy 0% (the test split) or fail
    // later with a message about the batch size (the training split).
    if n == 0 || features == 0 {
        return Err(DataError::new(format!(
            "{}: header claims dimensions {:?}, no {}; expected at least one image of at least one pixel",
            images.display(),
            img.dims,
            if n == 0 { "images" } else { "pixels" }
        )));
    }
    let x: Vec<f32> = img.data.iter().map(|&b| b as f32 / 255.0).collect();
    let y: Vec<u32> = lab.data.iter().map(|&c| c as u32).collect();
    Dataset::new(name, x, features, Targets::Labels { y, classes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], ty: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, ty, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn decodes_and_validates() {
        let b = idx(&[2, 3], 8, &[1, 2, 3, 4, 5, 6]);
        let a = decode_idx("t", &b[..], Some(b.len() as u64)).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
        let e = decode_idx("t", &b[..b.len() - 1], None).unwrap_err();
        assert!(e.message().contains("truncated"), "{e}");
        let e = decode_idx("t", &idx(&[2], 0x0d, &[0; 8])[..], None).unwrap_err();
        assert!(e.message().contains("element type 0x0d"), "{e}");
        let e = decode_idx("t", &[1u8, 2, 3, 4][..], None).unwrap_err();
        assert!(e.message().contains("not an IDX file"), "{e}");
        let e = decode_idx("t", &idx(&[u32::MAX, u32::MAX, 4], 8, &[])[..], None).unwrap_err();
        assert!(e.message().contains("limit"), "{e}");
        let big = idx(&[60000, 28, 28], 8, &[0; 10]);
        let e = decode_idx("t", &big[..], Some(big.len() as u64)).unwrap_err();
        assert!(e.message().contains("truncated"), "{e}");
        let mut trailing = idx(&[1], 8, &[7]);
        trailing.push(0);
        assert!(decode_idx("t", &trailing[..], None).is_err());
    }
}
