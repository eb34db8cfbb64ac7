//! MNIST: 60,000 training and 10,000 test images of handwritten digits, 28×28, 10 classes.

use crate::family::Family;
use crate::{DataError, Dataset};
use std::path::{Path, PathBuf};

/// The class names, indexed by label.
pub const CLASS_NAMES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

const FAMILY: Family = Family {
    name: "MNIST",
    subdir: "mnist",
    system_dirs: &["/usr/share/datasets/mnist"],
    hint: "set STRATA_DATA_DIR to a directory holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
           t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or an `mnist` subdirectory with them)",
};

/// Loads `(train, test)` like Keras's `mnist.load_data()`: raw `u8` pixels and labels `0..10`.
///
/// Looks, in order, in `$STRATA_DATA_DIR/mnist`, `$STRATA_DATA_DIR`, `/usr/share/datasets/mnist`,
/// and the per-user cache `$XDG_CACHE_HOME/strata/datasets/mnist` (or `~/.cache/…`).
pub fn load_data() -> Result<(Dataset, Dataset), DataError> {
    FAMILY.load_from(&FAMILY.locate()?)
}

/// Loads `(train, test)` from the directory `dir` holding the four IDX files (`.gz` or plain).
pub fn load_data_from(dir: &Path) -> Result<(Dataset, Dataset), DataError> {
    FAMILY.load_from(dir)
}

/// The directories [`load_data`] searches, in order.
pub fn search_paths() -> Vec<PathBuf> {
    FAMILY.search_paths()
}
