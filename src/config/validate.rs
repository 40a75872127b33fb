//! Semantic checks of a decoded [`RawFleet`]: names, labels, properties, references, and
//! RBAC least privilege. Every check runs; each finding becomes a [`Problem`].

use std::collections::BTreeSet;

use toml::Spanned;

use super::decode::dotted;
use super::diagnostic::{Code, Problem, quoted, ticked, toml_string};
use super::names;
use super::raw::{
    RawFleet, RawProfile, RawRbac, RawRbacMode, RawRule, RawWec, SpannedList, SpannedListField,
    SpannedMap, items,
};
use crate::model::ExpansionName;
use crate::model::text::closest;
use crate::model::vocab::{RBAC_SELECTOR_PREFIX, binding_policy_name, namespace_policy_name, ocm};

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

/// Most names listed in a hint ("defined: …"); the rest are counted.
const LIST_MAX: usize = 10;

/// The longest label value Kubernetes accepts.
const LABEL_VALUE_MAX: usize = 63;

/// Fewer WECs than this are not worth a thread of their own.
const PARALLEL_WECS_MIN: usize = 1024;

/// Words longer than this get no "did you mean" (no name is that long; comparing costs).
const SUGGEST_MAX: usize = 256;

/// What a ConfigMap holds at most: the sum of its keys' and values' lengths (Kubernetes'
/// `MaxSecretSize`, which ConfigMaps share), 1 MiB.
pub(crate) const CONFIGMAP_MAX: usize = 1024 * 1024;

pub(crate) fn validate(raw: &RawFleet, dropped: &BTreeSet<String>, text: &str) -> Vec<Problem> {
    let mut v = Validator {
        raw,
        text,
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
    text: &'a str,
    dropped: &'a BTreeSet<String>,
    problems: Vec<Problem>,
}

/// `` `[wec.cluster1]` ``, for messages; long names are cut.
fn section(path: &[&str]) -> String {
    let path: Vec<String> = path.iter().map(|p| (*p).to_owned()).collect();
    ticked(&format!("[{}]", dotted(&path)))
}

/// The content of the string literal at `span`, without its quotes.
fn inside_quotes(text: &str, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let literal = text.get(span.clone()).unwrap_or_default();
    let quotes = if literal.starts_with("\"\"\"") || literal.starts_with("'''") {
        3
    } else if literal.starts_with(['"', '\'']) {
        1
    } else {
        0
    };
    if span.len() < 2 * quotes {
        return span;
    }
    span.start + quotes..span.end - quotes
}

/// `` `a`, `b` and 3 more ``.
fn listed<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let mut out = names
        .iter()
        .take(LIST_MAX)
        .map(|n| ticked(n))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LIST_MAX {
        out.push_str(&format!(" and {} more", names.len() - LIST_MAX));
    }
    out
}

fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if word.len() > SUGGEST_MAX {
        return None;
    }
    closest(word, candidates)
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
        let table = "`[its]`";
        let i = its.get_ref();
        self.access(
            "its",
            its.span(),
            [&i.context, &i.control_plane, &i.hosting_context],
        );
        if let Some(path) = &its.get_ref().kubeconfig {
            self.kubeconfig(path, table);
        }
        if let Some(url) = &its.get_ref().hub_api_server
            && let Err((why, fix)) = check_https_url(url.get_ref())
        {
            // A URL with credentials in it is not repeated, nor shown in the snippet.
            let secret = url.get_ref().contains('@');
            let shown = if secret {
                String::new()
            } else {
                format!(": {}", quoted(url.get_ref()))
            };
            let help = match fix {
                Some(fix) => format!(
                    "WECs reach the hub over TLS: write hub_api_server = {}, or leave it out to use the context's server",
                    toml_string(&fix)
                ),
                None => "WECs reach the hub over TLS at an https URL, e.g. hub_api_server = \"https://its1.example.com:6443\"; leave it out to use the context's server".to_owned(),
            };
            let mut problem = Problem::new(
                Code::InvalidValueFormat,
                format!("`hub_api_server` is not an https URL{shown}"),
            )
            .label(url.span(), why)
            .help(help);
            if secret {
                problem = problem.redact(inside_quotes(self.text, url.span()));
            }
            self.push(problem);
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
                        format!("`ocm_version` is not an OCM release tag: {}", quoted(v.get_ref())),
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
                        format!("`image_registry` is not an image registry path: {}", quoted(text)),
                    )
                    .label(r.span(), "expected HOST[:PORT]/PATH, no scheme, no trailing /")
                    .help("e.g. image_registry = \"quay.io/open-cluster-management\" or a mirror such as \"registry.example.com/ocm\""),
                );
            }
        }
    }

    fn wds(&mut self) {
        let Some(wds) = &self.raw.wds else { return };
        let table = "`[wds]`";
        let w = wds.get_ref();
        self.access(
            "wds",
            wds.span(),
            [&w.context, &w.control_plane, &w.hosting_context],
        );
        if let Some(path) = &wds.get_ref().kubeconfig {
            self.kubeconfig(path, table);
        }
    }

    /// How `[its]` or `[wds]` is reached: a `context`, or a KubeFlex `control_plane` with its
    /// `hosting_context` — one or the other.
    fn access(
        &mut self,
        name: &str,
        span: std::ops::Range<usize>,
        [context, control_plane, hosting]: [&Option<Spanned<String>>; 3],
    ) {
        let table = format!("`[{name}]`");
        let example = format!("{name}1");
        for (value, key) in [
            (context, "context"),
            (control_plane, "control_plane"),
            (hosting, "hosting_context"),
        ] {
            if let Some(v) = value {
                self.non_empty(v, key, &table);
            }
        }
        match (context, control_plane, hosting) {
            (Some(_), Some(cp), _) => self.push(
                Problem::new(
                    Code::ConflictingKeys,
                    format!("{table} has both `context` and `control_plane`"),
                )
                .label(cp.span(), "a second way to reach the same control plane")
                .help(format!(
                    "keep one: context = \"{example}\" (a kubeconfig context), or control_plane = \"{example}\" with hosting_context (a KubeFlex ControlPlane)"
                )),
            ),
            (None, Some(cp), None) => self.push(
                Problem::new(
                    Code::ConflictingKeys,
                    format!("{table} names a `control_plane` but no `hosting_context`"),
                )
                .label(cp.span(), "found on which cluster?")
                .help("add the kubeconfig context of the cluster hosting the KubeFlex ControlPlane, e.g. hosting_context = \"kind-kubeflex\""),
            ),
            (Some(_), None, Some(h)) | (None, None, Some(h)) => self.push(
                Problem::new(
                    Code::ConflictingKeys,
                    format!("`hosting_context` in {table} goes with `control_plane`"),
                )
                .label(h.span(), "no control_plane to find there")
                .help(format!(
                    "name the KubeFlex ControlPlane, e.g. control_plane = \"{example}\", or remove hosting_context"
                )),
            ),
            (None, None, None) if !self.dropped.contains(&format!("{name}.context")) => self.push(
                Problem::new(Code::MissingKey, format!("{table} has no `context`"))
                    .label(span, "needs a `context` key")
                    .help(format!(
                        "add the kubeconfig context of the {}, e.g. context = \"{example}\", or name its KubeFlex control_plane and hosting_context",
                        name.to_uppercase()
                    )),
            ),
            _ => {}
        }
    }

    /// `key` in `table` (`` `[wec.c1]` ``) must not be empty.
    fn non_empty(&mut self, value: &Spanned<String>, key: &str, table: &str) -> bool {
        if !value.get_ref().trim().is_empty() {
            return true;
        }
        self.push(
            Problem::new(
                Code::InvalidValueFormat,
                format!("`{key}` in {table} is empty"),
            )
            .label(value.span(), "empty")
            .help(format!("give `{key}` a value or remove the key")),
        );
        false
    }

    /// A kubeconfig path: not empty, and a path rather than a file's content. The value is
    /// never repeated: a token or kubeconfig pasted here must not be echoed.
    fn kubeconfig(&mut self, path: &Spanned<String>, table: &str) {
        if !self.non_empty(path, "kubeconfig", table) {
            return;
        }
        let text = path.get_ref();
        let why = if text.contains(['\n', '\r']) {
            Some("has a line break")
        } else if text.contains('\0') {
            Some("has a NUL character")
        } else if text.len() > 4096 {
            Some("is longer than any path (4096 bytes)")
        } else {
            None
        };
        if let Some(why) = why {
            self.push(
                Problem::new(
                    Code::InvalidValueFormat,
                    format!("`kubeconfig` in {table} is not a file path: it {why}"),
                )
                .label(path.span(), "not a path")
                .redact(inside_quotes(self.text, path.span()))
                .help("`kubeconfig` names a kubeconfig file (relative to this file), e.g. kubeconfig = \"kubeconfigs/its1.yaml\"; never put a kubeconfig's or token's content in fleet.toml"),
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
        self.layer(
            profile.labels.as_ref(),
            profile.properties.as_ref(),
            profile.rbac.as_ref(),
        );
    }

    /// What `[defaults]`, a group and a WEC all set: labels, properties, RBAC references.
    fn layer(
        &mut self,
        labels: Option<&SpannedMap>,
        properties: Option<&SpannedMap>,
        rbac: Option<&SpannedList>,
    ) {
        if let Some(labels) = labels {
            self.labels(labels);
        }
        if let Some(properties) = properties {
            self.properties(properties);
        }
        if let Some(rbac) = rbac {
            self.rbac_refs(rbac);
        }
    }

    /// Each WEC on its own; a large fleet's WECs are checked on every core.
    fn wecs(&mut self) {
        let raw = self.raw;
        let groups: Vec<&str> = raw.group.keys().map(|k| k.get_ref().as_str()).collect();
        let wecs: Vec<(&Spanned<String>, &RawWec)> = raw.wec.iter().collect();
        let per_thread = wecs
            .len()
            .div_ceil(super::threads_for(wecs.len(), PARALLEL_WECS_MIN))
            .max(1);
        let (text, dropped) = (self.text, self.dropped);
        let found = super::on_own_threads(wecs.chunks(per_thread), |chunk| {
            let mut v = Validator {
                raw,
                text,
                dropped,
                problems: Vec::new(),
            };
            for (name, wec) in chunk {
                v.wec(name, wec, &groups);
            }
            v.problems
        });
        self.problems.extend(found.into_iter().flatten());
        self.properties_size();
    }

    /// One WEC's name, access, groups, labels, properties and RBAC references.
    fn wec(&mut self, name: &Spanned<String>, wec: &RawWec, groups: &[&str]) {
        let raw = self.raw;
        if let Err(why) = names::check_dns1123_label(name.get_ref()) {
            let mut help = "a WEC name becomes its ManagedCluster name: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit".to_owned();
            if let Some(fixed) = names::suggest_dns1123_label(name.get_ref()) {
                help = format!("{help}; for example `[wec.{fixed}]`");
            }
            self.push(
                Problem::new(
                    Code::InvalidName,
                    format!(
                        "WEC name {} is not a DNS-1123 label",
                        ticked(name.get_ref())
                    ),
                )
                .label(name.span(), why)
                .help(help),
            );
        }
        let table = || section(&["wec", name.get_ref()]);
        if let Some(context) = &wec.context {
            self.non_empty(context, "context", &table());
        }
        if let Some(path) = &wec.kubeconfig {
            self.kubeconfig(path, &table());
        }
        for group in &wec.groups {
            if !raw.group.contains_key(group.get_ref().as_str()) {
                self.push(undefined(Code::UndefinedGroup, "group", group, groups));
            }
        }
        self.layer(
            wec.labels.as_ref(),
            wec.properties.as_ref(),
            wec.rbac.as_ref(),
        );
    }

    /// A WEC's properties (defaults, then its groups, then its own) go to one ConfigMap,
    /// which holds at most 1 MiB. A layer too big on its own is reported once, at the layer;
    /// a WEC only when its layers add up to too much.
    fn properties_size(&mut self) {
        let raw = self.raw;
        let size = |map: &SpannedMap| -> usize {
            map.iter()
                .map(|(k, v)| k.get_ref().len() + v.get_ref().len())
                .sum()
        };
        let layers = raw
            .defaults
            .iter()
            .chain(raw.group.values())
            .filter_map(|p| p.properties.as_ref())
            .chain(raw.wec.values().filter_map(|w| w.properties.as_ref()));
        let mut too_big_alone = false;
        for map in layers {
            let total = size(map);
            if total > CONFIGMAP_MAX {
                too_big_alone = true;
                let (largest, _) = map
                    .iter()
                    .max_by_key(|(k, v)| k.get_ref().len() + v.get_ref().len())
                    .expect("a map over 1 MiB is not empty");
                self.push(too_large(total, None, largest.span()));
            }
        }
        if too_big_alone {
            return;
        }
        for (name, wec) in &raw.wec {
            let groups = wec
                .groups
                .iter()
                .filter_map(|g| raw.group.get(g.get_ref().as_str()));
            let layers = || {
                raw.defaults
                    .iter()
                    .chain(groups.clone())
                    .filter_map(|p| p.properties.as_ref())
                    .chain(wec.properties.as_ref())
            };
            // The layers' sizes added up bound the merged size: only a WEC near the limit is
            // merged to be measured.
            if layers().map(size).sum::<usize>() <= CONFIGMAP_MAX {
                continue;
            }
            let mut merged: std::collections::BTreeMap<&str, usize> = Default::default();
            for map in layers() {
                for (k, v) in map {
                    merged.insert(k.get_ref(), k.get_ref().len() + v.get_ref().len());
                }
            }
            let total: usize = merged.values().sum();
            if total > CONFIGMAP_MAX {
                self.push(too_large(total, Some(name.get_ref()), name.span()));
            }
        }
    }

    fn labels(&mut self, labels: &SpannedMap) {
        for (key, value) in labels {
            let k = key.get_ref();
            if let Err(why) = names::check_label_key(k) {
                self.push(
                    Problem::new(
                        Code::InvalidLabelKey,
                        format!("invalid label key {}", quoted(k)),
                    )
                    .label(key.span(), why)
                    .help("a label key is an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (e.g. `location-group`, `example.com/tier`)"),
                );
            } else if let Some(problem) = reserved_label(self.raw, key) {
                self.push(problem);
            }
            if let Err(why) = names::check_label_value(value.get_ref()) {
                self.push(
                    Problem::new(
                        Code::InvalidLabelValue,
                        format!(
                            "invalid value {} for label {}",
                            quoted(value.get_ref()),
                            quoted(k)
                        ),
                    )
                    .label(value.span(), why)
                    .help("a label value is empty or at most 63 ASCII letters, digits, '-', '_' or '.', starting and ending with a letter or digit; put free text in `properties` instead"),
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
                        format!("property key {} is not a valid ConfigMap key", quoted(name)),
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
                    "KubeStellar passes only Go identifiers to `{{{{ .NAME }}}}` templates and silently drops other keys such as {}",
                    ticked(name)
                );
                if let Some(better) = names::suggest_go_identifier(name) {
                    help = format!("{help}; rename it, e.g. to {}", ticked(&better));
                }
                self.push(
                    Problem::new(
                        Code::PropertyNotIdentifier,
                        format!(
                            "property {} cannot be used in KubeStellar templates",
                            quoted(name)
                        ),
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
                        format!(
                            "RBAC expansion {} is not used by any WEC",
                            ticked(name.get_ref())
                        ),
                    )
                    .label(name.span(), "defined here, never referenced")
                    .help(format!(
                        "add rbac = [{}] to `[defaults]`, a group or a WEC, or remove it",
                        toml_string(name.get_ref())
                    )),
                );
            }
        }
    }

    fn expansion(&mut self, name: &Spanned<String>, rbac: &RawRbac) {
        let label = name.get_ref();
        let table = section(&["rbac", label]);
        if let Err(why) = names::check_dns1123_label(label) {
            self.push(
                Problem::new(
                    Code::InvalidName,
                    format!("RBAC expansion name {} is not a DNS-1123 label", ticked(label)),
                )
                .label(name.span(), why)
                .help("it becomes part of the Role and BindingPolicy names: use lowercase letters, digits and '-'"),
            );
        }
        let mode_path = dotted(&["rbac".to_owned(), label.clone(), "mode".to_owned()]);
        match &rbac.mode {
            None if !self.dropped.contains(&mode_path) => self.push(
                Problem::new(Code::MissingKey, format!("{table} has no `mode`"))
                    .label(name.span(), "needs a `mode` key")
                    .help("add mode = \"downsync\" (objects and a BindingPolicy in the WDS; recommended) or mode = \"direct\" (applied on each WEC)"),
            ),
            Some(mode) if *mode.get_ref() == RawRbacMode::Downsync => {
                self.downsync_names(name, rbac);
                if self.raw.wds.is_none() {
                    self.push(
                        Problem::new(
                            Code::DownsyncWithoutWds,
                            format!("{table} is downsynced, but there is no `[wds]`"),
                        )
                        .label(mode.span(), "needs a WDS to hold the objects and BindingPolicy")
                        .help("add a [wds] table with the WDS context (e.g. context = \"wds1\"), or use mode = \"direct\" to apply the RBAC on each WEC"),
                    );
                }
            }
            _ => {}
        }
        if let Some(ns) = &rbac.namespace
            && let Err(why) = names::check_dns1123_label(ns.get_ref())
        {
            self.push(
                Problem::new(
                    Code::InvalidNamespace,
                    format!("invalid namespace {}", quoted(ns.get_ref())),
                )
                .label(ns.span(), why)
                .help("a namespace name is a DNS-1123 label: at most 63 lowercase letters, digits and '-'; leave `namespace` out for a cluster-wide ClusterRole"),
            );
        }
        let rules = dotted(&["rbac".to_owned(), label.clone(), "rules".to_owned()]);
        if rbac.rules.is_empty() && !self.dropped.contains(&rules) {
            self.push(
                Problem::new(Code::EmptyRbac, format!("{table} has no rules"))
                    .label(name.span(), "grants nothing")
                    .help(format!(
                        "add at least one rule:\n\n    [[{rules}]]\n    api_groups = [\"\"]\n    resources = [\"configmaps\"]\n    verbs = [\"get\", \"list\", \"watch\"]"
                    )),
            );
        }
        for rule in &rbac.rules {
            self.rule(rule);
        }
        let namespaced_only = rbac.rules.iter().all(|r| {
            let resources = items(&r.get_ref().resources);
            resources.iter().all(|res| {
                let base = res.get_ref().split('/').next().unwrap_or_default();
                NAMESPACED_RESOURCES.contains(&base)
            }) && !resources.is_empty()
        });
        if rbac.namespace.is_none() && !rbac.rules.is_empty() && namespaced_only {
            self.push(
                Problem::new(
                    Code::RbacClusterScope,
                    format!("{table} grants namespaced resources in every namespace"),
                )
                .label(name.span(), "becomes a ClusterRole and ClusterRoleBinding")
                .help("all its resources live in namespaces: set namespace = \"<namespace>\" to grant them with a Role and RoleBinding in that namespace only"),
            );
        }
    }

    /// KubeStellar labels each ManifestWork with its BindingPolicy's name, a label value of at
    /// most 63 characters: the expansion's policy and its namespace's must fit.
    fn downsync_names(&mut self, name: &Spanned<String>, rbac: &RawRbac) {
        let policy = binding_policy_name(&ExpansionName::new(name.get_ref().as_str()));
        self.policy_fits(
            name,
            &policy,
            Code::InvalidName,
            format!(
                "RBAC expansion name {} is too long to be downsynced",
                ticked(name.get_ref())
            ),
            format!("its BindingPolicy `{policy}`"),
        );
        if let Some(ns) = &rbac.namespace {
            let policy = namespace_policy_name(ns.get_ref());
            self.policy_fits(
                ns,
                &policy,
                Code::InvalidNamespace,
                format!(
                    "namespace {} is too long for a downsync grant",
                    quoted(ns.get_ref())
                ),
                format!("the BindingPolicy `{policy}` that delivers it"),
            );
        }
    }

    /// Reports `message` at `given` when `policy`, the BindingPolicy named after it, is longer
    /// than a label value, saying how long `given` may be.
    fn policy_fits(
        &mut self,
        given: &Spanned<String>,
        policy: &str,
        code: Code,
        message: String,
        which_policy: String,
    ) {
        if policy.len() <= LABEL_VALUE_MAX {
            return;
        }
        let most = LABEL_VALUE_MAX - (policy.len() - given.get_ref().len());
        self.push(
            Problem::new(code, message)
                .label(given.span(), format!("{} characters", given.get_ref().len()))
                .help(format!(
                    "{which_policy} must fit the 63-character label KubeStellar puts on each ManifestWork: use at most {most} characters, or mode = \"direct\""
                )),
        );
    }

    fn rule(&mut self, rule: &Spanned<RawRule>) {
        let header = rule.span();
        let r = rule.get_ref();
        // An empty list is pointed at; a missing one at the rule's header.
        let at = |list: &SpannedListField| list.as_ref().map_or(header.clone(), Spanned::span);
        for (list, key) in [(&r.verbs, "verbs"), (&r.resources, "resources")] {
            if items(list).is_empty() {
                let (message, label) = match list {
                    Some(_) => (
                        format!("RBAC rule has an empty `{key}`"),
                        "empty: the rule grants nothing".to_owned(),
                    ),
                    None => (
                        format!("RBAC rule has no `{key}`"),
                        format!("this rule needs `{key}`"),
                    ),
                };
                self.push(
                    Problem::new(Code::EmptyRbac, message)
                        .label(at(list), label)
                        .help(if key == "verbs" {
                            "list what the work agent may do, e.g. verbs = [\"get\", \"list\", \"watch\", \"create\", \"update\", \"patch\", \"delete\"]"
                        } else {
                            "list the resources (plural, lowercase), e.g. resources = [\"appwrappers\"]"
                        }),
                );
            }
        }
        if items(&r.api_groups).is_empty() && !items(&r.resources).is_empty() {
            self.push(
                Problem::new(
                    Code::EmptyRbac,
                    if r.api_groups.is_some() {
                        "RBAC rule has an empty `api_groups`"
                    } else {
                        "RBAC rule has no `api_groups`"
                    },
                )
                .label(at(&r.api_groups), "matches no API group, so it grants nothing")
                .help("name the group of the resources, e.g. api_groups = [\"workload.codeflare.dev\"]; the core group (configmaps, secrets, ...) is api_groups = [\"\"]"),
            );
        }
        for (list, key, what) in [
            (&r.verbs, "verbs", "verbs"),
            (&r.resources, "resources", "resources"),
            (&r.api_groups, "api_groups", "API groups"),
        ] {
            for item in items(list).iter().filter(|i| i.get_ref() == "*") {
                self.push(
                    Problem::new(Code::RbacWildcard, format!("`*` in `{key}` grants all {what}"))
                        .label(item.span(), "wildcard")
                        .help(format!(
                            "least privilege: list only the {what} the workloads need; `*` also grants any added later"
                        )),
                );
            }
        }
        for group in items(&r.api_groups) {
            if let Some(problem) = api_group(group) {
                self.push(problem);
            }
        }
        for resource in items(&r.resources) {
            if let Some(problem) = resource_name(resource) {
                self.push(problem);
            }
        }
        for verb in items(&r.verbs) {
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
                    format!("{} is not a Kubernetes verb", ticked(v)),
                );
                let lower = v.to_ascii_lowercase();
                let best = KNOWN_VERBS
                    .iter()
                    .copied()
                    .find(|k| *k == lower)
                    .or_else(|| suggest(v, KNOWN_VERBS));
                problem = match best {
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
        if let Some(names) = &r.resource_names
            && !names.get_ref().is_empty()
        {
            let unrestricted: Vec<&Spanned<String>> = items(&r.verbs)
                .iter()
                .filter(|v| NOT_BY_NAME.contains(&v.get_ref().as_str()))
                .collect();
            if !unrestricted.is_empty() {
                let verbs: Vec<&str> = unrestricted.iter().map(|v| v.get_ref().as_str()).collect();
                let mut problem = Problem::new(
                    Code::RbacResourceNames,
                    format!(
                        "`resource_names` cannot restrict {}",
                        verbs
                            .iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .label(
                    names.span(),
                    "restricts only get, update, patch and delete by name",
                );
                for verb in &unrestricted {
                    problem = problem.label(verb.span(), "not restricted by name");
                }
                self.push(problem.help(
                    "Kubernetes cannot check an object's name for `create` and `deletecollection`, so this rule never grants them; `list` and `watch` are granted only to requests with a `metadata.name` field selector naming one of these objects. Put the verbs the workloads need for all objects in a rule without `resource_names`",
                ));
            }
        }
    }
}

/// Verbs `resourceNames` does not (fully) restrict.
const NOT_BY_NAME: [&str; 4] = ["create", "deletecollection", "list", "watch"];

fn too_large(total: usize, wec: Option<&str>, span: std::ops::Range<usize>) -> Problem {
    let (message, label) = match wec {
        Some(wec) => (
            format!(
                "the properties of WEC {} take {total} bytes, more than a ConfigMap holds",
                ticked(wec)
            ),
            "its properties (with those of `[defaults]` and its groups) exceed 1 MiB".to_owned(),
        ),
        None => (
            format!("these properties take {total} bytes, more than a ConfigMap holds"),
            "the largest property".to_owned(),
        ),
    };
    Problem::new(Code::PropertiesTooLarge, message)
        .label(span, label)
        .help(format!(
            "a WEC's properties are stored in one ConfigMap, `customization-properties/<wec>`, whose keys and values may total at most {CONFIGMAP_MAX} bytes (1 MiB): keep large data out of properties"
        ))
}

/// Labels fleet.toml may not declare (OCM's, fleet's own RBAC selector), and Kubernetes'
/// reserved prefixes (a warning).
fn reserved_label(raw: &RawFleet, key: &Spanned<String>) -> Option<Problem> {
    let k = key.get_ref();
    if let Some(prefix) = ocm::LABEL_PREFIXES.iter().find(|p| k.starts_with(**p)) {
        return Some(
            Problem::new(
                Code::ReservedLabel,
                format!("label {} is managed by OCM", quoted(k)),
            )
            .label(key.span(), format!("OCM owns `{prefix}*` labels"))
            .help("OCM sets the labels under `cluster.open-cluster-management.io/` and `feature.open-cluster-management.io/` on each ManagedCluster itself (its cluster set, its add-ons); fleet.toml may not declare them: remove this label"),
        );
    }
    if let Some(expansion) = k.strip_prefix(RBAC_SELECTOR_PREFIX) {
        let fix = if raw.rbac.contains_key(expansion) {
            format!(
                "remove the label and add rbac = [{}] to this WEC, its group or `[defaults]`",
                toml_string(expansion)
            )
        } else {
            "remove the label and list the RBAC expansions the WEC needs in `rbac = [...]`"
                .to_owned()
        };
        return Some(
            Problem::new(
                Code::ReservedLabel,
                format!("label {} is set by fleet itself", quoted(k)),
            )
            .label(
                key.span(),
                format!("fleet owns `{RBAC_SELECTOR_PREFIX}*` labels"),
            )
            .help(format!(
                "fleet sets `{RBAC_SELECTOR_PREFIX}<name>` on exactly the WECs that list `<name>` in `rbac = [...]`, and the downsync BindingPolicy of `<name>` selects on it: declaring it would hand that RBAC to WECs that do not list it; {fix}"
            )),
        );
    }
    let (prefix, _) = k.split_once('/')?;
    let kubernetes = ["kubernetes.io", "k8s.io"]
        .iter()
        .any(|d| prefix == *d || prefix.ends_with(&format!(".{d}")));
    // `app.kubernetes.io/` holds the recommended labels that users set themselves.
    if kubernetes && prefix != "app.kubernetes.io" {
        return Some(
            Problem::new(
                Code::KubernetesLabel,
                format!("label {} uses a prefix reserved for Kubernetes", quoted(k)),
            )
            .label(
                key.span(),
                format!("{} is reserved for Kubernetes", ticked(&format!("{prefix}/"))),
            )
            .help("the `kubernetes.io/` and `k8s.io/` prefixes (and their subdomains, such as `node.kubernetes.io/`) are reserved for Kubernetes components, which may set or remove these labels; use a prefix of your own, e.g. `example.com/tier`"),
        );
    }
    None
}

/// An RBAC API group: `""` (core), `*`, or a DNS subdomain without a version.
fn api_group(group: &Spanned<String>) -> Option<Problem> {
    let g = group.get_ref().as_str();
    if g.is_empty() || g == "*" {
        return None;
    }
    let (why, fix) = if g == "core" || g == "v1" {
        (
            "the core group is written \"\"".to_owned(),
            Some(String::new()),
        )
    } else if let Some((name, _version)) = g.split_once('/') {
        (
            "an API group has no version".to_owned(),
            names::check_dns1123_subdomain(name)
                .is_ok()
                .then(|| name.to_owned()),
        )
    } else {
        let why = names::check_dns1123_subdomain(g).err()?;
        let lower = g.to_ascii_lowercase();
        (
            why,
            names::check_dns1123_subdomain(&lower)
                .is_ok()
                .then_some(lower),
        )
    };
    let help = match &fix {
        Some(fix) => format!("write {}", toml_string(fix)),
        None => "write the group's name".to_owned(),
    };
    Some(
        Problem::new(
            Code::InvalidApiGroup,
            format!("{} is not an API group name", quoted(g)),
        )
        .label(group.span(), why)
        .help(format!(
            "{help}: an API group is \"\" (the core group: configmaps, secrets, pods, ...), \"*\", or a DNS subdomain such as \"apps\" or \"workload.codeflare.dev\", without a version"
        )),
    )
}

/// An RBAC resource: `*`, or a lowercase plural name with at most one subresource
/// (`pods/log`, `*/scale`). Uppercase or other characters are errors; a name that looks
/// singular is a warning.
fn resource_name(resource: &Spanned<String>) -> Option<Problem> {
    let r = resource.get_ref().as_str();
    if r == "*" {
        return None;
    }
    let parts: Vec<&str> = r.split('/').collect();
    let valid_part = |p: &str| {
        p == "*"
            || (!p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'))
    };
    if parts.len() > 2 || !parts.iter().all(|p| valid_part(p)) {
        let lower = r.to_ascii_lowercase();
        let lower_parts: Vec<&str> = lower.split('/').collect();
        let fix =
            (lower_parts.len() <= 2 && lower_parts.iter().all(|p| valid_part(p))).then(|| {
                let mut fixed = plural(lower_parts[0]);
                if let Some(sub) = lower_parts.get(1) {
                    fixed = format!("{fixed}/{sub}");
                }
                fixed
            });
        let why = if parts.len() > 2 {
            "at most one '/' (a subresource, such as `pods/log`)".to_owned()
        } else if r.chars().any(|c| c.is_ascii_uppercase()) {
            "resources are lowercase".to_owned()
        } else {
            "only lowercase letters, digits, '-' and '.' are allowed".to_owned()
        };
        let help = match &fix {
            Some(fix) => format!("write {}: ", toml_string(fix)),
            None => String::new(),
        };
        return Some(
            Problem::new(
                Code::InvalidResource,
                format!("{} is not a resource name", quoted(r)),
            )
            .label(resource.span(), why)
            .help(format!(
                "{help}RBAC names resources by their lowercase plural, as in the API's URLs (`kubectl api-resources` lists them), e.g. \"appwrappers\", \"configmaps\" or \"deployments/scale\""
            )),
        );
    }
    let base = parts[0];
    if base != "*" && looks_singular(base) {
        let mut fixed = plural(base);
        if let Some(sub) = parts.get(1) {
            fixed = format!("{fixed}/{sub}");
        }
        return Some(
            Problem::new(
                Code::RbacSingularResource,
                format!("resource {} looks singular; did you mean `{fixed}`?", ticked(r)),
            )
            .label(resource.span(), format!("did you mean `{fixed}`?"))
            .help("RBAC names resources by their plural (`kubectl api-resources` lists them); a singular name matches nothing, so the rule grants nothing for it. Ignore this if the resource's plural really is written this way"),
        );
    }
    None
}

/// Whether a resource name does not look like a plural: it does not end in `s`, or ends in
/// `ss` (`ingress`, `storageclass`).
fn looks_singular(name: &str) -> bool {
    !name.ends_with('s') || name.ends_with("ss")
}

/// The English plural of a lowercase resource name, as Kubernetes forms them.
fn plural(name: &str) -> String {
    if !looks_singular(name) {
        return name.to_owned();
    }
    if let Some(stem) = name.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if name.ends_with(['s', 'x', 'z']) || name.ends_with("ch") || name.ends_with("sh") {
        return format!("{name}es");
    }
    format!("{name}s")
}

/// Whether `url` is `https://HOST[:PORT][/PATH]`; else why not, and a fixed URL if there
/// is an obvious one.
fn check_https_url(url: &str) -> Result<(), (String, Option<String>)> {
    let rest = match url.split_once("://") {
        Some(("https", rest)) => rest,
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") || scheme == "http" => {
            return Err((
                format!("the scheme must be `https`, not {}", ticked(scheme)),
                Some(format!("https://{rest}")),
            ));
        }
        Some(_) => return Err(("the scheme must be `https`".to_owned(), None)),
        None if url.trim().is_empty() => return Err(("empty".to_owned(), None)),
        None => {
            let fixed = format!("https://{}", url.trim());
            return Err((
                "no scheme: expected https://HOST[:PORT]".to_owned(),
                check_https_url(&fixed).is_ok().then_some(fixed),
            ));
        }
    };
    if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err((format!("must not contain {c:?}"), None));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if tail.contains(['?', '#']) {
        return Err(("must not have a query or fragment".to_owned(), None));
    }
    if authority.contains('@') {
        return Err(("must not contain credentials (`user@`)".to_owned(), None));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(("not a valid [IPv6] host".to_owned(), None));
        };
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(("not a valid [IPv6] host".to_owned(), None));
        }
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(("not a valid [IPv6] host".to_owned(), None)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(("no host: expected https://HOST[:PORT]".to_owned(), None));
    }
    if !authority.starts_with('[')
        && (host.split('.').any(|l| l.is_empty())
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Err(("the host is not a DNS name or IP address".to_owned(), None));
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(("the port must be a number from 1 to 65535".to_owned(), None));
    }
    Ok(())
}

fn undefined(code: Code, kind: &str, name: &Spanned<String>, defined: &[&str]) -> Problem {
    let n = name.get_ref();
    let table = section(&[kind, n]);
    let problem = Problem::new(code, format!("{kind} {} is not defined", ticked(n)));
    match suggest(n, defined.iter().copied()) {
        Some(best) => problem
            .label(name.span(), format!("did you mean `{best}`?"))
            .help(format!(
                "use {}, or define a {table} table",
                toml_string(best)
            )),
        None if defined.is_empty() => problem
            .label(name.span(), format!("no [{kind}.*] table in this file"))
            .help(format!("define it as a {table} table")),
        None => problem.label(name.span(), "not defined").help(format!(
            "define a {table} table; defined: {}",
            listed(defined.iter().copied())
        )),
    }
}
