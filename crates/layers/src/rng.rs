//! A small, serializable random number generator for dropout masks.

use serde::{Deserialize, Serialize};

/// SplitMix64: tiny state (so a layer's randomness is saved with it and clones repeat it),
/// fast, and statistically sound for masks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskRng {
    state: u64,
}

impl MaskRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> MaskRng {
        MaskRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)` with 24 random bits.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }
}
