//! Hashed features: every candidate action is described by string keys ("kind:get|last:rows1"), hashed into a
//! fixed number of dimensions, so one small network serves every environment without a vocabulary.

use agentworld_kernels::f16;

/// Sparse features of one candidate: hashed indices (duplicates add up).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse(pub Vec<u32>);

/// Hashes keys into `dim` buckets.
#[derive(Debug, Clone, Copy)]
pub struct Hasher {
    pub dim: usize,
}

impl Hasher {
    pub fn index(&self, key: &str) -> u32 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        (h % self.dim as u64) as u32
    }

    /// Writes candidates' features as dense rows (`1/sqrt(n)` per key, so every candidate has unit-ish norm).
    pub fn densify(&self, items: &[&Sparse], out: &mut [f16]) {
        for (row, s) in out.chunks_mut(self.dim).zip(items) {
            row.fill(f16::ZERO);
            if s.0.is_empty() {
                continue;
            }
            let w = 1.0 / (s.0.len() as f32).sqrt();
            for &i in &s.0 {
                let cell = &mut row[i as usize];
                *cell = f16::from_f32(cell.to_f32() + w);
            }
        }
    }
}

/// Collects the keys of one candidate.
#[derive(Debug, Default)]
pub struct Keys(pub Vec<String>);

impl Keys {
    pub fn add(&mut self, key: impl Into<String>) {
        self.0.push(key.into());
    }
    pub fn hash(&self, h: &Hasher) -> Sparse {
        Sparse(self.0.iter().map(|k| h.index(k)).collect())
    }
}
