//! Hashed features: every candidate action is described by string keys ("kind:get|last:rows1"), hashed into a
//! fixed number of dimensions, so one small network serves every environment without a vocabulary.

use agentworld_kernels::f16;
use agentworld_runtime::changes::Fnv;

/// Sparse features of one candidate: hashed indices (duplicates add up).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse(pub Vec<u32>);

/// Hashes keys into `dim` buckets.
#[derive(Debug, Clone, Copy)]
pub struct Hasher {
    pub dim: usize,
}

impl Hasher {
    /// A key hash reduced to a bucket.
    pub fn reduce(&self, hash: u64) -> u32 {
        (hash % self.dim as u64) as u32
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

/// Hash of a formatted key (`key_hash(format_args!("k:{kind}"))`), without building the string.
pub fn key_hash(args: std::fmt::Arguments<'_>) -> u64 {
    let mut h = Fnv::new();
    let _ = std::fmt::Write::write_fmt(&mut h, args);
    h.finish()
}

/// Collects the keys of one candidate (as hashes: no strings are kept).
#[derive(Debug, Default)]
pub struct Keys(pub Vec<u64>);

impl Keys {
    pub fn add(&mut self, key: std::fmt::Arguments<'_>) {
        self.0.push(key_hash(key));
    }
}
