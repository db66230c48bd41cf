//! Arbitrary bytes (raw or gzip) into the trainer's IDX decoder.
//!
//! Properties: no panic, no allocation beyond what the input can justify (libFuzzer's
//! -malloc_limit_mb catches a header that makes it allocate its claim); errors are one
//! non-empty line naming the file; an accepted array holds exactly `Π dims` bytes and
//! re-encodes to the input byte for byte.
#![no_main]

use arbitrary::Arbitrary;
use descent_trainer::data::decode_idx;
use flate2::read::GzDecoder;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Input {
    /// Bytes as given, with or without the known total length (file vs stream).
    Raw { bytes: Vec<u8>, known_len: bool },
    /// A well-formed header (element type, dims) followed by `payload`, optionally lying.
    Header {
        ty: u8,
        dims: Vec<u32>,
        payload: Vec<u8>,
        known_len: bool,
    },
}

fn check(bytes: &[u8], known_len: bool) {
    let name = "fuzz.idx";
    let len = known_len.then_some(bytes.len() as u64);
    let r = if bytes.starts_with(&[0x1f, 0x8b]) {
        decode_idx(name, GzDecoder::new(bytes), None)
    } else {
        decode_idx(name, bytes, len)
    };
    match r {
        Err(e) => {
            let m = e.message();
            assert!(
                !m.is_empty() && !m.contains('\n'),
                "error is not one line: {m:?}"
            );
            assert!(m.starts_with(name), "error does not name the file: {m:?}");
        }
        Ok(a) => {
            let n: usize = a.dims.iter().product();
            assert_eq!(
                a.data.len(),
                n,
                "payload length != product of dims {:?}",
                a.dims
            );
            if !bytes.starts_with(&[0x1f, 0x8b]) {
                let mut enc = vec![0, 0, 8, a.dims.len() as u8];
                for &d in &a.dims {
                    enc.extend_from_slice(&(d as u32).to_be_bytes());
                }
                enc.extend_from_slice(&a.data);
                assert_eq!(enc, bytes, "accepted IDX does not re-encode to its input");
            }
        }
    }
}

fuzz_target!(|inp: Input| match inp {
    Input::Raw { bytes, known_len } => check(&bytes, known_len),
    Input::Header {
        ty,
        dims,
        payload,
        known_len,
    } => {
        let mut b = vec![0, 0, if ty < 128 { 8 } else { ty }, dims.len().min(6) as u8];
        for d in dims.iter().take(6) {
            // Mostly small sizes, sometimes huge claims.
            let d = if d % 8 == 7 { *d } else { d % 16 };
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(&payload);
        check(&b, known_len);
    }
});
