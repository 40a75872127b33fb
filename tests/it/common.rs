//! Helpers shared by the tests: load a fleet.toml from a string and render its diagnostics
//! the way a terminal shows them, without colours and at a fixed width.

use std::path::{Path, PathBuf};

use fleet::config::{self, ConfigError, LoadedConfig};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// `case!(name, "fleet::config::code", "toml")`: the file yields `code` (and the rendered
/// report matches the snapshot `name`).
macro_rules! case {
    ($name:ident, $code:literal, $toml:expr) => {
        #[test]
        fn $name() {
            let text: &str = $toml;
            let found = $crate::common::codes(text);
            assert!(found.contains(&$code), "expected {} in {found:?}", $code);
            insta::assert_snapshot!($crate::common::diagnose(text));
        }
    };
}

/// A direct-mode RBAC expansion used by every WEC, to put RBAC rules under test.
macro_rules! with_rbac {
    ($rules:literal) => {
        concat!(
            "[its]\ncontext = \"its1\"\n\n[defaults]\nrbac = [\"work\"]\n\n[rbac.work]\nmode = \"direct\"\n",
            $rules
        )
    };
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn load(text: &str) -> Result<LoadedConfig, ConfigError> {
    config::from_str(Path::new("fleet.toml"), text)
}

/// Renders one diagnostic as `fleet validate` prints it (no colour, 100 columns).
pub fn render(diagnostic: &dyn Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false)
        .render_report(&mut out, diagnostic)
        .expect("rendering into a String cannot fail");
    out
}

/// Everything `fleet validate` would report for `text`: the error with all its problems, or
/// the warnings of a valid file.
pub fn diagnose(text: &str) -> String {
    match load(text) {
        Err(err) => render(&err),
        Ok(loaded) if loaded.warnings.is_empty() => "valid, no warnings".to_owned(),
        Ok(loaded) => loaded
            .warnings
            .iter()
            .map(|w| render(w))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The codes of all problems `text` has, errors and warnings, in file order.
pub fn codes(text: &str) -> Vec<&'static str> {
    match load(text) {
        Err(err) => err.problems().iter().map(|p| p.code().as_str()).collect(),
        Ok(loaded) => loaded.warnings.iter().map(|p| p.code().as_str()).collect(),
    }
}
