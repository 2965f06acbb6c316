//! Counter-based random numbers keyed by `(seed, episode, step)`.
//!
//! Sampling must give the same action on the CPU and on the GPU and must not depend on how a batch is split across
//! threads or blocks, so there is no RNG state at all: every draw is a pure function of its key. The function is a
//! chain of three splitmix64 finalisers (64-bit multiply/xor/shift only, so `kernels/src/cuda/policy.cu` computes
//! exactly the same bits with `unsigned long long` arithmetic):
//!
//! ```text
//! mix(z)  = splitmix64 finaliser of z + 0x9E3779B97F4A7C15
//! hash    = mix(mix(mix(seed) ^ episode) ^ step)
//! uniform = (hash >> 40) * 2^-24            in [0, 1), exactly representable in f32
//! ```

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 output function applied to `z + GOLDEN` (a bijection on `u64`).
#[inline(always)]
pub fn mix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 64-bit hash of a key; identical on every backend.
///
/// ```
/// use agentworld_kernels::rng::{key_hash, uniform};
/// assert_eq!(key_hash(1, 2, 3), key_hash(1, 2, 3));
/// assert_ne!(key_hash(1, 2, 3), key_hash(1, 2, 4));
/// let u = uniform(1, 2, 3);
/// assert!((0.0..1.0).contains(&u));
/// ```
#[inline(always)]
pub fn key_hash(seed: u64, episode: u64, step: u64) -> u64 {
    mix64(mix64(mix64(seed) ^ episode) ^ step)
}

/// A uniform `f32` in `[0, 1)` with 24 random bits, a pure function of `(seed, episode, step)`.
#[inline(always)]
pub fn uniform(seed: u64, episode: u64, step: u64) -> f32 {
    (key_hash(seed, episode, step) >> 40) as f32 * (1.0 / 16_777_216.0)
}
