//! Benchmark: key-to-draw latency of the UI's event loop with 1,000 probes
//! in flight, all streaming steps (and finishing over time). Prints
//! figures; asserts nothing about speed.
//!
//! The loop is the real one ([`bridgescout::tui::drive`]); the screen is a
//! 120×40 `TestBackend`, so each draw does the full layout and render work
//! but no terminal I/O. A key's latency is from sending it to the end of
//! the first draw that shows its effect.
//!
//! `cargo bench --bench tui_key_latency [-- KEYS EVENTS_PER_MS]` (under
//! `cargo test` a short smoke run: 5 keys per load).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bridgescout::catalog::{EndpointKind, Origin};
use bridgescout::engine::Event;
use bridgescout::measurement::{
    Diagnosis, EndpointInfo, Measurement, Operation, SCHEMA_VERSION, Step, Verdict,
};
use bridgescout::tui::{App, Feeds, Screen, Theme, TuiError, TuiOptions, draw_on};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

const ENDPOINTS: usize = 1000;

/// (time the draw ended, selected position) per frame.
type DrawLog = Arc<Mutex<Vec<(Instant, Option<usize>)>>>;

/// Logs every frame it draws.
struct Timed {
    term: Terminal<TestBackend>,
    log: DrawLog,
}

impl Screen for Timed {
    fn draw(&mut self, app: &mut App, theme: &Theme) -> Result<(), TuiError> {
        draw_on(&mut self.term, app, theme)?;
        if let Ok(mut log) = self.log.lock() {
            log.push((Instant::now(), app.selected_position()));
        }
        Ok(())
    }

    fn write_raw(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

fn info(i: usize) -> EndpointInfo {
    EndpointInfo {
        kind: if i.is_multiple_of(3) {
            EndpointKind::Obfs4
        } else {
            EndpointKind::Doh
        },
        label: format!("endpoint-{i:04}"),
        address: format!("https://e{i}.example/dns-query"),
        origin: Origin::Builtin,
    }
}

fn step(id: usize) -> Event {
    Event::Step {
        id,
        step: Step {
            operation: Operation::TlsHandshake,
            target: Some("192.0.2.1:443".into()),
            t0: 0.0,
            t: 0.01,
            failure: None,
            detail: None,
            addresses: Vec::new(),
        },
    }
}

fn finished(id: usize) -> Event {
    let ok = id.is_multiple_of(2);
    Event::Finished(Box::new(Measurement {
        schema_version: SCHEMA_VERSION,
        id,
        endpoint: info(id),
        start_time: "2025-01-01T00:00:00.000Z".into(),
        runtime: 1.0,
        steps: Vec::new(),
        verdict: if ok {
            Verdict::Reachable
        } else {
            Verdict::Failed
        },
        diagnosis: if ok {
            Diagnosis::Ok
        } else {
            Diagnosis::Timeout
        },
        failure: None,
        failed_operation: None,
        latency_ms: ok.then_some(10.0 + id as f64 % 90.0),
        notes: Vec::new(),
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the loop under `per_ms` step events per millisecond (0: idle) and
/// sends `keys` keys one after another; prints the figures.
async fn run(keys: usize, per_ms: usize) {
    let mut app = App::new((0..ENDPOINTS).map(info).collect());
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let (key_tx, mut key_rx) = mpsc::unbounded_channel();
    for id in 0..ENDPOINTS {
        let _ = ev_tx.send(Event::Started { id });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let producer = tokio::spawn({
        let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
        async move {
            let mut i = 0usize;
            let mut finished_upto = 0usize;
            let start = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..per_ms {
                    let _ = ev_tx.send(step(i % ENDPOINTS));
                    i += 1;
                }
                // About one probe finishes every 2 ms: re-ranking work too.
                let due = (start.elapsed().as_millis() as usize / 2).min(ENDPOINTS);
                while finished_upto < due {
                    let _ = ev_tx.send(finished(finished_upto));
                    finished_upto += 1;
                }
                sent.fetch_add(per_ms as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let log: DrawLog = Arc::default();
    let mut screen = Timed {
        term: match Terminal::new(TestBackend::new(120, 40)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("terminal: {e}");
                return;
            }
        },
        log: Arc::clone(&log),
    };
    let driver = tokio::spawn(async move {
        let feeds = Feeds {
            events: &mut ev_rx,
            cancel: tokio_util::sync::CancellationToken::new(),
            input: &mut key_rx,
        };
        let _ = bridgescout::tui::drive(
            feeds,
            &mut app,
            &mut screen,
            &Theme::colored(),
            &TuiOptions::default(),
        )
        .await;
    });
    // Let the stream reach a steady state first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t_start = Instant::now();
    let sent0 = sent.load(Ordering::Relaxed);
    let draws0 = log.lock().map(|l| l.len()).unwrap_or(0);
    let mut latencies = Vec::with_capacity(keys);
    let mut timeouts = 0;
    for k in 0..keys {
        // Down then Up: the selection alternates between rows 1 and 0.
        let (code, want) = if k % 2 == 0 {
            (KeyCode::Down, 1)
        } else {
            (KeyCode::Up, 0)
        };
        let from = log.lock().map(|l| l.len()).unwrap_or(0);
        let t0 = Instant::now();
        let _ = key_tx.send(Ok(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))));
        loop {
            let seen = log.lock().ok().and_then(|l| {
                l.iter()
                    .skip(from)
                    .find(|(_, p)| *p == Some(want))
                    .map(|(at, _)| *at)
            });
            if let Some(at) = seen {
                latencies.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                break;
            }
            if t0.elapsed() > Duration::from_secs(5) {
                timeouts += 1;
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        // Keys a person types are not back to back.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = t_start.elapsed().as_secs_f64();
    let events = sent.load(Ordering::Relaxed) - sent0;
    let draws = log.lock().map(|l| l.len()).unwrap_or(0) - draws0;
    let _ = key_tx.send(Ok(TermEvent::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    ))));
    let _ = tokio::time::timeout(Duration::from_secs(10), driver).await;
    stop.store(true, Ordering::Relaxed);
    let _ = producer.await;
    latencies.sort_by(f64::total_cmp);
    println!(
        "endpoints={ENDPOINTS} running, step events offered={:.0}/s, draws={:.0}/s, keys={keys}",
        events as f64 / wall,
        draws as f64 / wall
    );
    println!(
        "  key-to-draw ms: p50={:.2} p95={:.2} max={:.2}  (keys never drawn: {timeouts})",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; under `cargo test` a smoke run.
    let full = args.iter().any(|a| a == "--bench");
    let nums: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let keys = nums.first().copied().unwrap_or(if full { 100 } else { 5 });
    let per_ms = nums.get(1).copied().unwrap_or(100);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return;
        }
    };
    rt.block_on(async {
        println!("idle (no events):");
        run(keys, 0).await;
        println!("under load:");
        run(keys, per_ms).await;
        println!("flood (10x):");
        run(keys, per_ms * 10).await;
    });
}
