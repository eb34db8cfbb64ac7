//! Fashion-MNIST (Zalando): 60,000 training and 10,000 test images of clothing, 28×28, 10 classes.

use crate::family::Family;
use crate::{DataError, Dataset};
use std::path::{Path, PathBuf};

/// The class names, indexed by label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

const FAMILY: Family = Family {
    name: "Fashion-MNIST",
    subdir: "fashion-mnist",
    system_dirs: &["/usr/share/datasets/fashion-mnist"],
    hint: "On Debian: `apt-get install dataset-fashion-mnist`; or set STRATA_DATA_DIR to a directory holding \
           train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz",
};

/// Loads `(train, test)` like Keras's `fashion_mnist.load_data()`: raw `u8` pixels (scale them
/// with [`Dataset::scaled`]) and labels `0..10`.
///
/// Looks, in order, in `$STRATA_DATA_DIR/fashion-mnist`, `$STRATA_DATA_DIR`,
/// `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`), and the per-user
/// cache `$XDG_CACHE_HOME/strata/datasets/fashion-mnist` (or `~/.cache/…`). When none holds the
/// files, the error lists every place searched and how to get them.
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

/// The first directory of [`search_paths`] that holds all four files.
pub fn locate() -> Result<PathBuf, DataError> {
    FAMILY.locate()
}
