//! Raw bytes into the model loader: the envelope checks (size, magic, version, length,
//! checksum) must turn every input into a model or a typed error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = strata::Sequential::from_bytes(data);
});
