//! Kubernetes naming rules, as `k8s.io/apimachinery/pkg/util/validation` applies them.
//!
//! Each check returns `Err(reason)` with a short, human explanation of the first rule the
//! input breaks; callers turn that into a diagnostic. All functions are pure and ASCII-only,
//! like the Kubernetes rules themselves.

/// Longest DNS-1123 label (WEC names, namespaces, label names and values).
pub const LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain (label key prefixes, ConfigMap keys).
pub const SUBDOMAIN_MAX: usize = 253;

/// Go keywords: a property named like one of them never reaches a KubeStellar template.
const GO_KEYWORDS: [&str; 25] = [
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn too_long(what: &str, len: usize, max: usize) -> String {
    format!("{what}must be at most {max} characters, not {len}")
        .trim_start()
        .to_owned()
}

/// `c` as a message shows it: `'%'`, `' '`, `'😀'`.
fn shown(c: char) -> String {
    format!("{c:?}")
}

/// A DNS-1123 label: at most 63 lowercase alphanumerics or `-`, starting and ending with an
/// alphanumeric. Used for WEC (ManagedCluster) names and namespaces.
pub fn check_dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = s.chars().find(|&c| !is_lower_alnum(c) && c != '-') {
        return Err(if c.is_ascii_uppercase() {
            "must be lowercase".into()
        } else {
            format!(
                "must not contain {}: use lowercase letters, digits and '-'",
                shown(c)
            )
        });
    }
    if s.len() > LABEL_MAX {
        return Err(too_long("", s.len(), LABEL_MAX));
    }
    if !s.starts_with(is_lower_alnum) || !s.ends_with(is_lower_alnum) {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain: at most 253 characters of dot-separated DNS-1123 labels.
pub fn check_dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !is_lower_alnum(c) && c != '-' && c != '.')
    {
        return Err(if c.is_ascii_uppercase() {
            "must be lowercase".into()
        } else {
            format!(
                "must not contain {}: use lowercase letters, digits, '-' and '.'",
                shown(c)
            )
        });
    }
    if s.len() > SUBDOMAIN_MAX {
        return Err(too_long("", s.len(), SUBDOMAIN_MAX));
    }
    for part in s.split('.') {
        if part.is_empty() {
            return Err("must not contain empty parts between dots".into());
        }
        if !part.starts_with(is_lower_alnum) || !part.ends_with(is_lower_alnum) {
            return Err(
                "must have every dot-separated part start and end with a letter or digit".into(),
            );
        }
    }
    Ok(())
}

/// The shared shape of a label name and a label value:
/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters, ASCII only.
fn check_label_segment(s: &str, what: &str) -> Result<(), String> {
    let inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if let Some(c) = s.chars().find(|&c| !inner(c)) {
        return Err(format!(
            "{what}must not contain {}: only ASCII letters, digits, '-', '_' and '.' are allowed",
            shown(c)
        ));
    }
    if s.len() > LABEL_MAX {
        return Err(too_long(what, s.len(), LABEL_MAX));
    }
    let alnum = |c: char| c.is_ascii_alphanumeric();
    if !s.starts_with(alnum) || !s.ends_with(alnum) {
        return Err(format!("{what}must start and end with a letter or digit"));
    }
    Ok(())
}

/// A label key (a "qualified name"): an optional DNS-1123 subdomain prefix and `/`, then a
/// name of at most 63 characters.
pub fn check_label_key(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    if let Some(prefix) = prefix {
        if name.contains('/') {
            return Err("a label key may contain at most one '/'".into());
        }
        if prefix.is_empty() {
            return Err("the prefix before '/' is empty: write a DNS subdomain such as `example.com/` before the name, or no '/'".into());
        }
        check_dns1123_subdomain(prefix).map_err(|why| {
            let shown = if prefix.chars().count() > 64 {
                "prefix".to_owned()
            } else {
                format!("prefix `{prefix}`")
            };
            format!("the {shown} is not a DNS subdomain: it {why}")
        })?;
    }
    if name.is_empty() {
        return Err("the name part must not be empty".into());
    }
    check_label_segment(
        name,
        if prefix.is_some() {
            "the name part "
        } else {
            ""
        },
    )
}

/// A label value: empty, or at most 63 characters of `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
pub fn check_label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    check_label_segment(s, "")
}

/// A ConfigMap key: at most 253 of `[-._a-zA-Z0-9]`, and not `.`, `..` or starting with `..`.
pub fn check_configmap_key(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "must not contain {}: use ASCII letters, digits, '-', '_' and '.'",
            shown(c)
        ));
    }
    if s.len() > SUBDOMAIN_MAX {
        return Err(too_long("", s.len(), SUBDOMAIN_MAX));
    }
    if s == "." || s.starts_with("..") {
        return Err("must not be '.' or start with '..'".into());
    }
    Ok(())
}

/// Whether Go's `go/token.IsIdentifier` accepts `s` (ASCII subset): KubeStellar only hands
/// such keys to its templates and silently drops the rest.
pub fn is_go_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !GO_KEYWORDS.contains(&s)
}

/// Whether `s` is one of Go's 25 keywords.
pub fn is_go_keyword(s: &str) -> bool {
    GO_KEYWORDS.contains(&s)
}

/// The DNS-1123 label closest to `s`: lowercased, other characters turned into `-`,
/// trimmed and cut to 63 characters. `None` if nothing usable is left, or if `s` only breaks
/// the length limit (shortening a name is the user's call).
pub fn suggest_dns1123_label(s: &str) -> Option<String> {
    let mapped: String = s
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if is_lower_alnum(c) { c } else { '-' }
        })
        .collect();
    if mapped == mapped.trim_matches('-') && mapped == s {
        // Only too long: cutting it would change its meaning; let the user choose.
        return None;
    }
    let mut out = mapped.trim_matches('-').to_owned();
    out.truncate(LABEL_MAX);
    let out = out.trim_end_matches('-').to_owned();
    (check_dns1123_label(&out).is_ok() && out != s).then_some(out)
}

/// A Go identifier close to a property key: `-` and `.` turned into `_`, or the key
/// prefixed with `_` when it starts with a digit or is a keyword.
pub fn suggest_go_identifier(s: &str) -> Option<String> {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || is_go_keyword(&out) {
        out.insert(0, '_');
    }
    (is_go_identifier(&out) && out != s).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123_label() {
        for ok in ["a", "cluster1", "store-0042", &"a".repeat(63)] {
            assert_eq!(check_dns1123_label(ok), Ok(()), "{ok}");
        }
        for bad in ["", "-a", "a-", "Cluster1", "a_b", "a.b", &"a".repeat(64)] {
            assert!(check_dns1123_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_keys() {
        for ok in [
            "name",
            "location-group",
            "app.kubernetes.io/part-of",
            "A_b.C",
            "x/y",
        ] {
            assert_eq!(check_label_key(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a/b/c",
            "-a",
            "Foo.Com/x",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(check_label_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_values() {
        for ok in ["", "edge", "us-east-1a", "A.b_c"] {
            assert_eq!(check_label_value(ok), Ok(()), "{ok}");
        }
        for bad in ["-x", "x-", "a b", "a/b", &"v".repeat(64)] {
            assert!(check_label_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configmap_keys_and_identifiers() {
        assert_eq!(check_configmap_key("cluster.url-1_x"), Ok(()));
        assert!(check_configmap_key("a/b").is_err());
        assert!(check_configmap_key("..x").is_err());
        assert!(is_go_identifier("clusterURL"));
        assert!(is_go_identifier("_x1"));
        assert!(!is_go_identifier("max-pods"));
        assert!(!is_go_identifier("1x"));
        assert!(!is_go_identifier("range"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest_dns1123_label("Cluster_1").as_deref(),
            Some("cluster-1")
        );
        assert_eq!(suggest_dns1123_label("___"), None);
        assert_eq!(
            suggest_go_identifier("max-pods").as_deref(),
            Some("max_pods")
        );
        assert_eq!(suggest_go_identifier("type").as_deref(), Some("_type"));
    }
}
