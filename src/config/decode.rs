//! From text to [`RawFleet`], collecting every syntax and shape problem instead of stopping
//! at the first.
//!
//! TOML syntax is checked with toml's recoverable parser, which reports all syntax errors
//! (and duplicate keys) in one pass. The span tree is then deserialized into the serde types
//! of [`raw`](super::raw). serde stops at the first error, so each failing entry is reported,
//! removed from the tree and decoding is retried: one pass per bad entry, none when the file
//! is well-formed.

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Code, Problem};
use super::raw::RawFleet;
use crate::model::text::closest;

/// What decoding produced: the file as far as it could be read, and what was wrong.
pub(crate) struct Decoded {
    /// `None` only when the file is not TOML at all.
    pub raw: Option<RawFleet>,
    pub problems: Vec<Problem>,
    /// Dotted paths of entries dropped because they were malformed; validation does not
    /// report them again as missing.
    pub dropped: BTreeSet<String>,
}

/// Give up retrying after this many bad entries; the report is long enough by then.
const MAX_PROBLEMS: usize = 200;

pub(crate) fn decode(text: &str) -> Decoded {
    let (tree, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        let problems = syntax_errors
            .iter()
            .map(|e| syntax_problem(text, e))
            .collect();
        return Decoded {
            raw: None,
            problems,
            dropped: BTreeSet::new(),
        };
    }

    let mut tree = tree;
    let mut problems = Vec::new();
    let mut dropped = BTreeSet::new();
    loop {
        let attempt = RawFleet::deserialize(toml::de::Deserializer::from(tree.clone()));
        let err = match attempt {
            Ok(raw) => {
                return Decoded {
                    raw: Some(raw),
                    problems,
                    dropped,
                };
            }
            Err(err) => err,
        };
        let span = err.span().unwrap_or(0..0);
        let mut path = Vec::new();
        let removed = remove_deepest(tree.get_mut(), &span, &mut path);
        let (problem, meant) = shape_problem(text, err.message(), span, &path);
        problems.push(problem);
        if !removed || problems.len() >= MAX_PROBLEMS {
            return Decoded {
                raw: None,
                problems,
                dropped,
            };
        }
        dropped.insert(dotted(&path));
        // `contex = …` should not also be reported as a missing `context`.
        if let Some(meant) = meant {
            let mut meant_path = path.clone();
            meant_path.pop();
            meant_path.push(meant);
            dropped.insert(dotted(&meant_path));
        }
    }
}

fn syntax_problem(text: &str, err: &toml::de::Error) -> Problem {
    let span = err.span().unwrap_or(0..0);
    let message = err.message().trim_end();
    let duplicate = message.contains("duplicate");
    let help = if duplicate {
        "a key may appear only once in a table: remove one of them, or merge their values"
            .to_owned()
    } else if text.get(span.clone()).is_some_and(|s| s.starts_with('\'')) {
        "TOML strings use double quotes, e.g. context = \"its1\"".to_owned()
    } else {
        "see https://toml.io/en/v1.0.0 for the TOML syntax; `fleet.toml.example` shows every key"
            .to_owned()
    };
    let label = if duplicate { "duplicate" } else { "here" };
    Problem::new(Code::Syntax, format!("invalid TOML: {message}"))
        .label(span, label)
        .help(help)
}

/// Removes the innermost table entry whose key or value covers `span`, recording its path.
fn remove_deepest(table: &mut DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
    let mut hit = None;
    for (key, value) in table.iter_mut() {
        path.push(key.get_ref().to_string());
        // A header table's span covers its whole `[a.b]` header, so a key is matched before
        // looking inside its value.
        if covers(&key.span(), span) {
            hit = Some(key.get_ref().to_string());
            break;
        }
        let deeper = match value.get_mut() {
            DeValue::Table(inner) => remove_deepest(inner, span, path),
            DeValue::Array(items) => items.iter_mut().enumerate().any(|(i, item)| {
                let DeValue::Table(inner) = item.get_mut() else {
                    return false;
                };
                path.push(format!("[{i}]"));
                let found = remove_deepest(inner, span, path);
                if !found {
                    path.pop();
                }
                found
            }),
            _ => false,
        };
        if deeper {
            return true;
        }
        if covers(&value.span(), span) {
            hit = Some(key.get_ref().to_string());
            break;
        }
        path.pop();
    }
    let Some(hit) = hit else { return false };
    table.remove(hit.as_str());
    true
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && !outer.is_empty()
}

/// Turns serde's message into a diagnostic that names the key and says how to fix it; for
/// a misspelt key, also returns the key that was probably meant.
fn shape_problem(
    text: &str,
    message: &str,
    span: Range<usize>,
    path: &[String],
) -> (Problem, Option<String>) {
    let ticked = backticked(message);
    let key = path.last().map_or("", String::as_str);
    let full = dotted(path);
    let table = table_name(&path[..path.len().saturating_sub(1)]);

    if message.starts_with("unknown field") {
        let expected = &ticked[1.min(ticked.len())..];
        let problem = Problem::new(
            Code::UnknownKey,
            format!(
                "unknown key `{key}` {}",
                if path.len() == 1 {
                    "at the top level".to_owned()
                } else {
                    format!("in {table}")
                }
            ),
        );
        return match closest(key, expected.iter().copied()) {
            Some(best) => (
                problem
                    .label(span, format!("did you mean `{best}`?"))
                    .help(format!(
                        "rename it to `{best}`; keys allowed here: {}",
                        list(expected)
                    )),
                Some(best.to_owned()),
            ),
            None => (
                problem
                    .label(span, "not a fleet.toml key")
                    .help(format!("keys allowed in {table}: {}", list(expected))),
                None,
            ),
        };
    }
    if message.starts_with("unknown variant") {
        let given = ticked.first().copied().unwrap_or_default();
        let expected = &ticked[1.min(ticked.len())..];
        let problem = Problem::new(
            Code::InvalidValue,
            format!("`{full}` must be one of {}", list(expected)),
        );
        let problem = match closest(given, expected.iter().copied()) {
            Some(best) => problem
                .label(span, format!("did you mean \"{best}\"?"))
                .help(format!("write {key} = \"{best}\"")),
            None => problem
                .label(span, "not allowed")
                .help(format!("choose one of {}", list(expected))),
        };
        return (problem, None);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        let expected = type_name(expected);
        let found = type_name(found);
        let written = text.get(span.clone()).unwrap_or_default().trim();
        let help = match expected {
            "a string" => format!(
                "write it as a string: {key} = \"{}\"",
                written.trim_matches('\'')
            ),
            "a boolean" => format!("write {key} = true or {key} = false, without quotes"),
            "an array" => format!("write a list, even for one item: {key} = [{written}]"),
            "a table" => format!(
                "write a table, e.g. {key} = {{ ... }} or a [{}] section",
                dotted(path)
            ),
            _ => format!("`{full}` expects {expected}"),
        };
        let problem = Problem::new(
            Code::WrongType,
            format!("`{full}` must be {expected}, found {found}"),
        )
        .label(span, format!("expected {expected}"))
        .help(help);
        return (problem, None);
    }
    let problem = Problem::new(Code::InvalidValue, format!("`{full}`: {message}"))
        .label(span, "here")
        .help("see `fleet.toml.example` for the allowed values");
    (problem, None)
}

/// serde's words for types, in TOML's.
fn type_name(serde: &str) -> &str {
    let serde = serde.trim();
    if serde.starts_with("struct ") || serde == "a map" || serde == "map" {
        return "a table";
    }
    match serde {
        "a sequence" | "sequence" => "an array",
        "a string" | "a boolean" => serde,
        "unit" => "nothing",
        other => other
            .strip_prefix("variant identifier")
            .map_or(other, |_| "a string"),
    }
}

fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `wec.cluster1.labels`, `rbac.gpu.rules[0].verbs`; keys that are not bare are quoted.
pub(crate) fn dotted(path: &[String]) -> String {
    let mut out = String::new();
    for segment in path {
        if segment.starts_with('[') {
            out.push_str(segment);
            continue;
        }
        if !out.is_empty() {
            out.push('.');
        }
        let bare = !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if bare {
            out.push_str(segment);
        } else {
            out.push_str(&format!("{segment:?}"));
        }
    }
    out
}

/// `[wec.cluster1]`, `[[rbac.gpu.rules]]`, or "the top level".
fn table_name(path: &[String]) -> String {
    match path.last() {
        None => "the top level".to_owned(),
        Some(last) if last.starts_with('[') => {
            format!("`[[{}]]`", dotted(&path[..path.len() - 1]))
        }
        Some(_) => format!("`[{}]`", dotted(path)),
    }
}
