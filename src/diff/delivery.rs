//! Whether fleet's RBAC is in effect on the WECs, as far as fleet can tell:
//! - `downsync`: the ManifestWork KubeStellar's transport wrote in the WEC's namespace on the
//!   ITS for the expansion's BindingPolicy, and its `Applied` condition ("in sync" on the WDS
//!   is not "granted on the WEC": when the binding or transport controller never delivered,
//!   or the work agent failed, this says so);
//! - both modes, where the WEC's context is reachable: a SubjectAccessReview for the work
//!   agent per rule of the expansion, which tells whether the grant took effect.
//!
//! Only WECs whose own side fleet has in place are reported: apply comes first.

use crate::model::json::Json;

use crate::config::model::{DesiredFleet, RbacMode};
use crate::model::vocab::{ORIGIN_BINDING_LABEL, binding_policy_name};
use crate::model::{ExpansionName, GrantCheck, Kind, Location, ObservedFleet, WecName};

use super::Change;

/// How far a downsync grant got.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeliveryState {
    /// The work agent applied it (`Applied` is True).
    Applied,
    /// No ManifestWork yet, or not applied yet: why.
    Pending(String),
    /// The work agent could not apply it: the condition's message.
    Failed(String),
}

/// One WEC's grant of one RBAC expansion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    pub wec: WecName,
    pub expansion: ExpansionName,
    /// Downsync (through KubeStellar) or direct.
    pub downsync: bool,
    pub state: DeliveryState,
}

impl Delivery {
    /// Applied on the WEC.
    pub fn delivered(&self) -> bool {
        self.state == DeliveryState::Applied
    }
}

fn condition<'a>(conditions: Option<&'a Json>, kind: &str) -> Option<&'a Json> {
    conditions?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Json::as_str) == Some(kind))
}

fn message(c: &Json) -> Option<&str> {
    c.get("message")
        .and_then(Json::as_str)
        .filter(|m| !m.is_empty())
}

/// The manifests the work agent could not apply, each as "<Kind> <namespace>/<name>:
/// <message>" (the ManifestWork's own condition only says that some failed).
fn failed_manifests(work: &Json) -> Vec<String> {
    let manifests = work
        .pointer("/status/resourceStatus/manifests")
        .and_then(Json::as_array);
    manifests
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let c = condition(m.get("conditions"), "Applied")?;
            if c.get("status").and_then(Json::as_str) != Some("False") {
                return None;
            }
            let meta = |k: &str| {
                m.pointer(&format!("/resourceMeta/{k}"))
                    .and_then(Json::as_str)
                    .unwrap_or_default()
            };
            let name = match meta("namespace") {
                "" => meta("name").to_owned(),
                ns => format!("{ns}/{}", meta("name")),
            };
            Some(format!(
                "{} {name}: {}",
                meta("kind"),
                message(c).unwrap_or("not applied")
            ))
        })
        .collect()
}

fn applied(work: &Json) -> DeliveryState {
    match condition(work.pointer("/status/conditions"), "Applied") {
        Some(c) if c.get("status").and_then(Json::as_str) == Some("True") => DeliveryState::Applied,
        Some(c) if c.get("status").and_then(Json::as_str) == Some("False") => {
            let failed = failed_manifests(work);
            DeliveryState::Failed(if failed.is_empty() {
                message(c).unwrap_or("Applied is False").to_owned()
            } else {
                failed.join("; ")
            })
        }
        _ => DeliveryState::Pending("the work agent has not applied it yet".into()),
    }
}

/// The rule the work agent was found not to hold, for messages.
fn denied(e: &crate::config::model::RbacExpansion, rule: usize) -> String {
    let p = e.rules.get(rule).map(|r| r.probe()).unwrap_or_default();
    let what = if p.group.is_empty() {
        p.resource.to_owned()
    } else {
        format!("{}.{}", p.resource, p.group)
    };
    let scope = e
        .namespace
        .as_ref()
        .map(|ns| format!(" in {ns}"))
        .unwrap_or_default();
    format!(
        "a SubjectAccessReview on the WEC says klusterlet-work-sa may not {} {what}{scope}",
        p.verb
    )
}

/// The grants to report. A WEC whose own side is not in place yet (a pending change to the
/// expansion's objects or to the WEC's ManagedCluster, or the WEC unregistered) is not
/// reported; neither is a direct grant nobody could check.
pub fn deliveries(
    fleet: &DesiredFleet,
    observed: &ObservedFleet,
    changes: &[Change],
) -> Vec<Delivery> {
    let works_read = observed
        .listed
        .contains(&(Location::Its, Kind::ManifestWork));
    let mut out = Vec::new();
    for wec in fleet.wecs.values() {
        let mc = crate::model::registration::managed_cluster_ref(&wec.name);
        let Some(live) = observed.get(&mc) else {
            continue;
        };
        if !crate::model::registration::registered(live) {
            continue;
        }
        for e in fleet.expansions_of(wec) {
            let pending_here = changes.iter().any(|c| {
                c.expansion.as_ref() == Some(&e.name)
                    || c.wec.as_ref() == Some(&wec.name)
                        && ((c.object == mc && !c.is_record_only()) || e.mode == RbacMode::Direct)
            });
            if pending_here {
                continue;
            }
            let checked = observed
                .grants
                .get(&(wec.name.clone(), e.name.clone()))
                .copied();
            let downsync = e.mode == RbacMode::Downsync;
            let state = match (downsync, checked) {
                (false, None) => continue,
                (false, Some(GrantCheck::InEffect)) => DeliveryState::Applied,
                (false, Some(GrantCheck::Denied { rule })) => {
                    DeliveryState::Failed(denied(e, rule))
                }
                (true, _) if !works_read => continue,
                (true, checked) => {
                    let binding = binding_policy_name(&e.name);
                    let works: Vec<&Json> = observed
                        .of_kind(Kind::ManifestWork)
                        .filter(|(r, w)| {
                            r.namespace.as_deref() == Some(wec.name.as_str())
                                && w.pointer("/metadata/labels")
                                    .and_then(|l| l.get(ORIGIN_BINDING_LABEL))
                                    .and_then(Json::as_str)
                                    == Some(binding.as_str())
                        })
                        .map(|(_, w)| w)
                        .collect();
                    let state = if works.is_empty() {
                        DeliveryState::Pending(format!(
                            "no ManifestWork for BindingPolicy {binding} in namespace {} on the ITS: KubeStellar's binding or transport controller has not delivered it",
                            wec.name
                        ))
                    } else {
                        works
                            .iter()
                            .map(|w| applied(w))
                            .find(|s| *s != DeliveryState::Applied)
                            .unwrap_or(DeliveryState::Applied)
                    };
                    match (state, checked) {
                        (DeliveryState::Applied, Some(GrantCheck::Denied { rule })) => {
                            DeliveryState::Failed(format!(
                                "its ManifestWork is Applied, but {}",
                                denied(e, rule)
                            ))
                        }
                        (state, _) => state,
                    }
                }
            };
            out.push(Delivery {
                wec: wec.name.clone(),
                expansion: e.name.clone(),
                downsync,
                state,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::diff::fixtures::managed_cluster;

    /// The fleet of `body` (its RBAC and WECs) on the ITS its1 and the WDS wds1.
    fn fleet(body: &str) -> crate::config::model::DesiredFleet {
        let text = format!("[its]\ncontext = \"its1\"\n[wds]\ncontext = \"wds1\"\n{body}");
        crate::config::from_str(Path::new("fleet.toml"), &text)
            .unwrap()
            .fleet
    }

    fn work(wec: &str, binding: &str, applied: Option<(&str, &str)>) -> serde_json::Value {
        let mut w = json!({"apiVersion": "work.open-cluster-management.io/v1", "kind": "ManifestWork",
            "metadata": {"name": format!("{binding}-wds1-0"), "namespace": wec,
                         "labels": {ORIGIN_BINDING_LABEL: binding}}});
        if let Some((status, message)) = applied {
            w["status"] =
                json!({"conditions": [{"type": "Applied", "status": status, "message": message}]});
        }
        w
    }

    #[test]
    fn applied_pending_and_failed_grants_are_told_apart() {
        let fleet = fleet(
            r#"
[rbac.aw]
mode = "downsync"
[[rbac.aw.rules]]
api_groups = ["workload.codeflare.dev"]
resources = ["appwrappers"]
verbs = ["get"]
[defaults]
rbac = ["aw"]
[wec.c1]
[wec.c2]
[wec.c3]
[wec.c4]
"#,
        );
        let mut o = ObservedFleet::default();
        let mcs = ["c1", "c2", "c3"].map(|n| managed_cluster(n, json!({}), vec![], None));
        o.insert_values(&Location::Its, Kind::ManagedCluster, mcs);
        o.insert_values(
            &Location::Its,
            Kind::ManifestWork,
            [
                work(
                    "c1",
                    "fleet-rbac-aw",
                    Some(("True", "Apply manifest work complete")),
                ),
                work(
                    "c2",
                    "fleet-rbac-aw",
                    Some(("False", "clusterroles is forbidden")),
                ),
                work("c2", "other-binding", Some(("True", ""))),
            ],
        );
        let got = deliveries(&fleet, &o, &[]);
        let states: Vec<(&str, &DeliveryState)> =
            got.iter().map(|d| (d.wec.as_str(), &d.state)).collect();
        assert_eq!(states.len(), 3, "c4 is not registered: not reported");
        assert_eq!(states[0], ("c1", &DeliveryState::Applied));
        assert_eq!(
            states[1],
            (
                "c2",
                &DeliveryState::Failed("clusterroles is forbidden".into())
            )
        );
        assert!(
            matches!(states[2], ("c3", DeliveryState::Pending(why)) if why.contains("no ManifestWork"))
        );

        // A SubjectAccessReview overrides an Applied ManifestWork that did not take effect.
        let mut asked = o.clone();
        asked
            .grants
            .insert(("c1".into(), "aw".into()), GrantCheck::Denied { rule: 0 });
        let c1 = &deliveries(&fleet, &asked, &[])[0];
        assert!(
            matches!(&c1.state, DeliveryState::Failed(why) if why.contains("Applied, but a SubjectAccessReview") && why.contains("may not get appwrappers.workload.codeflare.dev")),
            "{c1:?}"
        );

        // Without the ManifestWorks read, nothing is claimed.
        let mut unread = o.clone();
        unread.listed.remove(&(Location::Its, Kind::ManifestWork));
        assert!(deliveries(&fleet, &unread, &[]).is_empty());
    }

    #[test]
    fn a_failed_work_names_each_manifest_the_agent_could_not_apply() {
        let mut w = work(
            "c1",
            "fleet-rbac-aw",
            Some(("False", "Failed to apply manifest work")),
        );
        w["status"]["resourceStatus"] = json!({"manifests": [
            {"resourceMeta": {"kind": "Namespace", "name": "apps"},
             "conditions": [{"type": "Applied", "status": "True", "message": "Apply manifest complete"}]},
            {"resourceMeta": {"kind": "Role", "namespace": "apps", "name": "fleet:aw"},
             "conditions": [{"type": "Applied", "status": "False", "message": "namespaces \"apps\" not found"}]},
        ]});
        assert_eq!(
            applied(&Json::from(w)),
            DeliveryState::Failed("Role apps/fleet:aw: namespaces \"apps\" not found".into())
        );
        // Without per-manifest detail, the work's own message.
        let bare = work(
            "c1",
            "fleet-rbac-aw",
            Some(("False", "Failed to apply manifest work")),
        );
        assert_eq!(
            applied(&Json::from(bare)),
            DeliveryState::Failed("Failed to apply manifest work".into())
        );
    }

    #[test]
    fn a_denied_rule_is_named_by_its_own_verb_and_resource() {
        let fleet = fleet(
            r#"
[rbac.two]
mode = "direct"
namespace = "apps"
[[rbac.two.rules]]
api_groups = [""]
resources = ["configmaps"]
verbs = ["get"]
[[rbac.two.rules]]
api_groups = ["batch"]
resources = ["jobs"]
verbs = ["create"]
[wec.c1]
rbac = ["two"]
"#,
        );
        let mut o = ObservedFleet::default();
        o.insert_values(
            &Location::Its,
            Kind::ManagedCluster,
            [managed_cluster("c1", json!({}), vec![], None)],
        );
        o.grants
            .insert(("c1".into(), "two".into()), GrantCheck::Denied { rule: 1 });
        let got = deliveries(&fleet, &o, &[]);
        assert_eq!(
            got[0].state,
            DeliveryState::Failed(
                "a SubjectAccessReview on the WEC says klusterlet-work-sa may not create jobs.batch in apps".into()
            )
        );
        o.grants
            .insert(("c1".into(), "two".into()), GrantCheck::InEffect);
        assert_eq!(deliveries(&fleet, &o, &[])[0].state, DeliveryState::Applied);
    }
}
