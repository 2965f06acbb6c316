//! An episode's trajectory: its steps in order, stored in fixed-size blocks.
//!
//! Why blocks and not one `Vec<Step>`: a vector doubles and copies itself as it grows. A server that drives a
//! thousand episodes in lock step (one trainer's batch) makes every trajectory double at the same step, and the
//! copies onto fresh memory all land within tens of milliseconds: that burst set the HTTP API's p99. In blocks,
//! growth allocates one block and never moves a step; the first block grows like a vector (so short episodes
//! stay small), the later ones are allocated at full size once.

use std::ops::Index;

use serde::{Serialize, Serializer};

use crate::episode::Step;

/// Steps per block after the first (the first grows to this size like a vector).
const BLOCK: usize = 16;

/// The steps of an episode, in order (index 0 is step 1).
///
/// ```
/// use agentworld_runtime::steps::Steps;
/// let t = Steps::default();
/// assert!(t.is_empty());
/// assert_eq!(t.iter().count(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Steps {
    blocks: Vec<Vec<Step>>,
    len: usize,
}

/// Iterator over a trajectory's steps.
pub type Iter<'a> = std::iter::Flatten<std::slice::Iter<'a, Vec<Step>>>;

impl Steps {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a step and returns it.
    pub fn push(&mut self, step: Step) -> &Step {
        if self.blocks.last().is_none_or(|block| block.len() == BLOCK) {
            // The first block starts empty and grows; later ones are allocated once at full size.
            let fresh = if self.blocks.is_empty() { Vec::new() } else { Vec::with_capacity(BLOCK) };
            self.blocks.push(fresh);
        }
        let last = self.blocks.len() - 1;
        let block = &mut self.blocks[last];
        block.push(step);
        self.len += 1;
        &block[block.len() - 1]
    }

    /// The step at `index` (0-based: step `index + 1`).
    pub fn get(&self, index: usize) -> Option<&Step> {
        self.blocks.get(index / BLOCK)?.get(index % BLOCK)
    }

    pub fn last(&self) -> Option<&Step> {
        self.blocks.last()?.last()
    }

    pub fn iter(&self) -> Iter<'_> {
        self.blocks.iter().flatten()
    }

    /// The changesets of the steps that changed something, in order: what rebuilds the episode's state.
    pub fn changesets(&self) -> Vec<&[u8]> {
        self.iter().filter_map(|s| s.changeset.as_deref()).collect()
    }

    pub fn to_vec(&self) -> Vec<Step> {
        self.iter().cloned().collect()
    }
}

impl Index<usize> for Steps {
    type Output = Step;

    fn index(&self, index: usize) -> &Step {
        match self.get(index) {
            Some(step) => step,
            None => panic!("step index {index} out of range for a trajectory of {} steps", self.len),
        }
    }
}

impl<'a> IntoIterator for &'a Steps {
    type Item = &'a Step;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl Serialize for Steps {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonText;

    fn step(index: usize) -> Step {
        Step {
            index,
            tool: "t".into(),
            args: JsonText::from_value(&serde_json::json!({ "i": index })),
            result: Ok(JsonText::from_value(&serde_json::json!(index))),
            truncated: false,
            duration_us: 0,
            virtual_time_ms: 0,
            changeset: index.is_multiple_of(3).then(|| vec![index as u8]),
        }
    }

    #[test]
    fn steps_keep_their_order_and_positions_across_blocks() {
        let mut t = Steps::default();
        for i in 1..=BLOCK * 3 + 5 {
            assert_eq!(t.push(step(i)).index, i);
            assert_eq!(t.len(), i);
            assert_eq!(t.last().map(|s| s.index), Some(i));
        }
        let indexes: Vec<usize> = t.iter().map(|s| s.index).collect();
        assert_eq!(indexes, (1..=BLOCK * 3 + 5).collect::<Vec<_>>());
        for i in 0..t.len() {
            assert_eq!(t[i].index, i + 1);
        }
        assert!(t.get(t.len()).is_none());
        assert_eq!(
            t.changesets(),
            (1..=BLOCK * 3 + 5).filter(|i| i.is_multiple_of(3)).map(|i| vec![i as u8]).collect::<Vec<_>>()
        );
        assert_eq!(t.to_vec().iter().map(|s| s.index).collect::<Vec<_>>(), indexes);
    }

    #[test]
    fn later_blocks_are_allocated_once_at_full_size() {
        let mut t = Steps::default();
        for i in 1..=BLOCK * 2 + 1 {
            t.push(step(i));
        }
        assert_eq!(t.blocks.len(), 3);
        assert!(t.blocks[1..].iter().all(|b| b.capacity() == BLOCK), "a later block was reallocated");
    }

    #[test]
    fn serializes_as_a_flat_list_like_a_vector() {
        let mut t = Steps::default();
        for i in 1..=BLOCK + 2 {
            t.push(step(i));
        }
        let flat = serde_json::to_string(&t.to_vec()).expect("serializes");
        assert_eq!(serde_json::to_string(&t).expect("serializes"), flat);
    }
}
