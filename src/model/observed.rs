//! The observed snapshot: the live objects fleet read, and what it could not read. Plain data,
//! filled by `observe` and read by `diff`, so the diff can be tested without clusters.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use super::json::Json;
use super::object::{Kind, Location, ObjectRef};
use super::text::error_chain;

/// An error of the I/O layer, kept whole (message, sources and help) so that the views can
/// say what to check without knowing its type: why a place could not be read, or why a write
/// failed.
#[derive(Debug, Clone)]
pub struct Failure(Arc<dyn miette::Diagnostic + Send + Sync + 'static>);

impl Failure {
    /// Keeps `error` with its sources.
    pub fn new(error: impl miette::Diagnostic + Send + Sync + 'static) -> Self {
        Failure(Arc::new(error))
    }

    /// The error's own help, if it has one.
    pub fn help(&self) -> Option<String> {
        self.0.help().map(|h| h.to_string())
    }
}

impl fmt::Display for Failure {
    /// The message followed by its sources: `list managedclusters on `its1`: client error
    /// (Connect): tcp connect error: Connection refused`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&error_chain(&*self.0))
    }
}

/// An API server as a kubeconfig names it: its URL and the CA that signs its certificate
/// (base64 PEM, as kubeconfigs hold it). Neither is secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub server: String,
    pub ca_data: Option<String>,
}

/// Everything observe read in one pass.
#[derive(Debug, Clone, Default)]
pub struct ObservedFleet {
    /// Live objects as the I/O layer read them, trimmed by [`super::live::trim`]
    /// (`managedFields` down to who owns which field fleet compares; Secrets without their
    /// data).
    pub objects: BTreeMap<ObjectRef, Json>,
    /// What was listed successfully: absence of an object there means it does not exist.
    pub listed: BTreeSet<(Location, Kind)>,
    /// Single objects read by name: absent from `objects` means they do not exist.
    pub fetched: BTreeSet<ObjectRef>,
    /// Control planes that could not be read, with the reason.
    pub unreadable: BTreeMap<Location, Failure>,
    /// Identity of the ITS (`kube-system` namespace UID).
    pub its_uid: Option<String>,
    /// The ITS's API server URL.
    pub its_server: Option<String>,
    /// The ITS as its kubeconfig context reaches it (URL and CA).
    pub its_endpoint: Option<Endpoint>,
    /// The ITS as its `kube-public/cluster-info` describes it, when that was read and
    /// exists (`force_internal_endpoint_lookup` joins use it).
    pub cluster_info: Option<Endpoint>,
    /// What SubjectAccessReviews on each WEC answered for the work agent, per RBAC
    /// expansion (one per rule): whether the grant is in effect. Only the WECs that could be
    /// asked, every rule answered, are here.
    pub grants: BTreeMap<(super::WecName, super::ExpansionName), GrantCheck>,
}

/// Moves `from`'s objects into `to`, a later read of an object replacing an earlier one.
///
/// A B-tree filled in key order (as a LIST's items come) splits each node in half and
/// stays half full: 20,000 objects took 3.9 MB of nodes where 2.1 MB hold them. A large
/// `from` is merged by rebuilding `to` packed ([`BTreeMap::append`]); a small one (a WEC's
/// few objects into the whole fleet's) is inserted, so that many small reads do not
/// rebuild the tree once each.
fn add_objects(to: &mut BTreeMap<ObjectRef, Json>, from: &mut BTreeMap<ObjectRef, Json>) {
    if from.len() * 8 >= to.len() {
        to.append(from);
    } else {
        to.extend(std::mem::take(from));
    }
}

/// What SubjectAccessReviews on a WEC said of one RBAC expansion's grant to the work agent,
/// asked once per rule (its first verb, API group, resource and name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantCheck {
    /// The work agent holds every rule.
    InEffect,
    /// The first rule, by its position in the expansion, the work agent does not hold.
    Denied { rule: usize },
}

impl ObservedFleet {
    /// Records a successful LIST of `kind` at `location` with its items.
    pub fn insert_list(
        &mut self,
        location: &Location,
        kind: Kind,
        items: impl IntoIterator<Item = impl Into<Json>>,
    ) {
        let mut listed: BTreeMap<ObjectRef, Json> = items
            .into_iter()
            .map(|item| {
                let item = item.into();
                let name = item
                    .pointer("/metadata/name")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let r = match item.pointer("/metadata/namespace").and_then(Json::as_str) {
                    Some(ns) if kind.namespaced() => {
                        ObjectRef::namespaced(location.clone(), kind, ns, name)
                    }
                    _ => ObjectRef::cluster(location.clone(), kind, name),
                };
                (r, item)
            })
            .collect();
        add_objects(&mut self.objects, &mut listed);
        self.listed.insert((location.clone(), kind));
    }

    /// Test fixtures: objects written as `Value`s, kept as a LIST keeps them ([`Live`]).
    #[cfg(test)]
    pub fn insert_values(
        &mut self,
        location: &Location,
        kind: Kind,
        items: impl IntoIterator<Item = serde_json::Value>,
    ) {
        let items: Vec<Json> = items
            .into_iter()
            .map(|v| {
                crate::model::live::Live(kind)
                    .of(v)
                    .expect("a fixture decodes")
            })
            .collect();
        self.insert_list(location, kind, items);
    }

    /// Records a successful GET of `r`: the object, or `None` when it does not exist.
    pub fn insert_get(&mut self, r: ObjectRef, item: Option<Json>) {
        if let Some(item) = item {
            self.objects.insert(r.clone(), item);
        }
        self.fetched.insert(r);
    }

    /// Adds what another read found.
    pub fn merge(&mut self, mut from: ObservedFleet) {
        add_objects(&mut self.objects, &mut from.objects);
        self.listed.extend(from.listed);
        self.fetched.extend(from.fetched);
        self.unreadable.extend(from.unreadable);
        self.its_uid = self.its_uid.take().or(from.its_uid);
        self.its_server = self.its_server.take().or(from.its_server);
        self.its_endpoint = self.its_endpoint.take().or(from.its_endpoint);
        self.cluster_info = self.cluster_info.take().or(from.cluster_info);
        self.grants.extend(from.grants);
    }

    /// The live object, if it exists.
    pub fn get(&self, r: &ObjectRef) -> Option<&Json> {
        self.objects.get(r)
    }

    /// Whether the existence of `r` is known (its kind was listed where it lives).
    pub fn knows(&self, r: &ObjectRef) -> bool {
        !self.unreadable.contains_key(&r.location)
            && (self.listed.contains(&(r.location.clone(), r.kind)) || self.fetched.contains(r))
    }

    /// Drops the live objects, keeping what was (and was not) read: what is left of a
    /// snapshot once its plan is made.
    pub fn drop_objects(&mut self) {
        self.objects = BTreeMap::new();
    }

    /// Whether anything could not be read.
    pub fn is_incomplete(&self) -> bool {
        !self.unreadable.is_empty()
    }

    /// Live objects of one kind, wherever they live.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = (&ObjectRef, &Json)> {
        self.objects.iter().filter(move |(r, _)| r.kind == kind)
    }
}

/// A failure as a saved plan records it: its message (with its sources) and its help.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct RecordedFailure {
    message: String,
    help: Option<String>,
}

impl fmt::Display for RecordedFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RecordedFailure {}

impl miette::Diagnostic for RecordedFailure {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}

impl serde::Serialize for Failure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RecordedFailure {
            message: self.to_string(),
            help: self.help(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Failure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RecordedFailure::deserialize(d).map(Failure::new)
    }
}

/// Serde for maps whose keys are not strings (e.g. [`Location`]): a list of pairs.
pub mod as_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn objects(names: impl IntoIterator<Item = u32>, v: u32) -> BTreeMap<ObjectRef, Json> {
        names
            .into_iter()
            .map(|i| {
                let r = ObjectRef::cluster(Location::Its, Kind::Namespace, format!("n{i:03}"));
                (r, Json::from(serde_json::json!(v)))
            })
            .collect()
    }

    #[test]
    fn objects_from_small_and_large_reads_are_all_kept_the_later_read_winning() {
        let mut to = objects(0..100, 1);
        // A small read (inserted) and a large one (merged by rebuilding), each overlapping.
        add_objects(&mut to, &mut objects(95..105, 2));
        add_objects(&mut to, &mut objects(50..300, 3));
        assert_eq!(to.len(), 300);
        let value = |i: u32| {
            let r = ObjectRef::cluster(Location::Its, Kind::Namespace, format!("n{i:03}"));
            to[&r].as_i64()
        };
        assert_eq!(value(0), Some(1));
        assert_eq!(value(49), Some(1));
        assert_eq!(value(100), Some(3));
        assert_eq!(value(299), Some(3));
        let mut empty = BTreeMap::new();
        add_objects(&mut empty, &mut objects(0..3, 4));
        assert_eq!(empty.len(), 3);
    }
}
