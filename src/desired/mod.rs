//! desired: what a [`DesiredFleet`] asks for on the clusters, as server-side-apply bodies.
//! Built once per run ([`DesiredState::build`]) and handed to `observe` (which only needs to
//! know what to read) and to `diff`.
//!
//! Per WEC: its ManagedCluster's labels on the ITS (never created here: registration makes
//! the ManagedCluster), its `customization-properties/<wec>` ConfigMap, and for each `direct`
//! RBAC expansion a (Cluster)Role and (Cluster)RoleBinding on the WEC. Per `downsync`
//! expansion used by at least one WEC: the same objects in the WDS plus a BindingPolicy
//! selecting the WECs that list it through a fleet-owned label on their ManagedClusters; per
//! namespace such expansions use, a BindingPolicy delivering that namespace.

pub mod join;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::config::model::{DesiredFleet, RbacExpansion, RbacMode};
use crate::model::json::Json;
use crate::model::vocab::{
    MANAGED_BY, MANAGER, PROPERTIES_NS, RBAC_LABEL, WORK_SA, binding_policy_name,
    namespace_policy_name, rbac_object_name, selector_label,
};
use crate::model::{ExpansionName, Kind, Location, ObjectRef, WecName};

/// How fleet treats an object it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub object: ObjectRef,
    /// The WEC this object is for, when there is one (plans group by it).
    pub wec: Option<WecName>,
    /// The RBAC expansion this object belongs to, when there is one.
    pub expansion: Option<ExpansionName>,
    pub mode: Mode,
    /// Server-side-apply body (apiVersion, kind, metadata and the fields fleet owns), kept
    /// compact like the live objects it is compared with; shared with the changes that
    /// write it.
    pub body: Arc<Json>,
    /// Objects that must exist before this one is written.
    pub depends_on: Vec<ObjectRef>,
    /// For a ManagedCluster: the WEC's other objects (kept in its last-applied record).
    pub inventory: Vec<ObjectRef>,
}

/// Everything the fleet wants, in a deterministic order; an object shared by several
/// expansions (a namespace) appears once.
#[derive(Debug, Clone, Default)]
pub struct DesiredState {
    pub objects: Vec<DesiredObject>,
}

impl DesiredState {
    /// The objects `fleet` asks for.
    pub fn build(fleet: &DesiredFleet) -> Self {
        DesiredState {
            objects: desired_objects(fleet),
        }
    }

    /// Namespaces fleet may create, per location (observe GETs exactly these).
    pub fn namespaces(&self) -> BTreeMap<Location, BTreeSet<String>> {
        let mut out: BTreeMap<Location, BTreeSet<String>> = BTreeMap::new();
        for d in self
            .objects
            .iter()
            .filter(|d| d.object.kind == Kind::Namespace)
        {
            out.entry(d.object.location.clone())
                .or_default()
                .insert(d.object.name.to_string());
        }
        out
    }
}

fn labels_for(expansion: Option<&ExpansionName>) -> Value {
    let mut l = serde_json::Map::new();
    l.insert(MANAGED_BY.into(), MANAGER.into());
    if let Some(e) = expansion {
        l.insert(RBAC_LABEL.into(), e.as_str().into());
    }
    Value::Object(l)
}

fn body(r: &ObjectRef, labels: Value, fields: Value) -> Arc<Json> {
    let mut meta = json!({ "name": r.name, "labels": labels });
    if let Some(ns) = &r.namespace {
        meta["namespace"] = ns.as_str().into();
    }
    let mut b =
        json!({ "apiVersion": r.kind.api_version(), "kind": r.kind.as_str(), "metadata": meta });
    if let (Value::Object(b), Value::Object(f)) = (&mut b, fields) {
        b.extend(f);
    }
    Arc::new(b.into())
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
fn rbac_objects(loc: &Location, e: &RbacExpansion, wec: Option<&WecName>) -> Vec<DesiredObject> {
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
        object: role.clone(),
        wec: wec.cloned(),
        expansion: Some(e.name.clone()),
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
        object: binding,
        wec: wec.cloned(),
        expansion: Some(e.name.clone()),
        mode: Mode::Manage,
        depends_on: vec![role],
        inventory: Vec::new(),
    });
    out
}

/// The work agent cannot create a Role in a namespace the WEC lacks: per namespace that
/// `downsync` expansions use, one BindingPolicy delivers it to every WEC listing any of them.
/// One policy, not one per expansion, so that exactly one ManifestWork per WEC holds the
/// namespace: revoking one grant never removes a namespace another still needs. `createOnly`:
/// a namespace the WEC already has is never adopted, so never deleted; one the work agent
/// created goes when the WEC lists none of those expansions any more.
fn namespace_policies(
    fleet: &DesiredFleet,
    downsync: &BTreeSet<&ExpansionName>,
) -> Vec<DesiredObject> {
    let mut users: BTreeMap<&str, Vec<&ExpansionName>> = BTreeMap::new();
    for name in downsync {
        if let Some(ns) = &fleet.rbac[*name].namespace {
            users.entry(ns).or_default().push(name);
        }
    }
    users
        .into_iter()
        .map(|(ns, expansions)| {
            let r = ObjectRef::cluster(
                Location::Wds,
                Kind::BindingPolicy,
                namespace_policy_name(ns),
            );
            let selectors: Vec<Value> = expansions
                .iter()
                .map(|e| json!({ "matchLabels": { selector_label(e): "true" } }))
                .collect();
            let spec = json!({
                "clusterSelectors": selectors,
                "downsync": [{
                    "apiGroup": "",
                    "resources": ["namespaces"],
                    "objectNames": [ns],
                    "createOnly": true,
                }],
            });
            DesiredObject {
                body: body(&r, labels_for(None), json!({ "spec": spec })),
                object: r,
                wec: None,
                expansion: None,
                mode: Mode::Manage,
                depends_on: vec![ObjectRef::cluster(Location::Wds, Kind::Namespace, ns)],
                inventory: Vec::new(),
            }
        })
        .collect()
}

fn namespace(r: ObjectRef, wec: Option<&WecName>) -> DesiredObject {
    DesiredObject {
        body: body(&r, labels_for(None), json!({})),
        object: r,
        wec: wec.cloned(),
        expansion: None,
        mode: Mode::CreateOnly,
        depends_on: Vec::new(),
        inventory: Vec::new(),
    }
}

fn desired_objects(fleet: &DesiredFleet) -> Vec<DesiredObject> {
    let mut out: Vec<DesiredObject> = Vec::new();
    let props_ns = ObjectRef::cluster(Location::Its, Kind::Namespace, PROPERTIES_NS);
    if fleet.wecs.values().any(|w| !w.properties.is_empty()) {
        out.push(namespace(props_ns.clone(), None));
    }

    // Downsync expansions in use.
    let downsync: BTreeSet<&ExpansionName> = fleet
        .wecs
        .values()
        .flat_map(|w| fleet.expansions_of(w))
        .filter(|e| e.mode == RbacMode::Downsync)
        .map(|e| &e.name)
        .collect();

    for w in fleet.wecs.values() {
        let mut inventory = Vec::new();
        if !w.properties.is_empty() {
            let r = ObjectRef::namespaced(
                Location::Its,
                Kind::ConfigMap,
                PROPERTIES_NS,
                w.name.as_str(),
            );
            out.push(DesiredObject {
                body: body(&r, labels_for(None), json!({ "data": w.properties })),
                object: r.clone(),
                wec: Some(w.name.clone()),
                expansion: None,
                mode: Mode::Manage,
                depends_on: vec![props_ns.clone()],
                inventory: Vec::new(),
            });
            inventory.push(r);
        }
        let loc = Location::Wec(w.name.clone());
        for e in fleet
            .expansions_of(w)
            .filter(|e| e.mode == RbacMode::Direct)
        {
            let objs = rbac_objects(&loc, e, Some(&w.name));
            inventory.extend(
                objs.iter()
                    .filter(|o| o.mode == Mode::Manage)
                    .map(|o| o.object.clone()),
            );
            out.extend(objs);
        }

        let mut labels: BTreeMap<String, String> = w.labels.to_btree();
        for e in w.rbac.iter().filter(|e| downsync.contains(e)) {
            labels.insert(selector_label(e), "true".into());
        }
        let r = ObjectRef::cluster(Location::Its, Kind::ManagedCluster, w.name.as_str());
        out.push(DesiredObject {
            body: Arc::new(
                json!({
                    "apiVersion": r.kind.api_version(),
                    "kind": r.kind.as_str(),
                    "metadata": { "name": w.name, "labels": labels },
                })
                .into(),
            ),
            object: r,
            wec: Some(w.name.clone()),
            expansion: None,
            mode: Mode::ExistingOnly,
            depends_on: Vec::new(),
            inventory,
        });
    }

    for &name in &downsync {
        let e = &fleet.rbac[name];
        let objs = rbac_objects(&Location::Wds, e, None);
        let managed: Vec<ObjectRef> = objs
            .iter()
            .filter(|o| o.mode == Mode::Manage)
            .map(|o| o.object.clone())
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
            object: r,
            wec: None,
            expansion: Some(name.clone()),
            mode: Mode::Manage,
            depends_on: managed,
            inventory: Vec::new(),
        });
    }

    out.extend(namespace_policies(fleet, &downsync));

    // Several expansions may share a namespace: keep the first of each object.
    let mut seen = HashSet::new();
    out.retain(|o| seen.insert(o.object.clone()));
    out.shrink_to_fit(); // kept for the whole run: a 10,000-WEC fleet's is megabytes
    out
}
