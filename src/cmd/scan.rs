//! `bridgescout scan` and the terminal UI: load inputs, start the engine,
//! record history, print or show results.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use bridgescout::catalog::{self, Catalog, Endpoint, EndpointKind, Origin};
use bridgescout::engine::{self, EngineConfig, Event, Scan};
use bridgescout::measurement::Measurement;
use bridgescout::netctx;
use bridgescout::probe::ProbeConfig;
use bridgescout::probe::tls::TlsSettings;
use bridgescout::probe::tor::TorConfig;
use bridgescout::report::{Format, Writer};
use bridgescout::run::{NetworkContext, RunMeta};
use bridgescout::tui::{ExportSetup, Retest, TuiError, TuiOptions, ViewOptions};

use crate::cli::{FormatArg, ProbeArgs};
use crate::{EXIT_CANCELLED, EXIT_NONE_REACHABLE, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE};

pub async fn run(
    inputs: Vec<String>,
    kinds: &[String],
    format: Option<FormatArg>,
    want_tui: bool,
    args: &ProbeArgs,
) -> anyhow::Result<u8> {
    let color =
        !args.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    let Some(mut endpoints) = load(&inputs, kinds)? else {
        return Ok(EXIT_USAGE);
    };
    for ep in &mut endpoints {
        ep.add_bootstrap_resolvers(&args.bootstrap_resolver);
    }
    let config = engine_config(args)?;
    let network = network_context(args).await?;
    let meta = RunMeta::starting_now(network);
    // The UI needs a terminal; otherwise behave like `scan`.
    let show_tui = want_tui && std::io::stdout().is_terminal();
    // The UI keeps the endpoints to test one again (deep test); plain
    // output never does, so it does not pay for the copy.
    let retest = show_tui.then(|| Retest {
        endpoints: std::sync::Arc::new(endpoints.clone()),
        config: config.clone(),
    });
    let mut scan = engine::start(endpoints, config);
    if !args.no_history {
        let path = super::db_path(args)?;
        if let Some((store, run_id)) = super::recorder::open(&path, &meta) {
            scan = super::recorder::tee(scan, store, run_id);
        }
    }
    if show_tui {
        // Exports from the UI go next to the history database.
        let export = super::db_path(args).ok().and_then(|db| {
            db.parent().map(|dir| ExportSetup {
                dir: dir.join("exports"),
                meta,
            })
        });
        let view = ViewOptions {
            mask: args.workshop,
            lang: args.lang,
        };
        let opts = TuiOptions {
            no_color: args.no_color,
            export,
            retest,
        };
        return tui(scan, opts, view).await;
    }
    let format = match format {
        Some(FormatArg::Jsonl) => Format::Jsonl,
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Table) => Format::Table,
        None if std::io::stdout().is_terminal() => Format::Table,
        None => Format::Jsonl,
    };
    print(scan, format, color).await
}

/// Derived facts about this network; the public address (only learned with
/// `--stun`) is dropped right here.
pub(super) async fn network_context(args: &ProbeArgs) -> anyhow::Result<NetworkContext> {
    let ip = match &args.stun {
        None => None,
        Some(server) => {
            let lookup = tokio::net::lookup_host(server.as_str());
            let addr = tokio::time::timeout(Duration::from_secs(5), lookup)
                .await
                .map_err(|_| anyhow::anyhow!("--stun {server}: name lookup timed out"))?
                .with_context(|| format!("--stun {server}"))?
                .next()
                .with_context(|| format!("--stun {server}: no address"))?;
            match netctx::stun_public_ip(addr, Duration::from_secs(3)).await {
                Ok(ip) => Some(ip),
                Err(e) => {
                    eprintln!("warning: STUN failed, country/AS unknown: {e}");
                    None
                }
            }
        }
    };
    Ok(NetworkContext::derive(
        ip,
        args.network_label.as_deref(),
        args.asn_db.as_deref(),
    )?)
}

async fn tui(scan: Scan, opts: TuiOptions, view: ViewOptions) -> anyhow::Result<u8> {
    let done = match bridgescout::tui::run_with(scan, opts, view).await {
        Ok(done) => done,
        Err(TuiError::Terminated { .. }) => return Ok(EXIT_TERMINATED),
        Err(e) => return Err(e.into()),
    };
    let working = done.iter().filter(|m| m.is_reachable()).count();
    println!("{working} of {} endpoints tested reachable.", done.len());
    Ok(if working > 0 {
        EXIT_OK
    } else {
        EXIT_NONE_REACHABLE
    })
}

/// Loads inputs (or the bundled lists), reporting every bad line on stderr.
pub(super) fn load(inputs: &[String], kinds: &[String]) -> anyhow::Result<Option<Vec<Endpoint>>> {
    let kinds: Vec<EndpointKind> = kinds
        .iter()
        .filter_map(|k| super::kind(Some(k)).transpose())
        .collect::<anyhow::Result<_>>()?;
    let mut all = Catalog::default();
    if inputs.is_empty() {
        all.extend(catalog::bundled());
    }
    for input in inputs {
        all.extend(catalog::load_input(input, Origin::User)?);
    }
    if !kinds.is_empty() {
        all.endpoints.retain(|e| kinds.contains(&e.kind()));
    }
    for e in &all.errors {
        // Bridge lines carry secrets; say what was wrong, not the values.
        eprintln!(
            "warning: skipped {}:{}: {}",
            e.source_name,
            e.line,
            bridgescout::probe::failure::redact_secrets(&e.message)
        );
    }
    if all.endpoints.is_empty() {
        eprintln!("error: no usable endpoints in the input");
        return Ok(None);
    }
    Ok(Some(all.endpoints))
}

pub(super) fn engine_config(args: &ProbeArgs) -> anyhow::Result<EngineConfig> {
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
            proxy_target: args.proxy_target,
            tor: TorConfig {
                data_target_bytes: args.data_bytes,
                stall_after: Duration::from_secs_f64(args.stall_after),
                pt_paths: args.pt_path.clone(),
                deep: args.deep,
                network_toml: args.tor_network.clone(),
                ..TorConfig::default()
            },
            ..ProbeConfig::default()
        },
    })
}

async fn print(mut scan: Scan, format: Format, color: bool) -> anyhow::Result<u8> {
    let stdout = std::io::stdout().lock();
    let mut writer = Writer::new(format, stdout, color)?;
    let mut done: Vec<Measurement> = Vec::new();
    let mut cancelled = false;
    let interrupted = super::interrupts();
    let mut cancel_sent = false;
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
            _ = interrupted.cancelled(), if !cancel_sent => {
                scan.cancel();
                cancel_sent = true;
            }
        }
    }
    writer.finish(&done, cancelled)?;
    Ok(if cancelled {
        EXIT_CANCELLED
    } else if done.iter().any(Measurement::is_reachable) {
        EXIT_OK
    } else {
        EXIT_NONE_REACHABLE
    })
}
