//! A bounded cache shared by the filesystem readers: parsed directory listings (so opening every
//! file of a large directory does not re-read and re-parse it each time) and decompressed
//! squashfs metadata blocks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Result;

/// How much (entries, or bytes) the cache holds before it starts again empty.
const MAX_CACHED_WEIGHT: usize = 1 << 26;

/// Cached values by key, and their summed weight.
struct Entries<V> {
    map: HashMap<u64, Arc<V>>,
    weight: usize,
}

/// Values keyed by their identity in the format (inode number, byte offset).
pub(crate) struct Cache<V> {
    inner: Mutex<Entries<V>>,
}

/// Parsed directory listings.
pub(crate) type DirCache<E> = Cache<Vec<E>>;

impl<V> Cache<V> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        Cache {
            inner: Mutex::new(Entries {
                map: HashMap::new(),
                weight: 0,
            }),
        }
    }

    /// The value of `key`, made by `load` on a miss; `weight` tells its share of the bound.
    pub(crate) fn get_or_load_weighted(
        &self,
        key: u64,
        load: impl FnOnce() -> Result<V>,
        weight: impl Fn(&V) -> usize,
    ) -> Result<Arc<V>> {
        if let Some(hit) = self.lock().map.get(&key) {
            return Ok(hit.clone());
        }
        let value = Arc::new(load()?);
        let w = weight(&value);
        let mut guard = self.lock();
        if guard.weight + w > MAX_CACHED_WEIGHT {
            guard.map.clear();
            guard.weight = 0;
        }
        guard.weight += w;
        guard.map.insert(key, value.clone());
        Ok(value)
    }

    fn lock(&self) -> MutexGuard<'_, Entries<V>> {
        // A panic while holding the lock leaves a consistent map; keep using it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<E> Cache<Vec<E>> {
    /// The listing of `key`, parsed by `load` on a miss (weighed by its entries).
    pub(crate) fn get_or_load(
        &self,
        key: u64,
        load: impl FnOnce() -> Result<Vec<E>>,
    ) -> Result<Arc<Vec<E>>> {
        self.get_or_load_weighted(key, load, |v| v.len().max(1))
    }
}
