//! Helpers shared by the integration tests: a small seeded RNG and tolerance checks.
#![allow(dead_code)]

use agentworld_kernels::f16;

/// xorshift64* seeded through splitmix64 (independent of the crate's own RNG).
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn bool(&mut self, p_true: f64) -> bool {
        self.f64() < p_true
    }
}

/// CSR offsets for the given group sizes.
pub fn offsets(sizes: &[usize]) -> Vec<u32> {
    let mut o = vec![0u32];
    for &s in sizes {
        o.push(o[o.len() - 1] + s as u32);
    }
    o
}

/// Asserts |got - want| <= tol * max(1, |want|) element-wise.
pub fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(g.is_finite(), "{what}[{i}]: not finite ({g})");
        assert!(err <= tol * w.abs().max(1.0), "{what}[{i}]: got {g}, want {w} (err {err:e}, tol {tol:e})");
    }
}

/// Random f16 features in [-1, 1).
pub fn features(rng: &mut TestRng, n: usize) -> Vec<f16> {
    (0..n).map(|_| f16::from_f64(rng.range(-1.0, 1.0))).collect()
}
