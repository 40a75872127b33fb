//! Child processes of the lab: each one logs to a file, dies with the process that started it
//! (`PR_SET_PDEATHSIG`), and is stopped (SIGTERM, then SIGKILL) when its handle is dropped.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::LabError;

/// A running child process owned by the lab.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// Starts `program args…`, with stdout and stderr appended to `log`.
    ///
    /// The child gets `PR_SET_PDEATHSIG = SIGKILL`, so it cannot outlive the thread that
    /// spawned it even if this process is killed; spawn from a long-lived thread.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> Result<Proc, LabError> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|source| LabError::Io {
                what: format!("open log {}", log.display()),
                source,
            })?;
        let err = out.try_clone().map_err(|source| LabError::Io {
            what: "dup log".into(),
            source,
        })?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| LabError::Io {
            what: format!("start {name} ({})", program.display()),
            source,
        })?;
        Ok(Proc {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_owned(),
        })
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The component name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Last `n` lines of the log, for error messages.
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL; idempotent.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        // SAFETY: plain kill(2) on a pid we own and have not reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Last `n` lines of a text file (empty when unreadable).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A free TCP port on 127.0.0.1 (bind to port 0, read it, release it).
pub fn free_port() -> Result<u16, LabError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|source| LabError::Io {
        what: "bind 127.0.0.1:0".into(),
        source,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| LabError::Io {
            what: "read local port".into(),
            source,
        })
}
