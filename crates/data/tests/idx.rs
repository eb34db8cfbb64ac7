//! The IDX reader on small files the tests write, and on a corpus of hostile files
//! (RELIABILITY.md §2.4).

use flate2::{Compression, write::GzEncoder};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use strata_data::idx::{Limits, read_images, read_labels};
use strata_data::{DataError, fashion_mnist};

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "strata-idx-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn images_bytes(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [count, rows, cols] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend((0..count * rows * cols).map(|i| (i % 251) as u8));
    v
}

fn labels_bytes(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn small_limits() -> Limits {
    Limits {
        max_items: 1000,
        max_side: 28,
    }
}

#[test]
fn reads_plain_and_gzip_files_identically() {
    let dir = temp_dir();
    let raw = images_bytes(3, 4, 5);
    let plain = read_images(&write(&dir, "a", &raw), small_limits()).unwrap();
    let gz = read_images(&write(&dir, "a.gz", &gzip(&raw)), small_limits()).unwrap();
    assert_eq!(plain, gz);
    assert_eq!((plain.count, plain.rows, plain.cols), (3, 4, 5));
    assert_eq!(plain.pixels, raw[16..].to_vec());
    let labels = read_labels(
        &write(&dir, "l.gz", &gzip(&labels_bytes(&[0, 9, 3]))),
        small_limits(),
        10,
    )
    .unwrap();
    assert_eq!(labels, vec![0, 9, 3]);
}

#[test]
fn every_truncation_is_a_truncated_error() {
    let dir = temp_dir();
    let raw = images_bytes(2, 3, 3);
    for len in 0..raw.len() {
        for (name, bytes) in [("t", raw[..len].to_vec()), ("t.gz", gzip(&raw[..len]))] {
            let err = read_images(&write(&dir, name, &bytes), small_limits()).unwrap_err();
            assert!(
                matches!(err, DataError::Truncated { .. }),
                "length {len} ({name}): {err}"
            );
        }
    }
    let labels = labels_bytes(&[1, 2, 3]);
    for len in 0..labels.len() {
        let err = read_labels(&write(&dir, "l", &labels[..len]), small_limits(), 10).unwrap_err();
        assert!(
            matches!(err, DataError::Truncated { .. }),
            "labels length {len}: {err}"
        );
    }
}

#[test]
fn trailing_bytes_are_their_own_error() {
    let dir = temp_dir();
    let mut raw = images_bytes(2, 3, 3);
    raw.push(7);
    for (name, bytes) in [("t", raw.clone()), ("t.gz", gzip(&raw))] {
        let err = read_images(&write(&dir, name, &bytes), small_limits()).unwrap_err();
        assert!(
            matches!(err, DataError::TrailingBytes { expected: 18, .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn wrong_magic_type_and_rank_are_rejected() {
    let dir = temp_dir();
    let mut bad = images_bytes(1, 2, 2);
    bad[0] = 0x1f; // neither IDX nor a full gzip header
    assert!(matches!(
        read_images(&write(&dir, "m", &bad), small_limits()).unwrap_err(),
        DataError::BadMagic { .. }
    ));
    let mut bad = images_bytes(1, 2, 2);
    bad[2] = 0x0D; // f32 elements
    assert!(matches!(
        read_images(&write(&dir, "t", &bad), small_limits()).unwrap_err(),
        DataError::UnsupportedType { found: 0x0D, .. }
    ));
    // A label file given where images are expected.
    let err = read_images(&write(&dir, "r", &labels_bytes(&[1])), small_limits()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadRank {
                expected: 3,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("expected 3 dimensions, found 1"));
}

#[test]
fn lying_headers_fail_fast_without_allocating_what_they_claim() {
    let dir = temp_dir();
    // Claims 4 billion images of 28×28 in a 16-byte file.
    let mut lie = vec![0, 0, 8, 3];
    for d in [u32::MAX, 28, 28] {
        lie.extend_from_slice(&d.to_be_bytes());
    }
    let err = read_images(&write(&dir, "lie", &lie), Limits::default()).unwrap_err();
    assert!(
        matches!(err, DataError::BadDimension { what: "count", .. }),
        "{err}"
    );
    // Within the count limit but far more data than present: truncated, not an allocation.
    let mut lie = vec![0, 0, 8, 3];
    for d in [900_000u32, 28, 28] {
        lie.extend_from_slice(&d.to_be_bytes());
    }
    lie.extend_from_slice(&[0; 100]);
    let err = read_images(&write(&dir, "lie2", &lie), Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 705_600_000,
                found: 100,
                ..
            }
        ),
        "{err}"
    );
    // Zero and oversized sides.
    for (rows, cols) in [(0, 28), (28, 29), (100_000, 100_000)] {
        let mut lie = vec![0, 0, 8, 3];
        for d in [1u32, rows, cols] {
            lie.extend_from_slice(&d.to_be_bytes());
        }
        let err = read_images(&write(&dir, "side", &lie), Limits::default()).unwrap_err();
        assert!(
            matches!(err, DataError::BadDimension { .. }),
            "{rows}x{cols}: {err}"
        );
    }
}

#[test]
fn a_gzip_bomb_is_stopped_after_one_byte_past_the_announced_size() {
    let dir = temp_dir();
    // Header: one 28×28 image; then 200 MB of zeros, which gzip squeezes to ~200 KB.
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(&images_bytes(1, 28, 28)).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..200 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let start = std::time::Instant::now();
    let err = read_images(&write(&dir, "bomb.gz", &bomb), Limits::default()).unwrap_err();
    assert!(
        matches!(err, DataError::TrailingBytes { expected: 784, .. }),
        "{err}"
    );
    // Reading 785 bytes takes microseconds; inflating 200 MB would take far longer.
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn labels_out_of_range_name_the_first_bad_index() {
    let dir = temp_dir();
    let err = read_labels(
        &write(&dir, "l", &labels_bytes(&[1, 2, 10, 11])),
        small_limits(),
        10,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 2,
                label: 10,
                classes: 10,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = read_images(Path::new("/nonexistent/strata/images"), small_limits()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent/strata/images"));
}

fn write_family(dir: &Path, train: usize, test: usize, gz: bool) {
    let labels = |n: usize| (0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>();
    let files = [
        (
            "train-images-idx3-ubyte",
            images_bytes(train as u32, 28, 28),
        ),
        ("train-labels-idx1-ubyte", labels_bytes(&labels(train))),
        ("t10k-images-idx3-ubyte", images_bytes(test as u32, 28, 28)),
        ("t10k-labels-idx1-ubyte", labels_bytes(&labels(test))),
    ];
    for (name, bytes) in files {
        if gz {
            write(dir, &format!("{name}.gz"), &gzip(&bytes));
        } else {
            write(dir, name, &bytes);
        }
    }
}

#[test]
fn loader_reads_a_directory_of_four_files() {
    for gz in [true, false] {
        let dir = temp_dir();
        write_family(&dir, 30, 20, gz);
        let (train, test) = fashion_mnist::load_data_from(&dir).unwrap();
        assert_eq!((train.len(), test.len()), (30, 20));
        assert_eq!(train.sample_shape(), &[28, 28]);
        assert_eq!(train.class_counts(10), vec![3; 10]);
        assert_eq!(test.labels().unwrap()[..3], [0, 1, 2]);
    }
}

#[test]
fn loader_rejects_image_label_count_mismatch() {
    let dir = temp_dir();
    write_family(&dir, 30, 20, true);
    write(
        &dir,
        "t10k-labels-idx1-ubyte.gz",
        &gzip(&labels_bytes(&[1; 19])),
    );
    let err = fashion_mnist::load_data_from(&dir).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 20,
                labels: 19,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn loader_reports_a_missing_file() {
    let dir = temp_dir();
    write_family(&dir, 3, 2, true);
    std::fs::remove_file(dir.join("t10k-images-idx3-ubyte.gz")).unwrap();
    let err = fashion_mnist::load_data_from(&dir).unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }));
    assert!(err.to_string().contains("t10k-images-idx3-ubyte"), "{err}");
}

#[test]
fn not_found_error_lists_every_place_searched_and_how_to_fix_it() {
    let err = strata_data::DataError::NotFound {
        dataset: "Fashion-MNIST",
        searched: fashion_mnist::search_paths(),
        hint: "On Debian: `apt-get install dataset-fashion-mnist`",
    };
    let text = err.to_string();
    assert!(text.contains("/usr/share/datasets/fashion-mnist"), "{text}");
    assert!(text.contains("apt-get install dataset-fashion-mnist"));
}
