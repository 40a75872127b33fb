//! `fleet man [COMMAND] [--dir DIR]`: the manual pages, generated from the clap definitions
//! (clap_mangen) plus each command's EXAMPLES and EXIT STATUS from [`help`](super::help).
//!
//! Without `--dir`, one page in roff on stdout: fleet(1), or fleet-COMMAND(1). With `--dir`,
//! every page is written there, as git, cargo and gh ship theirs: `fleet.1`, `fleet-plan.1`, ….

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};
use miette::{Context, IntoDiagnostic};

use crate::cli::{Cli, Exit, help, out};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print this command's page, fleet-COMMAND(1), instead of fleet(1).
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Option<String>,
    /// Write every page (fleet.1 and one fleet-COMMAND.1 per command) into this directory,
    /// creating it if needed, instead of printing one on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The `fleet` command as the pages describe it: built (so each command knows its full
/// name and the global flags) and without clap's `help` command.
fn fleet() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The commands that get a page of their own.
pub fn commands() -> Vec<String> {
    fleet()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect()
}

/// The page of `fleet` (`None`) or of one of its commands, in roff; `None` for an unknown
/// command.
pub fn page(command: Option<&str>) -> Option<String> {
    let fleet = fleet();
    match command {
        None => Some(render(&fleet, &fleet, None)),
        Some(name) => {
            let cmd = fleet
                .get_subcommands()
                .find(|c| c.get_name() == name && !c.is_hide_set())?;
            Some(render(&fleet, cmd, Some(name)))
        }
    }
}

/// The page of `cmd`, `fleet` itself or its `command`.
fn render(fleet: &clap::Command, cmd: &clap::Command, command: Option<&str>) -> String {
    let top = command.is_none();
    let man = Man::new(cmd.clone())
        .source(format!("fleet {}", env!("CARGO_PKG_VERSION")))
        .manual("fleet manual");
    // Each section renders with the same apostrophe preamble: keep the first only.
    let preamble = Roff::new().render();
    let mut text = String::new();
    let mut section = |write: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        write(&mut buf).expect("rendering into memory cannot fail");
        let chunk = String::from_utf8(buf).expect("roff is UTF-8");
        match chunk.strip_prefix(&preamble) {
            Some(rest) if !text.is_empty() => text.push_str(rest),
            _ => text.push_str(&chunk),
        }
    };
    section(&|w| man.render_title(w));
    section(&|w| man.render_name_section(w));
    section(&|w| man.render_synopsis_section(w));
    section(&|w| man.render_description_section(w));
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        section(&|w| man.render_options_section(w));
    }
    if cmd.get_subcommands().any(|c| !c.is_hide_set()) {
        section(&|w| man.render_subcommands_section(w));
    }
    let page = help::page(command.unwrap_or(""));
    let mut roff = Roff::new();
    if let Some(page) = page {
        roff.control("SH", ["EXAMPLES"]);
        for (what, run) in page.examples {
            roff.text([roman(*what)]);
            roff.control("PP", [])
                .control("RS", ["4"])
                .control("nf", []);
            roff.text([bold(format!("$ {run}"))]);
            roff.control("fi", []).control("RE", []).control("PP", []);
        }
        roff.control("SH", ["EXIT STATUS"]);
        for (code, meaning) in page.exits {
            roff.control("TP", []);
            roff.text([bold(code.to_string())]);
            roff.text([roman(*meaning)]);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    let see_also: Vec<String> = if top {
        fleet
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| format!("fleet-{}", c.get_name()))
            .collect()
    } else {
        vec!["fleet".to_owned()]
    };
    let last = see_also.len() - 1;
    for (i, name) in see_also.iter().enumerate() {
        roff.text([
            bold(name.as_str()),
            roman(if i == last { "(1)" } else { "(1)," }),
        ]);
    }
    if top {
        roff.control("PP", []);
        roff.text([
            roman("The README of the fleet repository: "),
            italic("fleet.toml"),
            roman(", CI recipes, the lab."),
        ]);
    }
    section(&|w| roff.to_writer(w));
    if cmd.get_version().is_some() {
        section(&|w| man.render_version_section(w));
    }
    ascii(&text)
}

/// Non-ASCII characters (`…`, `—` in the help texts) as groff's `\[uXXXX]` escapes, which
/// groff and mandoc read whatever the locale and without a preprocessor.
fn ascii(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

/// Writes every page into `dir`; returns the files written.
pub fn write_all(dir: &Path) -> miette::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let pages = std::iter::once(("fleet".to_owned(), page(None))).chain(
        commands()
            .into_iter()
            .map(|c| (format!("fleet-{c}"), page(Some(&c)))),
    );
    for (name, text) in pages {
        let path = dir.join(format!("{name}.1"));
        let text = text.expect("every listed command has a page");
        std::fs::write(&path, text)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

pub fn execute(args: Args) -> miette::Result<ExitCode> {
    if let Some(dir) = &args.dir {
        let written = write_all(dir)?;
        eprintln!(
            "Wrote {} man pages to {} (fleet.1, fleet-COMMAND.1).",
            written.len(),
            dir.display()
        );
        return Ok(Exit::Success.into());
    }
    let Some(text) = page(args.command.as_deref()) else {
        let name = args.command.unwrap_or_default();
        miette::bail!(
            help = format!("the commands are: {}", commands().join(", ")),
            "no command `{name}`"
        );
    };
    out(text);
    Ok(Exit::Success.into())
}
