//! From text to [`RawFleet`], collecting every syntax and shape problem instead of stopping
//! at the first.
//!
//! TOML syntax is checked with toml's recoverable parser, which reports all syntax errors
//! (and duplicate keys) in one pass; a duplicate is pointed at both of its definitions
//! ([`outline`](super::outline)). The span tree is then deserialized into the serde types
//! of [`raw`](super::raw). serde stops at the first error, so each failing entry is reported,
//! removed from the tree and decoding is retried: one pass per bad entry. A large file is
//! first tried in parallel pieces ([`split`](super::split)); otherwise a well-formed file is
//! decoded once, without a copy of its tree, and a file with problems is parsed again to be
//! decoded entry by entry. What was found is named from the tree and
//! what was expected from the file's shape, not from serde's words (which see spans as
//! maps).

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Code, Problem, escaped, ticked, toml_key, toml_string};
use super::outline::{self, How};
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

/// Keys longer than this get no "did you mean".
const SUGGEST_MAX: usize = 256;

pub(crate) fn decode(text: &str) -> Decoded {
    if let Some(raw) = super::split::decode(text) {
        return Decoded {
            raw: Some(raw),
            problems: Vec::new(),
            dropped: BTreeSet::new(),
        };
    }
    let (tree, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        let duplicates = syntax_errors
            .iter()
            .any(|e| e.message().contains("duplicate"));
        let definitions = if duplicates {
            outline::definitions(text)
        } else {
            Vec::new()
        };
        let problems = syntax_errors
            .iter()
            .map(|e| syntax_problem(text, e, &definitions))
            .collect();
        return Decoded {
            raw: None,
            problems,
            dropped: BTreeSet::new(),
        };
    }

    // The common case, a well-formed file, decodes the tree as it is; only a file with
    // shape problems is parsed again, to be decoded entry by entry.
    if let Ok(raw) = RawFleet::deserialize(toml::de::Deserializer::from(tree)) {
        return Decoded {
            raw: Some(raw),
            problems: Vec::new(),
            dropped: BTreeSet::new(),
        };
    }
    let (mut tree, _) = DeTable::parse_recoverable(text);
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
        let (problem, meant) = shape_problem(text, err.message(), span, &path, removed.as_ref());
        problems.push(problem);
        if problems.len() >= MAX_PROBLEMS {
            let at = problems.last().map_or(0, Problem::offset);
            problems.push(
                Problem::new(
                    Code::TooManyProblems,
                    format!("stopped after {MAX_PROBLEMS} problems"),
                )
                .label(at..at, "the last one reported")
                .help("fix these and run `fleet validate` again to see the rest"),
            );
        }
        if removed.is_none() || problems.len() >= MAX_PROBLEMS {
            return Decoded {
                raw: None,
                problems,
                dropped,
            };
        }
        dropped.insert(dotted(&path));
        // `contex = …` should not also be reported as a missing `context`.
        if let Some(meant) = meant {
            dropped.insert(dotted(&meant));
        }
    }
}

fn syntax_problem(
    text: &str,
    err: &toml::de::Error,
    definitions: &[outline::Definition],
) -> Problem {
    let span = err.span().unwrap_or(0..0);
    let message = err.message().trim_end();
    if message.contains("duplicate")
        && let Some((first, again)) = outline::first_definition(definitions, &span)
    {
        return duplicate(first, again, span);
    }
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
    Problem::new(Code::Syntax, format!("invalid TOML: {}", escaped(message)))
        .label(span, label)
        .help(help)
}

/// A key or table defined twice: both places, and how to write it once.
fn duplicate(
    first: &outline::Definition,
    again: &outline::Definition,
    span: Range<usize>,
) -> Problem {
    let name = ticked(&dotted(&again.path));
    let tables = |how: How| matches!(how, How::Header | How::ArrayHeader);
    let dotted_or_implicit = |how: How| matches!(how, How::Dotted | How::Implicit);
    let help = if tables(first.how) && tables(again.how) {
        format!("a table may be defined only once: put all the keys of {name} under one header")
    } else if dotted_or_implicit(first.how) || dotted_or_implicit(again.how) {
        format!(
            "{name} was first defined as a table {}; TOML does not allow defining it again in another form: write it one way, e.g. all its keys under one `[…]` header",
            if first.how == How::Implicit {
                "by a header that names it"
            } else {
                "by dotted keys"
            }
        )
    } else {
        "a key may appear only once in a table: remove one of them, or merge their values"
            .to_owned()
    };
    Problem::new(
        Code::Syntax,
        format!("invalid TOML: {name} is defined more than once"),
    )
    .label(span, "defined again here")
    .label(first.span.clone(), "first defined here")
    .help(help)
}

/// Removes the innermost table entry whose key or value covers `span`, recording its path;
/// returns the removed value.
fn remove_deepest<'i>(
    table: &mut DeTable<'i>,
    span: &Range<usize>,
    path: &mut Vec<String>,
) -> Option<Spanned<DeValue<'i>>> {
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
            DeValue::Array(items) => items.iter_mut().enumerate().find_map(|(i, item)| {
                let DeValue::Table(inner) = item.get_mut() else {
                    return None;
                };
                path.push(format!("[{i}]"));
                let found = remove_deepest(inner, span, path);
                if found.is_none() {
                    path.pop();
                }
                found
            }),
            _ => None,
        };
        if deeper.is_some() {
            return deeper;
        }
        if covers(&value.span(), span) {
            hit = Some(key.get_ref().to_string());
            break;
        }
        path.pop();
    }
    let hit = hit?;
    table.remove(hit.as_str())
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && !outer.is_empty()
}

/// What `fleet.toml` expects at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Table,
    String,
    Boolean,
    Strings,
    StringTable,
    Tables,
}

impl Expected {
    fn words(self) -> &'static str {
        match self {
            Expected::Table => "a table",
            Expected::String => "a string",
            Expected::Boolean => "a boolean",
            Expected::Strings => "an array of strings",
            Expected::StringTable => "a table of strings",
            Expected::Tables => "an array of tables",
        }
    }
}

/// The shape of `fleet.toml`: what the value at `path` must be (`[i]` marks an array item).
fn expected_at(path: &[String]) -> Option<Expected> {
    use Expected::*;
    let p: Vec<&str> = path
        .iter()
        .map(|s| if s.starts_with('[') { "[]" } else { s.as_str() })
        .collect();
    let profile = |rest: &[&str]| match rest {
        ["labels" | "properties"] => Some(StringTable),
        ["labels" | "properties", _] => Some(String),
        ["rbac"] => Some(Strings),
        ["rbac", "[]"] => Some(String),
        ["register"] => Some(Boolean),
        ["join"] => Some(Table),
        ["join", "singleton" | "force_internal_endpoint_lookup"] => Some(Boolean),
        _ => None,
    };
    match p.as_slice() {
        ["its" | "wds" | "defaults" | "group" | "rbac" | "wec"] => Some(Table),
        [
            "its",
            "context" | "kubeconfig" | "hub_api_server" | "ocm_version" | "image_registry",
        ] => Some(String),
        ["wds", "context" | "kubeconfig"] => Some(String),
        ["group" | "rbac" | "wec", _] => Some(Table),
        ["defaults", rest @ ..] | ["group", _, rest @ ..] => profile(rest),
        ["wec", _, "context" | "kubeconfig"] => Some(String),
        ["wec", _, "groups"] => Some(Strings),
        ["wec", _, "groups", "[]"] => Some(String),
        ["wec", _, rest @ ..] => profile(rest),
        ["rbac", _, "mode" | "namespace"] => Some(String),
        ["rbac", _, "rules"] => Some(Tables),
        ["rbac", _, "rules", "[]"] => Some(Table),
        [
            "rbac",
            _,
            "rules",
            "[]",
            "api_groups" | "resources" | "verbs" | "resource_names",
        ] => Some(Strings),
        ["rbac", _, "rules", "[]", _, "[]"] => Some(String),
        _ => None,
    }
}

/// What a value is, in TOML's words.
fn found_kind(text: &str, value: &Spanned<DeValue<'_>>) -> &'static str {
    match value.get_ref() {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(items) => {
            let of_tables = !items.is_empty()
                && items.iter().all(|item| {
                    item.get_ref().is_table()
                        && text.get(item.span()).is_some_and(|s| s.starts_with("[["))
                });
            if of_tables {
                "an array of tables"
            } else {
                "an array"
            }
        }
        DeValue::Table(_) => "a table",
    }
}

/// A key that belongs in the table above the one it landed in (written after a
/// `[[rbac.X.rules]]` or `[… .join]` header): that table's path.
fn belongs_above(path: &[String]) -> Option<(Vec<String>, String)> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let (parent, header): (&[&str], String) = match p.as_slice() {
        ["rbac", _, "rules", index, "mode" | "namespace"] if index.starts_with('[') => {
            (&p[..2], format!("[[{}]]", dotted(&path[..3])))
        }
        ["wec", _, "join", key]
            if matches!(
                *key,
                "context" | "kubeconfig" | "groups" | "labels" | "properties" | "rbac" | "register"
            ) =>
        {
            (&p[..2], format!("[{}]", dotted(&path[..3])))
        }
        [
            "defaults",
            "join",
            "labels" | "properties" | "rbac" | "register",
        ] => (&p[..1], format!("[{}]", dotted(&path[..2]))),
        [
            "group",
            _,
            "join",
            "labels" | "properties" | "rbac" | "register",
        ] => (&p[..2], format!("[{}]", dotted(&path[..3]))),
        _ => return None,
    };
    Some((parent.iter().map(|s| (*s).to_owned()).collect(), header))
}

/// Turns serde's message into a diagnostic that names the key and says how to fix it; for
/// a misspelt or misplaced key, also returns the path that was probably meant.
fn shape_problem(
    text: &str,
    message: &str,
    span: Range<usize>,
    path: &[String],
    removed: Option<&Spanned<DeValue<'_>>>,
) -> (Problem, Option<Vec<String>>) {
    let ticks = backticked(message);
    let key = path.last().map_or("", String::as_str);
    let full = dotted(path);
    let table = table_name(&path[..path.len().saturating_sub(1)]);

    if message.starts_with("unknown field") {
        let expected = &ticks[1.min(ticks.len())..];
        if let Some((parent, header)) = belongs_above(path) {
            let parent_table = ticked(&format!("[{}]", dotted(&parent)));
            let mut meant = parent.clone();
            meant.push(key.to_owned());
            let problem = Problem::new(
                Code::UnknownKey,
                format!("`{key}` belongs in {parent_table}, but it follows `{header}`"),
            )
            .label(span, format!("this key landed in the last `{header}` table"))
            .help(format!(
                "in TOML, every key after a header belongs to that header's table: move `{key} = …` up, right under {parent_table} and before `{header}`"
            ));
            return (problem, Some(meant));
        }
        let problem = Problem::new(
            Code::UnknownKey,
            format!(
                "unknown key {} {}",
                ticked(key),
                if path.len() == 1 {
                    "at the top level".to_owned()
                } else {
                    format!("in {table}")
                }
            ),
        );
        let best = (key.len() <= SUGGEST_MAX)
            .then(|| closest(key, expected.iter().copied()))
            .flatten();
        return match best {
            Some(best) => {
                let mut meant = path.to_vec();
                meant.pop();
                meant.push(best.to_owned());
                (
                    problem
                        .label(span, format!("did you mean `{best}`?"))
                        .help(format!(
                            "rename it to `{best}`; keys allowed here: {}",
                            list(expected)
                        )),
                    Some(meant),
                )
            }
            None => (
                problem
                    .label(span, "not a fleet.toml key")
                    .help(format!("keys allowed in {table}: {}", list(expected))),
                None,
            ),
        };
    }
    if message.starts_with("unknown variant") {
        let given = ticks.first().copied().unwrap_or_default();
        let expected = &ticks[1.min(ticks.len())..];
        let problem = Problem::new(
            Code::InvalidValue,
            format!("`{full}` must be one of {}", list(expected)),
        );
        let best = (given.len() <= SUGGEST_MAX)
            .then(|| closest(given, expected.iter().copied()))
            .flatten();
        let problem = match best {
            Some(best) => problem
                .label(span, format!("did you mean \"{best}\"?"))
                .help(format!("write {key} = \"{best}\"")),
            None => problem
                .label(span, "not allowed")
                .help(format!("choose one of {}", list(expected))),
        };
        return (problem, None);
    }
    if let (Some(rest), Some(removed)) = (message.strip_prefix("invalid type: "), removed) {
        return (wrong_type(text, rest, span, path, removed), None);
    }
    // `wds = ["wds1"]`: serde tried the array as the struct's fields.
    if let Some(removed) = removed
        && message.starts_with("invalid length")
        && expected_at(path).is_some()
    {
        return (wrong_type(text, message, span, path, removed), None);
    }
    let problem = Problem::new(Code::InvalidValue, format!("`{full}`: {message}"))
        .label(span, "here")
        .help("see `fleet.toml.example` for the allowed values");
    (problem, None)
}

/// A value of the wrong type: what was found (from the tree), what `fleet.toml` expects
/// there, and TOML that would be right.
fn wrong_type(
    text: &str,
    serde_message: &str,
    span: Range<usize>,
    path: &[String],
    removed: &Spanned<DeValue<'_>>,
) -> Problem {
    // An item of an array (`groups = [1]`) is the problem, not the array.
    let mut path = path.to_vec();
    let mut value = removed;
    if let DeValue::Array(items) = removed.get_ref()
        && let Some((i, item)) = items
            .iter()
            .enumerate()
            .find(|(_, item)| covers(&item.span(), &span) && item.span() != removed.span())
    {
        path.push(format!("[{i}]"));
        value = item;
    }
    let found = found_kind(text, value);
    let serde_expected = serde_message
        .split_once(", expected ")
        .map_or("?", |(_, expected)| expected);
    let expected = expected_at(&path);
    let expected_words = match expected {
        Some(expected) => expected.words(),
        None => type_name(serde_expected),
    };
    let full = dotted(&path);
    let item = path.last().is_some_and(|k| k.starts_with('['));
    let key = path
        .iter()
        .rev()
        .find(|k| !k.starts_with('['))
        .map_or(String::new(), |k| toml_key(k));
    let written = text.get(value.span()).unwrap_or_default().trim();
    let scalar = matches!(
        found,
        "a string" | "an integer" | "a float" | "a boolean" | "a datetime"
    );

    if found == "an array of tables" && expected == Some(Expected::Table) {
        return Problem::new(
            Code::WrongType,
            format!("`{full}` must be a table, not an array of tables"),
        )
        .label(span, "`[[…]]` starts an array of tables")
        .help(format!(
            "write `[{full}]`, with single brackets: `[[{full}]]` makes a list of tables, and `{full}` is one table"
        ));
    }
    let help = match expected {
        Some(Expected::String) if scalar => {
            let as_string = match value.get_ref() {
                DeValue::String(_) => written.to_owned(),
                _ => toml_string(written),
            };
            if item {
                format!("write the item as a string: {as_string}")
            } else {
                format!("write it as a string: {key} = {as_string}")
            }
        }
        Some(Expected::String) if path.iter().any(|p| p == "properties") => {
            "a property's value is one string: put structured data in a string (e.g. as JSON), or use one property per value".to_owned()
        }
        Some(Expected::String) => format!("write a string, e.g. {key} = \"...\""),
        Some(Expected::Boolean) => format!("write {key} = true or {key} = false, without quotes"),
        Some(Expected::Strings) if matches!(value.get_ref(), DeValue::String(_)) => {
            let item = value.get_ref().as_str().unwrap_or_default();
            format!(
                "write a list, even for one item: {key} = [{}]",
                toml_string(item)
            )
        }
        Some(Expected::Strings) if scalar => {
            format!("write a list of strings: {key} = [{}]", toml_string(written))
        }
        Some(Expected::Strings) => format!("write a list of strings, e.g. {key} = [\"...\"]"),
        Some(Expected::StringTable) => {
            format!("write a table of strings, e.g. {key} = {{ name = \"value\" }}")
        }
        Some(Expected::Table) if path.last().is_some_and(|k| k == "join") => {
            format!("write a table: {key} = {{ singleton = true }}, or a `[{full}]` section")
        }
        Some(Expected::Table) => format!("write a `[{full}]` section"),
        Some(Expected::Tables) => {
            format!("write each item as a `[[{full}]]` section with its keys")
        }
        None => format!("`{full}` expects {expected_words}"),
    };
    Problem::new(
        Code::WrongType,
        format!("`{full}` must be {expected_words}, found {found}"),
    )
    .label(span, format!("expected {expected_words}"))
    .help(help)
}

/// serde's words for types, in TOML's (when the file's shape does not say).
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
        .map(|i| ticked(i))
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
        out.push_str(&toml_key(segment));
    }
    out
}

/// `[wec.cluster1]`, `[[rbac.gpu.rules]]`, or "the top level".
fn table_name(path: &[String]) -> String {
    match path.last() {
        None => "the top level".to_owned(),
        Some(last) if last.starts_with('[') => {
            ticked(&format!("[[{}]]", dotted(&path[..path.len() - 1])))
        }
        Some(_) => ticked(&format!("[{}]", dotted(path))),
    }
}
