//! What fleet applied last, kept on the object in the annotation
//! [`LAST_APPLIED`](super::vocab::LAST_APPLIED): the body it applied, and on ManagedClusters
//! the WEC's other objects. This is how a field or object someone deleted is told from one
//! `fleet.toml` no longer asks for.
//!
//! The annotation's JSON is this type's serde form: `{"applied": {…}, "objects": [{"location":
//! {"type": "wec", "name": "c1"}, "kind": "Role", "namespace": "ns", "name": "fleet:x"}]}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::Json;
use super::object::ObjectRef;
use super::vocab::LAST_APPLIED;

/// The record fleet keeps on each object it applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastApplied {
    /// The body fleet applied (without this annotation).
    #[serde(default)]
    pub applied: Value,
    /// On ManagedClusters: the WEC's other objects fleet applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectRef>,
}

impl LastApplied {
    /// Reads the annotation of a live object; `None` when absent or not fleet's format.
    pub fn of(obj: &Json) -> Option<LastApplied> {
        let text = obj
            .pointer("/metadata/annotations")?
            .get(LAST_APPLIED)?
            .as_str()?;
        serde_json::from_str(text).ok()
    }

    /// The annotation's value.
    pub fn to_annotation(&self) -> String {
        serde_json::to_string(self).expect("plain JSON data serializes")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{Kind, Location, WecName};

    #[test]
    fn round_trips_through_the_annotation() {
        let record = LastApplied {
            applied: json!({"metadata": {"labels": {"a": "1"}}}),
            objects: vec![ObjectRef::namespaced(
                Location::Wec(WecName::from("c1")),
                Kind::Role,
                "team-a",
                "fleet:x",
            )],
        };
        let obj = json!({"metadata": {"annotations": {LAST_APPLIED: record.to_annotation()}}});
        assert_eq!(LastApplied::of(&Json::from(obj)), Some(record));
        assert_eq!(LastApplied::of(&Json::from(json!({"metadata": {}}))), None);
    }
}
