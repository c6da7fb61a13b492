//! `bridgescout scan` and the terminal UI: load inputs, start the engine,
//! record history, print or show results.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use bridgescout::catalog::{self, Catalog, Endpoint, EndpointKind, Origin};
use bridgescout::config::Source;
use bridgescout::controls::{self, Control, ControlConfig, ControlResult, DefaultNote};
use bridgescout::engine::{self, EngineConfig, Event, Scan};
use bridgescout::measurement::Measurement;
use bridgescout::netctx;
use bridgescout::probe::ProbeConfig;
use bridgescout::probe::tls::TlsSettings;
use bridgescout::probe::tor::TorConfig;
use bridgescout::report::{Format, Writer};
use bridgescout::run::{NetworkContext, RunMeta};
use bridgescout::tui::{
    ControlSetup, ExportSetup, Lang, Retest, Setting, TuiError, TuiOptions, ViewOptions,
};

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
        bootstrap_resolvers: args.bootstrap_resolver.clone(),
    });
    // Controls by default only for people at the UI: scripted runs and
    // tests contact no host they were not told to.
    let (control_list, notes) = control_targets(args, show_tui);
    let control_config = control_config(&config);
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
            settings: settings(args, &control_list),
            control_notes: notes,
        };
        let opts = TuiOptions {
            no_color: args.no_color,
            export,
            retest,
            controls: Some(ControlSetup {
                controls: control_list,
                config: control_config,
            }),
        };
        return tui(scan, opts, view).await;
    }
    // Beside the scan, on their own task; reported once both are done.
    let checks = (!control_list.is_empty()).then(|| {
        tokio::spawn(async move { controls::run_all(&control_list, &control_config).await })
    });
    let format = match format {
        Some(FormatArg::Jsonl) => Format::Jsonl,
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Table) => Format::Table,
        None if std::io::stdout().is_terminal() => Format::Table,
        None => Format::Jsonl,
    };
    let code = print(scan, format, color).await?;
    if let Some(checks) = checks
        && let Ok(results) = checks.await
    {
        // On stderr: stdout carries one record per endpoint, nothing else.
        eprintln!("{}", controls_line(&results));
    }
    Ok(code)
}

/// The control targets for this run and why the defaults are what they
/// are: none with `--no-controls`; the `--control` list if given; else
/// the system defaults, but only for the UI.
pub(super) fn control_targets(
    args: &ProbeArgs,
    interactive: bool,
) -> (Vec<Control>, Vec<DefaultNote>) {
    if args.no_controls {
        return (Vec::new(), Vec::new());
    }
    if !args.controls.is_empty() {
        return (args.controls.clone(), Vec::new());
    }
    if !interactive {
        return (Vec::new(), Vec::new());
    }
    let d = controls::system_defaults(!args.no_system_dns);
    (d.controls, d.notes)
}

/// Controls use the scan's step timeout, trust anchors and probe name.
pub(super) fn control_config(config: &EngineConfig) -> ControlConfig {
    ControlConfig {
        step_timeout: config.probe.step_timeout,
        tls: config.probe.tls.clone(),
        query_name: config.probe.probe_name.clone(),
    }
}

/// "controls: domestic=dns:192.0.2.53:53 ok 12 ms · … → international_cut".
pub(super) fn controls_line(results: &[ControlResult]) -> String {
    let items: Vec<String> = results
        .iter()
        .map(|r| match (&r.failure, r.latency_ms) {
            (None, Some(ms)) => format!("{} ok {ms:.0} ms", r.control),
            (None, None) => format!("{} ok", r.control),
            (Some(f), _) => format!("{} {f}", r.control),
        })
        .collect();
    let reading = controls::assess(results.iter().map(|r| (r.control.scope, Some(r))))
        .map_or("undecided", |r| r.as_str());
    format!("controls: {} → {reading}", items.join(" · "))
}

/// The settings overlay: every option with its value and source, plus
/// the effective language, colours, controls and history file.
fn settings(args: &ProbeArgs, controls: &[Control]) -> Vec<Setting> {
    const SENSITIVE: [&str; 9] = [
        "ca-file",
        "db",
        "network-label",
        "asn-db",
        "stun",
        "pt-path",
        "tor-network",
        "control",
        "bootstrap-resolver",
    ];
    let p = &args.provenance;
    let mut out = vec![{
        let (value, source) = match (&p.file, p.file_source) {
            (Some(f), Some(src)) => (f.display().to_string(), src),
            _ => ("none".to_string(), Source::Default),
        };
        Setting::new("config", value, source).sensitive()
    }];
    for e in &p.entries {
        let value = match e.key.as_str() {
            "control" if args.no_controls => "off (--no-controls)".to_string(),
            "control" => controls
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            "db" => {
                let path = super::db_path(args)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "—".into());
                if args.no_history {
                    format!("{path} (not recording: --no-history)")
                } else {
                    path
                }
            }
            "lang" => {
                let lang = args.lang.unwrap_or_else(|| Lang::from_env(None));
                let code = match lang {
                    Lang::En => "en",
                    Lang::Ru => "ru",
                    Lang::Kk => "kk",
                };
                if args.lang.is_some() {
                    code.to_string()
                } else {
                    format!("{code} (from the locale)")
                }
            }
            "no-color" if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => {
                format!("{} (NO_COLOR is set: no colours)", e.value)
            }
            _ if e.value.is_empty() => "—".to_string(),
            _ => e.value.clone(),
        };
        let mut setting = Setting::new(&e.key, value, e.source);
        if SENSITIVE.contains(&e.key.as_str()) {
            setting = setting.sensitive();
        }
        out.push(setting);
    }
    out
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
        if kinds.contains(&EndpointKind::Ikev2)
            && let Some(ep) = bare_ike(input, &kinds)
        {
            all.endpoints.push(ep);
            continue;
        }
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

/// With `--kind ikev2`, an input that is not a file or directory, and not
/// a line of a kind asked for, but looks like a bare host name or IP
/// (optionally with a port) is an IKEv2 server.
fn bare_ike(input: &str, kinds: &[EndpointKind]) -> Option<Endpoint> {
    if std::path::Path::new(input).exists() || !looks_like_host(input) {
        return None;
    }
    match catalog::parse_line(input, Origin::User) {
        Ok(ep) if kinds.contains(&ep.kind()) => None,
        _ => catalog::ike::parse_bare(input, Origin::User).ok(),
    }
}

/// A host name, IPv4 or IPv6 literal, optionally with `:port` (IPv6 in
/// brackets then): no spaces, no scheme, only host characters.
fn looks_like_host(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && !s.contains("://")
        && (s.contains('.') || s.contains(':'))
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
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
