//! `fleet.toml`: the file, its validation and what it means.
//!
//! The pipeline is `text ─► decode ─► validate ─► resolve ─► DesiredFleet`:
//!
//! * [`raw`]: serde types of the file as written, with spans; the JSON Schema in `schema/`
//!   is generated from them ([`schema`]).
//! * `decode`: TOML syntax and shape (unknown keys, wrong types), every problem at once.
//! * `validate`: names, labels, properties, references and RBAC least privilege.
//! * `resolve`: defaults → groups → WEC merged into the typed [`model`].
//! * [`format`]: canonical formatting for `fleet fmt`, comments kept.
//!
//! Everything here is pure except [`load`], which reads the file.
//!
//! ```no_run
//! let loaded = fleet::config::load(std::path::Path::new("fleet.toml"))?;
//! for warning in &loaded.warnings {
//!     eprintln!("{:?}", miette::Report::new(warning.clone()));
//! }
//! println!("{} WECs, {}", loaded.fleet.wecs.len(), loaded.digest);
//! # Ok::<(), fleet::config::ConfigError>(())
//! ```

mod decode;
mod diagnostic;
pub mod format;
pub mod model;
pub mod names;
mod outline;
pub mod raw;
mod resolve;
pub mod schema;
pub mod source;
mod split;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use diagnostic::{Code, ConfigError, Problem, summary};
pub use model::{
    ClusterAccess, DesiredFleet, Its, JoinOptions, OcmRelease, RbacExpansion, RbacMode, RbacRule,
    Wec,
};

/// A `fleet.toml` that passed validation.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The resolved desired fleet.
    pub fleet: DesiredFleet,
    /// Warnings (never errors), in file order, each carrying the file for rendering.
    pub warnings: Vec<Problem>,
    /// Where the file was read from.
    pub path: PathBuf,
    /// `sha256:<hex>` of the file's bytes; saved plans are bound to it.
    pub digest: String,
}

/// The largest `fleet.toml` fleet reads: 16 MiB. A 5,000-WEC fleet is well under 1 MiB,
/// so anything bigger is a mistake (`-f /dev/zero`, a log file), and reading it whole would
/// only exhaust memory.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Reads, validates and resolves the `fleet.toml` at `path`.
///
/// Relative `kubeconfig` paths are resolved against the directory of `path`. On failure the
/// [`ConfigError::Invalid`] holds every error and warning of the file.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = read(path)?;
    from_str(path, &text)
}

/// Reads the text of `path` for [`load`] and `fleet fmt`: a regular file of at most
/// [`MAX_FILE_SIZE`] bytes, in UTF-8. Anything else is a [`ConfigError::Read`] naming the
/// path and the reason (never the content). A FIFO or device is refused before it is
/// opened, so `-f /dev/zero` or a pipe nobody writes to cannot hang or exhaust memory.
pub fn read(path: &Path) -> Result<String, ConfigError> {
    let fail = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let refuse = |why: String| fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, why));
    let metadata = std::fs::metadata(path).map_err(fail)?;
    check_file(&metadata).map_err(refuse)?;
    let file = std::fs::File::open(path).map_err(fail)?;
    // The path may have been replaced between the two looks.
    check_file(&file.metadata().map_err(fail)?).map_err(refuse)?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_FILE_SIZE + 1),
        &mut bytes,
    )
    .map_err(fail)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(refuse(too_large(bytes.len() as u64)));
    }
    String::from_utf8(bytes).map_err(|err| {
        let bytes = err.as_bytes();
        let at = err.utf8_error().valid_up_to();
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let column = String::from_utf8_lossy(&bytes[line_start..at]).chars().count() + 1;
        fail(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8: invalid byte 0x{:02x} at line {line}, column {column} (byte offset {at}); TOML files are UTF-8 text",
                bytes[at]
            ),
        ))
    })
}

/// Whether `metadata` is that of a regular file of an acceptable size.
fn check_file(metadata: &std::fs::Metadata) -> Result<(), String> {
    let kind = metadata.file_type();
    if !kind.is_file() {
        return Err(format!(
            "not a regular file but {}: fleet reads fleet.toml only from a regular file",
            file_kind(&kind)
        ));
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(too_large(metadata.len()));
    }
    Ok(())
}

fn too_large(len: u64) -> String {
    format!(
        "the file is {:.1} MiB; a fleet.toml may be at most {} MiB (5,000 WECs take under 1 MiB), so it is not read",
        len as f64 / (1024.0 * 1024.0),
        MAX_FILE_SIZE / (1024 * 1024)
    )
}

/// "a directory", "a character device", ...
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Validates and resolves `text` as if it were the file at `path` (which names the file in
/// diagnostics and anchors relative kubeconfig paths; it is not read).
pub fn from_str(path: &Path, text: &str) -> Result<LoadedConfig, ConfigError> {
    let (checked, fleet) = process(path, text, true)?;
    let CheckedConfig {
        warnings,
        path,
        digest,
        ..
    } = checked;
    Ok(LoadedConfig {
        fleet: fleet.expect("a valid file is resolved when asked"),
        warnings,
        path,
        digest,
    })
}

/// A `fleet.toml` that passed validation, not resolved: what `fleet validate` reports.
#[derive(Debug, Clone)]
pub struct CheckedConfig {
    /// Warnings (never errors), in file order, each carrying the file for rendering.
    pub warnings: Vec<Problem>,
    /// Where the file was read from.
    pub path: PathBuf,
    /// `sha256:<hex>` of the file's bytes.
    pub digest: String,
    /// What the file describes, counted.
    pub summary: Summary,
}

/// What a valid file describes, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub wecs: usize,
    /// Groups that at least one WEC lists.
    pub groups_in_use: usize,
    pub rbac_expansions: usize,
}

/// Reads and validates the `fleet.toml` at `path` without resolving it (which only `plan`
/// and the commands after it need): the same problems as [`load`], sooner.
pub fn check(path: &Path) -> Result<CheckedConfig, ConfigError> {
    let text = read(path)?;
    process(path, &text, false).map(|(checked, _)| checked)
}

/// Validates `text`, and resolves it beside the validation if `resolve` (the result is
/// dropped if validation finds an error).
fn process(
    path: &Path,
    text: &str,
    resolve: bool,
) -> Result<(CheckedConfig, Option<DesiredFleet>), ConfigError> {
    let base_dir = path.parent().unwrap_or(Path::new(""));
    // On a large fleet these take tens of milliseconds each: the digest runs beside the
    // parse, and resolution beside validation.
    let (digest, decoded) = std::thread::scope(|s| {
        let digest = s.spawn(|| digest(text.as_bytes()));
        let decoded = decode::decode(text);
        (digest.join().expect("hashing does not panic"), decoded)
    });
    let decode::Decoded {
        raw,
        mut problems,
        dropped,
    } = decoded;
    let fleet = std::thread::scope(|s| {
        let resolved = raw
            .as_ref()
            .filter(|_| resolve)
            .map(|raw| s.spawn(|| resolve::resolve(raw, base_dir)));
        if let Some(raw) = &raw {
            problems.extend(validate::validate(raw, &dropped, text));
        }
        resolved.map(|r| r.join().expect("resolve does not panic"))
    });
    problems.sort_by_key(|p| (p.offset(), !p.is_error()));
    // The text and its line index only serve to show problems, and a valid file usually
    // has none.
    let problems: Vec<Problem> = if problems.is_empty() {
        problems
    } else {
        let file = Arc::new(source::SourceFile::new(
            path.display().to_string(),
            Arc::from(text),
        ));
        problems
            .into_iter()
            .map(|p| p.with_source(Arc::clone(&file)))
            .collect()
    };
    let summary = raw.as_ref().map(summary_of);
    // Freeing a large fleet's raw tree takes milliseconds (8 ms at 10,000 WECs) that nothing
    // waits for.
    if let Some(raw) = raw {
        std::thread::spawn(move || drop(raw));
    }

    match summary {
        Some(summary) if !problems.iter().any(Problem::is_error) => Ok((
            CheckedConfig {
                warnings: problems,
                path: path.to_owned(),
                digest,
                summary,
            },
            fleet,
        )),
        _ => Err(ConfigError::Invalid {
            file: path.display().to_string(),
            problems,
        }),
    }
}

/// Threads worth starting for `units` of work: one per core, each given at least
/// `min_per_thread` units, and at least one.
fn threads_for(units: usize, min_per_thread: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(units / min_per_thread)
        .max(1)
}

/// `f` of each item, each on a thread of its own (the first on this one), in item order.
fn on_own_threads<T: Send, R: Send>(
    items: impl IntoIterator<Item = T>,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let mut items = items.into_iter();
    let Some(first) = items.next() else {
        return Vec::new();
    };
    let f = &f;
    std::thread::scope(|s| {
        let others: Vec<_> = items.map(|item| s.spawn(move || f(item))).collect();
        let first = f(first);
        std::iter::once(first)
            .chain(others.into_iter().map(|o| o.join().expect("no panic")))
            .collect()
    })
}

fn summary_of(raw: &raw::RawFleet) -> Summary {
    let groups: std::collections::BTreeSet<&str> = raw
        .wec
        .values()
        .flat_map(|w| &w.groups)
        .map(|g| g.get_ref().as_str())
        .collect();
    Summary {
        wecs: raw.wec.len(),
        groups_in_use: groups.len(),
        rbac_expansions: raw.rbac.len(),
    }
}

/// `sha256:<lowercase hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}
