//! Shared by the golden tests of several crates (included with `#[path]`): the fixtures
//! written by `tools/golden/*.py` encode NaN and ±∞, which JSON cannot hold, as the strings
//! "nan", "inf" and "-inf".

use serde_json::Value;

/// A golden list of numbers that may hold the strings "nan", "inf" and "-inf".
pub fn floats_or_non_finite(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x.as_str() {
            Some("nan") => f32::NAN,
            Some("inf") => f32::INFINITY,
            Some("-inf") => f32::NEG_INFINITY,
            Some(other) => panic!("unexpected golden string {other:?}"),
            None => x.as_f64().unwrap() as f32,
        })
        .collect()
}
