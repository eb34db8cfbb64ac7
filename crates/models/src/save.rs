//! The model file: a checked envelope around a MessagePack payload (see `docs/file-format.md`).
//!
//! ```text
//! offset  size  field
//! 0       8     magic "STRATA\x00M"
//! 8       2     major format version (u16 LE), currently 1
//! 10      2     minor format version (u16 LE), currently 0
//! 12      8     payload length in bytes (u64 LE)
//! 20      4     CRC-32 (IEEE) of the payload (u32 LE)
//! 24      …     payload: MessagePack (rmp-serde, named fields) of `SavedModel`
//! ```
//!
//! Loading checks, in order and before decoding: the file size against a cap, the magic, the
//! major version, the exact payload length (truncated and trailing bytes are distinct errors),
//! and the checksum. CRC-32 is [`crc32`]. The payload is a closed set of data types (no code, no paths),
//! decoded with a nesting limit and required to end exactly where the payload ends; after
//! decoding, every layer's variables are checked against its configuration and for finite
//! values, and the optimizer state for consistency.

use crate::error::io_error;
use crate::train::Compiled;
use crate::{Loss, Metric, ModelError, NamedLayer, Sequential};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;
use strata_layers::Layer;
use strata_optim::Optimizer;

/// The magic bytes at the start of every model file.
pub const MAGIC: [u8; 8] = *b"STRATA\x00M";
/// The major version this library writes and reads.
pub const FORMAT_MAJOR: u16 = 1;
/// The minor version this library writes.
pub const FORMAT_MINOR: u16 = 0;
/// The largest model file [`Sequential::load`] accepts (2 GiB).
pub const MAX_FILE_BYTES: u64 = 2 << 30;
const HEADER: usize = 24;
/// The deepest nesting of MessagePack containers the decoder follows (the schema needs fewer
/// than ten levels).
const MAX_DEPTH: usize = 32;

#[derive(Serialize, Deserialize)]
struct SavedModel {
    name: String,
    input_shape: Vec<usize>,
    layers: Vec<NamedLayer>,
    compiled: Option<SavedCompile>,
}

#[derive(Serialize, Deserialize)]
struct SavedCompile {
    optimizer: Optimizer,
    loss: Loss,
    metrics: Vec<Metric>,
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of a payload, as stored in the model
/// file header (`crc32fast`, with the carry-less multiply instructions where the CPU has them:
/// a byte at a time, the checksum took 7 ms of the 10 a 3 MB model took to load).
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

fn bad(path: &Path, reason: impl Into<String>) -> ModelError {
    ModelError::BadModelFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl Sequential {
    /// The model file's bytes: architecture, weights and, when compiled, the optimizer with
    /// its state. A model that [`Sequential::from_bytes`] would refuse (weights or optimizer
    /// state holding NaN or infinities) is an error here instead.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let saved = SavedModel {
            name: self.name.clone(),
            input_shape: self.input_shape.clone(),
            layers: self.layers.clone(),
            compiled: self.compiled.as_ref().map(|c| SavedCompile {
                optimizer: c.optimizer.clone(),
                loss: c.loss,
                metrics: c.metrics.clone(),
            }),
        };
        let payload = rmp_serde::to_vec_named(&saved)
            .map_err(|e| ModelError::InvalidArgument(format!("cannot encode the model: {e}")))?;
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_MAJOR.to_le_bytes());
        out.extend_from_slice(&FORMAT_MINOR.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        // What saves must load: the bytes are decoded and checked exactly as `load` will check
        // them, so that a model `load` would refuse (NaN weights after a run diverged, say) is
        // reported now, with nothing written, rather than when the file is needed.
        if let Err(e) = Sequential::from_bytes(&out) {
            let reason = match e {
                ModelError::BadModelFile { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(ModelError::InvalidArgument(format!(
                "cannot save the model, it would not load again: {reason}"
            )));
        }
        Ok(out)
    }

    /// Saves the model atomically: a temporary file in the same directory is written, synced
    /// and renamed over `path`, so a crash mid-save leaves the previous file intact.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file_name = path
            .file_name()
            .ok_or_else(|| bad(path, "not a file path"))?
            .to_string_lossy();
        let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)?;
            // Persist the rename itself.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_error(path, e)
        })
    }

    /// Loads a model saved by [`Sequential::save`]. Every way a file can be wrong (missing,
    /// too large, truncated, corrupted, from a newer version, hostile) is a typed error.
    pub fn load(path: impl AsRef<Path>) -> Result<Sequential, ModelError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        let size = file.metadata().map_err(|e| io_error(path, e))?.len();
        if size > MAX_FILE_BYTES {
            return Err(bad(
                path,
                format!("file is {size} bytes, above the {MAX_FILE_BYTES}-byte limit"),
            ));
        }
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(path, e))?;
        Sequential::from_bytes(&bytes).map_err(|e| match e {
            ModelError::BadModelFile { reason, .. } => bad(path, reason),
            other => other,
        })
    }

    /// Decodes a model file's bytes (see [`Sequential::load`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Sequential, ModelError> {
        let here = Path::new("<bytes>");
        if bytes.len() < HEADER {
            return Err(bad(
                here,
                format!(
                    "truncated: {} bytes, shorter than the {HEADER}-byte header",
                    bytes.len()
                ),
            ));
        }
        if bytes[..8] != MAGIC {
            return Err(bad(here, "not a Strata model file (bad magic bytes)"));
        }
        let major = u16::from_le_bytes([bytes[8], bytes[9]]);
        let minor = u16::from_le_bytes([bytes[10], bytes[11]]);
        if major > FORMAT_MAJOR {
            return Err(bad(
                here,
                format!(
                    "model file format v{major}.{minor} is newer than this library supports (v{FORMAT_MAJOR}); upgrade Strata"
                ),
            ));
        }
        if major == 0 {
            return Err(bad(here, "model file format v0 is not a released format"));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[12..20]);
        let declared = u64::from_le_bytes(len);
        let present = (bytes.len() - HEADER) as u64;
        if present < declared {
            return Err(bad(
                here,
                format!(
                    "truncated: the header announces {declared} payload bytes, found {present}"
                ),
            ));
        }
        if present > declared {
            return Err(bad(
                here,
                format!(
                    "trailing bytes: the header announces {declared} payload bytes, found {present}"
                ),
            ));
        }
        let payload = &bytes[HEADER..];
        let stored = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
        if crc32(payload) != stored {
            return Err(bad(here, "checksum mismatch: the file is corrupt"));
        }
        let mut de = rmp_serde::Deserializer::new(std::io::Cursor::new(payload));
        // The schema nests a few levels deep; a hostile payload may nest thousands.
        de.set_max_depth(MAX_DEPTH);
        let saved = SavedModel::deserialize(&mut de)
            .map_err(|e| bad(here, format!("invalid model data: {e}")))?;
        // The payload must be exactly one model: bytes after it (a second document, a
        // polyglot tail) are rejected, as trailing bytes after the payload are.
        let used = de.position();
        if used != payload.len() as u64 {
            return Err(bad(
                here,
                format!(
                    "trailing bytes: the model data ends at byte {used} of a {}-byte payload",
                    payload.len()
                ),
            ));
        }
        Sequential::from_saved(saved)
    }

    fn from_saved(saved: SavedModel) -> Result<Sequential, ModelError> {
        let here = Path::new("<bytes>");
        strata_tensor::Shape::new(&saved.input_shape).map_err(|e| bad(here, e.to_string()))?;
        let mut model = Sequential::with_seed(&saved.input_shape, 0).named(&saved.name);
        for l in saved.layers {
            let input = model.output_shape().to_vec();
            l.layer
                .check_variables(&input)
                .map_err(|e| bad(here, format!("layer {}: {e}", l.name)))?;
            model
                .add_named(&l.name, l.layer)
                .map_err(|e| bad(here, e.to_string()))?;
        }
        if let Some(c) = saved.compiled {
            c.optimizer
                .check_state()
                .map_err(|e| bad(here, format!("optimizer state: {e}")))?;
            let trainable = model.trainable_variables().iter().map(|p| p.id()).collect();
            model.compiled = Some(Compiled {
                optimizer: c.optimizer,
                loss: c.loss,
                metrics: c.metrics,
                trainable,
                grads: Default::default(),
            });
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
    }
}
