//! [`ExpiringMap`]: entries that lapse at a time of their own, bounded in number.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::SystemTime;

/// A map whose entries lapse at their own `until`, holding at most `capacity`: when full,
/// lapsed entries go first, then the one that lapses soonest.
pub(crate) struct ExpiringMap<K, V> {
    entries: HashMap<K, (V, SystemTime)>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> ExpiringMap<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The entry for `key` if it has not lapsed at `now`.
    pub(crate) fn get(&self, key: &K, now: SystemTime) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(value, _)| value)
    }

    /// Keeps `value` under `key` until `until`, making room if full.
    pub(crate) fn insert(&mut self, key: K, value: V, until: SystemTime, now: SystemTime) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.entries.retain(|_, (_, lapses)| *lapses > now);
            if self.entries.len() >= self.capacity {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, lapses))| *lapses)
                    .map(|(k, _)| k.clone());
                if let Some(soonest) = soonest {
                    self.entries.remove(&soonest);
                }
            }
        }
        self.entries.insert(key, (value, until));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn entries_lapse_and_the_map_stays_bounded() {
        let mut map = ExpiringMap::new(2);
        map.insert("a", 1, at(10), at(0));
        map.insert("b", 2, at(20), at(0));
        assert_eq!(map.get(&"a", at(9)), Some(&1));
        assert_eq!(map.get(&"a", at(10)), None, "lapsed");
        // Full: the lapsed entry makes room.
        map.insert("c", 3, at(30), at(15));
        assert_eq!((map.len(), map.get(&"b", at(15))), (2, Some(&2)));
        // Full, nothing lapsed: the one lapsing soonest goes.
        map.insert("d", 4, at(40), at(16));
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&"b", at(16)), None);
        assert_eq!(map.get(&"c", at(16)), Some(&3));
    }
}
