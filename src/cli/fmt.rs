//! `fleet fmt`: rewrite `fleet.toml` in canonical form, keeping comments.
//!
//! With `--check` nothing is written: the unified diff is printed on stdout and the exit
//! code is 2 when the file is not formatted, 0 when it is.

use std::process::ExitCode;

use miette::{Context, IntoDiagnostic};

use super::{Exit, GlobalArgs, out};
use crate::config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not write; print the diff and exit 2 if the file is not formatted.
    #[arg(long)]
    pub check: bool,
}

pub fn execute(global: &GlobalArgs, args: Args) -> miette::Result<ExitCode> {
    let path = &global.file;
    // Only a regular file of a sane size is read (not /dev/zero, not a FIFO).
    let text = config::read(path)?;
    let formatted = config::format::format(path, &text)?;
    let name = path.display().to_string();
    if formatted == text {
        eprintln!("{name} is already formatted");
        return Ok(Exit::Success.into());
    }
    if args.check {
        let diff = similar::TextDiff::from_lines(&text, &formatted);
        out(format_args!(
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&name, &format!("{name} (formatted)"))
        ));
        eprintln!("{name} is not formatted; run `fleet fmt` to fix it");
        return Ok(Exit::Changes.into());
    }
    std::fs::write(path, formatted)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {name}"))?;
    eprintln!("formatted {name}");
    Ok(Exit::Success.into())
}
