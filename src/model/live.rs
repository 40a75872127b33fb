//! What fleet keeps of a live object: everything it compares or reports, and of
//! `metadata.managedFields` only who owns which field fleet looks at (the coarse paths of
//! `diff::fields`), so that a 10,000-WEC fleet's snapshot is not mostly ownership tries
//! nobody reads. [`trim`] runs on each object the I/O layer reads, as it is decoded.

use serde_json::{Map, Value};

use super::Kind;

/// Maps whose entries are separate fields (`diff::fields` splits them the same way).
const KEYED_MAPS: [&str; 2] = ["f:data", "f:binaryData"];

/// Trims `obj` in place:
/// - `managedFields`: entries of a subresource (`status`) go; of the rest, `fieldsV1` keeps
///   the keys of labels, annotations and `data`/`binaryData`, and every other top-level
///   field, each as an empty set (`{}`): who owns it, not what inside it;
/// - a Secret loses its data, and `kubectl apply`'s copy of it;
/// - a ManifestWork loses the manifests it carries (`spec.workload`), keeping its status.
pub fn trim(kind: Kind, obj: &mut Value) {
    match kind {
        Kind::Secret => {
            if let Some(map) = obj.as_object_mut() {
                map.remove("data");
                map.remove("stringData");
            }
            if let Some(Value::Object(notes)) = obj.pointer_mut("/metadata/annotations") {
                notes.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        }
        Kind::ManifestWork => {
            if let Some(Value::Object(spec)) = obj.get_mut("spec") {
                spec.remove("workload");
            }
        }
        _ => {}
    }
    let Some(Value::Array(entries)) = obj.pointer_mut("/metadata/managedFields") else {
        return;
    };
    entries.retain(|e| {
        e.get("subresource")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    });
    for e in entries.iter_mut() {
        let Some(entry) = e.as_object_mut() else {
            continue;
        };
        entry.retain(|k, _| matches!(k.as_str(), "manager" | "operation" | "time" | "fieldsV1"));
        if let Some(Value::Object(trie)) = entry.get_mut("fieldsV1") {
            *trie = top_level(trie);
        }
    }
}

/// The top level of a `fieldsV1` trie with only what ownership is read at.
fn top_level(trie: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in trie {
        if !k.starts_with("f:") || k == "f:status" {
            continue;
        }
        let kept = if k == "f:metadata" {
            let mut meta = Map::new();
            for sub in ["f:labels", "f:annotations"] {
                if let Some(Value::Object(keys)) = v.get(sub) {
                    meta.insert(sub.to_owned(), Value::Object(keys_only(keys)));
                }
            }
            Value::Object(meta)
        } else if KEYED_MAPS.contains(&k.as_str()) {
            Value::Object(v.as_object().map(keys_only).unwrap_or_default())
        } else {
            Value::Object(Map::new())
        };
        out.insert(k.clone(), kept);
    }
    out
}

fn keys_only(m: &Map<String, Value>) -> Map<String, Value> {
    m.keys()
        .filter(|k| k.starts_with("f:"))
        .map(|k| (k.clone(), Value::Object(Map::new())))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ownership_is_kept_at_the_paths_fleet_reads_and_nothing_deeper() {
        let mut mc = json!({
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
        trim(Kind::ManagedCluster, &mut mc);
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
        let mut s = json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{}}", "a": "b"}},
            "data": {"token": "c2VjcmV0"}, "stringData": {"t": "secret"}});
        trim(Kind::Secret, &mut s);
        assert_eq!(
            s,
            json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {"a": "b"}}})
        );
        let mut w = json!({"kind": "ManifestWork", "metadata": {"name": "w"},
            "spec": {"workload": {"manifests": [{"kind": "Role"}]}, "deleteOption": {}},
            "status": {"conditions": []}});
        trim(Kind::ManifestWork, &mut w);
        assert_eq!(w["spec"], json!({"deleteOption": {}}));
        assert_eq!(w["status"], json!({"conditions": []}));
    }
}
