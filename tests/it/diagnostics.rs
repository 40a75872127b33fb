//! Snapshots of the rendered diagnostics, one bad input each; every test also checks that
//! the expected diagnostic code is among the findings.

use crate::common::{diagnose, load};

// TOML syntax
case!(
    syntax_unclosed_table_header,
    "fleet::config::syntax",
    "[its\ncontext = \"its1\"\n"
);
case!(
    syntax_duplicate_key,
    "fleet::config::syntax",
    "[its]\ncontext = \"its1\"\ncontext = \"its2\"\n"
);
case!(
    syntax_missing_value,
    "fleet::config::syntax",
    "[its]\ncontext =\n"
);

// missing required keys
case!(
    missing_its,
    "fleet::config::missing_key",
    "[wec.cluster1]\ncontext = \"cluster1\"\n"
);
case!(
    missing_its_context,
    "fleet::config::missing_key",
    "[its]\nkubeconfig = \"hub.yaml\"\n"
);
case!(
    missing_wds_context,
    "fleet::config::missing_key",
    "[its]\ncontext = \"its1\"\n\n[wds]\nkubeconfig = \"wds.yaml\"\n"
);
case!(
    context_and_control_plane_exclude_each_other,
    "fleet::config::conflicting_keys",
    "[its]\ncontext = \"its1\"\ncontrol_plane = \"its1\"\nhosting_context = \"kind-kubeflex\"\n"
);
case!(
    control_plane_needs_a_hosting_context,
    "fleet::config::conflicting_keys",
    "[its]\ncontrol_plane = \"its1\"\n\n[wds]\ncontrol_plane = \"wds1\"\nhosting_context = \"kind-kubeflex\"\n"
);
case!(
    hosting_context_goes_with_control_plane,
    "fleet::config::conflicting_keys",
    "[its]\ncontext = \"its1\"\nhosting_context = \"kind-kubeflex\"\n"
);
case!(
    missing_rbac_mode,
    "fleet::config::missing_key",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nrbac = [\"aw\"]\n\n[rbac.aw]\n[[rbac.aw.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nresources = [\"appwrappers\"]\nverbs = [\"get\"]\n"
);

// unknown keys
case!(
    unknown_key_did_you_mean,
    "fleet::config::unknown_key",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nlables = { name = \"cluster1\" }\n"
);
case!(
    unknown_key_without_suggestion,
    "fleet::config::unknown_key",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nowner = \"team-a\"\n"
);
case!(
    unknown_top_level_table,
    "fleet::config::unknown_key",
    "[its]\ncontext = \"its1\"\n\n[wecs.cluster1]\ncontext = \"cluster1\"\n"
);
case!(
    unknown_key_in_join,
    "fleet::config::unknown_key",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1.join]\nsingelton = true\n"
);
case!(
    misspelt_required_key_is_reported_once,
    "fleet::config::unknown_key",
    "[its]\ncontex = \"its1\"\n"
);

// wrong types and values
case!(
    property_value_must_be_a_string,
    "fleet::config::wrong_type",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nproperties = { maxPods = 100 }\n"
);
case!(
    groups_must_be_an_array,
    "fleet::config::wrong_type",
    "[its]\ncontext = \"its1\"\n\n[group.edge]\n\n[wec.cluster1]\ngroups = \"edge\"\n"
);
case!(
    register_must_be_a_boolean,
    "fleet::config::wrong_type",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nregister = \"yes\"\n"
);
case!(
    rbac_mode_must_be_known,
    "fleet::config::invalid_value",
    "[its]\ncontext = \"its1\"\n\n[wds]\ncontext = \"wds1\"\n\n[defaults]\nrbac = [\"aw\"]\n\n[rbac.aw]\nmode = \"downsyncc\"\n[[rbac.aw.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nresources = [\"appwrappers\"]\nverbs = [\"get\"]\n"
);
case!(
    hub_api_server_must_be_https,
    "fleet::config::invalid_format",
    "[its]\ncontext = \"its1\"\nhub_api_server = \"its1.example.com:6443\"\n"
);
case!(
    ocm_version_must_be_a_release_tag,
    "fleet::config::invalid_format",
    "[its]\ncontext = \"its1\"\nocm_version = \"1.0\"\n"
);
case!(
    image_registry_must_be_a_registry_path,
    "fleet::config::invalid_format",
    "[its]\ncontext = \"its1\"\nimage_registry = \"https://quay.io/open-cluster-management/\"\n"
);
case!(
    context_must_not_be_empty,
    "fleet::config::invalid_format",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\ncontext = \"\"\n"
);

// WEC names
case!(
    wec_name_uppercase_and_underscore,
    "fleet::config::invalid_name",
    "[its]\ncontext = \"its1\"\n\n[wec.Store_42]\n"
);
case!(
    wec_name_too_long,
    "fleet::config::invalid_name",
    "[its]\ncontext = \"its1\"\n\n[wec.store-in-the-very-long-named-city-of-llanfairpwllgwyngyll-number-one]\n"
);
case!(
    wec_name_ends_with_dash,
    "fleet::config::invalid_name",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster-]\n"
);

// labels
case!(
    label_key_prefix_not_a_subdomain,
    "fleet::config::invalid_label_key",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nlabels = { \"Example.com/tier\" = \"gold\" }\n"
);
case!(
    label_key_name_too_long,
    "fleet::config::invalid_label_key",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nlabels = { \"example.com/a-label-name-that-goes-on-and-on-and-on-well-past-sixty-three-characters\" = \"x\" }\n"
);
case!(
    label_key_with_space,
    "fleet::config::invalid_label_key",
    "[its]\ncontext = \"its1\"\n\n[group.edge]\nlabels = { \"location group\" = \"edge\" }\n"
);
case!(
    label_value_with_space,
    "fleet::config::invalid_label_value",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nlabels = { region = \"us east\" }\n"
);
case!(
    label_value_too_long,
    "fleet::config::invalid_label_value",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nlabels = { description = \"the-first-cluster-in-the-east-coast-datacenter-rack-4-row-2-aisle-7\" }\n"
);
case!(
    label_owned_by_ocm,
    "fleet::config::reserved_label",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nlabels = { \"cluster.open-cluster-management.io/clusterset\" = \"edge\" }\n"
);

// properties
case!(
    property_key_not_a_configmap_key,
    "fleet::config::invalid_property_key",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nproperties = { \"cluster/url\" = \"https://c1\" }\n"
);
case!(
    property_key_not_a_go_identifier,
    "fleet::config::property_not_identifier",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nproperties = { \"max-pods\" = \"100\" }\n"
);
case!(
    property_key_is_a_go_keyword,
    "fleet::config::property_not_identifier",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nproperties = { type = \"edge\" }\n"
);

// references
case!(
    undefined_group_did_you_mean,
    "fleet::config::undefined_group",
    "[its]\ncontext = \"its1\"\n\n[group.edge]\n\n[wec.cluster1]\ngroups = [\"egde\"]\n"
);
case!(
    undefined_group_without_groups,
    "fleet::config::undefined_group",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\ngroups = [\"edge\"]\n"
);
case!(
    undefined_rbac,
    "fleet::config::undefined_rbac",
    "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nrbac = [\"appwrapper\"]\n"
);
case!(
    downsync_without_wds,
    "fleet::config::downsync_without_wds",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nrbac = [\"aw\"]\n\n[rbac.aw]\nmode = \"downsync\"\n[[rbac.aw.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nresources = [\"appwrappers\"]\nverbs = [\"get\", \"list\", \"watch\"]\n"
);
case!(
    downsync_names_must_fit_kubestellar_labels,
    "fleet::config::invalid_namespace",
    "[its]\ncontext = \"its1\"\n[wds]\ncontext = \"wds1\"\n\n[defaults]\nrbac = [\"training-jobs-for-the-europe-west-region-gpu-pool-a-b\"]\n\n[rbac.training-jobs-for-the-europe-west-region-gpu-pool-a-b]\nmode = \"downsync\"\nnamespace = \"machine-learning-training-jobs-europe-west-gpu-pool-a-b\"\n[[rbac.training-jobs-for-the-europe-west-region-gpu-pool-a-b.rules]]\napi_groups = [\"batch\"]\nresources = [\"jobs\"]\nverbs = [\"create\"]\n"
);

// RBAC rules
case!(
    rule_without_verbs,
    "fleet::config::empty_rbac",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nresources = [\"appwrappers\"]\n"
    )
);
case!(
    rule_without_resources,
    "fleet::config::empty_rbac",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nverbs = [\"get\"]\n"
    )
);
case!(
    rule_without_api_groups,
    "fleet::config::empty_rbac",
    with_rbac!("[[rbac.work.rules]]\nresources = [\"appwrappers\"]\nverbs = [\"get\"]\n")
);
case!(
    rbac_without_rules,
    "fleet::config::empty_rbac",
    with_rbac!("")
);
case!(
    rbac_invalid_namespace,
    "fleet::config::invalid_namespace",
    with_rbac!(
        "namespace = \"Team_A\"\n[[rbac.work.rules]]\napi_groups = [\"\"]\nresources = [\"configmaps\"]\nverbs = [\"get\"]\n"
    )
);
case!(
    rbac_wildcard_verbs,
    "fleet::config::rbac_wildcard",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nresources = [\"appwrappers\"]\nverbs = [\"*\"]\n"
    )
);
case!(
    rbac_wildcard_resources_and_groups,
    "fleet::config::rbac_wildcard",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"*\"]\nresources = [\"*\"]\nverbs = [\"get\"]\n"
    )
);
case!(
    rbac_escalating_verbs,
    "fleet::config::rbac_escalation",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"rbac.authorization.k8s.io\"]\nresources = [\"clusterroles\"]\nverbs = [\"get\", \"bind\", \"escalate\"]\n"
    )
);
case!(
    rbac_impersonate,
    "fleet::config::rbac_escalation",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"\"]\nresources = [\"serviceaccounts\"]\nverbs = [\"impersonate\"]\nresource_names = [\"builder\"]\n"
    )
);
case!(
    rbac_cluster_scope_for_namespaced_resources,
    "fleet::config::rbac_cluster_scope",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"\"]\nresources = [\"configmaps\", \"secrets\"]\nverbs = [\"get\", \"list\"]\n"
    )
);
case!(
    rbac_unknown_verb,
    "fleet::config::rbac_unknown_verb",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nresources = [\"appwrappers\"]\nverbs = [\"get\", \"lsit\"]\n"
    )
);
case!(
    unused_rbac,
    "fleet::config::unused_rbac",
    "[its]\ncontext = \"its1\"\n\n[rbac.aw]\nmode = \"direct\"\n[[rbac.aw.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nresources = [\"appwrappers\"]\nverbs = [\"get\"]\n"
);

/// One file with many problems of different kinds: every one is reported, in file order.
#[test]
fn every_problem_in_a_file_is_reported_at_once() {
    let text = r#"[its]
contex = "its1"

[group.edge]
lables = { "location-group" = "edge" }

[rbac.gpu]
mode = "downsync"
[[rbac.gpu.rules]]
api_groups = ["*"]
resources = ["appwrappers"]
verbs = ["get", "escalate"]

[wec.Cluster_1]
groups = ["egde"]
labels = { "name" = "-bad" }
properties = { maxPods = 100, "max-pods" = "1" }
rbac = ["gpu", "missing"]
register = "yes"
"#;
    let err = load(text).expect_err("the file has errors");
    let found: Vec<&str> = err.problems().iter().map(|p| p.code().as_str()).collect();
    assert_eq!(
        found,
        [
            "fleet::config::unknown_key",
            "fleet::config::unknown_key",
            "fleet::config::downsync_without_wds",
            "fleet::config::rbac_wildcard",
            "fleet::config::rbac_escalation",
            "fleet::config::invalid_name",
            "fleet::config::undefined_group",
            "fleet::config::invalid_label_value",
            "fleet::config::wrong_type",
            "fleet::config::property_not_identifier",
            "fleet::config::undefined_rbac",
            "fleet::config::wrong_type",
        ]
    );
    insta::assert_snapshot!(diagnose(text));
}

/// Warnings alone leave the file usable.
#[test]
fn warnings_do_not_fail_loading() {
    let loaded = load(
        "[its]\ncontext = \"its1\"\n\n[wec.cluster1]\nproperties = { \"max-pods\" = \"100\" }\n",
    )
    .expect("warnings only");
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(&loaded.fleet.wecs["cluster1"].properties["max-pods"], "100");
}
