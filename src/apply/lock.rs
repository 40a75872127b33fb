//! The apply lock: one `coordination.k8s.io/v1` Lease on the ITS (`fleet-system/fleet-apply`)
//! so that two applies never interleave their writes.
//!
//! - Acquired by creating the Lease, or by taking over a released or expired one with an
//!   update at the `resourceVersion` read: of two racing applies, exactly one wins.
//! - `holderIdentity` is the run's [`LockId`]; an annotation says who, where (the CI job)
//!   and since when.
//! - The holder renews it every [`TTL`]/3. A holder that died stops renewing, and its lock
//!   expires [`TTL`] after the last renewal: no lock outlives its apply for long.
//! - A holder that cannot renew in time, or finds the Lease taken over, tells the apply to
//!   stop writing ([`Stop::LockLost`]).
//! - Released (deleted, if still ours) when the apply ends, including on SIGINT/SIGTERM;
//!   `fleet unlock LOCK_ID` deletes it by hand, only if LOCK_ID holds it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::kube::{Cluster, KubeError};
use crate::model::vocab::{LOCK, LOCK_INFO, MANAGED_BY, MANAGER};
use crate::model::{Kind, Location, ObjectRef};
use crate::plan::report::Stop;

/// How long a lock lives after its last renewal.
pub const TTL: Duration = Duration::from_secs(60);

/// A renewal must be done this long before the lease would expire (clock skew, the write's
/// own latency).
const RENEW_MARGIN: Duration = Duration::from_secs(5);

/// One run's lock identity, e.g. `gh-7123456-1-3fa9c2e1` or `alice@laptop-3fa9c2e1`: the CI
/// job when there is one, with a random suffix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LockId(String);

impl LockId {
    /// The id a user typed (`fleet unlock LOCK_ID`).
    pub fn new(id: impl Into<String>) -> Self {
        LockId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who holds a lock, as its Lease's annotation records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: LockId,
    /// `user@host`.
    pub who: String,
    /// The CI job's URL, when running in GitHub Actions or GitLab CI.
    pub ci_job: Option<String>,
    pub operation: String,
    pub fleet_version: String,
}

impl LockInfo {
    /// This run's identity, read from the environment (`env` is `std::env::var`, or a fake
    /// in tests).
    pub fn for_this_run(env: impl Fn(&str) -> Option<String>) -> LockInfo {
        let user = env("USER").or_else(|| env("USERNAME"));
        let host = env("HOSTNAME")
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty());
        let who = format!(
            "{}@{}",
            user.as_deref().unwrap_or("unknown"),
            host.as_deref().unwrap_or("unknown")
        );
        let github = env("GITHUB_RUN_ID").map(|run| {
            let attempt = env("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
            let url = match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY")) {
                (Some(server), Some(repo)) => Some(format!("{server}/{repo}/actions/runs/{run}")),
                _ => None,
            };
            (format!("gh-{run}-{attempt}"), url)
        });
        let gitlab = || env("CI_JOB_ID").map(|job| (format!("gl-{job}"), env("CI_JOB_URL")));
        let (prefix, ci_job) = github
            .or_else(gitlab)
            .unwrap_or_else(|| (sanitize(&who), None));
        let nonce = Sha256::digest(format!(
            "{who}/{}/{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        LockInfo {
            id: LockId(format!("{prefix}-{:x}", nonce)[..prefix.len() + 9].to_owned()),
            who,
            ci_job,
            operation: "apply".into(),
            fleet_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Keeps ids easy to type: letters, digits, `@`, `.`, `_` and `-`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A lock as read from its Lease, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub info: Option<LockInfo>,
    pub acquired: Option<Timestamp>,
    pub renewed: Option<Timestamp>,
    pub duration: Duration,
}

impl Holder {
    fn of(lease: &Lease) -> Option<Holder> {
        let spec = lease.spec.as_ref()?;
        let id = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
        let info = lease
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(LOCK_INFO))
            .and_then(|text| serde_json::from_str(text).ok());
        Some(Holder {
            id,
            info,
            acquired: spec.acquire_time.as_ref().map(|t| t.0),
            renewed: spec.renew_time.as_ref().map(|t| t.0),
            duration: Duration::from_secs(
                spec.lease_duration_seconds
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(TTL.as_secs()),
            ),
        })
    }

    /// When the lock expires unless renewed again.
    pub fn expires(&self) -> Option<Timestamp> {
        let renewed = self.renewed.or(self.acquired)?;
        renewed
            .checked_add(SignedDuration::try_from(self.duration).ok()?)
            .ok()
    }

    fn expired(&self, now: Timestamp) -> bool {
        self.expires().is_none_or(|e| e <= now)
    }
}

/// `5m ago` for a past time, `in 40s` for a future one.
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let secs = now.duration_since(t).as_secs();
    let span = humantime::format_duration(Duration::from_secs(secs.unsigned_abs()));
    if secs >= 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

impl fmt::Display for Holder {
    /// `gh-7123456-1-3fa9c2e1 (runner@fv-az1, https://…/runs/7123456) since … (5m ago), last
    /// renewed 3s ago, expires in 57s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now = Timestamp::now();
        write!(f, "`{}`", self.id)?;
        if let Some(info) = &self.info {
            match &info.ci_job {
                Some(job) => write!(f, " ({}, {job})", info.who)?,
                None => write!(f, " ({})", info.who)?,
            }
        }
        if let Some(t) = self.acquired {
            write!(
                f,
                " since {} ({})",
                t.round(jiff_seconds()).unwrap_or(t),
                relative(t, now)
            )?;
        }
        if let Some(t) = self.renewed {
            write!(f, ", last renewed {}", relative(t, now))?;
        }
        if let Some(t) = self.expires() {
            write!(f, ", expires {} unless renewed", relative(t, now))?;
        }
        Ok(())
    }
}

fn jiff_seconds() -> k8s_openapi::jiff::Unit {
    k8s_openapi::jiff::Unit::Second
}

/// Errors taking or clearing the lock.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LockError {
    /// Another apply holds the lock (exit 4).
    #[error("the apply lock on the ITS is held by {holder}")]
    #[diagnostic(
        code(fleet::lock::held),
        help(
            "wait for that apply to finish (`--lock-timeout 10m` waits for it); if its holder is gone for sure, `fleet unlock {}` clears it — a dead holder's lock also expires by itself",
            holder.id
        )
    )]
    Held { holder: Box<Holder> },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Kube(#[from] KubeError),
    /// `fleet unlock` of an id that does not hold the lock.
    #[error("`{asked}` does not hold the apply lock: {}", match holder {
        Some(h) => format!("{h} holds it"),
        None => "nobody holds it".to_owned(),
    })]
    #[diagnostic(
        code(fleet::lock::not_holder),
        help("unlock takes the id of the holder, as `fleet apply` printed it when it was refused")
    )]
    NotHolder {
        asked: LockId,
        holder: Option<Box<Holder>>,
    },
}

/// The Lease that says `info` holds the lock from `now`.
fn holding(mut lease: Lease, info: &LockInfo, now: Timestamp) -> Lease {
    let transitions = lease
        .spec
        .as_ref()
        .and_then(|s| s.lease_transitions)
        .unwrap_or(0);
    lease.metadata.name = Some(LOCK.1.to_owned());
    lease.metadata.namespace = Some(LOCK.0.to_owned());
    lease
        .metadata
        .labels
        .get_or_insert_default()
        .insert(MANAGED_BY.to_owned(), MANAGER.to_owned());
    lease.metadata.annotations.get_or_insert_default().insert(
        LOCK_INFO.to_owned(),
        serde_json::to_string(info).expect("lock info serialises"),
    );
    lease.spec = Some(LeaseSpec {
        holder_identity: Some(info.id.0.clone()),
        lease_duration_seconds: Some(TTL.as_secs() as i32),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions + 1),
        ..LeaseSpec::default()
    });
    lease
}

/// A held lock. Renewed in the background until [`Lock::release`].
pub struct Lock {
    its: Cluster,
    id: LockId,
    heartbeat: JoinHandle<()>,
}

/// Tells the apply to stop, unless it was already told (the first reason is kept).
pub fn stop(sender: &watch::Sender<Option<Stop>>, why: Stop) {
    sender.send_if_modified(|s| {
        let first = s.is_none();
        if first {
            *s = Some(why);
        }
        first
    });
}

impl Lock {
    /// Takes the lock, waiting up to `timeout` while another apply holds it; `on_wait` is
    /// called once, when the wait starts. `stopper` is told [`Stop::LockLost`] if the lock
    /// is lost later.
    pub async fn acquire(
        its: Cluster,
        info: LockInfo,
        timeout: Duration,
        stopper: Arc<watch::Sender<Option<Stop>>>,
        mut on_wait: impl FnMut(&Holder),
    ) -> Result<Lock, LockError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut waiting = false;
        loop {
            let now = Timestamp::now();
            let attempt = match its.get_lease(LOCK.0, LOCK.1).await? {
                None => create(&its, &info, now).await,
                Some(lease) => match Holder::of(&lease) {
                    Some(h) if h.id != info.id.0 && !h.expired(now) => {
                        if tokio::time::Instant::now() >= deadline {
                            return Err(LockError::Held {
                                holder: Box::new(h),
                            });
                        }
                        if !waiting {
                            waiting = true;
                            on_wait(&h);
                        }
                        let left = deadline - tokio::time::Instant::now();
                        tokio::time::sleep(left.min(Duration::from_secs(2))).await;
                        continue;
                    }
                    _ => its.replace_lease(LOCK.0, &holding(lease, &info, now)).await,
                },
            };
            match attempt {
                Ok(_) => break,
                // Someone else created or took it between our read and our write: read again.
                Err(e) if e.status() == Some(409) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let heartbeat = tokio::spawn(heartbeat(its.clone(), info.id.clone(), stopper));
        Ok(Lock {
            its,
            id: info.id,
            heartbeat,
        })
    }

    /// This lock's id.
    pub fn id(&self) -> &LockId {
        &self.id
    }

    /// Stops renewing and deletes the Lease if it is still ours.
    pub async fn release(self) -> Result<(), LockError> {
        self.heartbeat.abort();
        release(&self.its, &self.id).await
    }
}

/// Creates the Lease, and the namespace it lives in when that is missing.
async fn create(its: &Cluster, info: &LockInfo, now: Timestamp) -> Result<Lease, KubeError> {
    let lease = holding(Lease::default(), info, now);
    match its.create_lease(LOCK.0, &lease).await {
        Err(e) if e.status() == Some(404) => {
            let ns = ObjectRef::cluster(Location::Its, Kind::Namespace, LOCK.0);
            let body = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": LOCK.0, "labels": {MANAGED_BY: MANAGER}},
            });
            its.apply(&ns, &body).await?;
            its.create_lease(LOCK.0, &lease).await
        }
        other => other,
    }
}

/// Deletes the Lease if `id` holds it.
pub async fn release(its: &Cluster, id: &LockId) -> Result<(), LockError> {
    match its.get_lease(LOCK.0, LOCK.1).await? {
        Some(lease) if Holder::of(&lease).is_some_and(|h| h.id == id.0) => {
            Ok(its.delete_lease(LOCK.0, &lease).await?)
        }
        _ => Ok(()),
    }
}

/// Renews the Lease every TTL/3 until aborted; says [`Stop::LockLost`] when it was taken
/// over or could not be renewed before it expired.
async fn heartbeat(its: Cluster, id: LockId, stopper: Arc<watch::Sender<Option<Stop>>>) {
    let period = TTL / 3;
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(period).await;
        let renewed = async {
            let Some(mut lease) = its.get_lease(LOCK.0, LOCK.1).await? else {
                return Ok(false);
            };
            if Holder::of(&lease).is_none_or(|h| h.id != id.0) {
                return Ok(false);
            }
            if let Some(spec) = lease.spec.as_mut() {
                spec.renew_time = Some(MicroTime(Timestamp::now()));
            }
            its.replace_lease(LOCK.0, &lease).await.map(|_| true)
        };
        // The renewal shares the ITS client (and its in-flight limit) with the apply's
        // writes: however long it queues, it must land before the lease would expire, or
        // the apply stops writing.
        let left = TTL
            .saturating_sub(last_renewed.elapsed())
            .saturating_sub(RENEW_MARGIN);
        let Ok(renewed) = tokio::time::timeout(left, renewed).await else {
            tracing::warn!("the apply lock `{id}` could not be renewed before it expires");
            stop(&stopper, Stop::LockLost);
            return;
        };
        match renewed {
            Ok(true) => last_renewed = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::warn!("the apply lock `{id}` was taken over by another apply");
                stop(&stopper, Stop::LockLost);
                return;
            }
            Err(e) => {
                tracing::warn!("cannot renew the apply lock `{id}`: {e}");
                if last_renewed.elapsed() + period >= TTL {
                    stop(&stopper, Stop::LockLost);
                    return;
                }
            }
        }
    }
}

/// The lock's holder as it stands, for `fleet status`; `None` when it is free (no Lease, or
/// one released or expired).
pub async fn current(its: &Cluster) -> Result<Option<Holder>, LockError> {
    let lease = its.get_lease(LOCK.0, LOCK.1).await?;
    let now = Timestamp::now();
    Ok(lease
        .as_ref()
        .and_then(Holder::of)
        .filter(|h| !h.expired(now)))
}

/// `fleet unlock LOCK_ID`: deletes the lock if `id` holds it, even if its holder is alive.
/// Returns the holder that was cleared.
pub async fn unlock(its: &Cluster, id: &LockId) -> Result<Holder, LockError> {
    let lease = its.get_lease(LOCK.0, LOCK.1).await?;
    let holder = lease.as_ref().and_then(Holder::of);
    match (lease, holder) {
        (Some(lease), Some(h)) if h.id == id.0 => {
            its.delete_lease(LOCK.0, &lease).await?;
            Ok(h)
        }
        (_, holder) => Err(LockError::NotHolder {
            asked: id.clone(),
            holder: holder.map(Box::new),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn a_github_run_is_named_by_its_run_and_attempt() {
        let info = LockInfo::for_this_run(env(&[
            ("GITHUB_RUN_ID", "7123456"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/fleet-config"),
            ("USER", "runner"),
            ("HOSTNAME", "fv-az1"),
        ]));
        assert!(info.id.as_str().starts_with("gh-7123456-2-"), "{}", info.id);
        assert_eq!(info.id.as_str().len(), "gh-7123456-2-".len() + 8);
        assert_eq!(
            info.ci_job.as_deref(),
            Some("https://github.com/acme/fleet-config/actions/runs/7123456")
        );
        assert_eq!(info.who, "runner@fv-az1");
    }

    #[test]
    fn a_gitlab_job_and_a_laptop_are_named_too() {
        let gl = LockInfo::for_this_run(env(&[
            ("CI_JOB_ID", "99"),
            ("CI_JOB_URL", "https://gitlab.com/acme/x/-/jobs/99"),
        ]));
        assert!(gl.id.as_str().starts_with("gl-99-"));
        assert_eq!(
            gl.ci_job.as_deref(),
            Some("https://gitlab.com/acme/x/-/jobs/99")
        );
        let me = LockInfo::for_this_run(env(&[("USER", "alice"), ("HOSTNAME", "lap top")]));
        assert!(me.id.as_str().starts_with("alice@lap-top-"), "{}", me.id);
        assert_eq!(me.ci_job, None);
        let again = LockInfo::for_this_run(env(&[("USER", "alice"), ("HOSTNAME", "lap top")]));
        assert_ne!(me.id, again.id, "two runs get two ids");
    }

    #[test]
    fn a_lease_expires_its_duration_after_its_last_renewal() {
        let info = LockInfo::for_this_run(env(&[("USER", "a")]));
        let t0: Timestamp = "2026-11-22T01:00:00Z".parse().unwrap();
        let lease = holding(Lease::default(), &info, t0);
        let h = Holder::of(&lease).expect("held");
        assert_eq!(h.id, info.id.as_str());
        assert_eq!(h.info.as_ref(), Some(&info));
        assert!(!h.expired(t0.checked_add(SignedDuration::from_secs(59)).unwrap()));
        assert!(h.expired(t0.checked_add(SignedDuration::from_secs(60)).unwrap()));
        let released = Lease {
            spec: Some(LeaseSpec::default()),
            ..lease
        };
        assert_eq!(Holder::of(&released), None, "no holder, no lock");
    }
}
