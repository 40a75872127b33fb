//! import on hand-made live fleets: what goes where, what is left out, and how a large fleet
//! folds.

use serde_json::{Value, json};

use super::*;
use crate::model::ObjectRef;
use crate::model::vocab::{MANAGED_BY, MANAGER};

/// A registered (Joined) ManagedCluster.
fn mc(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
           "metadata": {"name": name, "labels": labels},
           "status": {"conditions": [{"type": "ManagedClusterJoined", "status": "True"}]}})
}

/// A ManagedCluster whose agent never joined.
fn unjoined(name: &str, labels: Value) -> Value {
    let mut m = mc(name, labels);
    m["status"] = json!({});
    m
}

fn role(kind: &str, ns: Option<&str>, expansion: &str, rules: Value) -> Value {
    let mut r = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
        "metadata": {"name": format!("fleet:{expansion}"),
                     "labels": {MANAGED_BY: MANAGER, RBAC_LABEL: expansion}},
        "rules": rules});
    if let Some(ns) = ns {
        r["metadata"]["namespace"] = ns.into();
    }
    r
}

fn contexts() -> Contexts {
    Contexts {
        its: "its1".into(),
        wds: Some("wds1".into()),
        wecs: [(WecName::from("edge-1"), "kind-edge-1".to_owned())].into(),
    }
}

fn live() -> ObservedFleet {
    let mut o = ObservedFleet::default();
    o.insert_values(
        &Location::Its,
        Kind::ManagedCluster,
        [
            mc(
                "cluster1",
                json!({"env": "prod", "region": "us-east", "name": "cluster1",
                       "cluster.open-cluster-management.io/clusterset": "default",
                       "rbac.fleet.kubestellar.io/aw": "true"}),
            ),
            mc(
                "cluster2",
                json!({"env": "prod", "region": "us-east", "name": "cluster2",
                       "feature.open-cluster-management.io/addon-x": "available"}),
            ),
            unjoined("edge-1", json!({"env": "prod", "region": "edge"})),
            mc("Bad.Name", json!({"env": "prod"})),
        ],
    );
    let cm = |name: &str, data: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": PROPERTIES_NS}, "data": data})
    };
    o.insert_values(
        &Location::Its,
        Kind::ConfigMap,
        [
            cm("cluster1", json!({"maxPods": "100", "zone": "a"})),
            cm("gone", json!({"x": "1"})),
        ],
    );
    o.insert_values(
        &Location::Wds,
        Kind::ClusterRole,
        [role(
            "ClusterRole",
            None,
            "aw",
            json!([{"apiGroups": ["workload.codeflare.dev"], "resources": ["appwrappers"], "verbs": ["get", "list"]}]),
        )],
    );
    for w in ["cluster2", "edge-1"] {
        o.insert_values(
            &Location::Wec(w.into()),
            Kind::Role,
            [role(
                "Role",
                Some("team-a"),
                "jobs",
                json!([{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"], "resourceNames": ["nightly"]}]),
            )],
        );
    }
    o
}

#[test]
fn a_live_fleet_becomes_a_fleet_toml_that_loads() {
    let imported = import(&live(), &contexts()).expect("imports");
    insta::assert_snapshot!(imported.toml);
    insta::assert_debug_snapshot!(imported.notes);
    let loaded = config::from_str(Path::new("fleet.toml"), &imported.toml).expect("loads");
    let fleet = loaded.fleet;
    let c1 = &fleet.wecs[&WecName::from("cluster1")];
    assert_eq!(c1.labels.get("region"), Some("us-east"));
    assert!(
        !c1.labels
            .iter()
            .any(|(k, _)| k.contains("open-cluster-management"))
    );
    assert!(
        !c1.labels
            .iter()
            .any(|(k, _)| k.starts_with(RBAC_SELECTOR_PREFIX))
    );
    assert_eq!(c1.properties.get("maxPods"), Some("100"));
    assert!(c1.rbac.contains("aw"));
    assert!(!c1.rbac.contains("jobs"));
    let e1 = &fleet.wecs[&WecName::from("edge-1")];
    assert_eq!(e1.access.context, "kind-edge-1");
    assert!(e1.rbac.contains("jobs") && !e1.rbac.contains("aw"));
    assert!(!e1.register, "found unregistered, never joined by fleet");
    assert!(c1.register);
    assert_eq!(fleet.wecs.len(), 3, "Bad.Name is not a WEC name");
}

#[test]
fn a_large_fleet_folds_shared_labels_into_defaults_and_groups() {
    let mut o = ObservedFleet::default();
    let regions = ["us-east", "us-west", "eu-central", "ap-south", "sa-east"];
    let mcs: Vec<Value> = (0..5000)
        .map(|i| {
            mc(
                &format!("wec-{i:04}"),
                json!({"env": "prod", "region": regions[i % 5], "name": format!("wec-{i:04}"),
                       "tier": if i % 2 == 0 { "gold" } else { "silver" }}),
            )
        })
        .collect();
    o.insert_values(&Location::Its, Kind::ManagedCluster, mcs);
    let imported = import(
        &o,
        &Contexts {
            its: "its1".into(),
            ..Contexts::default()
        },
    )
    .expect("imports");
    let text = &imported.toml;
    assert!(
        text.contains("[defaults]\nlabels = { env = \"prod\" }"),
        "{}",
        &text[..600]
    );
    assert!(text.contains("[group.region-us-east]"));
    assert!(text.contains("[group.tier-gold]"));
    let first = text.split("[wec.wec-0000]").nth(1).expect("a WEC");
    let first = first.split("\n\n").next().unwrap();
    assert_eq!(
        first.trim(),
        "groups = [\"region-us-east\", \"tier-gold\"]\nlabels = { name = \"wec-0000\" }"
    );
    // Four short lines per WEC, whatever its labels.
    let per_wec = text.len() / 5000;
    assert!(per_wec < 90, "{per_wec} bytes per WEC");
    let fleet = config::from_str(Path::new("fleet.toml"), text)
        .expect("loads")
        .fleet;
    let w = &fleet.wecs[&WecName::from("wec-0003")];
    assert_eq!(
        (&w.labels["env"], &w.labels["region"], &w.labels["tier"]),
        ("prod", "ap-south", "silver")
    );
}

#[test]
fn a_group_is_made_only_when_it_shortens_the_file() {
    let mut o = ObservedFleet::default();
    o.insert_values(
        &Location::Its,
        Kind::ManagedCluster,
        [
            mc("a", json!({"x": "1"})),
            mc("b", json!({"x": "1"})),
            mc("c", json!({"y": "2"})),
        ],
    );
    let imported = import(&o, &contexts()).expect("imports");
    assert!(!imported.toml.contains("[group."), "{}", imported.toml);
    let _ = ObjectRef::cluster(Location::Its, Kind::ManagedCluster, "a");
}
