//! What a create or update writes: a desired object's body plus fleet's last-applied record
//! (the annotation naming what fleet applied and, on a ManagedCluster, the WEC's other
//! objects).
//!
//! A [`Body`] shares the desired body with the desired state and builds the annotation only
//! when it is written or saved: a plan of 10,000 ManagedCluster changes would otherwise hold
//! each body twice more (once as written, once inside its record), about 10 MB.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use crate::desired::DesiredObject;
use crate::model::json::Json;
use crate::model::vocab::LAST_APPLIED;
use crate::model::{LastApplied, ObjectRef};

/// A server-side-apply body and the record it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    /// The desired body, without the annotation (shared with [`DesiredObject::body`]).
    desired: Arc<Json>,
    /// The record's objects: on a ManagedCluster, the WEC's other objects fleet applied.
    objects: Vec<ObjectRef>,
}

impl Body {
    /// `d`'s body, its record naming `d`'s inventory and also `kept` (objects not yet known
    /// to be gone).
    pub fn of(d: &DesiredObject, kept: &[ObjectRef]) -> Body {
        Body {
            desired: Arc::clone(&d.body),
            objects: d.inventory.iter().chain(kept).cloned().collect(),
        }
    }

    /// The objects the record names.
    pub fn record_objects(&self) -> &[ObjectRef] {
        &self.objects
    }

    /// The body as written: the desired body with the last-applied annotation.
    pub fn to_value(&self) -> Value {
        let applied = self.desired.to_value();
        let mut body = applied.clone();
        let record = LastApplied {
            applied,
            objects: self.objects.clone(),
        };
        body["metadata"]["annotations"] = json!({ LAST_APPLIED: record.to_annotation() });
        body
    }
}

/// As written: a saved plan holds (and its digests cover) exactly what apply sends.
impl Serialize for Body {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

/// Reads a body as [`Serialize`] writes it, its record taken back out of the annotation.
/// A body edited since (in a saved plan file) is read as far as it goes and serializes
/// differently: the plan's per-change digests then report the file as edited.
impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Body, D::Error> {
        let mut body = Value::deserialize(d)?;
        let mut record = None;
        if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut)
            && let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut)
        {
            record = annotations.remove(LAST_APPLIED);
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
        let objects = record
            .as_ref()
            .and_then(Value::as_str)
            .and_then(LastApplied::objects_in)
            .unwrap_or_default();
        Ok(Body {
            desired: Arc::new(Json::from(body)),
            objects,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::Mode;
    use crate::model::{Kind, Location};

    fn desired(inventory: Vec<ObjectRef>) -> DesiredObject {
        let object = ObjectRef::cluster(Location::Its, Kind::ManagedCluster, "c1");
        DesiredObject {
            body: Arc::new(Json::from(json!({
                "apiVersion": "cluster.open-cluster-management.io/v1",
                "kind": "ManagedCluster",
                "metadata": { "name": "c1", "labels": { "env": "prod" } },
            }))),
            object,
            wec: None,
            expansion: None,
            mode: Mode::ExistingOnly,
            depends_on: Vec::new(),
            inventory,
        }
    }

    #[test]
    fn a_body_is_written_with_its_record_and_read_back_the_same() {
        let cm = ObjectRef::namespaced(Location::Its, Kind::ConfigMap, "props", "c1");
        let gone = ObjectRef::cluster(Location::Its, Kind::Namespace, "old");
        let d = desired(vec![cm.clone()]);
        let body = Body::of(&d, std::slice::from_ref(&gone));
        assert_eq!(body.record_objects(), [cm.clone(), gone.clone()]);

        let written = body.to_value();
        assert_eq!(written["metadata"]["labels"], json!({ "env": "prod" }));
        let record = LastApplied::of(&Json::from(written.clone())).expect("a record");
        assert_eq!(record.applied, d.body.to_value());
        assert_eq!(record.objects, [cm, gone]);

        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), written);
        let back: Body = serde_json::from_str(&text).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn an_edited_body_reads_back_as_a_different_body() {
        let d = desired(Vec::new());
        let written = Body::of(&d, &[]).to_value();
        let mut edited = written.clone();
        edited["metadata"]["labels"]["env"] = json!("dev");
        let back: Body = serde_json::from_value(edited).unwrap();
        assert_ne!(back.to_value(), written);

        let back: Body = serde_json::from_value(d.body.to_value()).unwrap();
        assert_ne!(
            back.to_value(),
            d.body.to_value(),
            "the record is written again"
        );
        assert!(back.record_objects().is_empty());
    }
}
