//! Where each key path of a TOML text is defined, in document order: enough to point a
//! "duplicate key" error at the first definition as well as the second.
//!
//! toml's parser reports a duplicate at the second definition only, and forgets the first
//! (a re-opened `[table]` takes the new header's span). This walk over the text records every
//! header, key and dotted-key prefix with its resolved path (array-of-tables elements as
//! `[i]`). It is lenient, never fails and always advances: on text it does not understand it
//! skips to the end of the line. It runs only when the file has a duplicate key.

use std::collections::HashMap;
use std::ops::Range;

/// How a path came to be defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// `[a.b]`: the last key of a table header.
    Header,
    /// `[[a.b]]`: the last key of an array-of-tables header.
    ArrayHeader,
    /// `a` in `[a.b]` or `[[a.b]]`: a table created implicitly by a header.
    Implicit,
    /// `x = …` (also inside an inline table).
    Key,
    /// `labels` in `labels.x = …`: a table created by a dotted key.
    Dotted,
}

/// One definition: the resolved path and the span of its last key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Definition {
    pub path: Vec<String>,
    pub span: Range<usize>,
    pub how: How,
}

/// Nesting of arrays and inline tables followed; deeper values are skipped.
const MAX_DEPTH: usize = 64;

/// Every definition in `text`, in document order.
pub(crate) fn definitions(text: &str) -> Vec<Definition> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        defs: Vec::new(),
        arrays: HashMap::new(),
    };
    scanner.document();
    scanner.defs
}

/// The first definition of the path defined at `span` (a duplicate's key), if it was
/// defined before.
pub(crate) fn first_definition<'d>(
    defs: &'d [Definition],
    span: &Range<usize>,
) -> Option<(&'d Definition, &'d Definition)> {
    let again = defs
        .iter()
        .rev()
        .find(|d| d.span.start <= span.start && span.start < d.span.end.max(d.span.start + 1))?;
    let first = defs
        .iter()
        .take_while(|d| d.span.start < again.span.start)
        .find(|d| d.path == again.path)?;
    Some((first, again))
}

struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    defs: Vec<Definition>,
    /// Elements seen so far of each array of tables.
    arrays: HashMap<Vec<String>, usize>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at(&self, s: &str) -> bool {
        self.bytes[self.pos.min(self.bytes.len())..].starts_with(s.as_bytes())
    }

    fn spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Spaces, line breaks and comments.
    fn blank(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'#') => self.rest_of_line(),
                _ => return,
            }
        }
    }

    fn rest_of_line(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    fn document(&mut self) {
        let mut table: Vec<String> = Vec::new();
        loop {
            self.blank();
            let Some(c) = self.peek() else { return };
            let start = self.pos;
            if c == b'[' {
                let array = self.at("[[");
                self.pos += if array { 2 } else { 1 };
                let keys = self.keys();
                table = self.header(&keys, array);
                self.rest_of_line();
            } else {
                let keys = self.keys();
                if !keys.is_empty() {
                    let path = self.define(&table, &keys);
                    self.spaces();
                    if self.peek() == Some(b'=') {
                        self.pos += 1;
                        self.value(&path, 0);
                    }
                }
                self.rest_of_line();
            }
            if self.pos == start {
                self.pos += 1;
            }
        }
    }

    /// Records a header's keys; returns the path of the table it opens.
    fn header(&mut self, keys: &[(String, Range<usize>)], array: bool) -> Vec<String> {
        let mut path = Vec::new();
        for (i, (key, span)) in keys.iter().enumerate() {
            path.push(key.clone());
            let last = i + 1 == keys.len();
            let how = match (last, array) {
                (false, _) => How::Implicit,
                (true, false) => How::Header,
                (true, true) => How::ArrayHeader,
            };
            self.defs.push(Definition {
                path: path.clone(),
                span: span.clone(),
                how,
            });
            if last && array {
                let seen = self.arrays.entry(path.clone()).or_insert(0);
                *seen += 1;
                let index = *seen - 1;
                path.push(format!("[{index}]"));
            } else if let Some(&seen) = self.arrays.get(&path) {
                path.push(format!("[{}]", seen.saturating_sub(1)));
            }
        }
        path
    }

    /// Records `a.b.c` under `table`; returns the full path of `c`.
    fn define(&mut self, table: &[String], keys: &[(String, Range<usize>)]) -> Vec<String> {
        let mut path = table.to_vec();
        for (i, (key, span)) in keys.iter().enumerate() {
            path.push(key.clone());
            self.defs.push(Definition {
                path: path.clone(),
                span: span.clone(),
                how: if i + 1 == keys.len() {
                    How::Key
                } else {
                    How::Dotted
                },
            });
        }
        path
    }

    /// A dotted key: its decoded parts and their spans. Empty when there is none here.
    fn keys(&mut self) -> Vec<(String, Range<usize>)> {
        let mut keys = Vec::new();
        loop {
            self.spaces();
            let start = self.pos;
            let key = match self.peek() {
                Some(b'"') => self.basic_string().map(|raw| unescape(&raw)),
                Some(b'\'') => self.literal_string(),
                Some(c) if is_bare(c) => {
                    while self.peek().is_some_and(is_bare) {
                        self.pos += 1;
                    }
                    Some(self.text[start..self.pos].to_owned())
                }
                _ => None,
            };
            let Some(key) = key else { break };
            keys.push((key, start..self.pos));
            self.spaces();
            if self.peek() == Some(b'.') {
                self.pos += 1;
            } else {
                break;
            }
        }
        keys
    }

    fn value(&mut self, path: &[String], depth: usize) {
        self.spaces();
        match self.peek() {
            Some(b'"') if self.at("\"\"\"") => self.multi_line(b'"'),
            Some(b'\'') if self.at("'''") => self.multi_line(b'\''),
            Some(b'"') => {
                self.basic_string();
            }
            Some(b'\'') => {
                self.literal_string();
            }
            Some(b'{') if depth < MAX_DEPTH => self.inline_table(path, depth),
            Some(b'[') if depth < MAX_DEPTH => self.array(path, depth),
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b']' | b'}' | b'\n' | b'\r' | b'#') {
                        break;
                    }
                    self.pos += 1;
                }
            }
        }
    }

    /// Skips blanks and separating commas inside an inline table or array; false at its end
    /// (the `close` byte, consumed, or the end of the text).
    fn next_item(&mut self, close: u8) -> bool {
        loop {
            self.blank();
            match self.peek() {
                None => return false,
                Some(b) if b == close => {
                    self.pos += 1;
                    return false;
                }
                Some(b',') => self.pos += 1,
                _ => return true,
            }
        }
    }

    fn inline_table(&mut self, path: &[String], depth: usize) {
        self.pos += 1;
        while self.next_item(b'}') {
            let keys = self.keys();
            if keys.is_empty() {
                return;
            }
            let inner = self.define(path, &keys);
            self.spaces();
            if self.peek() != Some(b'=') {
                return;
            }
            self.pos += 1;
            self.value(&inner, depth + 1);
        }
    }

    fn array(&mut self, path: &[String], depth: usize) {
        self.pos += 1;
        let mut index = 0;
        while self.next_item(b']') {
            let before = self.pos;
            let mut element = path.to_vec();
            element.push(format!("[{index}]"));
            self.value(&element, depth + 1);
            index += 1;
            if self.pos == before {
                // Something this walk does not understand: leave the array.
                return;
            }
        }
    }

    /// `"…"` on one line; returns its raw content.
    fn basic_string(&mut self) -> Option<String> {
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'\\' => self.pos += 2,
                b'"' => {
                    let raw = self.text.get(start..self.pos).map(str::to_owned);
                    self.pos += 1;
                    return raw;
                }
                b'\n' => return None,
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.bytes.len());
        None
    }

    /// `'…'` on one line.
    fn literal_string(&mut self) -> Option<String> {
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'\'' => {
                    let raw = self.text.get(start..self.pos).map(str::to_owned);
                    self.pos += 1;
                    return raw;
                }
                b'\n' => return None,
                _ => self.pos += 1,
            }
        }
        None
    }

    /// `"""…"""` or `'''…'''`, up to two more quotes before the closing ones included.
    fn multi_line(&mut self, quote: u8) {
        self.pos += 3;
        while let Some(c) = self.peek() {
            if c == b'\\' && quote == b'"' {
                self.pos += 2;
            } else if c == quote && self.bytes[self.pos..].starts_with(&[quote; 3]) {
                self.pos += 3;
                for _ in 0..2 {
                    if self.peek() == Some(quote) {
                        self.pos += 1;
                    }
                }
                return;
            } else {
                self.pos += 1;
            }
        }
        self.pos = self.pos.min(self.bytes.len());
    }
}

fn is_bare(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// The value of a basic string's escapes (invalid ones are kept as written).
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| {
            let digits: String = chars.by_ref().take(n).collect();
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
        };
        match e {
            'b' => out.push('\u{8}'),
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'f' => out.push('\u{c}'),
            'r' => out.push('\r'),
            'e' => out.push('\u{1b}'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'x' => out.extend(hex(&mut chars, 2)),
            'u' => out.extend(hex(&mut chars, 4)),
            'U' => out.extend(hex(&mut chars, 8)),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn paths(text: &str) -> Vec<(String, How)> {
        definitions(text)
            .into_iter()
            .map(|d| (d.path.join("."), d.how))
            .collect()
    }

    #[test]
    fn headers_keys_and_arrays_of_tables() {
        let text = "a = 1\n[wec.\"c 1\"]\nlabels.x = \"1\" # c\n[[rbac.r.rules]]\nverbs = [\"get\"]\n[[rbac.r.rules]]\nx = { y = [{ z = 1 }] }\n";
        assert_eq!(
            paths(text),
            [
                ("a".into(), How::Key),
                ("wec".into(), How::Implicit),
                ("wec.c 1".into(), How::Header),
                ("wec.c 1.labels".into(), How::Dotted),
                ("wec.c 1.labels.x".into(), How::Key),
                ("rbac".into(), How::Implicit),
                ("rbac.r".into(), How::Implicit),
                ("rbac.r.rules".into(), How::ArrayHeader),
                ("rbac.r.rules.[0].verbs".into(), How::Key),
                ("rbac".into(), How::Implicit),
                ("rbac.r".into(), How::Implicit),
                ("rbac.r.rules".into(), How::ArrayHeader),
                ("rbac.r.rules.[1].x".into(), How::Key),
                ("rbac.r.rules.[1].x.y".into(), How::Key),
                ("rbac.r.rules.[1].x.y.[0].z".into(), How::Key),
            ]
        );
    }

    #[test]
    fn the_first_definition_of_a_duplicate() {
        let text = "[wec.a]\ncontext = \"a\"\n[wec.a]\nlabels.x = \"1\"\nlabels = {}\n";
        let defs = definitions(text);
        let second = text.rfind("a]").unwrap();
        let (first, again) = first_definition(&defs, &(second..second + 1)).unwrap();
        assert_eq!((first.span.start, again.span.start), (5, second));
        let labels = text.rfind("labels").unwrap();
        let (first, _) = first_definition(&defs, &(labels..labels + 6)).unwrap();
        assert_eq!(
            (first.span.clone(), first.how),
            (
                text.find("labels").unwrap()..text.find("labels").unwrap() + 6,
                How::Dotted
            )
        );
    }

    #[test]
    fn strings_and_escapes() {
        let text = "\"a\\u0041\\\"\" = \"\"\"\nx = 1\n\"\"\"\n'b.c' = '''\n[x]'''\n";
        assert_eq!(
            paths(text),
            [("aA\"".into(), How::Key), ("b.c".into(), How::Key)]
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let text = format!("a = {}{}\n[b]\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(paths(&text).contains(&("b".into(), How::Header)));
    }

    proptest! {
        /// Any text: no panic, and it terminates.
        #[test]
        fn never_panics(text in "[\\[\\]{}=.,\"'#a-c \n\\\\]{0,80}") {
            let _ = definitions(&text);
        }
    }
}
