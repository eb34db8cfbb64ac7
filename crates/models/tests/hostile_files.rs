//! Model files from strangers, beyond the hand-made cases of `weights.rs`: a seeded mutation
//! sweep over valid files of every layer kind and several optimizers, and every hyperparameter
//! of those files replaced by hostile numbers. The envelope is rebuilt around each tampered
//! payload (right length and checksum), so the decoder and the checks after it see the
//! tampering. Whatever loads must then summarize, predict, sample, evaluate, train a step and
//! save without panicking: a file is data, and no value in it may crash the program. The
//! cargo-fuzz targets in `fuzz/` explore the same surface without bounds (`docs/reliability.md`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use strata::prelude::*;
use strata::{FORMAT_MAJOR, FORMAT_MINOR, MAGIC, crc32};

/// Valid model files covering every layer kind, every clipping mode and several optimizers,
/// trained one epoch so that optimizer state is present.
fn valid_files() -> Vec<(&'static str, Vec<u8>)> {
    let x = Tensor::from_fn(&[8, 2, 3], |i| (i % 7) as f32 / 7.0);
    let classes: Vec<u32> = (0..8).map(|i| (i % 3) as u32).collect();
    let binary: Vec<u32> = (0..8).map(|i| (i % 2) as u32).collect();
    let mut files = Vec::new();

    let mut a = Sequential::with_seed(&[2, 3], 1);
    a.add(Flatten::new()).unwrap();
    a.add(
        Dense::new(4)
            .activation("relu")
            .kernel_regularizer(Regularizer::L2(0.01)),
    )
    .unwrap();
    a.add(BatchNormalization::new()).unwrap();
    a.add(Dropout::new(0.2, 1)).unwrap();
    a.add(Dense::new(3).activation("softmax")).unwrap();
    files.push(("uncompiled", a.to_bytes().unwrap()));
    a.compile(
        Adam::new(0.01).clipvalue(0.5),
        "sparse_categorical_crossentropy".parse().unwrap(),
        &[Metric::Accuracy],
    )
    .unwrap();
    let data = Dataset::from_tensor(&x, classes).unwrap();
    a.fit(&data, FitOptions::epochs(1).verbose(0)).unwrap();
    files.push(("adam", a.to_bytes().unwrap()));

    let mut b = Sequential::with_seed(&[2, 3], 2);
    b.add(Flatten::new()).unwrap();
    b.add(Dense::new(3).kernel_constraint(Constraint::MaxNorm {
        max_value: 1.0,
        axis: 0,
    }))
    .unwrap();
    b.add(PReLU::new()).unwrap();
    b.add(AlphaDropout::new(0.1, 2)).unwrap();
    b.add(LeakyReLU::new(0.2)).unwrap();
    b.add(ELU::new(0.5)).unwrap();
    b.add(Dense::new(1).activation("sigmoid")).unwrap();
    b.compile(
        Sgd::new(0.1).momentum(0.9).nesterov(true).clipnorm(1.0),
        "binary_crossentropy".parse().unwrap(),
        &[Metric::Accuracy],
    )
    .unwrap();
    let data = Dataset::from_tensor(&x, binary).unwrap();
    b.fit(&data, FitOptions::epochs(1).verbose(0)).unwrap();
    files.push(("sgd", b.to_bytes().unwrap()));

    let mut c = Sequential::with_seed(&[3], 3);
    c.add(Dense::new(2).activation("tanh")).unwrap();
    c.compile(
        Nadam::new(0.01).weight_decay(0.01).global_clipnorm(1.0),
        "mse".parse().unwrap(),
        &[],
    )
    .unwrap();
    let targets = Tensor::from_fn(&[4, 2], |i| i as f32 / 8.0);
    let data = Dataset::from_tensors(&Tensor::ones(&[4, 3]), &targets).unwrap();
    c.fit(&data, FitOptions::epochs(1).verbose(0)).unwrap();
    files.push(("nadam", c.to_bytes().unwrap()));

    let mut d = Sequential::with_seed(&[4], 4);
    d.add(Dense::new(3).activation("elu")).unwrap();
    d.add(Dense::new(3).activation("softmax")).unwrap();
    d.compile(
        RmsProp::new(0.01).rho(0.8),
        "categorical_crossentropy".parse().unwrap(),
        &[Metric::Accuracy],
    )
    .unwrap();
    files.push(("rmsprop", d.to_bytes().unwrap()));
    for (name, bytes) in &files {
        Sequential::from_bytes(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    files
}

/// A model file around `payload`, with a correct header and checksum.
fn wrap(payload: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_MAJOR.to_le_bytes());
    out.extend_from_slice(&FORMAT_MINOR.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Loads `bytes` and, when that succeeds, uses the model every way a user would. Returns
/// whether it loaded; panics (with `what`) only if something panicked.
fn load_and_use(bytes: &[u8], what: &str) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let Ok(mut model) = Sequential::from_bytes(bytes) else {
            return false;
        };
        let _ = model.summary();
        let _ = model.get_weights();
        let mut shape = vec![3];
        shape.extend_from_slice(model.input_shape());
        let elements: usize = shape.iter().product();
        if elements <= 1 << 16 {
            let x = Tensor::from_fn(&shape, |i| (i % 5) as f32 - 2.0);
            let _ = model.predict(&x, 2);
            let _ = model.predict_sample(&x, 2);
            if let Some(loss) = model.loss() {
                let out: usize = model.output_shape().iter().product();
                let data = match loss {
                    Loss::SparseCategoricalCrossentropy { .. }
                    | Loss::BinaryCrossentropy { .. } => Dataset::from_tensor(&x, vec![0; 3]),
                    _ => Dataset::from_tensors(&x, &Tensor::zeros(&[3, out.max(1)])),
                };
                if let Ok(data) = data {
                    let _ = model.evaluate(&data, 2);
                    let _ = model.fit(&data, FitOptions::epochs(1).batch_size(2).verbose(0));
                }
            }
        }
        // Training may have made the weights NaN, which saving refuses (with an error); what
        // saves must load.
        if let Ok(again) = model.to_bytes() {
            Sequential::from_bytes(&again).expect("a saved model loads again");
        }
        true
    }));
    outcome.unwrap_or_else(|_| panic!("panicked on {what}"))
}

/// splitmix64: a tiny seeded generator, so that every run tries the same mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that mean something to a MessagePack decoder (markers, sizes, extremes).
const INTERESTING: [u8; 16] = [
    0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc1, 0xc2, 0xca, 0xcb, 0xcf, 0xd3, 0xdc, 0xdd, 0xde, 0xdf,
];

fn mutate(rng: &mut Rng, payload: &[u8]) -> Vec<u8> {
    let mut p = payload.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(p.len());
        match rng.below(7) {
            0 => p[at] ^= 1 << rng.below(8),
            1 => p[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => p.truncate(at),
            3 => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                p.splice(at..at, bytes);
            }
            4 => {
                let end = (at + 1 + rng.below(64)).min(p.len());
                let chunk = p[at..end].to_vec();
                let to = rng.below(p.len());
                p.splice(to..to, chunk);
            }
            5 => {
                let end = (at + 1 + rng.below(64)).min(p.len());
                p.drain(at..end);
            }
            _ => {
                let big = [0xff_u8, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff];
                let end = (at + 4).min(p.len());
                p[at..end].copy_from_slice(&big[..end - at]);
            }
        }
        if p.is_empty() {
            break;
        }
    }
    p
}

#[test]
fn mutated_model_files_load_or_fail_with_an_error_and_never_panic() {
    let mut rng = Rng(20261207);
    let (mut loaded, mut total) = (0, 0);
    for (name, bytes) in valid_files() {
        let payload = &bytes[24..];
        for i in 0..1500 {
            let tampered = mutate(&mut rng, payload);
            loaded += load_and_use(&wrap(&tampered), &format!("{name} mutation {i}")) as usize;
            total += 1;
        }
    }
    // Most mutations break the MessagePack structure; some survive as other valid models
    // (a changed weight or name), which the sweep then trains and saves.
    assert!(loaded > 0 && loaded < total, "{loaded} of {total} loaded");
}

/// Positions of the number that follows each occurrence of the MessagePack string `key`, with
/// the number's encoding: `(offset of the marker or fixint, width in bytes after it)`.
fn numbers_after(payload: &[u8], key: &str) -> Vec<(usize, u8, usize)> {
    let mut needle = vec![0xa0 | key.len() as u8];
    needle.extend_from_slice(key.as_bytes());
    let mut found = Vec::new();
    for at in 0..payload.len().saturating_sub(needle.len()) {
        if payload[at..].starts_with(&needle) {
            let v = at + needle.len();
            match payload.get(v) {
                Some(&m @ (0xca | 0xcb)) => found.push((v, m, if m == 0xca { 4 } else { 8 })),
                Some(&m) if m < 0x80 => found.push((v, m, 0)),
                _ => {}
            }
        }
    }
    found
}

#[test]
fn hostile_hyperparameters_in_a_file_are_rejected_or_harmless() {
    // Every configuration number a file holds, replaced by values no builder would accept.
    let keys = [
        "rate",
        "momentum",
        "epsilon",
        "negative_slope",
        "alpha",
        "max_value",
        "axis",
        "units",
        "beta_1",
        "beta_2",
        "rho",
        "weight_decay",
        "scale",
        "Constant",
        "Value",
        "Norm",
        "GlobalNorm",
        "L2",
        "iterations",
    ];
    let floats = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1.0,
        0.0,
        1.0,
        1.5,
        1e30,
        -1e-30,
    ];
    let ints = [0u8, 1, 2, 5, 0x7f];
    let mut tried = 0;
    for (name, bytes) in valid_files() {
        let payload = &bytes[24..];
        for key in keys {
            for (at, marker, width) in numbers_after(payload, key) {
                let mut variants = Vec::new();
                match width {
                    4 => {
                        for v in floats {
                            let mut p = payload.to_vec();
                            p[at + 1..at + 5].copy_from_slice(&(v as f32).to_be_bytes());
                            variants.push((format!("{v}"), p));
                        }
                    }
                    8 => {
                        for v in floats {
                            let mut p = payload.to_vec();
                            p[at + 1..at + 9].copy_from_slice(&v.to_be_bytes());
                            variants.push((format!("{v}"), p));
                        }
                    }
                    _ => {
                        for v in ints.into_iter().filter(|&v| v != marker) {
                            let mut p = payload.to_vec();
                            p[at] = v;
                            variants.push((format!("{v}"), p));
                        }
                    }
                }
                for (value, p) in variants {
                    let what = format!("{name}: {key} = {value} at byte {at}");
                    let loaded = load_and_use(&wrap(&p), &what);
                    // No configuration number of any layer, optimizer, schedule, clipping or
                    // penalty may be NaN or infinite.
                    let non_finite = ["NaN", "inf", "-inf"].contains(&value.as_str());
                    assert!(!(loaded && non_finite), "{what} was accepted");
                    tried += 1;
                }
            }
        }
    }
    assert!(
        tried > 200,
        "only {tried} tampered files: the key search found too little"
    );
}

#[test]
fn bytes_after_the_model_data_are_rejected() {
    for (name, bytes) in valid_files() {
        for tail in [&[0xc0][..], &[0x00, 0x00], &bytes[24..]] {
            let mut payload = bytes[24..].to_vec();
            payload.extend_from_slice(tail);
            let err = Sequential::from_bytes(&wrap(&payload)).unwrap_err();
            assert!(err.to_string().contains("trailing bytes"), "{name}: {err}");
        }
    }
}

#[test]
fn nesting_deeper_than_any_model_is_rejected_without_exhausting_the_stack() {
    // 100,000 nested one-element arrays: a decoder following them all would recurse 100,000
    // levels deep.
    let mut payload = vec![0x91; 100_000];
    payload.push(0xc0);
    let err = Sequential::from_bytes(&wrap(&payload)).unwrap_err();
    assert!(err.to_string().contains("invalid model data"), "{err}");
}

/// Writes the valid files above as the fuzzers' seeds (`fuzz/seeds/`): run with
/// `cargo test --release -p strata --test hostile_files -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes files into fuzz/seeds; run by hand when the format changes"]
fn write_fuzz_seeds() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for (name, bytes) in valid_files() {
        std::fs::write(seeds.join("model_file").join(name), &bytes).unwrap();
        std::fs::write(seeds.join("model_payload").join(name), &bytes[24..]).unwrap();
    }
}
