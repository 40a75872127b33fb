//! The views of `fleet status`: a table for a terminal (`--wide` adds columns), a Markdown
//! table, and versioned JSON.
//!
//! # Status report, `format_version` 1.1
//!
//! Same versioning rules as the plan document (see [`super::json`]); 1.1 added `lock`.
//!
//! ```text
//! {
//!   "format_version": "1.1",
//!   "report":       "status",
//!   "its_context":  string,
//!   "at":           string,                RFC 3339: when the status was read
//!   "incomplete":   bool,                  something could not be read
//!   "summary": {"wecs": n, "healthy": n, "unhealthy": n, "unmanaged": n},
//!   "wecs": [{
//!     "name":         string,
//!     "managed":      bool,                in fleet.toml (false: an unmanaged ManagedCluster)
//!     "context":      string | null,
//!     "registration": "absent" | "joined" | "csr-pending" | "accepted" | "Joined"
//!                     | "Available" | null (unknown),
//!     "joined":    {"status": "True" | "False" | "Unknown", "since": string | null} | null,
//!     "available": {"status": …, "since": …} | null,
//!     "agent_lease": {"renewed": string, "age_seconds": n, "grace_seconds": n} | null,
//!     "labels" | "properties" | "rbac": {"state": "none" | "in-sync" | "pending" |
//!                     "drifted" | "blocked" | "unknown", "changes": n, "manager": string | null},
//!     "cluster_set":  string | null,
//!     "kubernetes":   string | null,
//!     "healthy":      bool,
//!     "problems":     [string]               what is wrong, most important first
//!   }],
//!   "unreadable": [{"location": string, "error": string, "help": string | null}],
//!   "lock": {                              the apply lock on the ITS (null: not read)
//!     "state":   "free" | "held" | "unknown",
//!     "id":      string | null,            the holder's lock id (`fleet unlock` takes it)
//!     "who":     string | null,            user@host
//!     "ci_job":  string | null,            the holder's CI job URL
//!     "since":   string | null,            RFC 3339
//!     "expires": string | null,            RFC 3339: unless renewed
//!     "error":   string | null             why it could not be read
//!   }
//! }
//! ```

use k8s_openapi::jiff::Timestamp;
use owo_colors::Style;
use serde::Serialize;

use super::human::Painter;
use super::words::{age, problem_text, sync_text};
use crate::model::text::plural;
use crate::status::{ApplyLock, CondStatus, Condition, FleetStatus, Sync, WecStatus};

/// The status document's schema version.
pub const FORMAT_VERSION: &str = "1.1";

/// `True 2h`, `Unknown 40s`, `-`.
fn condition_cell(c: Option<Condition>, now: Timestamp) -> String {
    match c {
        None => "-".to_owned(),
        Some(c) => {
            let status = cond_name(c.status);
            match c.since {
                Some(t) => format!("{status} {}", age(t, now)),
                None => status.to_owned(),
            }
        }
    }
}

fn cond_name(s: CondStatus) -> &'static str {
    match s {
        CondStatus::True => "True",
        CondStatus::False => "False",
        CondStatus::Unknown => "Unknown",
    }
}

fn lease_cell(row: &WecStatus, now: Timestamp) -> String {
    row.heartbeat
        .map(|b| format!("{} ago", age(b.renewed, now)))
        .unwrap_or_else(|| "-".to_owned())
}

fn registration_cell(row: &WecStatus) -> String {
    if !row.managed {
        return "unmanaged".to_owned();
    }
    row.registration
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The reason column: `healthy`, or the problems.
fn reason(row: &WecStatus) -> String {
    if row.healthy() {
        return "healthy".to_owned();
    }
    row.problems
        .iter()
        .map(problem_text)
        .collect::<Vec<_>>()
        .join("; ")
}

fn cells(row: &WecStatus, wide: bool, now: Timestamp) -> Vec<String> {
    let mut c = vec![
        row.wec.to_string(),
        registration_cell(row),
        condition_cell(row.joined, now),
        condition_cell(row.available, now),
        lease_cell(row, now),
        sync_text(&row.labels),
        sync_text(&row.properties),
        sync_text(&row.rbac),
    ];
    if wide {
        c.push(row.context.clone().unwrap_or_else(|| "-".into()));
        c.push(row.cluster_set.clone().unwrap_or_else(|| "-".into()));
        c.push(row.kubernetes.clone().unwrap_or_else(|| "-".into()));
    }
    c.push(reason(row));
    c
}

fn headers(wide: bool) -> Vec<&'static str> {
    let mut h = vec![
        "WEC",
        "REGISTRATION",
        "JOINED",
        "AVAILABLE",
        "AGENT LEASE",
        "LABELS",
        "PROPERTIES",
        "RBAC",
    ];
    if wide {
        h.extend(["CONTEXT", "CLUSTERSET", "KUBERNETES"]);
    }
    h.push("STATUS");
    h
}

fn summary_line(s: &FleetStatus) -> String {
    let managed: Vec<&WecStatus> = s.managed().collect();
    let healthy = managed.iter().filter(|r| r.healthy()).count();
    let unmanaged = s.rows.len() - managed.len();
    let mut line = format!(
        "{}: {healthy} healthy, {} not",
        plural(managed.len(), "WEC", "WECs"),
        managed.len() - healthy
    );
    if unmanaged > 0 {
        line.push_str(&format!("; {unmanaged} unmanaged ManagedCluster"));
        if unmanaged > 1 {
            line.push('s');
        }
    }
    line.push('.');
    line
}

/// `Apply lock: free.`, `Apply lock: held by `id` (who, job) since 5m ago, expires in 40s.`,
/// `Apply lock: unknown (why).`; `None` when it was not asked for.
fn lock_line(s: &FleetStatus) -> Option<String> {
    let now = s.at;
    let text = match s.lock.as_ref()? {
        ApplyLock::Free => "free".to_owned(),
        ApplyLock::Held {
            id,
            who,
            ci_job,
            since,
            expires,
        } => {
            let mut t = format!("held by `{id}`");
            let whom: Vec<&str> = [who.as_deref(), ci_job.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !whom.is_empty() {
                t.push_str(&format!(" ({})", whom.join(", ")));
            }
            if let Some(since) = since {
                t.push_str(&format!(" since {} ago", age(*since, now)));
            }
            if let Some(expires) = expires {
                t.push_str(&format!(", expires in {}", age(now, *expires)));
            }
            t
        }
        ApplyLock::Unknown(why) => format!("unknown ({why})"),
    };
    Some(format!("Apply lock: {text}."))
}

/// The table for a terminal.
pub fn human(s: &FleetStatus, its_context: &str, wide: bool, color: bool) -> String {
    let p = Painter { color };
    let now = s.at;
    let rows: Vec<Vec<String>> = s.rows.iter().map(|r| cells(r, wide, now)).collect();
    let heads = headers(wide);
    let mut widths: Vec<usize> = heads.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let last = heads.len() - 1;
    let line = |cells: &[String]| -> String {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = format!(
        "fleet status — ITS {its_context}, {}\n\n",
        now.round(k8s_openapi::jiff::Unit::Second).unwrap_or(now)
    );
    let head: Vec<String> = heads.iter().map(|h| (*h).to_owned()).collect();
    out.push_str(&p.paint(&line(&head), Style::new().bold()));
    out.push('\n');
    for (row, r) in s.rows.iter().zip(&rows) {
        let text = line(r);
        let style = if row.healthy() {
            Style::new()
        } else if row.managed {
            Style::new().yellow()
        } else {
            Style::new().dimmed()
        };
        out.push_str(&p.paint(&text, style));
        out.push('\n');
    }
    if s.rows.is_empty() {
        out.push_str("(no WEC matches)\n");
    }
    for (place, why) in &s.unreadable {
        out.push_str(&format!("\n? {place} could not be read: {why}\n"));
        if let Some(help) = why.help() {
            out.push_str(&format!("    help: {help}\n"));
        }
    }
    out.push('\n');
    out.push_str(&summary_line(s));
    out.push('\n');
    if let Some(lock) = lock_line(s) {
        out.push_str(&lock);
        out.push('\n');
    }
    out
}

/// A Markdown table (for an issue or a PR comment).
pub fn markdown(s: &FleetStatus, its_context: &str, wide: bool) -> String {
    let now = s.at;
    let escape = |c: &str| c.replace('|', "\\|");
    let heads = headers(wide);
    let mut out = format!("### fleet status — ITS `{its_context}`\n\n");
    out.push_str(&format!("| {} |\n", heads.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(heads.len())));
    for r in &s.rows {
        let cells: Vec<String> = cells(r, wide, now).iter().map(|c| escape(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    for (place, why) in &s.unreadable {
        out.push_str(&format!(
            "\n> **{place} could not be read:** {}\n",
            escape(&why.to_string())
        ));
    }
    out.push_str(&format!("\n{}\n", summary_line(s)));
    if let Some(lock) = lock_line(s) {
        out.push_str(&format!("\n{}\n", escape(&lock)));
    }
    out
}

#[derive(Serialize)]
struct JsonStatus<'a> {
    format_version: &'static str,
    report: &'static str,
    its_context: &'a str,
    at: String,
    incomplete: bool,
    summary: JsonSummary,
    wecs: Vec<JsonWec>,
    unreadable: Vec<super::json::JsonUnreadable>,
    lock: Option<JsonLock>,
}

#[derive(Serialize)]
struct JsonLock {
    state: &'static str,
    id: Option<String>,
    who: Option<String>,
    ci_job: Option<String>,
    since: Option<String>,
    expires: Option<String>,
    error: Option<String>,
}

fn json_lock(lock: &ApplyLock) -> JsonLock {
    let none = JsonLock {
        state: "free",
        id: None,
        who: None,
        ci_job: None,
        since: None,
        expires: None,
        error: None,
    };
    match lock {
        ApplyLock::Free => none,
        ApplyLock::Held {
            id,
            who,
            ci_job,
            since,
            expires,
        } => JsonLock {
            state: "held",
            id: Some(id.clone()),
            who: who.clone(),
            ci_job: ci_job.clone(),
            since: since.map(|t| t.to_string()),
            expires: expires.map(|t| t.to_string()),
            ..none
        },
        ApplyLock::Unknown(why) => JsonLock {
            state: "unknown",
            error: Some(why.clone()),
            ..none
        },
    }
}

#[derive(Serialize)]
struct JsonSummary {
    wecs: usize,
    healthy: usize,
    unhealthy: usize,
    unmanaged: usize,
}

#[derive(Serialize)]
struct JsonCondition {
    status: &'static str,
    since: Option<String>,
}

#[derive(Serialize)]
struct JsonLease {
    renewed: String,
    age_seconds: i64,
    grace_seconds: i64,
}

#[derive(Serialize)]
struct JsonSync {
    state: &'static str,
    changes: usize,
    manager: Option<String>,
}

#[derive(Serialize)]
struct JsonWec {
    name: String,
    managed: bool,
    context: Option<String>,
    registration: Option<&'static str>,
    joined: Option<JsonCondition>,
    available: Option<JsonCondition>,
    agent_lease: Option<JsonLease>,
    labels: JsonSync,
    properties: JsonSync,
    rbac: JsonSync,
    cluster_set: Option<String>,
    kubernetes: Option<String>,
    healthy: bool,
    problems: Vec<String>,
}

fn json_condition(c: Option<Condition>) -> Option<JsonCondition> {
    c.map(|c| JsonCondition {
        status: cond_name(c.status),
        since: c.since.map(|t| t.to_string()),
    })
}

fn json_sync(s: &Sync) -> JsonSync {
    let (state, changes, manager) = match s {
        Sync::None => ("none", 0, None),
        Sync::InSync => ("in-sync", 0, None),
        Sync::Pending(n) => ("pending", *n, None),
        Sync::Drifted { changes, manager } => ("drifted", *changes, manager.clone()),
        Sync::Blocked(n) => ("blocked", *n, None),
        Sync::Unknown => ("unknown", 0, None),
    };
    JsonSync {
        state,
        changes,
        manager,
    }
}

/// The versioned JSON document.
pub fn json(s: &FleetStatus, its_context: &str) -> String {
    let managed: Vec<&WecStatus> = s.managed().collect();
    let healthy = managed.iter().filter(|r| r.healthy()).count();
    let doc = JsonStatus {
        format_version: FORMAT_VERSION,
        report: "status",
        its_context,
        at: s.at.to_string(),
        incomplete: s.incomplete(),
        summary: JsonSummary {
            wecs: managed.len(),
            healthy,
            unhealthy: managed.len() - healthy,
            unmanaged: s.rows.len() - managed.len(),
        },
        wecs: s
            .rows
            .iter()
            .map(|r| JsonWec {
                name: r.wec.to_string(),
                managed: r.managed,
                context: r.context.clone(),
                registration: r.registration.map(|x| x.as_str()),
                joined: json_condition(r.joined),
                available: json_condition(r.available),
                agent_lease: r.heartbeat.map(|b| JsonLease {
                    renewed: b.renewed.to_string(),
                    age_seconds: s.at.duration_since(b.renewed).as_secs(),
                    grace_seconds: b.grace_seconds,
                }),
                labels: json_sync(&r.labels),
                properties: json_sync(&r.properties),
                rbac: json_sync(&r.rbac),
                cluster_set: r.cluster_set.clone(),
                kubernetes: r.kubernetes.clone(),
                healthy: r.healthy(),
                problems: r.problems.iter().map(problem_text).collect(),
            })
            .collect(),
        unreadable: super::json::unreadable(&s.unreadable),
        lock: s.lock.as_ref().map(json_lock),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("plain data");
    text.push('\n');
    text
}
