//! The header (title, progress and active filters) and the footer (key
//! hints, the search prompt, or the last message).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, ScanState, SortBy, StatusFilter};
use super::i18n::{Msg, fill, tr};
use super::theme::Theme;

/// Below this width the footer drops the less used keys.
const FULL_HINTS_MIN: u16 = 72;

/// "12/40 done · 5 running", plus the tally and the scan's end state.
pub fn progress_text(app: &App) -> String {
    let lang = app.lang();
    let p = app.progress();
    let mut s = fill(
        tr(lang, Msg::Progress),
        &[
            ("done", &p.done.to_string()),
            ("total", &p.total.to_string()),
            ("running", &p.running.to_string()),
        ],
    );
    if p.done > 0 {
        s.push_str(&fill(
            tr(lang, Msg::Tally),
            &[
                ("ok", &p.reachable.to_string()),
                ("failed", &p.failed.to_string()),
            ],
        ));
    }
    match app.scan_state() {
        ScanState::Running => {}
        ScanState::Complete => s.push_str(tr(lang, Msg::ScanComplete)),
        ScanState::Cancelled => s.push_str(tr(lang, Msg::ScanCancelled)),
    }
    s
}

/// The active filters and order, e.g. "kind obfs4 · working only · "ab"",
/// empty when the table shows everything in rank order.
pub fn view_text(app: &App) -> String {
    let lang = app.lang();
    let view = app.view();
    let mut parts = Vec::new();
    if let Some(k) = view.kind {
        parts.push(format!(
            "{} {}",
            tr(lang, Msg::FilterKind),
            k.display_name()
        ));
    }
    match view.status {
        StatusFilter::All => {}
        StatusFilter::Working => parts.push(tr(lang, Msg::FilterWorking).to_string()),
        StatusFilter::Failed => parts.push(tr(lang, Msg::FilterFailed).to_string()),
    }
    if !view.search.is_empty() {
        parts.push(format!("“{}”", view.search));
    }
    match view.sort {
        SortBy::Rank => {}
        SortBy::Latency => parts.push(tr(lang, Msg::SortLatency).to_string()),
        SortBy::Name => parts.push(tr(lang, Msg::SortName).to_string()),
    }
    parts.join(" · ")
}

pub fn render_header(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let mut spans = vec![
        Span::styled("bridgescout", theme.title()),
        Span::raw("  "),
        Span::raw(progress_text(app)),
    ];
    let view = view_text(app);
    if !view.is_empty() {
        spans.push(Span::styled(" │ ", theme.muted()));
        spans.push(Span::styled(view, theme.key()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn render_footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let lang = app.lang();
    if let Some(text) = app.adding() {
        let line = add_prompt(app, text, usize::from(area.width));
        frame.render_widget(Paragraph::new(Line::styled(line, theme.key())), area);
        return;
    }
    if app.searching() {
        let prompt = fill(tr(lang, Msg::SearchPrompt), &[("text", &app.view().search)]);
        let prompt = super::text::fit(&prompt, usize::from(area.width));
        frame.render_widget(Paragraph::new(Line::styled(prompt, theme.key())), area);
        return;
    }
    if let Some(msg) = app.status() {
        frame.render_widget(Paragraph::new(Line::raw(msg.to_string())), area);
        return;
    }
    let t = |m| tr(lang, m);
    let details = if app.detail_open() {
        t(Msg::KeyHideDetails)
    } else {
        t(Msg::KeyDetails)
    };
    let hints: Vec<(&str, &str)> = if area.width >= FULL_HINTS_MIN {
        // (key, what, rank): the lower the rank, the longer a hint stays
        // as the width shrinks; rank 1 and below always stay.
        let all = [
            ("↑↓", t(Msg::KeyMove), 0),
            ("Enter", details, 0),
            ("c", t(Msg::KeyCopy), 1),
            ("r/R", t(Msg::KeyRetest), 2),
            ("a", t(Msg::KeyAdd), 2),
            ("/", t(Msg::KeySearch), 1),
            ("f/s/o", t(Msg::KeyFilterSort), 1),
            ("e", t(Msg::KeyExport), 1),
            ("i", t(Msg::KeySettings), 3),
            ("?", t(Msg::KeyHelp), 0),
            ("q", t(Msg::KeyQuit), 0),
        ];
        let pick = |rank: u8| -> Vec<(&str, &str)> {
            all.iter()
                .filter(|h| h.2 <= rank)
                .map(|&(k, w, _)| (k, w))
                .collect()
        };
        let fits = |hints: &[(&str, &str)]| {
            let w: usize = hints
                .iter()
                .map(|(k, w)| super::text::width(k) + 1 + super::text::width(w) + 3)
                .sum();
            w.saturating_sub(3) <= usize::from(area.width)
        };
        (2..=3)
            .rev()
            .map(pick)
            .find(|h| fits(h))
            .unwrap_or_else(|| pick(1))
    } else {
        vec![
            ("↑↓", t(Msg::KeyMove)),
            ("Enter", details),
            ("?", t(Msg::KeyHelp)),
            ("q", t(Msg::KeyQuit)),
        ]
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

/// The add prompt in `width` columns. Empty: a hint of what to paste.
/// In privacy mode the text is never drawn, only its length: what is
/// pasted is usually an address or a secret. Long text shows its end,
/// where typing happens.
pub fn add_prompt(app: &App, text: &str, width: usize) -> String {
    let lang = app.lang();
    if text.is_empty() {
        let hint = tr(lang, Msg::AddHint);
        let line = fill(tr(lang, Msg::AddPrompt), &[("text", "")]);
        return super::text::fit(&format!("{line} · {hint}"), width);
    }
    if app.mask() {
        let n = text.chars().count().to_string();
        return super::text::fit(&fill(tr(lang, Msg::AddPromptMasked), &[("n", &n)]), width);
    }
    let frame = fill(tr(lang, Msg::AddPrompt), &[("text", "")]);
    let room = width.saturating_sub(super::text::width(&frame)).max(8);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let shown = if super::text::width(&clean) <= room {
        clean
    } else {
        // The tail that fits, after an ellipsis.
        let mut tail: Vec<char> = Vec::new();
        let mut used = 1;
        for c in clean.chars().rev() {
            let w = super::text::width(c.encode_utf8(&mut [0u8; 4]));
            if used + w > room {
                break;
            }
            used += w;
            tail.push(c);
        }
        tail.reverse();
        format!("…{}", tail.into_iter().collect::<String>())
    };
    super::text::fit(&fill(tr(lang, Msg::AddPrompt), &[("text", &shown)]), width)
}
