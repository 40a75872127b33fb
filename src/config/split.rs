//! A large, well-formed `fleet.toml` decoded in pieces, one per core.
//!
//! Parsing and deserializing are linear in the file and single-threaded in toml: at 10,000
//! WECs they take most of `fleet validate`'s time. A file is cut at table headers into pieces
//! that are parsed and deserialized on their own threads, and the pieces' [`RawFleet`]s are
//! merged. This is only a faster way to the same result: whenever a piece does not stand on
//! its own (a syntax or shape problem, an entry in two pieces, a table defined twice or
//! extended in a way TOML forbids), [`decode`] gives up and the caller decodes the whole
//! file, which also reports the problems.
//!
//! Why the pieces mean the same as the whole: a piece that parses on its own ends outside any
//! string, array or inline table, so the next piece's first line is a table header in the
//! whole file too, and a header resets what keys belong to. What TOML carries across a header
//! is only which tables exist and how they were defined: a top-level table found in several
//! pieces is merged only if at most one of them defines it with its own `[table]` header and
//! the others only through headers of its entries (`[wec.a]`), and no entry is in two pieces.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::raw::RawFleet;

/// Smaller pieces are not worth a thread.
const PIECE_MIN: usize = 256 * 1024;
/// Beyond this many pieces the threads cost more than they save: each later piece is lexed
/// behind as many spaces as come before it.
const PIECES_MAX: usize = 4;

/// `text` decoded in parallel pieces, or `None` when it is too small to split or a piece
/// does not decode cleanly on its own (the caller then decodes it whole).
pub(super) fn decode(text: &str) -> Option<RawFleet> {
    decode_in(
        text,
        super::threads_for(text.len(), PIECE_MIN).min(PIECES_MAX),
    )
}

/// How a piece defines a top-level table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defined {
    /// By its own header, `[wec]`.
    Header,
    /// Only by the headers of its entries, `[wec.a]`.
    Entries,
    /// Inline (`wec = { … }`) or by dotted keys (`wec.a.labels = …`). No header may extend
    /// an inline table, and none may define a dotted one again; TOML does let `[wec.b]`
    /// follow `wec.a.labels = …`, but such a table is left to the whole-file decoder.
    Closed,
}

/// A piece decoded: its part of the fleet, and how it defines each top-level table.
struct Piece {
    raw: RawFleet,
    tables: Vec<(String, Defined)>,
}

/// [`decode`] in at most `pieces` pieces.
fn decode_in(text: &str, pieces: usize) -> Option<RawFleet> {
    let starts = starts(text, pieces);
    if starts.len() < 2 {
        return None;
    }
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    let decoded: Vec<Piece> =
        super::on_own_threads(starts.iter().copied().zip(ends), |(start, end)| {
            decode_piece(text, start, end)
        })
        .into_iter()
        .collect::<Option<_>>()?;
    if !mergeable(&decoded) {
        return None;
    }
    let mut decoded = decoded.into_iter().map(|piece| piece.raw);
    let mut merged = decoded.next()?;
    for raw in decoded {
        merge(&mut merged, raw)?;
    }
    Some(merged)
}

/// The piece `text[start..end]`. A later piece is parsed behind `start` spaces, so that every
/// span in it is an offset in the whole file, as diagnostics need.
fn decode_piece(text: &str, start: usize, end: usize) -> Option<Piece> {
    let padded;
    let piece = if start == 0 {
        &text[..end]
    } else {
        padded = " ".repeat(start) + &text[start..end];
        padded.as_str()
    };
    let (tree, errors) = DeTable::parse_recoverable(piece);
    if !errors.is_empty() {
        return None;
    }
    let tables = tree
        .get_ref()
        .iter()
        .filter(|(_, value)| matches!(value.get_ref(), DeValue::Table(_)))
        .map(|(key, value)| {
            (
                key.get_ref().to_string(),
                defined(piece, value.span().start),
            )
        })
        .collect();
    let raw = RawFleet::deserialize(toml::de::Deserializer::from(tree)).ok()?;
    Some(Piece { raw, tables })
}

/// How the top-level table whose value toml spans from `at` is defined: toml spans a table
/// defined by its header with that header (`[wec]`, even after `[wec.a]`), one defined
/// through its entries' headers with its name inside them (`[wec.a]`), and others with their
/// `{` or their dotted key. These spans are toml's (1.2) behaviour, not its documented
/// contract: the property test below fails if they change.
fn defined(piece: &str, at: usize) -> Defined {
    if piece[at..].starts_with('[') {
        Defined::Header
    } else if piece[..at].trim_end_matches([' ', '\t']).ends_with('[') {
        Defined::Entries
    } else {
        Defined::Closed
    }
}

/// Whether every top-level table found in several pieces may be merged: none closed, and at
/// most one header for it.
fn mergeable(pieces: &[Piece]) -> bool {
    let mut seen: BTreeMap<&str, Vec<Defined>> = BTreeMap::new();
    for piece in pieces {
        for (name, how) in &piece.tables {
            seen.entry(name).or_default().push(*how);
        }
    }
    seen.values().all(|hows| {
        hows.len() == 1
            || (!hows.contains(&Defined::Closed)
                && hows.iter().filter(|&&h| h == Defined::Header).count() <= 1)
    })
}

/// Adds a later piece to `into`, or `None` if they both define `[its]`, `[wds]`,
/// `[defaults]` or one entry (the whole file decides whether that is an error, and reports it
/// if so).
fn merge(into: &mut RawFleet, piece: RawFleet) -> Option<()> {
    let RawFleet {
        its,
        wds,
        defaults,
        group,
        rbac,
        wec,
    } = piece;
    fn one<T>(into: &mut Option<T>, piece: Option<T>) -> Option<()> {
        match (into.is_some(), piece) {
            (true, Some(_)) => None,
            (_, piece @ Some(_)) => {
                *into = piece;
                Some(())
            }
            (_, None) => Some(()),
        }
    }
    fn entries<V>(
        into: &mut BTreeMap<Spanned<String>, V>,
        mut piece: BTreeMap<Spanned<String>, V>,
    ) -> Option<()> {
        if piece.keys().any(|name| into.contains_key(name)) {
            return None;
        }
        into.append(&mut piece);
        Some(())
    }
    one(&mut into.its, its)?;
    one(&mut into.wds, wds)?;
    one(&mut into.defaults, defaults)?;
    entries(&mut into.group, group)?;
    entries(&mut into.rbac, rbac)?;
    entries(&mut into.wec, wec)
}

/// Where each piece starts: 0, then a table header near each `pieces`-th of the file. A cut
/// goes before a header that starts another entry than the header above it (`[wec.b]` after
/// `[wec.a.join]`, not `[wec.a.join]` after `[wec.a]`), so one entry stays in one piece.
fn starts(text: &str, pieces: usize) -> Vec<usize> {
    let mut starts = vec![0];
    for i in 1..pieces {
        let from = text.len() / pieces * i;
        match cut(text.as_bytes(), from.max(starts[starts.len() - 1] + 1)) {
            Some(at) => starts.push(at),
            None => break,
        }
    }
    starts
}

/// The first header line at or after `from` whose entry differs from the header's above it.
fn cut(bytes: &[u8], from: usize) -> Option<usize> {
    let mut previous = header_before(bytes, from).map(|at| entry(&bytes[at..]));
    let mut at = from;
    while let Some(found) = find_header(bytes, at) {
        let this = entry(&bytes[found..]);
        if previous.as_ref() != Some(&this) {
            return Some(found);
        }
        previous = Some(this);
        at = found + 1;
    }
    None
}

/// The start of the first line at or after `from` (never 0: the first piece starts there)
/// that begins with `[`.
fn find_header(bytes: &[u8], from: usize) -> Option<usize> {
    let from = from.max(1);
    bytes
        .get(from - 1..)?
        .windows(2)
        .position(|w| w == b"\n[")
        .map(|i| from + i)
}

/// The start of the last line before `from` that begins with `[`.
fn header_before(bytes: &[u8], from: usize) -> Option<usize> {
    let head = bytes.get(..from)?;
    head.windows(2)
        .rposition(|w| w == b"\n[")
        .map(|i| i + 1)
        .or_else(|| (head.first() == Some(&b'[')).then_some(0))
}

/// A header's first two keys, which name the entry it belongs to, without brackets, quotes
/// or spaces: `[wec.a.join]`, `[ wec."a" ]` and `[[wec.a.rules]]` are all `wec.a`. (A quoted
/// key holding a dot or a bracket is misread: that only costs a cut the merge then refuses.)
fn entry(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in line {
        match b {
            b'[' | b' ' | b'\t' | b'"' | b'\'' => {}
            b']' | b'\n' => break,
            b'.' if out.contains(&b'.') => break,
            _ => out.push(b),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the whole file decodes to, spans included.
    fn whole(text: &str) -> String {
        let (tree, errors) = DeTable::parse_recoverable(text);
        assert!(errors.is_empty(), "{errors:?}");
        let raw = RawFleet::deserialize(toml::de::Deserializer::from(tree)).expect("decodes");
        format!("{raw:?}")
    }

    fn fleet(wecs: usize) -> String {
        let mut text = String::from(
            "[its]\ncontext = \"its1\"\n\n[defaults]\nlabels = { env = \"prod\" }\n\n[group.edge]\nlabels = { tier = \"edge\" }\n\n",
        );
        for i in 0..wecs {
            text.push_str(&format!(
                "[wec.w{i}]\ngroups = [\"edge\"]\nlabels = {{ name = \"w{i}\" }}\n\n[wec.w{i}.join]\nsingleton = true\n\n\
                 [rbac.r{i}]\nmode = \"direct\"\n[[rbac.r{i}.rules]]\napi_groups = [\"\"]\nresources = [\"configmaps\"]\nverbs = [\"get\"]\n\n"
            ));
        }
        text
    }

    #[test]
    fn pieces_decode_to_what_the_whole_file_does_spans_included() {
        let text = fleet(40);
        for pieces in 2..=6 {
            assert!(starts(&text, pieces).len() == pieces, "{pieces} pieces");
            let raw = decode_in(&text, pieces).expect("the pieces stand on their own");
            assert_eq!(format!("{raw:?}"), whole(&text), "{pieces} pieces");
        }
    }

    #[test]
    fn a_table_defined_by_its_header_takes_entries_from_later_pieces() {
        let wecs = (0..8)
            .map(|i| format!("[wec.w{i}]\nlabels = {{ n = \"{i}\" }}\n"))
            .collect::<String>();
        let text = format!("[its]\ncontext = \"a\"\n[wec]\nx = {{ groups = [] }}\n{wecs}");
        for pieces in 2..=4 {
            let raw = decode_in(&text, pieces).expect("the pieces stand on their own");
            assert_eq!(format!("{raw:?}"), whole(&text), "{pieces} pieces");
        }
    }

    #[test]
    fn a_cut_keeps_an_entrys_subtables_with_it() {
        let text = fleet(4);
        for pieces in 2..=8 {
            for &at in &starts(&text, pieces)[1..] {
                let line = text[at..].lines().next().unwrap();
                assert!(
                    !line.ends_with(".join]") && !line.starts_with("[[rbac."),
                    "{pieces} pieces: a cut at {line}"
                );
            }
        }
    }

    #[test]
    fn what_only_the_whole_file_can_judge_is_left_to_it() {
        let wecs = (0..8)
            .map(|i| format!("[wec.w{i}]\nlabels = {{ n = \"{i}\" }}\n"))
            .collect::<String>();
        let cases = [
            // Inline tables cannot be extended by a later header.
            format!("[its]\ncontext = \"a\"\n{wecs}").replacen(
                "[its]",
                "wec = { w9 = {} }\n[its]",
                1,
            ),
            // A table defined in two pieces.
            format!("[its]\ncontext = \"a\"\n{wecs}[its]\ncontext = \"b\"\n"),
            format!("[defaults]\nlabels = {{}}\n{wecs}[defaults.join]\nsingleton = true\n"),
            format!("{wecs}{wecs}"),
            // Syntax and shape problems.
            format!("[its]\ncontext = \"a\"\n{wecs}[wec.x]\nlabels = {{ n = }}\n"),
            format!("[its]\ncontext = \"a\"\n{wecs}[wec.x]\nlables = {{}}\n"),
            // A table defined by its header twice, or by dotted keys and then by its header.
            format!("[its]\ncontext = \"a\"\n[wec]\nx = {{}}\n{wecs}[wec]\ny = {{}}\n"),
            format!("wec.x.labels = {{}}\n[its]\ncontext = \"a\"\n{wecs}[wec]\ny = {{}}\n"),
            // A header inside a multi-line string is text, not a place to cut.
            format!("[its]\ncontext = \"\"\"\n{wecs}\"\"\"\n"),
        ];
        // Some of these are valid TOML that the pieces leave to the whole file all the same
        // (`[defaults]` then `[defaults.join]`; the multi-line string).
        for text in &cases {
            for pieces in 2..=4 {
                assert!(
                    decode_in(text, pieces).is_none(),
                    "{pieces} pieces of {text}"
                );
            }
        }
    }

    #[test]
    fn small_or_headerless_files_are_not_cut() {
        assert_eq!(starts("[its]\ncontext = \"a\"\n", 2), vec![0]);
        assert_eq!(starts("its.context = \"a\"\n", 4), vec![0]);
        assert!(decode("[its]\ncontext = \"a\"\n").is_none());
    }

    #[test]
    fn entries_are_named_by_their_first_two_keys() {
        for header in [
            "[wec.a.join]\nx",
            "[wec.a]\n",
            "[ wec.\"a\" ]",
            "[[wec.a.rules]]",
        ] {
            assert_eq!(entry(header.as_bytes()), b"wec.a", "{header}");
        }
        assert_eq!(entry(b"[its]\n"), b"its");
        assert_eq!(header_before(b"[its]\nx = 1\n", 8), Some(0));
        assert_eq!(header_before(b"x = 1\n[a]\ny = 2\n", 12), Some(6));
        assert_eq!(find_header(b"x = 1\n[a]\n", 0), Some(6));
    }

    /// Pieces of a fleet.toml, valid or not on their own and in any order: `#` stands for the
    /// fragment's place in the file, so most names are distinct and the fixed ones collide:
    /// tables defined twice, extended by later headers, inline, dotted, array tables, a
    /// header inside a multi-line string, syntax and shape errors.
    const FRAGMENTS: &[&str] = &[
        "[wec.w#]\nlabels = { n = \"#\" }\n",
        "[wec.w#]\ngroups = [\"g\"]\n[wec.w#.join]\nsingleton = true\n",
        "[wec.w#.join]\nsingleton = false\n",
        "[group.g#]\nlabels = { g = \"#\" }\n",
        "[rbac.r#]\nnamespace = \"n\"\n[[rbac.r#.rules]]\nverbs = [\"get\"]\n",
        "[its]\ncontext = \"a\"\n",
        "its.context = \"a\"\n",
        "[defaults]\nlabels = { a = \"1\" }\n",
        "[defaults.join]\nsingleton = true\n",
        "[wec.a]\nlabels = { n = \"a\" }\n",
        "[wec.a.join]\nsingleton = false\n",
        "[group.g]\nlabels = { g = \"1\" }\n",
        "group = { h = { labels = {} } }\n",
        "[group]\nk# = { labels = {} }\n",
        "wec = { e = {} }\n",
        "wec.f#.labels = { n = \"f\" }\n",
        "[wec]\ng# = { groups = [] }\n",
        "[[wec]]\nname = \"x\"\n",
        "[rbac.r]\nnamespace = \"n\"\n",
        "[[rbac.r.rules]]\nverbs = [\"list\"]\n",
        "[rbac.s#]\r\nmode = \"direct\"\r\n[[rbac.s#.rules]]\r\nverbs = [\"get\"]\r\n",
        "  [wec.i#]\nlabels = {}\n",
        "[wec.\"q#\"]\n[ wec.q# . join ]\nsingleton = true\n",
        "# [wec.x]\n[wec.k#] # [wec.y]\n",
        "[wec.c#]\nproperties = { p = \"\"\"\n[wec.d#]\n\"\"\" }\n",
        "[wec.d#]\nlables = {}\n",
        "[wec.h#]\nlabels = { n = }\n",
        "x = \"\"\"\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Whatever the file, the pieces decode to what the whole file does, or leave it to
        /// the whole file.
        #[test]
        fn pieces_agree_with_the_whole_file(
            // The first five fragments (valid, distinct) are picked most often.
            picks in proptest::collection::vec(
                prop_oneof![3 => 0..5usize, 1 => 0..FRAGMENTS.len()],
                1..16,
            ),
            pieces in 2usize..5,
        ) {
            let text: String = picks
                .iter()
                .enumerate()
                .map(|(at, &i)| FRAGMENTS[i].replace('#', &at.to_string()))
                .collect();
            if let Some(raw) = decode_in(&text, pieces) {
                let (tree, errors) = DeTable::parse_recoverable(&text);
                prop_assert!(errors.is_empty(), "pieces accepted what the whole file does not: {text}");
                let whole = RawFleet::deserialize(toml::de::Deserializer::from(tree));
                prop_assert!(whole.is_ok(), "pieces accepted what the whole file does not: {text}");
                prop_assert_eq!(format!("{raw:?}"), format!("{:?}", whole.unwrap()));
            }
        }
    }
}
