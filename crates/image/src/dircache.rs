//! A bounded cache shared by the filesystem readers: parsed directory listings (so opening every
//! file of a large directory does not re-read and re-parse it each time) and decompressed
//! squashfs metadata blocks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Result;

/// How many listed entries a directory cache holds before it starts again empty.
const MAX_CACHED_ENTRIES: usize = 1 << 21;

/// Cached values by key, and their summed weight.
struct Entries<V> {
    map: HashMap<u64, Arc<V>>,
    weight: usize,
}

/// Values keyed by their identity in the format (inode number, byte offset).
pub(crate) struct Cache<V> {
    inner: Mutex<Entries<V>>,
    /// The summed weight kept before the cache starts again empty.
    limit: usize,
}

/// Parsed directory listings.
pub(crate) type DirCache<E> = Cache<Vec<E>>;

impl<V> Cache<V> {
    /// An empty cache holding values of summed weight up to `limit`.
    pub(crate) fn with_limit(limit: usize) -> Self {
        Cache {
            inner: Mutex::new(Entries {
                map: HashMap::new(),
                weight: 0,
            }),
            limit,
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
        if guard.weight + w > self.limit {
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
    /// An empty directory cache.
    pub(crate) fn new() -> Self {
        Self::with_limit(MAX_CACHED_ENTRIES)
    }

    /// The listing of `key`, parsed by `load` on a miss (weighed by its entries).
    pub(crate) fn get_or_load(
        &self,
        key: u64,
        load: impl FnOnce() -> Result<Vec<E>>,
    ) -> Result<Arc<Vec<E>>> {
        self.get_or_load_weighted(key, load, |v| v.len().max(1))
    }
}
