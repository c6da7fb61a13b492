//! The `?` overlay: every key, centred over the rest of the UI.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::app::App;
use super::i18n::{Msg, tr};
use super::text::{fit, pad};
use super::theme::Theme;

/// Keys and what they do, in the order shown.
pub const KEYS: [(&str, Msg); 19] = [
    ("↑↓ j k", Msg::HelpMove),
    ("PgUp PgDn", Msg::HelpPage),
    ("Home End g G", Msg::HelpEnds),
    ("Enter Tab", Msg::HelpDetails),
    ("c", Msg::HelpCopy),
    ("f", Msg::HelpKind),
    ("s", Msg::HelpStatus),
    ("/", Msg::HelpSearch),
    ("o", Msg::HelpSort),
    ("p", Msg::HelpPrivacy),
    ("r", Msg::HelpRetest),
    ("R", Msg::HelpRetestAll),
    ("a", Msg::HelpAdd),
    ("d", Msg::HelpDeep),
    ("e", Msg::HelpExport),
    ("i", Msg::HelpSettings),
    ("?", Msg::HelpHelp),
    ("q Esc Ctrl-C", Msg::HelpQuit),
    ("", Msg::HelpClose),
];

const KEY_W: usize = 13;

/// Draws the overlay over `area`, as large as the content needs and the
/// area allows.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let lang = app.lang();
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|&(key, msg)| {
            if key.is_empty() {
                Line::styled(tr(lang, msg), theme.muted())
            } else {
                Line::from(vec![
                    Span::styled(pad(key, KEY_W), theme.key()),
                    Span::raw(" "),
                    Span::raw(tr(lang, msg)),
                ])
            }
        })
        .collect();
    overlay(frame, area, tr(lang, Msg::HelpTitle), lines, theme);
}

/// Draws `lines` in a bordered box titled `title`, centred in `area` and
/// sized to its content; lines too wide for the screen are cut.
pub fn overlay(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, theme: &Theme) {
    let content_w = lines.iter().map(Line::width).max().unwrap_or(0);
    let w = u16::try_from(content_w.saturating_add(4)).unwrap_or(u16::MAX);
    let h = u16::try_from(lines.len().saturating_add(2)).unwrap_or(u16::MAX);
    let popup = centred(area, w, h);
    if popup.is_empty() {
        return;
    }
    let inner_w = usize::from(popup.width.saturating_sub(4));
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| {
            // Cut rather than wrap: on small screens a clipped box beats none.
            if l.width() <= inner_w {
                l
            } else {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                Line::raw(fit(&text, inner_w))
            }
        })
        .collect();
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Span::styled(title.to_string(), theme.title()))
        .padding(ratatui::widgets::Padding::horizontal(1));
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// A `w`×`h` rectangle centred in `area`, shrunk to fit it.
pub fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_fits_inside() {
        let area = Rect::new(3, 4, 10, 6);
        assert_eq!(centred(area, 4, 2), Rect::new(6, 6, 4, 2));
        assert_eq!(centred(area, 40, 20), area);
        assert_eq!(centred(Rect::default(), 4, 4), Rect::default());
    }
}
