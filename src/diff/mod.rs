//! The pure diff: desired objects × observed snapshot → [`Change`]s, with server-side-apply
//! semantics for field manager `fleet`.
//!
//! One comparison decides both *whether* an object changes and *what* is shown, so a change
//! never has an empty diff. Each field change carries its cause: `config` (fleet.toml asks
//! for something new), `drift` (someone changed what fleet applied; the field manager is
//! named from `managedFields`) or `conflict` (another manager owns a field fleet wants).

pub mod desired;
pub mod fields;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod object;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::config::model::{DesiredFleet, RbacMode};
use crate::observe::snapshot::ObservedFleet;
use desired::{DesiredObject, LAST_APPLIED, MANAGED_BY, MANAGER, Mode, PROPERTIES_NS, RBAC_LABEL};
use fields::{FieldPath, LastApplied, Owner, flatten, last_foreign_writer, owners};
use object::{Kind, Location, ObjectRef};

/// Why a field (or object) changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Cause {
    /// `fleet.toml` asks for something that is not there yet.
    Config,
    /// Someone changed (or deleted) what fleet applied.
    Drift {
        #[serde(skip_serializing_if = "Option::is_none")]
        manager: Option<String>,
    },
    /// Another field manager owns a field fleet wants; apply takes it over.
    Conflict { manager: String },
}

impl Cause {
    /// `config`, `drift` or `conflict`.
    pub fn label(&self) -> &'static str {
        match self {
            Cause::Config => "config",
            Cause::Drift { .. } => "drift",
            Cause::Conflict { .. } => "conflict",
        }
    }

    /// `drift (by kubectl-label)`, `conflict (owned by helm)`, `config`.
    pub fn describe(&self) -> String {
        match self {
            Cause::Config => "config".into(),
            Cause::Drift { manager: Some(m) } => format!("drift (by {m})"),
            Cause::Drift { manager: None } => "drift".into(),
            Cause::Conflict { manager } => format!("conflict (owned by {manager})"),
        }
    }

    /// Out-of-band: drift or conflict.
    pub fn is_out_of_band(&self) -> bool {
        !matches!(self, Cause::Config)
    }
}

/// What happens to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    /// Delete then create: an immutable field changed.
    Replace,
    Delete,
}

impl Action {
    /// Terraform's symbol for the action.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: FieldPath,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    pub cause: Cause,
}

/// One object's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    #[serde(rename = "object")]
    pub r: ObjectRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wec: Option<String>,
    pub action: Action,
    /// The object's cause: the most out-of-band cause of its fields.
    pub cause: Cause,
    pub fields: Vec<FieldChange>,
    /// Why the change cannot be made now (e.g. the WEC is not registered yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// Why an action was chosen, when it is not obvious (e.g. "roleRef is immutable").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The server-side-apply body (with fleet's bookkeeping annotation) for create, update
    /// and replace.
    #[serde(skip)]
    pub body: Option<Value>,
    /// Objects this change needs first.
    #[serde(skip)]
    pub depends_on: Vec<ObjectRef>,
    /// `uid` and `resourceVersion` of the live object this change was computed against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
}

/// Identity of the live object a change was computed against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    pub uid: String,
    pub resource_version: String,
}

/// Options that change what is diffed.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Also delete fleet's objects of WECs that are no longer in `fleet.toml`.
    pub prune: bool,
    /// Only these WECs (empty: all).
    pub targets: BTreeSet<String>,
}

/// The result of a diff.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    pub changes: Vec<Change>,
    /// ManagedClusters on the ITS that fleet neither declares nor ever managed.
    pub unmanaged_wecs: Vec<String>,
    /// WECs fleet managed that are gone from `fleet.toml` (their objects go with `--prune`).
    pub orphaned_wecs: Vec<String>,
    /// WECs in `fleet.toml` with nothing to change.
    pub unchanged_wecs: Vec<String>,
    /// Places that could not be read: the diff there is unknown.
    pub unreadable: BTreeMap<String, String>,
}

impl Diff {
    /// Only out-of-band changes (what `fleet drift` reports): fields changed or taken by
    /// another manager, and objects fleet applied that are missing.
    pub fn drift_only(&self) -> Diff {
        let mut d = self.clone();
        d.changes.retain_mut(|c| {
            c.fields.retain(|f| f.cause.is_out_of_band());
            c.cause.is_out_of_band() && (c.action == Action::Create || !c.fields.is_empty())
        });
        d.orphaned_wecs.clear();
        d
    }
}

const DELETABLE: [Kind; 6] = [
    Kind::ConfigMap,
    Kind::ClusterRole,
    Kind::ClusterRoleBinding,
    Kind::Role,
    Kind::RoleBinding,
    Kind::BindingPolicy,
];

/// Computes every change between the desired fleet and the observed snapshot.
pub fn diff(fleet: &DesiredFleet, observed: &ObservedFleet, opts: &DiffOptions) -> Diff {
    let wanted = desired::desired_objects(fleet);
    let inventory = inventories(observed);
    let mut out = Diff {
        unreadable: observed
            .unreadable
            .iter()
            .map(|(l, e)| (l.to_string(), e.clone()))
            .collect(),
        ..Default::default()
    };

    let wanted_refs: BTreeSet<&ObjectRef> = wanted.iter().map(|d| &d.r).collect();
    for d in &wanted {
        if !observed.knows(&d.r) {
            continue; // unreadable: unknown, never "no change"
        }
        if let Some(c) = diff_object(d, observed.get(&d.r), &inventory) {
            out.changes.push(c);
        }
    }

    // Fleet's objects nobody wants any more.
    for (r, live) in &observed.objects {
        if !DELETABLE.contains(&r.kind) || wanted_refs.contains(r) || !managed_by_fleet(live) {
            continue;
        }
        let wec = owner_wec(r);
        let gone_wec = wec.as_ref().is_some_and(|w| !fleet.wecs.contains_key(w));
        if gone_wec && !opts.prune {
            continue;
        }
        out.changes.push(Change {
            r: r.clone(),
            wec,
            action: Action::Delete,
            cause: Cause::Config,
            fields: Vec::new(),
            blocked: None,
            note: gone_wec.then(|| "WEC removed from fleet.toml (--prune)".to_owned()),
            body: None,
            depends_on: Vec::new(),
            observed: observed_identity(live),
        });
    }

    // ManagedClusters fleet does not declare.
    for (r, live) in observed
        .objects
        .iter()
        .filter(|(r, _)| r.kind == Kind::ManagedCluster)
    {
        if fleet.wecs.contains_key(&r.name) {
            continue;
        }
        let fleet_touched = owners(live)
            .values()
            .flatten()
            .any(|o| o.manager == MANAGER);
        if fleet_touched {
            out.orphaned_wecs.push(r.name.clone());
        } else {
            out.unmanaged_wecs.push(r.name.clone());
        }
    }

    if !opts.targets.is_empty() {
        retain_targets(&mut out, &opts.targets);
    }
    let changed: BTreeSet<&str> = out
        .changes
        .iter()
        .filter_map(|c| c.wec.as_deref())
        .collect();
    // A WEC is known to be in sync only if every place holding its objects was read: the ITS
    // (ManagedCluster, properties), the WEC itself, and the WDS when it uses downsync RBAC.
    let unread = |l: &Location| observed.unreadable.contains_key(l);
    let known = |w: &crate::config::model::Wec| {
        let downsync = w.rbac.iter().any(|e| {
            fleet
                .rbac
                .get(e)
                .is_some_and(|x| x.mode == RbacMode::Downsync)
        });
        let places = [
            Some(Location::Its),
            Some(Location::Wec(w.name.clone())),
            downsync.then_some(Location::Wds),
        ];
        places.iter().flatten().all(|l| !unread(l))
    };
    out.unchanged_wecs = fleet
        .wecs
        .values()
        .filter(|w| opts.targets.is_empty() || opts.targets.contains(&w.name))
        .filter(|w| !changed.contains(w.name.as_str()) && known(w))
        .map(|w| w.name.clone())
        .collect();
    out.changes
        .sort_by(|a, b| a.wec.cmp(&b.wec).then_with(|| a.r.cmp(&b.r)));
    out
}

/// Keeps the targeted WECs' changes and the shared objects they depend on.
fn retain_targets(out: &mut Diff, targets: &BTreeSet<String>) {
    let mut keep: BTreeSet<ObjectRef> = BTreeSet::new();
    let mut expansions: BTreeSet<String> = BTreeSet::new();
    for c in out
        .changes
        .iter()
        .filter(|c| c.wec.as_ref().is_some_and(|w| targets.contains(w)))
    {
        keep.insert(c.r.clone());
        keep.extend(c.depends_on.iter().cloned());
        for f in &c.fields {
            if let Some(e) = f
                .path
                .0
                .get(2)
                .and_then(|k| k.strip_prefix(desired::RBAC_SELECTOR_PREFIX))
            {
                expansions.insert(e.to_owned());
            }
        }
    }
    out.changes.retain(|c| match &c.wec {
        Some(w) => targets.contains(w),
        None => {
            keep.contains(&c.r)
                || c.body
                    .as_ref()
                    .and_then(|b| {
                        b.pointer(&format!(
                            "/metadata/labels/{}",
                            RBAC_LABEL.replace('/', "~1")
                        ))
                    })
                    .and_then(Value::as_str)
                    .is_some_and(|e| expansions.contains(e))
        }
    });
    out.unmanaged_wecs.clear();
    out.orphaned_wecs.retain(|w| targets.contains(w));
}

fn managed_by_fleet(live: &Value) -> bool {
    live.pointer("/metadata/labels")
        .and_then(|l| l.get(MANAGED_BY))
        .and_then(Value::as_str)
        == Some(MANAGER)
}

fn observed_identity(live: &Value) -> Option<Observed> {
    Some(Observed {
        uid: live.pointer("/metadata/uid")?.as_str()?.to_owned(),
        resource_version: live
            .pointer("/metadata/resourceVersion")?
            .as_str()?
            .to_owned(),
    })
}

/// The WEC an observed object belongs to: its location, or (property ConfigMaps) its name.
fn owner_wec(r: &ObjectRef) -> Option<String> {
    match &r.location {
        Location::Wec(w) => Some(w.clone()),
        Location::Its
            if r.kind == Kind::ConfigMap && r.namespace.as_deref() == Some(PROPERTIES_NS) =>
        {
            Some(r.name.clone())
        }
        _ => None,
    }
}

/// Serialised form of an object reference in a ManagedCluster's inventory.
pub fn inventory_key(r: &ObjectRef) -> String {
    format!(
        "{}|{}|{}|{}",
        r.location,
        r.kind,
        r.namespace.as_deref().unwrap_or(""),
        r.name
    )
}

/// Objects fleet recorded as applied, from every ManagedCluster's last-applied annotation.
fn inventories(observed: &ObservedFleet) -> BTreeSet<String> {
    observed
        .objects
        .iter()
        .filter(|(r, _)| r.kind == Kind::ManagedCluster)
        .filter_map(|(_, live)| LastApplied::of(live))
        .flat_map(|la| la.objects)
        .collect()
}

/// The body to apply: the desired body plus fleet's last-applied record.
fn apply_body(d: &DesiredObject) -> Value {
    let record = LastApplied {
        applied: d.body.clone(),
        objects: d.inventory.iter().map(inventory_key).collect(),
    };
    let mut body = d.body.clone();
    body["metadata"]["annotations"] =
        serde_json::json!({ LAST_APPLIED: serde_json::to_string(&record).expect("json") });
    body
}

fn diff_object(
    d: &DesiredObject,
    live: Option<&Value>,
    inventory: &BTreeSet<String>,
) -> Option<Change> {
    let want = flatten(&d.body);
    let base = Change {
        r: d.r.clone(),
        wec: d.wec.clone(),
        action: Action::Create,
        cause: Cause::Config,
        fields: Vec::new(),
        blocked: None,
        note: None,
        body: Some(apply_body(d)),
        depends_on: d.depends_on.clone(),
        observed: live.and_then(observed_identity),
    };
    let Some(live) = live else {
        let cause = if inventory.contains(&inventory_key(&d.r)) {
            Cause::Drift { manager: None } // fleet applied it; someone deleted it
        } else {
            Cause::Config
        };
        let fields = want
            .into_iter()
            .map(|(path, v)| FieldChange {
                path,
                before: None,
                after: Some(v),
                cause: cause.clone(),
            })
            .collect();
        return Some(match d.mode {
            Mode::ExistingOnly => Change {
                action: Action::Update,
                fields,
                blocked: Some(format!(
                    "{} does not exist: the WEC is not registered with the ITS",
                    d.r.display_name()
                )),
                ..base
            },
            Mode::CreateOnly | Mode::Manage => Change {
                cause,
                fields,
                ..base
            },
        });
    };
    if d.mode == Mode::CreateOnly {
        return None;
    }

    let have = flatten(live);
    let owned = owners(live);
    let last = LastApplied::of(live)
        .map(|l| l.fields())
        .unwrap_or_default();
    let fleet_owns = |p: &FieldPath| {
        owned
            .get(p)
            .is_some_and(|os| os.iter().any(|o| o.manager == MANAGER))
    };
    let foreign =
        |p: &FieldPath| -> Option<&Owner> { owned.get(p)?.iter().find(|o| o.manager != MANAGER) };

    let mut fields = Vec::new();
    for (path, after) in &want {
        let before = have.get(path);
        if before == Some(after) {
            continue;
        }
        let cause = match foreign(path) {
            Some(o) if o.operation == "Apply" => Cause::Conflict {
                manager: o.manager.clone(),
            },
            Some(o) if last.get(path) == Some(after) => Cause::Drift {
                manager: Some(o.manager.clone()),
            },
            None if last.get(path) == Some(after) => Cause::Drift {
                manager: last_foreign_writer(live, MANAGER),
            },
            Some(o) if before.is_some() && last.get(path) != before => Cause::Conflict {
                manager: o.manager.clone(),
            },
            _ => Cause::Config,
        };
        fields.push(FieldChange {
            path: path.clone(),
            before: before.cloned(),
            after: Some(after.clone()),
            cause,
        });
    }
    // Fields fleet applied before and no longer declares: SSA removes those fleet alone owns.
    for (path, before) in &have {
        if want.contains_key(path) || !fleet_owns(path) || foreign(path).is_some() {
            continue;
        }
        fields.push(FieldChange {
            path: path.clone(),
            before: Some(before.clone()),
            after: None,
            cause: Cause::Config,
        });
    }
    if fields.is_empty() {
        return None;
    }
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    let cause = fields
        .iter()
        .map(|f| f.cause.clone())
        .max()
        .unwrap_or(Cause::Config);
    let replace = fields
        .iter()
        .any(|f| f.path.is_immutable() && f.before.is_some());
    Some(Change {
        action: if replace {
            Action::Replace
        } else {
            Action::Update
        },
        cause,
        note: replace.then(|| "roleRef is immutable: forces replacement".to_owned()),
        fields,
        ..base
    })
}

#[cfg(test)]
mod tests;
