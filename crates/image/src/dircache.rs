//! A bounded cache of parsed directory listings, shared by the filesystem readers, so that
//! opening every file of a large directory does not re-read and re-parse the directory each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;

/// How many listed entries the cache holds before it starts again empty.
const MAX_CACHED_ENTRIES: usize = 1 << 21;

/// Parsed listings keyed by the directory's identity in its format (inode number, offset).
pub(crate) struct DirCache<E> {
    inner: Mutex<(HashMap<u64, Arc<Vec<E>>>, usize)>,
}

impl<E> DirCache<E> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        DirCache {
            inner: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// The listing of `key`, parsed by `load` on a miss.
    pub(crate) fn get_or_load(
        &self,
        key: u64,
        load: impl FnOnce() -> Result<Vec<E>>,
    ) -> Result<Arc<Vec<E>>> {
        if let Some(hit) = self.lock().0.get(&key) {
            return Ok(hit.clone());
        }
        let listing = Arc::new(load()?);
        let mut guard = self.lock();
        if guard.1 + listing.len() > MAX_CACHED_ENTRIES {
            guard.0.clear();
            guard.1 = 0;
        }
        guard.1 += listing.len();
        guard.0.insert(key, listing.clone());
        Ok(listing)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<u64, Arc<Vec<E>>>, usize)> {
        // A panic while holding the lock leaves a consistent map; keep using it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
