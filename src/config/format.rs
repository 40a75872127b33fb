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

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use toml_edit::{ArrayOfTables, Decor, DocumentMut, InlineTable, Item, RawString, Table, Value};

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
///
/// The file's line endings are kept: a file whose first line ends in `\r\n` comes out with
/// `\r\n` throughout. Every comment of `text` is in the result; should a conversion between
/// inline and standard tables lose one, the file is formatted again without converting, and
/// if a comment is still missing, formatting fails rather than drop it.
pub fn format(path: &Path, text: &str) -> Result<String, ConfigError> {
    let fail = |problem: Problem| ConfigError::Invalid {
        file: path.display().to_string(),
        problems: vec![problem.with_source(Arc::new(SourceFile::new(
            path.display().to_string(),
            Arc::<str>::from(text),
        )))],
    };
    // Syntax errors are reported against the text as written.
    let (header, body) = split_header(text);
    body.parse::<DocumentMut>()
        .map_err(|err: toml_edit::TomlError| {
            let offset = header.len();
            let span = err
                .span()
                .map_or(offset..offset, |s| s.start + offset..s.end + offset);
            fail(
                Problem::new(
                    Code::Syntax,
                    format!("invalid TOML: {}", err.message().trim_end()),
                )
                .label(span, "here")
                .help("`fleet fmt` formats valid TOML only; `fleet validate` lists every problem"),
            )
        })?;

    let crlf = text
        .find('\n')
        .is_some_and(|at| at > 0 && text.as_bytes()[at - 1] == b'\r');
    let before = comments(text);
    let mut out = format_text(text, true);
    if let Some(lost) = lost_comment(&before, &comments(&out)) {
        out = format_text(text, false);
        if lost_comment(&before, &comments(&out)).is_some() {
            return Err(fail(
                Problem::new(
                    Code::Syntax,
                    "`fleet fmt` cannot keep this comment; the file is left unchanged",
                )
                .label(lost, "this comment")
                .help("please report this file; move the comment onto a line of its own above a key to format the file"),
            ));
        }
    }
    Ok(with_line_endings(&out, crlf))
}

/// Formats `text` (valid TOML); `convert` turns inline `join` and `rules` into tables and
/// `labels` / `properties` tables into inline ones. Line endings are left to the caller.
fn format_text(text: &str, convert: bool) -> String {
    let (header, body) = split_header(text);
    let Ok(mut doc) = body.parse::<DocumentMut>() else {
        return text.to_owned();
    };
    let mut position = 0;
    canonicalize(doc.as_table_mut(), Kind::Root, &mut position, true, convert);
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
    let body = rendered.trim_start_matches('\n').trim_end();
    if body.is_empty() {
        // Nothing but the comment block (or nothing at all).
        let header = header.trim_end();
        return if header.is_empty() {
            String::new()
        } else {
            format!("{header}\n")
        };
    }
    let mut out = header.to_owned();
    out.push_str(body);
    out.push('\n');
    out
}

/// `text` with every line break outside multi-line strings written as `\r\n` (`crlf`) or
/// `\n`. Line breaks inside a multi-line string are part of its value and stay as written.
fn with_line_endings(text: &str, crlf: bool) -> String {
    let newline = if crlf { "\r\n" } else { "\n" };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                out.push_str(&text[copied..i]);
                out.push_str(newline);
                i += 2;
                copied = i;
            }
            b'\n' => {
                out.push_str(&text[copied..i]);
                out.push_str(newline);
                i += 1;
                copied = i;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' | b'\'' => i = string_end(bytes, i),
            _ => i += 1,
        }
    }
    out.push_str(&text[copied.min(text.len())..]);
    out
}

/// Where the TOML string starting at `bytes[start]` (a quote) ends: after its closing
/// quote(s), or at the line break that cuts a one-line string short, or at the end.
/// Multi-line strings (`"""`, `'''`) may end with up to two more quotes of their own.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start;
    if bytes[i..].starts_with(&[quote; 3]) {
        i += 3;
        while i < bytes.len() {
            if quote == b'"' && bytes[i] == b'\\' {
                i += 2;
            } else if bytes[i..].starts_with(&[quote; 3]) {
                i += 3;
                for _ in 0..2 {
                    if bytes.get(i) == Some(&quote) {
                        i += 1;
                    }
                }
                return i;
            } else {
                i += 1;
            }
        }
        return i;
    }
    i += 1;
    while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
        if quote == b'"' && bytes[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    if bytes.get(i) == Some(&quote) {
        i += 1;
    }
    i
}

/// Every comment of a TOML text: where it starts and its text (`# …`, trailing spaces
/// and `\r` dropped). Strings are skipped, so a `#` inside one is not a comment.
pub fn comments(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                out.push((start, text[start..i].trim_end()));
            }
            b'"' | b'\'' => i = string_end(bytes, i),
            _ => i += 1,
        }
    }
    out
}

/// The span of a comment of `before` that `after` does not have (as many times).
fn lost_comment(before: &[(usize, &str)], after: &[(usize, &str)]) -> Option<Range<usize>> {
    let mut left: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (_, c) in after {
        *left.entry(c).or_default() += 1;
    }
    before.iter().find_map(|(at, c)| match left.get_mut(c) {
        Some(n) if *n > 0 => {
            *n -= 1;
            None
        }
        _ => Some(*at..*at + c.len()),
    })
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

fn canonicalize(
    table: &mut Table,
    kind: Kind,
    position: &mut isize,
    blank_line: bool,
    convert: bool,
) {
    if convert {
        reshape(table, kind);
    } else if matches!(kind, Kind::Named(_))
        && table.get_values().is_empty()
        && !decor_has_comments(table.decor())
    {
        table.set_implicit(true);
    }
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
            Some(Item::Table(t)) => canonicalize(t, child, position, blank, convert),
            Some(Item::ArrayOfTables(array)) => {
                for t in array.iter_mut() {
                    canonicalize(t, child, position, blank, convert);
                }
            }
            _ => {}
        }
    }
}

/// Converts between inline and standard tables where the canonical form says so, moving
/// every comment of the converted value onto the resulting table(s).
fn reshape(table: &mut Table, kind: Kind) {
    if matches!(kind, Kind::Named(_))
        && table.get_values().is_empty()
        && !decor_has_comments(table.decor())
    {
        table.set_implicit(true);
    }
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_owned()).collect();
    for key in keys {
        // Comments on the `key = …` line and before it.
        let (key_comments, value_comment) = match (table.key(&key), table.get(&key)) {
            (Some(k), Some(Item::Value(v))) => (
                prefix_of(k.leaf_decor()).1,
                trailing_comment(v.decor()).trim().to_owned(),
            ),
            _ => (String::new(), String::new()),
        };
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
                continue;
            }
            (Kind::Profile | Kind::Wec, "join") => {
                let Item::Value(Value::InlineTable(inline)) = item else {
                    continue;
                };
                let (mut std_table, inner) = inline_to_table(inline);
                std_table.set_implicit(false);
                std_table
                    .decor_mut()
                    .set_prefix(format!("{key_comments}{inner}"));
                if !value_comment.is_empty() {
                    std_table
                        .decor_mut()
                        .set_suffix(format!(" {value_comment}"));
                }
                *item = Item::Table(std_table);
            }
            (Kind::Rbac, "rules") => {
                let Item::Value(Value::Array(array)) = item else {
                    continue;
                };
                if array.is_empty() || !array.iter().all(Value::is_inline_table) {
                    continue;
                }
                let mut tables = ArrayOfTables::new();
                let mut before = key_comments;
                for value in array.iter() {
                    let Value::InlineTable(inline) = value else {
                        continue;
                    };
                    before.push_str(&comment_lines(inline.decor()));
                    let (mut rule, inner) = inline_to_table(inline);
                    rule.decor_mut().set_prefix(format!("{before}{inner}"));
                    tables.push(rule);
                    before = String::new();
                }
                // After the last rule: the array's trailing comments and the line's own.
                let mut after = comments_in(array.trailing().as_str().unwrap_or_default());
                if !value_comment.is_empty() {
                    after.push_str(&value_comment);
                    after.push('\n');
                }
                if let Some(last) = tables.iter_mut().last() {
                    let prefix = last
                        .decor()
                        .prefix()
                        .and_then(RawString::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    last.decor_mut().set_prefix(format!("{prefix}{after}"));
                }
                *item = Item::ArrayOfTables(tables);
            }
            _ => continue,
        }
        // The key moved from `key = …` to a `[header]`: its comments went with the table.
        if let Some(mut k) = table.key_mut(&key) {
            k.leaf_decor_mut().clear();
        }
    }
}

/// A standard table with the entries of `inline`, each keeping its key's comments and its
/// trailing comment; and the comments of `inline` that belong to no entry (before `}`).
fn inline_to_table(inline: &InlineTable) -> (Table, String) {
    let mut table = Table::new();
    for (name, _) in inline.iter() {
        if let Some((key, value)) = inline.get_key_value(name) {
            table.insert_formatted(key, value.clone());
        }
    }
    let trailing = comments_in(inline.trailing().as_str().unwrap_or_default());
    (table, trailing)
}

/// The comment lines (`# …\n`) in a decor's prefix and suffix.
fn comment_lines(decor: &Decor) -> String {
    [decor.prefix(), decor.suffix()]
        .into_iter()
        .flatten()
        .filter_map(RawString::as_str)
        .map(comments_in)
        .collect()
}

/// The comments in raw whitespace-and-comments text, one `# …\n` line each.
fn comments_in(raw: &str) -> String {
    raw.lines()
        .filter_map(|line| line.find('#').map(|at| line[at..].trim_end()))
        .map(|c| format!("{c}\n"))
        .collect()
}

fn decor_has_comments(decor: &Decor) -> bool {
    [decor.prefix(), decor.suffix()]
        .into_iter()
        .flatten()
        .filter_map(RawString::as_str)
        .any(|s| s.contains('#'))
}

fn has_comments(table: &Table) -> bool {
    decor_has_comments(table.decor())
        || table.get_values().iter().any(|(keys, value)| {
            keys.iter()
                .any(|k| decor_has_comments(k.leaf_decor()) || decor_has_comments(k.dotted_decor()))
                || decor_has_comments(value.decor())
        })
}

/// Canonical spacing inside a one-line array or inline table, nested ones included: the
/// entries of a dotted inline table (`x = { a.b = [1,] }`) are formatted as they will be
/// once they are read back as a dotted table, so that formatting is idempotent.
fn fmt_single_line(value: &mut Value) {
    match value {
        Value::InlineTable(t) => {
            for (_, inner) in t.iter_mut() {
                fmt_single_line(inner);
            }
            t.fmt();
        }
        Value::Array(a) => a.fmt(),
        _ => {}
    }
}

/// The keys of a dotted inline table (`b` and `c` of `a.b.c = 1`): no spacing around them.
fn tidy_dotted(table: &mut InlineTable) {
    for (mut key, value) in table.iter_mut() {
        key.leaf_decor_mut().clear();
        key.dotted_decor_mut().clear();
        match value {
            Value::InlineTable(t) if t.is_dotted() => tidy_dotted(t),
            value => tidy_value(value),
        }
    }
}

/// ` value # trailing comment`: one space before, the trailing comment kept, and a
/// one-line array or inline table in canonical form.
fn tidy_value(value: &mut Value) {
    let trailing = trailing_comment(value.decor());
    // Whether the value itself spans lines (not the spacing around it, which goes).
    value.decor_mut().set_prefix(" ");
    value.decor_mut().set_suffix("");
    if !value.to_string().contains('\n') {
        fmt_single_line(value);
    }
    value.decor_mut().set_suffix(trailing);
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
        match value {
            // `a.b = …` from inside an inline table: the spacing it had there goes.
            Value::InlineTable(t) if t.is_dotted() => {
                key.dotted_decor_mut().clear();
                tidy_dotted(t);
            }
            value => tidy_value(value),
        }
    }
}
