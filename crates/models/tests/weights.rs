//! Weights, cloning, freezing, save/load and the hostile-file corpus.

mod common;

use common::{blobs, small_model, temp_path};
use strata::prelude::*;

fn bits(ws: &[Tensor]) -> Vec<Vec<u32>> {
    ws.iter()
        .map(|t| t.as_slice().iter().map(|v| v.to_bits()).collect())
        .collect()
}

#[test]
fn set_weights_is_transactional() {
    let mut model = small_model(1);
    let before = model.get_weights();
    let mut wrong = before.clone();
    wrong[3] = Tensor::zeros(&[17]);
    let err = model.set_weights(&wrong).unwrap_err().to_string();
    assert!(
        err.contains("batch_normalization/beta of shape [16]") && err.contains("[17]"),
        "{err}"
    );
    assert_eq!(bits(&model.get_weights()), bits(&before));
    assert!(model.set_weights(&before[..3]).is_err());
    assert_eq!(bits(&model.get_weights()), bits(&before));
    let doubled: Vec<Tensor> = before.iter().map(|t| t.scale(2.0)).collect();
    model.set_weights(&doubled).unwrap();
    assert_eq!(bits(&model.get_weights()), bits(&doubled));
}

#[test]
fn clone_is_independent_of_its_source() {
    let data = blobs(60, 2);
    let mut a = small_model(3);
    a.compile(
        Sgd::new(0.1),
        "sparse_categorical_crossentropy".parse().unwrap(),
        &[],
    )
    .unwrap();
    let before = a.get_weights();
    let mut b = a.clone();
    assert_eq!(bits(&b.get_weights()), bits(&before));
    b.fit(&data, FitOptions::epochs(2).verbose(0)).unwrap();
    assert_eq!(
        bits(&a.get_weights()),
        bits(&before),
        "training the clone must not touch the source"
    );
    assert_ne!(bits(&b.get_weights()), bits(&before));
}

#[test]
fn a_model_built_from_another_models_layers_does_not_share_them() {
    let data = blobs(60, 3);
    let a = small_model(4);
    let before = a.get_weights();
    let mut b = Sequential::from_layers_of(&a, ..a.len() - 1).unwrap();
    b.add(Dense::new(1).activation("sigmoid")).unwrap();
    assert_eq!(b.layers()[0].name, "dense");
    assert_eq!(b.layers()[2].name, "dense_1");
    b.compile(
        Sgd::new(0.1),
        Loss::BinaryCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )
    .unwrap();
    let binary = data.map_labels(|y| u32::from(y == 0)).unwrap();
    b.fit(&binary, FitOptions::epochs(2).verbose(0)).unwrap();
    assert_eq!(bits(&a.get_weights()), bits(&before));
}

#[test]
fn freezing_keeps_weights_and_bn_statistics_bit_identical() {
    let data = blobs(90, 4);
    let mut model = small_model(5);
    assert!(
        model.set_trainable(..9, false).is_err(),
        "a range past the last layer is an error"
    );
    model.set_trainable(..2, false).unwrap();
    model
        .compile(
            Sgd::new(0.1).momentum(0.9),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[],
        )
        .unwrap();
    let frozen_before: Vec<Tensor> = model.layers()[..2]
        .iter()
        .flat_map(|l| l.layer.weights())
        .collect();
    let head_before = model.layers()[2].layer.weights();
    model.fit(&data, FitOptions::epochs(2).verbose(0)).unwrap();
    let frozen_after: Vec<Tensor> = model.layers()[..2]
        .iter()
        .flat_map(|l| l.layer.weights())
        .collect();
    assert_eq!(
        bits(&frozen_after),
        bits(&frozen_before),
        "frozen Dense and BN (incl. moving statistics) must not change"
    );
    assert_ne!(bits(&model.layers()[2].layer.weights()), bits(&head_before));
}

#[test]
fn unfreezing_without_recompiling_is_an_error() {
    let data = blobs(30, 5);
    let mut model = small_model(6);
    model.set_trainable(..2, false).unwrap();
    model
        .compile(
            Sgd::new(0.1),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[],
        )
        .unwrap();
    model.fit(&data, FitOptions::epochs(1).verbose(0)).unwrap();
    model.set_trainable(.., true).unwrap();
    let err = model
        .fit(&data, FitOptions::epochs(1).verbose(0))
        .unwrap_err();
    assert!(matches!(err, ModelError::TrainableChanged { .. }), "{err}");
    model
        .compile(
            Sgd::new(0.1),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[],
        )
        .unwrap();
    model.fit(&data, FitOptions::epochs(1).verbose(0)).unwrap();
}

#[test]
fn save_load_round_trips_bit_exactly_and_resumes_identically() {
    let data = blobs(90, 6);
    let mut model = small_model(7);
    model
        .compile(
            Adam::new(0.01),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    model
        .fit(&data, FitOptions::epochs(2).verbose(0).seed(1))
        .unwrap();
    let path = temp_path("roundtrip.strata");
    model.save(&path).unwrap();
    let mut loaded = Sequential::load(&path).unwrap();
    assert_eq!(bits(&loaded.get_weights()), bits(&model.get_weights()));
    assert_eq!(loaded.summary(), model.summary());
    assert_eq!(
        loaded.optimizer().unwrap().iterations(),
        model.optimizer().unwrap().iterations()
    );
    let a = model
        .fit(&data, FitOptions::epochs(2).verbose(0).seed(9))
        .unwrap();
    let b = loaded
        .fit(&data, FitOptions::epochs(2).verbose(0).seed(9))
        .unwrap();
    assert_eq!(a, b, "resumed training continues identically");
    assert_eq!(bits(&loaded.get_weights()), bits(&model.get_weights()));
}

#[test]
fn a_failed_save_keeps_the_previous_file() {
    let model = small_model(8);
    let path = temp_path("keep.strata");
    model.save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    assert!(model.save(temp_path("no-such-dir/x.strata")).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), good);
}

#[test]
fn hostile_model_files_are_typed_errors() {
    let mut model = small_model(9);
    model
        .compile(
            Sgd::new(0.1).momentum(0.9),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[],
        )
        .unwrap();
    model
        .fit(&blobs(30, 1), FitOptions::epochs(1).verbose(0))
        .unwrap();
    let bytes = model.to_bytes().unwrap();
    // Every truncation.
    for len in (0..bytes.len()).step_by(7) {
        assert!(
            Sequential::from_bytes(&bytes[..len]).is_err(),
            "truncated to {len}"
        );
    }
    // Trailing bytes.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(
        Sequential::from_bytes(&longer)
            .unwrap_err()
            .to_string()
            .contains("trailing")
    );
    // Every single-byte corruption of the payload is caught by the checksum.
    for i in (24..bytes.len()).step_by(13) {
        let mut bad = bytes.clone();
        bad[i] ^= 0x5A;
        assert!(Sequential::from_bytes(&bad).is_err(), "corruption at {i}");
    }
    // A newer major version.
    let mut newer = bytes.clone();
    newer[8] = 2;
    assert!(
        Sequential::from_bytes(&newer)
            .unwrap_err()
            .to_string()
            .contains("newer than this library supports")
    );
    // Not a model file.
    assert!(Sequential::from_bytes(b"PK\x03\x04 definitely not a model file").is_err());
    // A header that lies about the payload length.
    let mut lying = bytes.clone();
    lying[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(
        Sequential::from_bytes(&lying)
            .unwrap_err()
            .to_string()
            .contains("truncated")
    );
    // A well-formed envelope around hostile payloads (valid checksum, bad content).
    let wrap = |payload: &[u8]| {
        let mut out = strata::MAGIC.to_vec();
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&strata::crc32(payload).to_le_bytes());
        out.extend_from_slice(payload);
        out
    };
    for payload in [
        &b""[..],
        &[0xc1],
        &[0xdd, 0xff, 0xff, 0xff, 0xff],
        &[0x91; 2000],
    ] {
        assert!(Sequential::from_bytes(&wrap(payload)).is_err());
    }
    // Weights whose shapes contradict the configuration.
    let mut weird = small_model(10);
    let first = weird.layer_mut(0).unwrap();
    let _ = first;
    let payload = &bytes[24..];
    let text = payload.to_vec();
    assert!(!text.is_empty());
    weird.pop();
    weird.add(Dense::new(4).activation("softmax")).unwrap();
    let a = weird.to_bytes().unwrap();
    // Splice: keep the envelope valid but change one dimension inside a tensor's shape.
    let mut tampered = a[24..].to_vec();
    if let Some(pos) = tampered.windows(6).position(|w| w == b"kernel") {
        // The kernel's shape array follows its name; bump the first small integer after it.
        if let Some(off) = tampered[pos..].iter().position(|&b| b == 16) {
            tampered[pos + off] = 15;
        }
    }
    assert!(Sequential::from_bytes(&wrap(&tampered)).is_err());
    // Missing file.
    assert!(matches!(
        Sequential::load(temp_path("missing.strata")),
        Err(ModelError::Io { .. })
    ));
}
