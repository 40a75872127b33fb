//! The command line: global flags, one module per subcommand, exit codes and terminal setup.
//!
//! Adding a subcommand is one variant of [`Command`], one arm in [`execute`] and one file
//! with `pub struct Args` and `pub fn execute(global: &GlobalArgs, args: Args) ->
//! miette::Result<ExitCode>` (or an `async fn`). Results go to stdout; diagnostics, progress
//! and logs go to stderr.

pub mod apply;
pub mod completions;
pub mod drift;
pub mod fmt;
pub mod graph;
pub mod help;
pub mod import;
pub mod man;
pub mod memory;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod show;
pub mod status;
pub mod unlock;
pub mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Declarative plan/apply for KubeStellar Workload Execution Clusters.
#[derive(Debug, Parser)]
#[command(
    name = "fleet",
    version,
    about,
    max_term_width = 100,
    after_help = help::fleet_after_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// The fleet description.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "fleet.toml"
    )]
    pub file: PathBuf,
    /// Kubeconfig for contexts without their own `kubeconfig` [default: $KUBECONFIG, then
    /// ~/.kube/config].
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// How long one request to a cluster may take, connecting included, before it fails
    /// with a timeout (commands that talk to clusters).
    #[arg(
        long,
        global = true,
        value_name = "DUR",
        default_value = "15s",
        value_parser = parse_timeout
    )]
    pub request_timeout: std::time::Duration,
    /// Progress of long applies and reads on stderr: a bar on a terminal, else a line every
    /// few seconds (`plain`), or none.
    #[arg(long, global = true, value_enum, default_value_t = progress::ProgressMode::Auto)]
    pub progress: progress::ProgressMode,
    /// When to use colours (NO_COLOR and FORCE_COLOR are honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// A duration between 1 s and 10 min, as `30s` or `2m`.
fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (for example 30s or 2m)"))?;
    if d < std::time::Duration::from_secs(1) || d > std::time::Duration::from_secs(600) {
        return Err("must be between 1s and 10m".to_owned());
    }
    Ok(d)
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check fleet.toml offline and report every problem.
    #[command(after_help = help::VALIDATE.after_help())]
    Validate(validate::Args),
    /// Show what apply would change on the ITS, the WDS and the WECs (read-only).
    #[command(after_help = help::PLAN.after_help())]
    Plan(plan::Args),
    /// Make the live fleet match fleet.toml, or apply a saved plan exactly.
    #[command(after_help = help::APPLY.after_help())]
    Apply(apply::Args),
    /// Render a saved plan (human, JSON or Markdown), offline.
    #[command(after_help = help::SHOW.after_help())]
    Show(show::Args),
    /// Report only out-of-band changes; exit 2 when there is drift.
    #[command(after_help = help::DRIFT.after_help())]
    Drift(drift::Args),
    /// One row per WEC: registration, agent heartbeat, and whether it matches fleet.toml.
    #[command(after_help = help::STATUS.after_help())]
    Status(status::Args),
    /// Print the plan's dependency graph.
    #[command(after_help = help::GRAPH.after_help())]
    Graph(graph::Args),
    /// Print a fleet.toml for the live fleet (read-only).
    #[command(after_help = help::IMPORT.after_help())]
    Import(import::Args),
    /// Rewrite fleet.toml in canonical form, keeping comments.
    #[command(after_help = help::FMT.after_help())]
    Fmt(fmt::Args),
    /// Clear the apply lock on the ITS by hand, if LOCK_ID holds it.
    #[command(after_help = help::UNLOCK.after_help())]
    Unlock(unlock::Args),
    /// Print the shell completion script for bash, zsh, fish or PowerShell.
    #[command(after_help = help::COMPLETIONS.after_help())]
    Completions(completions::Args),
    /// Print the manual page (roff), or write one page per command with --dir.
    #[command(after_help = help::MAN.after_help())]
    Man(man::Args),
}

/// Process exit codes (the README documents them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success, no changes.
    Success = 0,
    /// An error (including an invalid fleet.toml).
    Error = 1,
    /// Changes present (`plan --detailed-exitcode`, `drift`, `fmt --check`), or a WEC not
    /// healthy (`status --exit-code`).
    Changes = 2,
    /// The saved plan is stale.
    StalePlan = 3,
    /// The apply lock is held by someone else.
    Locked = 4,
    /// Apply partially failed.
    PartialFailure = 5,
    /// Some cluster could not be read.
    Incomplete = 6,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Runs the parsed command line.
pub async fn execute(cli: Cli) -> miette::Result<ExitCode> {
    let colors = init_terminal(cli.global.color);
    match cli.command {
        Command::Validate(args) => validate::execute(&cli.global, args),
        Command::Plan(args) => plan::execute(&cli.global, colors, args).await,
        Command::Apply(args) => apply::execute(&cli.global, colors, args).await,
        Command::Show(args) => show::execute(&cli.global, colors, args),
        Command::Unlock(args) => unlock::execute(&cli.global, args).await,
        Command::Drift(args) => drift::execute(&cli.global, colors, args).await,
        Command::Status(args) => status::execute(&cli.global, colors, args).await,
        Command::Graph(args) => graph::execute(&cli.global, args).await,
        Command::Import(args) => import::execute(&cli.global, args).await,
        Command::Fmt(args) => fmt::execute(&cli.global, args),
        Command::Completions(args) => completions::execute(args),
        Command::Man(args) => man::execute(args),
    }
}

/// Writes a result to stdout. A closed pipe (`fleet plan | head -c1`) is not an error: the
/// rest is dropped and the command's exit code stands. Any other write error ends the run
/// with exit 1.
pub fn out(text: impl std::fmt::Display) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = write!(stdout, "{text}").and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            std::process::exit(Exit::Error as i32);
        }
    }
}

/// Prints fleet.toml's warnings to stderr through one buffer (thousands of them are one
/// write, not one per line); a closed stderr is not an error.
pub fn print_warnings(warnings: &[crate::config::Problem]) {
    use std::io::Write;
    if warnings.is_empty() {
        return;
    }
    let mut err = std::io::BufWriter::new(std::io::stderr().lock());
    for w in warnings {
        if writeln!(err, "{:?}", miette::Report::new(w.clone())).is_err() {
            return;
        }
    }
    let _ = err.flush();
}

/// Whether stdout and stderr get colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colors {
    pub stdout: bool,
    pub stderr: bool,
}

impl Colors {
    /// Resolves `--color` against FORCE_COLOR / CLICOLOR_FORCE, NO_COLOR and TTY detection,
    /// in that order (as pixi does).
    pub fn resolve(choice: ColorChoice) -> Self {
        let env = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        let fixed = match choice {
            ColorChoice::Always => Some(true),
            ColorChoice::Never => Some(false),
            ColorChoice::Auto if env("FORCE_COLOR") || env("CLICOLOR_FORCE") => Some(true),
            ColorChoice::Auto if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => {
                Some(false)
            }
            ColorChoice::Auto => None,
        };
        Colors {
            stdout: fixed.unwrap_or_else(|| std::io::stdout().is_terminal()),
            stderr: fixed.unwrap_or_else(|| std::io::stderr().is_terminal()),
        }
    }
}

/// Sets up colours (owo-colors, anstream, the miette report handler) and logging to stderr.
/// Call once, before printing anything.
pub fn init_terminal(choice: ColorChoice) -> Colors {
    let colors = Colors::resolve(choice);
    owo_colors::set_override(colors.stdout);
    anstream::ColorChoice::write_global(match choice {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    });
    let stderr_color = colors.stderr;
    // Only the first hook wins; tests may call this more than once.
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(stderr_color)
                .unicode(stderr_color || std::io::stderr().is_terminal())
                .terminal_links(false)
                // A path, URL or command longer than the terminal is wide stays whole (and
                // copyable): lines break at spaces only, never inside a word, at a `/` or at
                // a `-`.
                .break_words(false)
                .word_separator(textwrap::WordSeparator::AsciiSpace)
                .word_splitter(textwrap::WordSplitter::NoHyphenation)
                .build(),
        )
    }));
    // kube-client logs a whole response body when it cannot parse one; a TokenRequest's
    // holds a bootstrap token, so its logs stop at errors whatever FLEET_LOG asks for.
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLEET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
        .add_directive("kube_client=off".parse().expect("a valid directive"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr_color)
        .try_init();
    colors
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["fleet", "validate", "-f", "x.toml", "--color", "never"]).unwrap();
        assert_eq!(cli.global.file, PathBuf::from("x.toml"));
        assert_eq!(cli.global.color, ColorChoice::Never);
        assert!(matches!(cli.command, Command::Validate(_)));
    }
}
