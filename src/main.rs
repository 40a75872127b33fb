use std::process::ExitCode;

use clap::Parser;
use fleet::cli::{Cli, Command, Exit};

fn main() -> ExitCode {
    fleet::cli::memory::map_large_buffers();
    // A command-line mistake exits 1 (clap's own default, 2, means "changes present" to CI);
    // --help and --version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Error.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    if matches!(cli.command, Command::Validate(_)) {
        fleet::cli::memory::grow_heaps_in_large_steps();
    }
    let runtime = tokio::runtime::Runtime::new().expect("cannot start the tokio runtime");
    match runtime.block_on(fleet::cli::execute(cli)) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            Exit::Error.into()
        }
    }
}
