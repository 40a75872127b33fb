//! [`Json`]: the form fleet keeps objects in, live ones as read and its own bodies. A
//! 10,000-WEC fleet is 20,000 small objects, each tens of small maps; in `serde_json::Value`
//! every map is a B-tree node sized for eleven entries (about 630 bytes however few it holds)
//! and every string its own allocation. Here an object's entries are one exactly sized slice,
//! sorted by key, and strings of up to 24 bytes (most keys, names, times) live inline: a
//! quarter to a third of the memory (measured on that fleet), and of the pages the kernel
//! clears for it.
//!
//! Strings longer than that which nearly every object carries (API versions, the keys of
//! OCM's and fleet's labels and annotations, condition types) are not copied at all: they
//! point at one static copy ([`text`]).
//!
//! Read it like a `Value` (`get`, `pointer`, `as_str`, …). It serialises as the JSON it was
//! read from, with an object's keys in sorted order; [`Json::to_value`] gives a `Value` where
//! one is needed.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::thread::LocalKey;

use compact_str::CompactString;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Number, Value};

/// Strings of more than 24 bytes that recur in the objects fleet reads and writes, sorted.
const WELL_KNOWN: [&str; 16] = [
    "HubAcceptedManagedCluster",
    "ManagedClusterConditionAvailable",
    "app.kubernetes.io/managed-by",
    "cluster.open-cluster-management.io/clusterset",
    "cluster.open-cluster-management.io/resource-cleanup",
    "cluster.open-cluster-management.io/v1",
    "control.kubestellar.io/v1alpha1",
    "f:app.kubernetes.io/managed-by",
    "f:cluster.open-cluster-management.io/clusterset",
    "f:fleet.kubestellar.io/last-applied",
    "feature.open-cluster-management.io/addon-work-manager",
    "fleet.kubestellar.io/last-applied",
    "open-cluster-management.io/cluster-name",
    "rbac.authorization.k8s.io/v1",
    "transport.kubestellar.io/originOwnerReferenceBindingKey",
    "work.open-cluster-management.io/v1",
];

/// `s` as kept: inline when short, a static reference when well known, else a copy.
pub fn text(s: &str) -> CompactString {
    if s.len() > 24
        && let Ok(i) = WELL_KNOWN.binary_search(&s)
    {
        return CompactString::const_new(WELL_KNOWN[i]);
    }
    CompactString::from(s)
}

/// A JSON value, compact and sorted (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(CompactString),
    Array(Box<[Json]>),
    Object(Object),
}

/// A JSON object: its entries sorted by key, without duplicates (the last one read wins, as
/// in `serde_json`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object(Box<[(CompactString, Json)]>);

impl Object {
    /// An object of these entries, in any order.
    pub fn from_entries(mut entries: Vec<(CompactString, Json)>) -> Self {
        // Stable: of equal keys the last read stays last, and is the one kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        Object(entries.into_boxed_slice())
    }

    fn position(&self, key: &str) -> Option<usize> {
        // Most objects have a handful of keys: a scan, which compares lengths first, is
        // faster there than a binary search's ordered comparisons.
        if self.0.len() <= 8 {
            self.0.iter().position(|(k, _)| k.as_str() == key)
        } else {
            self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()
        }
    }

    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.position(key).map(|i| &self.0[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Json)> {
        self.into_iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries, in key order, to build another object from ([`Object::from_entries`]).
    pub fn into_entries(self) -> Vec<(CompactString, Json)> {
        self.0.into_vec()
    }
}

type Entry = (CompactString, Json);

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a str, &'a Json);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, Entry>, fn(&'a Entry) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl FromIterator<(CompactString, Json)> for Object {
    fn from_iter<I: IntoIterator<Item = (CompactString, Json)>>(iter: I) -> Self {
        Object::from_entries(iter.into_iter().collect())
    }
}

impl Json {
    /// An empty object.
    pub fn object() -> Json {
        Json::Object(Object::default())
    }

    /// The value at `key`, when this is an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?.get(key)
    }

    /// The value at a JSON pointer (RFC 6901), as `Value::pointer` reads it.
    pub fn pointer(&self, pointer: &str) -> Option<&Json> {
        let mut at = self;
        for token in tokens(pointer)? {
            at = match at {
                Json::Object(o) => o.get(&token)?,
                Json::Array(a) => a.get(index(&token)?)?,
                _ => return None,
            };
        }
        Some(at)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The same value as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// The unescaped reference tokens of a JSON pointer; `None` if it is not one.
fn tokens(pointer: &str) -> Option<impl Iterator<Item = Cow<'_, str>>> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return None;
    }
    Some(pointer.split('/').skip(1).map(|t| match t.contains('~') {
        true => Cow::Owned(t.replace("~1", "/").replace("~0", "~")),
        false => Cow::Borrowed(t),
    }))
}

/// An array index as a pointer token spells it (no sign, no leading zero).
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

impl From<Value> for Json {
    fn from(v: Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => Json::Number(n),
            Value::String(s) => Json::String(text(&s)),
            Value::Array(a) => Json::Array(a.into_iter().map(Json::from).collect()),
            Value::Object(o) => Json::Object(
                o.into_iter()
                    .map(|(k, v)| (text(&k), Json::from(v)))
                    .collect(),
            ),
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(t) => s.serialize_str(t),
            Json::Array(a) => s.collect_seq(a.iter()),
            Json::Object(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        Reader(Whole).deserialize(d)
    }
}

/// How the entries of an object are read: [`Json`]'s own `Deserialize` keeps them all; a
/// filter (`model::live`) leaves some out, skipped in the text.
pub trait Entries: Copy {
    /// The value of `key`, read from `map`; `None` when it is left out.
    fn entry<'de, A: MapAccess<'de>>(
        self,
        key: &str,
        map: &mut A,
    ) -> Result<Option<Json>, A::Error>;
}

/// Every entry, as it is.
#[derive(Debug, Clone, Copy)]
struct Whole;

impl Entries for Whole {
    fn entry<'de, A: MapAccess<'de>>(
        self,
        _key: &str,
        map: &mut A,
    ) -> Result<Option<Json>, A::Error> {
        map.next_value().map(Some)
    }
}

/// Reads any JSON value, an object's entries as `E` says (the values inside them, and the
/// items of arrays, whole).
#[derive(Debug, Clone, Copy)]
pub struct Reader<E>(pub E);

impl<'de, E: Entries> DeserializeSeed<'de> for Reader<E> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E: Entries> Visitor<'de> for Reader<E> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<Er>(self) -> Result<Json, Er> {
        Ok(Json::Null)
    }

    fn visit_none<Er>(self) -> Result<Json, Er> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        self.deserialize(d)
    }

    fn visit_bool<Er>(self, b: bool) -> Result<Json, Er> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<Er>(self, n: i64) -> Result<Json, Er> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<Er>(self, n: u64) -> Result<Json, Er> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<Er>(self, n: f64) -> Result<Json, Er> {
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Number))
    }

    fn visit_str<Er>(self, s: &str) -> Result<Json, Er> {
        Ok(Json::String(text(s)))
    }

    fn visit_string<Er>(self, s: String) -> Result<Json, Er> {
        Ok(Json::String(text(&s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let items = collect_items(|push| {
            while let Some(item) = seq.next_element()? {
                push(item);
            }
            Ok(())
        })?;
        Ok(Json::Array(items.into_boxed_slice()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let entries = stacked(&ENTRIES, |push| {
            while let Some(Key(key)) = map.next_key()? {
                if let Some(value) = self.0.entry(&key, &mut map)? {
                    push((key, value));
                }
            }
            Ok(())
        })?;
        Ok(Json::Object(Object::from_entries(entries)))
    }
}

thread_local! {
    /// The entries of the objects being read on this thread, innermost last.
    static ENTRIES: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// The items of the arrays being read on this thread, innermost last.
    static ITEMS: RefCell<Vec<Json>> = const { RefCell::new(Vec::new()) };
}

/// An array's items as `fill` pushes them, in one exactly sized allocation ([`stacked`]).
pub(crate) fn collect_items<Er>(
    fill: impl FnOnce(&mut dyn FnMut(Json)) -> Result<(), Er>,
) -> Result<Vec<Json>, Er> {
    stacked(&ITEMS, fill)
}

/// Collects what `fill` pushes on this thread's `stack`, shared by every level of nesting,
/// then moves it into one allocation of its exact size. Growing a vector per object instead
/// reallocates it two or three times and shrinks it once: on a 10,000-WEC LIST that left
/// about 10 MB of holes among the objects kept.
fn stacked<T: 'static, Er>(
    stack: &'static LocalKey<RefCell<Vec<T>>>,
    fill: impl FnOnce(&mut dyn FnMut(T)) -> Result<(), Er>,
) -> Result<Vec<T>, Er> {
    /// Drops what a failed `fill` left (and, at the outermost level, a large stack).
    struct Unwind<T: 'static> {
        stack: &'static LocalKey<RefCell<Vec<T>>>,
        start: usize,
    }
    impl<T> Drop for Unwind<T> {
        fn drop(&mut self) {
            self.stack.with_borrow_mut(|s| {
                s.truncate(self.start);
                if self.start == 0 {
                    s.shrink_to(1024);
                }
            });
        }
    }
    let start = stack.with_borrow(Vec::len);
    let _unwind = Unwind { stack, start };
    fill(&mut |item| stack.with_borrow_mut(|s| s.push(item)))?;
    Ok(stack.with_borrow_mut(|s| s.drain(start..).collect()))
}

/// A map key, read without an intermediate `String` when it fits inline.
pub(crate) struct Key(pub(crate) CompactString);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
                Ok(Key(text(s)))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key, E> {
                Ok(Key(text(&s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_failed_read_leaves_nothing_behind_for_the_next() {
        let bad = r#"{"a": {"b": [1, 2, {"c": 3, "d": tru"#;
        assert!(serde_json::from_str::<Json>(bad).is_err());
        assert_eq!(ENTRIES.with_borrow(Vec::len), 0);
        assert_eq!(ITEMS.with_borrow(Vec::len), 0);
        let good = json!({ "z": [1, { "y": 2, "x": [] }], "a": {} });
        let read: Json = serde_json::from_str(&good.to_string()).unwrap();
        assert_eq!(read.to_value(), good);
        assert_eq!(ENTRIES.with_borrow(Vec::len), 0);
    }

    #[test]
    fn well_known_strings_are_sorted_long_and_not_copied() {
        assert!(WELL_KNOWN.is_sorted());
        assert!(WELL_KNOWN.iter().all(|s| s.len() > 24));
        use crate::model::vocab::{LAST_APPLIED, MANAGED_BY, ORIGIN_BINDING_LABEL, ocm};
        for s in [
            LAST_APPLIED,
            MANAGED_BY,
            ORIGIN_BINDING_LABEL,
            ocm::AVAILABLE,
        ] {
            assert!(text(s).as_static_str().is_some(), "{s}");
        }
        let read: Json = serde_json::from_str(
            r#"{"fleet.kubestellar.io/last-applied": "cluster.open-cluster-management.io/v1"}"#,
        )
        .unwrap();
        let (key, value) = read.as_object().unwrap().iter().next().unwrap();
        assert_eq!(key, LAST_APPLIED);
        assert_eq!(
            value.as_str(),
            Some("cluster.open-cluster-management.io/v1")
        );
        assert!(
            text("a-string-that-nobody-knows-about")
                .as_static_str()
                .is_none()
        );
    }

    #[test]
    fn a_value_is_three_words_and_an_entry_six() {
        assert_eq!(size_of::<Json>(), 24);
        assert_eq!(size_of::<(CompactString, Json)>(), 48);
    }

    #[test]
    fn reads_and_writes_the_json_it_was_read_from() {
        let text = r#"{"b":[1,-2,3.5,true,null],"a":{"x~y/z":"v","long":"a string longer than twenty-four bytes"}}"#;
        let j: Json = serde_json::from_str(text).unwrap();
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(j.to_value(), v);
        assert_eq!(serde_json::to_value(&j).unwrap(), v);
        assert_eq!(Json::from(v.clone()), j);
        assert_eq!(j.pointer("/a/x~0y~1z").and_then(Json::as_str), Some("v"));
        assert_eq!(j.pointer("/b/1").and_then(Json::as_i64), Some(-2));
        assert_eq!(j.pointer("/b/01"), None);
        assert_eq!(j.pointer(""), Some(&j));
        assert_eq!(j.pointer("a"), None);
        assert_eq!(
            j.get("a")
                .unwrap()
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>(),
            ["long", "x~y/z"]
        );
    }

    #[test]
    fn of_repeated_keys_the_last_wins() {
        let j: Json = serde_json::from_str(r#"{"k":1,"j":0,"k":2}"#).unwrap();
        assert_eq!(j.to_value(), json!({"j": 0, "k": 2}));
    }

    #[test]
    fn an_object_is_rebuilt_from_its_entries_and_others() {
        let Json::Object(o) = Json::from(json!({"b": {"c": 2}, "a": 1})) else {
            panic!("an object")
        };
        let mut entries = o.into_entries();
        assert_eq!(entries[0].0, "a", "in key order");
        entries.push(("aa".into(), Json::Null));
        entries.push(("a".into(), Json::Bool(true)));
        let rebuilt = Json::Object(Object::from_entries(entries));
        assert_eq!(
            rebuilt.to_value(),
            json!({"a": true, "aa": null, "b": {"c": 2}})
        );
    }
}
