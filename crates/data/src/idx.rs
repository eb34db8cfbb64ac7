//! A validating reader for IDX files (the MNIST family), plain or gzip-compressed.
//!
//! Everything is checked before data is accepted, and nothing is allocated from a size the
//! header declares: the magic number and element type, the number of dimensions, each
//! dimension against a limit, the exact payload length (truncated and trailing bytes are
//! distinct errors), and, for gzip, a decompression bound of the announced size plus one byte.

use crate::DataError;
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Limits on what an IDX file may declare.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest number of items (images or labels).
    pub max_items: u64,
    /// Largest image side (rows and columns).
    pub max_side: u64,
}

impl Default for Limits {
    /// One million items (MNIST has 70,000) of at most 28×28 pixels.
    fn default() -> Self {
        Limits {
            max_items: 1_000_000,
            max_side: 28,
        }
    }
}

/// Images read from an IDX file: `count` images of `rows × cols` unsigned bytes, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count · rows · cols` pixels.
    pub pixels: Vec<u8>,
}

fn io_error(path: &Path, source: std::io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens a file, transparently decompressing it when it starts with the gzip magic bytes.
fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut head = [0u8; 2];
    let n = read_up_to(&mut file, &mut head).map_err(|e| io_error(path, e))?;
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    if n == 2 && head == [0x1f, 0x8b] {
        Ok(Box::new(GzDecoder::new(BufReader::new(file))))
    } else {
        Ok(Box::new(BufReader::new(file)))
    }
}

fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads the header and returns the dimensions, having checked magic, type and rank.
fn read_header(reader: &mut dyn Read, path: &Path, ndim: u8) -> Result<Vec<u64>, DataError> {
    let mut magic = [0u8; 4];
    let n = read_up_to(reader, &mut magic).map_err(|e| io_error(path, e))?;
    if n < 4 {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: 4,
            found: n as u64,
        });
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found: u32::from_be_bytes(magic),
            expected_ndim: ndim,
        });
    }
    if magic[2] != 0x08 {
        return Err(DataError::UnsupportedType {
            path: path.to_path_buf(),
            found: magic[2],
        });
    }
    if magic[3] != ndim {
        return Err(DataError::BadRank {
            path: path.to_path_buf(),
            expected: ndim,
            found: magic[3],
        });
    }
    let mut dims = Vec::with_capacity(ndim as usize);
    for _ in 0..ndim {
        let mut d = [0u8; 4];
        let n = read_up_to(reader, &mut d).map_err(|e| io_error(path, e))?;
        if n < 4 {
            return Err(DataError::Truncated {
                path: path.to_path_buf(),
                expected: 4,
                found: n as u64,
            });
        }
        dims.push(u32::from_be_bytes(d) as u64);
    }
    Ok(dims)
}

fn check_dim(path: &Path, what: &'static str, found: u64, limit: u64) -> Result<(), DataError> {
    if found == 0 || found > limit {
        return Err(DataError::BadDimension {
            path: path.to_path_buf(),
            what,
            found,
            limit,
        });
    }
    Ok(())
}

/// Reads exactly `expected` payload bytes; fewer is `Truncated`, more is `TrailingBytes`.
/// At most `expected + 1` bytes are ever read (or decompressed).
fn read_payload(reader: Box<dyn Read>, path: &Path, expected: u64) -> Result<Vec<u8>, DataError> {
    let mut data = Vec::new();
    reader
        .take(expected + 1)
        .read_to_end(&mut data)
        .map_err(|e| io_error(path, e))?;
    let found = data.len() as u64;
    if found < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            found,
        });
    }
    if found > expected {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
        });
    }
    Ok(data)
}

/// Reads an image file (`magic 0x00000803`).
pub fn read_images(path: &Path, limits: Limits) -> Result<Images, DataError> {
    let mut reader = open(path)?;
    let dims = read_header(&mut reader, path, 3)?;
    check_dim(path, "count", dims[0], limits.max_items)?;
    check_dim(path, "rows", dims[1], limits.max_side)?;
    check_dim(path, "columns", dims[2], limits.max_side)?;
    // Bounded by the limits above (≤ 2⁶⁴ only in absurd configurations), checked anyway.
    let expected = dims[0]
        .checked_mul(dims[1])
        .and_then(|v| v.checked_mul(dims[2]))
        .ok_or(DataError::BadDimension {
            path: path.to_path_buf(),
            what: "count",
            found: dims[0],
            limit: limits.max_items,
        })?;
    let pixels = read_payload(reader, path, expected)?;
    Ok(Images {
        count: dims[0] as usize,
        rows: dims[1] as usize,
        cols: dims[2] as usize,
        pixels,
    })
}

/// Reads a label file (`magic 0x00000801`) and checks every label is below `classes`.
pub fn read_labels(path: &Path, limits: Limits, classes: usize) -> Result<Vec<u8>, DataError> {
    let mut reader = open(path)?;
    let dims = read_header(&mut reader, path, 1)?;
    check_dim(path, "count", dims[0], limits.max_items)?;
    let labels = read_payload(reader, path, dims[0])?;
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= classes)
    {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label,
            classes,
        });
    }
    Ok(labels)
}
