//! Snapshot tests of the terminal UI, rendered on ratatui's `TestBackend`
//! from a fixed set of synthetic measurements.
//!
//! Text snapshots cannot see colour, so every test renders twice: the
//! coloured and the plain render must read the same, the plain one must
//! carry no colour at all, and the coloured one is also snapshotted as a
//! map of foreground colours (one letter per cell).

use bridgescout::catalog::{EndpointKind, Origin};
use bridgescout::engine::Event;
use bridgescout::measurement::{
    Diagnosis, EndpointInfo, Failure, Measurement, Operation, SCHEMA_VERSION, Step, Verdict,
};
use bridgescout::tui::{App, Theme, render};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

fn info(kind: EndpointKind, label: &str, address: &str) -> EndpointInfo {
    EndpointInfo {
        kind,
        label: label.to_string(),
        address: address.to_string(),
        origin: Origin::Builtin,
    }
}

fn step(op: Operation, target: &str, t0: f64, t: f64) -> Step {
    Step {
        operation: op,
        target: Some(target.to_string()),
        t0,
        t,
        failure: None,
        detail: None,
        addresses: Vec::new(),
    }
}

fn endpoints() -> Vec<EndpointInfo> {
    vec![
        info(
            EndpointKind::Doh,
            "cloudflare",
            "https://cloudflare-dns.com/dns-query",
        ),
        info(EndpointKind::Dot, "quad9-dot", "tls://dns.quad9.net:853"),
        info(
            EndpointKind::Doh,
            "slow-resolver",
            "https://doh.slow.example/dns-query",
        ),
        info(
            EndpointKind::Dot,
            "adguard-dot",
            "tls://dns.adguard-dns.com:853",
        ),
        info(
            EndpointKind::Doh,
            "mullvad",
            "https://dns.mullvad.net/dns-query",
        ),
    ]
}

fn reachable_doh(info: EndpointInfo) -> Measurement {
    let mut resolve = step(Operation::Resolve, "cloudflare-dns.com", 0.0, 0.0031);
    resolve.addresses = vec!["104.16.248.249".into(), "104.16.249.249".into()];
    resolve.detail = Some("system resolver".into());
    let mut tls = step(
        Operation::TlsHandshake,
        "104.16.248.249:443",
        0.0152,
        0.0418,
    );
    tls.detail = Some("TLSv1.3 · ALPN h2".into());
    let mut http = step(
        Operation::HttpRoundTrip,
        "https://cloudflare-dns.com/dns-query",
        0.0418,
        0.0652,
    );
    http.detail = Some("HTTP 200 · example.com A 93.184.216.34".into());
    Measurement {
        schema_version: SCHEMA_VERSION,
        id: 0,
        endpoint: info,
        start_time: "2025-03-01T12:00:00.000Z".into(),
        runtime: 0.0655,
        steps: vec![
            resolve,
            step(Operation::TcpConnect, "104.16.248.249:443", 0.0031, 0.0152),
            tls,
            http,
        ],
        verdict: Verdict::Reachable,
        diagnosis: Diagnosis::Ok,
        failure: None,
        failed_operation: None,
        latency_ms: Some(23.4),
        notes: vec!["GET unsupported, used POST".into()],
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }
}

fn sni_filtered_dot(info: EndpointInfo) -> Measurement {
    let mut tls = step(Operation::TlsHandshake, "9.9.9.9:853", 0.0201, 0.1203);
    tls.failure = Some(Failure::ConnectionReset);
    tls.detail = Some("SNI dns.quad9.net".into());
    let mut control = step(
        Operation::TlsHandshakeControl,
        "9.9.9.9:853",
        0.1204,
        0.1611,
    );
    control.detail = Some("SNI example.org: handshake completed".into());
    Measurement {
        schema_version: SCHEMA_VERSION,
        id: 1,
        endpoint: info,
        start_time: "2025-03-01T12:00:00.010Z".into(),
        runtime: 0.1612,
        steps: vec![
            step(Operation::TcpConnect, "9.9.9.9:853", 0.0, 0.0201),
            tls,
            control,
        ],
        verdict: Verdict::Failed,
        diagnosis: Diagnosis::SniFiltered,
        failure: Some(Failure::ConnectionReset),
        failed_operation: Some(Operation::TlsHandshake),
        latency_ms: None,
        notes: Vec::new(),
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }
}

fn timed_out_doh(info: EndpointInfo) -> Measurement {
    let mut connect = step(Operation::TcpConnect, "192.0.2.10:443", 0.0024, 5.0024);
    connect.failure = Some(Failure::GenericTimeout);
    Measurement {
        schema_version: SCHEMA_VERSION,
        id: 2,
        endpoint: info,
        start_time: "2025-03-01T12:00:00.020Z".into(),
        runtime: 5.0025,
        steps: vec![
            step(Operation::Resolve, "doh.slow.example", 0.0, 0.0024),
            connect,
        ],
        verdict: Verdict::Failed,
        diagnosis: Diagnosis::Timeout,
        failure: Some(Failure::GenericTimeout),
        failed_operation: Some(Operation::TcpConnect),
        latency_ms: None,
        notes: Vec::new(),
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }
}

/// Five endpoints: reachable, SNI-filtered, timed out, running, pending.
fn fixture() -> App {
    let eps = endpoints();
    let mut app = App::new(eps.clone());
    for id in 0..4 {
        app.on_event(Event::Started { id });
    }
    app.on_event(Event::Step {
        id: 3,
        step: step(Operation::Resolve, "dns.adguard-dns.com", 0.0, 0.0042),
    });
    app.on_event(Event::Step {
        id: 3,
        step: step(Operation::TcpConnect, "94.140.14.14:853", 0.0042, 0.0307),
    });
    app.on_event(Event::Finished(Box::new(reachable_doh(eps[0].clone()))));
    app.on_event(Event::Finished(Box::new(sni_filtered_dot(eps[1].clone()))));
    app.on_event(Event::Finished(Box::new(timed_out_doh(eps[2].clone()))));
    app
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn draw(app: &App, theme: Theme, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(f, app, &theme)).unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing blanks trimmed. Cells
/// hidden behind a wide character are skipped so columns stay aligned.
fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = ratatui::text::Span::raw(sym).width().saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One letter per cell for its foreground colour: g(reen), r(ed),
/// y(ellow), c(yan), d(im, no colour), '.' for the default.
fn colour_map(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            line.push(match cell.fg {
                Color::Green => 'g',
                Color::Red => 'r',
                Color::Yellow => 'y',
                Color::Cyan => 'c',
                Color::Reset if cell.modifier.contains(Modifier::DIM) => 'd',
                Color::Reset => '.',
                _ => '?',
            });
        }
        out.push_str(line.trim_end_matches('.'));
        out.push('\n');
    }
    out
}

/// Position of the first cell whose symbol starts `needle` on some line.
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    let first = needle.chars().next().unwrap().to_string();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            if buf[(x, y)].symbol() != first {
                continue;
            }
            let rest: String = (x..buf.area.width.min(x + 40))
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            if rest.starts_with(needle) {
                return (x, y);
            }
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

fn assert_no_colour(buf: &Buffer) {
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "fg colour in no-colour mode");
        assert_eq!(cell.bg, Color::Reset, "bg colour in no-colour mode");
    }
}

/// Renders in both themes, checks they read the same, checks the plain
/// one is colourless, and returns (text, coloured buffer).
fn render_both(app: &App, width: u16, height: u16) -> (String, Buffer) {
    let coloured = draw(app, Theme::colored(), width, height);
    let plain = draw(app, Theme::plain(), width, height);
    assert_eq!(text(&coloured), text(&plain));
    assert_no_colour(&plain);
    (text(&coloured), coloured)
}

fn assert_state_colours(buf: &Buffer) {
    let fg = |needle| {
        let pos = find(buf, needle);
        buf[pos].fg
    };
    assert_eq!(fg("✔ works"), Color::Green);
    assert_eq!(fg("✘ failed"), Color::Red);
    assert_eq!(fg("… testing"), Color::Yellow);
    let pending = find(buf, "· waiting");
    assert!(buf[pending].modifier.contains(Modifier::DIM));
    assert_eq!(buf[pending].fg, Color::Reset);
}

#[test]
fn wide_table() {
    let app = fixture();
    let (text, buf) = render_both(&app, 120, 40);
    assert_state_colours(&buf);
    assert_eq!(buf[find(&buf, "bridgescout")].fg, Color::Cyan);
    insta::assert_snapshot!("wide_table", text);
    insta::assert_snapshot!("wide_table_colours", colour_map(&buf));
}

#[test]
fn wide_detail_of_failure() {
    let mut app = fixture();
    // Ranked: cloudflare, quad9-dot (failed), slow-resolver, adguard, mullvad.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_id(), Some(1));
    let (text, buf) = render_both(&app, 120, 40);
    assert_state_colours(&buf);
    // The failing step's bar and failure string are red.
    assert_eq!(buf[find(&buf, "✘ connection_reset")].fg, Color::Red);
    insta::assert_snapshot!("wide_detail_failure", text);
    insta::assert_snapshot!("wide_detail_failure_colours", colour_map(&buf));
}

#[test]
fn wide_detail_of_success() {
    let mut app = fixture();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_id(), Some(0));
    let (text, _) = render_both(&app, 120, 40);
    insta::assert_snapshot!("wide_detail_success", text);
}

#[test]
fn wide_detail_of_running() {
    let mut app = fixture();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_id(), Some(3));
    let (text, buf) = render_both(&app, 120, 40);
    assert_eq!(buf[find(&buf, "… testing (after")].fg, Color::Yellow);
    insta::assert_snapshot!("wide_detail_running", text);
}

#[test]
fn narrow_table() {
    let app = fixture();
    let (text, buf) = render_both(&app, 60, 20);
    assert_state_colours(&buf);
    // Narrow: no Kind column, short phrases.
    assert!(!text.contains("Kind"));
    assert!(text.contains("SNI blocked"));
    insta::assert_snapshot!("narrow_table", text);
    insta::assert_snapshot!("narrow_table_colours", colour_map(&buf));
}

#[test]
fn narrow_detail_of_failure() {
    let mut app = fixture();
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Tab);
    let (text, buf) = render_both(&app, 60, 20);
    assert_eq!(buf[find(&buf, "✘ failed")].fg, Color::Red);
    insta::assert_snapshot!("narrow_detail_failure", text);
    insta::assert_snapshot!("narrow_detail_failure_colours", colour_map(&buf));
}

#[test]
fn scrolled_table_keeps_selection_visible() {
    let eps: Vec<EndpointInfo> = (0..50)
        .map(|i| {
            info(
                EndpointKind::Doh,
                &format!("resolver-{i:02}"),
                &format!("https://r{i}.example/dns-query"),
            )
        })
        .collect();
    let mut app = App::new(eps);
    // The first frame sets the page size, as the live loop does.
    app.set_page_size(17);
    press(&mut app, KeyCode::End);
    let (text, _) = render_both(&app, 60, 20);
    assert!(text.contains("> · waiting"), "{text}");
    assert!(text.contains("resolver-49"));
    assert!(!text.contains("resolver-00"));
}

#[test]
fn any_size_renders_without_panic() {
    let mut apps = vec![App::new(Vec::new()), fixture()];
    for id in [1, 3, 4] {
        let mut app = fixture();
        for _ in 0..id {
            press(&mut app, KeyCode::Down);
        }
        press(&mut app, KeyCode::Enter);
        apps.push(app);
    }
    // Layout solving is slow in debug builds, so sizes are sampled around
    // every threshold rather than swept.
    let widths = [
        0, 1, 2, 5, 10, 11, 12, 20, 23, 24, 40, 44, 45, 59, 60, 61, 79, 80, 100, 139, 140, 200,
    ];
    let heights = [0, 1, 2, 3, 4, 5, 6, 8, 10, 20, 40];
    for app in &apps {
        for width in widths {
            for height in heights {
                draw(app, Theme::colored(), width, height);
            }
        }
    }
    // The smallest size the brief names, for the record.
    let tiny = text(&draw(&apps[2], Theme::plain(), 10, 5));
    assert_eq!(tiny.lines().count(), 5);
}
