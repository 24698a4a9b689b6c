//! A small in-memory cache with a bounded staleness, for the records every
//! vendor call needs (API keys, franchises). A warm Lambda instance answers
//! from memory; a change (e.g. a revoked key) is seen everywhere within the
//! cache's time to live (at most 60 s, 30 s by default).

use std::collections::HashMap;
use std::sync::Mutex;

pub struct TtlCache<V> {
    ttl_ms: i64,
    capacity: usize,
    entries: Mutex<HashMap<String, (i64, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl_ms: i64, capacity: usize) -> Self {
        Self {
            ttl_ms,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value if it was stored less than the TTL ago.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| now_ms - at < self.ttl_ms)
            .map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: &str, value: V, now_ms: i64) {
        if self.ttl_ms <= 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            entries.retain(|_, (at, _)| now_ms - *at < self.ttl_ms);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key.to_owned(), (now_ms, value));
    }

    pub fn invalidate(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let c = TtlCache::new(1000, 2);
        c.insert("a", 1, 0);
        assert_eq!(c.get("a", 999), Some(1));
        assert_eq!(c.get("a", 1000), None);
        c.insert("b", 2, 0);
        c.insert("c", 3, 10);
        c.insert("d", 4, 20);
        assert!(c.entries.lock().unwrap().len() <= 2);
        assert_eq!(c.get("d", 20), Some(4));
        c.invalidate("d");
        assert_eq!(c.get("d", 20), None);
    }
}
