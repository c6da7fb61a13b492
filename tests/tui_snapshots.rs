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
use bridgescout::tui::{App, Lang, Theme, render};
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
    let mut help = fixture();
    press(&mut help, KeyCode::Char('?'));
    apps.push(help);
    let mut ru = fixture();
    ru.set_lang(Lang::Ru);
    press(&mut ru, KeyCode::Enter);
    apps.push(ru);
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
    let tiny = text(&draw(&apps[4], Theme::plain(), 10, 5));
    assert_eq!(tiny.lines().count(), 5);
}

#[test]
fn wide_summary_panel() {
    let app = fixture();
    let (text, _) = render_both(&app, 120, 40);
    // The panel: title, recommendation, per-method tally with symbols.
    assert!(text.contains("┌ Summary"), "{text}");
    assert!(text.contains("Works here: DoH (1 of 2). Not working: DoT (SNI blocked)."));
    assert!(text.contains("✔ DoH 1/2 23.4 ms"));
    assert!(text.contains("✘ DoT 0/1"));
    let lines: Vec<&str> = text.lines().collect();
    let summary_at = lines.iter().position(|l| l.contains("Works here")).unwrap();
    let table_at = lines.iter().position(|l| l.contains("Latency")).unwrap();
    assert!(summary_at < table_at, "summary above the table");
    insta::assert_snapshot!("wide_summary", lines[..table_at].join("\n"));
}

/// Everything timed out: the recommendation says shutdown, on one line
/// plus a method line on a narrow terminal.
#[test]
fn narrow_summary_when_nothing_works() {
    let eps = endpoints();
    let mut app = App::new(eps[..3].to_vec());
    for (id, ep) in eps.iter().take(3).enumerate() {
        let mut m = timed_out_doh(ep.clone());
        m.id = id;
        app.on_event(Event::Finished(Box::new(m)));
    }
    app.on_event(Event::Done { cancelled: false });
    let (text, _) = render_both(&app, 60, 20);
    // Wrapped, not cut: the conclusion is at the end of the sentence.
    assert!(text.contains("general shutdown"), "{text}");
    assert!(text.contains("✘ DoH 0/2 · ✘ DoT 0/1"), "{text}");
    insta::assert_snapshot!("narrow_summary_nothing_works", text);
}

#[test]
fn help_overlay() {
    let mut app = fixture();
    press(&mut app, KeyCode::Char('?'));
    let (text, buf) = render_both(&app, 120, 40);
    for key in [
        "copy the selected working endpoint",
        "privacy mode",
        "Press any key",
    ] {
        assert!(text.contains(key), "{key}:\n{text}");
    }
    assert_eq!(buf[find(&buf, "Keys")].fg, Color::Cyan);
    insta::assert_snapshot!("help_overlay", text);
    // Any key closes it; small terminals clip it without panicking.
    let (small, _) = render_both(&app, 30, 8);
    assert!(small.contains("Keys"), "{small}");
    press(&mut app, KeyCode::Char('x'));
    let (text, _) = render_both(&app, 120, 40);
    assert!(!text.contains("Press any key"));
}

fn user_bridge() -> (EndpointInfo, Measurement) {
    let line =
        "obfs4 203.0.113.7:443 0123456789ABCDEF0123456789ABCDEF01234567 cert=c2VjcmV0 iat-mode=0";
    let info = EndpointInfo {
        kind: EndpointKind::Obfs4,
        label: "obfs4 203.0.113.7:443".into(),
        address: line.into(),
        origin: Origin::User,
    };
    let mut connect = step(Operation::TcpConnect, "203.0.113.7:443", 0.0, 0.02);
    connect.addresses = vec!["203.0.113.7".into()];
    let mut pt = step(Operation::PtHandshake, "203.0.113.7:443", 0.02, 0.3);
    pt.detail = Some("lyrebird 0.5".into());
    let m = Measurement {
        schema_version: SCHEMA_VERSION,
        id: 0,
        endpoint: info.clone(),
        start_time: "2025-03-01T12:00:00.000Z".into(),
        runtime: 0.31,
        steps: vec![connect, pt],
        verdict: Verdict::Reachable,
        diagnosis: Diagnosis::Ok,
        failure: None,
        failed_operation: None,
        latency_ms: Some(280.0),
        notes: Vec::new(),
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    };
    (info, m)
}

#[test]
fn masked_view_hides_user_addresses() {
    let (info, m) = user_bridge();
    let mut eps = vec![info];
    eps.extend(endpoints().into_iter().take(1));
    let mut app = App::new(eps.clone());
    app.on_event(Event::Finished(Box::new(m)));
    let mut cf = reachable_doh(eps[1].clone());
    cf.id = 1;
    app.on_event(Event::Finished(Box::new(cf)));
    // Ranked: cloudflare (23.4 ms), then the bridge.
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Enter);
    let (plain_text, _) = render_both(&app, 120, 40);
    assert!(plain_text.contains("203.0.113.7"));
    press(&mut app, KeyCode::Char('p'));
    let (text, _) = render_both(&app, 120, 40);
    assert!(!text.contains("203.0.113"), "address leaked:\n{text}");
    assert!(!text.contains("c2VjcmV0"), "cert leaked:\n{text}");
    assert!(text.contains("obfs4 •••"), "{text}");
    assert!(text.contains("privacy mode on"), "{text}");
    // Built-in endpoints stay readable: they are public anyway.
    press(&mut app, KeyCode::Up);
    let (text, _) = render_both(&app, 120, 40);
    assert!(
        text.contains("https://cloudflare-dns.com/dns-query"),
        "{text}"
    );
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('p'));
    press(&mut app, KeyCode::Char('p'));
    let (text, _) = render_both(&app, 120, 40);
    insta::assert_snapshot!("masked_detail", text);
}

#[test]
fn russian_view() {
    let mut app = fixture();
    app.set_lang(Lang::Ru);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let (text, buf) = render_both(&app, 120, 40);
    assert!(text.contains("Здесь работают: DoH (1 из 2)."), "{text}");
    assert!(text.contains("Статус"), "{text}");
    // Codes stay untranslated.
    assert!(text.contains("sni_filtered"), "{text}");
    assert_eq!(buf[find(&buf, "✘ не работает")].fg, Color::Red);
    insta::assert_snapshot!("russian_wide_detail", text);
    let (narrow, _) = render_both(&app, 60, 20);
    insta::assert_snapshot!("russian_narrow_detail", narrow);
}

#[test]
fn kazakh_view_renders() {
    let mut app = fixture();
    app.set_lang(Lang::Kk);
    let (text, _) = render_both(&app, 120, 40);
    assert!(text.contains("Мұнда істейді: DoH (2 ішінен 1)."), "{text}");
    assert!(text.contains("✔ істейді"), "{text}");
}

fn settings_fixture() -> App {
    use bridgescout::config::Source;
    use bridgescout::controls::DefaultNote;
    use bridgescout::tui::Setting;
    let mut app = fixture();
    app.set_settings(vec![
        Setting::new("config", "/home/ana/.config/bridgescout/config.toml", Source::Default)
            .sensitive(),
        Setting::new("timeout", "2", Source::Cli),
        Setting::new("concurrency", "16", Source::Env),
        Setting::new("probe-name", "example.net", Source::File),
        Setting::new(
            "control",
            "domestic=dns:192.0.2.53:53, foreign=tls:www.wikipedia.org:443, foreign=tls:1.1.1.1:443",
            Source::Default,
        )
        .sensitive(),
        Setting::new("no-controls", "false", Source::Default),
        Setting::new("data-bytes", "65536", Source::Default),
        Setting::new("stall-after", "10", Source::Default),
        Setting::new("lang", "en (from the locale)", Source::Default),
        Setting::new("no-color", "false", Source::Default),
        Setting::new("workshop", "false", Source::Default),
        Setting::new("db", "/home/ana/.local/share/bridgescout/history.sqlite3", Source::Default)
            .sensitive(),
        Setting::new("proxy-target", "1.1.1.1:53", Source::Default),
    ]);
    app.set_control_notes(vec![DefaultNote::PublicSkipped]);
    press(&mut app, KeyCode::Char('i'));
    app
}

#[test]
fn settings_overlay() {
    let mut app = settings_fixture();
    assert!(app.settings_open());
    let (text, buf) = render_both(&app, 120, 40);
    for needle in [
        "Settings",
        "timeout",
        "command line",
        "environment",
        "config file",
        "default",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    assert!(
        text.contains("a public resolver in resolv.conf is not domestic"),
        "{text}"
    );
    assert_eq!(buf[find(&buf, "Settings")].fg, Color::Cyan);
    insta::assert_snapshot!("settings_overlay_wide", text);
    insta::assert_snapshot!("settings_overlay_wide_colours", colour_map(&buf));
    let (text, buf) = render_both(&app, 60, 20);
    assert!(text.contains("Settings"), "{text}");
    insta::assert_snapshot!("settings_overlay_narrow", text);
    insta::assert_snapshot!("settings_overlay_narrow_colours", colour_map(&buf));
    // Privacy mode hides paths and this network's resolvers.
    app.set_mask(true);
    let (text, _) = render_both(&app, 120, 40);
    assert!(!text.contains("/home/ana"), "{text}");
    assert!(!text.contains("192.0.2.53"), "{text}");
    assert!(text.contains("example.net"), "{text}");
    // Any key closes it.
    press(&mut app, KeyCode::Char('x'));
    let (text, _) = render_both(&app, 120, 40);
    assert!(!text.contains("proxy-target"), "{text}");
}

#[test]
fn add_prompt() {
    let mut app = fixture();
    press(&mut app, KeyCode::Char('a'));
    let (text, _) = render_both(&app, 120, 40);
    assert!(
        text.contains("add: ▏ Enter add · Esc cancel · paste a bridge line"),
        "{text}"
    );
    let line = "obfs4 203.0.113.7:443 0123456789ABCDEF0123456789ABCDEF01234567 cert=c2VjcmV0c2VjcmV0c2VjcmV0 iat-mode=0";
    app.on_paste(line);
    let (text, buf) = render_both(&app, 120, 40);
    // Longer than the room: its end stays visible, where typing happens.
    assert!(text.contains("add: …13.7:443 0123"), "{text}");
    assert!(
        text.contains("iat-mode=0▏ Enter add · Esc cancel"),
        "{text}"
    );
    insta::assert_snapshot!("add_prompt_wide", text);
    insta::assert_snapshot!("add_prompt_wide_colours", colour_map(&buf));
    let (text, buf) = render_both(&app, 60, 20);
    assert!(text.contains("iat-mode=0▏"), "{text}");
    insta::assert_snapshot!("add_prompt_narrow", text);
    insta::assert_snapshot!("add_prompt_narrow_colours", colour_map(&buf));
    // Privacy mode: only the length shows.
    app.set_mask(true);
    let (text, _) = render_both(&app, 120, 40);
    assert!(
        !text.contains("203.0.113.7") && !text.contains("c2VjcmV0"),
        "{text}"
    );
    assert!(
        text.contains(&format!("••• ({} characters", line.len())),
        "{text}"
    );
    press(&mut app, KeyCode::Esc);
    let (text, _) = render_both(&app, 120, 40);
    assert!(!text.contains("add:"), "{text}");
}

#[test]
fn summary_with_controls() {
    use bridgescout::controls::{Control, ControlResult, Scope};
    use bridgescout::measurement::Failure;
    let eps = endpoints();
    let mut app = App::new(eps[..3].to_vec());
    for (id, ep) in eps.iter().take(3).enumerate() {
        let mut m = timed_out_doh(ep.clone());
        m.id = id;
        app.on_event(Event::Finished(Box::new(m)));
    }
    let domestic = Control::dns(Scope::Domestic, "192.0.2.53:53".parse().unwrap());
    let foreign = Control::tls(Scope::Foreign, "1.1.1.1", 443);
    app.set_controls(vec![domestic.clone(), foreign.clone()]);
    app.on_control(
        0,
        ControlResult {
            control: domestic,
            ok: true,
            latency_ms: Some(12.4),
            failure: None,
            detail: None,
        },
    );
    app.on_control(
        1,
        ControlResult {
            control: foreign,
            ok: false,
            latency_ms: None,
            failure: Some(Failure::GenericTimeout),
            detail: None,
        },
    );
    let (text, _) = render_both(&app, 120, 40);
    assert!(
        text.contains("Controls: domestic ✔ 12 ms · foreign ✘ timeout"),
        "{text}"
    );
    assert!(text.contains("international traffic looks cut"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let table_at = lines.iter().position(|l| l.contains("Latency")).unwrap();
    insta::assert_snapshot!("wide_summary_controls", lines[..table_at].join("\n"));
    let (text, _) = render_both(&app, 60, 20);
    assert!(text.contains("Controls: domestic ✔ 12 ms"), "{text}");
    insta::assert_snapshot!("narrow_summary_controls", text);
}
