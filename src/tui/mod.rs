//! The terminal UI: a live, ranked table of endpoints being tested.
//!
//! [`run`] owns the terminal and the loops; [`app::App`] holds the state;
//! the widget modules are pure functions from `&App` to a frame, so
//! [`render`] can be snapshot-tested on a `TestBackend`.
//!
//! The terminal is restored on every way out: normal return and errors (a
//! drop guard), panics (a panic hook that restores before printing) and
//! SIGTERM (handled like quitting).

pub mod app;
pub mod copy;
pub mod detail;
pub mod help;
pub mod i18n;
pub mod retest;
pub mod settings;
pub mod status;
pub mod summary;
pub mod table;
pub mod text;
pub mod theme;
pub mod timeline;

use std::ffi::OsStr;
use std::io::{self, IsTerminal, Stdout, Write as _};
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::Event as TermEvent;
use crossterm::{cursor, execute, terminal};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::{Constraint, Layout, Rect};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::controls::{Control, ControlConfig, DefaultNote};
use crate::engine::{Event, Scan};
use crate::measurement::{Measurement, Operation};
use crate::probe::AbortOnDrop;

use retest::{Retester, Started, UiMsg};

pub use app::{Action, App};
pub use i18n::Lang;
pub use settings::Setting;
pub use theme::Theme;

/// How often state is redrawn while events stream in. Keys redraw at once.
const FRAME: Duration = Duration::from_millis(100);
/// How long the input thread blocks before checking whether to stop; also
/// the longest `run` waits for it on the way out.
const INPUT_POLL: Duration = Duration::from_millis(50);
/// Events applied per batch before the loop looks at keys and frames again.
const EVENT_BATCH: usize = 1024;
/// From this width the detail pane goes beside the table, not below it.
const SIDE_BY_SIDE_MIN: u16 = 140;

/// Where the `e` key writes an anonymized export of the results so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSetup {
    pub dir: std::path::PathBuf,
    pub meta: crate::run::RunMeta,
}

/// What the UI needs to test endpoints again (`r`, `R`, `d`) and to add
/// new ones (`a`).
#[derive(Debug, Clone)]
pub struct Retest {
    /// Indexed by the ids the scan's events carry.
    pub endpoints: Arc<Vec<crate::catalog::Endpoint>>,
    pub config: crate::engine::EngineConfig,
    /// Extra plain-DNS resolvers (`--bootstrap-resolver`) for added endpoints.
    pub bootstrap_resolvers: Vec<std::net::IpAddr>,
}

/// Control targets the UI checks beside the scan (and again on `R`).
#[derive(Debug, Clone, Default)]
pub struct ControlSetup {
    pub controls: Vec<Control>,
    pub config: ControlConfig,
}

/// How the UI looks and what it may write.

#[derive(Debug, Clone, Default)]
pub struct TuiOptions {
    /// No colours at all (symbols, words and bold/reverse still carry the
    /// meaning). `run` also turns colour off when the `NO_COLOR`
    /// environment variable is set to anything non-empty (no-color.org);
    /// that is checked there, in one place, so callers only pass their
    /// `--no-color` flag and tests stay independent of the environment.
    pub no_color: bool,
    /// `None`: the export key only says it is unavailable.
    pub export: Option<ExportSetup>,
    /// `None`: the re-test, deep-test and add keys only say they are
    /// unavailable.
    pub retest: Option<Retest>,
    /// `None`: no controls; the recommendation guesses from the results.
    pub controls: Option<ControlSetup>,
}

/// Display choices beyond [`TuiOptions`]; kept apart so callers that build
/// `TuiOptions` literally keep compiling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewOptions {
    /// Start in privacy mode (`p` toggles it): addresses of user-supplied
    /// endpoints are not drawn, for projectors and screen sharing.
    pub mask: bool,
    /// `None`: from `LC_ALL`, `LC_MESSAGES` or `LANG`, else English.
    pub lang: Option<Lang>,
    /// The effective configuration, for the `i` overlay.
    pub settings: Vec<Setting>,
    /// Why the default controls are what they are (shown with the settings).
    pub control_notes: Vec<DefaultNote>,
}

impl TuiOptions {
    /// Whether colours are used: neither the option nor `NO_COLOR` forbids it.
    pub fn color_enabled(&self) -> bool {
        color_enabled(self.no_color, std::env::var_os("NO_COLOR").as_deref())
    }
}

fn color_enabled(no_color: bool, env: Option<&OsStr>) -> bool {
    !no_color && env.is_none_or(OsStr::is_empty)
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("the terminal UI needs an interactive terminal on standard output")]
    NotATerminal,
    #[error("terminal error: {0}")]
    Terminal(#[from] io::Error),
    #[error("reading keyboard input failed: {0}")]
    Input(#[source] io::Error),
    /// A panic elsewhere (say, in a probe task) made the panic hook hand
    /// the terminal back; drawing on would scribble over the shell.
    #[error("a panic elsewhere in the program ended the terminal UI")]
    Panicked,
    /// SIGTERM arrived; the scan was cancelled and the terminal restored.
    /// Carries what had finished, so it can still be saved.
    #[error("terminated by SIGTERM")]
    Terminated { measurements: Vec<Measurement> },
}

/// The screen regions for a terminal of `area`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// The summary and recommendation; empty on tiny terminals.
    pub summary: Rect,
    pub table: Rect,
    pub detail: Option<Rect>,
    pub footer: Rect,
}

/// Splits the screen: header line, summary (`summary` lines), table (and
/// detail pane when open), footer line. Below the table, the detail pane
/// gets what the table's `rows` do not need, up to 60 % of the body. Tiny
/// terminals get empty areas, never a panic.
pub fn layout(area: Rect, summary: u16, detail_open: bool, rows: usize) -> Areas {
    let [header, summary, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(summary),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    if !detail_open {
        return Areas {
            header,
            summary,
            table: body,
            detail: None,
            footer,
        };
    }
    let [table, detail] = if body.width >= SIDE_BY_SIDE_MIN {
        Layout::horizontal([Constraint::Percentage(55), Constraint::Min(0)]).areas(body)
    } else {
        // One line for the column headings, at least one for a row.
        let most = (body.height.saturating_mul(2) / 5).max(2);
        let wanted = u16::try_from(rows.saturating_add(1)).unwrap_or(u16::MAX);
        Layout::vertical([Constraint::Length(wanted.min(most)), Constraint::Min(0)]).areas(body)
    };
    Areas {
        header,
        summary,
        table,
        detail: Some(detail),
        footer,
    }
}

/// The layout for `app` in a terminal of `area`.
pub fn layout_for(area: Rect, app: &App) -> Areas {
    layout_with(area, app, &summary::digest(app))
}

fn layout_with(area: Rect, app: &App, d: &summary::Digest) -> Areas {
    let rows = app.ranked().count();
    layout(area, summary::height(area, app, d), app.detail_open(), rows)
}

/// Draws the whole UI from `app`.
pub fn render(frame: &mut Frame, app: &App, theme: &Theme) {
    render_with(frame, app, theme, &summary::digest(app));
}

/// [`render`] with the summary already worked out for this frame.
fn render_with(frame: &mut Frame, app: &App, theme: &Theme, d: &summary::Digest) {
    let areas = layout_with(frame.area(), app, d);
    status::render_header(frame, areas.header, app, theme);
    summary::render(frame, areas.summary, app, d, theme);
    table::render(frame, areas.table, app, theme);
    if let Some(detail) = areas.detail {
        detail::render(frame, detail, app, theme);
    }
    status::render_footer(frame, areas.footer, app, theme);
    if app.help_open() {
        help::render(frame, frame.area(), app, theme);
    }
    if app.settings_open() {
        settings::render(frame, frame.area(), app, theme);
    }
}

/// Shows `scan` live until the user quits (`q`, Esc, Ctrl-C) or SIGTERM,
/// then cancels the scan and returns the measurements that finished, by
/// endpoint id. The scan finishing does not close the UI: the results
/// stay up to be browsed.
pub async fn run(scan: Scan, opts: TuiOptions) -> Result<Vec<Measurement>, TuiError> {
    run_with(scan, opts, ViewOptions::default()).await
}

/// [`run`] with display choices: privacy mode and language.
pub async fn run_with(
    mut scan: Scan,
    opts: TuiOptions,
    view: ViewOptions,
) -> Result<Vec<Measurement>, TuiError> {
    if !io::stdout().is_terminal() {
        return Err(TuiError::NotATerminal);
    }
    let theme = Theme::new(opts.color_enabled());
    let mut app = App::new(scan.endpoints.clone());
    app.set_mask(view.mask);
    app.set_lang(view.lang.unwrap_or_else(|| Lang::from_env(None)));
    app.set_settings(view.settings);
    app.set_control_notes(view.control_notes);
    let mut term = TerminalGuard::enter()?;

    let (input_tx, mut input_rx) = mpsc::unbounded_channel();
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let input = tokio::task::spawn_blocking({
        let stop = Arc::clone(&stop.0);
        move || read_input(&input_tx, &stop)
    });

    let cancel = scan.cancel_token();
    let feeds = Feeds {
        events: &mut scan.events,
        cancel,
        input: &mut input_rx,
    };
    let outcome = drive(feeds, &mut app, &mut term.terminal, &theme, &opts).await;

    // Whatever ended the loop, the scan must not outlive its screen
    // (`drive` cancelled it and applied what had finished).
    scan.cancel();
    // Let the input thread finish before handing the terminal back, or it
    // could swallow the shell's next keystrokes.
    drop(stop);
    let _ = input.await;
    term.restore()?;

    let measurements = app.into_measurements();
    match outcome? {
        Exit::Quit => Ok(measurements),
        Exit::Terminated => Err(TuiError::Terminated { measurements }),
    }
}

/// How [`drive`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `q`, Esc or Ctrl-C.
    Quit,
    /// SIGTERM.
    Terminated,
}

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Where the loop draws: the real terminal, or a test buffer.
pub trait Screen {
    /// Draws `app` (and tells it the table's page size).
    fn draw(&mut self, app: &mut App, theme: &Theme) -> Result<(), TuiError>;
    /// Writes raw bytes to the terminal (the OSC 52 clipboard sequence).
    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// True when the terminal was taken away (restored by the panic hook).
    fn lost(&self) -> bool {
        false
    }
}

impl Screen for Term {
    fn draw(&mut self, app: &mut App, theme: &Theme) -> Result<(), TuiError> {
        // The panic hook restores the terminal for panics on any thread,
        // including tokio tasks whose panics do not reach this loop.
        if !TERMINAL_ACTIVE.load(Ordering::SeqCst) {
            return Err(TuiError::Panicked);
        }
        draw_on(self, app, theme)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let backend = self.backend_mut();
        backend.write_all(bytes).and_then(|()| backend.flush())
    }

    fn lost(&self) -> bool {
        !TERMINAL_ACTIVE.load(Ordering::SeqCst)
    }
}

/// Lays out and draws `app` on any ratatui terminal.
pub fn draw_on<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: &Theme,
) -> Result<(), TuiError> {
    terminal
        .draw(|frame| {
            // Paging needs the table height, known only once laid out;
            // the summary is worked out once for both.
            let d = summary::digest(app);
            let areas = layout_with(frame.area(), app, &d);
            app.set_page_size(table::visible_rows(areas.table));
            render_with(frame, app, theme, &d);
        })
        .map_err(|e| TuiError::Terminal(io::Error::other(e.to_string())))?;
    Ok(())
}

/// What [`drive`] reads: the first scan's events (and the token that
/// cancels it) and terminal input.
pub struct Feeds<'a> {
    pub events: &'a mut mpsc::UnboundedReceiver<Event>,
    pub cancel: CancellationToken,
    pub input: &'a mut mpsc::UnboundedReceiver<io::Result<TermEvent>>,
}

/// The UI's loop, without owning a terminal: applies scan events in
/// batches, keys and pastes as they come (each redrawn at once), re-test
/// and control results, and redraws at most every [`FRAME`] otherwise.
/// Returns when the user quits or SIGTERM arrives; the first scan is then
/// cancelled and whatever had finished is applied to `app`.
pub async fn drive<S: Screen>(
    feeds: Feeds<'_>,
    app: &mut App,
    screen: &mut S,
    theme: &Theme,
    opts: &TuiOptions,
) -> Result<Exit, TuiError> {
    let Feeds {
        events,
        cancel,
        input,
    } = feeds;
    // Re-tests and controls run beside the scan and report on this channel.
    let (ui_tx, mut ui_rx) = mpsc::unbounded_channel();
    let mut retester = opts.retest.as_ref().map(|r| {
        Retester::new(
            r.endpoints.as_ref().clone(),
            r.config.clone(),
            r.bootstrap_resolvers.clone(),
            ui_tx.clone(),
        )
    });
    // `R` starts the controls again; results of an older round are dropped.
    let mut control_round = 0u64;
    let mut controls = start_controls(app, opts.controls.as_ref(), &ui_tx, control_round);
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut sigterm = Sigterm::new();
    let mut events_open = true;
    let mut dirty = true;
    let accept = |r: &Option<Retester>, ev: &Event| r.as_ref().is_none_or(|r| r.accept_initial(ev));
    let outcome = loop {
        tokio::select! {
            ev = events.recv(), if events_open => match ev {
                Some(ev) => {
                    if accept(&retester, &ev) {
                        app.on_event(ev);
                    }
                    // Drain what is queued in one go: a burst of thousands of
                    // events should cost one redraw, not thousands of wakeups.
                    for _ in 0..EVENT_BATCH {
                        match events.try_recv() {
                            Ok(ev) if accept(&retester, &ev) => app.on_event(ev),
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    dirty = true;
                }
                None => events_open = false,
            },
            Some(msg) = ui_rx.recv() => {
                match msg {
                    UiMsg::Retest { generation, ev } => {
                        if retester.as_mut().is_some_and(|r| r.accept(generation, &ev)) {
                            app.on_event(ev);
                        }
                    }
                    UiMsg::Control { round, index, result } => {
                        if round == control_round {
                            app.on_control(index, result);
                        }
                    }
                }
                dirty = true;
            }
            ev = input.recv() => match ev {
                Some(Ok(TermEvent::Key(key))) => {
                    let action = app.on_key(key);
                    if action == Action::Quit {
                        break Ok(Exit::Quit);
                    }
                    let export = opts.export.as_ref();
                    let msg = match action {
                        Action::Export => Some(export_now(app, export)),
                        Action::Copy => Some(copy_now(screen, app, export)),
                        Action::Deep => Some(deep_now(app, retester.as_mut())),
                        Action::Retest => Some(retest_now(app, retester.as_mut())),
                        Action::RetestAll => {
                            let msg = retest_all_now(app, retester.as_mut(), &cancel);
                            if retester.is_some() {
                                // The network may have changed too.
                                control_round += 1;
                                controls = start_controls(
                                    app,
                                    opts.controls.as_ref(),
                                    &ui_tx,
                                    control_round,
                                );
                            }
                            Some(msg)
                        }
                        Action::Add => Some(add_now(app, retester.as_mut())),
                        Action::None | Action::Quit => None,
                    };
                    if let Some(msg) = msg {
                        app.set_status(msg);
                    }
                    // Keys redraw at once: waiting for the next frame feels laggy.
                    if let Err(e) = screen.draw(app, theme) {
                        break Err(e);
                    }
                    dirty = false;
                }
                Some(Ok(TermEvent::Paste(text))) => {
                    app.on_paste(&text);
                    if let Err(e) = screen.draw(app, theme) {
                        break Err(e);
                    }
                    dirty = false;
                }
                Some(Ok(TermEvent::Resize(..))) => {
                    if let Err(e) = screen.draw(app, theme) {
                        break Err(e);
                    }
                    dirty = false;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(TuiError::Input(e)),
                // The input thread only stops early after sending an error.
                None => break Err(TuiError::Input(io::Error::other("input reader stopped"))),
            },
            _ = frame.tick() => {
                // `lost` notices a terminal restored by the panic hook; the
                // draw then reports it.
                if dirty || screen.lost() {
                    if let Err(e) = screen.draw(app, theme) {
                        break Err(e);
                    }
                    dirty = false;
                }
            }
            () = sigterm.recv() => break Ok(Exit::Terminated),
        }
    };
    // Whatever ended the loop, the scan must not outlive its screen; what
    // had finished still counts.
    cancel.cancel();
    while let Ok(ev) = events.try_recv() {
        if accept(&retester, &ev) {
            app.on_event(ev);
        }
    }
    // Re-tests and controls stop with the loop (their handles abort on drop).
    drop((retester, controls));
    outcome
}

/// Starts every control on its own task (results arrive as [`UiMsg`]);
/// dropping the returned handles stops them.
fn start_controls(
    app: &mut App,
    setup: Option<&ControlSetup>,
    tx: &mpsc::UnboundedSender<UiMsg>,
    round: u64,
) -> Vec<AbortOnDrop<()>> {
    let Some(setup) = setup.filter(|s| !s.controls.is_empty()) else {
        return Vec::new();
    };
    app.set_controls(setup.controls.clone());
    setup
        .controls
        .iter()
        .cloned()
        .enumerate()
        .map(|(index, control)| {
            let tx = tx.clone();
            let config = setup.config.clone();
            AbortOnDrop(tokio::spawn(async move {
                let result = crate::controls::check(&control, &config).await;
                let _ = tx.send(UiMsg::Control {
                    round,
                    index,
                    result,
                });
            }))
        })
        .collect()
}

/// Whether some finished probe completed a TCP connect: the network is up,
/// so a re-test's dropped connection is blocking, not an outage.
fn network_seen_up(app: &App) -> bool {
    app.rows().iter().filter_map(|r| r.measurement()).any(|m| {
        m.steps
            .iter()
            .any(|s| s.operation == Operation::TcpConnect && s.failure.is_none())
    })
}

/// The selected row's label as shown (privacy mode hides addresses).
fn shown_label(app: &App, id: usize) -> String {
    app.rows()
        .get(id)
        .map(|r| app::display_label(&r.info, app.masks(r)))
        .unwrap_or_default()
}

/// `r`: tests the selected endpoint again; pressing again restarts it.
fn retest_now(app: &mut App, retester: Option<&mut Retester>) -> String {
    let lang = app.lang();
    let Some(retester) = retester else {
        return i18n::tr(lang, i18n::Msg::RetestUnavailable).into();
    };
    let Some(id) = app.selected_id() else {
        return i18n::tr(lang, i18n::Msg::RetestNothing).into();
    };
    if network_seen_up(app) {
        retester.mark_network_up();
    }
    let Some(started) = retester.one(id, false) else {
        return i18n::tr(lang, i18n::Msg::RetestUnavailable).into();
    };
    app.restart(id);
    let msg = match started {
        Started::New => i18n::Msg::RetestStarted,
        Started::Replaced => i18n::Msg::RetestReplaced,
    };
    i18n::fill(i18n::tr(lang, msg), &[("name", &shown_label(app, id))])
}

/// `R`: tests every endpoint again through the engine; stops the first
/// scan (if still running) and any earlier re-test.
fn retest_all_now(
    app: &mut App,
    retester: Option<&mut Retester>,
    first_scan: &CancellationToken,
) -> String {
    let lang = app.lang();
    let Some(retester) = retester else {
        return i18n::tr(lang, i18n::Msg::RetestUnavailable).into();
    };
    let first_running = app.scan_state() == app::ScanState::Running;
    first_scan.cancel();
    let started = retester.all();
    app.restart_all();
    let msg = if started == Started::Replaced || first_running {
        i18n::Msg::RetestAllReplaced
    } else {
        i18n::Msg::RetestAllStarted
    };
    i18n::fill(i18n::tr(lang, msg), &[("n", &retester.len().to_string())])
}

/// `a` then Enter: parses the submitted line, adds a row and tests it.
/// Errors are shown without the line's secrets or addresses.
fn add_now(app: &mut App, retester: Option<&mut Retester>) -> String {
    let lang = app.lang();
    let Some(line) = app.take_submitted() else {
        return String::new();
    };
    // The new row's id must index the same endpoint in both lists; a
    // caller that gave the UI different lists gets no adding at all
    // rather than results on the wrong row.
    let Some(retester) = retester.filter(|r| r.len() == app.rows().len()) else {
        return i18n::tr(lang, i18n::Msg::AddUnavailable).into();
    };
    match crate::catalog::parse_line(&line, crate::catalog::Origin::User) {
        Ok(endpoint) => {
            let info = endpoint.info();
            if network_seen_up(app) {
                retester.mark_network_up();
            }
            let row = app.add_row(info);
            retester.add(endpoint);
            app.restart(row);
            i18n::fill(
                i18n::tr(lang, i18n::Msg::AddDone),
                &[("name", &shown_label(app, row))],
            )
        }
        Err(e) => {
            let mut msg = crate::probe::failure::redact_secrets(&e);
            if app.mask() {
                msg = mask_words(&msg);
            }
            i18n::fill(i18n::tr(lang, i18n::Msg::AddFailed), &[("error", &msg)])
        }
    }
}

/// For privacy mode: every word that could be an address or a name
/// (has a dot, colon, slash or @) becomes `•••`.
fn mask_words(msg: &str) -> String {
    msg.split(' ')
        .map(|w| {
            let core = w
                .trim_start_matches(['"', '(', '\''])
                .trim_end_matches([':', '.', ',', ';', '"', ')', '\'']);
            if core.contains(['.', ':', '/', '@']) {
                app::MASK
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `d`: a deep test (full Tor bootstrap) of the selected bridge.
fn deep_now(app: &mut App, retester: Option<&mut Retester>) -> String {
    let lang = app.lang();
    let msg = (|| {
        let retester = retester.ok_or(i18n::Msg::DeepUnavailable)?;
        let id = app.selected_id().ok_or(i18n::Msg::DeepNotBridge)?;
        let endpoint = retester.endpoint(id).ok_or(i18n::Msg::DeepUnavailable)?;
        if !endpoint.kind().is_tor() {
            return Err(i18n::Msg::DeepNotBridge);
        }
        retester.one(id, true).ok_or(i18n::Msg::DeepUnavailable)?;
        app.restart(id);
        Ok(i18n::Msg::DeepStarted)
    })()
    .unwrap_or_else(|m| m);
    i18n::tr(lang, msg).to_string()
}

/// Writes the finished results, anonymized (the export defaults), to a new
/// JSON file; returns the line to show.
fn export_now(app: &App, setup: Option<&ExportSetup>) -> String {
    let lang = app.lang();
    let failed = |e: &dyn std::fmt::Display| {
        i18n::fill(
            i18n::tr(lang, i18n::Msg::ExportFailed),
            &[("error", &e.to_string())],
        )
    };
    let Some(setup) = setup else {
        return i18n::tr(lang, i18n::Msg::ExportUnavailable).into();
    };
    let run = crate::run::Run {
        meta: setup.meta.clone(),
        measurements: app.measurements(),
    };
    if run.measurements.is_empty() {
        return i18n::tr(lang, i18n::Msg::ExportNothing).into();
    }
    let mut buf = Vec::new();
    let opts = crate::export::ExportOptions::default();
    if let Err(e) =
        crate::export::export(&[run], crate::export::ExportFormat::Json, &opts, &mut buf)
    {
        return failed(&e);
    }
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    let path = setup.dir.join(format!("bridgescout-export-{stamp}.json"));
    match std::fs::create_dir_all(&setup.dir).and_then(|()| std::fs::write(&path, &buf)) {
        Ok(()) => i18n::fill(
            i18n::tr(lang, i18n::Msg::ExportDone),
            &[("path", &path.display().to_string())],
        ),
        Err(e) => failed(&e),
    }
}

/// The text `c` copies, or the message saying why nothing is copied.
pub fn copy_target(app: &App) -> Result<String, String> {
    let lang = app.lang();
    match app.selected_row() {
        None => Err(i18n::tr(lang, i18n::Msg::CopyNothing).into()),
        Some(row) if row.measurement().is_some_and(Measurement::is_reachable) => {
            Ok(copy::copy_text(&row.info))
        }
        Some(_) => Err(i18n::tr(lang, i18n::Msg::CopyNotWorking).into()),
    }
}

/// Copies the selected working endpoint: OSC 52 to the terminal (which
/// may ignore it, silently) and a file that always works; returns the line
/// to show. The text itself is never shown, so privacy mode holds.
fn copy_now<S: Screen>(screen: &mut S, app: &App, export: Option<&ExportSetup>) -> String {
    let lang = app.lang();
    let text = match copy_target(app) {
        Ok(text) => text,
        Err(msg) => return msg,
    };
    // A failed write only loses the clipboard half; the file still follows.
    let _ = screen.write_raw(copy::osc52(&text).as_bytes());
    let path = copy::file_path(export.map(|e| e.dir.as_path()));
    let shown = path.display().to_string();
    match copy::save(&path, &text) {
        Ok(()) => i18n::fill(i18n::tr(lang, i18n::Msg::CopyDone), &[("path", &shown)]),
        Err(e) => i18n::fill(
            i18n::tr(lang, i18n::Msg::CopySaveFailed),
            &[("path", &shown), ("error", &e.to_string())],
        ),
    }
}

/// Tells the input thread to stop, also when `run`'s future is dropped
/// mid-way (a panic or a cancelled caller): the runtime's shutdown waits
/// for blocking threads, so a thread left polling would hang the process.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Blocking crossterm reads on their own thread: polling with a timeout
/// needs no `event-stream` feature and lets the thread notice `stop`.
fn read_input(tx: &mpsc::UnboundedSender<io::Result<TermEvent>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) && !tx.is_closed() {
        let ev = match crossterm::event::poll(INPUT_POLL) {
            Ok(false) => continue,
            Ok(true) => crossterm::event::read(),
            Err(e) => Err(e),
        };
        let failed = ev.is_err();
        if tx.send(ev).is_err() || failed {
            return;
        }
    }
}

/// SIGTERM as a future; never fires where it cannot be registered.
struct Sigterm {
    #[cfg(unix)]
    inner: Option<tokio::signal::unix::Signal>,
}

impl Sigterm {
    fn new() -> Sigterm {
        Sigterm {
            #[cfg(unix)]
            inner: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(sig) = &mut self.inner
            && sig.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await
    }
}

/// True while the alternate screen and raw mode are on, so the panic hook
/// only restores what is actually set up.
static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Owns the terminal in raw mode on the alternate screen; puts it back on
/// drop, so early returns and unwinding panics restore it too.
struct TerminalGuard {
    terminal: Term,
}

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard, TuiError> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
        // From here on, a failure must undo raw mode: restore explicitly
        // since no guard exists yet.
        let setup = || -> io::Result<Term> {
            // Bracketed paste: a pasted line arrives whole, never as keys.
            execute!(
                io::stdout(),
                terminal::EnterAlternateScreen,
                cursor::Hide,
                crossterm::event::EnableBracketedPaste
            )?;
            let mut t = Terminal::new(CrosstermBackend::new(io::stdout()))?;
            t.clear()?;
            Ok(t)
        };
        match setup() {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore_terminal();
                Err(e.into())
            }
        }
    }

    /// Restores now and reports failure; drop then has nothing left to do.
    fn restore(&mut self) -> io::Result<()> {
        if !TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        // Both steps always run: a failed one must not skip the other.
        let raw = terminal::disable_raw_mode();
        let screen = execute!(
            io::stdout(),
            crossterm::event::DisableBracketedPaste,
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
        raw.and(screen)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Best-effort restore for drop and panics, where errors cannot be reported.
fn restore_terminal() {
    if TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(
            io::stdout(),
            crossterm::event::DisableBracketedPaste,
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
    }
}

/// Installed once per process and inert while no UI is up: restores the
/// terminal first so the panic message lands on the normal screen, then
/// defers to whatever hook was there before.
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_mode_masks_address_like_words_in_messages() {
        assert_eq!(
            mask_words("\"tls://dns.example:853\" is bad: use host:port, not 192.0.2.1."),
            "••• is bad: use ••• not •••"
        );
        assert_eq!(
            mask_words("not a bridge line: error."),
            "not a bridge line: error."
        );
    }

    #[test]
    fn no_color_sources() {
        assert!(color_enabled(false, None));
        assert!(color_enabled(false, Some(OsStr::new(""))));
        assert!(!color_enabled(false, Some(OsStr::new("1"))));
        assert!(!color_enabled(true, None));
    }

    #[test]
    fn layout_never_overflows() {
        // The layout solver is slow in debug builds: sample the sizes.
        for w in (0..=160u16).step_by(7).chain([1, 2, 139, 140]) {
            for h in (0..=45u16).step_by(4).chain([1, 2, 3]) {
                let area = Rect::new(0, 0, w, h);
                for (open, rows, summary) in
                    [(false, 0, 0), (true, 0, 2), (true, 5, 7), (true, 5000, 60)]
                {
                    let a = layout(area, summary, open, rows);
                    let mut parts = vec![a.header, a.summary, a.table, a.footer];
                    parts.extend(a.detail);
                    for p in parts {
                        assert!(area.contains(p.as_position()) || p.is_empty(), "{w}x{h}");
                        assert!(p.right() <= area.right() && p.bottom() <= area.bottom());
                    }
                }
            }
        }
    }
}
