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
    /// A label key in a namespace OCM or fleet itself sets (`cluster.open-cluster-management.io/`,
    /// `feature.open-cluster-management.io/`, `rbac.fleet.kubestellar.io/`).
    ReservedLabel,
    /// A label key under `kubernetes.io/` or `k8s.io/` (or a subdomain), reserved for
    /// Kubernetes components.
    KubernetesLabel,
    /// An RBAC resource that is not a lowercase resource name (`pods`, `deployments/scale`).
    InvalidResource,
    /// An RBAC API group that is not `""`, `*` or a DNS subdomain.
    InvalidApiGroup,
    /// An RBAC resource that looks singular (resources are plural).
    RbacSingularResource,
    /// `resource_names` with verbs it cannot restrict (`create`, `deletecollection`, `list`,
    /// `watch`).
    RbacResourceNames,
    /// A WEC's merged properties exceed what its ConfigMap can hold (1 MiB).
    PropertiesTooLarge,
    /// Keys that exclude each other (`context` and `control_plane`), or one that needs
    /// another (`control_plane` and `hosting_context`).
    ConflictingKeys,
    /// So many problems of shape that fleet stopped looking for more.
    TooManyProblems,
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
            Code::KubernetesLabel => "fleet::config::kubernetes_label",
            Code::InvalidResource => "fleet::config::invalid_resource",
            Code::InvalidApiGroup => "fleet::config::invalid_api_group",
            Code::RbacSingularResource => "fleet::config::rbac_singular_resource",
            Code::RbacResourceNames => "fleet::config::rbac_resource_names",
            Code::PropertiesTooLarge => "fleet::config::properties_too_large",
            Code::ConflictingKeys => "fleet::config::conflicting_keys",
            Code::TooManyProblems => "fleet::config::too_many_problems",
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
            | Code::KubernetesLabel
            | Code::RbacSingularResource
            | Code::RbacResourceNames
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
    /// Byte ranges of the file shown as `*` in this problem's snippet (a secret).
    redactions: Vec<Range<usize>>,
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
            redactions: Vec::new(),
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

    /// Shows the text of `span` as `*` in this problem's snippet, for a value that may be a
    /// secret (a token pasted as a path, credentials in a URL).
    pub(crate) fn redact(mut self, span: Range<usize>) -> Self {
        self.redactions.push(span);
        self
    }

    /// Attaches the file (a copy with the redacted ranges masked, if there are any).
    pub(crate) fn with_source(mut self, source: Arc<SourceFile>) -> Self {
        self.source = Some(if self.redactions.is_empty() {
            source
        } else {
            Arc::new(source.redacted(&self.redactions))
        });
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

/// Widths up to which miette prints a message line and a hint line unwrapped on an
/// 80-column terminal: it wraps at the width less 2, after its `  × ` and `  help: `
/// prefixes (4 and 8 columns).
const MESSAGE_WIDTH: usize = 74;
const HELP_WIDTH: usize = 70;

/// `text` with its lines longer than `width` broken at spaces only. miette wraps long lines
/// itself, and may break them at a hyphen or inside a long word (`location-` / `group`);
/// lines that already fit are left alone, so a name is never cut on a terminal of 80
/// columns or more. A word longer than `width` gets a line of its own, unbroken.
pub(crate) fn prewrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.chars().count() <= width {
            out.push_str(line);
            continue;
        }
        let indent = &line[..line.len() - line.trim_start_matches(' ').len()];
        let mut column = 0;
        for word in line[indent.len()..].split(' ') {
            let len = word.chars().count();
            if column == 0 {
                out.push_str(indent);
                column = indent.len();
            } else if column + 1 + len > width {
                out.push('\n');
                out.push_str(indent);
                column = indent.len();
            } else {
                out.push(' ');
                column += 1;
            }
            out.push_str(word);
            column += len;
        }
    }
    out
}

/// The message as a terminal shows it (long lines broken at spaces, see [`prewrap`]); use
/// [`Problem::message`] for the one-line text.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.chars().count() <= MESSAGE_WIDTH {
            f.write_str(&self.message)
        } else {
            f.write_str(&prewrap(&self.message, MESSAGE_WIDTH))
        }
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

    /// The hint, long lines broken at spaces (see [`prewrap`]); [`Problem::help_text`] is
    /// the unbroken text.
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(prewrap(h, HELP_WIDTH)) as Box<dyn fmt::Display>)
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

/// Longest user value echoed whole in a message, in characters; longer ones are cut to
/// [`ECHO_CUT`] characters.
pub(crate) const ECHO_MAX: usize = 120;
const ECHO_CUT: usize = 60;

/// The first [`ECHO_CUT`] characters of `value` when it is longer than [`ECHO_MAX`].
fn cut(value: &str) -> Option<&str> {
    value.char_indices().nth(ECHO_MAX)?;
    let (end, _) = value.char_indices().nth(ECHO_CUT)?;
    Some(&value[..end])
}

/// `value` Debug-quoted for a message (`"us east"`); a long value is cut with an ellipsis
/// and its length, so a 1 MB value is not reprinted.
pub(crate) fn quoted(value: &str) -> String {
    // Debug escapes control characters and bidirectional overrides (`\u{202e}`).
    match cut(value) {
        None => format!("{value:?}"),
        Some(head) => format!("{:?} ({} bytes)", format!("{head}…"), value.len()),
    }
}

/// `value` in backticks for a message (`` `edge` ``), cut like [`quoted`]; control and
/// bidirectional-override characters are escaped (`\u{1b}`), so a name cannot drive the
/// terminal or reorder what is printed.
pub(crate) fn ticked(value: &str) -> String {
    if value.is_empty() {
        return "\"\" (empty)".to_owned();
    }
    match cut(value) {
        None => format!("`{}`", escaped(value)),
        Some(head) => format!("`{}…` ({} bytes)", escaped(head), value.len()),
    }
}

/// Whether `c` would act on a terminal rather than show: a control character (but tab) or a
/// bidirectional override or isolate (the "Trojan Source" characters).
pub(crate) fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// `value` with its [unsafe](is_unsafe) characters written as `\u{…}`.
pub(crate) fn escaped(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.chars().any(is_unsafe) {
        return value.into();
    }
    value
        .chars()
        .map(|c| {
            if is_unsafe(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// `value` as a TOML basic string (`"a \"b\""`), for hints that show TOML to write.
pub(crate) fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `key` as a TOML key: bare when it can be, else quoted.
pub(crate) fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_owned()
    } else {
        toml_string(key)
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
