//! Field-level views of objects: the fields fleet compares ([`flatten`]), who owns each field
//! according to `metadata.managedFields` ([`owners`]), and what fleet applied last.
//!
//! Paths are coarse on purpose: one per label, annotation and ConfigMap key, and one per
//! other top-level field (`rules`, `roleRef`, `subjects`, `spec`), matching how server-side
//! apply tracks ownership of these kinds.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use compact_str::CompactString;

use crate::model::json::{Json, text};
use crate::model::live::owned;
use crate::model::vocab::{LAST_APPLIED, is_fleet_manager};

/// A field of an object, e.g. `["metadata", "labels", "region"]` or `["rules"]`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct FieldPath(Vec<CompactString>);

impl FieldPath {
    /// The path made of these segments.
    pub fn of(parts: &[&str]) -> Self {
        FieldPath(parts.iter().map(|s| text(s)).collect())
    }

    /// The segments, e.g. `["metadata", "labels", "region"]`.
    pub fn segments(&self) -> &[CompactString] {
        &self.0
    }

    /// Whether this is the path of an immutable field (a binding's `roleRef`).
    pub fn is_immutable(&self) -> bool {
        self.0.len() == 1 && self.0[0] == "roleRef"
    }
}

impl fmt::Display for FieldPath {
    /// `labels.region`, `labels["app.kubernetes.io/name"]`, `data.maxPods`, `rules`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: &[CompactString] = match self.0.first().map(CompactString::as_str) {
            Some("metadata") => &self.0[1..],
            _ => &self.0,
        };
        for (i, p) in parts.iter().enumerate() {
            let simple = p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            match (i, simple) {
                (0, _) => f.write_str(p)?,
                (_, true) => write!(f, ".{p}")?,
                (_, false) => write!(f, "[{p:?}]")?,
            }
        }
        Ok(())
    }
}

/// Maps whose entries are separate fields (also the names `Live` keeps their owned keys under).
const KEYED_MAPS: [&str; 2] = [owned::DATA, owned::BINARY_DATA];

/// What [`flatten`] reads of an object: desired bodies are `Value`s, live objects [`Json`].
pub trait Tree {
    /// An object's entries (none for anything else).
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)>;
    /// An object's value at `key`.
    fn child(&self, key: &str) -> Option<&Self>;
    fn to_value(&self) -> Value;
}

impl Tree for Value {
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)> {
        self.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v))
    }
    fn child(&self, key: &str) -> Option<&Self> {
        self.get(key)
    }
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl Tree for Json {
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)> {
        self.as_object().into_iter().flat_map(|o| o.iter())
    }
    fn child(&self, key: &str) -> Option<&Self> {
        self.get(key)
    }
    fn to_value(&self) -> Value {
        Json::to_value(self)
    }
}

/// The comparable fields of an object (server-managed metadata and status excluded, as is
/// fleet's own bookkeeping annotation).
pub fn flatten<T: Tree>(obj: &T) -> BTreeMap<FieldPath, Value> {
    let mut out = BTreeMap::new();
    for (k, v) in obj.entries() {
        match k {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                for sub in ["labels", "annotations"] {
                    for (lk, lv) in v.child(sub).into_iter().flat_map(Tree::entries) {
                        if sub == "annotations" && lk == LAST_APPLIED {
                            continue;
                        }
                        out.insert(FieldPath::of(&["metadata", sub, lk]), lv.to_value());
                    }
                }
            }
            k if KEYED_MAPS.contains(&k) => {
                for (dk, dv) in v.entries() {
                    out.insert(FieldPath::of(&[k, dk]), dv.to_value());
                }
            }
            _ => {
                out.insert(FieldPath::of(&[k]), v.to_value());
            }
        }
    }
    out
}

/// How a manager wrote its fields (`managedFields[].operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Server-side apply: the manager declares the field and keeps it.
    Apply,
    /// Create, update or patch (e.g. `kubectl label`).
    Update,
}

impl Operation {
    fn of(entry: &Json) -> Option<Operation> {
        match entry.get("operation").and_then(Json::as_str)? {
            "Apply" => Some(Operation::Apply),
            "Update" => Some(Operation::Update),
            _ => None,
        }
    }
}

/// One manager's claim on a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub manager: String,
    pub operation: Operation,
    /// RFC 3339 time of the manager's last write, when known.
    pub time: Option<String>,
}

/// Owners of each field, from `metadata.managedFields` as [`Live`](crate::model::live::Live)
/// keeps it (without the entries of a subresource).
pub fn owners(obj: &Json) -> BTreeMap<FieldPath, Vec<Owner>> {
    let mut out: BTreeMap<FieldPath, Vec<Owner>> = BTreeMap::new();
    let entries = obj
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array);
    for e in entries.into_iter().flatten() {
        let owner = Owner {
            manager: e
                .get("manager")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned(),
            // Unknown operations are treated as plain writes.
            operation: Operation::of(e).unwrap_or(Operation::Update),
            time: e.get("time").and_then(Json::as_str).map(str::to_owned),
        };
        // What the entry owns, as `Live` keeps it: arrays of plain keys.
        let keys = |name: &str| {
            e.get(name)
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
        };
        let paths = keys(owned::LABELS)
            .map(|k| FieldPath::of(&["metadata", "labels", k]))
            .chain(keys(owned::ANNOTATIONS).map(|k| FieldPath::of(&["metadata", "annotations", k])))
            .chain(
                KEYED_MAPS
                    .iter()
                    .flat_map(|m| keys(m).map(move |k| FieldPath::of(&[m, k]))),
            )
            .chain(keys(owned::FIELDS).map(|k| FieldPath::of(&[k])));
        for path in paths {
            out.entry(path).or_default().push(owner.clone());
        }
    }
    out
}

/// The newest `Update` writer that is not fleet (of the entries [`Live`] keeps, none is a
/// subresource's): the likely author of an out-of-band change when the field itself no
/// longer says who (it was deleted).
///
/// [`Live`]: crate::model::live::Live
pub fn last_foreign_writer(obj: &Json) -> Option<String> {
    let entries = obj
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)?;
    entries
        .iter()
        .filter(|e| {
            !e.get("manager")
                .and_then(Json::as_str)
                .is_some_and(is_fleet_manager)
        })
        .filter(|e| Operation::of(e) == Some(Operation::Update))
        .max_by_key(|e| {
            e.get("time")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .and_then(|e| e.get("manager").and_then(Json::as_str).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flatten_splits_labels_and_data_keeps_other_fields_whole() {
        let obj = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"a": "1"}, "annotations": {LAST_APPLIED: "{}", "n": "x"}, "uid": "u"},
            "data": {"k": "v"}, "rules": [1], "status": {"x": 1}
        });
        let f = flatten(&obj);
        let keys: Vec<String> = f.keys().map(ToString::to_string).collect();
        assert_eq!(keys, ["data.k", "annotations.n", "labels.a", "rules"]);
    }

    #[test]
    fn owners_reads_who_owns_what_as_live_keeps_it() {
        let obj = json!({"metadata": {"managedFields": [
            {"manager": "fleet", "operation": "Apply", "fieldsV1": {"f:metadata": {"f:labels": {"f:region": {}}}, "f:roleRef": {"f:name": {}}}},
            {"manager": "kubectl-label", "operation": "Update", "time": "2026-01-01T00:00:00Z", "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}},
            {"manager": "agent", "operation": "Update", "subresource": "status", "fieldsV1": {"f:status": {}}}
        ]}});
        let obj = crate::model::live::Live(crate::model::Kind::RoleBinding)
            .of(obj)
            .unwrap();
        let o = owners(&obj);
        assert_eq!(
            o[&FieldPath::of(&["metadata", "labels", "region"])][0].manager,
            "fleet"
        );
        assert_eq!(
            o[&FieldPath::of(&["roleRef"])][0].operation,
            Operation::Apply
        );
        assert_eq!(
            o[&FieldPath::of(&["metadata", "labels", "team"])][0].manager,
            "kubectl-label"
        );
        assert_eq!(o.len(), 3);
        assert_eq!(last_foreign_writer(&obj).as_deref(), Some("kubectl-label"));
    }

    #[test]
    fn paths_display_like_kubectl_keys() {
        assert_eq!(
            FieldPath::of(&["metadata", "labels", "app.kubernetes.io/name"]).to_string(),
            r#"labels["app.kubernetes.io/name"]"#
        );
        assert_eq!(
            FieldPath::of(&["data", "maxPods"]).to_string(),
            "data.maxPods"
        );
        assert_eq!(FieldPath::of(&["roleRef"]).to_string(), "roleRef");
    }
}
