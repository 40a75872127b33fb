//! The observed snapshot: the live objects fleet read, and what it could not read. Plain data,
//! so the diff can be tested without clusters.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::diff::object::{Kind, Location, ObjectRef};

/// Everything observe read in one pass.
#[derive(Debug, Clone, Default)]
pub struct ObservedFleet {
    /// Live objects (full JSON, `managedFields` included).
    pub objects: BTreeMap<ObjectRef, Value>,
    /// What was listed successfully: absence of an object there means it does not exist.
    pub listed: BTreeSet<(Location, Kind)>,
    /// Control planes (or kinds on them) that could not be read, with the reason.
    pub unreadable: BTreeMap<Location, String>,
    /// Identity of the ITS (`kube-system` namespace UID) and its API server URL.
    pub its_uid: Option<String>,
    pub its_server: Option<String>,
}

impl ObservedFleet {
    /// Records a successful LIST of `kind` at `location` with its items.
    pub fn insert_list(
        &mut self,
        location: &Location,
        kind: Kind,
        items: impl IntoIterator<Item = Value>,
    ) {
        for item in items {
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let r = match item.pointer("/metadata/namespace").and_then(Value::as_str) {
                Some(ns) if kind.namespaced() => {
                    ObjectRef::namespaced(location.clone(), kind, ns, name)
                }
                _ => ObjectRef::cluster(location.clone(), kind, name),
            };
            self.objects.insert(r, item);
        }
        self.listed.insert((location.clone(), kind));
    }

    /// The live object, if it exists.
    pub fn get(&self, r: &ObjectRef) -> Option<&Value> {
        self.objects.get(r)
    }

    /// Whether the existence of `r` is known (its kind was listed where it lives).
    pub fn knows(&self, r: &ObjectRef) -> bool {
        !self.unreadable.contains_key(&r.location)
            && self.listed.contains(&(r.location.clone(), r.kind))
    }

    /// Whether anything could not be read.
    pub fn is_incomplete(&self) -> bool {
        !self.unreadable.is_empty()
    }
}
