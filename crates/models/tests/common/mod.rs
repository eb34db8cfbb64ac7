//! Helpers shared by the facade's tests.
#![allow(dead_code)]

use strata::prelude::*;

/// A small, learnable 3-class problem: class = which of three feature groups is brightest.
pub fn blobs(n: usize, seed: u64) -> Dataset {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32) / (1u64 << 31) as f32
    };
    let mut x = Vec::with_capacity(n * 6);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 3;
        for f in 0..6 {
            let signal = if f / 2 == class { 1.0 } else { 0.0 };
            x.push(signal + 0.3 * (next() - 0.5));
        }
        y.push(class as u32);
    }
    Dataset::from_tensor(&Tensor::from_vec(&[n, 6], x).unwrap(), y).unwrap()
}

pub fn small_model(seed: u64) -> Sequential {
    let mut model = Sequential::with_seed(&[6], seed);
    model.add(Dense::new(16).activation("relu")).unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model
}

pub fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Whether two lists of tensors hold the same values bit for bit (same count, same lengths).
pub fn same_bits(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.len() == b.len()
                && a.as_slice()
                    .iter()
                    .zip(b.as_slice())
                    .all(|(x, y)| x.to_bits() == y.to_bits())
        })
}

/// `n` samples of shape `sample` with values in [0, 1) and 10 random classes, from a seeded
/// xorshift generator (no dependency, so tests that count allocations can use it).
pub fn random_classes(n: usize, sample: &[usize], seed: u64) -> Dataset {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let features: usize = sample.iter().product();
    let x: Vec<f32> = (0..n * features)
        .map(|_| (next() % 1000) as f32 / 1000.0)
        .collect();
    let y: Vec<u32> = (0..n).map(|_| (next() % 10) as u32).collect();
    let mut shape = vec![n];
    shape.extend_from_slice(sample);
    Dataset::from_tensor(&Tensor::from_vec(&shape, x).unwrap(), y).unwrap()
}
