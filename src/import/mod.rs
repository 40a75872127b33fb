//! import: the live fleet → a `fleet.toml` that describes it, so that `fleet plan` on the
//! result reports no changes. Pure: it reads an [`ObservedFleet`] (what
//! [`inventory`](crate::observe::inventory) read) and returns text, formatted as `fleet fmt`
//! formats it.
//!
//! - Every ManagedCluster becomes a `[wec.NAME]` with its labels, except OCM's own and the
//!   selector labels of fleet's downsync RBAC, and its properties ConfigMap.
//! - fleet's RBAC (objects labelled `fleet.kubestellar.io/rbac`) becomes `[rbac.*]`: on the
//!   WDS in `downsync` mode (its WECs are those its BindingPolicy selects), on WECs in
//!   `direct` mode.
//! - A ManagedCluster that is neither Joined nor Available gets `register = false`: fleet
//!   never joins a cluster it did not find registered.
//! - Labels every WEC shares go to `[defaults]`; labels a subset shares go to a
//!   `[group.*]` when that makes the file shorter, so a large fleet stays readable.
//!
//! What cannot be expressed is left out and said in [`Imported::notes`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::model::json::Json;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};

use crate::config::{self, ConfigError, names};
use crate::model::registration::registered;
use crate::model::vocab::{
    PROPERTIES_NS, RBAC_LABEL, RBAC_SELECTOR_PREFIX, delivered_by_work_agent, ocm,
};
use crate::model::{Kind, Location, ObservedFleet, WecName};

/// What import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The `fleet.toml`, formatted.
    pub toml: String,
    /// What was left out, and why.
    pub notes: Vec<String>,
}

/// Where the ITS and the WDS are, and how each WEC is reached.
#[derive(Debug, Clone, Default)]
pub struct Contexts {
    pub its: String,
    pub wds: Option<String>,
    /// A WEC's context when it is not the WEC's name.
    pub wecs: BTreeMap<WecName, String>,
}

/// One RBAC expansion as found live.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expansion {
    downsync: bool,
    namespace: Option<String>,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rule {
    api_groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
    resource_names: Vec<String>,
}

fn strings(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn string_map(v: Option<&Json>) -> BTreeMap<String, String> {
    v.and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The expansion a live (Cluster)Role describes.
fn expansion_of(role: &Json, downsync: bool) -> Expansion {
    let rules = role
        .get("rules")
        .and_then(Json::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| Rule {
                    api_groups: strings(r.get("apiGroups")),
                    resources: strings(r.get("resources")),
                    verbs: strings(r.get("verbs")),
                    resource_names: strings(r.get("resourceNames")),
                })
                .collect()
        })
        .unwrap_or_default();
    Expansion {
        downsync,
        namespace: role
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .map(str::to_owned),
        rules,
    }
}

/// Whether fleet.toml may declare this label (OCM's and fleet's own may not).
fn importable_label(key: &str) -> bool {
    !ocm::LABEL_PREFIXES.iter().any(|p| key.starts_with(p))
        && !key.starts_with(RBAC_SELECTOR_PREFIX)
}

/// The WECs of the live fleet, with what fleet.toml says of each.
#[derive(Debug, Default)]
struct WecFacts {
    labels: BTreeMap<String, String>,
    properties: BTreeMap<String, String>,
    rbac: BTreeSet<String>,
    /// Joined or Available; otherwise imported with `register = false`, so that fleet
    /// never joins a cluster it did not find registered.
    registered: bool,
}

/// Builds the fleet.toml of `observed`.
pub fn import(observed: &ObservedFleet, contexts: &Contexts) -> Result<Imported, ConfigError> {
    let mut notes = Vec::new();
    let mut wecs: BTreeMap<String, WecFacts> = BTreeMap::new();
    for (r, mc) in observed.of_kind(Kind::ManagedCluster) {
        if let Err(why) = names::check_dns1123_label(&r.name) {
            notes.push(format!(
                "ManagedCluster {} is left out: a WEC name must be a DNS-1123 label ({why})",
                r.name
            ));
            continue;
        }
        let labels = string_map(mc.pointer("/metadata/labels"));
        let selected: BTreeSet<String> = labels
            .keys()
            .filter_map(|k| k.strip_prefix(RBAC_SELECTOR_PREFIX))
            .map(str::to_owned)
            .collect();
        wecs.insert(
            r.name.to_string(),
            WecFacts {
                labels: labels
                    .into_iter()
                    .filter(|(k, _)| importable_label(k))
                    .collect(),
                rbac: selected,
                registered: registered(mc),
                ..WecFacts::default()
            },
        );
    }

    for (r, cm) in observed.of_kind(Kind::ConfigMap) {
        if r.location != Location::Its || r.namespace.as_deref() != Some(PROPERTIES_NS) {
            continue;
        }
        let Some(facts) = wecs.get_mut(r.name.as_str()) else {
            notes.push(format!(
                "ConfigMap {PROPERTIES_NS}/{} is left out: no ManagedCluster of that name",
                r.name
            ));
            continue;
        };
        for (k, v) in string_map(cm.get("data")) {
            match names::check_configmap_key(&k) {
                Ok(()) => {
                    facts.properties.insert(k, v);
                }
                Err(why) => notes.push(format!("property {k:?} of {} is left out: {why}", r.name)),
            }
        }
    }

    // RBAC: downsync expansions from the WDS, direct ones from the WECs.
    let mut expansions: BTreeMap<String, BTreeMap<Expansion, BTreeSet<String>>> = BTreeMap::new();
    for kind in [Kind::ClusterRole, Kind::Role] {
        for (r, role) in observed.of_kind(kind) {
            let Some(name) = role
                .pointer("/metadata/labels")
                .and_then(|l| l.get(RBAC_LABEL))
                .and_then(Json::as_str)
            else {
                continue;
            };
            // On a WEC, a copy KubeStellar delivered is downsync RBAC, not direct.
            if matches!(r.location, Location::Wec(_)) && delivered_by_work_agent(role) {
                continue;
            }
            let (downsync, wec) = match &r.location {
                Location::Wds => (true, None),
                Location::Wec(w) => (false, Some(w.to_string())),
                Location::Its => continue,
            };
            let found = expansions
                .entry(name.to_owned())
                .or_default()
                .entry(expansion_of(role, downsync))
                .or_default();
            found.extend(wec);
        }
    }
    let mut rbac: BTreeMap<String, Expansion> = BTreeMap::new();
    for (name, variants) in expansions {
        // Downsync first; then the variant most WECs have.
        let mut ranked: Vec<(&Expansion, &BTreeSet<String>)> = variants.iter().collect();
        ranked.sort_by_key(|(e, wecs)| (!e.downsync, std::cmp::Reverse(wecs.len())));
        let (chosen, members) = ranked[0];
        for (other, on) in &ranked[1..] {
            let on: Vec<&str> = on.iter().map(String::as_str).collect();
            notes.push(format!(
                "RBAC expansion {name:?}: the {} copy on {} differs from the one imported; the plan will show it changing",
                if other.downsync { "downsync" } else { "direct" },
                if on.is_empty() { "the WDS".to_owned() } else { on.join(", ") },
            ));
        }
        if !chosen.downsync {
            for w in members {
                if let Some(facts) = wecs.get_mut(w) {
                    facts.rbac.insert(name.clone());
                }
            }
        }
        rbac.insert(name, chosen.clone());
    }
    for (w, facts) in &mut wecs {
        let unknown: Vec<String> = facts
            .rbac
            .iter()
            .filter(|e| !rbac.contains_key(*e))
            .cloned()
            .collect();
        for e in unknown {
            facts.rbac.remove(&e);
            notes.push(format!(
                "{w} carries the selector label of RBAC expansion {e:?}, which the WDS does not hold; left out"
            ));
        }
    }

    let text = document(contexts, &wecs, &rbac).to_string();
    let path = Path::new("fleet.toml");
    let toml = config::format::format(path, &text)?;
    // What import writes must load: anything else is a bug here.
    config::from_str(path, &toml)?;
    Ok(Imported { toml, notes })
}

/// Labels shared by every WEC (`[defaults]`) and by subsets (`[group.*]`).
struct Folded {
    defaults: BTreeMap<String, String>,
    /// Group name → (labels, members).
    groups: BTreeMap<String, (BTreeMap<String, String>, BTreeSet<String>)>,
}

/// `"key" = "value", ` as it costs in an inline table.
fn pair_len(k: &str, v: &str) -> usize {
    k.len() + v.len() + 8
}

fn fold(wecs: &BTreeMap<String, WecFacts>) -> Folded {
    let mut holders: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for (w, facts) in wecs {
        for (k, v) in &facts.labels {
            holders.entry((k, v)).or_default().insert(w);
        }
    }
    let mut defaults = BTreeMap::new();
    let mut by_members: BTreeMap<BTreeSet<&str>, BTreeMap<String, String>> = BTreeMap::new();
    for ((k, v), members) in holders {
        if wecs.len() > 1 && members.len() == wecs.len() {
            defaults.insert(k.to_owned(), v.to_owned());
        } else if members.len() > 1 {
            by_members
                .entry(members)
                .or_default()
                .insert(k.to_owned(), v.to_owned());
        }
    }
    let mut groups = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for (members, labels) in by_members {
        let name = group_name(&labels, &mut taken);
        let per_wec: usize = labels.iter().map(|(k, v)| pair_len(k, v)).sum();
        // Listed on each member, or once in a group that each member names.
        let inline = members.len() * per_wec;
        let grouped = per_wec + name.len() + 30 + members.len() * (name.len() + 6);
        if grouped < inline {
            let members = members.into_iter().map(str::to_owned).collect();
            groups.insert(name, (labels, members));
        } else {
            taken.remove(&name);
        }
    }
    Folded { defaults, groups }
}

/// A DNS-1123 name for a group of labels: `region-us-east` for one label, `group-N`
/// otherwise; unique among `taken`.
fn group_name(labels: &BTreeMap<String, String>, taken: &mut BTreeSet<String>) -> String {
    let base = match labels.iter().next() {
        Some((k, v)) if labels.len() == 1 => {
            let key = k.rsplit('/').next().unwrap_or(k);
            let candidate = format!("{key}-{v}");
            names::suggest_dns1123_label(&candidate).unwrap_or(candidate)
        }
        _ => "group".to_owned(),
    };
    let base = if names::check_dns1123_label(&base).is_ok() {
        base
    } else {
        "group".to_owned()
    };
    let mut name = base.clone();
    let mut n = 1;
    while taken.contains(&name) {
        n += 1;
        name = format!("{base}-{n}");
    }
    taken.insert(name.clone());
    name
}

fn inline(map: &BTreeMap<String, String>) -> InlineTable {
    let mut t = InlineTable::new();
    for (k, v) in map {
        t.insert(k, v.as_str().into());
    }
    t
}

fn array<'a>(items: impl IntoIterator<Item = &'a String>) -> Array {
    items.into_iter().map(String::as_str).collect()
}

fn document(
    contexts: &Contexts,
    wecs: &BTreeMap<String, WecFacts>,
    rbac: &BTreeMap<String, Expansion>,
) -> DocumentMut {
    let mut doc = DocumentMut::new();
    let mut its = Table::new();
    its.insert("context", value(&contexts.its));
    doc.insert("its", Item::Table(its));
    if let Some(wds) = &contexts.wds {
        let mut t = Table::new();
        t.insert("context", value(wds));
        doc.insert("wds", Item::Table(t));
    }

    let folded = fold(wecs);
    // Expansions every WEC lists go to [defaults] too.
    let common_rbac: BTreeSet<String> = match wecs.values().next() {
        Some(first) if wecs.len() > 1 => first
            .rbac
            .iter()
            .filter(|e| wecs.values().all(|w| w.rbac.contains(*e)))
            .cloned()
            .collect(),
        _ => BTreeSet::new(),
    };
    if !folded.defaults.is_empty() || !common_rbac.is_empty() {
        let mut t = Table::new();
        if !folded.defaults.is_empty() {
            t.insert("labels", value(inline(&folded.defaults)));
        }
        if !common_rbac.is_empty() {
            t.insert("rbac", value(array(&common_rbac)));
        }
        doc.insert("defaults", Item::Table(t));
    }
    let mut groups = Table::new();
    groups.set_implicit(true);
    for (name, (labels, _)) in &folded.groups {
        let mut t = Table::new();
        t.insert("labels", value(inline(labels)));
        groups.insert(name, Item::Table(t));
    }
    if !folded.groups.is_empty() {
        doc.insert("group", Item::Table(groups));
    }

    let mut rbac_table = Table::new();
    rbac_table.set_implicit(true);
    for (name, e) in rbac {
        let mut t = Table::new();
        t.insert(
            "mode",
            value(if e.downsync { "downsync" } else { "direct" }),
        );
        if let Some(ns) = &e.namespace {
            t.insert("namespace", value(ns));
        }
        let mut rules = toml_edit::ArrayOfTables::new();
        for r in &e.rules {
            let mut rt = Table::new();
            rt.insert("api_groups", value(array(&r.api_groups)));
            rt.insert("resources", value(array(&r.resources)));
            rt.insert("verbs", value(array(&r.verbs)));
            if !r.resource_names.is_empty() {
                rt.insert("resource_names", value(array(&r.resource_names)));
            }
            rules.push(rt);
        }
        t.insert("rules", Item::ArrayOfTables(rules));
        rbac_table.insert(name, Item::Table(t));
    }
    if !rbac.is_empty() {
        doc.insert("rbac", Item::Table(rbac_table));
    }

    let mut wec_table = Table::new();
    wec_table.set_implicit(true);
    for (name, facts) in wecs {
        let mut t = Table::new();
        if let Some(context) = contexts.wecs.get(name.as_str())
            && context != name
        {
            t.insert("context", value(context));
        }
        let groups: Vec<&String> = folded
            .groups
            .iter()
            .filter(|(_, (_, members))| members.contains(name))
            .map(|(g, _)| g)
            .collect();
        let grouped: BTreeSet<&String> = folded
            .groups
            .values()
            .filter(|(_, members)| members.contains(name))
            .flat_map(|(labels, _)| labels.keys())
            .collect();
        if !groups.is_empty() {
            t.insert("groups", value(array(groups)));
        }
        let own: BTreeMap<String, String> = facts
            .labels
            .iter()
            .filter(|(k, _)| !folded.defaults.contains_key(*k) && !grouped.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !own.is_empty() {
            t.insert("labels", value(inline(&own)));
        }
        if !facts.properties.is_empty() {
            t.insert("properties", value(inline(&facts.properties)));
        }
        let own_rbac: Vec<&String> = facts
            .rbac
            .iter()
            .filter(|e| !common_rbac.contains(*e))
            .collect();
        if !own_rbac.is_empty() {
            t.insert("rbac", value(array(own_rbac)));
        }
        if !facts.registered {
            t.insert("register", value(false));
        }
        wec_table.insert(name, Item::Table(t));
    }
    if !wecs.is_empty() {
        doc.insert("wec", Item::Table(wec_table));
    }
    doc
}

#[cfg(test)]
mod tests;
