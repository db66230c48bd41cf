//! Checkpoint files: parameters as safetensors, named like PyTorch's `nn.Linear` state dict
//! (`layers.{i}.weight` with shape `[out, in]`, `layers.{i}.bias` with shape `[out]`), the
//! training state as 1-D `U8` tensors — `descent.optimizer`, `descent.scheduler`,
//! `descent.loader` (binary: optimizer, scheduler, loader RNG and position) and
//! `descent.state` (JSON: step counters, early stopping, the evaluation history) — and the
//! run's configuration in the safetensors metadata, whose size then does not grow with the
//! model or the run.
//!
//! Format version 1 kept that state in the metadata (the binary parts as hex); the JSON header
//! then grew by 16 bytes per Adam parameter and passed safetensors' 100 MB header limit at
//! about 6M parameters (L-BFGS's history: about 60k), so larger runs could not be
//! checkpointed. Version 1 files still load (their entries are moved into
//! [`Checkpoint::blobs`]).
//!
//! A checkpoint is streamed to a temporary file in the destination's directory (one tensor's
//! bytes in memory at a time), flushed to disk (`fsync`), renamed over the destination and
//! the directory is synced, so a crash leaves either the old or the new file, never a
//! half-written one.

use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, View};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "descent-checkpoint";
/// Value of the `format_version` metadata key written now.
pub const FORMAT_VERSION: &str = "2";

/// Versions [`Checkpoint::from_bytes`] reads: 1 kept [`BLOBS`] as metadata.
const READABLE_VERSIONS: [&str; 2] = ["1", FORMAT_VERSION];

/// The state entries: [`Checkpoint::blobs`] keys, stored as `U8` tensors named
/// [`BLOB_PREFIX`]`<key>` (in version 1, as metadata entries: hex, except `state`, which
/// was JSON text).
pub const BLOBS: [&str; 4] = ["optimizer", "scheduler", "loader", "state"];

/// Tensor-name prefix of the binary state entries.
pub const BLOB_PREFIX: &str = "descent.";

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

/// A checkpoint in memory: named f32 tensors (in layer order), binary state and string
/// metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checkpoint {
    /// `(name, shape, values)`.
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    /// Training state by key (one of [`BLOBS`]), each written as a 1-D `U8` tensor named
    /// [`BLOB_PREFIX`]`<key>`.
    pub blobs: BTreeMap<String, Vec<u8>>,
    /// Metadata key/value pairs (`format`, `format_version`, `config`, `state`, ...).
    pub meta: BTreeMap<String, String>,
}

/// One tensor to write: f32 values (converted to little-endian bytes one tensor at a time,
/// as the writer reaches it) or raw bytes.
enum Part<'a> {
    F32(&'a [usize], &'a [f32]),
    U8([usize; 1], &'a [u8]),
}

impl View for Part<'_> {
    fn dtype(&self) -> Dtype {
        match self {
            Part::F32(..) => Dtype::F32,
            Part::U8(..) => Dtype::U8,
        }
    }

    fn shape(&self) -> &[usize] {
        match self {
            Part::F32(shape, _) => shape,
            Part::U8(shape, _) => shape,
        }
    }

    fn data(&self) -> Cow<'_, [u8]> {
        match self {
            Part::F32(_, v) => Cow::Owned(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Part::U8(_, b) => Cow::Borrowed(b),
        }
    }

    fn data_len(&self) -> usize {
        match self {
            Part::F32(_, v) => 4 * v.len(),
            Part::U8(_, b) => b.len(),
        }
    }
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
        Ok(Self {
            tensors,
            blobs: BTreeMap::new(),
            meta,
        })
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

    /// A state entry (one of [`BLOBS`]), or an error naming it.
    pub fn blob(&self, key: &str, path: &Path) -> Result<&[u8]> {
        self.blobs.get(key).map(Vec::as_slice).ok_or_else(|| {
            Error::io(
                path,
                format!("checkpoint has no `{BLOB_PREFIX}{key}` state tensor"),
            )
        })
    }

    /// The tensors to write, borrowing this checkpoint, after checking every shape against
    /// its values (a mismatch would write a file that no reader accepts).
    fn parts(&self) -> Result<Vec<(String, Part<'_>)>> {
        let mut parts = Vec::with_capacity(self.tensors.len() + self.blobs.len());
        for (name, shape, values) in &self.tensors {
            let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            if elements != Some(values.len()) {
                return Err(Error::Runtime(format!(
                    "checkpoint tensor `{name}`: shape {shape:?} does not hold its {} values",
                    values.len()
                )));
            }
            parts.push((name.clone(), Part::F32(shape, values)));
        }
        for (key, bytes) in &self.blobs {
            parts.push((
                format!("{BLOB_PREFIX}{key}"),
                Part::U8([bytes.len()], bytes),
            ));
        }
        Ok(parts)
    }

    fn header_meta(&self) -> HashMap<String, String> {
        self.meta
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Serialize to safetensors bytes (the whole file in memory; [`save`](Self::save)
    /// streams instead).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        safetensors::serialize(self.parts()?, Some(self.header_meta()))
            .map_err(|e| Error::Runtime(format!("checkpoint serialization failed: {e}")))
    }

    /// Parse safetensors bytes: F32 tensors, and the training state as 1-D U8 tensors named
    /// [`BLOB_PREFIX`]`<key>` for a key of [`BLOBS`] (in a version 1 file, metadata entries
    /// `<key>`, moved here; the result is then a current-version checkpoint).
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
        let mut meta = meta;
        let version = meta.get("format_version").map(String::as_str);
        if !version.is_some_and(|v| READABLE_VERSIONS.contains(&v)) {
            return Err(Error::io(
                path,
                format!(
                    "unsupported checkpoint format version `{}` (expected one of {READABLE_VERSIONS:?})",
                    version.unwrap_or("none")
                ),
            ));
        }
        let mut blobs = BTreeMap::new();
        if version == Some("1") {
            for key in BLOBS {
                if let Some(text) = meta.remove(key) {
                    let b = if key == "state" {
                        text.into_bytes()
                    } else {
                        from_hex(&text).ok_or_else(|| {
                            Error::io(path, format!("bad `{key}` metadata (not hex)"))
                        })?
                    };
                    blobs.insert(key.to_string(), b);
                }
            }
            meta.insert("format_version".into(), FORMAT_VERSION.into());
        }
        let mut tensors = Vec::new();
        let mut named = st.tensors();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, view) in named {
            if let Some(key) = name.strip_prefix(BLOB_PREFIX) {
                if !BLOBS.contains(&key) || view.dtype() != Dtype::U8 || view.shape().len() != 1 {
                    return Err(Error::io(
                        path,
                        format!(
                            "tensor `{name}` ({:?}, shape {:?}) is not a state tensor; expected one of {:?} as 1-D U8",
                            view.dtype(),
                            view.shape(),
                            BLOBS.map(|k| format!("{BLOB_PREFIX}{k}"))
                        ),
                    ));
                }
                if blobs
                    .insert(key.to_string(), view.data().to_vec())
                    .is_some()
                {
                    return Err(Error::io(
                        path,
                        format!("`{key}` state both as tensor `{name}` and as metadata"),
                    ));
                }
                continue;
            }
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
        Ok(Self {
            tensors,
            blobs,
            meta,
        })
    }

    /// Write atomically to `path` (see [`write_atomic_with`]), streaming the tensors to the
    /// temporary file: the file is never whole in memory.
    pub fn save(&self, path: &Path) -> Result<()> {
        let parts = self.parts()?;
        let io = |e: safetensors::SafeTensorError| match e {
            safetensors::SafeTensorError::IoError(e) => e,
            e => std::io::Error::other(format!("checkpoint serialization failed: {e}")),
        };
        write_atomic_with(
            path,
            |tmp| safetensors::serialize_to_file(parts, Some(self.header_meta()), tmp).map_err(io),
            |f| {
                let bytes = self.to_bytes().map_err(std::io::Error::other)?;
                f.write_all(&bytes)
            },
        )
    }

    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }
}

/// Write `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(
        path,
        |tmp| {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(tmp)?
                .write_all(bytes)
        },
        |f| f.write_all(bytes),
    )
}

/// Write a file to `path` atomically: `to_file` creates a temporary file in the same
/// directory, which is then flushed to disk (`fsync`), renamed over `path`, and the
/// directory synced. On any failure the temporary file is removed and `path` is untouched.
/// An existing `path` that is not a regular file (a FIFO, `/dev/stdout`, `/dev/full` ...) is
/// written in place by `in_place` instead, so that running as root can never swap a device
/// node for a regular file; a directory is an error.
pub fn write_atomic_with(
    path: &Path,
    to_file: impl FnOnce(&Path) -> std::io::Result<()>,
    in_place: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
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
                .and_then(|mut f| in_place(&mut f).and_then(|_| f.flush()));
            return written.map_err(|e| Error::output(path, format!("cannot write: {e}")));
        }
    }
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        // The file gets the permissions of a file created here (the umask's), also when
        // `to_file` replaces it with one of its own (a library's temporary file is 0600).
        let mode = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?
            .metadata()?
            .permissions();
        to_file(&tmp)?;
        std::fs::set_permissions(&tmp, mode)?;
        std::fs::File::open(&tmp)?.sync_all()?;
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

/// Lower-case hex of `bytes`: how format 1 kept binary state in string metadata (writes of
/// such files, as tests of the format 1 reader do).
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
        c.blobs.insert("optimizer".into(), (0..=255).collect());
        c.blobs.insert("loader".into(), vec![]);
        let d = tmpdir("rt");
        let p = d.join("c.safetensors");
        c.save(&p).unwrap();
        let back = Checkpoint::load(&p).unwrap();
        assert_eq!((&back.blobs, &back.meta), (&c.blobs, &c.meta));
        assert_eq!(back.params(&layers, &p).unwrap(), params);
        assert_eq!(back.layer_shapes(&p).unwrap(), layers);
        assert_eq!(back.meta("state", &p).unwrap(), "{\"step\":3}");
        assert_eq!(back.blob("loader", &p).unwrap(), [0u8; 0]);
        let e = back.blob("scheduler", &p).unwrap_err().to_string();
        assert!(e.contains("descent.scheduler"), "{e}");
        // The streamed file has the in-memory serialization's size (its bytes differ only
        // in the metadata's order, which safetensors takes from a `HashMap`).
        let file = std::fs::read(&p).unwrap();
        assert_eq!(file.len(), c.to_bytes().unwrap().len());
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn version_1_hex_state_is_decoded() {
        let layers = [LayerShape {
            fan_in: 1,
            fan_out: 1,
        }];
        let p = Path::new("v1.safetensors");
        let mut c = Checkpoint::from_params(&layers, &[1.0, 2.0]).unwrap();
        c.meta.insert("format_version".into(), "1".into());
        c.meta.insert("optimizer".into(), to_hex(b"DSOP"));
        c.meta.insert("state".into(), "{\"step\":3}".into());
        c.meta.insert("config".into(), "{}".into());
        let back = Checkpoint::from_bytes(&c.to_bytes().unwrap(), p).unwrap();
        assert_eq!(back.blob("optimizer", p).unwrap(), b"DSOP");
        // `state` was JSON text, not hex.
        assert_eq!(back.blob("state", p).unwrap(), b"{\"step\":3}");
        assert!(!back.meta.contains_key("optimizer") && !back.meta.contains_key("state"));
        assert_eq!(back.meta["format_version"], FORMAT_VERSION);
        assert_eq!(back.meta["config"], "{}");
        c.meta.insert("loader".into(), "xyz".into());
        let e = Checkpoint::from_bytes(&c.to_bytes().unwrap(), p).unwrap_err();
        assert!(e.to_string().contains("`loader` metadata (not hex)"), "{e}");
        // The same hex in a current-version file is only metadata.
        c.meta
            .insert("format_version".into(), FORMAT_VERSION.into());
        c.meta.remove("loader");
        let back = Checkpoint::from_bytes(&c.to_bytes().unwrap(), p).unwrap();
        assert!(back.blobs.is_empty());
    }

    #[test]
    fn state_tensors_are_checked() {
        let layers = [LayerShape {
            fan_in: 1,
            fan_out: 1,
        }];
        let p = Path::new("s.safetensors");
        let mut c = Checkpoint::from_params(&layers, &[1.0, 2.0]).unwrap();
        c.blobs.insert("extra".into(), vec![1]);
        let e = Checkpoint::from_bytes(&c.to_bytes().unwrap(), p).unwrap_err();
        assert!(e.to_string().contains("`descent.extra`"), "{e}");
        // A state name on an F32 tensor.
        let mut c = Checkpoint::from_params(&layers, &[1.0, 2.0]).unwrap();
        c.tensors
            .push(("descent.optimizer".into(), vec![1], vec![0.5]));
        let e = Checkpoint::from_bytes(&c.to_bytes().unwrap(), p).unwrap_err();
        assert!(e.to_string().contains("is not a state tensor"), "{e}");
        // A shape that does not hold the values is refused before anything is written.
        let mut c = Checkpoint::from_params(&layers, &[1.0, 2.0]).unwrap();
        c.tensors[0].1 = vec![2, 1];
        let e = c.to_bytes().unwrap_err().to_string();
        assert!(e.contains("layers.0.weight") && e.contains("[2, 1]"), "{e}");
        let d = tmpdir("shape");
        assert!(c.save(&d.join("x.safetensors")).is_err());
        assert!(std::fs::read_dir(&d).unwrap().next().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_checkpoint_gets_the_permissions_of_any_written_file() {
        use std::os::unix::fs::PermissionsExt;
        let d = tmpdir("mode");
        let c = Checkpoint::from_params(
            &[LayerShape {
                fan_in: 1,
                fan_out: 1,
            }],
            &[1.0, 2.0],
        )
        .unwrap();
        c.save(&d.join("c.safetensors")).unwrap();
        write_atomic(&d.join("plain"), b"x").unwrap();
        std::fs::write(d.join("created"), b"x").unwrap();
        let mode = |n: &str| std::fs::metadata(d.join(n)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("c.safetensors"), mode("created"));
        assert_eq!(mode("plain"), mode("created"));
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
