//! Arbitrary and mutated checkpoint files into the trainer's checkpoint reader
//! (`Checkpoint::from_bytes`, then `layer_shapes` / `params` as `eval` and `--resume` use
//! them, the binary state as U8 tensors, and the hex-encoded state of version 1 files).
//!
//! Properties: no panic and no allocation the input cannot justify; every error is one line
//! that names the file; an accepted checkpoint re-serializes to one that parses to the same
//! tensors (bitwise), binary state and metadata.
#![no_main]

use arbitrary::Arbitrary;
use descent_trainer::checkpoint::{from_hex, to_hex, Checkpoint, LayerShape, FORMAT_VERSION};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[derive(Arbitrary, Debug)]
struct Input {
    layers: Vec<(u8, u8)>,
    meta: Vec<(String, String)>,
    /// Binary state entries (keys outside `BLOBS` included), written as U8 tensors.
    blobs: Vec<(String, Vec<u8>)>,
    /// Write format version 1 (meta entries named like state keys are then hex state).
    version_1: bool,
    mutation: Mutation,
}

#[derive(Arbitrary, Debug)]
enum Mutation {
    Raw(Vec<u8>),
    /// A valid file with byte edits (the JSON header is at the start) and a resize.
    Edit {
        bytes: Vec<(u16, u8)>,
        resize: Option<u16>,
    },
    /// A valid file whose 8-byte header length is replaced.
    HeaderLen(u64),
    /// A valid file whose JSON header text is replaced (length fixed up).
    Header(String),
    Valid,
}

const PATH: &str = "fuzz/last.safetensors";

fn one_line(e: &descent_trainer::Error) {
    let m = e.to_string();
    assert!(
        !m.is_empty() && !m.contains('\n'),
        "error is not one line: {m:?}"
    );
    assert!(m.contains(PATH), "error does not name the file: {m:?}");
}

fn bits(c: &Checkpoint) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    c.tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                s.clone(),
                v.iter().map(|x| x.to_bits()).collect(),
            )
        })
        .collect()
}

fuzz_target!(|inp: Input| {
    let path = Path::new(PATH);
    let layers: Vec<LayerShape> = inp
        .layers
        .iter()
        .take(3)
        .map(|&(i, o)| LayerShape {
            fan_in: i as usize % 9,
            fan_out: o as usize % 9,
        })
        .collect();
    let n: usize = descent_trainer::checkpoint::n_params(&layers);
    let params: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
    let mut ck = Checkpoint::from_params(&layers, &params).expect("matching lengths");
    for (k, v) in inp.meta.iter().take(4) {
        ck.meta.insert(k.clone(), v.clone());
    }
    for (k, v) in inp.blobs.iter().take(3) {
        ck.blobs.insert(k.clone(), v.clone());
    }
    ck.meta.insert("format".into(), "descent-checkpoint".into());
    let version = if inp.version_1 { "1" } else { FORMAT_VERSION };
    ck.meta.insert("format_version".into(), version.into());
    let Ok(valid) = ck.to_bytes() else { return };

    let bytes = match &inp.mutation {
        Mutation::Raw(b) => b.clone(),
        Mutation::Valid => valid.clone(),
        Mutation::Edit { bytes, resize } => {
            let mut b = valid.clone();
            if let Some(r) = resize {
                b.resize(*r as usize % (valid.len() + 64), 0);
            }
            if !b.is_empty() {
                for &(at, x) in bytes.iter().take(16) {
                    let i = at as usize % b.len();
                    b[i] ^= x;
                }
            }
            b
        }
        Mutation::HeaderLen(l) => {
            let mut b = valid.clone();
            b[..8].copy_from_slice(&l.to_le_bytes());
            b
        }
        Mutation::Header(h) => {
            let hl = u64::from_le_bytes(valid[..8].try_into().unwrap()) as usize;
            let mut b = (h.len() as u64).to_le_bytes().to_vec();
            b.extend_from_slice(h.as_bytes());
            b.extend_from_slice(&valid[8 + hl..]);
            b
        }
    };

    match Checkpoint::from_bytes(&bytes, path) {
        Err(e) => one_line(&e),
        Ok(c) => {
            match c.layer_shapes(path) {
                Err(e) => one_line(&e),
                Ok(shapes) => match c.params(&shapes, path) {
                    Err(e) => one_line(&e),
                    Ok(p) => assert_eq!(p.len(), descent_trainer::checkpoint::n_params(&shapes)),
                },
            }
            for v in c.meta.values() {
                if let Some(b) = from_hex(v) {
                    assert_eq!(to_hex(&b), v.to_ascii_lowercase(), "hex round trip");
                }
            }
            if let Ok(again) = c.to_bytes() {
                let back = Checkpoint::from_bytes(&again, path).expect("re-serialized checkpoint");
                assert_eq!(
                    bits(&back),
                    bits(&c),
                    "tensors changed through a round trip"
                );
                assert_eq!(back.meta, c.meta, "metadata changed through a round trip");
                assert_eq!(
                    back.blobs, c.blobs,
                    "binary state changed through a round trip"
                );
            }
        }
    }
});
