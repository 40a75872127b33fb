//! The objects a [`DesiredFleet`] asks for, as server-side-apply bodies.
//!
//! Per WEC: its ManagedCluster's labels on the ITS (never created here: registration makes
//! the ManagedCluster), its `customization-properties/<wec>` ConfigMap, and for each `direct`
//! RBAC expansion a (Cluster)Role and (Cluster)RoleBinding on the WEC. Per `downsync`
//! expansion used by at least one WEC: the same objects in the WDS plus a BindingPolicy
//! selecting the WECs that list it through a fleet-owned label on their ManagedClusters.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::object::{Kind, Location, ObjectRef};
use crate::config::model::{DesiredFleet, RbacExpansion, RbacMode};

/// Label fleet puts on every object it creates.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY`].
pub const MANAGER: &str = "fleet";
/// Label naming the RBAC expansion an object belongs to.
pub const RBAC_LABEL: &str = "fleet.kubestellar.io/rbac";
/// Prefix of the ManagedCluster label a downsync BindingPolicy selects on.
pub const RBAC_SELECTOR_PREFIX: &str = "rbac.fleet.kubestellar.io/";
/// Annotation holding what fleet applied last (fields and, on ManagedClusters, the WEC's
/// other objects), so drift can be told from a change of `fleet.toml`.
pub const LAST_APPLIED: &str = "fleet.kubestellar.io/last-applied";
/// Namespace of the property ConfigMaps on the ITS.
pub const PROPERTIES_NS: &str = "customization-properties";
/// The OCM work agent's service account on every WEC.
pub const WORK_SA: (&str, &str) = ("open-cluster-management-agent", "klusterlet-work-sa");

/// How fleet treats an object it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Create, update and (when no longer wanted) delete it.
    Manage,
    /// Create it when missing; never update or delete it (namespaces).
    CreateOnly,
    /// Only patch fields of an existing object; its absence blocks the change
    /// (ManagedClusters exist once the WEC is registered).
    ExistingOnly,
}

/// One object fleet wants.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    pub r: ObjectRef,
    /// The WEC this object is for, when there is one (plans group by it).
    pub wec: Option<String>,
    pub mode: Mode,
    /// Server-side-apply body (apiVersion, kind, metadata and the fields fleet owns).
    pub body: Value,
    /// Objects that must exist before this one is written.
    pub depends_on: Vec<ObjectRef>,
    /// For a ManagedCluster: the WEC's other objects (recorded in [`LAST_APPLIED`]).
    pub inventory: Vec<ObjectRef>,
}

fn labels_for(expansion: Option<&str>) -> Value {
    let mut l = serde_json::Map::new();
    l.insert(MANAGED_BY.into(), MANAGER.into());
    if let Some(e) = expansion {
        l.insert(RBAC_LABEL.into(), e.into());
    }
    Value::Object(l)
}

fn meta(r: &ObjectRef, labels: Value) -> Value {
    let mut m = json!({ "name": r.name, "labels": labels });
    if let Some(ns) = &r.namespace {
        m["namespace"] = ns.clone().into();
    }
    m
}

fn body(r: &ObjectRef, labels: Value, fields: Value) -> Value {
    let mut b = json!({ "apiVersion": r.kind.api_version(), "kind": r.kind.as_str(), "metadata": meta(r, labels) });
    if let (Value::Object(b), Value::Object(f)) = (&mut b, fields) {
        b.extend(f);
    }
    b
}

/// Name of the (Cluster)Role and (Cluster)RoleBinding of an expansion.
pub fn rbac_object_name(expansion: &str) -> String {
    format!("fleet:{expansion}")
}

/// Name of the BindingPolicy of a downsync expansion.
pub fn binding_policy_name(expansion: &str) -> String {
    format!("fleet-rbac-{expansion}")
}

/// The ManagedCluster label that makes a WEC selected by a downsync expansion.
pub fn selector_label(expansion: &str) -> String {
    format!("{RBAC_SELECTOR_PREFIX}{expansion}")
}

fn rules_json(e: &RbacExpansion) -> Value {
    Value::Array(
        e.rules
            .iter()
            .map(|r| {
                let mut rule = json!({ "apiGroups": r.api_groups, "resources": r.resources, "verbs": r.verbs });
                if !r.resource_names.is_empty() {
                    rule["resourceNames"] = json!(r.resource_names);
                }
                rule
            })
            .collect(),
    )
}

/// The Role/Binding (plus namespace) of an expansion at a location, in dependency order.
fn rbac_objects(loc: &Location, e: &RbacExpansion, wec: Option<&str>) -> Vec<DesiredObject> {
    let name = rbac_object_name(&e.name);
    let (role_kind, binding_kind) = match e.namespace {
        Some(_) => (Kind::Role, Kind::RoleBinding),
        None => (Kind::ClusterRole, Kind::ClusterRoleBinding),
    };
    let at = |kind: Kind| match &e.namespace {
        Some(ns) => ObjectRef::namespaced(loc.clone(), kind, ns.clone(), name.clone()),
        None => ObjectRef::cluster(loc.clone(), kind, name.clone()),
    };
    let mut out = Vec::new();
    let mut role_deps = Vec::new();
    if let Some(ns) = &e.namespace {
        let ns_ref = ObjectRef::cluster(loc.clone(), Kind::Namespace, ns.clone());
        out.push(namespace(ns_ref.clone(), wec));
        role_deps.push(ns_ref);
    }
    let role = at(role_kind);
    let binding = at(binding_kind);
    let labels = labels_for(Some(&e.name));
    out.push(DesiredObject {
        body: body(&role, labels.clone(), json!({ "rules": rules_json(e) })),
        r: role.clone(),
        wec: wec.map(str::to_owned),
        mode: Mode::Manage,
        depends_on: role_deps,
        inventory: Vec::new(),
    });
    let fields = json!({
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind.as_str(), "name": name },
        "subjects": [{ "kind": "ServiceAccount", "name": WORK_SA.1, "namespace": WORK_SA.0 }],
    });
    out.push(DesiredObject {
        body: body(&binding, labels, fields),
        r: binding,
        wec: wec.map(str::to_owned),
        mode: Mode::Manage,
        depends_on: vec![role],
        inventory: Vec::new(),
    });
    out
}

fn namespace(r: ObjectRef, wec: Option<&str>) -> DesiredObject {
    DesiredObject {
        body: body(&r, labels_for(None), json!({})),
        r,
        wec: wec.map(str::to_owned),
        mode: Mode::CreateOnly,
        depends_on: Vec::new(),
        inventory: Vec::new(),
    }
}

/// Every object the fleet wants, in a deterministic order. Namespaces shared by several
/// objects appear once.
pub fn desired_objects(fleet: &DesiredFleet) -> Vec<DesiredObject> {
    let mut out: Vec<DesiredObject> = Vec::new();
    let props_ns = ObjectRef::cluster(Location::Its, Kind::Namespace, PROPERTIES_NS);
    if fleet.wecs.values().any(|w| !w.properties.is_empty()) {
        out.push(namespace(props_ns.clone(), None));
    }

    // Downsync expansions in use, with the WECs that list them.
    let mut downsync: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for w in fleet.wecs.values() {
        for e in &w.rbac {
            if fleet
                .rbac
                .get(e)
                .is_some_and(|x| x.mode == RbacMode::Downsync)
            {
                downsync.entry(e.as_str()).or_default().push(&w.name);
            }
        }
    }

    for w in fleet.wecs.values() {
        let mut inventory = Vec::new();
        if !w.properties.is_empty() {
            let r = ObjectRef::namespaced(
                Location::Its,
                Kind::ConfigMap,
                PROPERTIES_NS,
                w.name.clone(),
            );
            out.push(DesiredObject {
                body: body(&r, labels_for(None), json!({ "data": w.properties })),
                r: r.clone(),
                wec: Some(w.name.clone()),
                mode: Mode::Manage,
                depends_on: vec![props_ns.clone()],
                inventory: Vec::new(),
            });
            inventory.push(r);
        }
        let loc = Location::Wec(w.name.clone());
        for e in w.rbac.iter().filter_map(|e| fleet.rbac.get(e)) {
            if e.mode == RbacMode::Direct {
                let objs = rbac_objects(&loc, e, Some(&w.name));
                inventory.extend(
                    objs.iter()
                        .filter(|o| o.mode == Mode::Manage)
                        .map(|o| o.r.clone()),
                );
                out.extend(objs);
            }
        }

        let mut labels: BTreeMap<String, String> = w.labels.clone();
        for e in &w.rbac {
            if downsync.contains_key(e.as_str()) {
                labels.insert(selector_label(e), "true".into());
            }
        }
        let r = ObjectRef::cluster(Location::Its, Kind::ManagedCluster, w.name.clone());
        out.push(DesiredObject {
            body: json!({
                "apiVersion": r.kind.api_version(),
                "kind": r.kind.as_str(),
                "metadata": { "name": w.name, "labels": labels },
            }),
            r,
            wec: Some(w.name.clone()),
            mode: Mode::ExistingOnly,
            depends_on: Vec::new(),
            inventory,
        });
    }

    for name in downsync.keys() {
        let e = &fleet.rbac[*name];
        let objs = rbac_objects(&Location::Wds, e, None);
        let managed: Vec<ObjectRef> = objs
            .iter()
            .filter(|o| o.mode == Mode::Manage)
            .map(|o| o.r.clone())
            .collect();
        out.extend(objs);
        let r = ObjectRef::cluster(
            Location::Wds,
            Kind::BindingPolicy,
            binding_policy_name(name),
        );
        let mut clause = json!({
            "apiGroup": "rbac.authorization.k8s.io",
            "objectSelectors": [{ "matchLabels": { RBAC_LABEL: name } }],
        });
        match &e.namespace {
            Some(ns) => {
                clause["resources"] = json!(["roles", "rolebindings"]);
                clause["namespaces"] = json!([ns]);
            }
            None => clause["resources"] = json!(["clusterroles", "clusterrolebindings"]),
        }
        let spec = json!({
            "clusterSelectors": [{ "matchLabels": { selector_label(name): "true" } }],
            "downsync": [clause],
        });
        out.push(DesiredObject {
            body: body(&r, labels_for(Some(name)), json!({ "spec": spec })),
            r,
            wec: None,
            mode: Mode::Manage,
            depends_on: managed,
            inventory: Vec::new(),
        });
    }

    // Several expansions may share a namespace: keep the first of each object.
    let mut seen = std::collections::HashSet::new();
    out.retain(|o| seen.insert(o.r.clone()));
    out
}
