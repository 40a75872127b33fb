//! What fleet keeps of a live object: everything it compares or reports, and of
//! `metadata.managedFields` only who owns which field fleet looks at (the coarse paths of
//! `diff::fields`), so that a 10,000-WEC fleet's snapshot is not mostly ownership tries
//! nobody reads. [`trim`] runs on each object the I/O layer reads, as it is decoded.

use compact_str::CompactString;

use super::Kind;
use super::json::{Json, Object};

/// Maps whose entries are separate fields (`diff::fields` splits them the same way).
const KEYED_MAPS: [&str; 2] = ["f:data", "f:binaryData"];

/// Trims `obj` in place:
/// - `managedFields`: entries of a subresource (`status`) go; of the rest, `fieldsV1` keeps
///   the keys of labels, annotations and `data`/`binaryData`, and every other top-level
///   field, each as an empty set (`{}`): who owns it, not what inside it;
/// - a Secret loses its data, and `kubectl apply`'s copy of it;
/// - a ManifestWork loses the manifests it carries (`spec.workload`), keeping its status.
pub fn trim(kind: Kind, obj: &mut Json) {
    match kind {
        Kind::Secret => {
            if let Some(map) = obj.as_object_mut() {
                map.retain(|k, _| !matches!(k, "data" | "stringData"));
            }
            if let Some(Json::Object(notes)) = obj.pointer_mut("/metadata/annotations") {
                notes.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        }
        Kind::ManifestWork => {
            if let Some(Json::Object(spec)) = obj.get_mut("spec") {
                spec.remove("workload");
            }
        }
        _ => {}
    }
    let Some(Json::Array(entries)) = obj.pointer_mut("/metadata/managedFields") else {
        return;
    };
    let mut kept = std::mem::take(entries).into_vec();
    kept.retain(|e| {
        e.get("subresource")
            .and_then(Json::as_str)
            .is_none_or(str::is_empty)
    });
    for e in &mut kept {
        let Some(entry) = e.as_object_mut() else {
            continue;
        };
        entry.retain(|k, v| {
            if k == "fieldsV1"
                && let Json::Object(trie) = v
            {
                *trie = top_level(trie);
            }
            matches!(k, "manager" | "operation" | "time" | "fieldsV1")
        });
    }
    *entries = kept.into_boxed_slice();
}

/// The top level of a `fieldsV1` trie with only what ownership is read at.
fn top_level(trie: &Object) -> Object {
    trie.iter()
        .filter(|(k, _)| k.starts_with("f:") && *k != "f:status")
        .map(|(k, v)| {
            let kept = if k == "f:metadata" {
                ["f:annotations", "f:labels"]
                    .into_iter()
                    .filter_map(|sub| {
                        let keys = keys_only(v.get(sub)?.as_object()?);
                        Some((CompactString::from(sub), Json::Object(keys)))
                    })
                    .collect()
            } else if KEYED_MAPS.contains(&k) {
                v.as_object().map(keys_only).unwrap_or_default()
            } else {
                Object::default()
            };
            (CompactString::from(k), Json::Object(kept))
        })
        .collect()
}

fn keys_only(m: &Object) -> Object {
    m.keys()
        .filter(|k| k.starts_with("f:"))
        .map(|k| (CompactString::from(k), Json::object()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn trimmed(kind: Kind, v: serde_json::Value) -> serde_json::Value {
        let mut j = Json::from(v);
        trim(kind, &mut j);
        j.to_value()
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
            "status": {"conditions": [{"type": "ManagedClusterJoined", "status": "True"}]},
        });
        let before_status = mc["status"].clone();
        let mc = trimmed(Kind::ManagedCluster, mc);
        assert_eq!(
            mc["metadata"]["managedFields"],
            json!([{"manager": "fleet", "operation": "Apply", "time": "t1",
                    "fieldsV1": {"f:metadata": {"f:labels": {"f:env": {}}}, "f:spec": {}}}])
        );
        assert_eq!(mc["status"], before_status, "status is kept");
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
