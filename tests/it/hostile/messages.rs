//! Messages found wanting by a hostile review, one snapshot each: reserved labels, wrong
//! shapes, duplicates, misplaced keys, RBAC rules that grant nothing or more than meant,
//! oversized properties and values.

use crate::common::{codes, diagnose, load};

const ITS: &str = "[its]\ncontext = \"its1\"\n\n";

fn is_error(text: &str) -> bool {
    load(text).is_err()
}

// 1. Reserved label prefixes
case!(
    label_owned_by_ocm_feature,
    "fleet::config::reserved_label",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nlabels = { \"feature.open-cluster-management.io/addon-x\" = \"available\" }\n"
);
case!(
    label_rbac_selector_is_fleets,
    "fleet::config::reserved_label",
    "[its]\ncontext = \"its1\"\n\n[wec.c1]\nlabels = { \"rbac.fleet.kubestellar.io/admin\" = \"true\" }\n\n[rbac.admin]\nmode = \"direct\"\n[[rbac.admin.rules]]\napi_groups = [\"\"]\nresources = [\"nodes\"]\nverbs = [\"get\"]\n"
);
case!(
    label_under_node_kubernetes_io,
    "fleet::config::kubernetes_label",
    "[its]\ncontext = \"its1\"\n\n[wec.c1]\nlabels = { \"node.kubernetes.io/instance-type\" = \"m5\", \"k8s.io/x\" = \"y\" }\n"
);

#[test]
fn reserved_prefixes_are_errors_and_kubernetes_ones_warnings() {
    let labels = |key: &str| format!("{ITS}[wec.c1]\nlabels = {{ {key:?} = \"x\" }}\n");
    for reserved in [
        "cluster.open-cluster-management.io/clusterset",
        "feature.open-cluster-management.io/addon-a",
        "rbac.fleet.kubestellar.io/gpu",
    ] {
        assert!(is_error(&labels(reserved)), "{reserved}");
    }
    for kubernetes in [
        "kubernetes.io/hostname",
        "node.kubernetes.io/x",
        "k8s.io/x",
        "a.b.k8s.io/x",
    ] {
        assert_eq!(
            codes(&labels(kubernetes)),
            ["fleet::config::kubernetes_label"],
            "{kubernetes}"
        );
    }
    // Users' own: the recommended app labels, and look-alike domains.
    for own in [
        "app.kubernetes.io/part-of",
        "notkubernetes.io/x",
        "example.com/kubernetes.io",
        "open-cluster-management.io/x",
    ] {
        assert!(codes(&labels(own)).is_empty(), "{own}");
    }
}

// 5. Huge values are not echoed whole
#[test]
fn a_one_megabyte_value_is_not_echoed() {
    let value = "v".repeat(1_000_000);
    let text = format!("{ITS}[wec.c1]\nlabels = {{ big = \"{value}\" }}\n");
    let report = diagnose(&text);
    assert!(report.len() < 10_000, "{} bytes", report.len());
    assert!(report.contains("(1000000"), "{report}");
    insta::assert_snapshot!(report);
}

#[test]
fn a_one_megabyte_key_is_not_echoed() {
    let key = "k".repeat(1_000_000);
    for text in [
        format!("{ITS}[wec.c1]\n{key} = 1\n"),
        format!("{ITS}[wec.{key}]\n"),
        format!("{ITS}[wec.c1]\ngroups = [\"{key}\"]\n[group.{key}x]\n"),
    ] {
        let report = diagnose(&text);
        assert!(report.len() < 10_000, "{} bytes", report.len());
    }
}

// 6. Messages
case!(
    wec_written_as_an_array_of_tables,
    "fleet::config::wrong_type",
    "[its]\ncontext = \"its1\"\n\n[[wec.a]]\ncontext = \"a\"\n"
);
case!(
    its_written_as_an_array_of_tables,
    "fleet::config::wrong_type",
    "[[its]]\ncontext = \"its1\"\n"
);
case!(
    a_datetime_is_named_a_datetime,
    "fleet::config::wrong_type",
    "[its]\ncontext = 1979-05-27T07:32:00Z\n"
);
case!(
    a_table_in_properties,
    "fleet::config::wrong_type",
    "[its]\ncontext = \"its1\"\n\n[wec.a]\nproperties = { x = { y = \"z\" } }\n"
);
case!(
    an_integer_in_groups,
    "fleet::config::wrong_type",
    "[its]\ncontext = \"its1\"\n\n[group.edge]\n\n[wec.a]\ngroups = [\"edge\", 7]\n"
);
case!(
    a_table_defined_twice_names_the_first,
    "fleet::config::syntax",
    "[its]\ncontext = \"its1\"\n\n[wec.a]\ncontext = \"a\"\n\n[wec.b]\n\n[wec.a]\nregister = false\n"
);
case!(
    a_dotted_key_table_redefined_names_the_first,
    "fleet::config::syntax",
    "[its]\ncontext = \"its1\"\n\n[wec.a]\nlabels.tier = \"gold\"\nlabels = { region = \"eu\" }\n"
);
case!(
    a_key_after_a_rule_belongs_to_the_expansion,
    "fleet::config::unknown_key",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nrbac = [\"r\"]\n\n[rbac.r]\n[[rbac.r.rules]]\napi_groups = [\"\"]\nresources = [\"configmaps\"]\nverbs = [\"get\"]\nmode = \"direct\"\n"
);
case!(
    a_key_after_join_belongs_to_the_wec,
    "fleet::config::unknown_key",
    "[its]\ncontext = \"its1\"\n\n[wec.a.join]\nsingleton = true\ncontext = \"a\"\n"
);
case!(
    empty_context_names_its_table,
    "fleet::config::invalid_format",
    "[its]\ncontext = \"\"\n\n[wds]\ncontext = \" \"\n"
);
case!(
    label_key_with_an_empty_prefix,
    "fleet::config::invalid_label_key",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nlabels = { \"/x\" = \"y\" }\n"
);
case!(
    label_key_prefix_with_a_bad_part,
    "fleet::config::invalid_label_key",
    "[its]\ncontext = \"its1\"\n\n[defaults]\nlabels = { \"a.-b.com/x\" = \"y\" }\n"
);
case!(
    empty_verbs_are_pointed_at,
    "fleet::config::empty_rbac",
    with_rbac!("[[rbac.work.rules]]\napi_groups = [\"\"]\nresources = [\"nodes\"]\nverbs = []\n")
);
case!(
    label_value_of_emoji,
    "fleet::config::invalid_label_value",
    "[its]\ncontext = \"its1\"\n\n[wec.a]\nlabels = { mood = \"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀\" }\n"
);

/// Hints that show TOML show valid TOML.
#[test]
fn written_fixes_are_valid_toml() {
    for text in [
        "[its]\ncontext = 1979-05-27T07:32:00Z\n",
        "[its]\ncontext = 42\n",
        "[its]\ncontext = 'its\"1'\nhub_api_server = 1.5\n",
        "[its]\ncontext = \"its1\"\n[wec.a]\nlabels = { \"a b\" = 1 }\n",
    ] {
        let err = load(text).unwrap_err();
        for problem in err.problems() {
            let help = problem.help_text().unwrap_or_default();
            if let Some(fix) = help.strip_prefix("write it as a string: ") {
                toml::from_str::<toml::Table>(fix)
                    .unwrap_or_else(|e| panic!("{fix:?} is not TOML: {e}"));
            }
        }
    }
}

/// Names in hints are never split across lines on an 80-column terminal: long hint and
/// message lines are broken at spaces before miette would break them at a hyphen.
#[test]
fn names_are_not_wrapped_inside() {
    let text = "[its]\ncontext = \"its1\"\n[group.location-group-east-coast-datacenters]\n[wec.a]\ngroups = [\"location-group-east-coast-datacenter\"]\nlabels = { \"feature.open-cluster-management.io/addon-application-manager\" = \"x\" }\n";
    let err = load(text).unwrap_err();
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(80)
        .render_report(&mut out, &err)
        .unwrap();
    for name in [
        "location-group-east-coast-datacenters",
        "`[group.location-group-east-coast-datacenter]`",
        "feature.open-cluster-management.io/addon-application-manager",
    ] {
        assert!(out.contains(name), "{name} is broken in:\n{out}");
    }
}

// 7. Missing checks
case!(
    resources_in_uppercase,
    "fleet::config::invalid_resource",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"workload.codeflare.dev\"]\nresources = [\"AppWrappers\", \"AppWrapper/status\"]\nverbs = [\"get\"]\n"
    )
);
case!(
    resources_that_look_singular,
    "fleet::config::rbac_singular_resource",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"workload.codeflare.dev\", \"networking.k8s.io\"]\nresources = [\"appwrapper\", \"ingress\", \"policy\"]\nverbs = [\"get\"]\n"
    )
);
case!(
    api_groups_that_are_not_groups,
    "fleet::config::invalid_api_group",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"apps/v1\", \"Not A Group!\", \"core\", \"Apps\"]\nresources = [\"deployments\"]\nverbs = [\"get\"]\n"
    )
);
case!(
    resource_names_with_verbs_they_cannot_restrict,
    "fleet::config::rbac_resource_names",
    with_rbac!(
        "[[rbac.work.rules]]\napi_groups = [\"\"]\nresources = [\"nodes\"]\nverbs = [\"get\", \"list\", \"watch\", \"create\"]\nresource_names = [\"node-1\"]\n"
    )
);
case!(
    hub_api_server_over_http,
    "fleet::config::invalid_format",
    "[its]\ncontext = \"its1\"\nhub_api_server = \"http://its1.example.com:6443\"\n"
);
#[test]
fn credentials_in_hub_api_server_are_not_shown() {
    let text =
        "[its]\ncontext = \"its1\"\nhub_api_server = \"https://admin:s3cret@its1.example.com\"\n";
    assert!(!diagnose(text).contains("s3cret"));
}

case!(
    hub_api_server_with_credentials_is_not_echoed,
    "fleet::config::invalid_format",
    "[its]\ncontext = \"its1\"\nhub_api_server = \"https://admin:s3cret@its1.example.com\"\n"
);

#[test]
fn rbac_resources_and_groups_that_are_fine() {
    let text = with_rbac!(
        "namespace = \"team-a\"\n[[rbac.work.rules]]\napi_groups = [\"\", \"apps\", \"workload.codeflare.dev\"]\nresources = [\"pods/log\", \"deployments/scale\", \"endpoints\", \"appwrappers/status\", \"*/scale\"]\nverbs = [\"get\", \"list\"]\n"
    );
    let found = codes(text);
    assert!(
        found
            .iter()
            .all(|c| !c.contains("resource") && !c.contains("api_group")),
        "{found:?}"
    );
}

#[test]
fn hub_api_server_must_be_an_https_url() {
    for bad in [
        "its1.example.com",
        "http://its1.example.com",
        "HTTPS://its1.example.com",
        "https://",
        "https:///path",
        "https://:6443",
        "https://its1.example.com:0",
        "https://its1.example.com:65536",
        "https://its1.example.com:port",
        "https://its 1.example.com",
        "https://its1..example.com",
        "https://user@its1.example.com",
        "https://its1.example.com/?x=1",
        "https://[zz::1]:6443",
        "ftp://its1.example.com",
    ] {
        let text = format!("{ITS}[its.x]\n").replace("[its.x]\n", "");
        let text = text.replace(
            "context = \"its1\"\n",
            &format!("context = \"its1\"\nhub_api_server = {bad:?}\n"),
        );
        assert_eq!(codes(&text), ["fleet::config::invalid_format"], "{bad}");
    }
    for good in [
        "https://its1.example.com",
        "https://its1.example.com:6443",
        "https://10.0.0.1:6443",
        "https://[::1]:6443",
        "https://rancher.example.com/k8s/clusters/c-1",
    ] {
        let text = format!("[its]\ncontext = \"its1\"\nhub_api_server = {good:?}\n");
        assert!(codes(&text).is_empty(), "{good}");
    }
}

#[test]
fn properties_over_a_configmap_are_an_error() {
    let big = "x".repeat(600 * 1024);
    // Each layer fits; together they do not.
    let text = format!(
        "{ITS}[defaults]\nproperties = {{ a = \"{big}\" }}\n\n[wec.c1]\nproperties = {{ b = \"{big}\" }}\n\n[wec.c2]\n"
    );
    let err = load(&text).unwrap_err();
    let problems: Vec<_> = err
        .problems()
        .iter()
        .map(|p| (p.code().as_str(), p.message().to_owned()))
        .collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "fleet::config::properties_too_large");
    assert!(problems[0].1.contains("`c1`"), "{problems:?}");
    insta::assert_snapshot!(diagnose(&text));
    // One layer alone over the limit is reported once, not once per WEC.
    let huge = "x".repeat(1024 * 1024);
    let text =
        format!("{ITS}[defaults]\nproperties = {{ a = \"{huge}\" }}\n\n[wec.c1]\n[wec.c2]\n");
    assert_eq!(codes(&text), ["fleet::config::properties_too_large"]);
    // Exactly 1 MiB of keys and values fits.
    let fits = "x".repeat(1024 * 1024 - 1);
    let text = format!("{ITS}[wec.c1]\nproperties = {{ a = \"{fits}\" }}\n");
    assert!(load(&text).is_ok());
}

// 3. kubeconfig: named, never read or echoed by validation
case!(
    kubeconfig_content_pasted_as_a_path,
    "fleet::config::invalid_format",
    "[its]\ncontext = \"its1\"\nkubeconfig = \"\"\"\napiVersion: v1\nusers:\n- user:\n    token: eyJhbGciOiJSUzI1NiJ9.SECRET\n\"\"\"\n"
);

#[test]
fn a_kubeconfig_value_is_never_echoed() {
    let token = "eyJhbGciOiJSUzI1NiJ9.SECRET-TOKEN";
    for value in [
        format!("\"\"\"\napiVersion: v1\ntoken: {token}\n\"\"\""),
        format!("\"{token}\\u0000\""),
        format!("\"{}{token}\"", "a".repeat(5000)),
    ] {
        let text = format!("[its]\ncontext = \"its1\"\nkubeconfig = {value}\n");
        let err = load(&text).unwrap_err();
        for problem in err.problems() {
            let said = format!(
                "{} {:?} {:?}",
                problem.message(),
                problem.help_text(),
                problem
                    .spans()
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
            );
            assert!(!said.contains("SECRET"), "{said}");
        }
        assert!(!crate::common::render(&err).contains("SECRET"));
    }
}
