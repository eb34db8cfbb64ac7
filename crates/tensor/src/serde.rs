//! A compact serde form for tensors: the shape and the little-endian bytes of the data.
//!
//! The form does not depend on ndarray's serde layout, and MessagePack stores the data as one
//! `bin` block. Deserialization checks the rank, that the shape's element count does not
//! overflow, and that the byte count matches it exactly, before it allocates the tensor.

use crate::{Shape, Tensor};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl Serialize for Tensor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(self.len() * 4);
        for v in self.as_slice() {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let mut s = serializer.serialize_struct("Tensor", 2)?;
        s.serialize_field("shape", self.shape())?;
        s.serialize_field("data", &Bytes(&bytes))?;
        s.end()
    }
}

struct ByteBuf(Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        deserializer.deserialize_byte_buf(V)
    }
}

impl<'de> Deserialize<'de> for Tensor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tensor;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tensor {shape, data}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tensor, A::Error> {
                let shape: Vec<usize> = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let data: ByteBuf = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                build(shape, data.0)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tensor, A::Error> {
                let mut shape: Option<Vec<usize>> = None;
                let mut data: Option<ByteBuf> = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "shape" => shape = Some(map.next_value()?),
                        "data" => data = Some(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["shape", "data"])),
                    }
                }
                let shape = shape.ok_or_else(|| de::Error::missing_field("shape"))?;
                let data = data.ok_or_else(|| de::Error::missing_field("data"))?;
                build(shape, data.0)
            }
        }
        deserializer.deserialize_struct("Tensor", &["shape", "data"], V)
    }
}

fn build<E: de::Error>(shape: Vec<usize>, bytes: Vec<u8>) -> Result<Tensor, E> {
    let shape = Shape::new(&shape).map_err(E::custom)?;
    let expected = shape
        .numel()
        .checked_mul(4)
        .ok_or_else(|| E::custom("tensor too large"))?;
    if bytes.len() != expected {
        return Err(E::custom(format!(
            "tensor of shape {:?} needs {expected} data bytes, found {}",
            &*shape,
            bytes.len()
        )));
    }
    let data: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Tensor::from_parts(shape, Arc::new(data)))
}
