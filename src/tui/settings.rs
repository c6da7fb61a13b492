//! The `i` overlay: the effective configuration and where each value came
//! from (command line, environment, config file, default).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::config::Source;
use crate::controls::DefaultNote;

use super::app::{App, MASK};
use super::i18n::{Lang, Msg, tr};
use super::text::{fit, pad, width};
use super::theme::Theme;

/// One line of the overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The config file key (the long option name).
    pub key: String,
    pub value: String,
    pub source: Source,
    /// Hidden in privacy mode: paths under the home directory, this
    /// network's resolvers and label, your own servers.
    pub sensitive: bool,
}

impl Setting {
    pub fn new(key: &str, value: impl Into<String>, source: Source) -> Setting {
        Setting {
            key: key.to_string(),
            value: value.into(),
            source,
            sensitive: false,
        }
    }

    pub fn sensitive(mut self) -> Setting {
        self.sensitive = true;
        self
    }
}

pub fn source_name(lang: Lang, source: Source) -> &'static str {
    tr(
        lang,
        match source {
            Source::Cli => Msg::SourceCli,
            Source::Env => Msg::SourceEnv,
            Source::File => Msg::SourceFile,
            Source::Default => Msg::SourceDefault,
        },
    )
}

pub fn note_text(lang: Lang, note: DefaultNote) -> &'static str {
    tr(
        lang,
        match note {
            DefaultNote::LoopbackOnly => Msg::NoteLoopbackOnly,
            DefaultNote::FromSystemd => Msg::NoteFromSystemd,
            DefaultNote::PublicSkipped => Msg::NotePublicSkipped,
            DefaultNote::NoResolver => Msg::NoteNoResolver,
            DefaultNote::NameSkipped => Msg::NoteNameSkipped,
        },
    )
}

/// The overlay's lines before fitting: key, value, source.
fn lines(app: &App, theme: &Theme, max_value: usize) -> Vec<Line<'static>> {
    let lang = app.lang();
    let settings = app.settings();
    if settings.is_empty() {
        return vec![Line::styled(tr(lang, Msg::SettingsEmpty), theme.muted())];
    }
    let key_w = settings.iter().map(|s| width(&s.key)).max().unwrap_or(0);
    // The source before the value: values vary wildly in length, sources
    // do not, so the columns stay tidy.
    let source_w = settings
        .iter()
        .map(|s| width(source_name(lang, s.source)))
        .max()
        .unwrap_or(0);
    let mut out: Vec<Line<'static>> = settings
        .iter()
        .map(|s| {
            let value = if s.sensitive && app.mask() {
                MASK.to_string()
            } else {
                s.value.clone()
            };
            Line::from(vec![
                Span::styled(pad(&s.key, key_w), theme.key()),
                Span::raw("  "),
                Span::styled(pad(source_name(lang, s.source), source_w), theme.muted()),
                Span::raw("  "),
                Span::raw(fit(&value, max_value)),
            ])
        })
        .collect();
    let indent = pad("", key_w + 2 + source_w + 2);
    for note in app.control_notes() {
        out.push(Line::styled(
            format!("{indent}{}", note_text(lang, *note)),
            theme.muted(),
        ));
    }
    out.push(Line::styled(tr(lang, Msg::HelpClose), theme.muted()));
    out
}

/// Draws the overlay over `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    // Values wider than the screen are cut with an ellipsis.
    let max_value = usize::from(area.width).saturating_sub(34).max(12);
    let lines = lines(app, theme, max_value);
    super::help::overlay(
        frame,
        area,
        tr(app.lang(), Msg::SettingsTitle),
        lines,
        theme,
    );
}
