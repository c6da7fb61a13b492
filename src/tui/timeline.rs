//! Watch mode's screen: per method a strip of the latest rounds (✔ works,
//! ✘ failed, · not tested; colour only repeats what the symbol says), and
//! the latest down/up events.
//!
//! The UI runs no probes: `bridgescout watch` runs the rounds and sends
//! [`TimelineMsg`]s; [`Timeline`] is the state, [`render`] a pure function
//! of it (snapshot-tested), [`run`] owns the terminal.

use std::collections::VecDeque;
use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::i18n::{self, Lang, Msg, fill, tr};
use super::theme::Theme;
use super::{StopOnDrop, TERMINAL_ACTIVE, TerminalGuard, TuiError, read_input};
use crate::catalog::EndpointKind;
use crate::watch::format::clock;
use crate::watch::{RoundSummary, RoundUpdate, WatchEvent};

/// Rounds kept for the strips (wider terminals show more of them).
const KEEP_ROUNDS: usize = 500;
/// Events kept for the list.
const KEEP_EVENTS: usize = 200;
/// Width of the method-name column.
const NAME_WIDTH: usize = 10;

/// What the watch loop tells the UI.
#[derive(Debug, Clone)]
pub enum TimelineMsg {
    /// Round `round` (0-based) started.
    RoundStarted { round: usize },
    /// A round finished, with the events it caused.
    Round(Box<RoundUpdate>),
    /// Sleeping until `next_at` (RFC 3339).
    Waiting { next_at: String },
    /// No more rounds.
    Stopped,
    /// The controls of the latest round (`watch --control`).
    Controls(Vec<crate::controls::ControlResult>),
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Scanning(usize),
    Waiting(String),
    Stopped,
}

/// Everything the timeline screen shows.
#[derive(Debug, Clone)]
pub struct Timeline {
    lang: Lang,
    rounds: VecDeque<RoundSummary>,
    done: usize,
    events: VecDeque<WatchEvent>,
    /// Every method seen, in kind order.
    kinds: Vec<EndpointKind>,
    phase: Phase,
    /// The latest round's control results, if controls run.
    controls: Vec<(
        crate::controls::Control,
        Option<crate::controls::ControlResult>,
    )>,
}

impl Timeline {
    pub fn new(lang: Lang) -> Timeline {
        Timeline {
            lang,
            rounds: VecDeque::new(),
            done: 0,
            events: VecDeque::new(),
            kinds: Vec::new(),
            phase: Phase::Scanning(0),
            controls: Vec::new(),
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn apply(&mut self, msg: TimelineMsg) {
        match msg {
            TimelineMsg::RoundStarted { round } => self.phase = Phase::Scanning(round),
            TimelineMsg::Round(update) => {
                for m in &update.summary.methods {
                    if let Err(i) = self.kinds.binary_search(&m.kind) {
                        self.kinds.insert(i, m.kind);
                    }
                }
                self.done += 1;
                self.rounds.push_back(update.summary);
                if self.rounds.len() > KEEP_ROUNDS {
                    self.rounds.pop_front();
                }
                for e in update.events {
                    self.events.push_front(e);
                }
                self.events.truncate(KEEP_EVENTS);
            }
            TimelineMsg::Waiting { next_at } => self.phase = Phase::Waiting(next_at),
            TimelineMsg::Stopped => self.phase = Phase::Stopped,
            TimelineMsg::Controls(results) => {
                self.controls = results
                    .into_iter()
                    .map(|r| (r.control.clone(), Some(r)))
                    .collect();
            }
        }
    }

    fn header(&self) -> String {
        let lang = self.lang;
        let state = match &self.phase {
            Phase::Scanning(round) => fill(
                tr(lang, Msg::WatchScanning),
                &[("round", &(round + 1).to_string())],
            ),
            Phase::Waiting(at) => fill(
                tr(lang, Msg::WatchWaiting),
                &[("rounds", &self.done.to_string()), ("time", clock(at))],
            ),
            Phase::Stopped => fill(
                tr(lang, Msg::WatchStopped),
                &[("rounds", &self.done.to_string())],
            ),
        };
        let mut out = format!("{} · {state}", tr(lang, Msg::WatchTitle));
        if let Some(c) = super::summary::controls_text(lang, &self.controls) {
            out.push_str(" · ");
            out.push_str(&c);
        }
        out
    }
}

/// A duration as `h:mm:ss`: the same in every language.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// One event as a line in the UI's language.
pub fn event_text(lang: Lang, e: &WatchEvent) -> String {
    match e {
        WatchEvent::MethodDown {
            kind, at, reason, ..
        } => {
            let mut s = fill(
                tr(lang, Msg::WatchDown),
                &[("time", clock(at)), ("kind", kind.display_name())],
            );
            if let Some(r) = reason {
                s.push_str(" · ");
                s.push_str(i18n::diagnosis_phrase(lang, *r, true));
            }
            s
        }
        WatchEvent::MethodUp {
            kind,
            at,
            duration_s,
            ..
        } => fill(
            tr(lang, Msg::WatchUp),
            &[
                ("time", clock(at)),
                ("kind", kind.display_name()),
                ("duration", &duration(*duration_s)),
            ],
        ),
        WatchEvent::AllDown { at, .. } => fill(tr(lang, Msg::WatchAllDown), &[("time", clock(at))]),
        WatchEvent::AllUp { at, duration_s, .. } => fill(
            tr(lang, Msg::WatchAllUp),
            &[("time", clock(at)), ("duration", &duration(*duration_s))],
        ),
    }
}

/// One method's strip over the last `width` rounds, oldest first.
fn strip<'a>(tl: &'a Timeline, kind: EndpointKind, width: usize, theme: &Theme) -> Vec<Span<'a>> {
    let skip = tl.rounds.len().saturating_sub(width);
    tl.rounds
        .iter()
        .skip(skip)
        .map(|r| match r.methods.iter().find(|m| m.kind == kind) {
            Some(m) if m.works => Span::styled("✔", theme.reachable()),
            Some(_) => Span::styled("✘", theme.failed()),
            None => Span::styled("·", theme.pending()),
        })
        .collect()
}

/// The latest state of `kind`: "2/3" with the symbol, or the reason.
fn latest<'a>(tl: &'a Timeline, kind: EndpointKind, theme: &Theme) -> Span<'a> {
    let Some(m) = tl
        .rounds
        .iter()
        .rev()
        .find_map(|r| r.methods.iter().find(|m| m.kind == kind))
    else {
        return Span::raw("");
    };
    let mut s = format!(" {}/{}", m.working, m.tested);
    if let Some(r) = m.reason {
        s.push(' ');
        s.push_str(i18n::diagnosis_phrase(tl.lang, r, true));
    }
    let style = if m.works {
        theme.reachable()
    } else {
        theme.failed()
    };
    Span::styled(s, style)
}

/// Draws the whole watch screen.
pub fn render(frame: &mut Frame, tl: &Timeline, theme: &Theme) {
    let area = frame.area();
    let lang = tl.lang;
    let strips = u16::try_from(tl.kinds.len().max(1)).unwrap_or(u16::MAX);
    let [
        header,
        _,
        title,
        body,
        legend,
        _,
        events_title,
        events,
        footer,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(strips),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(tl.header(), theme.title())),
        header,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(tr(lang, Msg::WatchStrip), theme.header())),
        title,
    );
    if tl.kinds.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(tr(lang, Msg::WatchNoRounds), theme.muted())),
            body,
        );
    } else {
        render_strips(frame, body, tl, theme);
    }
    frame.render_widget(
        Paragraph::new(Span::styled(tr(lang, Msg::WatchLegend), theme.muted())),
        legend,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(tr(lang, Msg::WatchEvents), theme.header())),
        events_title,
    );
    let lines: Vec<Line> = if tl.events.is_empty() {
        vec![Line::styled(tr(lang, Msg::WatchNoEvents), theme.muted())]
    } else {
        tl.events
            .iter()
            .take(usize::from(events.height))
            .map(|e| {
                let style = match e {
                    WatchEvent::MethodDown { .. } | WatchEvent::AllDown { .. } => theme.failed(),
                    WatchEvent::MethodUp { .. } | WatchEvent::AllUp { .. } => theme.reachable(),
                };
                Line::styled(event_text(lang, e), style)
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines), events);
    frame.render_widget(
        Paragraph::new(Span::styled(tr(lang, Msg::WatchFooter), theme.muted())),
        footer,
    );
}

fn render_strips(frame: &mut Frame, area: Rect, tl: &Timeline, theme: &Theme) {
    // Name, strip, then the latest count and reason (about 24 columns).
    let width = usize::from(area.width)
        .saturating_sub(NAME_WIDTH + 24)
        .max(1);
    let lines: Vec<Line> = tl
        .kinds
        .iter()
        .map(|&kind| {
            let mut spans = vec![Span::styled(
                format!("{:<NAME_WIDTH$}", kind.display_name()),
                theme.label(),
            )];
            spans.extend(strip(tl, kind, width, theme));
            spans.push(latest(tl, kind, theme));
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// How the watch UI looks.
#[derive(Debug, Clone, Default)]
pub struct WatchUiOptions {
    pub no_color: bool,
    /// `None`: from the locale.
    pub lang: Option<Lang>,
}

/// Shows the timeline until the user quits (`q`, Esc, Ctrl-C) or `stop`
/// fires (SIGTERM, Ctrl-C outside raw mode). Rounds keep coming in over
/// `rx`; the caller stops them when this returns.
pub async fn run(
    mut rx: mpsc::UnboundedReceiver<TimelineMsg>,
    stop: CancellationToken,
    opts: WatchUiOptions,
) -> Result<(), TuiError> {
    if !io::stdout().is_terminal() {
        return Err(TuiError::NotATerminal);
    }
    let theme = Theme::new(super::color_enabled(
        opts.no_color,
        std::env::var_os("NO_COLOR").as_deref(),
    ));
    let mut tl = Timeline::new(opts.lang.unwrap_or_else(|| Lang::from_env(None)));
    let mut term = TerminalGuard::enter()?;
    let (input_tx, mut input_rx) = mpsc::unbounded_channel();
    let stop_input = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let input = tokio::task::spawn_blocking({
        let stop = Arc::clone(&stop_input.0);
        move || read_input(&input_tx, &stop)
    });
    let mut rx_open = true;
    let outcome: Result<(), TuiError> = async {
        loop {
            if !TERMINAL_ACTIVE.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(TuiError::Panicked);
            }
            term.terminal.draw(|f| render(f, &tl, &theme))?;
            tokio::select! {
                msg = rx.recv(), if rx_open => match msg {
                    Some(msg) => tl.apply(msg),
                    None => rx_open = false,
                },
                ev = input_rx.recv() => match ev {
                    Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                        let ctrl_c = key.code == KeyCode::Char('c')
                            && key.modifiers.contains(KeyModifiers::CONTROL);
                        if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                            return Ok(());
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(TuiError::Input(e)),
                    None => return Err(TuiError::Input(io::Error::other("input reader stopped"))),
                },
                () = stop.cancelled() => return Ok(()),
            }
        }
    }
    .await;
    drop(stop_input);
    let _ = input.await;
    term.restore()?;
    outcome
}
