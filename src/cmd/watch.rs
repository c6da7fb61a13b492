//! `bridgescout watch`: a scan per round, forever or `--rounds N` times;
//! each round is recorded in history like a scan, and the outage logic
//! (`bridgescout::watch`) turns rounds into down/up events and outages.
//!
//! The round loop runs here; output goes to a sink: text lines, JSONL, or
//! the timeline UI (fed over a channel, so the UI never runs probes).

use std::io::IsTerminal;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use bridgescout::catalog::Endpoint;
use bridgescout::engine::{self, EngineConfig, Event};
use bridgescout::measurement::Measurement;
use bridgescout::run::{NetworkContext, RunMeta};
use bridgescout::tui::timeline::{self, TimelineMsg};
use bridgescout::watch::{RoundUpdate, Tracker, format};
use rand::Rng as _;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::scan::{
    control_config, control_targets, controls_line, engine_config, load, network_context,
};
use crate::cli::{ProbeArgs, WatchArgs, WatchFormatArg};
use crate::{EXIT_OK, EXIT_USAGE};
use bridgescout::controls::{self, Control, ControlConfig};

/// What every round needs.
struct Plan {
    endpoints: Vec<Endpoint>,
    config: EngineConfig,
    network: NetworkContext,
    /// History database, unless `--no-history`.
    db: Option<std::path::PathBuf>,
    interval: Duration,
    jitter: Duration,
    rounds: Option<u64>,
    /// `--control` targets, checked beside every round.
    controls: Vec<Control>,
    control_config: ControlConfig,
}

/// Where rounds and events go.
enum Sink {
    Text,
    Jsonl,
    Ui(mpsc::UnboundedSender<TimelineMsg>),
}

pub async fn run(a: &WatchArgs, args: &ProbeArgs) -> anyhow::Result<u8> {
    let Some(mut endpoints) = load(&a.inputs, &a.kind)? else {
        return Ok(EXIT_USAGE);
    };
    for ep in &mut endpoints {
        ep.add_bootstrap_resolvers(&args.bootstrap_resolver);
    }
    let config = engine_config(args)?;
    // Only what `--control` names: a watch runs unattended.
    let (controls, _) = control_targets(args, false);
    let plan = Plan {
        endpoints,
        control_config: control_config(&config),
        controls,
        config,
        network: network_context(args).await?,
        db: if args.no_history {
            None
        } else {
            Some(super::db_path(args)?)
        },
        interval: Duration::from_secs_f64(a.interval),
        jitter: Duration::from_secs_f64(a.jitter.unwrap_or(a.interval / 10.0)),
        rounds: a.rounds,
    };
    // strongSwan keeps each answered IKE_SA_INIT half-open for 30 s and
    // drops new ones from an address that has 5 of them: faster rounds
    // would read as `no_response`.
    if plan.interval < IKE_MIN_INTERVAL
        && plan
            .endpoints
            .iter()
            .any(|e| e.kind() == bridgescout::catalog::EndpointKind::Ikev2)
    {
        eprintln!(
            "warning: IKEv2 servers limit half-open handshakes per address; with an interval              under {} s they may stop answering and show as no_response",
            IKE_MIN_INTERVAL.as_secs()
        );
    }
    // Ctrl-C and SIGTERM end the watch cleanly: the round in progress is
    // cancelled (and not counted), the summary is still printed.
    let stop = super::interrupts();
    let tracker = match a.format {
        Some(WatchFormatArg::Jsonl) => rounds(&plan, &stop, &Sink::Jsonl).await,
        Some(WatchFormatArg::Table) => rounds(&plan, &stop, &Sink::Text).await,
        None if std::io::stdout().is_terminal() => ui(plan, stop, args).await?,
        None => rounds(&plan, &stop, &Sink::Jsonl).await,
    };
    let report = tracker.report();
    if matches!(a.format, Some(WatchFormatArg::Jsonl))
        || (a.format.is_none() && !std::io::stdout().is_terminal())
    {
        print_json("summary", &report);
    } else {
        print!("{}", format::summary(&report));
    }
    Ok(EXIT_OK)
}

/// The timeline UI in front, the round loop behind it on a task.
async fn ui(plan: Plan, stop: CancellationToken, args: &ProbeArgs) -> anyhow::Result<Tracker> {
    let (tx, rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn({
        let stop = stop.clone();
        async move { rounds(&plan, &stop, &Sink::Ui(tx)).await }
    });
    let opts = timeline::WatchUiOptions {
        no_color: args.no_color,
        lang: args.lang,
    };
    let shown = timeline::run(rx, stop.clone(), opts).await;
    // Whatever ended the UI ends the rounds.
    stop.cancel();
    let tracker = worker.await.context("watch loop")?;
    shown?;
    Ok(tracker)
}

/// Runs rounds until `--rounds` is reached or `stop` fires.
async fn rounds(plan: &Plan, stop: &CancellationToken, sink: &Sink) -> Tracker {
    let mut tracker = Tracker::new();
    let mut done: u64 = 0;
    loop {
        let started = Instant::now();
        let at = SystemTime::now();
        if let Sink::Ui(tx) = sink {
            let _ = tx.send(TimelineMsg::RoundStarted {
                round: tracker.rounds(),
            });
        }
        let checks = (!plan.controls.is_empty()).then(|| {
            let (list, config) = (plan.controls.clone(), plan.control_config.clone());
            bridgescout::probe::AbortOnDrop(tokio::spawn(async move {
                controls::run_all(&list, &config).await
            }))
        });
        let Some(measurements) = one_round(plan, stop).await else {
            break;
        };
        let round = tracker.rounds();
        let update = tracker.push(at, &measurements);
        emit(sink, update);
        if let Some(mut checks) = checks
            && let Ok(results) = (&mut checks.0).await
        {
            emit_controls(sink, round, results);
        }
        done += 1;
        if plan.rounds.is_some_and(|n| done >= n) {
            break;
        }
        let wait = next_wait(plan.interval, plan.jitter);
        let until = started + wait;
        if let Sink::Ui(tx) = sink {
            let next = SystemTime::now() + until.saturating_duration_since(Instant::now());
            let _ = tx.send(TimelineMsg::Waiting {
                next_at: humantime::format_rfc3339_seconds(next).to_string(),
            });
        }
        tokio::select! {
            () = tokio::time::sleep_until(until.into()) => {}
            () = stop.cancelled() => break,
        }
    }
    if let Sink::Ui(tx) = sink {
        let _ = tx.send(TimelineMsg::Stopped);
    }
    tracker
}

/// Shortest watch interval that stays clear of IKE responders' half-open
/// limits (see `run`).
const IKE_MIN_INTERVAL: Duration = Duration::from_secs(60);

/// `interval` moved by a uniform random amount within ±`jitter`.
fn next_wait(interval: Duration, jitter: Duration) -> Duration {
    let j = jitter.as_secs_f64();
    let offset = if j > 0.0 {
        rand::rng().random_range(-j..=j)
    } else {
        0.0
    };
    Duration::from_secs_f64((interval.as_secs_f64() + offset).max(0.0))
}

/// One scan, recorded as a run in history; `None` if stopped mid-way.
async fn one_round(plan: &Plan, stop: &CancellationToken) -> Option<Vec<Measurement>> {
    if stop.is_cancelled() {
        return None;
    }
    let meta = RunMeta::starting_now(plan.network.clone());
    let mut scan = engine::start(plan.endpoints.clone(), plan.config.clone());
    if let Some(path) = &plan.db
        && let Some((store, run_id)) = super::recorder::open(path, &meta)
    {
        scan = super::recorder::tee(scan, store, run_id);
    }
    let mut out = Vec::new();
    let mut cancelled = false;
    loop {
        tokio::select! {
            ev = scan.events.recv() => match ev {
                Some(Event::Finished(m)) => out.push(*m),
                Some(Event::Done { cancelled: c }) => { cancelled |= c; break; }
                Some(_) => {}
                None => break,
            },
            () = stop.cancelled(), if !cancelled => {
                // Keep reading until Done so history closes the run.
                scan.cancel();
                cancelled = true;
            }
        }
    }
    if cancelled {
        return None;
    }
    out.sort_by_key(|m| m.id);
    Some(out)
}

fn emit(sink: &Sink, update: RoundUpdate) {
    match sink {
        Sink::Text => {
            println!("{}", format::round_line(&update.summary));
            for e in &update.events {
                println!("{}", format::event_line(e));
            }
        }
        Sink::Jsonl => {
            print_json("round", &update.summary);
            for e in &update.events {
                print_json("event", e);
            }
        }
        Sink::Ui(tx) => {
            let _ = tx.send(TimelineMsg::Round(Box::new(update)));
        }
    }
}

/// The round's control results: a line, a JSON object, or the timeline.
fn emit_controls(sink: &Sink, round: usize, results: Vec<controls::ControlResult>) {
    match sink {
        Sink::Text => println!("{}", controls_line(&results)),
        Sink::Jsonl => {
            let reading = controls::assess(results.iter().map(|r| (r.control.scope, Some(r))));
            print_json(
                "controls",
                &serde_json::json!({ "round": round, "reading": reading, "results": results }),
            );
        }
        Sink::Ui(tx) => {
            let _ = tx.send(TimelineMsg::Controls(results));
        }
    }
}

/// One JSON object per line, with `"type"` saying what it is.
fn print_json<T: Serialize>(kind: &str, value: &T) {
    let mut v = serde_json::to_value(value).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut v {
        map.insert("type".into(), kind.into());
    }
    println!("{v}");
}

// The helpers below mirror `cmd::scan`'s private ones (same flags, same
// behaviour); kept here so `scan` stays untouched.

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_bounds() {
        let i = Duration::from_secs(10);
        let j = Duration::from_secs(2);
        for _ in 0..200 {
            let w = next_wait(i, j);
            assert!(
                w >= Duration::from_secs(8) && w <= Duration::from_secs(12),
                "{w:?}"
            );
        }
        assert_eq!(next_wait(i, Duration::ZERO), i);
        // A jitter larger than the interval never makes a negative wait.
        assert!(
            next_wait(Duration::from_secs(1), Duration::from_secs(5)) <= Duration::from_secs(6)
        );
    }
}
