//! Watch mode's outage logic: from a time-ordered series of scan rounds,
//! which ways out worked in each round, when each one stopped and started
//! working again, and when everything failed at once (likely a general
//! shutdown rather than a targeted block).
//!
//! Pure and synchronous: feed rounds to a [`Tracker`] (or call
//! [`analyze`]); everything it produces serializes to JSON, for evidence
//! ("when the internet and related services have been disrupted, their
//! status throughout, and when they come back online").
//!
//! Rules:
//! * A method ([`EndpointKind`]) works in a round if at least one of its
//!   endpoints was reachable.
//! * Endpoints that could not be tested at all ([`Diagnosis::PtMissing`]:
//!   the transport's client is not installed) say nothing about the
//!   network and are left out; a method with no other measurement in a
//!   round keeps its previous state.
//! * An outage starts at the first failing round and ends at the first
//!   working round after it; `last_working` and `last_failed` bound the
//!   true moments from the other side (the censor acted somewhere between
//!   `last_working` and `start`).
//! * A method failing in the very first round is reported as down too
//!   (`last_working` is then absent: it never worked while watched).
//! * "Everything down" needs at least two methods tested in the round;
//!   with one, it would only repeat that method's events.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::catalog::EndpointKind;
use crate::measurement::{Diagnosis, Measurement};

pub mod format;

/// One method in one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodStatus {
    pub kind: EndpointKind,
    /// Endpoints of this kind that were reachable.
    pub working: usize,
    /// Endpoints of this kind that were tested (untestable ones excluded).
    pub tested: usize,
    pub works: bool,
    /// Most common diagnosis among the failures, when it does not work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Diagnosis>,
}

/// What one round found, per method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundSummary {
    /// 0-based round number.
    pub round: usize,
    /// RFC 3339 UTC time the round started.
    pub at: String,
    pub methods: Vec<MethodStatus>,
    /// Every tested method failed in this round (two or more tested).
    pub all_down: bool,
}

/// A change of state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    /// The method stopped working (or did not work in the first round).
    MethodDown {
        kind: EndpointKind,
        at: String,
        round: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Diagnosis>,
        /// The last round it worked in, if it ever did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_working: Option<String>,
    },
    /// The method works again.
    MethodUp {
        kind: EndpointKind,
        at: String,
        round: usize,
        /// When the outage that ends here started.
        down_since: String,
        /// Seconds from `down_since` to `at`.
        duration_s: f64,
    },
    /// Every tested method failed: likely a general shutdown.
    AllDown { at: String, round: usize },
    /// After an [`WatchEvent::AllDown`], some method works again.
    AllUp {
        at: String,
        round: usize,
        down_since: String,
        duration_s: f64,
    },
}

impl WatchEvent {
    pub fn at(&self) -> &str {
        match self {
            WatchEvent::MethodDown { at, .. }
            | WatchEvent::MethodUp { at, .. }
            | WatchEvent::AllDown { at, .. }
            | WatchEvent::AllUp { at, .. } => at,
        }
    }
}

/// A period during which a method (or, with `kind` absent, everything)
/// did not work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// `None`: every method at once (a likely general shutdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EndpointKind>,
    /// Start of the first failing round.
    pub start: String,
    /// Start of the first working round after it; `None` while ongoing.
    pub end: Option<String>,
    /// Seconds from `start` to `end`, or to the latest round while ongoing.
    pub duration_s: f64,
    /// The last round before `start` that worked, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_working: Option<String>,
    /// The last failing round.
    pub last_failed: String,
    /// Failing rounds.
    pub rounds: usize,
    /// Most common reason over the outage's rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Diagnosis>,
}

impl Outage {
    pub fn ongoing(&self) -> bool {
        self.end.is_none()
    }
}

/// Everything a watch found so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WatchReport {
    pub rounds: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_round: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_round: Option<String>,
    /// Per-method outages, in the order they started.
    pub outages: Vec<Outage>,
    /// Periods when every method failed at once.
    pub shutdowns: Vec<Outage>,
    pub events: Vec<WatchEvent>,
}

/// What one pushed round produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundUpdate {
    pub summary: RoundSummary,
    pub events: Vec<WatchEvent>,
}

/// An outage being built.
#[derive(Debug, Clone)]
struct Open {
    start: SystemTime,
    rounds: usize,
    reasons: Reasons,
    /// Index into the finished list once it has an entry there.
    slot: usize,
}

#[derive(Debug, Clone, Default)]
struct MethodState {
    last_working: Option<SystemTime>,
    open: Option<Open>,
}

/// Feeds rounds in time order; keeps per-method state and every event.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    rounds: usize,
    first: Option<SystemTime>,
    last: Option<SystemTime>,
    methods: BTreeMap<EndpointKind, MethodState>,
    last_any_working: Option<SystemTime>,
    all_down: Option<Open>,
    outages: Vec<Outage>,
    shutdowns: Vec<Outage>,
    events: Vec<WatchEvent>,
}

fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn seconds(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Diagnosis counts, keyed by code (`Diagnosis` has no order of its own).
#[derive(Debug, Clone, Default)]
struct Reasons(BTreeMap<&'static str, (Diagnosis, usize)>);

impl Reasons {
    fn add(&mut self, d: Diagnosis, n: usize) {
        self.0.entry(d.as_str()).or_insert((d, 0)).1 += n;
    }

    /// Most common; ties go to the alphabetically first code, so the
    /// result never depends on input order.
    fn most_common(&self) -> Option<Diagnosis> {
        let mut best: Option<(Diagnosis, usize)> = None;
        for &(d, n) in self.0.values() {
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((d, n));
            }
        }
        best.map(|(d, _)| d)
    }
}

/// Per-method status of one round's measurements, in kind order.
pub fn method_statuses(measurements: &[Measurement]) -> Vec<MethodStatus> {
    let mut per: BTreeMap<EndpointKind, (usize, usize, Reasons)> = BTreeMap::new();
    for m in measurements {
        if !m.is_reachable()
            && matches!(
                m.diagnosis,
                Diagnosis::PtMissing | Diagnosis::PtLaunchFailed
            )
        {
            continue;
        }
        let e = per.entry(m.endpoint.kind).or_default();
        e.1 += 1;
        if m.is_reachable() {
            e.0 += 1;
        } else {
            e.2.add(m.diagnosis, 1);
        }
    }
    per.into_iter()
        .map(|(kind, (working, tested, reasons))| MethodStatus {
            kind,
            working,
            tested,
            works: working > 0,
            reason: if working > 0 {
                None
            } else {
                reasons.most_common()
            },
        })
        .collect()
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Adds the round that started at `at`. Rounds must come in time order.
    pub fn push(&mut self, at: SystemTime, measurements: &[Measurement]) -> RoundUpdate {
        let round = self.rounds;
        self.rounds += 1;
        self.first.get_or_insert(at);
        self.last = Some(at);
        let methods = method_statuses(measurements);
        let mut events = Vec::new();
        for status in &methods {
            let state = self.methods.entry(status.kind).or_default();
            if status.works {
                state.last_working = Some(at);
                if let Some(open) = state.open.take() {
                    let outage = &mut self.outages[open.slot];
                    outage.end = Some(stamp(at));
                    outage.duration_s = seconds(open.start, at);
                    events.push(WatchEvent::MethodUp {
                        kind: status.kind,
                        at: stamp(at),
                        round,
                        down_since: stamp(open.start),
                        duration_s: seconds(open.start, at),
                    });
                }
                continue;
            }
            let reason = status.reason;
            if state.open.is_none() {
                events.push(WatchEvent::MethodDown {
                    kind: status.kind,
                    at: stamp(at),
                    round,
                    reason,
                    last_working: state.last_working.map(stamp),
                });
                state.open = Some(Open {
                    start: at,
                    rounds: 0,
                    reasons: Reasons::default(),
                    slot: self.outages.len(),
                });
                self.outages.push(Outage {
                    kind: Some(status.kind),
                    start: stamp(at),
                    end: None,
                    duration_s: 0.0,
                    last_working: state.last_working.map(stamp),
                    last_failed: stamp(at),
                    rounds: 0,
                    reason,
                });
            }
            if let Some(open) = &mut state.open {
                open.rounds += 1;
                if let Some(r) = reason {
                    open.reasons.add(r, 1);
                }
                let outage = &mut self.outages[open.slot];
                outage.rounds = open.rounds;
                outage.last_failed = stamp(at);
                outage.duration_s = seconds(open.start, at);
                outage.reason = open.reasons.most_common();
            }
        }
        // With a single method tested, "everything" would say nothing more
        // than that method's own events.
        let all_down = methods.len() >= 2 && methods.iter().all(|m| !m.works);
        if all_down {
            if self.all_down.is_none() {
                events.push(WatchEvent::AllDown {
                    at: stamp(at),
                    round,
                });
                self.all_down = Some(Open {
                    start: at,
                    rounds: 0,
                    reasons: Reasons::default(),
                    slot: self.shutdowns.len(),
                });
                self.shutdowns.push(Outage {
                    kind: None,
                    start: stamp(at),
                    end: None,
                    duration_s: 0.0,
                    last_working: self.last_any_working.map(stamp),
                    last_failed: stamp(at),
                    rounds: 0,
                    reason: None,
                });
            }
            if let Some(open) = &mut self.all_down {
                open.rounds += 1;
                for m in &methods {
                    if let Some(r) = m.reason {
                        open.reasons.add(r, 1);
                    }
                }
                let s = &mut self.shutdowns[open.slot];
                s.rounds = open.rounds;
                s.last_failed = stamp(at);
                s.duration_s = seconds(open.start, at);
                s.reason = open.reasons.most_common();
            }
        } else if methods.iter().any(|m| m.works) {
            self.last_any_working = Some(at);
            if let Some(open) = self.all_down.take() {
                let s = &mut self.shutdowns[open.slot];
                s.end = Some(stamp(at));
                s.duration_s = seconds(open.start, at);
                events.push(WatchEvent::AllUp {
                    at: stamp(at),
                    round,
                    down_since: stamp(open.start),
                    duration_s: seconds(open.start, at),
                });
            }
        }
        self.events.extend(events.iter().cloned());
        RoundUpdate {
            summary: RoundSummary {
                round,
                at: stamp(at),
                methods,
                all_down,
            },
            events,
        }
    }

    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// Every event so far, in order.
    pub fn events(&self) -> &[WatchEvent] {
        &self.events
    }

    /// Per-method outages so far; ongoing ones have no `end`.
    pub fn outages(&self) -> &[Outage] {
        &self.outages
    }

    /// Everything-down periods so far.
    pub fn shutdowns(&self) -> &[Outage] {
        &self.shutdowns
    }

    /// The report as of the latest round: ongoing outages last until it.
    pub fn report(&self) -> WatchReport {
        WatchReport {
            rounds: self.rounds,
            first_round: self.first.map(stamp),
            last_round: self.last.map(stamp),
            outages: self.outages.clone(),
            shutdowns: self.shutdowns.clone(),
            events: self.events.clone(),
        }
    }
}

/// The whole analysis of rounds given at once (start time, measurements).
pub fn analyze<'a, I>(rounds: I) -> WatchReport
where
    I: IntoIterator<Item = (SystemTime, &'a [Measurement])>,
{
    let mut t = Tracker::new();
    for (at, ms) in rounds {
        t.push(at, ms);
    }
    t.report()
}

#[cfg(test)]
mod tests;
