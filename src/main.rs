use std::process::ExitCode;

use clap::Parser;
use fleet::cli::{Cli, Exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("cannot start the tokio runtime");
    match runtime.block_on(fleet::cli::execute(cli)) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            Exit::Error.into()
        }
    }
}
