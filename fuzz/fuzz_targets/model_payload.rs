//! Bytes as the MessagePack payload of a well-formed envelope (right magic, version, length
//! and checksum), so that the fuzzer reaches the decoder and the checks after it. A model that
//! loads must also predict, summarize and save without panicking, and save to a file that
//! loads again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata::{FORMAT_MAJOR, FORMAT_MINOR, MAGIC, Sequential, crc32};

fuzz_target!(|payload: &[u8]| {
    let mut bytes = Vec::with_capacity(24 + payload.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_MAJOR.to_le_bytes());
    bytes.extend_from_slice(&FORMAT_MINOR.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    if let Ok(mut model) = Sequential::from_bytes(&bytes) {
        let _ = model.summary();
        let mut shape = vec![2];
        shape.extend_from_slice(model.input_shape());
        if shape.iter().product::<usize>() <= 1 << 16 {
            let x = strata::tensor::Tensor::zeros(&shape);
            let _ = model.predict(&x, 2);
        }
        let again = model
            .to_bytes()
            .expect("a model that loaded (and did not train) saves");
        Sequential::from_bytes(&again).expect("a saved model loads");
    }
});
