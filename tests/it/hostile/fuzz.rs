//! Property tests of `validate` and `fmt` on generated `fleet.toml` documents: every table
//! of the contract in random order and form (inline tables, dotted keys, `[sub.tables]`,
//! `[[rules]]`), comments everywhere TOML allows them, odd and Unicode keys and values,
//! strings in all four TOML forms, LF or CRLF; and the same documents with a few bytes
//! mangled.
//!
//! Checked: nothing panics (loading, rendering the diagnostics, locating them); `fmt`
//! formats every document the `toml` crate (a second parser) accepts, keeps every value
//! (compared through `toml`) and every comment (a multiset of comment texts, found by this
//! file's own lexer), and is idempotent; formatting never changes what the file means.
//!
//! A normal `cargo test` tries a few dozen documents. The long run:
//!
//! ```text
//! FLEET_FUZZ_SECONDS=600 cargo test --release --test it hostile::fuzz -- --nocapture
//! ```
//!
//! prints how many documents it tried (`PROPTEST_CASES` sets the number per round).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Every comment of a TOML text, `# …` without trailing blanks: a line-by-line lexer of its
/// own (not the one `fmt` uses), aware of the four kinds of strings.
pub fn comments(text: &str) -> Vec<String> {
    #[derive(PartialEq)]
    enum In {
        Code,
        Basic,
        Literal,
        MultiBasic,
        MultiLiteral,
    }
    let mut state = In::Code;
    let mut out = Vec::new();
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        if matches!(state, In::Basic | In::Literal) {
            state = In::Code; // single-line strings end with their line
        }
        while i < chars.len() {
            let rest = &chars[i..];
            let starts = |s: &str| rest.iter().copied().take(s.len()).eq(s.chars());
            match state {
                In::Code => {
                    if chars[i] == '#' {
                        let comment: String = chars[i..].iter().collect();
                        out.push(comment.trim_end().to_owned());
                        break;
                    } else if starts("\"\"\"") {
                        state = In::MultiBasic;
                        i += 3;
                    } else if starts("'''") {
                        state = In::MultiLiteral;
                        i += 3;
                    } else if chars[i] == '"' {
                        state = In::Basic;
                        i += 1;
                    } else if chars[i] == '\'' {
                        state = In::Literal;
                        i += 1;
                    } else {
                        i += 1;
                    }
                }
                In::Basic | In::MultiBasic if chars[i] == '\\' => i += 2,
                In::Basic if chars[i] == '"' => {
                    state = In::Code;
                    i += 1;
                }
                In::Literal if chars[i] == '\'' => {
                    state = In::Code;
                    i += 1;
                }
                In::MultiBasic | In::MultiLiteral => {
                    let quote = if state == In::MultiBasic { '"' } else { '\'' };
                    if rest.len() >= 3 && rest[..3].iter().all(|&c| c == quote) {
                        // The closing quotes are the last three of the run.
                        let mut run = 0;
                        while run < rest.len() && rest[run] == quote && run < 5 {
                            run += 1;
                        }
                        i += run;
                        state = In::Code;
                    } else {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
    }
    out
}

// ----- generators -------------------------------------------------------------------

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        "[ a-zé😀ü\u{5d0}-\u{5d4}\u{301}#\"'\\[\\]={}]{0,16}",
        Just("[its] context = \"x\" # nested".to_owned()),
    ]
    .prop_map(|t| format!("#{t}").trim_end().to_owned())
}

/// Comment lines before an item (with blank lines among them, sometimes).
fn comments_before() -> impl Strategy<Value = String> {
    vec((comment(), any::<bool>()), 0..3).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(c, blank)| format!("{}{c}\n", if blank { "\n" } else { "" }))
            .collect()
    })
}

fn trailing() -> impl Strategy<Value = String> {
    option::weighted(0.3, (comment(), select(vec![" ", "  ", "\t"])))
        .prop_map(|c| c.map_or(String::new(), |(c, sp)| format!("{sp}{c}")))
}

fn indent() -> impl Strategy<Value = &'static str> {
    select(vec!["", "", "", "  ", "\t"])
}

fn equals() -> impl Strategy<Value = &'static str> {
    select(vec![" = ", " = ", "=", " =\t", "  =  "])
}

/// Text for string values: plain, Unicode, anything printable.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9][a-z0-9.-]{0,10}",
        1 => "[a-zA-Z0-9 ._/:#'\"\\\\-]{0,12}",
        1 => "[éü😀\u{5d0}\u{301}\u{202e} a-z\n\t]{0,8}",
        1 => "\\PC{0,6}",
    ]
}

/// `s` as a TOML string in one of its four forms (falling back to a basic string).
fn encode(s: &str, style: u8) -> String {
    let basic = |s: &str, multi: bool| {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' if multi => out.push('\n'),
                '\n' => out.push_str("\\n"),
                '\t' => out.push('\t'),
                c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
                c => out.push(c),
            }
        }
        out
    };
    let literal_ok = !s
        .chars()
        .any(|c| c == '\'' || (c.is_control() && c != '\t'));
    match style % 4 {
        1 if literal_ok => format!("'{s}'"),
        2 => format!("\"\"\"{}\"\"\"", basic(s, true)),
        3 if literal_ok && !s.ends_with('\'') => format!("'''{}'''", s),
        3 if !s.contains('\'') => format!("'''\n{s}'''").replace('\n', "\n"),
        _ => format!("\"{}\"", basic(s, false)),
    }
}

fn string() -> impl Strategy<Value = String> {
    (text(), any::<u8>()).prop_map(|(s, style)| encode(&s, style))
}

/// A key: bare, quoted, empty, dotted-looking, Unicode.
fn odd_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-zA-Z0-9_-]{0,10}",
        1 => select(vec!["a b", "a.b", "", "é", "x/y", "example.com/tier", "\u{202e}x", "max-pods", "type", "1x", "app.kubernetes.io/part-of", "cluster.open-cluster-management.io/clusterset"]).prop_map(str::to_owned),
        1 => "\\PC{0,5}",
    ]
    .prop_flat_map(|k| (Just(k), any::<u8>()))
    .prop_map(|(k, style)| {
        let bare = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if bare { k } else { encode(&k, style % 2) }
    })
}

/// A string → string map, as an inline table (one line, or TOML 1.1 multi-line with
/// comments).
fn inline_map() -> impl Strategy<Value = String> {
    (vec((odd_key(), string(), trailing()), 0..4), any::<bool>()).prop_map(|(entries, multi)| {
        let entries = dedup(entries, |e| e.0.clone());
        if multi && !entries.is_empty() {
            let mut out = "{\n".to_owned();
            for (k, v, t) in entries {
                out.push_str(&format!("  {k} = {v},{t}\n"));
            }
            out.push('}');
            out
        } else {
            let items: Vec<String> = entries
                .into_iter()
                .map(|(k, v, _)| format!("{k} = {v}"))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
    })
}

fn dedup<T>(items: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(normalize_key(&key(i))))
        .collect()
}

/// Keys that TOML sees as the same (`a`, `"a"`, `'a'`) collide.
fn normalize_key(key: &str) -> String {
    toml::from_str::<toml::Table>(&format!("{key} = 1"))
        .ok()
        .and_then(|t| t.keys().next().cloned())
        .unwrap_or_else(|| key.to_owned())
}

/// An array of strings, on one line or several with comments inside.
fn string_array() -> impl Strategy<Value = String> {
    (
        vec((string(), trailing()), 0..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(items, multi, comma)| {
            if multi && !items.is_empty() {
                let mut out = "[\n".to_owned();
                for (v, t) in items {
                    out.push_str(&format!("    {v},{t}\n"));
                }
                out.push(']');
                out
            } else {
                let items: Vec<String> = items.into_iter().map(|(v, _)| v).collect();
                format!(
                    "[{}{}]",
                    items.join(", "),
                    if comma && !items.is_empty() { "," } else { "" }
                )
            }
        })
}

/// Any value, for keys that may be wrong on purpose.
fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => string(),
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => Just("1979-05-27T07:32:00Z".to_owned()),
        1 => Just("0.5".to_owned()),
        1 => string_array(),
        1 => inline_map(),
    ]
}

/// `key = value` lines of a table: each with comments before, an indent and a trailing
/// comment.
fn lines(entries: Vec<(String, String)>) -> impl Strategy<Value = String> {
    let n = entries.len();
    (
        Just(entries),
        vec((comments_before(), indent(), equals(), trailing()), n),
    )
        .prop_map(|(entries, decor)| {
            entries
                .into_iter()
                .zip(decor)
                .map(|((k, v), (before, indent, eq, t))| format!("{before}{indent}{k}{eq}{v}{t}\n"))
                .collect()
        })
}

fn header(path: String, array: bool) -> impl Strategy<Value = String> {
    (comments_before(), trailing(), any::<bool>()).prop_map(move |(before, t, blank)| {
        let (open, close) = if array { ("[[", "]]") } else { ("[", "]") };
        format!(
            "{}{before}{open}{path}{close}{t}\n",
            if blank { "\n" } else { "" }
        )
    })
}

/// A table: its header, then `key = value` lines.
fn table(path: String, entries: Vec<(String, String)>) -> BoxedStrategy<String> {
    (header(path, false), lines(entries))
        .prop_map(|(h, l)| format!("{h}{l}"))
        .boxed()
}

fn its() -> impl Strategy<Value = String> {
    (
        string(),
        option::of(string()),
        option::of(select(vec![
            "\"https://its1.example.com:6443\"",
            "\"http://its1\"",
            "\"its1:6443\"",
        ])),
        option::weighted(0.2, (odd_key(), any_value())),
    )
        .prop_flat_map(|(context, kubeconfig, hub, extra)| {
            let mut entries = vec![("context".to_owned(), context)];
            if let Some(k) = kubeconfig {
                entries.push(("kubeconfig".into(), k));
            }
            if let Some(h) = hub {
                entries.push(("hub_api_server".into(), h.to_owned()));
            }
            entries.extend(extra);
            table("its".into(), dedup(entries, |e| e.0.clone()))
        })
}

/// `labels` or `properties` of a profile, in one of three forms: `key = { … }` (`None`
/// returned for the sub-table), dotted keys, or a `[path.key]` sub-table (returned).
fn map_in(
    path: String,
    key: &'static str,
) -> impl Strategy<Value = (Vec<(String, String)>, Option<String>)> {
    (0u8..3, inline_map(), vec((odd_key(), string()), 1..3)).prop_flat_map(
        move |(form, inline, dotted)| {
            let dotted = dedup(dotted, |e| e.0.clone());
            match form {
                0 => Just((vec![(key.to_owned(), inline)], None)).boxed(),
                1 => Just((
                    dotted
                        .into_iter()
                        .map(|(k, v)| (format!("{key}.{k}"), v))
                        .collect(),
                    None,
                ))
                .boxed(),
                _ => table(format!("{path}.{key}"), dotted)
                    .prop_map(|t| (Vec::new(), Some(t)))
                    .boxed(),
            }
        },
    )
}

/// `[defaults]`, `[group.X]` or `[wec.X]`.
fn profile(path: String, wec: bool) -> impl Strategy<Value = String> {
    (
        option::of(map_in(path.clone(), "labels")),
        option::of(map_in(path.clone(), "properties")),
        option::of(string_array()),
        option::of(string_array()),
        option::of(any::<bool>()),
        option::of((0u8..2, any::<bool>(), any::<bool>())),
        option::of(string()),
        option::weighted(0.15, (odd_key(), any_value())),
    )
        .prop_flat_map(
            move |(labels, properties, groups, rbac, register, join, context, extra)| {
                let mut entries = Vec::new();
                let mut subs = Vec::new();
                if wec && let Some(c) = context {
                    entries.push(("context".to_owned(), c));
                }
                if wec && let Some(g) = groups {
                    entries.push(("groups".to_owned(), g));
                }
                for (lines, sub) in [labels, properties].into_iter().flatten() {
                    entries.extend(lines);
                    subs.extend(sub);
                }
                if let Some(r) = rbac {
                    entries.push(("rbac".to_owned(), r));
                }
                if let Some(r) = register {
                    entries.push(("register".to_owned(), r.to_string()));
                }
                let mut join_table = None;
                if let Some((form, singleton, force)) = join {
                    let inner = format!(
                        "singleton = {singleton}, force_internal_endpoint_lookup = {force}"
                    );
                    if form == 0 {
                        entries.push(("join".to_owned(), format!("{{ {inner} }}")));
                    } else {
                        join_table = Some(vec![
                            ("singleton".to_owned(), singleton.to_string()),
                            (
                                "force_internal_endpoint_lookup".to_owned(),
                                force.to_string(),
                            ),
                        ]);
                    }
                }
                entries.extend(extra);
                let entries = dedup(entries, |e| {
                    e.0.split('.').next().unwrap_or_default().to_owned()
                });
                let join = match join_table {
                    Some(j) => table(format!("{}.join", path), j).prop_map(Some).boxed(),
                    None => Just(None).boxed(),
                };
                (table(path.clone(), entries), Just(subs), join).prop_map(|(t, subs, join)| {
                    let mut out = t;
                    for s in subs {
                        out.push_str(&s);
                    }
                    out.extend(join);
                    out
                })
            },
        )
}

fn rule() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        option::of(string_array()),
        option::of(string_array()),
        option::of(string_array()),
        option::weighted(0.2, string_array()),
    )
        .prop_map(|(groups, resources, verbs, names)| {
            [
                ("api_groups", groups),
                ("resources", resources),
                ("verbs", verbs),
                ("resource_names", names),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect()
        })
}

fn rbac(name: String) -> impl Strategy<Value = String> {
    (
        select(vec!["\"direct\"", "\"downsync\"", "\"Direct\""]),
        option::of(string()),
        vec(rule(), 0..3),
        0u8..3,
        vec((comment(), any::<bool>()), 3),
    )
        .prop_flat_map(move |(mode, namespace, rules, form, notes)| {
            let path = format!("rbac.{name}");
            let mut entries = vec![("mode".to_owned(), mode.to_owned())];
            if let Some(ns) = namespace {
                entries.push(("namespace".to_owned(), ns));
            }
            let inline = |r: &Vec<(String, String)>| {
                let items: Vec<String> = r.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", items.join(", "))
            };
            match form {
                // rules = [{ … }, { … }] on one line
                0 if !rules.is_empty() => {
                    let items: Vec<String> = rules.iter().map(inline).collect();
                    entries.push(("rules".to_owned(), format!("[{}]", items.join(", "))));
                    table(path, entries)
                }
                // a multi-line array with comments around and inside
                1 if !rules.is_empty() => {
                    let mut array = format!("[ {}\n", notes[0].0);
                    for r in &rules {
                        if notes[1].1 {
                            array.push_str(&format!("  {}\n", notes[1].0));
                        }
                        array.push_str(&format!(
                            "  {},{}\n",
                            inline(r),
                            if notes[2].1 {
                                format!(" {}", notes[2].0)
                            } else {
                                String::new()
                            }
                        ));
                    }
                    array.push_str(&format!("  {}\n]", notes[2].0));
                    entries.push(("rules".to_owned(), array));
                    table(path, entries)
                }
                _ => {
                    let rule_tables: Vec<BoxedStrategy<String>> = rules
                        .into_iter()
                        .map(|r| {
                            (header(format!("{path}.rules"), true), lines(r))
                                .prop_map(|(h, l)| format!("{h}{l}"))
                                .boxed()
                        })
                        .collect();
                    (table(path, entries), rule_tables)
                        .prop_map(|(t, rules)| format!("{t}{}", rules.concat()))
                        .boxed()
                }
            }
        })
}

/// A name for `[group.X]`, `[rbac.X]` or `[wec.X]`, sometimes not a bare key; unique by `i`.
fn name(i: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9-]{0,8}".prop_map(move |n| format!("{n}{i}")),
        1 => "\\PC{0,4}".prop_map(move |n| encode(&format!("{n} {i}"), 0)),
        1 => Just(format!("Cluster_{i}")),
    ]
}

/// A whole document: sections in random order, then LF or CRLF.
pub fn document() -> impl Strategy<Value = String> {
    (
        comments_before(),
        its(),
        option::of(table(
            "wds".into(),
            vec![("context".into(), "\"wds1\"".into())],
        )),
        option::of(profile("defaults".into(), false)),
        vec(
            name(0).prop_flat_map(|n| profile(format!("group.{n}"), false)),
            0..3,
        ),
        (0..3usize).prop_flat_map(|n| {
            (0..n)
                .map(|i| name(100 + i).prop_flat_map(rbac).boxed())
                .collect::<Vec<_>>()
        }),
        (0..4usize).prop_flat_map(|n| {
            (0..n)
                .map(|i| {
                    name(200 + i)
                        .prop_flat_map(|n| profile(format!("wec.{n}"), true))
                        .boxed()
                })
                .collect::<Vec<_>>()
        }),
        comments_before(),
        any::<bool>(),
    )
        .prop_flat_map(|(top, its, wds, defaults, groups, rbac, wecs, end, crlf)| {
            let mut sections = vec![its];
            sections.extend(wds);
            sections.extend(defaults);
            sections.extend(groups);
            sections.extend(rbac);
            sections.extend(wecs);
            (
                Just(top),
                Just(sections).prop_shuffle(),
                Just(end),
                Just(crlf),
            )
        })
        .prop_map(|(top, sections, end, crlf)| {
            let mut doc = format!("{top}\n{}{end}", sections.concat());
            if crlf {
                doc = doc.replace('\n', "\r\n");
            }
            doc
        })
}

/// A document with a few bytes deleted, duplicated or replaced.
fn mangled() -> impl Strategy<Value = String> {
    (
        document(),
        vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..4),
    )
        .prop_map(|(doc, edits)| {
            let mut chars: Vec<char> = doc.chars().collect();
            for (at, how, c) in edits {
                if chars.is_empty() {
                    break;
                }
                let i = at.index(chars.len());
                match how {
                    0 => {
                        chars.remove(i);
                    }
                    1 => chars.insert(i, chars[i]),
                    2 => chars[i] = c,
                    _ => chars.insert(i, select_special(c)),
                }
            }
            chars.into_iter().collect()
        })
}

fn select_special(c: char) -> char {
    const SPECIAL: [char; 12] = [
        '[', ']', '{', '}', '"', '\'', '=', '.', '#', '\n', '\r', ',',
    ];
    SPECIAL[c as usize % SPECIAL.len()]
}

// ----- properties -------------------------------------------------------------------

/// `validate` never panics, and its diagnostics render and locate.
fn check_validate(doc: &str) -> Result<(), TestCaseError> {
    let problems = match fleet::config::from_str(Path::new("fleet.toml"), doc) {
        Ok(loaded) => loaded.warnings,
        Err(err) => {
            let rendered = crate::common::render(&err);
            prop_assert!(rendered.len() < 2 * doc.len() + 200_000);
            err.problems().to_vec()
        }
    };
    for problem in &problems {
        let _ = crate::common::render(problem);
        for span in problem.spans() {
            prop_assert!(span.offset() + span.len() <= doc.len() + 1);
            let _ = problem.line_column(span.offset());
        }
    }
    Ok(())
}

/// `fmt` keeps values and comments, is idempotent, and never changes the file's meaning.
fn check_fmt(doc: &str) -> Result<(), TestCaseError> {
    let path = Path::new("fleet.toml");
    let formatted = fleet::config::format::format(path, doc);
    let Ok(before) = toml::from_str::<toml::Table>(doc) else {
        return Ok(()); // not TOML to the second parser: only no panic
    };
    let out = match formatted {
        Ok(out) => out,
        Err(err) => {
            return Err(TestCaseError::fail(format!(
                "valid TOML not formatted: {}\n{doc}",
                crate::common::render(&err)
            )));
        }
    };
    let after = toml::from_str::<toml::Table>(&out)
        .map_err(|e| TestCaseError::fail(format!("fmt made invalid TOML: {e}\n{out}")))?;
    prop_assert_eq!(&before, &after, "values changed:\n{}\n---\n{}", doc, out);
    let mut was = comments(doc);
    let mut now = comments(&out);
    was.sort();
    now.sort();
    prop_assert_eq!(was, now, "comments changed:\n{}\n---\n{}", doc, out);
    let again = fleet::config::format::format(path, &out)
        .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert_eq!(&again, &out, "not idempotent:\n{}", doc);
    let crlf_in = doc.contains("\r\n");
    prop_assert!(crlf_in || !out.contains('\r'), "CR added");
    // A CRLF file gets no new bare LF (one inside a multi-line string is part of a value).
    let bare = |text: &str| {
        text.match_indices('\n')
            .filter(|(i, _)| *i == 0 || text.as_bytes()[i - 1] != b'\r')
            .count()
    };
    if doc.split('\n').next().is_some_and(|l| l.ends_with('\r')) {
        prop_assert!(bare(&out) <= bare(doc), "mixed line endings:\n{:?}", out);
    }
    // The same fleet (or the same codes of the same problems).
    let meaning = |text: &str| match fleet::config::from_str(path, text) {
        Ok(loaded) => Ok(loaded.fleet),
        Err(err) => {
            let mut codes: Vec<&str> = err.problems().iter().map(|p| p.code().as_str()).collect();
            codes.sort();
            Err(codes)
        }
    };
    match (meaning(doc), meaning(&out)) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(a), Err(b)) => prop_assert_eq!(a, b, "problems changed:\n{}\n---\n{}", doc, out),
        (a, b) => {
            return Err(TestCaseError::fail(format!(
                "fmt changed validity: {:?} → {:?}\n{doc}\n---\n{out}",
                a.is_ok(),
                b.is_ok()
            )));
        }
    }
    Ok(())
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

/// Runs `check` on `strategy` for a few cases, or, with `FLEET_FUZZ_SECONDS`, in rounds of
/// `PROPTEST_CASES` until that much time has passed; returns how many it tried.
fn run<S: Strategy<Value = String>>(
    what: &str,
    strategy: S,
    check: impl Fn(&str) -> Result<(), TestCaseError>,
) {
    let budget = std::env::var("FLEET_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let per_round = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if budget.is_some() { 2_000 } else { 12 });
    let tried = AtomicUsize::new(0);
    let start = Instant::now();
    loop {
        let mut runner = TestRunner::new(config(per_round));
        let result = runner.run(&strategy, |doc| {
            tried.fetch_add(1, Ordering::Relaxed);
            check(&doc)
        });
        if let Err(e) = result {
            panic!("{what}: {e}");
        }
        match budget {
            Some(budget) if start.elapsed() < budget => continue,
            _ => break,
        }
    }
    if budget.is_some() {
        eprintln!(
            "{what}: {} documents in {:.0?}",
            tried.load(Ordering::Relaxed),
            start.elapsed()
        );
    }
}

#[test]
fn validate_never_panics_on_generated_documents() {
    run("validate, generated", document(), check_validate);
}

#[test]
fn validate_never_panics_on_mangled_documents() {
    run("validate, mangled", mangled(), check_validate);
}

#[test]
fn fmt_keeps_values_and_comments_of_generated_documents() {
    run("fmt, generated", document(), check_fmt);
}

#[test]
fn fmt_is_safe_on_mangled_documents() {
    run("fmt, mangled", mangled(), check_fmt);
}

#[test]
fn the_lexer_finds_comments_not_hashes_in_strings() {
    let text = "a = \"#x\" # one\nb = '''\n# not\n''' # two\nc = \"\"\"\\\"\"\"#\"\"\" #three\r\n";
    assert_eq!(comments(text), ["# one", "# two", "#three"]);
}
