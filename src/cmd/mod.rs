//! One module per command; shared glue here.

use std::path::PathBuf;

use anyhow::Context;
use bridgescout::catalog::EndpointKind;
use bridgescout::store::{RunFilter, Store, parse_since};

use crate::cli::ProbeArgs;

pub mod config;
pub mod export;
pub mod history;
pub mod merge;
pub mod recorder;
pub mod scan;
pub mod watch;

/// A token cancelled by Ctrl-C or SIGTERM. The handlers are installed
/// before this returns: a signal that arrives at once must not find the
/// default action (kill) still in place.
pub fn interrupts() -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let stop = token.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            tokio::spawn(async move {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                stop.cancel();
            });
            return token;
        }
    }
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    token
}

/// The history database path: `--db`, `BRIDGESCOUT_DB`, or the XDG default.
pub fn db_path(args: &ProbeArgs) -> anyhow::Result<PathBuf> {
    args.db
        .clone()
        .or_else(Store::default_path)
        .context("no history database path: set --db or HOME")
}

/// Opens an existing history database for reading.
pub fn open_existing(args: &ProbeArgs) -> anyhow::Result<Store> {
    let path = db_path(args)?;
    if !path.exists() {
        anyhow::bail!(
            "no history at {}: run a scan first, or point --db at a database",
            path.display()
        );
    }
    Ok(Store::open(&path)?)
}

pub fn filter(since: Option<&str>, run: Option<i64>) -> anyhow::Result<RunFilter> {
    let since = since
        .map(|s| parse_since(s, std::time::SystemTime::now()))
        .transpose()?;
    Ok(RunFilter { since, run })
}

/// `--kind doh` → the kind; unknown names are a usage error.
pub fn kind(name: Option<&str>) -> anyhow::Result<Option<EndpointKind>> {
    let Some(name) = name else { return Ok(None) };
    let quoted = format!("\"{}\"", name.to_ascii_lowercase());
    serde_json::from_str(&quoted)
        .map(Some)
        .map_err(|_| anyhow::anyhow!("unknown endpoint kind {name:?}"))
}
