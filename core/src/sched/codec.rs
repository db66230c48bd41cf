//! The scheduler state byte format: little-endian, versioned, validated on import.
//!
//! Layout: `b"DSCH"`, format version (`u8`, currently [`VERSION`]), then the scheduler: a kind
//! byte followed by its fields (`u64` / `f64` little-endian, `bool` as one byte 0 or 1).

use crate::error::{Error, Result};

/// Magic bytes at the start of every saved scheduler.
pub(crate) const MAGIC: [u8; 4] = *b"DSCH";
/// Current format version.
pub(crate) const VERSION: u8 = 1;

/// Appends fields to a caller buffer, counting the bytes even past its end so that one pass
/// both measures and writes.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    pub(crate) fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    pub(crate) fn f64(&mut self, v: f64) {
        self.put(&v.to_le_bytes());
    }
    /// Bytes written (or that would have been written).
    pub(crate) fn len(&self) -> usize {
        self.pos
    }
    /// True when everything fit in the buffer.
    pub(crate) fn fits(&self) -> bool {
        self.pos <= self.buf.len()
    }
}

/// Reads fields from a byte slice, failing with [`Error::BadState`] instead of panicking.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self.pos.checked_add(N).ok_or(TRUNCATED)?;
        let src = self.buf.get(self.pos..end).ok_or(TRUNCATED)?;
        let mut a = [0u8; N];
        a.copy_from_slice(src);
        self.pos = end;
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take::<1>()?[0])
    }
    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad("boolean byte is not 0 or 1")),
        }
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take::<8>()?))
    }
    pub(crate) fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take::<8>()?))
    }
    /// Fail unless every byte was consumed.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(bad("trailing bytes after the scheduler state"))
        }
    }
}

const TRUNCATED: Error = Error::BadState {
    reason: "truncated scheduler state",
};

/// `Error::BadState` with `reason`.
pub(crate) fn bad(reason: &'static str) -> Error {
    Error::BadState { reason }
}

/// Map a constructor's argument error (decoded parameters out of range) to `BadState`.
pub(crate) fn params<T>(r: Result<T>) -> Result<T> {
    r.map_err(|_| bad("scheduler parameters out of range"))
}

/// `BadState` unless `ok`.
pub(crate) fn ensure(ok: bool, reason: &'static str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(bad(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_counts_past_end_and_reader_rejects_short_input() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.u64(7);
        assert_eq!(w.len(), 8);
        assert!(!w.fits());
        let mut r = Reader::new(&[1, 2, 3]);
        assert!(matches!(r.u64(), Err(Error::BadState { .. })));
        let mut r = Reader::new(&[2]);
        assert!(r.bool().is_err());
        let mut r = Reader::new(&[1, 9]);
        assert_eq!(r.bool(), Ok(true));
        assert!(r.finish().is_err());
    }
}
