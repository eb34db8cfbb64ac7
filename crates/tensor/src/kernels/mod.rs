//! CPU kernels on slices, with the instruction set chosen once at run time.
//!
//! Every element-wise kernel is written once, as branch-free scalar Rust (`math.rs` and the
//! `*_generic` functions). The `multiversion!` macro compiles that one body three times: for
//! AVX-512, for AVX2+FMA (both under `#[target_feature]`, where LLVM vectorizes it 16 or 8 lanes
//! wide), and for the baseline target (the portable fallback). The dispatcher picks the best set
//! the CPU has, once, through a `OnceLock`. Because the three instances are the same source and
//! Rust never fuses multiply-adds on its own, they return bit-identical results; the tests in
//! `tests/kernels.rs` check exactly that on every length `0..=67`.

use std::sync::OnceLock;

pub mod activation;
pub mod convert;
pub mod elementwise;
pub mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_avx2;
#[cfg(target_arch = "x86_64")]
mod gemm_avx512;
#[cfg(target_arch = "x86_64")]
mod gemm_batch;
#[cfg(target_arch = "x86_64")]
mod gemm_packed;
pub mod math;
pub mod reduce;
pub mod softmax;
pub mod update;

/// An instruction-set level a kernel can be compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// The baseline target: portable Rust, whatever the compiler's default target allows.
    Scalar,
    /// x86-64 with AVX2 and FMA (256-bit vectors).
    Avx2,
    /// x86-64 with AVX-512 F/BW/DQ/VL (512-bit vectors).
    Avx512,
}

impl Isa {
    /// Whether the running CPU supports this instruction set.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512dq")
                    && is_x86_feature_detected!("avx512vl")
                    && Isa::Avx2.is_supported()
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Every instruction set this CPU supports, best last.
    pub fn available() -> Vec<Isa> {
        [Isa::Scalar, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|isa| isa.is_supported())
            .collect()
    }

    /// Parses the names used by `STRATA_ISA` (`scalar`, `avx2`, `avx512`).
    pub fn from_name(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(Isa::Scalar),
            "avx2" => Some(Isa::Avx2),
            "avx512" => Some(Isa::Avx512),
            _ => None,
        }
    }
}

/// The instruction set the kernels use: the best the CPU supports, or the one named by the
/// environment variable `STRATA_ISA` (`scalar`, `avx2`, `avx512`) when that is supported.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let requested = std::env::var("STRATA_ISA")
            .ok()
            .and_then(|v| Isa::from_name(&v));
        match requested {
            Some(isa) if isa.is_supported() => isa,
            _ => *Isa::available().last().unwrap_or(&Isa::Scalar),
        }
    })
}

/// Generates, from an `#[inline(always)]` generic body, a dispatcher `name` that runs it with the
/// best instruction set and `name_with` that runs it with a given one (for tests and benches).
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident / $with:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? => $generic:path;) => {
        $(#[$meta])*
        #[inline]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            $with($crate::kernels::isa(), $($arg),*)
        }

        $(#[$meta])*
        ///
        /// Runs with the instruction set `isa`; an unsupported one falls back to the portable path.
        #[inline]
        $vis fn $with(isa: $crate::kernels::Isa, $($arg: $ty),*) $(-> $ret)? {
            match isa {
                #[cfg(target_arch = "x86_64")]
                $crate::kernels::Isa::Avx512 if isa.is_supported() => {
                    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                    fn avx512($($arg: $ty),*) $(-> $ret)? { $generic($($arg),*) }
                    // SAFETY: the CPU supports AVX-512 F/BW/DQ/VL and AVX2+FMA (checked above).
                    unsafe { avx512($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                $crate::kernels::Isa::Avx2 if isa.is_supported() => {
                    #[target_feature(enable = "avx2,fma")]
                    fn avx2($($arg: $ty),*) $(-> $ret)? { $generic($($arg),*) }
                    // SAFETY: the CPU supports AVX2 and FMA (checked above).
                    unsafe { avx2($($arg),*) }
                }
                _ => $generic($($arg),*),
            }
        }
    };
}
pub(crate) use multiversion;

/// Work below this many elements stays on the calling thread; above it, element-wise kernels
/// split into fixed chunks on rayon's pool. Measured in `benches/kernels.rs`: below ~64k floats
/// a rayon dispatch (a few µs) costs more than the work it would share.
pub const PARALLEL_THRESHOLD: usize = 1 << 16;
/// Chunk size for parallel element-wise work (fixed, so results never depend on thread count).
pub const PARALLEL_CHUNK: usize = 1 << 14;

/// Asks the CPU to start loading `data` into its caches (a hint: nothing is read, nothing can
/// fault, and the call returns at once). Used to fetch the next mini-batch's rows, which lie at
/// random places of a large dataset, while the current step computes.
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = data.as_ptr() as *const i8;
        let bytes = std::mem::size_of_val(data);
        let mut offset = 0;
        while offset < bytes {
            // SAFETY: SSE is part of the x86-64 baseline, and a prefetch of any address is a
            // hint that never faults; the address lies inside `data` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset)) };
            offset += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
