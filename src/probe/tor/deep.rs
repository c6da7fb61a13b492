//! Deep mode: a full arti client bootstrapping through exactly one bridge.
//! The data test shows the bridge moves bytes; this shows Tor as a whole
//! works through it (consensus, microdescriptors, a usable circuit).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arti_client::TorClient;
use arti_client::config::pt::TransportConfigBuilder;
use arti_client::config::{BridgeConfigBuilder, CfgPath, TorClientConfigBuilder};
use futures::StreamExt as _;

use super::link::Runtime;
use crate::catalog::bridge_line::{BridgeLine, Transport};
use crate::measurement::BootstrapTrace;
use crate::probe::failure::scrub;

/// Why the deep client could not even start.
#[derive(Debug, thiserror::Error)]
pub enum DeepError {
    #[error("cannot read the tor network file: {0}")]
    NetworkFile(#[source] std::io::Error),
    #[error("bad tor network file: {0}")]
    NetworkToml(String),
    #[error("arti does not accept this bridge line: {0}")]
    BridgeLine(String),
    #[error("arti configuration: {0}")]
    Config(String),
    #[error("temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("arti client: {0}")]
    Client(String),
}

/// A per-run temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, DeepError> {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "bridgescout-deep-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).map_err(DeepError::TempDir)?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The client configuration: the network from `network_toml` (arti TOML,
/// e.g. `[tor_network]`, `[address_filter]`) or the real one, this bridge
/// only, throwaway state so no guard state is shared between probes.
fn config(
    line: &BridgeLine,
    pt_binary: Option<&Path>,
    network_toml: Option<&Path>,
    dir: &Path,
) -> Result<arti_client::TorClientConfig, DeepError> {
    let mut b = match network_toml {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(DeepError::NetworkFile)?;
            toml::from_str::<TorClientConfigBuilder>(&text)
                .map_err(|e| DeepError::NetworkToml(e.to_string()))?
        }
        None => TorClientConfigBuilder::default(),
    };
    let bridge: BridgeConfigBuilder =
        line.to_string()
            .parse()
            .map_err(|e: arti_client::config::BridgeParseError| {
                DeepError::BridgeLine(scrub(&e.to_string()))
            })?;
    b.bridges().bridges().push(bridge);
    if line.transport != Transport::Vanilla {
        let name = if line.transport_name.is_empty() {
            line.transport.as_str().to_string()
        } else {
            line.transport_name.clone()
        };
        let proto = name
            .parse()
            .map_err(|e: tor_linkspec::TransportIdError| DeepError::Config(e.to_string()))?;
        let bin = pt_binary.ok_or_else(|| DeepError::Config("no PT client binary".into()))?;
        let mut t = TransportConfigBuilder::default();
        t.protocols(vec![proto])
            .path(CfgPath::new_literal(bin))
            .run_on_startup(false);
        b.bridges().transports().push(t);
    }
    b.storage()
        .cache_dir(CfgPath::new_literal(dir.join("cache")))
        .state_dir(CfgPath::new_literal(dir.join("state")));
    // Our own fresh directory: its permissions need no checking.
    b.storage().permissions().dangerously_trust_everyone();
    b.build()
        .map_err(|e| DeepError::Config(scrub(&e.to_string())))
}

/// Bootstraps through the bridge for at most `limit`, collecting progress.
pub async fn bootstrap(
    rt: &Runtime,
    line: &BridgeLine,
    pt_binary: Option<&Path>,
    network_toml: Option<&Path>,
    limit: Duration,
) -> Result<BootstrapTrace, (BootstrapTrace, String)> {
    let mut trace = BootstrapTrace::default();
    let dir = match TempDir::new() {
        Ok(d) => d,
        Err(e) => return Err((trace, e.to_string())),
    };
    let cfg = match config(line, pt_binary, network_toml, &dir.0) {
        Ok(c) => c,
        Err(e) => return Err((trace, e.to_string())),
    };
    let client = match TorClient::with_runtime(rt.clone())
        .config(cfg)
        .create_unbootstrapped()
    {
        Ok(c) => c,
        Err(e) => {
            return Err((trace, DeepError::Client(scrub(&e.to_string())).to_string()));
        }
    };
    let start = Instant::now();
    let mut events = client.bootstrap_events();
    let boot_client = client.clone();
    let mut boot =
        crate::probe::AbortOnDrop(tokio::spawn(async move { boot_client.bootstrap().await }));
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut last_text = String::new();
    let result = loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(st) => {
                    let t = start.elapsed().as_secs_f64();
                    let pct = (st.as_frac() * 100.0).round().clamp(0.0, 100.0) as u8;
                    let text = scrub(&st.to_string());
                    trace.percent = trace.percent.max(pct);
                    // Events repeat; keep changes only.
                    if text != last_text {
                        trace.events.push((t, pct, text.clone()));
                        last_text = text;
                    }
                    if st.ready_for_traffic() && pct >= 100 {
                        trace.seconds_to_100 = Some(t);
                        break Ok(());
                    }
                }
                None => break Err("bootstrap events ended".to_string()),
            },
            r = &mut boot.0 => match r {
                Ok(Ok(())) => {
                    let t = start.elapsed().as_secs_f64();
                    trace.percent = 100;
                    trace.seconds_to_100 = Some(t);
                    trace.events.push((t, 100, "bootstrap finished".into()));
                    break Ok(());
                }
                Ok(Err(e)) => break Err(scrub(&e.to_string())),
                Err(_) => break Err("bootstrap task ended abnormally".to_string()),
            },
            _ = &mut deadline => {
                break Err(format!(
                    "no full bootstrap within {:.0} s (reached {} %)",
                    limit.as_secs_f64(),
                    trace.percent
                ));
            }
        }
    };
    drop(boot);
    drop(client);
    match result {
        Ok(()) => Ok(trace),
        Err(msg) => Err((trace, msg)),
    }
}
