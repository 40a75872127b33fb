//! What fleet keeps of a live object: everything it compares or reports, and of
//! `metadata.managedFields` only who owns which field fleet looks at (the coarse paths of
//! `diff::fields`), so that a 10,000-WEC fleet's snapshot is not mostly ownership tries
//! nobody reads. [`Live`] decodes an object that way as the I/O layer reads it: what is left
//! out is skipped in the JSON text, never built and dropped.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Kind;
use super::json::{Entries, Json, Reader};

/// Decodes one live object of its kind, keeping:
/// - of `managedFields`, entries of no subresource (not `status`), each with its manager,
///   operation, time and of `fieldsV1` the keys of labels, annotations and `data` /
///   `binaryData`, and every other top-level field as an empty set (`{}`): who owns it, not
///   what inside it;
/// - of a Secret, no data, and not `kubectl apply`'s copy of it;
/// - of a ManifestWork, not the manifests it carries (`spec.workload`), its status yes;
/// - of metadata, not `creationTimestamp`, `generation`, `finalizers` or `selfLink`;
/// - of a ManagedCluster's status, its `version` and of each condition its `type`,
///   `status` and `lastTransitionTime` (not the agent's claims, capacity and messages);
/// - everything else as it is.
#[derive(Debug, Clone, Copy)]
pub struct Live(pub Kind);

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
    /// The top of a `fieldsV1` trie.
    Trie,
    /// `f:metadata` in a trie.
    TrieMetadata,
    /// Of a map in a trie, only its `f:` keys.
    TrieKeys,
    /// A ManagedCluster's `status`.
    ClusterStatus,
    /// One of a ManagedCluster's status conditions.
    Condition,
}

/// What becomes of one entry of a map.
enum Step {
    Keep,
    Drop,
    /// Kept as an empty object, whatever it holds.
    Empty,
    Into(At),
    /// An array, each item read at this place.
    Items(At),
    ManagedFields,
}

fn step(kind: Kind, at: At, key: &str) -> Step {
    match (at, key) {
        (At::Root, "metadata") => Step::Into(At::Metadata),
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
        (At::Entry, "fieldsV1") => Step::Into(At::Trie),
        (At::Entry, _) => Step::Drop,
        (At::Trie, "f:metadata") => Step::Into(At::TrieMetadata),
        (At::Trie, "f:data" | "f:binaryData") => Step::Into(At::TrieKeys),
        (At::Trie, "f:status") => Step::Drop,
        (At::Trie, k) if k.starts_with("f:") => Step::Empty,
        (At::TrieMetadata, "f:labels" | "f:annotations") => Step::Into(At::TrieKeys),
        (At::TrieKeys, k) if k.starts_with("f:") => Step::Empty,
        (At::Trie | At::TrieMetadata | At::TrieKeys, _) => Step::Drop,
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
            Step::Empty => {
                map.next_value::<IgnoredAny>()?;
                Json::object()
            }
            Step::Into(inner) => map.next_value_seed(Reader(Filtered(kind, inner)))?,
            Step::Items(inner) => map.next_value_seed(Items(kind, inner))?,
            Step::ManagedFields => map.next_value_seed(ManagedFields(kind))?,
        }))
    }
}

/// An array whose items are each read at one place.
struct Items(Kind, At);

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
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Reader(Filtered(self.0, self.1)))? {
            items.push(item);
        }
        Ok(Json::Array(items.into_boxed_slice()))
    }
}

/// `metadata.managedFields`: the entries of no subresource, each filtered at [`At::Entry`]
/// and without its (empty) `subresource`.
struct ManagedFields(Kind);

impl<'de> DeserializeSeed<'de> for ManagedFields {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ManagedFields {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of managed fields entries")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut kept = Vec::new();
        while let Some(mut entry) = seq.next_element_seed(Reader(Filtered(self.0, At::Entry)))? {
            let of_subresource = entry
                .get("subresource")
                .and_then(Json::as_str)
                .is_some_and(|s| !s.is_empty());
            if !of_subresource {
                if let Some(e) = entry.as_object_mut() {
                    e.remove("subresource");
                }
                kept.push(entry);
            }
        }
        Ok(Json::Array(kept.into_boxed_slice()))
    }
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
                    "fieldsV1": {"f:metadata": {"f:labels": {"f:env": {}}}, "f:spec": {}}}])
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
            json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {"a": "b"}}})
        );
        let w = json!({"kind": "ManifestWork", "metadata": {"name": "w"},
            "spec": {"workload": {"manifests": [{"kind": "Role"}]}, "deleteOption": {}},
            "status": {"conditions": []}});
        let w = trimmed(Kind::ManifestWork, w);
        assert_eq!(w["spec"], json!({"deleteOption": {}}));
        assert_eq!(w["status"], json!({"conditions": []}));
    }
}
