//! Diagnostics about `fleet.toml`: one [`Problem`] per finding, and [`ConfigError`], the
//! error of the config layer, which carries every problem of a file at once.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, Severity, SourceCode};

use super::source::SourceFile;

use crate::model::text::plural;

/// What kind of problem a diagnostic reports. The code is stable (`fleet::config::<name>`)
/// and decides the severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// The file is not valid TOML (includes duplicate keys).
    Syntax,
    /// A key that `fleet.toml` does not define.
    UnknownKey,
    /// A value of the wrong TOML type.
    WrongType,
    /// A value outside the allowed set (e.g. `mode`).
    InvalidValue,
    /// A required key or table is absent.
    MissingKey,
    /// A WEC or RBAC expansion name that is not a DNS-1123 label.
    InvalidName,
    /// A label key that Kubernetes rejects.
    InvalidLabelKey,
    /// A label value that Kubernetes rejects.
    InvalidLabelValue,
    /// A property key that is not a valid ConfigMap key.
    InvalidPropertyKey,
    /// A namespace that is not a DNS-1123 label.
    InvalidNamespace,
    /// `hub_api_server` is not an `https://` URL, or a path is empty.
    InvalidValueFormat,
    /// A `groups` entry naming no `[group.*]`.
    UndefinedGroup,
    /// An `rbac` entry naming no `[rbac.*]`.
    UndefinedRbac,
    /// A `downsync` RBAC expansion without a `[wds]`.
    DownsyncWithoutWds,
    /// An RBAC expansion or rule that grants nothing.
    EmptyRbac,
    /// A property key KubeStellar templates cannot use (not a Go identifier).
    PropertyNotIdentifier,
    /// A label key in a namespace OCM manages itself.
    ReservedLabel,
    /// `*` in verbs, resources or API groups.
    RbacWildcard,
    /// `escalate`, `bind` or `impersonate`.
    RbacEscalation,
    /// A ClusterRole where a namespaced Role would do.
    RbacClusterScope,
    /// A verb Kubernetes does not define.
    RbacUnknownVerb,
    /// An RBAC expansion no WEC uses.
    UnusedRbac,
}

impl Code {
    /// The stable diagnostic code, e.g. `fleet::config::unknown_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "fleet::config::syntax",
            Code::UnknownKey => "fleet::config::unknown_key",
            Code::WrongType => "fleet::config::wrong_type",
            Code::InvalidValue => "fleet::config::invalid_value",
            Code::MissingKey => "fleet::config::missing_key",
            Code::InvalidName => "fleet::config::invalid_name",
            Code::InvalidLabelKey => "fleet::config::invalid_label_key",
            Code::InvalidLabelValue => "fleet::config::invalid_label_value",
            Code::InvalidPropertyKey => "fleet::config::invalid_property_key",
            Code::InvalidNamespace => "fleet::config::invalid_namespace",
            Code::InvalidValueFormat => "fleet::config::invalid_format",
            Code::UndefinedGroup => "fleet::config::undefined_group",
            Code::UndefinedRbac => "fleet::config::undefined_rbac",
            Code::DownsyncWithoutWds => "fleet::config::downsync_without_wds",
            Code::EmptyRbac => "fleet::config::empty_rbac",
            Code::PropertyNotIdentifier => "fleet::config::property_not_identifier",
            Code::ReservedLabel => "fleet::config::reserved_label",
            Code::RbacWildcard => "fleet::config::rbac_wildcard",
            Code::RbacEscalation => "fleet::config::rbac_escalation",
            Code::RbacClusterScope => "fleet::config::rbac_cluster_scope",
            Code::RbacUnknownVerb => "fleet::config::rbac_unknown_verb",
            Code::UnusedRbac => "fleet::config::unused_rbac",
        }
    }

    /// Errors make the file unusable; warnings are printed and the file is still used.
    pub fn severity(self) -> Severity {
        match self {
            Code::PropertyNotIdentifier
            | Code::ReservedLabel
            | Code::RbacWildcard
            | Code::RbacEscalation
            | Code::RbacClusterScope
            | Code::RbacUnknownVerb
            | Code::UnusedRbac => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding in `fleet.toml`: a message, labelled spans and a hint.
#[derive(Debug, Clone)]
pub struct Problem {
    code: Code,
    message: String,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    source: Option<Arc<SourceFile>>,
}

impl Problem {
    /// A problem of kind `code`; add spans with [`label`](Self::label).
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            source: None,
        }
    }

    /// Points at `span` with `text`. The first label is the primary one.
    pub fn label(mut self, span: Range<usize>, text: impl Into<String>) -> Self {
        let primary = self.labels.is_empty();
        let label = LabeledSpan::new_with_span(Some(text.into()), span);
        self.labels.push(if primary {
            LabeledSpan::new_primary_with_span(label.label().map(str::to_owned), *label.inner())
        } else {
            label
        });
        self
    }

    /// Adds the hint printed under the snippet.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn with_source(mut self, source: Arc<SourceFile>) -> Self {
        self.source = Some(source);
        self
    }

    /// The kind of problem.
    pub fn code(&self) -> Code {
        self.code
    }

    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// Whether this problem makes the file unusable.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The labelled spans, primary first.
    pub fn spans(&self) -> &[LabeledSpan] {
        &self.labels
    }

    /// 1-based line and column (in characters) of byte `offset`, once the file is attached.
    pub fn line_column(&self, offset: usize) -> Option<(usize, usize)> {
        self.source.as_ref()?.line_column(offset)
    }

    /// Byte offset of the primary span (for ordering).
    pub fn offset(&self) -> usize {
        self.labels.first().map_or(0, |l| l.offset())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.code.severity())
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_deref().map(|s| s as &dyn SourceCode)
    }

    /// The labels, each underlining at most [`MAX_LABEL`](super::source::MAX_LABEL) bytes:
    /// a huge value is pointed at, not reprinted.
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        let source = self.source.clone();
        Some(Box::new(self.labels.iter().map(move |label| {
            let Some(source) = &source else {
                return label.clone();
            };
            let (offset, len) = source.clamp_label(label.offset(), label.len());
            let text = label.label().map(str::to_owned);
            if label.primary() {
                LabeledSpan::new_primary_with_span(text, (offset, len))
            } else {
                LabeledSpan::new_with_span(text, (offset, len))
            }
        })))
    }
}

/// Why `fleet.toml` could not be turned into a [`DesiredFleet`](super::DesiredFleet).
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    #[diagnostic(
        code(fleet::config::read),
        help(
            "point fleet at your file with `-f path/to/fleet.toml`; `fleet.toml.example` documents every key"
        )
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file has errors; `problems` holds all of them and any warnings, in file order.
    #[error("{file} is invalid: {}", summary(problems))]
    #[diagnostic(code(fleet::config::invalid))]
    Invalid {
        file: String,
        #[related]
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// Every problem (errors and warnings), in file order; empty for [`ConfigError::Read`].
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

/// "2 errors, 1 warning".
pub fn summary(problems: &[Problem]) -> String {
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let errors_text = plural(errors, "error", "errors");
    let warnings_text = plural(warnings, "warning", "warnings");
    match (errors, warnings) {
        (_, 0) => errors_text,
        (0, _) => warnings_text,
        _ => format!("{errors_text}, {warnings_text}"),
    }
}
