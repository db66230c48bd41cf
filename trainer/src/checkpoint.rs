//! Checkpoint files: parameters as safetensors, named like PyTorch's `nn.Linear` state dict
//! (`layers.{i}.weight` with shape `[out, in]`, `layers.{i}.bias` with shape `[out]`), and the
//! rest of the training state (optimizer, scheduler, loader RNG and position, early-stopping
//! counters, the run's configuration) in the safetensors metadata, written atomically.
//!
//! A checkpoint is written to a temporary file in the destination's directory, flushed to disk
//! (`fsync`), renamed over the destination and the directory is synced, so a crash leaves
//! either the old or the new file, never a half-written one.

use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "descent-checkpoint";
/// Value of the `format_version` metadata key.
pub const FORMAT_VERSION: &str = "1";

/// The shape of one linear layer: `out x in` weight plus `out` bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    /// Input features.
    pub fan_in: usize,
    /// Output features.
    pub fan_out: usize,
}

/// Total parameter count of `layers` in the flat nn.Linear layout.
pub fn n_params(layers: &[LayerShape]) -> usize {
    layers.iter().map(|l| l.fan_out * (l.fan_in + 1)).sum()
}

/// A checkpoint in memory: named f32 tensors (in layer order) and string metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checkpoint {
    /// `(name, shape, values)`.
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    /// Metadata key/value pairs (`format`, `config`, `state`, `optimizer`, ...).
    pub meta: BTreeMap<String, String>,
}

impl Checkpoint {
    /// Split the flat parameter vector (per layer: weight `[out, in]` row-major, then bias)
    /// into `layers.{i}.weight` / `layers.{i}.bias` tensors.
    pub fn from_params(layers: &[LayerShape], params: &[f32]) -> Result<Self> {
        let need = n_params(layers);
        if params.len() != need {
            return Err(Error::Runtime(format!(
                "checkpoint: parameter vector has {} values, the layers need {need}",
                params.len()
            )));
        }
        let mut tensors = Vec::with_capacity(2 * layers.len());
        let mut off = 0;
        for (i, l) in layers.iter().enumerate() {
            let w = l.fan_out * l.fan_in;
            tensors.push((
                format!("layers.{i}.weight"),
                vec![l.fan_out, l.fan_in],
                params[off..off + w].to_vec(),
            ));
            off += w;
            tensors.push((
                format!("layers.{i}.bias"),
                vec![l.fan_out],
                params[off..off + l.fan_out].to_vec(),
            ));
            off += l.fan_out;
        }
        let mut meta = BTreeMap::new();
        meta.insert("format".into(), FORMAT.into());
        meta.insert("format_version".into(), FORMAT_VERSION.into());
        Ok(Self { tensors, meta })
    }

    /// Reassemble the flat parameter vector for `layers`, checking every name and shape.
    pub fn params(&self, layers: &[LayerShape], path: &Path) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(n_params(layers));
        for (i, l) in layers.iter().enumerate() {
            for (name, shape) in [
                (format!("layers.{i}.weight"), vec![l.fan_out, l.fan_in]),
                (format!("layers.{i}.bias"), vec![l.fan_out]),
            ] {
                let t =
                    self.tensors.iter().find(|t| t.0 == name).ok_or_else(|| {
                        Error::io(path, format!("checkpoint has no tensor `{name}`"))
                    })?;
                if t.1 != shape {
                    return Err(Error::io(
                        path,
                        format!("tensor `{name}` has shape {:?}, expected {shape:?}", t.1),
                    ));
                }
                out.extend_from_slice(&t.2);
            }
        }
        let expected = 2 * layers.len();
        if self.tensors.len() != expected {
            return Err(Error::io(
                path,
                format!(
                    "checkpoint has {} tensors, expected {expected} for this model",
                    self.tensors.len()
                ),
            ));
        }
        Ok(out)
    }

    /// The layer shapes recorded by the tensor names (`layers.0`, `layers.1`, ...).
    pub fn layer_shapes(&self, path: &Path) -> Result<Vec<LayerShape>> {
        let mut layers = Vec::new();
        loop {
            let i = layers.len();
            let Some(w) = self
                .tensors
                .iter()
                .find(|t| t.0 == format!("layers.{i}.weight"))
            else {
                break;
            };
            if w.1.len() != 2 {
                return Err(Error::io(path, format!("tensor `{}` is not 2-D", w.0)));
            }
            layers.push(LayerShape {
                fan_out: w.1[0],
                fan_in: w.1[1],
            });
        }
        if layers.is_empty() {
            return Err(Error::io(
                path,
                "checkpoint has no `layers.0.weight` tensor",
            ));
        }
        Ok(layers)
    }

    /// A metadata value, or an error naming the key.
    pub fn meta(&self, key: &str, path: &Path) -> Result<&str> {
        self.meta
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::io(path, format!("checkpoint metadata has no `{key}` entry")))
    }

    /// Serialize to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bytes: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|t| t.2.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let mut views = Vec::with_capacity(self.tensors.len());
        for (t, b) in self.tensors.iter().zip(&bytes) {
            let v = TensorView::new(Dtype::F32, t.1.clone(), b)
                .map_err(|e| Error::Runtime(format!("checkpoint tensor `{}`: {e}", t.0)))?;
            views.push((t.0.clone(), v));
        }
        let meta: HashMap<String, String> = self
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        safetensors::serialize(views, Some(meta))
            .map_err(|e| Error::Runtime(format!("checkpoint serialization failed: {e}")))
    }

    /// Parse safetensors bytes (only F32 tensors are accepted).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| Error::io(path, format!("not a safetensors file: {e}")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::io(path, format!("not a safetensors file: {e}")))?;
        let meta: BTreeMap<String, String> = header
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        if meta.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(Error::io(
                path,
                "safetensors file is not a descent checkpoint (metadata `format` missing)",
            ));
        }
        if meta.get("format_version").map(String::as_str) != Some(FORMAT_VERSION) {
            return Err(Error::io(
                path,
                format!("unsupported checkpoint format version (expected {FORMAT_VERSION})"),
            ));
        }
        let mut tensors = Vec::new();
        let mut named = st.tensors();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, view) in named {
            if view.dtype() != Dtype::F32 {
                return Err(Error::io(
                    path,
                    format!("tensor `{name}` has dtype {:?}, expected F32", view.dtype()),
                ));
            }
            let vals = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            tensors.push((name, view.shape().to_vec(), vals));
        }
        Ok(Self { tensors, meta })
    }

    /// Write atomically to `path` (see [`write_atomic`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }
}

/// Write `bytes` to `path` atomically: temporary file in the same directory, write, fsync,
/// rename over `path`, fsync the directory. On any failure the temporary file is removed and
/// `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::output(path, "not a file path"))?
        .to_string_lossy()
        .into_owned();
    // Only a regular file (or nothing) is replaced by rename. A directory is an error; any
    // other existing file (a FIFO, /dev/stdout, /dev/full ...) is written in place, so that
    // running as root can never swap a device node for a regular file.
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            return Err(Error::output(path, "is a directory; expected a file path"));
        }
        if !meta.is_file() {
            let written = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut f| f.write_all(bytes).and_then(|_| f.flush()));
            return written.map_err(|e| Error::output(path, format!("cannot write: {e}")));
        }
    }
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself.
        if let Ok(d) = std::fs::File::open(&dir) {
            d.sync_all().ok();
        }
        Ok(())
    })();
    if let Err(e) = result {
        std::fs::remove_file(&tmp).ok();
        return Err(Error::output(path, format!("cannot write: {e}")));
    }
    Ok(())
}

/// Lower-case hex of `bytes` (binary state in string metadata).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parse [`to_hex`] output; `None` on odd length or a non-hex digit.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    fn d(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    b.chunks_exact(2)
        .map(|p| Some(d(p[0])? << 4 | d(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("descent-ckpt-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn hex_round_trip() {
        let v: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&v)).unwrap(), v);
        assert!(from_hex("abc").is_none());
        assert!(from_hex("zz").is_none());
    }

    #[test]
    fn linear_layout_round_trip() {
        let layers = [
            LayerShape {
                fan_in: 3,
                fan_out: 2,
            },
            LayerShape {
                fan_in: 2,
                fan_out: 1,
            },
        ];
        let params: Vec<f32> = (0..n_params(&layers))
            .map(|i| i as f32 * 0.5 - 1.0)
            .collect();
        let mut c = Checkpoint::from_params(&layers, &params).unwrap();
        assert_eq!(c.tensors[0].0, "layers.0.weight");
        assert_eq!(c.tensors[0].1, [2, 3]);
        assert_eq!(c.tensors[1].2, [2.0, 2.5]); // bias after the 6 weights
        c.meta.insert("state".into(), "{\"step\":3}".into());
        let d = tmpdir("rt");
        let p = d.join("c.safetensors");
        c.save(&p).unwrap();
        let back = Checkpoint::load(&p).unwrap();
        assert_eq!(back.params(&layers, &p).unwrap(), params);
        assert_eq!(back.layer_shapes(&p).unwrap(), layers);
        assert_eq!(back.meta("state", &p).unwrap(), "{\"step\":3}");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let p = Path::new("x.safetensors");
        assert!(Checkpoint::from_bytes(b"", p).is_err());
        assert!(Checkpoint::from_bytes(&[0xff; 64], p).is_err());
        let layers = [LayerShape {
            fan_in: 1,
            fan_out: 1,
        }];
        let c = Checkpoint::from_params(&layers, &[1.0, 2.0]).unwrap();
        let mut b = c.to_bytes().unwrap();
        b.truncate(b.len() - 1);
        assert!(Checkpoint::from_bytes(&b, p).is_err());
        let wrong = [LayerShape {
            fan_in: 2,
            fan_out: 1,
        }];
        assert!(c.params(&wrong, p).is_err());
        assert!(Checkpoint::from_params(&wrong, &[1.0]).is_err());
    }

    #[test]
    fn failed_write_leaves_old_file() {
        let d = tmpdir("fail");
        let p = d.join("keep.safetensors");
        write_atomic(&p, b"old").unwrap();
        // A directory in the way is refused before anything is written (a write failing
        // half-way is tested on the binary, `hostile_cli`, under a file-size limit).
        let blocked = d.join("blocked");
        std::fs::create_dir_all(blocked.join("inner")).unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let leftovers = std::fs::read_dir(&d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
