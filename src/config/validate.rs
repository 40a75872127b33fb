//! Semantic checks of a decoded [`RawFleet`]: names, labels, properties, references, and
//! RBAC least privilege. Every check runs; each finding becomes a [`Problem`].

use std::collections::BTreeSet;

use toml::Spanned;

use super::diagnostic::{Code, Problem};
use super::names;
use super::raw::{RawFleet, RawProfile, RawRbac, RawRbacMode, RawRule, SpannedList, SpannedMap};
use crate::model::text::closest;

/// Verbs the Kubernetes API server knows.
const KNOWN_VERBS: [&str; 12] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "use",
    "escalate",
    "bind",
    "impersonate",
];

/// Verbs that let the holder grant itself more than the rule says.
const ESCALATING_VERBS: [&str; 3] = ["escalate", "bind", "impersonate"];

/// Built-in resources that only exist inside a namespace: a rule naming only these does not
/// need a ClusterRole.
const NAMESPACED_RESOURCES: [&str; 24] = [
    "configmaps",
    "secrets",
    "pods",
    "services",
    "serviceaccounts",
    "endpoints",
    "events",
    "persistentvolumeclaims",
    "limitranges",
    "resourcequotas",
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "ingresses",
    "networkpolicies",
    "roles",
    "rolebindings",
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
    "leases",
    "endpointslices",
];

pub(crate) fn validate(raw: &RawFleet, dropped: &BTreeSet<String>) -> Vec<Problem> {
    let mut v = Validator {
        raw,
        dropped,
        problems: Vec::new(),
    };
    v.its();
    v.wds();
    v.profiles();
    v.wecs();
    v.rbac();
    v.problems
}

struct Validator<'a> {
    raw: &'a RawFleet,
    dropped: &'a BTreeSet<String>,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn its(&mut self) {
        let Some(its) = &self.raw.its else {
            if !self.dropped.contains("its") {
                self.push(
                    Problem::new(Code::MissingKey, "the `[its]` table is missing")
                        .label(0..0, "fleet.toml starts here")
                        .help(
                            "every fleet.toml names its ITS (the OCM hub), e.g.\n\n    [its]\n    context = \"its1\"",
                        ),
                );
            }
            return;
        };
        match &its.get_ref().context {
            Some(context) => self.non_empty(context, "context"),
            None if !self.dropped.contains("its.context") => self.push(
                Problem::new(Code::MissingKey, "`[its]` has no `context`")
                    .label(its.span(), "needs a `context` key")
                    .help("add the kubeconfig context of the ITS, e.g. context = \"its1\""),
            ),
            None => {}
        }
        if let Some(path) = &its.get_ref().kubeconfig {
            self.non_empty(path, "kubeconfig");
        }
        if let Some(url) = &its.get_ref().hub_api_server {
            let rest = url.get_ref().strip_prefix("https://").unwrap_or_default();
            if rest.is_empty() || rest.contains(char::is_whitespace) {
                self.push(
                    Problem::new(
                        Code::InvalidValueFormat,
                        format!("`hub_api_server` is not an https URL: {:?}", url.get_ref()),
                    )
                    .label(url.span(), "expected https://HOST[:PORT]")
                    .help("WECs reach the hub over TLS, e.g. hub_api_server = \"https://its1.example.com:6443\"; leave it out to use the context's server"),
                );
            }
        }
        if let Some(v) = &its.get_ref().ocm_version {
            let digits = v.get_ref().strip_prefix('v').unwrap_or_default();
            let parts: Vec<&str> = digits.split('.').collect();
            let semver = parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
            if !semver {
                self.push(
                    Problem::new(
                        Code::InvalidValueFormat,
                        format!("`ocm_version` is not an OCM release tag: {:?}", v.get_ref()),
                    )
                    .label(v.span(), "expected vMAJOR.MINOR.PATCH")
                    .help("the tag of the OCM images, e.g. ocm_version = \"v1.0.0\" (what KubeStellar 0.30 uses)"),
                );
            }
        }
        if let Some(r) = &its.get_ref().image_registry {
            let text = r.get_ref();
            if text.is_empty()
                || text.contains("://")
                || text.ends_with('/')
                || text.contains(char::is_whitespace)
            {
                self.push(
                    Problem::new(
                        Code::InvalidValueFormat,
                        format!("`image_registry` is not an image registry path: {text:?}"),
                    )
                    .label(r.span(), "expected HOST[:PORT]/PATH, no scheme, no trailing /")
                    .help("e.g. image_registry = \"quay.io/open-cluster-management\" or a mirror such as \"registry.example.com/ocm\""),
                );
            }
        }
    }

    fn wds(&mut self) {
        let Some(wds) = &self.raw.wds else { return };
        match &wds.get_ref().context {
            Some(context) => self.non_empty(context, "context"),
            None if !self.dropped.contains("wds.context") => self.push(
                Problem::new(Code::MissingKey, "`[wds]` has no `context`")
                    .label(wds.span(), "needs a `context` key")
                    .help("add the kubeconfig context of the WDS, e.g. context = \"wds1\""),
            ),
            None => {}
        }
        if let Some(path) = &wds.get_ref().kubeconfig {
            self.non_empty(path, "kubeconfig");
        }
    }

    fn non_empty(&mut self, value: &Spanned<String>, key: &str) {
        if value.get_ref().trim().is_empty() {
            self.push(
                Problem::new(Code::InvalidValueFormat, format!("`{key}` is empty"))
                    .label(value.span(), "empty")
                    .help(format!("give `{key}` a value or remove the key")),
            );
        }
    }

    fn profiles(&mut self) {
        let raw = self.raw;
        if let Some(defaults) = &raw.defaults {
            self.profile(defaults);
        }
        for group in raw.group.values() {
            self.profile(group);
        }
    }

    fn profile(&mut self, profile: &RawProfile) {
        if let Some(labels) = &profile.labels {
            self.labels(labels);
        }
        if let Some(properties) = &profile.properties {
            self.properties(properties);
        }
        if let Some(rbac) = &profile.rbac {
            self.rbac_refs(rbac);
        }
    }

    fn wecs(&mut self) {
        let raw = self.raw;
        for (name, wec) in &raw.wec {
            if let Err(why) = names::check_dns1123_label(name.get_ref()) {
                let mut help = "a WEC name becomes its ManagedCluster name: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit".to_owned();
                if let Some(fixed) = names::suggest_dns1123_label(name.get_ref()) {
                    help = format!("{help}; for example `[wec.{fixed}]`");
                }
                self.push(
                    Problem::new(
                        Code::InvalidName,
                        format!("WEC name `{}` is not a DNS-1123 label", name.get_ref()),
                    )
                    .label(name.span(), why)
                    .help(help),
                );
            }
            if let Some(context) = &wec.context {
                self.non_empty(context, "context");
            }
            if let Some(path) = &wec.kubeconfig {
                self.non_empty(path, "kubeconfig");
            }
            for group in &wec.groups {
                if !raw.group.contains_key(group.get_ref().as_str()) {
                    let defined: Vec<&str> =
                        raw.group.keys().map(|k| k.get_ref().as_str()).collect();
                    self.push(undefined(Code::UndefinedGroup, "group", group, &defined));
                }
            }
            if let Some(labels) = &wec.labels {
                self.labels(labels);
            }
            if let Some(properties) = &wec.properties {
                self.properties(properties);
            }
            if let Some(rbac) = &wec.rbac {
                self.rbac_refs(rbac);
            }
        }
    }

    fn labels(&mut self, labels: &SpannedMap) {
        for (key, value) in labels {
            if let Err(why) = names::check_label_key(key.get_ref()) {
                self.push(
                    Problem::new(
                        Code::InvalidLabelKey,
                        format!("invalid label key {:?}", key.get_ref()),
                    )
                    .label(key.span(), why)
                    .help("a label key is an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (e.g. `location-group`, `example.com/tier`)"),
                );
            } else if let Some(prefix) = crate::model::vocab::ocm::LABEL_PREFIXES
                .iter()
                .find(|p| key.get_ref().starts_with(**p))
            {
                self.push(
                    Problem::new(
                        Code::ReservedLabel,
                        format!("label {:?} is managed by OCM", key.get_ref()),
                    )
                    .label(key.span(), format!("OCM owns `{prefix}*` labels"))
                    .help("fleet leaves OCM's own labels alone, so this one is never applied; remove it"),
                );
            }
            if let Err(why) = names::check_label_value(value.get_ref()) {
                self.push(
                    Problem::new(
                        Code::InvalidLabelValue,
                        format!(
                            "invalid value {:?} for label {:?}",
                            value.get_ref(),
                            key.get_ref()
                        ),
                    )
                    .label(value.span(), why)
                    .help("a label value is empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; put free text in `properties` instead"),
                );
            }
        }
    }

    fn properties(&mut self, properties: &SpannedMap) {
        for key in properties.keys() {
            let name = key.get_ref();
            if let Err(why) = names::check_configmap_key(name) {
                self.push(
                    Problem::new(
                        Code::InvalidPropertyKey,
                        format!("property key {name:?} is not a valid ConfigMap key"),
                    )
                    .label(key.span(), why)
                    .help("properties are stored in the ConfigMap `customization-properties/<wec>` of the ITS; use a Go identifier such as `clusterURL` or `max_pods`"),
                );
            } else if !names::is_go_identifier(name) {
                let why = if names::is_go_keyword(name) {
                    "a Go keyword"
                } else {
                    "not a Go identifier"
                };
                let mut help = format!(
                    "KubeStellar passes only Go identifiers to `{{{{ .{name} }}}}` templates and silently drops other keys"
                );
                if let Some(better) = names::suggest_go_identifier(name) {
                    help = format!("{help}; rename it, e.g. to `{better}`");
                }
                self.push(
                    Problem::new(
                        Code::PropertyNotIdentifier,
                        format!("property {name:?} cannot be used in KubeStellar templates"),
                    )
                    .label(key.span(), why)
                    .help(help),
                );
            }
        }
    }

    fn rbac_refs(&mut self, refs: &SpannedList) {
        let raw = self.raw;
        for name in refs {
            if !raw.rbac.contains_key(name.get_ref().as_str()) {
                let defined: Vec<&str> = raw.rbac.keys().map(|k| k.get_ref().as_str()).collect();
                self.push(undefined(Code::UndefinedRbac, "rbac", name, &defined));
            }
        }
    }

    fn rbac(&mut self) {
        let raw = self.raw;
        let used: BTreeSet<&str> = raw
            .defaults
            .iter()
            .chain(raw.group.values())
            .filter_map(|p| p.rbac.as_ref())
            .chain(raw.wec.values().filter_map(|w| w.rbac.as_ref()))
            .flatten()
            .map(|n| n.get_ref().as_str())
            .collect();
        for (name, rbac) in &raw.rbac {
            self.expansion(name, rbac);
            if !used.contains(name.get_ref().as_str()) {
                self.push(
                    Problem::new(
                        Code::UnusedRbac,
                        format!("RBAC expansion `{}` is not used by any WEC", name.get_ref()),
                    )
                    .label(name.span(), "defined here, never referenced")
                    .help(format!(
                        "add rbac = [\"{}\"] to `[defaults]`, a group or a WEC, or remove it",
                        name.get_ref()
                    )),
                );
            }
        }
    }

    fn expansion(&mut self, name: &Spanned<String>, rbac: &RawRbac) {
        let label = name.get_ref();
        if let Err(why) = names::check_dns1123_label(label) {
            self.push(
                Problem::new(
                    Code::InvalidName,
                    format!("RBAC expansion name `{label}` is not a DNS-1123 label"),
                )
                .label(name.span(), why)
                .help("it becomes part of the Role and BindingPolicy names: use lowercase letters, digits and '-'"),
            );
        }
        match &rbac.mode {
            None if !self.dropped.contains(&format!("rbac.{label}.mode")) => self.push(
                Problem::new(Code::MissingKey, format!("`[rbac.{label}]` has no `mode`"))
                    .label(name.span(), "needs a `mode` key")
                    .help("add mode = \"downsync\" (objects and a BindingPolicy in the WDS; recommended) or mode = \"direct\" (applied on each WEC)"),
            ),
            Some(mode) if *mode.get_ref() == RawRbacMode::Downsync && self.raw.wds.is_none() => {
                self.push(
                    Problem::new(
                        Code::DownsyncWithoutWds,
                        format!("`[rbac.{label}]` is downsynced, but there is no `[wds]`"),
                    )
                    .label(mode.span(), "needs a WDS to hold the objects and BindingPolicy")
                    .help("add a [wds] table with the WDS context (e.g. context = \"wds1\"), or use mode = \"direct\" to apply the RBAC on each WEC"),
                );
            }
            _ => {}
        }
        if let Some(ns) = &rbac.namespace
            && let Err(why) = names::check_dns1123_label(ns.get_ref())
        {
            self.push(
                Problem::new(
                    Code::InvalidNamespace,
                    format!("invalid namespace {:?}", ns.get_ref()),
                )
                .label(ns.span(), why)
                .help("a namespace name is a DNS-1123 label: at most 63 lowercase letters, digits and '-'; leave `namespace` out for a cluster-wide ClusterRole"),
            );
        }
        if rbac.rules.is_empty() {
            self.push(
                Problem::new(Code::EmptyRbac, format!("`[rbac.{label}]` has no rules"))
                    .label(name.span(), "grants nothing")
                    .help(format!(
                        "add at least one rule:\n\n    [[rbac.{label}.rules]]\n    api_groups = [\"\"]\n    resources = [\"configmaps\"]\n    verbs = [\"get\", \"list\", \"watch\"]"
                    )),
            );
        }
        for rule in &rbac.rules {
            self.rule(rule);
        }
        let namespaced_only = rbac.rules.iter().all(|r| {
            r.get_ref().resources.iter().all(|res| {
                let base = res.get_ref().split('/').next().unwrap_or_default();
                NAMESPACED_RESOURCES.contains(&base)
            }) && !r.get_ref().resources.is_empty()
        });
        if rbac.namespace.is_none() && !rbac.rules.is_empty() && namespaced_only {
            self.push(
                Problem::new(
                    Code::RbacClusterScope,
                    format!("`[rbac.{label}]` grants namespaced resources in every namespace"),
                )
                .label(name.span(), "becomes a ClusterRole and ClusterRoleBinding")
                .help("all its resources live in namespaces: set namespace = \"<namespace>\" to grant them with a Role and RoleBinding in that namespace only"),
            );
        }
    }

    fn rule(&mut self, rule: &Spanned<RawRule>) {
        let span = rule.span();
        let r = rule.get_ref();
        for (list, key) in [(&r.verbs, "verbs"), (&r.resources, "resources")] {
            if list.is_empty() {
                self.push(
                    Problem::new(Code::EmptyRbac, format!("RBAC rule has no `{key}`"))
                        .label(span.clone(), format!("this rule needs `{key}`"))
                        .help(if key == "verbs" {
                            "list what the work agent may do, e.g. verbs = [\"get\", \"list\", \"watch\", \"create\", \"update\", \"patch\", \"delete\"]"
                        } else {
                            "list the resources (plural, lowercase), e.g. resources = [\"appwrappers\"]"
                        }),
                );
            }
        }
        if r.api_groups.is_empty() && !r.resources.is_empty() {
            self.push(
                Problem::new(Code::EmptyRbac, "RBAC rule has no `api_groups`")
                    .label(span, "matches no API group, so it grants nothing")
                    .help("name the group of the resources, e.g. api_groups = [\"workload.codeflare.dev\"]; the core group (configmaps, secrets, ...) is api_groups = [\"\"]"),
            );
        }
        for (list, key, what) in [
            (&r.verbs, "verbs", "verbs"),
            (&r.resources, "resources", "resources"),
            (&r.api_groups, "api_groups", "API groups"),
        ] {
            for item in list.iter().filter(|i| i.get_ref() == "*") {
                self.push(
                    Problem::new(Code::RbacWildcard, format!("`*` in `{key}` grants all {what}"))
                        .label(item.span(), "wildcard")
                        .help(format!(
                            "least privilege: list only the {what} the workloads need; `*` also grants any added later"
                        )),
                );
            }
        }
        for verb in &r.verbs {
            let v = verb.get_ref().as_str();
            if ESCALATING_VERBS.contains(&v) {
                self.push(
                    Problem::new(
                        Code::RbacEscalation,
                        format!("verb `{v}` lets the work agent escalate its privileges"),
                    )
                    .label(verb.span(), "privilege escalation")
                    .help("least privilege: `escalate`, `bind` and `impersonate` grant more than the rule names; remove it unless the workloads manage RBAC themselves"),
                );
            } else if v != "*" && !KNOWN_VERBS.contains(&v) {
                let mut problem = Problem::new(
                    Code::RbacUnknownVerb,
                    format!("`{v}` is not a Kubernetes verb"),
                );
                problem = match closest(v, KNOWN_VERBS) {
                    Some(best) => problem
                        .label(verb.span(), format!("did you mean `{best}`?"))
                        .help(format!("replace it with \"{best}\"")),
                    None => problem
                        .label(verb.span(), "unknown verb")
                        .help(format!("Kubernetes verbs: {}", KNOWN_VERBS.join(", "))),
                };
                self.push(problem);
            }
        }
    }
}

fn undefined(code: Code, kind: &str, name: &Spanned<String>, defined: &[&str]) -> Problem {
    let n = name.get_ref();
    let problem = Problem::new(code, format!("{kind} `{n}` is not defined"));
    match closest(n, defined.iter().copied()) {
        Some(best) => problem
            .label(name.span(), format!("did you mean `{best}`?"))
            .help(format!("use \"{best}\", or define a [{kind}.{n}] table")),
        None if defined.is_empty() => problem
            .label(name.span(), format!("no [{kind}.*] table in this file"))
            .help(format!("define it as a [{kind}.{n}] table")),
        None => problem.label(name.span(), "not defined").help(format!(
            "define a [{kind}.{n}] table; defined: {}",
            defined
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
