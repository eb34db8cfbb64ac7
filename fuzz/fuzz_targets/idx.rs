//! Bytes as an IDX file (plain, or gzip when they start with its magic bytes), read both as
//! images and as labels: every input must give data or a typed error, never a panic, and
//! never an allocation sized by the header rather than by the bytes present.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use strata_data::idx::{Limits, read_images, read_labels};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("strata-fuzz-idx-{}", std::process::id()));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(data))
        .expect("the temporary file is writable");
    let limits = Limits::default();
    if let Ok(images) = read_images(&path, limits) {
        assert_eq!(
            images.pixels.len(),
            images.count * images.rows * images.cols
        );
    }
    if let Ok(labels) = read_labels(&path, limits, 10) {
        assert!(labels.iter().all(|&l| l < 10));
    }
});
