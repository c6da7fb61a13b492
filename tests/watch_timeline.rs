//! Snapshots of watch mode's timeline screen (`bridgescout watch` on a
//! terminal), rendered on a `TestBackend`: strips readable without colour,
//! events in the UI's language.

use std::time::{Duration, UNIX_EPOCH};

use bridgescout::catalog::{EndpointKind, Origin};
use bridgescout::measurement::{Diagnosis, EndpointInfo, Measurement, SCHEMA_VERSION, Verdict};
use bridgescout::tui::timeline::{Timeline, TimelineMsg, render};
use bridgescout::tui::{Lang, Theme};
use bridgescout::watch::Tracker;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

fn m(kind: EndpointKind, ok: bool, diagnosis: Diagnosis) -> Measurement {
    Measurement {
        schema_version: SCHEMA_VERSION,
        id: 0,
        endpoint: EndpointInfo {
            kind,
            label: kind.to_string(),
            address: "192.0.2.1:443".into(),
            origin: Origin::Builtin,
        },
        start_time: "2026-03-01T12:00:00.000Z".into(),
        runtime: 0.1,
        steps: Vec::new(),
        verdict: if ok {
            Verdict::Reachable
        } else {
            Verdict::Failed
        },
        diagnosis: if ok { Diagnosis::Ok } else { diagnosis },
        failure: None,
        failed_operation: None,
        latency_ms: None,
        notes: Vec::new(),
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }
}

/// Eight rounds, five minutes apart: obfs4 is reset from round 2 on, DoH
/// drops out for rounds 3–4, DoT works throughout.
fn fixture(lang: Lang) -> Timeline {
    use Diagnosis::{ConnectionReset, Timeout};
    use EndpointKind::{Doh, Dot, Obfs4};
    let mut tracker = Tracker::new();
    let mut tl = Timeline::new(lang);
    for i in 0..8u64 {
        tl.apply(TimelineMsg::RoundStarted { round: i as usize });
        let doh_ok = !(3..=4).contains(&i);
        let round = vec![
            m(Doh, doh_ok, Timeout),
            m(Doh, false, Timeout),
            m(Dot, true, Timeout),
            m(Obfs4, i < 2, ConnectionReset),
        ];
        let at = UNIX_EPOCH + Duration::from_secs(1_772_366_400 + 300 * i);
        let update = tracker.push(at, &round);
        tl.apply(TimelineMsg::Round(Box::new(update)));
    }
    let next = UNIX_EPOCH + Duration::from_secs(1_772_366_400 + 300 * 8);
    tl.apply(TimelineMsg::Waiting {
        next_at: humantime::format_rfc3339_seconds(next).to_string(),
    });
    tl
}

fn draw(tl: &Timeline, theme: Theme, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(f, tl, &theme)).unwrap();
    terminal.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn timeline_english() {
    let buf = draw(&fixture(Lang::En), Theme::plain(), 80, 16);
    insta::assert_snapshot!("timeline_english", text(&buf));
}

#[test]
fn timeline_russian() {
    let buf = draw(&fixture(Lang::Ru), Theme::plain(), 80, 16);
    insta::assert_snapshot!("timeline_russian", text(&buf));
}

#[test]
fn timeline_before_the_first_round() {
    let tl = Timeline::new(Lang::En);
    let buf = draw(&tl, Theme::plain(), 60, 10);
    let t = text(&buf);
    assert!(t.contains("round 1: testing"), "{t}");
    assert!(t.contains("Waiting for the first round"), "{t}");
}

#[test]
fn plain_theme_has_no_colour_and_colours_repeat_the_symbols() {
    let tl = fixture(Lang::En);
    let plain = draw(&tl, Theme::plain(), 80, 16);
    for cell in plain.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "{:?}", cell.symbol());
    }
    let coloured = draw(&tl, Theme::colored(), 80, 16);
    // The strips (rows 3–5); the legend's symbols are muted text.
    for (x, y) in (0..80).flat_map(|x| (3..6).map(move |y| (x, y))) {
        let cell = &coloured[(x, y)];
        match cell.symbol() {
            "✔" => assert_eq!(cell.fg, ratatui::style::Color::Green),
            "✘" => assert_eq!(cell.fg, ratatui::style::Color::Red),
            _ => {}
        }
    }
}

#[test]
fn any_size_renders_without_panic() {
    let tl = fixture(Lang::Kk);
    for w in [0u16, 1, 5, 20, 40, 200] {
        for h in [0u16, 1, 3, 8, 50] {
            draw(&tl, Theme::colored(), w, h);
        }
    }
}
