//! The data crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong loading or preparing data. Every variant names the file (when
/// there is one), what was expected and what was found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The first bytes are not an IDX magic number (`00 00 type ndim`).
    #[error("{}: not an IDX file (magic number {found:#010x}; expected 0x0000080{expected_ndim} for unsigned bytes in {expected_ndim} dimensions)", .path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The four magic bytes, big-endian.
        found: u32,
        /// The number of dimensions the caller expected.
        expected_ndim: u8,
    },
    /// The element type is not unsigned bytes (0x08), the only one MNIST files use.
    #[error("{}: IDX element type {found:#04x} is not supported (expected 0x08, unsigned bytes)", .path.display())]
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// The type byte found.
        found: u8,
    },
    /// The number of dimensions is wrong (images have 3, labels 1).
    #[error("{}: expected {expected} dimensions, found {found}", .path.display())]
    BadRank {
        /// The file.
        path: PathBuf,
        /// Dimensions expected.
        expected: u8,
        /// Dimensions found.
        found: u8,
    },
    /// A dimension is zero or above its limit.
    #[error("{}: {what} is {found}, expected 1..={limit}", .path.display())]
    BadDimension {
        /// The file.
        path: PathBuf,
        /// Which dimension (`count`, `rows`, `columns`).
        what: &'static str,
        /// The value in the header.
        found: u64,
        /// The largest accepted value.
        limit: u64,
    },
    /// The file ends before the data the header announces.
    #[error("{}: truncated: the header announces {expected} bytes of data, found only {found}", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Data bytes announced.
        expected: u64,
        /// Data bytes present.
        found: u64,
    },
    /// The file has bytes after the data the header announces.
    #[error("{}: trailing bytes: the header announces {expected} bytes of data, but there are more", .path.display())]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Data bytes announced.
        expected: u64,
    },
    /// A label is not a valid class.
    #[error("{}: label {label} at index {index} is out of range for {classes} classes", .path.display())]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Index of the first bad label.
        index: usize,
        /// Its value.
        label: u8,
        /// The number of classes.
        classes: usize,
    },
    /// The image and label files disagree on the number of samples.
    #[error("{} holds {images} images but {} holds {labels} labels", .images_path.display(), .labels_path.display())]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Images found.
        images: usize,
        /// Labels found.
        labels: usize,
    },
    /// No directory holds the dataset's files.
    #[error("{dataset} files not found; looked in: {}. {hint}", .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// The dataset's name.
        dataset: &'static str,
        /// Every directory searched, in order.
        searched: Vec<PathBuf>,
        /// How to get the files.
        hint: &'static str,
    },
    /// An argument is out of its valid range (a zero batch size, a split past the end, …).
    #[error("{0}")]
    InvalidArgument(String),
}
