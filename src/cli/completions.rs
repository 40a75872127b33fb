//! `fleet completions SHELL`: prints the shell's completion script on stdout, generated from
//! the same clap definitions as the parser (clap_complete), so it never lags a flag.

use std::process::ExitCode;

use clap::{CommandFactory, ValueEnum};

use crate::cli::{Cli, Exit, out};

/// The shells completions are generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "fleet", &mut script);
    String::from_utf8(script).expect("clap_complete writes UTF-8")
}

pub fn execute(args: Args) -> miette::Result<ExitCode> {
    out(script(args.shell));
    Ok(Exit::Success.into())
}
