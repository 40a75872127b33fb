//! Saved plans: what `fleet plan --out` writes, `fleet show` renders and `fleet apply
//! PLANFILE` applies.
//!
//! A saved plan is the diff itself (every change with its body and the `uid` and
//! `resourceVersion` of the live object it was computed against), bound to the fleet build
//! that made it, the `fleet.toml` digest, the ITS identity and the planning options. Each
//! change carries a digest of what it writes and shows; apply re-plans and compares digests
//! object by object ([`check`]), so unrelated churn (a controller's status, another
//! manager's label) never makes a plan stale, and any real difference does.
//!
//! It holds no secret value: bodies are the desired objects (labels, properties, RBAC),
//! Secrets are read without their data, and a registration's bootstrap token is requested
//! when it is applied, never planned.
//!
//! The format is fleet's own (serde of the diff), versioned and tied to the build that wrote
//! it, as Terraform's plan files are: a plan from another fleet version is refused. The
//! stable, documented JSON for programs is `fleet show PLANFILE --output json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diff::{ActionKind, Change, Diff};
use crate::model::{ObjectRef, WecName};

/// The `format` key of every saved plan.
pub const FORMAT: &str = "fleet-saved-plan";
/// The layout of saved plans this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The build that writes plans (and the only one that applies them).
pub const FLEET_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Errors reading a saved plan or binding it to this run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SavedPlanError {
    #[error("{}: not a fleet plan file", path.display())]
    #[diagnostic(
        code(fleet::saved::parse),
        help("pass a file written by `fleet plan --out FILE`")
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: plan file format {found}, this fleet reads format {FORMAT_VERSION}", path.display())]
    #[diagnostic(
        code(fleet::saved::format),
        help("make a new plan with this fleet: `fleet plan --out FILE`")
    )]
    Format { path: PathBuf, found: String },
    #[error("{}: made by fleet {made_by}, this is fleet {FLEET_VERSION}", path.display())]
    #[diagnostic(
        code(fleet::saved::version),
        help(
            "a saved plan is applied by the fleet build that made it; make a new plan with this one"
        )
    )]
    Version { path: PathBuf, made_by: String },
    #[error("{}: the change to {object} does not match its digest: the file was edited", path.display())]
    #[diagnostic(
        code(fleet::saved::tampered),
        help(
            "a saved plan is applied exactly as reviewed; make a new plan instead of editing one"
        )
    )]
    Tampered { path: PathBuf, object: ObjectRef },
    #[error(
        "{} changed since the plan was made (plan: {planned}, now: {now})", config.display()
    )]
    #[diagnostic(
        code(fleet::saved::config_changed),
        help(
            "apply the plan with the fleet.toml it was made from (-f), or make a new plan: `fleet plan --out FILE`"
        )
    )]
    ConfigChanged {
        config: PathBuf,
        planned: String,
        now: String,
    },
    #[error(
        "the plan was made against ITS {planned} but context `{context}` now reaches ITS {now}"
    )]
    #[diagnostic(
        code(fleet::saved::other_its),
        help(
            "check the kubeconfig: the ITS context points at another cluster; nothing was written"
        )
    )]
    OtherIts {
        context: String,
        planned: String,
        now: String,
    },
}

/// The `fleet.toml` a plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigBinding {
    /// As given with `-f`, for messages.
    pub path: PathBuf,
    /// e.g. `sha256:9c1e…`.
    pub digest: String,
}

/// The ITS a plan was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItsBinding {
    pub context: String,
    pub server: Option<String>,
    /// UID of its `kube-system` namespace.
    pub uid: String,
}

impl ItsBinding {
    fn describe(uid: &str, server: Option<&str>) -> String {
        match server {
            Some(s) => format!("{s} (kube-system uid {uid})"),
            None => format!("kube-system uid {uid}"),
        }
    }
}

/// The planning options a saved plan was made with; apply uses them, never new ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    pub targets: Vec<WecName>,
    pub prune: bool,
    pub max_deregister: usize,
}

/// Who made a plan, for people reading it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Provenance {
    /// RFC 3339.
    pub created_at: String,
    /// `user@host`, or the CI job.
    pub created_by: String,
    /// The commit the plan was made at, when CI says so.
    pub git_sha: Option<String>,
}

/// One saved change and the digest of what it writes and shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedChange {
    pub digest: String,
    pub change: Change,
}

/// A plan file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    pub format_version: u32,
    pub fleet_version: String,
    pub provenance: Provenance,
    pub config: ConfigBinding,
    pub its: ItsBinding,
    pub options: PlanOptions,
    pub changes: Vec<SavedChange>,
    /// The rest of the diff (its changes are in `changes`).
    pub diff: Diff,
}

/// What `digest` covers: what apply writes (object, action and body) and what the reviewer
/// saw (fields before and after, why it is blocked or replaced); not the cause's attribution
/// nor the live object's version.
#[derive(Serialize)]
struct Digested<'a> {
    object: &'a ObjectRef,
    action: &'a crate::diff::Action,
    fields: Vec<(
        &'a [compact_str::CompactString],
        &'a Option<serde_json::Value>,
        &'a Option<serde_json::Value>,
    )>,
    blocked: &'a Option<crate::diff::Blocked>,
    reason: &'a Option<crate::diff::Reason>,
}

/// The digest of one change, `sha256:…`.
pub fn digest(c: &Change) -> String {
    let d = Digested {
        object: &c.object,
        action: &c.action,
        fields: c
            .fields
            .iter()
            .map(|f| (f.path.segments(), &f.before, &f.after))
            .collect(),
        blocked: &c.blocked,
        reason: &c.reason,
    };
    let bytes = serde_json::to_vec(&d).expect("a change serialises");
    format!("{:x}", Sha256::digest(&bytes))
}

impl SavedPlan {
    /// Binds `diff` to what it was made from.
    pub fn new(
        diff: &Diff,
        config: ConfigBinding,
        its: ItsBinding,
        options: PlanOptions,
        provenance: Provenance,
    ) -> SavedPlan {
        let changes = diff
            .changes
            .iter()
            .map(|c| SavedChange {
                digest: digest(c),
                change: c.clone(),
            })
            .collect();
        SavedPlan {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            fleet_version: FLEET_VERSION.to_owned(),
            provenance,
            config,
            its,
            options,
            changes,
            diff: Diff {
                changes: Vec::new(),
                ..diff.clone()
            },
        }
    }

    /// The file's text (compact JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a saved plan serialises")
    }

    /// Reads a plan file's text; `path` is for messages. Refuses other formats, other fleet
    /// builds and edited changes.
    pub fn parse(text: &str, path: &Path) -> Result<SavedPlan, SavedPlanError> {
        #[derive(Deserialize)]
        struct Probe {
            format: Option<String>,
            format_version: Option<serde_json::Value>,
            fleet_version: Option<String>,
        }
        let parse_error = |source| SavedPlanError::Parse {
            path: path.to_owned(),
            source,
        };
        let probe: Probe = serde_json::from_str(text).map_err(parse_error)?;
        if probe.format.as_deref() != Some(FORMAT) {
            return Err(SavedPlanError::Parse {
                path: path.to_owned(),
                source: serde::de::Error::custom(format!("its `format` is not \"{FORMAT}\"")),
            });
        }
        let version = probe.format_version.unwrap_or_default();
        if version != FORMAT_VERSION {
            return Err(SavedPlanError::Format {
                path: path.to_owned(),
                found: version.to_string(),
            });
        }
        let made_by = probe.fleet_version.unwrap_or_default();
        if made_by != FLEET_VERSION {
            return Err(SavedPlanError::Version {
                path: path.to_owned(),
                made_by,
            });
        }
        let saved: SavedPlan = serde_json::from_str(text).map_err(parse_error)?;
        if let Some(c) = saved.changes.iter().find(|c| digest(&c.change) != c.digest) {
            return Err(SavedPlanError::Tampered {
                path: path.to_owned(),
                object: c.change.object.clone(),
            });
        }
        Ok(saved)
    }

    /// The diff as it was planned.
    pub fn diff(&self) -> Diff {
        Diff {
            changes: self.changes.iter().map(|c| c.change.clone()).collect(),
            ..self.diff.clone()
        }
    }

    /// Refuses a `fleet.toml` other than the one the plan was made from.
    pub fn check_config(&self, config: &Path, digest: &str) -> Result<(), SavedPlanError> {
        if digest == self.config.digest {
            return Ok(());
        }
        Err(SavedPlanError::ConfigChanged {
            config: config.to_owned(),
            planned: self.config.digest.clone(),
            now: digest.to_owned(),
        })
    }

    /// Refuses an ITS other than the one the plan was made against.
    pub fn check_its(&self, uid: &str, server: Option<&str>) -> Result<(), SavedPlanError> {
        if uid == self.its.uid {
            return Ok(());
        }
        Err(SavedPlanError::OtherIts {
            context: self.its.context.clone(),
            planned: ItsBinding::describe(&self.its.uid, self.its.server.as_deref()),
            now: ItsBinding::describe(uid, server),
        })
    }
}

/// How one object makes a saved plan stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The object moved and its change is no longer the one planned.
    Changed {
        object: ObjectRef,
        planned: ActionKind,
        now: ActionKind,
    },
    /// The object was deleted and created again since the plan (another `uid`).
    Recreated { object: ObjectRef },
    /// A change the plan does not have.
    Appeared { object: ObjectRef, now: ActionKind },
    /// A planned change that is no longer needed (or can no longer be computed).
    Vanished {
        object: ObjectRef,
        planned: ActionKind,
    },
}

impl Stale {
    /// The object concerned.
    pub fn object(&self) -> &ObjectRef {
        match self {
            Stale::Changed { object, .. }
            | Stale::Recreated { object }
            | Stale::Appeared { object, .. }
            | Stale::Vanished { object, .. } => object,
        }
    }
}

/// The result of comparing a saved plan with a fresh one, object by object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Objects whose `resourceVersion` moved while their change stayed identical.
    pub moved: Vec<ObjectRef>,
    /// Why the plan can no longer be applied as reviewed; empty: it can.
    pub stale: Vec<Stale>,
}

/// Compares the saved plan with `fresh`, a plan made now from the same `fleet.toml` and
/// options.
pub fn check(saved: &SavedPlan, fresh: &Diff) -> Verdict {
    let planned: BTreeMap<&ObjectRef, &SavedChange> = saved
        .changes
        .iter()
        .map(|c| (&c.change.object, c))
        .collect();
    let mut verdict = Verdict::default();
    let mut seen = std::collections::BTreeSet::new();
    for now in &fresh.changes {
        let object = &now.object;
        seen.insert(object);
        let Some(was) = planned.get(object) else {
            verdict.stale.push(Stale::Appeared {
                object: object.clone(),
                now: now.kind(),
            });
            continue;
        };
        let (was_seen, now_seen) = (&was.change.observed, &now.observed);
        if let (Some(a), Some(b)) = (was_seen, now_seen)
            && a.uid != b.uid
        {
            verdict.stale.push(Stale::Recreated {
                object: object.clone(),
            });
        } else if digest(now) != was.digest {
            verdict.stale.push(Stale::Changed {
                object: object.clone(),
                planned: was.change.kind(),
                now: now.kind(),
            });
        } else if let (Some(a), Some(b)) = (was_seen, now_seen)
            && a.resource_version != b.resource_version
        {
            verdict.moved.push(object.clone());
        }
    }
    for (object, was) in planned {
        if !seen.contains(object) {
            verdict.stale.push(Stale::Vanished {
                object: object.clone(),
                planned: was.change.kind(),
            });
        }
    }
    verdict.stale.sort_by(|a, b| a.object().cmp(b.object()));
    verdict
}
