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
pub mod raw;
mod resolve;
pub mod schema;
pub mod source;
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
    /// The file's text.
    pub source: Arc<str>,
    /// `sha256:<hex>` of the file's bytes; saved plans are bound to it.
    pub digest: String,
}

/// Reads, validates and resolves the `fleet.toml` at `path`.
///
/// Relative `kubeconfig` paths are resolved against the directory of `path`. On failure the
/// [`ConfigError::Invalid`] holds every error and warning of the file.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    from_str(path, &text)
}

/// Validates and resolves `text` as if it were the file at `path` (which names the file in
/// diagnostics and anchors relative kubeconfig paths; it is not read).
pub fn from_str(path: &Path, text: &str) -> Result<LoadedConfig, ConfigError> {
    let source: Arc<str> = Arc::from(text);
    let file = Arc::new(source::SourceFile::new(
        path.display().to_string(),
        Arc::clone(&source),
    ));

    let decoded = decode::decode(text);
    let mut problems = decoded.problems;
    if let Some(raw) = &decoded.raw {
        problems.extend(validate::validate(raw, &decoded.dropped));
    }
    problems.sort_by_key(|p| (p.offset(), !p.is_error()));
    let problems: Vec<Problem> = problems
        .into_iter()
        .map(|p| p.with_source(Arc::clone(&file)))
        .collect();

    let raw = match decoded.raw {
        Some(raw) if !problems.iter().any(Problem::is_error) => raw,
        _ => {
            return Err(ConfigError::Invalid {
                file: path.display().to_string(),
                problems,
            });
        }
    };
    let base_dir = path.parent().unwrap_or(Path::new(""));
    Ok(LoadedConfig {
        fleet: resolve::resolve(&raw, base_dir),
        warnings: problems,
        path: path.to_owned(),
        digest: digest(text.as_bytes()),
        source,
    })
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
