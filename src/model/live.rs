//! What fleet keeps of a live object: everything it compares or reports, and of
//! `metadata.managedFields` only who owns which field fleet looks at (the coarse paths of
//! `diff::fields`), so that a 10,000-WEC fleet's snapshot is not mostly ownership tries
//! nobody reads. [`Live`] decodes an object that way as the I/O layer reads it: what is left
//! out is skipped in the JSON text, never built and dropped.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Kind;
use super::json::{Entries, Json, Key, Object, Reader, collect_items, text};

/// Decodes one live object of its kind, keeping:
/// - of `managedFields`, entries of no subresource (not `status`), each with its manager,
///   operation and time and, in place of `fieldsV1`, arrays of the keys it owns ([`Owned`]):
///   `{"manager": "fleet", "operation": "Apply", "time": …, "labels": ["env"], "fields":
///   ["spec"]}`;
/// - of a Secret, no data, and not `kubectl apply`'s copy of it;
/// - of a ManifestWork, not the manifests it carries (`spec.workload`), its status yes;
/// - not its `apiVersion` and `kind` (the reference it is kept under says);
/// - of metadata, not `creationTimestamp`, `generation`, `finalizers` or `selfLink`;
/// - of a ManagedCluster's status, its `version` and of each condition its `type`,
///   `status` and `lastTransitionTime` (not the agent's claims, capacity and messages);
/// - everything else as it is.
#[derive(Debug, Clone, Copy)]
pub struct Live(pub Kind);

impl Live {
    /// An object already read as a `Value` (a GET through the typed client, a test's
    /// fixture), kept as fleet keeps a LIST's items.
    pub fn of(self, value: serde_json::Value) -> Result<Json, serde_json::Error> {
        self.deserialize(value)
    }
}

impl<'de> DeserializeSeed<'de> for Live {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Reader(Filtered(self.0, At::Root)).deserialize(d)
    }
}

/// Where in an object a map is, for what is kept of it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    Root,
    Metadata,
    Annotations,
    Spec,
    /// One `managedFields` entry.
    Entry,
    /// A ManagedCluster's `status`.
    ClusterStatus,
    /// One of a ManagedCluster's status conditions.
    Condition,
}

/// What becomes of one entry of a map.
enum Step {
    Keep,
    Drop,
    Into(At),
    /// An array, each item read at this place.
    Items(At),
    ManagedFields,
    /// A `fieldsV1` trie, read as [`Owned`].
    Owned,
}

fn step(kind: Kind, at: At, key: &str) -> Step {
    match (at, key) {
        (At::Root, "metadata") => Step::Into(At::Metadata),
        // Every item of a LIST has the list's; nothing reads them (the kind is the ObjectRef's).
        (At::Root, "apiVersion" | "kind") => Step::Drop,
        (At::Root, "data" | "stringData") if kind == Kind::Secret => Step::Drop,
        (At::Root, "spec") if kind == Kind::ManifestWork => Step::Into(At::Spec),
        (At::Root, "status") if kind == Kind::ManagedCluster => Step::Into(At::ClusterStatus),
        (At::ClusterStatus, "conditions") => Step::Items(At::Condition),
        (At::ClusterStatus, "version") => Step::Keep,
        (At::ClusterStatus, _) => Step::Drop,
        (At::Condition, "type" | "status" | "lastTransitionTime") => Step::Keep,
        (At::Condition, _) => Step::Drop,
        (At::Spec, "workload") => Step::Drop,
        (At::Metadata, "managedFields") => Step::ManagedFields,
        // Server bookkeeping nothing in fleet reads.
        (At::Metadata, "creationTimestamp" | "generation" | "finalizers" | "selfLink") => {
            Step::Drop
        }
        (At::Metadata, "annotations") if kind == Kind::Secret => Step::Into(At::Annotations),
        (At::Annotations, "kubectl.kubernetes.io/last-applied-configuration") => Step::Drop,
        (At::Entry, "manager" | "operation" | "time" | "subresource") => Step::Keep,
        (At::Entry, "fieldsV1") => Step::Owned,
        (At::Entry, _) => Step::Drop,
        _ => Step::Keep,
    }
}

/// The entries of a map at `At` of an object of a kind, as [`step`] says.
#[derive(Debug, Clone, Copy)]
struct Filtered(Kind, At);

impl Entries for Filtered {
    fn entry<'de, A: MapAccess<'de>>(
        self,
        key: &str,
        map: &mut A,
    ) -> Result<Option<Json>, A::Error> {
        let Filtered(kind, at) = self;
        Ok(Some(match step(kind, at, key) {
            Step::Keep => map.next_value()?,
            Step::Drop => {
                map.next_value::<IgnoredAny>()?;
                return Ok(None);
            }
            Step::Into(inner) => map.next_value_seed(Reader(Filtered(kind, inner)))?,
            Step::Items(inner) => map.next_value_seed(Items(kind, inner, Some))?,
            Step::ManagedFields => map.next_value_seed(Items(kind, At::Entry, owned_entry))?,
            Step::Owned => map.next_value_seed(Owned)?,
        }))
    }
}

/// An array whose items are each read at one place, then kept as the function says.
struct Items(Kind, At, fn(Json) -> Option<Json>);

impl<'de> DeserializeSeed<'de> for Items {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let Items(kind, at, keep) = self;
        let items = collect_items(|push| {
            while let Some(item) = seq.next_element_seed(Reader(Filtered(kind, at)))? {
                if let Some(item) = keep(item) {
                    push(item);
                }
            }
            Ok(())
        })?;
        Ok(Json::Array(items.into_boxed_slice()))
    }
}

/// The keys of a `managedFields` entry as [`Live`] keeps it that say what it owns, each an
/// array of plain keys ([`Owned`]).
pub mod owned {
    /// Keys of `metadata.labels`.
    pub const LABELS: &str = "labels";
    /// Keys of `metadata.annotations`.
    pub const ANNOTATIONS: &str = "annotations";
    /// Keys of a ConfigMap's `data` and `binaryData`.
    pub const DATA: &str = "data";
    pub const BINARY_DATA: &str = "binaryData";
    /// Other top-level fields, owned as a whole.
    pub const FIELDS: &str = "fields";
}

/// A `fieldsV1` trie, read as what fleet needs of it: the keys owned under
/// `metadata.labels` (`labels`), `metadata.annotations` (`annotations`), `data` and
/// `binaryData`, and every other top-level field but `status` as a whole (`fields`), each an
/// array of plain keys; nothing deeper.
struct Owned;

impl<'de> DeserializeSeed<'de> for Owned {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Owned {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fieldsV1 trie")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::object())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let (mut labels, mut annotations, mut data, mut binary) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let fields = collect_items(|push| {
            while let Some(Key(key)) = map.next_key()? {
                match key.as_str() {
                    "f:metadata" => (labels, annotations) = map.next_value_seed(MetadataKeys)?,
                    "f:data" => data = map.next_value_seed(Keys)?,
                    "f:binaryData" => binary = map.next_value_seed(Keys)?,
                    k => {
                        map.next_value::<IgnoredAny>()?;
                        if let Some(field) = k.strip_prefix("f:").filter(|f| *f != "status") {
                            push(Json::String(text(field)));
                        }
                    }
                }
            }
            Ok(())
        })?;
        Ok(Json::Object(
            [
                (owned::LABELS, labels),
                (owned::ANNOTATIONS, annotations),
                (owned::DATA, data),
                (owned::BINARY_DATA, binary),
                (owned::FIELDS, fields),
            ]
            .into_iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(k, keys)| (text(k), Json::Array(keys.into_boxed_slice())))
            .collect(),
        ))
    }
}

/// The `f:` keys of a map in a trie, as plain keys; their subtrees unread.
struct Keys;

impl<'de> DeserializeSeed<'de> for Keys {
    type Value = Vec<Json>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Json>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Keys {
    type Value = Vec<Json>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of fields")
    }

    fn visit_unit<E>(self) -> Result<Vec<Json>, E> {
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Json>, A::Error> {
        collect_items(|push| {
            while let Some(Key(key)) = map.next_key()? {
                map.next_value::<IgnoredAny>()?;
                if let Some(k) = key.strip_prefix("f:") {
                    push(Json::String(text(k)));
                }
            }
            Ok(())
        })
    }
}

/// `f:metadata` in a trie: the keys of its `f:labels` and `f:annotations`.
struct MetadataKeys;

impl<'de> DeserializeSeed<'de> for MetadataKeys {
    type Value = (Vec<Json>, Vec<Json>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetadataKeys {
    type Value = (Vec<Json>, Vec<Json>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the metadata of a fieldsV1 trie")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((Vec::new(), Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut labels, mut annotations) = (Vec::new(), Vec::new());
        while let Some(Key(key)) = map.next_key()? {
            match key.as_str() {
                "f:labels" => labels = map.next_value_seed(Keys)?,
                "f:annotations" => annotations = map.next_value_seed(Keys)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((labels, annotations))
    }
}

/// One `metadata.managedFields` entry, read at [`At::Entry`], as kept: none of a subresource;
/// else its manager, operation and time, and beside them the keys it owns ([`Owned`]).
fn owned_entry(entry: Json) -> Option<Json> {
    let Json::Object(e) = entry else {
        return None;
    };
    let subresource = e.get("subresource").and_then(Json::as_str);
    if subresource.is_some_and(|s| !s.is_empty()) {
        return None;
    }
    let (mut kept, owned): (Vec<_>, Vec<_>) = e
        .into_entries()
        .into_iter()
        .filter(|(k, _)| k != "subresource")
        .partition(|(k, _)| k != "fieldsV1");
    for (_, o) in owned {
        if let Json::Object(o) = o {
            kept.extend(o.into_entries());
        }
    }
    Some(Json::Object(Object::from_entries(kept)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn trimmed(kind: Kind, v: serde_json::Value) -> serde_json::Value {
        let text = v.to_string();
        let mut de = serde_json::Deserializer::from_str(&text);
        Live(kind).deserialize(&mut de).unwrap().to_value()
    }

    #[test]
    fn ownership_is_kept_at_the_paths_fleet_reads_and_nothing_deeper() {
        let mc = json!({
            "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
            "metadata": {"name": "c1", "labels": {"env": "prod"}, "managedFields": [
                {"manager": "fleet", "operation": "Apply", "apiVersion": "v1", "time": "t1",
                 "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:labels": {"f:env": {}, ".": {}}, "f:finalizers": {".": {}, "v:x": {}}},
                              "f:spec": {"f:hubAcceptsClient": {}, "f:leaseDurationSeconds": {}}}},
                {"manager": "registration", "operation": "Update", "subresource": "status",
                 "fieldsV1": {"f:status": {"f:conditions": {}}}},
            ]},
            "spec": {"hubAcceptsClient": true},
            "status": {"conditions": [{"type": "ManagedClusterJoined", "status": "True",
                                       "lastTransitionTime": "2026-01-01T00:00:00Z",
                                       "reason": "r", "message": "a long message"}],
                       "version": {"kubernetes": "v1.35.0"},
                       "clusterClaims": [{"name": "id.k8s.io", "value": "c1"}],
                       "allocatable": {"cpu": "4"}, "capacity": {"cpu": "4"}},
        });
        let mc = trimmed(Kind::ManagedCluster, mc);
        assert_eq!(
            mc["metadata"]["managedFields"],
            json!([{"manager": "fleet", "operation": "Apply", "time": "t1",
                    "labels": ["env"], "fields": ["spec"]}])
        );
        assert_eq!(
            mc["status"],
            json!({"conditions": [{"type": "ManagedClusterJoined", "status": "True",
                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}],
                   "version": {"kubernetes": "v1.35.0"}}),
            "of the status, what fleet reads"
        );
        assert_eq!(mc["metadata"]["labels"], json!({"env": "prod"}));
    }

    #[test]
    fn secrets_lose_their_data_and_works_their_manifests() {
        let s = json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{}}", "a": "b"}},
            "data": {"token": "c2VjcmV0"}, "stringData": {"t": "secret"}});
        let s = trimmed(Kind::Secret, s);
        assert_eq!(
            s,
            json!({"metadata": {"name": "s", "annotations": {"a": "b"}}})
        );
        let w = json!({"kind": "ManifestWork", "metadata": {"name": "w"},
            "spec": {"workload": {"manifests": [{"kind": "Role"}]}, "deleteOption": {}},
            "status": {"conditions": []}});
        let w = trimmed(Kind::ManifestWork, w);
        assert_eq!(w["spec"], json!({"deleteOption": {}}));
        assert_eq!(w["status"], json!({"conditions": []}));
    }
}
