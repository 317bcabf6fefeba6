//! Per-game evaluation cache keyed by position hash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The keys are already well-mixed 64-bit hashes: use them as they are.
#[derive(Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One cached evaluation: the value for the side to move and the priors of
/// the legal actions in increasing action order.
pub(crate) struct CacheEntry {
    pub value: f32,
    pub priors: Box<[f32]>,
}

/// A bounded map from position hash to evaluation.
pub(crate) struct EvalCache {
    map: HashMap<u64, CacheEntry, BuildHasherDefault<IdentityHasher>>,
    capacity: usize,
}

impl EvalCache {
    pub fn new(capacity: usize) -> Self {
        EvalCache {
            map: HashMap::default(),
            capacity: capacity.max(1),
        }
    }
    pub fn get(&self, hash: u64) -> Option<&CacheEntry> {
        self.map.get(&hash)
    }
    pub fn insert(&mut self, hash: u64, value: f32, priors: &[f32]) {
        if self.map.len() >= self.capacity {
            self.map.clear();
        }
        self.map.insert(
            hash,
            CacheEntry {
                value,
                priors: priors.into(),
            },
        );
    }
    pub fn clear(&mut self) {
        self.map.clear();
    }
}
