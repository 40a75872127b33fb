//! Canonical formatting of `fleet.toml` (`fleet fmt`), keeping every comment.
//!
//! The canonical form:
//! * tables in the order `[its]`, `[wds]`, `[defaults]`, `[group.*]`, `[rbac.*]`, `[wec.*]`;
//!   named tables keep the order they were written in, and each is followed by its
//!   sub-tables (`[wec.NAME.join]`, `[[rbac.NAME.rules]]`);
//! * keys inside a table in the order of `fleet.toml.example`, unknown keys last;
//! * `labels` and `properties` as inline tables, `join` as a `[… .join]` table, `rules` as
//!   `[[… .rules]]`;
//! * `key = value` spacing, no indentation, one blank line before each table (sub-tables may
//!   follow their parent directly), at most one blank line in a row.
//!
//! Comments stay with the key or table they precede; a comment block at the top of the file
//! that is separated by a blank line (such as a `#:schema` line) stays at the top.
//! Formatting is idempotent. Nothing here checks the file's meaning: it only has to be TOML.

use std::path::Path;
use std::sync::Arc;

use toml_edit::{ArrayOfTables, Decor, DocumentMut, Item, RawString, Table, Value};

use super::diagnostic::{Code, ConfigError, Problem};
use super::source::SourceFile;

/// The kinds of tables whose keys have a canonical order.
#[derive(Clone, Copy)]
enum Kind {
    Root,
    Its,
    Wds,
    Profile,
    Wec,
    Join,
    Rbac,
    Rule,
    /// `[group]`, `[rbac]`, `[wec]`: a table of named tables of kind `.0`.
    Named(&'static Kind),
    Other,
}

impl Kind {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Root => &["its", "wds", "defaults", "group", "rbac", "wec"],
            Kind::Its => &[
                "context",
                "kubeconfig",
                "hub_api_server",
                "ocm_version",
                "image_registry",
            ],
            Kind::Wds => &["context", "kubeconfig"],
            Kind::Profile => &["labels", "properties", "rbac", "register", "join"],
            Kind::Wec => &[
                "context",
                "kubeconfig",
                "groups",
                "labels",
                "properties",
                "rbac",
                "register",
                "join",
            ],
            Kind::Join => &["singleton", "force_internal_endpoint_lookup"],
            Kind::Rbac => &["mode", "namespace", "rules"],
            Kind::Rule => &["api_groups", "resources", "verbs", "resource_names"],
            Kind::Named(_) | Kind::Other => &[],
        }
    }

    fn child(self, key: &str) -> Kind {
        match (self, key) {
            (Kind::Root, "its") => Kind::Its,
            (Kind::Root, "wds") => Kind::Wds,
            (Kind::Root, "defaults") => Kind::Profile,
            (Kind::Root, "group") => Kind::Named(&Kind::Profile),
            (Kind::Root, "rbac") => Kind::Named(&Kind::Rbac),
            (Kind::Root, "wec") => Kind::Named(&Kind::Wec),
            (Kind::Named(inner), _) => *inner,
            (Kind::Profile | Kind::Wec, "join") => Kind::Join,
            (Kind::Rbac, "rules") => Kind::Rule,
            _ => Kind::Other,
        }
    }

    fn rank(self, key: &str) -> usize {
        let keys = self.keys();
        keys.iter().position(|k| *k == key).unwrap_or(keys.len())
    }
}

/// Formats `text`; `path` only names the file in syntax errors.
pub fn format(path: &Path, text: &str) -> Result<String, ConfigError> {
    let (header, body) = split_header(text);
    let mut doc: DocumentMut = body.parse().map_err(|err: toml_edit::TomlError| {
        let offset = header.len();
        let span = err
            .span()
            .map_or(offset..offset, |s| s.start + offset..s.end + offset);
        let problem = Problem::new(
            Code::Syntax,
            format!("invalid TOML: {}", err.message().trim_end()),
        )
        .label(span, "here")
        .help("`fleet fmt` formats valid TOML only; `fleet validate` lists every problem")
        .with_source(Arc::new(SourceFile::new(
            path.display().to_string(),
            Arc::<str>::from(text),
        )));
        ConfigError::Invalid {
            file: path.display().to_string(),
            problems: vec![problem],
        }
    })?;

    let mut position = 0;
    canonicalize(doc.as_table_mut(), Kind::Root, &mut position, true);
    doc.decor_mut().clear();
    let trailing = doc
        .trailing()
        .as_str()
        .map(|t| comment_block(&format!("{t}\n")).1)
        .unwrap_or_default();
    doc.set_trailing(RawString::from(if trailing.is_empty() {
        String::new()
    } else {
        format!("\n{trailing}")
    }));

    let rendered = doc.to_string();
    let mut out = header.to_owned();
    out.push_str(rendered.trim_start_matches('\n').trim_end());
    out.push('\n');
    Ok(out)
}

/// Splits off the comment block at the top of the file that a blank line separates from the
/// first table, so that it stays at the top whatever table comes first.
fn split_header(text: &str) -> (&str, &str) {
    let mut end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !(trimmed.is_empty() || trimmed.starts_with('#')) {
            break;
        }
        offset += line.len();
        if trimmed.is_empty() {
            end = offset;
        }
    }
    text.split_at(end)
}

/// The comment lines of a decor prefix, unindented, with runs of blank lines collapsed to
/// one; and whether it started with a blank line (which the caller decides to keep or not).
fn comment_block(raw: &str) -> (bool, String) {
    let mut out = String::new();
    let mut leading_blank = false;
    let mut blank = false;
    // The last segment is the indentation of the line the decor belongs to.
    let mut lines: Vec<&str> = raw.split('\n').collect();
    lines.pop();
    for line in lines.into_iter().map(str::trim) {
        if line.is_empty() {
            if out.is_empty() {
                leading_blank = true;
            } else {
                blank = true;
            }
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    if blank {
        out.push('\n');
    }
    (leading_blank, out)
}

fn prefix_of(decor: &Decor) -> (bool, String) {
    decor
        .prefix()
        .and_then(RawString::as_str)
        .map(comment_block)
        .unwrap_or_default()
}

/// A trailing `# comment`, keeping the spaces before it (aligned comments stay aligned).
fn trailing_comment(decor: &Decor) -> String {
    let Some(raw) = decor.suffix().and_then(RawString::as_str) else {
        return String::new();
    };
    let raw = raw.trim_end();
    match raw.trim_start().starts_with('#') {
        true if raw.starts_with([' ', '\t']) => raw.to_owned(),
        true => format!(" {raw}"),
        false => String::new(),
    }
}

fn canonicalize(table: &mut Table, kind: Kind, position: &mut isize, blank_line: bool) {
    reshape(table, kind);
    table.sort_values_by(|k1, _, k2, _| kind.rank(k1.get()).cmp(&kind.rank(k2.get())));
    tidy_values(table);

    // Header comments after one blank line; a table that belongs to the one above
    // (`[wec.NAME.join]`, `[[rbac.NAME.rules]]`) may follow it directly, as in design.md.
    let (had_blank, comments) = prefix_of(table.decor());
    let blank = if blank_line || had_blank { "\n" } else { "" };
    let suffix = trailing_comment(table.decor());
    table.decor_mut().set_prefix(format!("{blank}{comments}"));
    table.decor_mut().set_suffix(suffix);
    table.set_position(Some(*position));
    *position += 1;

    let mut children: Vec<String> = table
        .iter()
        .filter(|(_, item)| item.is_table() || item.is_array_of_tables())
        .map(|(key, _)| key.to_owned())
        .collect();
    children.sort_by_key(|key| kind.rank(key));
    for key in children {
        let child = kind.child(&key);
        let blank = !matches!(kind, Kind::Wec | Kind::Profile | Kind::Rbac);
        match table.get_mut(&key) {
            Some(Item::Table(t)) => canonicalize(t, child, position, blank),
            Some(Item::ArrayOfTables(array)) => {
                for t in array.iter_mut() {
                    canonicalize(t, child, position, blank);
                }
            }
            _ => {}
        }
    }
}

/// Converts between inline and standard tables where the canonical form says so.
fn reshape(table: &mut Table, kind: Kind) {
    if matches!(kind, Kind::Named(_)) && table.get_values().is_empty() {
        table.set_implicit(true);
    }
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_owned()).collect();
    for key in keys {
        let Some(item) = table.get_mut(&key) else {
            continue;
        };
        match (kind, key.as_str()) {
            (Kind::Profile | Kind::Wec, "labels" | "properties") => {
                if let Item::Table(t) = item
                    && !has_comments(t)
                {
                    let inline = std::mem::take(t).into_inline_table();
                    *item = Item::Value(Value::InlineTable(inline));
                }
            }
            (Kind::Profile | Kind::Wec, "join") => {
                if let Item::Value(Value::InlineTable(t)) = item {
                    let mut std_table = std::mem::take(t).into_table();
                    std_table.set_implicit(false);
                    *item = Item::Table(std_table);
                }
            }
            (Kind::Rbac, "rules") => {
                if let Item::Value(Value::Array(array)) = item
                    && array.iter().all(Value::is_inline_table)
                {
                    let mut tables = ArrayOfTables::new();
                    for value in std::mem::take(array) {
                        if let Value::InlineTable(t) = value {
                            tables.push(t.into_table());
                        }
                    }
                    *item = Item::ArrayOfTables(tables);
                }
            }
            _ => continue,
        }
        // The key moved between `key = …` and a `[header]`: its old spacing no longer fits.
        if let Some(mut k) = table.key_mut(&key) {
            let (_, comments) = prefix_of(k.leaf_decor());
            k.leaf_decor_mut().clear();
            if !comments.is_empty() {
                k.leaf_decor_mut().set_prefix(comments);
            }
        }
    }
}

fn has_comments(table: &Table) -> bool {
    let commented = |d: &Decor| {
        [d.prefix(), d.suffix()]
            .into_iter()
            .flatten()
            .filter_map(RawString::as_str)
            .any(|s| s.contains('#'))
    };
    commented(table.decor())
        || table.get_values().iter().any(|(keys, value)| {
            keys.iter().any(|k| commented(k.leaf_decor())) || commented(value.decor())
        })
}

/// `key = value` spacing, unindented keys, trailing comments kept where they were.
fn tidy_values(table: &mut Table) {
    let mut first = true;
    for (mut key, item) in table.iter_mut() {
        let Item::Value(value) = item else { continue };
        let (had_blank, comments) = prefix_of(key.leaf_decor());
        let blank = if had_blank && !first { "\n" } else { "" };
        key.leaf_decor_mut()
            .set_prefix(format!("{blank}{comments}"));
        key.leaf_decor_mut().set_suffix(" ");
        first = false;

        let trailing = trailing_comment(value.decor());
        let single_line = !value.to_string().contains('\n');
        if single_line {
            match value {
                Value::InlineTable(t) => t.fmt(),
                Value::Array(a) => a.fmt(),
                _ => {}
            }
        }
        value.decor_mut().set_prefix(" ");
        value.decor_mut().set_suffix(trailing);
    }
}
