//! The header (title and progress) and the footer (key hints).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, ScanState};
use super::theme::Theme;

/// Below this width the footer drops the less used keys.
const FULL_HINTS_MIN: u16 = 72;

/// "12/40 done · 5 running", plus the tally and the scan's end state.
pub fn progress_text(app: &App) -> String {
    let p = app.progress();
    let mut s = format!("{}/{} done · {} running", p.done, p.total, p.running);
    if p.done > 0 {
        s.push_str(&format!(" · {} work · {} failed", p.reachable, p.failed));
    }
    match app.scan_state() {
        ScanState::Running => {}
        ScanState::Complete => s.push_str(" · scan complete"),
        ScanState::Cancelled => s.push_str(" · cancelled"),
    }
    s
}

pub fn render_header(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let line = Line::from(vec![
        Span::styled("bridgescout", theme.title()),
        Span::raw("  "),
        Span::raw(progress_text(app)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

pub fn render_footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    if let Some(msg) = app.status() {
        frame.render_widget(Paragraph::new(Line::raw(msg.to_string())), area);
        return;
    }
    let details = if app.detail_open() {
        "hide details"
    } else {
        "details"
    };
    let hints: Vec<(&str, &str)> = if area.width >= FULL_HINTS_MIN {
        vec![
            ("↑↓/jk", "move"),
            ("PgUp/PgDn", "page"),
            ("Home/End", "first/last"),
            ("Enter", details),
            ("e", "export"),
            ("q", "quit"),
        ]
    } else {
        vec![("↑↓", "move"), ("Enter", details), ("q", "quit")]
    };
    let mut spans = Vec::new();
    for (i, (key, what)) in hints.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted()));
        }
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
