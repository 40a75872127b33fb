//! A YAML-like printer for JSON values, the way Kubernetes objects are usually read: block
//! mappings and sequences, strings JSON-quoted (so `"true"` stays a string), short scalar
//! lists in flow style so that a changed list shows as one changed line.

use serde_json::Value;

/// Values up to this many characters stay on one line.
const INLINE_MAX: usize = 48;

/// A scalar as JSON (strings quoted), a list of scalars in flow style (`["get", "list"]`),
/// `[]` and `{}`; `None` for anything that needs several lines.
fn flow(v: &Value) -> Option<String> {
    match v {
        Value::Array(a) if a.iter().all(|x| !(x.is_array() || x.is_object())) => {
            let items: Vec<String> = a.iter().map(|x| x.to_string()).collect();
            let s = format!("[{}]", items.join(", "));
            (s.chars().count() <= INLINE_MAX).then_some(s)
        }
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        Value::Array(_) | Value::Object(_) => None,
        scalar => Some(scalar.to_string()),
    }
}

/// A mapping key, quoted only when it is not a plain Kubernetes-style name.
fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
    if plain {
        k.to_owned()
    } else {
        Value::from(k).to_string()
    }
}

/// A value as YAML-like lines, the way Kubernetes objects are usually read: block mappings
/// and sequences, strings JSON-quoted (so `"true"` stays a string), short scalar lists in
/// flow style so that a changed list shows as one changed line.
pub(crate) fn yamlish(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    yaml_into(v, 0, &mut out);
    out
}

fn yaml_into(v: &Value, indent: usize, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    if let Some(s) = flow(v) {
        out.push(format!("{pad}{s}"));
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match (flow(val), val) {
                    (Some(s), _) => out.push(format!("{pad}{}: {s}", key(k))),
                    (None, Value::Array(_)) => {
                        out.push(format!("{pad}{}:", key(k)));
                        yaml_into(val, indent, out);
                    }
                    (None, _) => {
                        out.push(format!("{pad}{}:", key(k)));
                        yaml_into(val, indent + 2, out);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match flow(item) {
                    Some(s) => out.push(format!("{pad}- {s}")),
                    None => {
                        let mut sub = Vec::new();
                        yaml_into(item, indent + 2, &mut sub);
                        if let Some(first) = sub.first_mut() {
                            *first = format!("{pad}- {}", &first[indent + 2..]);
                        }
                        out.extend(sub);
                    }
                }
            }
        }
        _ => unreachable!("scalars are flow"),
    }
}

/// A value on one line, or `None` when it should be shown as indented lines instead.
pub(crate) fn inline(v: &Value) -> Option<String> {
    flow(v).or_else(|| {
        let s = serde_json::to_string(v).expect("JSON values serialize");
        (s.chars().count() <= INLINE_MAX).then_some(s)
    })
}

pub(crate) fn block(v: &Value) -> String {
    let mut s = yamlish(v).join("\n");
    s.push('\n');
    s
}
