//! Merging defaults → groups (in the order listed) → the WEC.

use std::path::Path;

use fleet::config;

const LAYERED: &str = r#"
[its]
context = "its1"
kubeconfig = "hub.yaml"

[defaults]
labels = { env = "staging", tier = "default" }
properties = { a = "defaults", b = "defaults" }
rbac = ["base"]
register = false

[defaults.join]
singleton = true

[group.first]
labels = { tier = "first", team = "one" }
properties = { b = "first" }
rbac = ["extra"]
register = true

[group.second]
labels = { team = "two" }

[group.second.join]
force_internal_endpoint_lookup = true

[rbac.base]
mode = "direct"
[[rbac.base.rules]]
api_groups = ["workload.codeflare.dev"]
resources = ["appwrappers"]
verbs = ["get"]

[rbac.extra]
mode = "direct"
namespace = "team-a"
[[rbac.extra.rules]]
api_groups = [""]
resources = ["configmaps"]
verbs = ["get"]
resource_names = ["settings"]

[wec.a]
groups = ["first", "second"]
labels = { env = "prod" }
rbac = ["base"]

[wec.b]
context = "kind-b"
kubeconfig = "/abs/b.yaml"
groups = ["second", "first"]
"#;

#[test]
fn layers_merge_in_order_and_later_wins() {
    let fleet = config::from_str(Path::new("conf/fleet.toml"), LAYERED)
        .unwrap()
        .fleet;
    let a = &fleet.wecs["a"];
    assert_eq!(a.access.context, "a", "context defaults to the WEC name");
    assert_eq!(a.access.kubeconfig, None);
    assert_eq!(a.groups, ["first", "second"]);
    let labels: Vec<_> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(labels, ["env=prod", "team=two", "tier=first"]);
    assert_eq!(&a.properties["a"], "defaults");
    assert_eq!(&a.properties["b"], "first");
    assert_eq!(a.rbac.iter().collect::<Vec<_>>(), ["base", "extra"]);
    assert!(a.register, "a group overrides defaults");
    assert!(a.join.singleton && a.join.force_internal_endpoint_lookup);

    let b = &fleet.wecs["b"];
    assert_eq!(
        &b.labels["team"], "one",
        "groups merge in the order the WEC lists them"
    );
    assert_eq!(b.access.context, "kind-b");
    assert_eq!(
        b.access.kubeconfig.as_deref(),
        Some(Path::new("/abs/b.yaml"))
    );

    assert_eq!(
        fleet.its.access.kubeconfig.as_deref(),
        Some(Path::new("conf/hub.yaml")),
        "relative paths resolve against the file's directory"
    );
    assert_eq!(fleet.rbac["extra"].namespace.as_deref(), Some("team-a"));
    assert_eq!(fleet.rbac["extra"].rules[0].resource_names, ["settings"]);
    assert_eq!(fleet.rbac["base"].mode, config::RbacMode::Direct);
}
