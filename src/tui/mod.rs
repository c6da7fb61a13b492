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

use crate::engine::Scan;
use crate::measurement::Measurement;

pub use app::{Action, App};
pub use i18n::Lang;
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

/// How the UI looks and what it may write.
/// What the UI needs to test an endpoint again (the `d` deep test).
#[derive(Debug, Clone)]
pub struct Retest {
    /// Indexed by the ids the scan's events carry.
    pub endpoints: Arc<Vec<crate::catalog::Endpoint>>,
    pub config: crate::engine::EngineConfig,
}

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
    /// `None`: the deep-test key only says it is unavailable.
    pub retest: Option<Retest>,
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
    let rows = app.ranked().count();
    layout(area, summary::height(area, app), app.detail_open(), rows)
}

/// Draws the whole UI from `app`.
pub fn render(frame: &mut Frame, app: &App, theme: &Theme) {
    let areas = layout_for(frame.area(), app);
    status::render_header(frame, areas.header, app, theme);
    summary::render(frame, areas.summary, app, theme);
    table::render(frame, areas.table, app, theme);
    if let Some(detail) = areas.detail {
        detail::render(frame, detail, app, theme);
    }
    status::render_footer(frame, areas.footer, app, theme);
    if app.help_open() {
        help::render(frame, frame.area(), app, theme);
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
    let mut term = TerminalGuard::enter()?;

    let (input_tx, mut input_rx) = mpsc::unbounded_channel();
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let input = tokio::task::spawn_blocking({
        let stop = Arc::clone(&stop.0);
        move || read_input(&input_tx, &stop)
    });

    let outcome = event_loop(
        &mut scan,
        &mut app,
        &mut term.terminal,
        &theme,
        &mut input_rx,
        &opts,
    )
    .await;

    // Whatever ended the loop, the scan must not outlive its screen.
    scan.cancel();
    while let Ok(ev) = scan.events.try_recv() {
        app.on_event(ev);
    }
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

enum Exit {
    Quit,
    Terminated,
}

type Term = Terminal<CrosstermBackend<Stdout>>;

async fn event_loop(
    scan: &mut Scan,
    app: &mut App,
    terminal: &mut Term,
    theme: &Theme,
    input: &mut mpsc::UnboundedReceiver<io::Result<TermEvent>>,
    opts: &TuiOptions,
) -> Result<Exit, TuiError> {
    let export = opts.export.as_ref();
    // Re-tests run beside the scan and report on their own channel.
    let (retest_tx, mut retest_rx) = mpsc::unbounded_channel();
    // One re-test per endpoint; dropping an entry (re-press, quit) aborts it.
    let mut retests: std::collections::HashMap<usize, crate::probe::AbortOnDrop<()>> =
        std::collections::HashMap::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut sigterm = Sigterm::new();
    let mut events_open = true;
    let mut dirty = true;
    loop {
        tokio::select! {
            ev = scan.events.recv(), if events_open => match ev {
                Some(ev) => {
                    app.on_event(ev);
                    // Drain what is queued in one go: a burst of thousands of
                    // events should cost one redraw, not thousands of wakeups.
                    for _ in 0..EVENT_BATCH {
                        match scan.events.try_recv() {
                            Ok(ev) => app.on_event(ev),
                            Err(_) => break,
                        }
                    }
                    dirty = true;
                }
                None => events_open = false,
            },
            Some(ev) = retest_rx.recv() => {
                app.on_event(ev);
                dirty = true;
            }
            ev = input.recv() => match ev {
                Some(Ok(TermEvent::Key(key))) => {
                    match app.on_key(key) {
                        Action::Quit => return Ok(Exit::Quit),
                        Action::Export => {
                            let msg = export_now(app, export);
                            app.set_status(msg);
                        }
                        Action::Copy => {
                            let msg = copy_now(terminal, app, export);
                            app.set_status(msg);
                        }
                        Action::Deep => {
                            let msg = deep_now(app, opts.retest.as_ref(), &retest_tx, &mut retests);
                            app.set_status(i18n::tr(app.lang(), msg).to_string());
                        }
                        Action::None => {}
                    }
                    // Keys redraw at once: waiting for the next frame feels laggy.
                    draw(terminal, app, theme)?;
                    dirty = false;
                }
                Some(Ok(TermEvent::Resize(..))) => {
                    draw(terminal, app, theme)?;
                    dirty = false;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(TuiError::Input(e)),
                // The input thread only stops early after sending an error.
                None => return Err(TuiError::Input(io::Error::other("input reader stopped"))),
            },
            _ = frame.tick() => {
                // `draw` also notices a terminal restored by the panic hook.
                if dirty || !TERMINAL_ACTIVE.load(Ordering::SeqCst) {
                    draw(terminal, app, theme)?;
                    dirty = false;
                }
            }
            () = sigterm.recv() => return Ok(Exit::Terminated),
        }
    }
}

/// Starts a deep test (full Tor bootstrap) of the selected bridge.
fn deep_now(
    app: &mut App,
    retest: Option<&Retest>,
    tx: &mpsc::UnboundedSender<crate::engine::Event>,
    running: &mut std::collections::HashMap<usize, crate::probe::AbortOnDrop<()>>,
) -> i18n::Msg {
    let Some(retest) = retest else {
        return i18n::Msg::DeepUnavailable;
    };
    let Some(id) = app.selected_id() else {
        return i18n::Msg::DeepNotBridge;
    };
    let Some(endpoint) = retest.endpoints.get(id).cloned() else {
        return i18n::Msg::DeepUnavailable;
    };
    if !endpoint.kind().is_tor() {
        return i18n::Msg::DeepNotBridge;
    }
    let mut config = retest.config.probe.clone();
    config.tor.deep = true;
    app.restart(id);
    let tx = tx.clone();
    let task = tokio::spawn(async move {
        let scan = Arc::new(crate::probe::ScanContext::default());
        let m = crate::engine::measure(id, &endpoint, &config, Some(tx.clone()), scan).await;
        let _ = tx.send(crate::engine::Event::Finished(Box::new(m)));
    });
    // Replacing an earlier re-test of the same endpoint aborts it.
    running.insert(id, crate::probe::AbortOnDrop(task));
    i18n::Msg::DeepStarted
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
fn copy_now(terminal: &mut Term, app: &App, export: Option<&ExportSetup>) -> String {
    let lang = app.lang();
    let text = match copy_target(app) {
        Ok(text) => text,
        Err(msg) => return msg,
    };
    let backend = terminal.backend_mut();
    // A failed write only loses the clipboard half; the file still follows.
    let _ = backend
        .write_all(copy::osc52(&text).as_bytes())
        .and_then(|()| backend.flush());
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

fn draw(terminal: &mut Term, app: &mut App, theme: &Theme) -> Result<(), TuiError> {
    // The panic hook restores the terminal for panics on any thread,
    // including tokio tasks whose panics do not reach this loop.
    if !TERMINAL_ACTIVE.load(Ordering::SeqCst) {
        return Err(TuiError::Panicked);
    }
    terminal.draw(|frame| {
        // Paging needs the table height, known only once the frame is laid out.
        let areas = layout_for(frame.area(), app);
        app.set_page_size(table::visible_rows(areas.table));
        render(frame, app, theme);
    })?;
    Ok(())
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
            execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
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
        let screen = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
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
        let _ = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
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
