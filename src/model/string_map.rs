//! [`StringMap`]: a small sorted map of strings, for a WEC's resolved labels and properties.
//! A fleet holds one of each per WEC; as `BTreeMap<String, String>` each was a B-tree node
//! sized for eleven entries plus a heap copy of every key and value. Here a map is one exactly
//! sized slice, and keys and values of up to 24 bytes (nearly all labels) live inline.

use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Keys to values, sorted by key, each key once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringMap(Box<[(CompactString, CompactString)]>);

impl StringMap {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A `BTreeMap` copy, for building on.
    pub fn to_btree(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> From<BTreeMap<K, V>> for StringMap {
    fn from(map: BTreeMap<K, V>) -> Self {
        StringMap(
            map.iter()
                .map(|(k, v)| (k.as_ref().into(), v.as_ref().into()))
                .collect(),
        )
    }
}

impl std::ops::Index<&str> for StringMap {
    type Output = str;

    fn index(&self, key: &str) -> &str {
        self.get(key)
            .unwrap_or_else(|| panic!("no key `{key}` in the map"))
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_the_btree_map_it_was_made_from() {
        let source: BTreeMap<&str, &str> = [
            ("region", "eu"),
            ("a", "1"),
            ("app.kubernetes.io/name", "x"),
        ]
        .into_iter()
        .collect();
        let m = StringMap::from(source.clone());
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("region"), Some("eu"));
        assert_eq!(&m["a"], "1");
        assert_eq!(m.get("missing"), None);
        assert!(m.iter().map(|(k, _)| k).eq(source.keys().copied()));
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::to_value(&source).unwrap()
        );
        assert!(StringMap::default().is_empty());
    }
}
