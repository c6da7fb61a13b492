//! bridgescout binary: parse the command line, pick a mode, map the outcome
//! to an exit code. The work itself lives in the library; `cmd` only glues
//! library calls to arguments and output.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;

use cli::{Cli, Command};

/// At least one endpoint works (scan, tui); or the command succeeded.
pub const EXIT_OK: u8 = 0;
/// Runtime error (I/O, terminal, database).
pub const EXIT_ERROR: u8 = 1;
/// Bad usage or no usable input.
pub const EXIT_USAGE: u8 = 2;
/// Everything was tested and nothing works.
pub const EXIT_NONE_REACHABLE: u8 = 3;
/// Interrupted (Ctrl-C) before the scan finished.
pub const EXIT_CANCELLED: u8 = 130;
/// Stopped by SIGTERM.
pub const EXIT_TERMINATED: u8 = 143;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // arti's TLS layer picks no crypto backend itself; ours is ring. An
    // error only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Scan(a)) => cmd::scan::run(a.inputs, &a.kind, a.format, false, &cli.probe).await,
            Some(Command::Tui(a)) => cmd::scan::run(a.inputs, &a.kind, None, true, &cli.probe).await,
            None => cmd::scan::run(Vec::new(), None, true, &cli.probe).await,
            Some(Command::History(a)) => cmd::history::run(&a, &cli.probe),
            Some(Command::Export(a)) => cmd::export::run(&a, &cli.probe),
            Some(Command::Merge(a)) => cmd::merge::run(&a),
            Some(Command::Watch(a)) => cmd::watch::run(&a, &cli.probe).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
