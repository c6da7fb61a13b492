//! Probes: one module per protocol, all behind [`Probe`]. A probe performs
//! real network steps, records each one through a [`Recorder`], and returns
//! the evidence it gathered; [`crate::verdict`] turns evidence into a verdict.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::catalog::{Endpoint, Target};
use crate::engine::Event;
use crate::measurement::{Failure, Operation, Step};

pub mod dns;
pub mod doh;
pub mod dot;
pub mod failure;
pub mod front;
pub mod ikev2;
pub mod openvpn;
pub mod resolver;
pub mod shadowsocks;
pub mod tls;
pub mod tor;
pub mod vpn;
pub mod wireguard;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Settings every probe shares.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Limit for any single network step.
    pub step_timeout: Duration,
    /// A name that exists; its answer must carry records.
    pub probe_name: String,
    /// Server name used for the control handshake that tells SNI filtering
    /// apart from other blocking.
    pub control_sni: String,
    /// TLS trust: webpki roots plus any extra anchors.
    pub tls: tls::TlsSettings,
    /// Most addresses tried per endpoint (all in parallel).
    pub max_addresses: usize,
    /// Ask the operating system's resolver for endpoint host names. Tests
    /// turn this off so no query leaves the machine for a made-up name.
    pub system_resolver: bool,
    pub tor: tor::TorConfig,
    /// Where a proxy (Shadowsocks) is asked to connect for its round-trip
    /// test: a DNS resolver that answers over TCP. The user's proxy makes
    /// that connection, not this machine.
    pub proxy_target: std::net::SocketAddr,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            step_timeout: Duration::from_secs(5),
            probe_name: "example.com".to_string(),
            control_sni: "example.org".to_string(),
            tls: tls::TlsSettings::default(),
            max_addresses: 4,
            system_resolver: true,
            tor: tor::TorConfig::default(),
            proxy_target: std::net::SocketAddr::from(([1, 1, 1, 1], 53)),
        }
    }
}

/// Aborts a spawned task when dropped: a probe cancelled mid-way (quit,
/// Ctrl-C) must not leave connections or bootstraps running behind it.
pub struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Facts shared by every probe of one scan.
#[derive(Debug, Default)]
pub struct ScanContext {
    /// Set once any probe completed a TCP connect or got an authenticated
    /// answer (a verified VPN handshake reply): the network is up, so a
    /// dropped connection elsewhere points at targeted blocking.
    network_up: AtomicBool,
}

impl ScanContext {
    pub fn mark_network_up(&self) {
        self.network_up.store(true, Ordering::Relaxed);
    }

    pub fn network_up(&self) -> bool {
        self.network_up.load(Ordering::Relaxed)
    }
}

/// Collects the steps of one measurement and streams each finished step as
/// an event. Cheap to clone: parallel attempts of one probe share it.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<RecorderInner>,
}

struct RecorderInner {
    id: usize,
    start: Instant,
    steps: Mutex<Vec<Step>>,
    events: Option<mpsc::UnboundedSender<Event>>,
    scan: Arc<ScanContext>,
}

/// A step that has started; finish it with [`Recorder::finish`].
#[derive(Debug)]
pub struct Started {
    operation: Operation,
    target: Option<String>,
    t0: f64,
}

impl Recorder {
    pub fn new(
        id: usize,
        events: Option<mpsc::UnboundedSender<Event>>,
        scan: Arc<ScanContext>,
    ) -> Self {
        Recorder {
            inner: Arc::new(RecorderInner {
                id,
                start: Instant::now(),
                steps: Mutex::new(Vec::new()),
                events,
                scan,
            }),
        }
    }

    pub fn scan(&self) -> &ScanContext {
        &self.inner.scan
    }

    /// Seconds since the measurement started.
    pub fn elapsed(&self) -> f64 {
        self.inner.start.elapsed().as_secs_f64()
    }

    pub fn begin(&self, operation: Operation, target: Option<String>) -> Started {
        Started {
            operation,
            target,
            t0: self.elapsed(),
        }
    }

    /// Records a finished step and returns a copy of it.
    pub fn finish(
        &self,
        started: Started,
        failure: Option<Failure>,
        detail: Option<String>,
        addresses: Vec<String>,
    ) -> Step {
        let step = Step {
            operation: started.operation,
            target: started.target,
            t0: started.t0,
            t: self.elapsed(),
            failure,
            detail,
            addresses,
        };
        if let Ok(mut steps) = self.inner.steps.lock() {
            steps.push(step.clone());
        }
        if let Some(tx) = &self.inner.events {
            // A closed receiver only means nobody is watching any more.
            let _ = tx.send(Event::Step {
                id: self.inner.id,
                step: step.clone(),
            });
        }
        step
    }

    /// All steps so far, ordered by start time.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = match self.inner.steps.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        steps.sort_by(|a, b| a.t0.total_cmp(&b.t0));
        steps
    }
}

/// What a probe learned; the verdict module reads it.
#[derive(Debug, Clone)]
pub enum Evidence {
    DnsResolver(resolver::ResolverEvidence),
    // Boxed: Tor evidence is several times larger than the rest.
    Tor(Box<tor::TorEvidence>),
    /// Every VPN and proxy kind.
    Vpn(Box<vpn::VpnEvidence>),
}

/// One protocol's way of testing endpoints.
pub trait Probe: Send + Sync {
    fn run<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        config: &'a ProbeConfig,
        rec: &'a Recorder,
    ) -> BoxFuture<'a, Evidence>;
}

/// Picks the probe for an endpoint.
pub fn probe_for(target: &Target) -> &'static dyn Probe {
    match target {
        Target::Doh(_) => &resolver::ResolverProbe(resolver::Protocol::Doh),
        Target::Dot(_) => &resolver::ResolverProbe(resolver::Protocol::Dot),
        Target::Bridge(_) => &tor::TorProbe,
        Target::WireGuard(_) => &wireguard::WireguardProbe,
        Target::OpenVpn(_) => &openvpn::OpenvpnProbe,
        Target::Ike(_) => &ikev2::IkeProbe,
        Target::Shadowsocks(_) => &shadowsocks::ShadowsocksProbe,
        Target::ProxyLink(_) => &front::FrontProbe,
    }
}

/// Runs `fut` as one recorded step with the configured timeout, mapping
/// errors to OONI failures. Returns the value on success.
pub async fn timed_step<T, F>(
    rec: &Recorder,
    timeout: Duration,
    operation: Operation,
    target: Option<String>,
    fut: F,
    detail: impl FnOnce(&T) -> Option<String>,
) -> Result<T, Failure>
where
    F: Future<Output = Result<T, Failure>>,
{
    let started = rec.begin(operation, target);
    let result = match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(Failure::GenericTimeout),
    };
    match result {
        Ok(v) => {
            let d = detail(&v);
            rec.finish(started, None, d, Vec::new());
            Ok(v)
        }
        Err(f) => {
            rec.finish(started, Some(f.clone()), None, Vec::new());
            Err(f)
        }
    }
}
