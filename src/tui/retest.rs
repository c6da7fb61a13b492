//! Re-tests started from the UI: one endpoint (`r`, the `d` deep test, a
//! newly added endpoint) or all of them (`R`, through the engine and its
//! concurrency limit).
//!
//! Every re-test gets a generation number and owns the rows it tests until
//! a newer one takes them over. Events from older generations (the last
//! steps of a replaced re-test still in the channel, the first scan's
//! results after `R`) are dropped, so a row only ever shows its newest
//! test, and the ids stay the endpoints' indices, so rows update in place.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::catalog::Endpoint;
use crate::controls::ControlResult;
use crate::engine::{self, EngineConfig, Event};
use crate::probe::{AbortOnDrop, ProbeConfig, ScanContext};

/// What the UI's own tasks send to its loop.
#[derive(Debug)]
pub enum UiMsg {
    /// An event of the re-test with generation `generation`.
    Retest { generation: u64, ev: Event },
    /// Control `index` of control round `round` finished.
    Control {
        round: u64,
        index: usize,
        result: ControlResult,
    },
}

/// Whether starting a re-test stopped one still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    New,
    Replaced,
}

/// A running `R`: cancelling it stops the engine, dropping it cancels.
struct AllRun {
    generation: u64,
    cancel: CancellationToken,
    done: bool,
    _forward: AbortOnDrop<()>,
}

impl Drop for AllRun {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The endpoints the UI can test again, and the re-tests running.
pub struct Retester {
    /// Indexed by endpoint id; grows when an endpoint is added.
    endpoints: Vec<Endpoint>,
    config: EngineConfig,
    /// `--bootstrap-resolver` addresses, also given to added endpoints.
    bootstrap: Vec<IpAddr>,
    tx: mpsc::UnboundedSender<UiMsg>,
    next_gen: u64,
    /// Which re-test owns each row; rows not in here belong to the first scan.
    owner: HashMap<usize, u64>,
    singles: HashMap<usize, AbortOnDrop<()>>,
    all: Option<AllRun>,
    /// `R` replaced the first scan: none of its events apply any more.
    initial_superseded: bool,
    /// Shared by single re-tests, so "the network is up" carries over.
    ctx: Arc<ScanContext>,
}

/// The endpoint id an event is about; `None` for `Done`.
fn event_id(ev: &Event) -> Option<usize> {
    match ev {
        Event::Started { id } | Event::Step { id, .. } => Some(*id),
        Event::Finished(m) => Some(m.id),
        Event::Done { .. } => None,
    }
}

impl Retester {
    pub fn new(
        endpoints: Vec<Endpoint>,
        config: EngineConfig,
        bootstrap: Vec<IpAddr>,
        tx: mpsc::UnboundedSender<UiMsg>,
    ) -> Retester {
        Retester {
            endpoints,
            config,
            bootstrap,
            tx,
            next_gen: 1,
            owner: HashMap::new(),
            singles: HashMap::new(),
            all: None,
            initial_superseded: false,
            ctx: Arc::new(ScanContext::default()),
        }
    }

    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    pub fn endpoint(&self, id: usize) -> Option<&Endpoint> {
        self.endpoints.get(id)
    }

    /// Whether an event of the first scan still applies.
    pub fn accept_initial(&self, ev: &Event) -> bool {
        if self.initial_superseded {
            return false;
        }
        event_id(ev).is_none_or(|id| !self.owner.contains_key(&id))
    }

    /// Whether an event of re-test `generation` still applies; notes when the
    /// running `R` is done.
    pub fn accept(&mut self, generation: u64, ev: &Event) -> bool {
        match event_id(ev) {
            Some(id) => self.owner.get(&id) == Some(&generation),
            None => match &mut self.all {
                Some(all) if all.generation == generation => {
                    all.done = true;
                    true
                }
                _ => false,
            },
        }
    }

    /// Some probe of this UI reached the network: later re-tests may call
    /// dropped connections blocking rather than an outage.
    pub fn mark_network_up(&self) {
        self.ctx.mark_network_up();
    }

    fn next_generation(&mut self) -> u64 {
        let g = self.next_gen;
        self.next_gen += 1;
        g
    }

    /// Tests endpoint `id` again (a full Tor bootstrap too with `deep`).
    /// `None` for an unknown id.
    pub fn one(&mut self, id: usize, deep: bool) -> Option<Started> {
        let endpoint = self.endpoints.get(id)?.clone();
        let generation = self.next_generation();
        let mut config: ProbeConfig = self.config.probe.clone();
        config.tor.deep |= deep;
        let replaced = self.owner.get(&id).is_some_and(|&g| {
            self.singles.get(&id).is_some_and(|t| !t.0.is_finished())
                || self
                    .all
                    .as_ref()
                    .is_some_and(|a| a.generation == g && !a.done)
        });
        self.owner.insert(id, generation);
        let task = spawn_one(
            id,
            endpoint,
            config,
            Arc::clone(&self.ctx),
            generation,
            self.tx.clone(),
        );
        // Replacing an earlier re-test of the same endpoint aborts it.
        self.singles.insert(id, task);
        Some(if replaced {
            Started::Replaced
        } else {
            Started::New
        })
    }

    /// Tests every endpoint again through the engine (its concurrency
    /// limit, its ids). Stops single re-tests and an earlier `R`; the
    /// caller cancels the first scan.
    pub fn all(&mut self) -> Started {
        let replaced = self.all.as_ref().is_some_and(|a| !a.done)
            || self.singles.values().any(|t| !t.0.is_finished());
        let generation = self.next_generation();
        self.singles.clear();
        self.all = None;
        self.initial_superseded = true;
        self.owner = (0..self.endpoints.len())
            .map(|id| (id, generation))
            .collect();
        let mut scan = engine::start(self.endpoints.clone(), self.config.clone());
        let cancel = scan.cancel_token();
        let tx = self.tx.clone();
        let forward = tokio::spawn(async move {
            while let Some(ev) = scan.events.recv().await {
                if tx.send(UiMsg::Retest { generation, ev }).is_err() {
                    break;
                }
            }
        });
        self.all = Some(AllRun {
            generation,
            cancel,
            done: false,
            _forward: AbortOnDrop(forward),
        });
        if replaced {
            Started::Replaced
        } else {
            Started::New
        }
    }

    /// Adds an endpoint under the next id and tests it at once.
    pub fn add(&mut self, mut endpoint: Endpoint) -> usize {
        endpoint.add_bootstrap_resolvers(&self.bootstrap);
        let id = self.endpoints.len();
        self.endpoints.push(endpoint);
        let _ = self.one(id, false);
        id
    }
}

/// One endpoint, measured on its own task; its events go out tagged.
fn spawn_one(
    id: usize,
    endpoint: Endpoint,
    config: ProbeConfig,
    ctx: Arc<ScanContext>,
    generation: u64,
    tx: mpsc::UnboundedSender<UiMsg>,
) -> AbortOnDrop<()> {
    AbortOnDrop(tokio::spawn(async move {
        let (etx, mut erx) = mpsc::unbounded_channel();
        let measure = engine::measure(id, &endpoint, &config, Some(etx), ctx);
        tokio::pin!(measure);
        loop {
            tokio::select! {
                // Steps first, so none arrives after the result.
                biased;
                Some(ev) = erx.recv() => {
                    let _ = tx.send(UiMsg::Retest { generation, ev });
                }
                m = &mut measure => {
                    while let Ok(ev) = erx.try_recv() {
                        let _ = tx.send(UiMsg::Retest { generation, ev });
                    }
                    let ev = Event::Finished(Box::new(m));
                    let _ = tx.send(UiMsg::Retest { generation, ev });
                    break;
                }
            }
        }
    }))
}
