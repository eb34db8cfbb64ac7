//! Locating and loading the four IDX files of an MNIST-family dataset.

use crate::idx::{self, Limits};
use crate::{DataError, Dataset};
use std::path::{Path, PathBuf};

/// The environment variable naming a directory to search for datasets: either the directory
/// holding the four files, or one with a subdirectory per dataset (`fashion-mnist`, `mnist`).
pub const DATA_DIR_ENV: &str = "STRATA_DATA_DIR";

pub(crate) struct Family {
    pub name: &'static str,
    pub subdir: &'static str,
    pub system_dirs: &'static [&'static str],
    pub hint: &'static str,
}

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The file `stem` in `dir`, compressed or not.
fn find_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.gz"), stem.to_string()]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("strata").join("datasets"))
}

impl Family {
    /// The directories searched, in order: `$STRATA_DATA_DIR` (and its subdirectory for this
    /// dataset), the Debian package locations, then the per-user cache.
    pub fn search_paths(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV) {
            let dir = PathBuf::from(dir);
            paths.push(dir.join(self.subdir));
            paths.push(dir);
        }
        paths.extend(self.system_dirs.iter().map(PathBuf::from));
        if let Some(cache) = cache_dir() {
            paths.push(cache.join(self.subdir));
        }
        paths
    }

    /// Whether `dir` holds all four files.
    pub fn is_complete(dir: &Path) -> bool {
        FILES.iter().all(|stem| find_file(dir, stem).is_some())
    }

    pub fn locate(&self) -> Result<PathBuf, DataError> {
        let searched = self.search_paths();
        match searched.iter().find(|dir| Family::is_complete(dir)) {
            Some(dir) => Ok(dir.clone()),
            None => Err(DataError::NotFound {
                dataset: self.name,
                searched,
                hint: self.hint,
            }),
        }
    }

    /// Loads `(train, test)` from `dir`, checking every file and the image/label agreement.
    pub fn load_from(&self, dir: &Path) -> Result<(Dataset, Dataset), DataError> {
        let missing = |stem: &str| DataError::NotFound {
            dataset: self.name,
            searched: vec![dir.join(stem)],
            hint: self.hint,
        };
        let path = |stem: &str| find_file(dir, stem).ok_or_else(|| missing(stem));
        let train = load_split(&path(FILES[0])?, &path(FILES[1])?)?;
        let test = load_split(&path(FILES[2])?, &path(FILES[3])?)?;
        Ok((train, test))
    }
}

fn load_split(images_path: &Path, labels_path: &Path) -> Result<Dataset, DataError> {
    let limits = Limits::default();
    let images = idx::read_images(images_path, limits)?;
    let labels = idx::read_labels(labels_path, limits, 10)?;
    if images.count != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            labels_path: labels_path.to_path_buf(),
            images: images.count,
            labels: labels.len(),
        });
    }
    Dataset::from_bytes(
        images.pixels,
        &[images.rows, images.cols],
        labels.into_iter().map(u32::from).collect(),
    )
}
