//! Label selectors as `kubectl -l` takes them: `env=prod,tier!=gold,region in (eu,us),!legacy`.

use std::collections::BTreeMap;
use std::fmt;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    Absent(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed label selector; every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector(Vec<Requirement>);

/// Why a selector does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid label selector `{selector}`: {why} (e.g. `env=prod,tier!=gold,region in (eu,us),!legacy`)"
)]
pub struct SelectorError {
    selector: String,
    why: String,
}

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn set(values: &str) -> Option<Vec<String>> {
    let inner = values.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

impl Selector {
    /// Parses `kubectl -l` syntax.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let fail = |why: &str| SelectorError {
            selector: text.to_owned(),
            why: why.to_owned(),
        };
        let mut reqs = Vec::new();
        for part in split_top(text) {
            let part = part.trim();
            if part.is_empty() {
                return Err(fail("an empty requirement"));
            }
            let key_ok = |k: &str| {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            };
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::Absent(k.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotIn(k.trim().to_owned(), vec![v.trim().to_owned()])
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::In(k.trim().to_owned(), vec![v.trim().to_owned()])
            } else if let Some((k, v)) = part.split_once(" notin ") {
                let values = set(v).ok_or_else(|| fail("`notin` takes a list: (a,b)"))?;
                Requirement::NotIn(k.trim().to_owned(), values)
            } else if let Some((k, v)) = part.split_once(" in ") {
                let values = set(v).ok_or_else(|| fail("`in` takes a list: (a,b)"))?;
                Requirement::In(k.trim().to_owned(), values)
            } else {
                Requirement::Exists(part.to_owned())
            };
            let key = match &req {
                Requirement::Exists(k)
                | Requirement::Absent(k)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _) => k,
            };
            if !key_ok(key) {
                return Err(fail(&format!("`{key}` is not a label key")));
            }
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::Absent(k) => !labels.contains_key(k),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|r| match r {
                Requirement::Exists(k) => k.clone(),
                Requirement::Absent(k) => format!("!{k}"),
                Requirement::In(k, v) if v.len() == 1 => format!("{k}={}", v[0]),
                Requirement::In(k, v) => format!("{k} in ({})", v.join(",")),
                Requirement::NotIn(k, v) if v.len() == 1 => format!("{k}!={}", v[0]),
                Requirement::NotIn(k, v) => format!("{k} notin ({})", v.join(",")),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn kubectl_syntax_selects_as_kubectl_does() {
        let s = Selector::parse("env=prod,tier!=gold,region in (eu, us),!legacy,team").unwrap();
        assert!(s.matches(&labels(&[("env", "prod"), ("region", "eu"), ("team", "a")])));
        assert!(!s.matches(&labels(&[("env", "prod"), ("region", "ap"), ("team", "a")])));
        assert!(!s.matches(&labels(&[
            ("env", "prod"),
            ("region", "eu"),
            ("team", "a"),
            ("tier", "gold")
        ])));
        assert!(!s.matches(&labels(&[
            ("env", "prod"),
            ("region", "eu"),
            ("team", "a"),
            ("legacy", "y")
        ])));
        assert_eq!(
            s.to_string(),
            "env=prod,tier!=gold,region in (eu,us),!legacy,team"
        );
        let n = Selector::parse("region notin (eu,us)").unwrap();
        assert!(n.matches(&labels(&[])) && !n.matches(&labels(&[("region", "us")])));
    }

    #[test]
    fn a_bad_selector_says_why() {
        for bad in ["", "env=prod,", "region in eu", "a b"] {
            let e = Selector::parse(bad).unwrap_err();
            assert!(e.to_string().contains("invalid label selector"), "{e}");
        }
    }
}
