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
        serde_json::from_str(annotation(obj)?).ok()
    }

    /// Only the record's objects (a ManagedCluster's list of its WEC's other objects), its
    /// applied body skipped unread: what observe and the diff's inventory need of every
    /// ManagedCluster.
    pub fn objects_of(obj: &Json) -> Option<Vec<ObjectRef>> {
        Self::objects_in(annotation(obj)?)
    }

    /// [`objects_of`](Self::objects_of) an annotation's text.
    pub fn objects_in(annotation: &str) -> Option<Vec<ObjectRef>> {
        #[derive(Deserialize)]
        struct Objects {
            #[serde(default)]
            objects: Vec<ObjectRef>,
        }
        let record: Objects = serde_json::from_str(annotation).ok()?;
        Some(record.objects)
    }

    /// The annotation's value.
    pub fn to_annotation(&self) -> String {
        serde_json::to_string(self).expect("plain JSON data serializes")
    }
}

/// The text of fleet's annotation on `obj`.
fn annotation(obj: &Json) -> Option<&str> {
    obj.pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()
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
        let obj = Json::from(obj);
        assert_eq!(
            LastApplied::objects_of(&obj).as_ref(),
            Some(&record.objects)
        );
        assert_eq!(LastApplied::of(&obj), Some(record));
        assert_eq!(LastApplied::of(&Json::from(json!({"metadata": {}}))), None);
    }
}
