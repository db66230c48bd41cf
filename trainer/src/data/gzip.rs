//! Gzip input read the way `gzip -d` reads it: every member in turn (`cat a.gz b.gz` is one
//! valid file, as parallel compressors write), and zero bytes after the last member ignored
//! (block padding). Any other bytes after a member are an error, never silently dropped.

use flate2::bufread::GzDecoder;
use std::io::{self, BufRead, Read};

/// A reader of the decompressed bytes of every gzip member of `R`.
pub struct GzMembers<R: BufRead> {
    /// The member being decoded; `None` once the input is exhausted.
    cur: Option<GzDecoder<R>>,
}

impl<R: BufRead> GzMembers<R> {
    /// Decode `r`, which starts with a gzip member.
    pub fn new(r: R) -> Self {
        GzMembers {
            cur: Some(GzDecoder::new(r)),
        }
    }
}

/// After a member: `true` when `r` holds another member, `false` at its end or when only
/// zero bytes are left (consumed); an error for anything else.
fn next_member(r: &mut impl BufRead) -> io::Result<bool> {
    let mut padding = false;
    loop {
        let avail = r.fill_buf()?;
        let Some(&first) = avail.first() else {
            return Ok(false);
        };
        if first == 0 {
            let zeros = avail.iter().take_while(|&&b| b == 0).count();
            r.consume(zeros);
            padding = true;
            continue;
        }
        if first == 0x1f && !padding {
            return Ok(true);
        }
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bytes after the last gzip member are neither another member nor zero padding",
        ));
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(dec) = self.cur.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended (its checksum verified): go on with what follows it.
            if let Some(done) = self.cur.take() {
                let mut r = done.into_inner();
                if next_member(&mut r)? {
                    self.cur = Some(GzDecoder::new(r));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(b: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    fn all(b: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzMembers::new(b).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn members_padding_and_garbage() {
        assert_eq!(all(&gz(b"abc")).unwrap(), b"abc");
        let mut two = gz(b"abc");
        two.extend(gz(b""));
        two.extend(gz(b"def"));
        assert_eq!(all(&two).unwrap(), b"abcdef");
        let mut padded = gz(b"abc");
        padded.extend([0u8; 512]);
        assert_eq!(all(&padded).unwrap(), b"abc");
        for tail in [&b"junk"[..], &[0, 0, 7], &[0x1f], &[0x1f, 0x8b, 1]] {
            let mut bad = gz(b"abc");
            bad.extend(tail);
            assert!(all(&bad).is_err(), "{tail:?}");
        }
        // A member after padding is not gzip's either (it stops at the padding).
        let mut late = gz(b"abc");
        late.extend([0u8; 4]);
        late.extend(gz(b"def"));
        assert!(all(&late).is_err());
        // A corrupt member is an error, not an early end.
        let mut corrupt = gz(b"abcdef");
        let n = corrupt.len();
        corrupt[n - 6] ^= 1;
        assert!(all(&corrupt).is_err());
    }
}
