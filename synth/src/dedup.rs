//! Scenario de-duplication without an embedding service: MinHash signatures of the word shingles of each
//! scenario's name and description, and a Jaccard estimate between every pair (a thousand scenarios are half a
//! million pairs of 64 comparisons: milliseconds). An embeddings endpoint can be used instead when configured.

use agentworld_runtime::changes::fnv1a as fnv;

/// Hash functions per signature.
const HASHES: usize = 64;

/// A MinHash signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature([u64; HASHES]);

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: a good 64-bit mixer, so hash i is mix(h ^ seed_i).
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Signature {
    /// The signature of `text`'s word 2-shingles (single words for texts of one word).
    ///
    /// ```
    /// use agentworld_synth::dedup::Signature;
    /// let a = Signature::of("dental clinic appointments: patients book, move and cancel visits");
    /// let b = Signature::of("Dental clinic appointments - patients book, move and cancel their visits");
    /// let c = Signature::of("municipal library: members borrow and renew books");
    /// assert!(a.similarity(&b) > 0.6);
    /// assert!(a.similarity(&c) < 0.2);
    /// ```
    pub fn of(text: &str) -> Signature {
        let w = words(text);
        let shingles: Vec<u64> = if w.len() < 2 {
            w.iter().map(|x| fnv(x.as_bytes())).collect()
        } else {
            w.windows(2).map(|p| fnv(format!("{} {}", p[0], p[1]).as_bytes())).collect()
        };
        let mut sig = [u64::MAX; HASHES];
        for s in shingles {
            for (i, slot) in sig.iter_mut().enumerate() {
                let h = mix(s ^ mix(i as u64 + 1));
                if h < *slot {
                    *slot = h;
                }
            }
        }
        Signature(sig)
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let same = self.0.iter().zip(other.0.iter()).filter(|(a, b)| a == b && **a != u64::MAX).count();
        same as f64 / HASHES as f64
    }
}

/// Indexes of `texts` to drop as near-duplicates of an earlier one (similarity at least `threshold`), each with
/// the index it duplicates.
pub fn near_duplicates(texts: &[String], threshold: f64) -> Vec<(usize, usize)> {
    let sigs: Vec<Signature> = texts.iter().map(|t| Signature::of(t)).collect();
    let mut dropped = Vec::new();
    let mut kept: Vec<usize> = Vec::new();
    for i in 0..sigs.len() {
        match kept.iter().find(|&&k| sigs[i].similarity(&sigs[k]) >= threshold) {
            Some(&k) => dropped.push((i, k)),
            None => kept.push(i),
        }
    }
    dropped
}

/// [`near_duplicates`] by cosine similarity of embedding vectors.
pub fn near_duplicates_by_embedding(vectors: &[Vec<f64>], threshold: f64) -> Vec<(usize, usize)> {
    let norm = |v: &Vec<f64>| v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    let cos = |a: &Vec<f64>, b: &Vec<f64>| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (norm(a) * norm(b));
    let mut dropped = Vec::new();
    let mut kept: Vec<usize> = Vec::new();
    for i in 0..vectors.len() {
        match kept.iter().find(|&&k| cos(&vectors[i], &vectors[k]) >= threshold) {
            Some(&k) => dropped.push((i, k)),
            None => kept.push(i),
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_are_found_and_distinct_scenarios_kept() {
        let texts: Vec<String> = [
            "pet_clinic: owners book vet appointments, see vaccination records and pay invoices",
            "bike_rental: riders rent city bikes by the hour and report damage",
            "pet_clinic_2: owners book vet appointments, see vaccination records and pay their invoices",
            "tax_office: citizens file returns and track refunds",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(near_duplicates(&texts, 0.5), vec![(2, 0)]);
        assert!(near_duplicates(&texts, 0.99).is_empty());
        let v = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.99, 0.05]];
        assert_eq!(near_duplicates_by_embedding(&v, 0.95), vec![(2, 0)]);
    }
}
