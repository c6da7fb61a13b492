//! The UI's real event loop ([`bridgescout::tui::drive`]) without a
//! terminal: keys and pastes go in over its input channel, frames are
//! drawn on a `TestBackend` and logged. Servers are in-process on loopback.

mod common;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bridgescout::catalog::{EndpointKind, Origin};
use bridgescout::controls::{Control, ControlConfig, Reading};
use bridgescout::engine::{self, EngineConfig, Event};
use bridgescout::measurement::{EndpointInfo, Operation, Step};
use bridgescout::probe::ProbeConfig;
use bridgescout::tui::{
    App, ControlSetup, Exit, Feeds, Retest, Screen, Theme, TuiError, TuiOptions, draw_on,
};
use common::inproc::{self, DEFAULT_HOST, DEFAULT_PROBE_NAME, Fault, TestPki, TestServer};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

/// What one drawn frame showed.
#[derive(Debug, Clone)]
struct Shot {
    position: Option<usize>,
    status: Option<String>,
    rows: usize,
    done: usize,
    running: usize,
    reachable: usize,
    reading: Option<Reading>,
    screen: String,
}

/// Draws on a test buffer and logs every frame.
struct Recording {
    term: Terminal<TestBackend>,
    log: Arc<Mutex<Vec<Shot>>>,
}

impl Screen for Recording {
    fn draw(&mut self, app: &mut App, theme: &Theme) -> Result<(), TuiError> {
        draw_on(&mut self.term, app, theme)?;
        let buf = self.term.backend().buffer();
        let screen: String = buf.content().iter().map(|c| c.symbol()).collect();
        let p = app.progress();
        self.log.lock().unwrap().push(Shot {
            position: app.selected_position(),
            status: app.status().map(str::to_string),
            rows: app.rows().len(),
            done: p.done,
            running: p.running,
            reachable: p.reachable,
            reading: app.control_reading(),
            screen,
        });
        Ok(())
    }

    fn write_raw(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

type Log = Arc<Mutex<Vec<Shot>>>;

/// How many frames were drawn so far: later waits look only past it.
fn mark(log: &Log) -> usize {
    log.lock().unwrap().len()
}

/// Polls the frame log until a frame drawn after `from` satisfies `pred`;
/// bounded.
async fn wait_from(log: &Log, from: usize, what: &str, pred: impl Fn(&Shot) -> bool) -> Shot {
    let start = Instant::now();
    loop {
        if let Some(s) = log.lock().unwrap().iter().skip(from).find(|s| pred(s)) {
            return s.clone();
        }
        let last = log.lock().unwrap().last().cloned();
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}; last frame: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for(log: &Log, what: &str, pred: impl Fn(&Shot) -> bool) -> Shot {
    wait_from(log, 0, what, pred).await
}

fn key(code: KeyCode) -> io::Result<TermEvent> {
    Ok(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn info(i: usize) -> EndpointInfo {
    EndpointInfo {
        kind: EndpointKind::Doh,
        label: format!("resolver-{i:04}"),
        address: format!("https://r{i}.example/dns-query"),
        origin: Origin::Builtin,
    }
}

fn step(id: usize) -> Event {
    Event::Step {
        id,
        step: Step {
            operation: Operation::TcpConnect,
            target: None,
            t0: 0.0,
            t: 0.001,
            failure: None,
            detail: None,
            addresses: Vec::new(),
        },
    }
}

/// 1000 endpoints all running and streaming steps without pause: a key
/// sent meanwhile is applied (and drawn) while events keep arriving, not
/// after the stream ends. No timing is asserted beyond "it happens".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_apply_between_event_batches_with_1000_probes_running() {
    const N: usize = 1000;
    let app = App::new((0..N).map(info).collect());
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let (key_tx, mut key_rx) = mpsc::unbounded_channel();
    for id in 0..N {
        ev_tx.send(Event::Started { id }).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let producer = tokio::spawn({
        let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
        async move {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                // Bursts of steps from every probe in turn, so the loop
                // always finds a full batch waiting.
                for _ in 0..2000 {
                    if ev_tx.send(step(i % N)).is_err() {
                        return;
                    }
                    i += 1;
                }
                sent.fetch_add(2000, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let log: Log = Arc::default();
    let mut screen = Recording {
        term: Terminal::new(TestBackend::new(120, 40)).unwrap(),
        log: Arc::clone(&log),
    };
    let driver = tokio::spawn(async move {
        let mut app = app;
        let feeds = Feeds {
            events: &mut ev_rx,
            cancel: tokio_util::sync::CancellationToken::new(),
            input: &mut key_rx,
        };
        let opts = TuiOptions::default();
        let exit =
            bridgescout::tui::drive(feeds, &mut app, &mut screen, &Theme::plain(), &opts).await;
        (exit, app)
    });
    wait_for(&log, "the first frame", |s| s.running == N).await;
    let before = sent.load(Ordering::Relaxed);
    key_tx.send(key(KeyCode::Down)).unwrap();
    wait_for(&log, "the key applied", |s| s.position == Some(1)).await;
    let applied_at = sent.load(Ordering::Relaxed);
    // Events kept flowing after the key took effect.
    let start = Instant::now();
    while sent.load(Ordering::Relaxed) <= applied_at {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "producer stalled"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    key_tx.send(key(KeyCode::Char('q'))).unwrap();
    let (exit, app) = tokio::time::timeout(Duration::from_secs(30), driver)
        .await
        .expect("the loop quit while events kept coming")
        .expect("join");
    stop.store(true, Ordering::Relaxed);
    producer.await.expect("producer");
    assert_eq!(exit.expect("loop"), Exit::Quit);
    assert_eq!(app.selected_position(), Some(1));
    assert!(
        sent.load(Ordering::Relaxed) > before,
        "the stream was running the whole time"
    );
}

fn probe_config(pki: &TestPki) -> EngineConfig {
    EngineConfig {
        concurrency: 4,
        probe: ProbeConfig {
            step_timeout: Duration::from_secs(2),
            probe_name: DEFAULT_PROBE_NAME.to_string(),
            tls: pki.tls_settings(),
            system_resolver: false,
            ..ProbeConfig::default()
        },
    }
}

/// `r`, `R` and `a` through the loop: rows update in place under their
/// ids, an added line becomes a new row that is tested at once, a bad line
/// is reported, and a loopback control settles the reading.
#[tokio::test(flavor = "multi_thread")]
async fn retest_retest_all_and_add_through_the_loop() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let endpoints = vec![
        inproc::doh_endpoint(DEFAULT_HOST, server.doh_port(), "Local DoH"),
        inproc::dot_endpoint(DEFAULT_HOST, server.dot_port(), "Local DoT"),
    ];
    let config = probe_config(&pki);
    let mut scan = engine::start(endpoints.clone(), config.clone());
    let control: Control = format!("foreign=tcp:127.0.0.1:{}", server.dot_port())
        .parse()
        .unwrap();
    let opts = TuiOptions {
        retest: Some(Retest {
            endpoints: Arc::new(endpoints),
            config,
            bootstrap_resolvers: Vec::new(),
        }),
        controls: Some(ControlSetup {
            controls: vec![control],
            config: ControlConfig::default(),
        }),
        ..TuiOptions::default()
    };
    let (key_tx, mut key_rx) = mpsc::unbounded_channel();
    let log: Log = Arc::default();
    let mut screen = Recording {
        term: Terminal::new(TestBackend::new(120, 40)).unwrap(),
        log: Arc::clone(&log),
    };
    let driver = tokio::spawn(async move {
        let mut app = App::new(scan.endpoints.clone());
        let feeds = Feeds {
            cancel: scan.cancel_token(),
            events: &mut scan.events,
            input: &mut key_rx,
        };
        let exit =
            bridgescout::tui::drive(feeds, &mut app, &mut screen, &Theme::plain(), &opts).await;
        (exit, app)
    });
    wait_for(&log, "both working", |s| s.reachable == 2).await;
    wait_for(&log, "the control", |s| {
        s.reading == Some(Reading::InternetUp)
    })
    .await;
    wait_for(&log, "the controls line beside the summary", |s| {
        s.screen.contains("Controls: foreign ✔") && s.screen.contains("Works here")
    })
    .await;

    // `r`: the selected row runs again and finishes in place.
    let from = mark(&log);
    key_tx.send(key(KeyCode::Char('r'))).unwrap();
    let shot = wait_from(&log, from, "re-test message", |s| {
        s.status
            .as_deref()
            .is_some_and(|t| t.starts_with("re-testing Local"))
    })
    .await;
    assert_eq!((shot.rows, shot.running, shot.done), (2, 1, 1));
    wait_from(&log, from, "re-test done", |s| {
        s.reachable == 2 && s.running == 0
    })
    .await;

    // `R` twice: the second replaces the first.
    let from = mark(&log);
    key_tx.send(key(KeyCode::Char('R'))).unwrap();
    key_tx.send(key(KeyCode::Char('R'))).unwrap();
    let shot = wait_from(&log, from, "re-test all message", |s| {
        s.status.as_deref()
            == Some("re-testing all 2 endpoints again (the earlier run was stopped)")
    })
    .await;
    assert_eq!(shot.done, 0, "every row restarted");
    wait_from(&log, from, "re-test all done", |s| {
        s.reachable == 2 && s.running == 0
    })
    .await;

    // `a` + paste + Enter: a third row, tested at once.
    let line = format!(
        "tls://{DEFAULT_HOST}:{} bootstrap=127.0.0.1 name=\"Added DoT\"",
        server.dot_port()
    );
    let from = mark(&log);
    key_tx.send(key(KeyCode::Char('a'))).unwrap();
    key_tx
        .send(Ok(TermEvent::Paste(format!("{line}\n"))))
        .unwrap();
    let shot = wait_from(&log, from, "the prompt", |s| {
        s.screen.contains("add: tls://")
    })
    .await;
    assert!(shot.screen.contains("Added DoT"), "pasted text shown");
    key_tx.send(key(KeyCode::Enter)).unwrap();
    wait_from(&log, from, "added", |s| {
        s.status.as_deref() == Some("added Added DoT; testing it now")
    })
    .await;
    wait_from(&log, from, "the added row works", |s| {
        s.rows == 3 && s.reachable == 3
    })
    .await;

    // A bad line: the parse message, redacted.
    let from = mark(&log);
    key_tx.send(key(KeyCode::Char('a'))).unwrap();
    for c in "obfs4 192.0.2.9:443 0123456789ABCDEF0123456789ABCDEF01234567".chars() {
        key_tx.send(key(KeyCode::Char(c))).unwrap();
    }
    key_tx.send(key(KeyCode::Enter)).unwrap();
    let shot = wait_from(&log, from, "the error", |s| {
        s.status
            .as_deref()
            .is_some_and(|t| t.starts_with("could not add this line"))
    })
    .await;
    let msg = shot.status.unwrap_or_default();
    assert!(!msg.contains("0123456789ABCDEF"), "{msg}");
    assert!(!msg.contains("192.0.2.9"), "{msg}");
    assert_eq!(shot.rows, 3);

    key_tx.send(key(KeyCode::Char('q'))).unwrap();
    let (exit, app) = tokio::time::timeout(Duration::from_secs(30), driver)
        .await
        .expect("quit")
        .expect("join");
    assert_eq!(exit.expect("loop"), Exit::Quit);
    let ms = app.into_measurements();
    assert_eq!(ms.len(), 3);
    assert_eq!(
        ms.iter().map(|m| m.id).collect::<Vec<_>>(),
        [0, 1, 2],
        "ids are the endpoints' indices"
    );
    assert!(ms.iter().all(|m| m.is_reachable()), "{ms:?}");
}
