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
    /// A key hash reduced to a bucket.
    pub fn reduce(&self, hash: u64) -> u32 {
        (hash % self.dim as u64) as u32
    }

    pub fn index(&self, key: &str) -> u32 {
        (key_hash(format_args!("{key}")) % self.dim as u64) as u32
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

/// FNV-1a over formatted text, without building the string.
struct Fnv(u64);

impl std::fmt::Write for Fnv {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for b in s.bytes() {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        Ok(())
    }
}

/// Hash of a formatted key (`key_hash(format_args!("k:{kind}"))`).
pub fn key_hash(args: std::fmt::Arguments<'_>) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    let _ = std::fmt::Write::write_fmt(&mut h, args);
    h.0
}

/// Collects the keys of one candidate (as hashes: no strings are kept).
#[derive(Debug, Default)]
pub struct Keys(pub Vec<u64>);

impl Keys {
    pub fn add(&mut self, key: std::fmt::Arguments<'_>) {
        self.0.push(key_hash(key));
    }
    pub fn extend(&mut self, hashes: &[u64]) {
        self.0.extend_from_slice(hashes);
    }
    pub fn hash(&self, h: &Hasher) -> Sparse {
        Sparse(self.0.iter().map(|k| (k % h.dim as u64) as u32).collect())
    }
}
