//! bridgescout binary: parse the command line, pick a mode, map the outcome
//! to an exit code. Everything else lives in the library.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bridgescout::catalog::{self, Catalog, Origin};
use bridgescout::engine::{self, EngineConfig, Event};
use bridgescout::measurement::Measurement;
use bridgescout::probe::ProbeConfig;
use bridgescout::probe::tls::TlsSettings;
use bridgescout::report::{Format, Writer};
use bridgescout::tui::{TuiError, TuiOptions};
use clap::Parser;

mod cli;
use cli::{Cli, Command, FormatArg, ProbeArgs};

/// At least one endpoint works.
const EXIT_REACHABLE: u8 = 0;
/// Runtime error (I/O, terminal).
const EXIT_ERROR: u8 = 1;
/// Bad usage or no usable input.
const EXIT_USAGE: u8 = 2;
/// Everything was tested and nothing works.
const EXIT_NONE_REACHABLE: u8 = 3;
/// Interrupted (Ctrl-C) before the scan finished.
const EXIT_CANCELLED: u8 = 130;
/// Stopped by SIGTERM.
const EXIT_TERMINATED: u8 = 143;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let color = !cli.probe.no_color
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::stdout().is_terminal();
    let (inputs, format, want_tui) = match cli.command {
        Some(Command::Scan(a)) => (a.inputs, a.format, false),
        Some(Command::Tui(a)) => (a.inputs, None, true),
        None => (Vec::new(), None, true),
    };
    let Some(mut endpoints) = load(&inputs)? else {
        return Ok(EXIT_USAGE);
    };
    for ep in &mut endpoints {
        ep.add_bootstrap_resolvers(&cli.probe.bootstrap_resolver);
    }
    let config = engine_config(&cli.probe)?;
    // The UI needs a terminal; otherwise behave like `scan`.
    if want_tui && std::io::stdout().is_terminal() {
        return tui(endpoints, config, cli.probe.no_color).await;
    }
    let format = match format {
        Some(FormatArg::Jsonl) => Format::Jsonl,
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Table) => Format::Table,
        None if std::io::stdout().is_terminal() => Format::Table,
        None => Format::Jsonl,
    };
    scan(endpoints, config, format, color).await
}

async fn tui(
    endpoints: Vec<catalog::Endpoint>,
    config: EngineConfig,
    no_color: bool,
) -> anyhow::Result<u8> {
    let scan = engine::start(endpoints, config);
    let done = match bridgescout::tui::run(scan, TuiOptions { no_color }).await {
        Ok(done) => done,
        Err(TuiError::Terminated { .. }) => return Ok(EXIT_TERMINATED),
        Err(e) => return Err(e.into()),
    };
    let working = done.iter().filter(|m| m.is_reachable()).count();
    println!("{working} of {} endpoints tested reachable.", done.len());
    Ok(if working > 0 {
        EXIT_REACHABLE
    } else {
        EXIT_NONE_REACHABLE
    })
}

/// Loads inputs (or the bundled lists), reporting every bad line on stderr.
fn load(inputs: &[String]) -> anyhow::Result<Option<Vec<catalog::Endpoint>>> {
    let mut all = Catalog::default();
    if inputs.is_empty() {
        all.extend(catalog::bundled());
    }
    for input in inputs {
        all.extend(catalog::load_input(input, Origin::User)?);
    }
    for e in &all.errors {
        eprintln!("warning: skipped {e}");
    }
    if all.endpoints.is_empty() {
        eprintln!("error: no usable endpoints in the input");
        return Ok(None);
    }
    Ok(Some(all.endpoints))
}

fn engine_config(args: &ProbeArgs) -> anyhow::Result<EngineConfig> {
    let tls = match &args.ca_file {
        Some(path) => TlsSettings::with_ca_file(path).context("--ca-file")?,
        None => TlsSettings::default(),
    };
    Ok(EngineConfig {
        concurrency: usize::from(args.concurrency),
        probe: ProbeConfig {
            step_timeout: Duration::from_secs_f64(args.timeout),
            probe_name: args.probe_name.clone(),
            control_sni: args.control_sni.clone(),
            tls,
            system_resolver: !args.no_system_dns,
            ..ProbeConfig::default()
        },
    })
}

async fn scan(
    endpoints: Vec<catalog::Endpoint>,
    config: EngineConfig,
    format: Format,
    color: bool,
) -> anyhow::Result<u8> {
    let stdout = std::io::stdout().lock();
    let mut writer = Writer::new(format, stdout, color)?;
    let mut scan = engine::start(endpoints, config);
    let mut done: Vec<Measurement> = Vec::new();
    let mut cancelled = false;
    loop {
        tokio::select! {
            ev = scan.events.recv() => match ev {
                Some(Event::Finished(m)) => {
                    writer.record(&m)?;
                    done.push(*m);
                }
                Some(Event::Done { cancelled: c }) => { cancelled = c; break; }
                Some(_) => {}
                None => break,
            },
            _ = tokio::signal::ctrl_c() => scan.cancel(),
        }
    }
    writer.finish(&done, cancelled)?;
    Ok(if cancelled {
        EXIT_CANCELLED
    } else if done.iter().any(Measurement::is_reachable) {
        EXIT_REACHABLE
    } else {
        EXIT_NONE_REACHABLE
    })
}
