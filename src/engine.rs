//! The engine: runs probes concurrently under one bound, with per-step
//! timeouts and cancellation, and streams events the moment they happen.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::catalog::Endpoint;
use crate::measurement::{EndpointInfo, Measurement, Step};
use crate::probe::{self, ProbeConfig, Recorder, ScanContext};
use crate::verdict;

/// Everything a scan reports, in the order it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// A probe got its concurrency slot and started.
    Started { id: usize },
    /// A step of probe `id` finished.
    Step { id: usize, step: Step },
    /// Probe finished with a verdict.
    Finished(Box<Measurement>),
    /// All probes finished or the scan was cancelled.
    Done { cancelled: bool },
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most probes running at once.
    pub concurrency: usize,
    pub probe: ProbeConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 64,
            probe: ProbeConfig::default(),
        }
    }
}

/// A running scan.
pub struct Scan {
    pub events: mpsc::UnboundedReceiver<Event>,
    cancel: CancellationToken,
    /// What is being measured, indexed by the `id` events carry.
    pub endpoints: Vec<EndpointInfo>,
}

impl Scan {
    /// Stops every probe; a `Done { cancelled: true }` event follows.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// Starts probing `endpoints` on the current tokio runtime.
pub fn start(endpoints: Vec<Endpoint>, config: EngineConfig) -> Scan {
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let infos = endpoints.iter().map(Endpoint::info).collect();
    tokio::spawn(drive(endpoints, config, tx, cancel.clone()));
    Scan {
        events: rx,
        cancel,
        endpoints: infos,
    }
}

async fn drive(
    endpoints: Vec<Endpoint>,
    config: EngineConfig,
    tx: mpsc::UnboundedSender<Event>,
    cancel: CancellationToken,
) {
    let limit = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let config = Arc::new(config.probe);
    let scan = Arc::new(ScanContext::default());
    let mut tasks = JoinSet::new();
    for (id, endpoint) in endpoints.into_iter().enumerate() {
        let limit = Arc::clone(&limit);
        let config = Arc::clone(&config);
        let scan = Arc::clone(&scan);
        let tx = tx.clone();
        let cancel = cancel.clone();
        tasks.spawn(async move {
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            if cancel.is_cancelled() {
                return;
            }
            let _ = tx.send(Event::Started { id });
            let fut = measure(id, &endpoint, &config, Some(tx.clone()), scan);
            tokio::select! {
                m = fut => { let _ = tx.send(Event::Finished(Box::new(m))); }
                _ = cancel.cancelled() => {}
            }
        });
    }
    let cancelled = tokio::select! {
        _ = async { while tasks.join_next().await.is_some() {} } => false,
        _ = cancel.cancelled() => {
            tasks.abort_all();
            true
        }
    };
    let _ = tx.send(Event::Done { cancelled });
}

/// Probes one endpoint and judges the evidence.
pub async fn measure(
    id: usize,
    endpoint: &Endpoint,
    config: &ProbeConfig,
    events: Option<mpsc::UnboundedSender<Event>>,
    scan: Arc<ScanContext>,
) -> Measurement {
    let start_time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let rec = Recorder::new(id, events, scan);
    let evidence = probe::probe_for(&endpoint.target)
        .run(endpoint, config, &rec)
        .await;
    let network_up = rec.scan().network_up();
    let judged = verdict::judge(&evidence, network_up);
    Measurement {
        schema_version: crate::measurement::SCHEMA_VERSION,
        id,
        endpoint: endpoint.info(),
        start_time,
        runtime: rec.elapsed(),
        steps: rec.steps(),
        verdict: judged.verdict,
        diagnosis: judged.diagnosis,
        failure: judged.failure,
        failed_operation: judged.failed_operation,
        latency_ms: judged.latency_ms,
        notes: judged.notes,
        data_test: judged.data_test,
        clock_skew_s: judged.clock_skew_s,
        bootstrap: judged.bootstrap,
    }
}

/// Runs a whole scan and returns measurements ordered by endpoint index.
pub async fn run_all(endpoints: Vec<Endpoint>, config: EngineConfig) -> Vec<Measurement> {
    let mut scan = start(endpoints, config);
    let mut out = Vec::new();
    while let Some(ev) = scan.events.recv().await {
        match ev {
            Event::Finished(m) => out.push(*m),
            Event::Done { .. } => break,
            _ => {}
        }
    }
    out.sort_by_key(|m| m.id);
    out
}
