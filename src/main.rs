//! bridgescout binary: parse the command line, pick a mode, map the outcome
//! to an exit code. The work itself lives in the library; `cmd` only glues
//! library calls to arguments and output.

use std::process::ExitCode;

mod cli;
mod cmd;

use cli::Command;

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
    let cli = match cmd::config::load(std::env::args_os().collect(), cmd::config::default_file()) {
        Ok(cli) => cli,
        // Usage errors exit 2; --help and --version print and exit 0.
        Err(cmd::config::LoadError::Clap(e)) => e.exit(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if cli.print_config_template {
        print!("{}", cmd::config::template());
        return ExitCode::from(EXIT_OK);
    }
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
            Some(Command::Scan(a)) => {
                cmd::scan::run(a.inputs, &a.kind, a.format, false, &cli.probe).await
            }
            Some(Command::Tui(a)) => {
                cmd::scan::run(a.inputs, &a.kind, None, true, &cli.probe).await
            }
            None => cmd::scan::run(Vec::new(), &[], None, true, &cli.probe).await,
            Some(Command::History(a)) => cmd::history::run(&a, &cli.probe),
            Some(Command::Export(a)) => cmd::export::run(&a, &cli.probe),
            Some(Command::Merge(a)) => cmd::merge::run(&a),
            Some(Command::Watch(a)) => cmd::watch::run(&a, &cli.probe).await,
            Some(Command::Config) => Ok(cmd::config::print(&cli.probe)),
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
