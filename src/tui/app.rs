//! UI state: one row per endpoint, updated from engine events and keys.
//!
//! Nothing here draws or touches the terminal, so every state transition is
//! unit-testable; the widgets only read an `&App`.

use std::cmp::Ordering;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::catalog::{EndpointKind, Origin};
use crate::controls::{Control, ControlResult, DefaultNote, Reading};
use crate::engine::Event;
use crate::measurement::{EndpointInfo, Measurement, Step, Verdict};

use super::i18n::{Lang, Msg, tr};
use super::settings::Setting;

/// Where one endpoint's probe is.
#[derive(Debug, Clone, PartialEq)]
pub enum RowState {
    /// Waiting for a concurrency slot.
    Pending,
    /// Probing; steps arrive as they finish.
    Running,
    Finished(Box<Measurement>),
}

/// One endpoint as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index of the endpoint in the scan, the `id` events carry.
    pub id: usize,
    pub info: EndpointInfo,
    pub state: RowState,
    /// Steps seen while running; a finished row shows its measurement's
    /// steps instead, so this is cleared then.
    pub live_steps: Vec<Step>,
}

impl Row {
    pub fn pending(id: usize, info: EndpointInfo) -> Row {
        Row {
            id,
            info,
            state: RowState::Pending,
            live_steps: Vec::new(),
        }
    }

    pub fn measurement(&self) -> Option<&Measurement> {
        match &self.state {
            RowState::Finished(m) => Some(m),
            _ => None,
        }
    }

    /// Every step known so far, finished or not.
    pub fn steps(&self) -> &[Step] {
        match &self.state {
            RowState::Finished(m) => &m.steps,
            _ => &self.live_steps,
        }
    }

    /// The most recently finished step, for "testing (after tcp_connect)".
    pub fn last_step(&self) -> Option<&Step> {
        self.steps().last()
    }

    fn class(&self) -> RankClass {
        match &self.state {
            RowState::Finished(m) if m.verdict == Verdict::Reachable => RankClass::Reachable,
            RowState::Finished(m) if m.verdict == Verdict::Unverified => RankClass::Unverified,
            RowState::Finished(_) => RankClass::Failed,
            RowState::Running => RankClass::Running,
            RowState::Pending => RankClass::Pending,
        }
    }

    fn latency(&self) -> Option<f64> {
        self.measurement().and_then(|m| m.latency_ms)
    }
}

/// Ranking buckets, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RankClass {
    Reachable,
    /// A proxy front answered; the login was not checked.
    Unverified,
    Failed,
    Running,
    Pending,
}

/// The display order of `rows`, as indices into it: reachable endpoints by
/// latency (fastest first, unknown latency last), then failed ones by label,
/// then running, then pending. Ties fall back to the endpoint id so the
/// order is total and rows do not jitter between frames.
pub fn rank_order(rows: &[Row]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| compare_rows(&rows[a], &rows[b]));
    order
}

fn compare_rows(a: &Row, b: &Row) -> Ordering {
    let class = a.class();
    class
        .cmp(&b.class())
        .then_with(|| match class {
            RankClass::Reachable | RankClass::Unverified => {
                compare_latency(a.latency(), b.latency())
                    .then_with(|| compare_labels(&a.info.label, &b.info.label))
            }
            RankClass::Failed => compare_labels(&a.info.label, &b.info.label),
            RankClass::Running | RankClass::Pending => Ordering::Equal,
        })
        .then_with(|| a.id.cmp(&b.id))
}

fn compare_latency(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Case-insensitive first so "cloudflare" and "Quad9" sort as people expect.
fn compare_labels(a: &str, b: &str) -> Ordering {
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
        .then_with(|| a.cmp(b))
}

/// What the caller should do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    None,
    /// Stop the scan and leave the UI.
    Quit,
    /// Write an anonymized export of the results so far.
    Export,
    /// Bootstrap a full Tor client through the selected bridge.
    Deep,
    /// Copy the selected working endpoint out (clipboard and file).
    Copy,
    /// Test the selected endpoint again.
    Retest,
    /// Test every endpoint again.
    RetestAll,
    /// A line was submitted in the add prompt; [`App::take_submitted`]
    /// gives it.
    Add,
}

/// Longest line the add prompt takes; real bridge lines and share links
/// are far shorter, and a runaway paste must not grow without bound.
pub const ADD_MAX_CHARS: usize = 8192;

/// Which finished states the table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    Working,
    Failed,
}

/// The table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Working by latency, then failed, running, pending (`rank_order`).
    #[default]
    Rank,
    /// Lowest latency first; rows without one keep their rank after.
    Latency,
    /// By label, case-insensitive.
    Name,
}

/// What narrows and orders the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub kind: Option<EndpointKind>,
    pub status: StatusFilter,
    /// Case-insensitive substring of the label; empty matches all.
    pub search: String,
    pub sort: SortBy,
}

impl View {
    pub fn matches(&self, row: &Row) -> bool {
        if self.kind.is_some_and(|k| k != row.info.kind) {
            return false;
        }
        let status_ok = match self.status {
            StatusFilter::All => true,
            StatusFilter::Working => row.class() == RankClass::Reachable,
            StatusFilter::Failed => row.class() == RankClass::Failed,
        };
        status_ok && (self.search.is_empty() || contains_folded(&row.info.label, &self.search))
    }

    /// True when any filter hides rows or the order is not the default.
    pub fn is_active(&self) -> bool {
        *self != View::default()
    }
}

fn contains_folded(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// The rows `view` shows, in its order, as indices into `rows`. Sorting is
/// stable over the rank order, so ties keep their rank.
pub fn view_order(rows: &[Row], view: &View) -> Vec<usize> {
    let mut order: Vec<usize> = rank_order(rows)
        .into_iter()
        .filter(|&i| view.matches(&rows[i]))
        .collect();
    match view.sort {
        SortBy::Rank => {}
        SortBy::Latency => {
            order.sort_by(|&a, &b| compare_latency(rows[a].latency(), rows[b].latency()));
        }
        SortBy::Name => {
            order.sort_by(|&a, &b| compare_labels(&rows[a].info.label, &rows[b].info.label));
        }
    }
    order
}

/// The next kind filter: all, then each kind present in `rows` in kind
/// order, then all again.
pub fn next_kind(rows: &[Row], current: Option<EndpointKind>) -> Option<EndpointKind> {
    let mut kinds: Vec<EndpointKind> = rows.iter().map(|r| r.info.kind).collect();
    kinds.sort();
    kinds.dedup();
    match current {
        None => kinds.first().copied(),
        Some(k) => kinds.into_iter().find(|&x| x > k),
    }
}

/// The label as shown: in privacy mode, the words of a user endpoint's
/// label that also appear in its address (default labels are built from
/// the address: "obfs4 192.0.2.1:443", "dns.example") become `•••`.
pub fn display_label(info: &EndpointInfo, mask: bool) -> String {
    if !mask || info.origin != Origin::User {
        return info.label.clone();
    }
    info.label
        .split(' ')
        .map(|w| {
            let addressy = w.contains(['.', ':']) || w.chars().all(|c| c.is_ascii_hexdigit());
            if addressy && w.len() >= 3 && info.address.contains(w) {
                MASK
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What privacy mode shows instead of an address.
pub const MASK: &str = "•••";

/// Whether the engine is still working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanState {
    Running,
    Complete,
    Cancelled,
}

/// Counters for the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub total: usize,
    pub done: usize,
    pub running: usize,
    pub reachable: usize,
    pub failed: usize,
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    /// Indexed by endpoint id.
    rows: Vec<Row>,
    /// `rank_order(&rows)`, refreshed whenever a row changes bucket.
    order: Vec<usize>,
    /// Selected endpoint id (not row position), so re-ranking keeps it.
    selected: Option<usize>,
    /// First visible ranked position.
    offset: usize,
    /// Visible table rows, for PgUp/PgDn and scrolling.
    page: usize,
    detail_open: bool,
    scan: ScanState,
    /// One line of feedback (e.g. where an export went); cleared by the
    /// next key.
    status: Option<String>,
    view: View,
    /// Typing goes into the search text until Enter or Esc.
    searching: bool,
    help_open: bool,
    /// Privacy mode: user endpoints' addresses are not drawn.
    mask: bool,
    lang: Lang,
    /// Control targets with their results (`None` while running).
    controls: Vec<(Control, Option<ControlResult>)>,
    /// Why the default controls are what they are (settings overlay).
    control_notes: Vec<DefaultNote>,
    /// The add prompt's text; `Some` while the prompt is open.
    adding: Option<String>,
    /// A line submitted in the add prompt, for the loop to parse.
    submitted: Option<String>,
    settings_open: bool,
    /// The effective configuration, for the settings overlay.
    settings: Vec<Setting>,
}

impl App {
    pub fn new(endpoints: Vec<EndpointInfo>) -> App {
        let rows: Vec<Row> = endpoints
            .into_iter()
            .enumerate()
            .map(|(id, info)| Row::pending(id, info))
            .collect();
        let order = rank_order(&rows);
        // Row index and endpoint id are the same by construction.
        let selected = order.first().copied();
        App {
            rows,
            order,
            selected,
            offset: 0,
            page: 10,
            detail_open: false,
            scan: ScanState::Running,
            status: None,
            view: View::default(),
            searching: false,
            help_open: false,
            mask: false,
            lang: Lang::En,
            controls: Vec::new(),
            control_notes: Vec::new(),
            adding: None,
            submitted: None,
            settings_open: false,
            settings: Vec::new(),
        }
    }

    /// The control targets; their results arrive through [`App::on_control`].
    pub fn set_controls(&mut self, controls: Vec<Control>) {
        self.controls = controls.into_iter().map(|c| (c, None)).collect();
    }

    /// The result of control `index` (as given to [`App::set_controls`]);
    /// unknown indices are ignored.
    pub fn on_control(&mut self, index: usize, result: ControlResult) {
        if let Some(slot) = self.controls.get_mut(index) {
            slot.1 = Some(result);
        }
    }

    pub fn controls(&self) -> &[(Control, Option<ControlResult>)] {
        &self.controls
    }

    /// What the controls say so far; `None` without controls or while
    /// they cannot tell yet.
    pub fn control_reading(&self) -> Option<Reading> {
        crate::controls::assess(self.controls.iter().map(|(c, r)| (c.scope, r.as_ref())))
    }

    pub fn set_control_notes(&mut self, notes: Vec<DefaultNote>) {
        self.control_notes = notes;
    }

    pub fn control_notes(&self) -> &[DefaultNote] {
        &self.control_notes
    }

    pub fn set_settings(&mut self, settings: Vec<Setting>) {
        self.settings = settings;
    }

    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }

    pub fn settings_open(&self) -> bool {
        self.settings_open
    }

    /// The add prompt's text, while it is open.
    pub fn adding(&self) -> Option<&str> {
        self.adding.as_deref()
    }

    /// The line submitted in the add prompt, once.
    pub fn take_submitted(&mut self) -> Option<String> {
        self.submitted.take()
    }

    /// Appends a new pending row for an added endpoint, selects it, and
    /// returns its id (the next index).
    pub fn add_row(&mut self, info: EndpointInfo) -> usize {
        let id = self.rows.len();
        self.rows.push(Row::pending(id, info));
        self.refresh();
        // Show it even when the current filter would hide it.
        if !self.order.contains(&id) {
            self.view = View::default();
            self.refresh();
        }
        self.selected = Some(id);
        self.keep_selection_visible();
        id
    }

    /// Puts every row back to waiting for a re-test of all endpoints.
    pub fn restart_all(&mut self) {
        for row in &mut self.rows {
            row.live_steps = Vec::new();
            row.state = RowState::Pending;
        }
        self.scan = ScanState::Running;
        self.refresh();
    }

    /// A bracketed paste: goes into the open prompt (add or search), or
    /// opens the add prompt with it, so a pasted line is never taken as
    /// key presses.
    pub fn on_paste(&mut self, text: &str) {
        self.status = None;
        if self.help_open || self.settings_open {
            self.help_open = false;
            self.settings_open = false;
        }
        // A line copied with its newline (or several lines): the first
        // non-empty one.
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        if self.searching {
            self.view.search.push_str(line);
            self.refresh();
            return;
        }
        let buf = self.adding.get_or_insert_with(String::new);
        let room = ADD_MAX_CHARS.saturating_sub(buf.chars().count());
        buf.extend(line.chars().take(room));
    }

    /// Typing into the add prompt; every key but Ctrl-C stays here.
    fn on_add_key(&mut self, key: KeyEvent) -> Action {
        let Some(buf) = self.adding.as_mut() else {
            return Action::None;
        };
        match key.code {
            KeyCode::Enter => {
                let line = buf.trim().to_string();
                self.adding = None;
                if line.is_empty() {
                    return Action::None;
                }
                self.submitted = Some(line);
                return Action::Add;
            }
            KeyCode::Esc => self.adding = None,
            KeyCode::Backspace => {
                buf.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => buf.clear(),
            KeyCode::Char(c)
                if !key.modifiers.contains(KeyModifiers::CONTROL)
                    && buf.chars().count() < ADD_MAX_CHARS =>
            {
                buf.push(c);
            }
            _ => {}
        }
        Action::None
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    pub fn mask(&self) -> bool {
        self.mask
    }

    pub fn set_mask(&mut self, mask: bool) {
        self.mask = mask;
    }

    /// Whether `row`'s address is hidden right now.
    pub fn masks(&self, row: &Row) -> bool {
        self.mask && row.info.origin == Origin::User
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    pub fn searching(&self) -> bool {
        self.searching
    }

    pub fn help_open(&self) -> bool {
        self.help_open
    }

    /// Recomputes the visible order after rows or the view changed, and
    /// moves the selection to the first row when its row was filtered out.
    fn refresh(&mut self) {
        self.order = view_order(&self.rows, &self.view);
        if self.selected.is_none_or(|id| !self.order.contains(&id)) {
            self.selected = self.order.first().copied();
            self.offset = 0;
        }
        self.keep_selection_visible();
    }

    /// Typing into the search; every key but Ctrl-C stays here.
    fn on_search_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.searching = false,
            KeyCode::Esc => {
                self.searching = false;
                self.view.search.clear();
            }
            KeyCode::Backspace => {
                self.view.search.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.view.search.push(c);
            }
            _ => return,
        }
        self.refresh();
    }

    /// Puts a finished row back to running for a re-test of endpoint `id`;
    /// its new steps and result then arrive as ordinary events.
    pub fn restart(&mut self, id: usize) {
        if let Some(row) = self.rows.get_mut(id) {
            row.live_steps = Vec::new();
            row.state = RowState::Running;
            self.refresh();
        }
    }

    /// Applies one engine event. Unknown ids and out-of-order events
    /// (a step after the verdict, a start after the verdict) are ignored
    /// rather than trusted, since the UI must never panic.
    pub fn on_event(&mut self, ev: Event) {
        let rerank = match ev {
            Event::Started { id } => match self.rows.get_mut(id) {
                Some(row) if row.state == RowState::Pending => {
                    row.state = RowState::Running;
                    true
                }
                _ => false,
            },
            Event::Step { id, step } => match self.rows.get_mut(id) {
                Some(row) if !matches!(row.state, RowState::Finished(_)) => {
                    row.live_steps.push(step);
                    // A step can overtake its Started event only if the
                    // engine changes; treat it as a start anyway.
                    let was_pending = row.state == RowState::Pending;
                    row.state = RowState::Running;
                    was_pending
                }
                _ => false,
            },
            Event::Finished(m) => match self.rows.get_mut(m.id) {
                Some(row) => {
                    row.live_steps = Vec::new();
                    row.state = RowState::Finished(m);
                    true
                }
                None => false,
            },
            Event::Done { cancelled } => {
                self.scan = if cancelled {
                    ScanState::Cancelled
                } else {
                    ScanState::Complete
                };
                false
            }
        };
        if rerank {
            self.refresh();
        }
    }

    /// Applies one key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        // Terminals that report releases (Windows, kitty protocol) would
        // otherwise move twice per press.
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        self.status = None;
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Action::Quit;
        }
        if self.help_open || self.settings_open {
            // Any key closes an overlay and does nothing else.
            self.help_open = false;
            self.settings_open = false;
            return Action::None;
        }
        if self.adding.is_some() {
            return self.on_add_key(key);
        }
        if self.searching {
            self.on_search_key(key);
            return Action::None;
        }
        let page = self.page as isize;
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Action::Quit,
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::PageUp => self.move_selection(-page),
            KeyCode::PageDown => self.move_selection(page),
            KeyCode::Home | KeyCode::Char('g') => self.select_position(0),
            KeyCode::End | KeyCode::Char('G') => {
                self.select_position(self.order.len().saturating_sub(1));
            }
            KeyCode::Enter | KeyCode::Tab => self.detail_open = !self.detail_open,
            KeyCode::Char('e') => return Action::Export,
            KeyCode::Char('d') => return Action::Deep,
            KeyCode::Char('c') => return Action::Copy,
            KeyCode::Char('r') => return Action::Retest,
            KeyCode::Char('R') => return Action::RetestAll,
            KeyCode::Char('a') => self.adding = Some(String::new()),
            KeyCode::Char('i') => self.settings_open = true,
            KeyCode::Char('?') => self.help_open = true,
            KeyCode::Char('p') => {
                self.mask = !self.mask;
                let msg = if self.mask {
                    Msg::PrivacyOn
                } else {
                    Msg::PrivacyOff
                };
                self.status = Some(tr(self.lang, msg).to_string());
            }
            KeyCode::Char('/') => self.searching = true,
            KeyCode::Char('f') => {
                self.view.kind = next_kind(&self.rows, self.view.kind);
                self.refresh();
            }
            KeyCode::Char('s') => {
                self.view.status = match self.view.status {
                    StatusFilter::All => StatusFilter::Working,
                    StatusFilter::Working => StatusFilter::Failed,
                    StatusFilter::Failed => StatusFilter::All,
                };
                self.refresh();
            }
            KeyCode::Char('o') => {
                self.view.sort = match self.view.sort {
                    SortBy::Rank => SortBy::Latency,
                    SortBy::Latency => SortBy::Name,
                    SortBy::Name => SortBy::Rank,
                };
                self.refresh();
            }
            _ => {}
        }
        Action::None
    }

    pub fn set_status(&mut self, msg: String) {
        self.status = Some(msg);
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// Tells the app how many table rows fit, for paging and scrolling.
    pub fn set_page_size(&mut self, rows: usize) {
        self.page = rows.max(1);
        self.keep_selection_visible();
    }

    pub fn page_size(&self) -> usize {
        self.page
    }

    /// All rows, indexed by endpoint id.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Rows in display order, filtered by the view.
    pub fn ranked(&self) -> impl Iterator<Item = &Row> {
        self.order.iter().filter_map(|&i| self.rows.get(i))
    }

    pub fn selected_id(&self) -> Option<usize> {
        self.selected
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.selected.and_then(|id| self.rows.get(id))
    }

    /// Ranked position of the selection.
    pub fn selected_position(&self) -> Option<usize> {
        let id = self.selected?;
        self.order.iter().position(|&i| i == id)
    }

    /// First visible ranked position.
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn detail_open(&self) -> bool {
        self.detail_open
    }

    pub fn set_detail_open(&mut self, open: bool) {
        self.detail_open = open;
    }

    pub fn scan_state(&self) -> ScanState {
        self.scan
    }

    pub fn progress(&self) -> Progress {
        let mut p = Progress {
            total: self.rows.len(),
            ..Progress::default()
        };
        for row in &self.rows {
            match &row.state {
                RowState::Pending => {}
                RowState::Running => p.running += 1,
                RowState::Finished(m) => {
                    p.done += 1;
                    if m.is_reachable() {
                        p.reachable += 1;
                    } else {
                        p.failed += 1;
                    }
                }
            }
        }
        p
    }

    /// Finished measurements, by endpoint id.
    pub fn measurements(&self) -> Vec<Measurement> {
        self.rows
            .iter()
            .filter_map(|r| r.measurement().cloned())
            .collect()
    }

    /// Consumes the app, returning finished measurements by endpoint id
    /// without cloning them.
    pub fn into_measurements(self) -> Vec<Measurement> {
        self.rows
            .into_iter()
            .filter_map(|r| match r.state {
                RowState::Finished(m) => Some(*m),
                _ => None,
            })
            .collect()
    }

    fn move_selection(&mut self, delta: isize) {
        let current = self.selected_position().unwrap_or(0);
        let target = current.saturating_add_signed(delta);
        self.select_position(target);
    }

    fn select_position(&mut self, pos: usize) {
        let Some(last) = self.order.len().checked_sub(1) else {
            self.selected = None;
            return;
        };
        let pos = pos.min(last);
        self.selected = self.order.get(pos).copied();
        self.keep_selection_visible();
    }

    /// Scrolls just enough to keep the selection on screen, and never past
    /// the point where the bottom of the table would show empty space.
    fn keep_selection_visible(&mut self) {
        if let Some(pos) = self.selected_position() {
            if pos < self.offset {
                self.offset = pos;
            } else if pos >= self.offset.saturating_add(self.page) {
                self.offset = pos + 1 - self.page;
            }
        }
        self.offset = self.offset.min(self.order.len().saturating_sub(self.page));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{EndpointKind, Origin};
    use crate::measurement::{Diagnosis, Failure, Operation, SCHEMA_VERSION};

    fn info(label: &str) -> EndpointInfo {
        EndpointInfo {
            kind: EndpointKind::Doh,
            label: label.to_string(),
            address: format!("https://{label}.example/dns-query"),
            origin: Origin::Builtin,
        }
    }

    fn step(op: Operation) -> Step {
        Step {
            operation: op,
            target: None,
            t0: 0.0,
            t: 0.01,
            failure: None,
            detail: None,
            addresses: Vec::new(),
        }
    }

    fn measurement(id: usize, label: &str, latency: Option<f64>) -> Measurement {
        let reachable = latency.is_some();
        Measurement {
            schema_version: SCHEMA_VERSION,
            id,
            endpoint: info(label),
            start_time: "2025-01-01T00:00:00.000Z".to_string(),
            runtime: 0.1,
            steps: vec![step(Operation::TcpConnect)],
            verdict: if reachable {
                Verdict::Reachable
            } else {
                Verdict::Failed
            },
            diagnosis: if reachable {
                Diagnosis::Ok
            } else {
                Diagnosis::Timeout
            },
            failure: (!reachable).then_some(Failure::GenericTimeout),
            failed_operation: (!reachable).then_some(Operation::TcpConnect),
            latency_ms: latency,
            notes: Vec::new(),
            data_test: None,
            clock_skew_s: None,
            bootstrap: None,
        }
    }

    fn finished(id: usize, label: &str, latency: Option<f64>) -> Row {
        Row {
            id,
            info: info(label),
            state: RowState::Finished(Box::new(measurement(id, label, latency))),
            live_steps: Vec::new(),
        }
    }

    fn with_state(id: usize, label: &str, state: RowState) -> Row {
        Row {
            id,
            info: info(label),
            state,
            live_steps: Vec::new(),
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn app(labels: &[&str]) -> App {
        App::new(labels.iter().map(|l| info(l)).collect())
    }

    fn finish(app: &mut App, id: usize, label: &str, latency: Option<f64>) {
        app.on_event(Event::Finished(Box::new(measurement(id, label, latency))));
    }

    #[test]
    fn rank_buckets_in_order() {
        let rows = vec![
            with_state(0, "p", RowState::Pending),
            with_state(1, "r", RowState::Running),
            finished(2, "f", None),
            finished(3, "ok", Some(50.0)),
        ];
        assert_eq!(rank_order(&rows), vec![3, 2, 1, 0]);
    }

    #[test]
    fn rank_reachable_by_latency_then_unknown_latency() {
        let rows = vec![
            finished(0, "slow", Some(120.0)),
            finished(1, "none", None),
            finished(2, "fast", Some(3.5)),
            finished(3, "mid", Some(23.4)),
        ];
        // Row 1 has no latency and so is a failure in this helper; make a
        // reachable one without latency explicitly.
        let mut rows = rows;
        if let RowState::Finished(m) = &mut rows[1].state {
            m.verdict = Verdict::Reachable;
        }
        assert_eq!(rank_order(&rows), vec![2, 3, 0, 1]);
    }

    #[test]
    fn rank_failed_by_label_case_insensitive() {
        let rows = vec![
            finished(0, "zeta", None),
            finished(1, "Alpha", None),
            finished(2, "beta", None),
        ];
        assert_eq!(rank_order(&rows), vec![1, 2, 0]);
    }

    #[test]
    fn rank_ties_fall_back_to_id() {
        let rows = vec![
            finished(0, "same", Some(10.0)),
            finished(1, "same", Some(10.0)),
            with_state(2, "x", RowState::Running),
            with_state(3, "a", RowState::Running),
            with_state(4, "b", RowState::Pending),
            with_state(5, "a", RowState::Pending),
        ];
        assert_eq!(rank_order(&rows), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn rank_handles_nan_and_empty() {
        assert!(rank_order(&[]).is_empty());
        let rows = vec![
            finished(0, "nan", Some(f64::NAN)),
            finished(1, "one", Some(1.0)),
        ];
        assert_eq!(rank_order(&rows), vec![1, 0]);
    }

    #[test]
    fn events_move_rows_through_states() {
        let mut a = app(&["a", "b"]);
        assert_eq!(a.progress().running, 0);
        a.on_event(Event::Started { id: 1 });
        assert_eq!(a.rows()[1].state, RowState::Running);
        a.on_event(Event::Step {
            id: 1,
            step: step(Operation::Resolve),
        });
        assert_eq!(
            a.rows()[1].last_step().map(|s| s.operation),
            Some(Operation::Resolve)
        );
        finish(&mut a, 1, "b", Some(10.0));
        let p = a.progress();
        assert_eq!((p.total, p.done, p.running, p.reachable), (2, 1, 0, 1));
        assert!(a.rows()[1].live_steps.is_empty());
        assert_eq!(a.scan_state(), ScanState::Running);
        a.on_event(Event::Done { cancelled: true });
        assert_eq!(a.scan_state(), ScanState::Cancelled);
        assert_eq!(a.measurements().len(), 1);
        assert_eq!(a.into_measurements()[0].id, 1);
    }

    #[test]
    fn stray_events_are_ignored() {
        let mut a = app(&["a"]);
        a.on_event(Event::Started { id: 7 });
        a.on_event(Event::Step {
            id: 9,
            step: step(Operation::Resolve),
        });
        finish(&mut a, 5, "ghost", Some(1.0));
        assert_eq!(a.rows()[0].state, RowState::Pending);

        // Step before Started counts as running.
        a.on_event(Event::Step {
            id: 0,
            step: step(Operation::Resolve),
        });
        assert_eq!(a.rows()[0].state, RowState::Running);

        // Nothing after the verdict changes it.
        finish(&mut a, 0, "a", None);
        a.on_event(Event::Started { id: 0 });
        a.on_event(Event::Step {
            id: 0,
            step: step(Operation::TlsHandshake),
        });
        assert!(matches!(a.rows()[0].state, RowState::Finished(_)));
        assert_eq!(a.rows()[0].steps().len(), 1);
    }

    #[test]
    fn empty_app_survives_everything() {
        let mut a = App::new(Vec::new());
        for code in [
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::Enter,
        ] {
            assert_eq!(a.on_key(key(code)), Action::None);
        }
        a.set_page_size(0);
        a.on_event(Event::Done { cancelled: false });
        assert_eq!(a.selected_id(), None);
        assert!(a.selected_row().is_none());
        assert_eq!(a.progress(), Progress::default());
    }

    #[test]
    fn selection_follows_endpoint_when_reranked() {
        let mut a = app(&["a", "b", "c"]);
        a.on_key(key(KeyCode::Down));
        assert_eq!(a.selected_id(), Some(1));
        assert_eq!(a.selected_position(), Some(1));
        // Endpoint 2 finishing jumps it to the top; the selection stays on 1.
        finish(&mut a, 2, "c", Some(5.0));
        assert_eq!(a.selected_id(), Some(1));
        assert_eq!(a.selected_position(), Some(2));
        // Endpoint 1 itself finishing moves it, and the selection with it.
        finish(&mut a, 1, "b", Some(1.0));
        assert_eq!(a.selected_id(), Some(1));
        assert_eq!(a.selected_position(), Some(0));
    }

    #[test]
    fn keys_move_and_clamp() {
        let labels: Vec<String> = (0..30).map(|i| format!("e{i:02}")).collect();
        let mut a = App::new(labels.iter().map(|l| info(l)).collect());
        a.set_page_size(10);
        assert_eq!(a.selected_position(), Some(0));
        a.on_key(key(KeyCode::Up));
        assert_eq!(a.selected_position(), Some(0));
        a.on_key(key(KeyCode::Char('j')));
        a.on_key(key(KeyCode::Char('j')));
        a.on_key(key(KeyCode::Char('k')));
        assert_eq!(a.selected_position(), Some(1));
        a.on_key(key(KeyCode::PageDown));
        assert_eq!(a.selected_position(), Some(11));
        assert_eq!(a.offset(), 2);
        a.on_key(key(KeyCode::End));
        assert_eq!(a.selected_position(), Some(29));
        assert_eq!(a.offset(), 20);
        a.on_key(key(KeyCode::PageDown));
        assert_eq!(a.selected_position(), Some(29));
        a.on_key(key(KeyCode::PageUp));
        assert_eq!(a.selected_position(), Some(19));
        assert_eq!(a.offset(), 19);
        a.on_key(key(KeyCode::Home));
        assert_eq!(a.selected_position(), Some(0));
        assert_eq!(a.offset(), 0);
        // Growing the page never leaves blank rows below the table end.
        a.on_key(key(KeyCode::End));
        a.set_page_size(25);
        assert_eq!(a.offset(), 5);
    }

    #[test]
    fn detail_toggle_and_quit_keys() {
        let mut a = app(&["a"]);
        assert!(!a.detail_open());
        a.on_key(key(KeyCode::Enter));
        assert!(a.detail_open());
        a.on_key(key(KeyCode::Tab));
        assert!(!a.detail_open());
        assert_eq!(a.on_key(key(KeyCode::Char('q'))), Action::Quit);
        assert_eq!(a.on_key(key(KeyCode::Esc)), Action::Quit);
        assert_eq!(
            a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Action::Quit
        );
        assert_eq!(a.on_key(key(KeyCode::Char('c'))), Action::Copy);
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut a = app(&["a", "b"]);
        let mut release = key(KeyCode::Down);
        release.kind = KeyEventKind::Release;
        a.on_key(release);
        assert_eq!(a.selected_id(), Some(0));
        let mut q = key(KeyCode::Char('q'));
        q.kind = KeyEventKind::Release;
        assert_eq!(a.on_key(q), Action::None);
    }

    fn kinded(kind: EndpointKind, label: &str, origin: Origin) -> EndpointInfo {
        EndpointInfo {
            kind,
            label: label.to_string(),
            address: format!("{label} 192.0.2.1:443"),
            origin,
        }
    }

    /// doh-a works (30 ms), dot-b works (10 ms), obfs4-c fails, doh-d waits.
    fn mixed() -> App {
        let eps = vec![
            kinded(EndpointKind::Doh, "doh-a", Origin::Builtin),
            kinded(EndpointKind::Dot, "Dot-b", Origin::Builtin),
            kinded(EndpointKind::Obfs4, "obfs4-c", Origin::User),
            kinded(EndpointKind::Doh, "doh-d", Origin::Builtin),
        ];
        let mut a = App::new(eps.clone());
        for (id, latency) in [(0, Some(30.0)), (1, Some(10.0)), (2, None)] {
            let mut m = measurement(id, &eps[id].label, latency);
            m.endpoint = eps[id].clone();
            a.on_event(Event::Finished(Box::new(m)));
        }
        a
    }

    fn labels(a: &App) -> Vec<String> {
        a.ranked().map(|r| r.info.label.clone()).collect()
    }

    #[test]
    fn kind_filter_cycles_through_present_kinds() {
        let mut a = mixed();
        assert_eq!(labels(&a), ["Dot-b", "doh-a", "obfs4-c", "doh-d"]);
        a.on_key(key(KeyCode::Char('f')));
        assert_eq!(a.view().kind, Some(EndpointKind::Doh));
        assert_eq!(labels(&a), ["doh-a", "doh-d"]);
        // The selection (Dot-b) was filtered out: the first row takes over.
        assert_eq!(
            a.selected_row().map(|r| r.info.label.as_str()),
            Some("doh-a")
        );
        a.on_key(key(KeyCode::Char('f')));
        assert_eq!(a.view().kind, Some(EndpointKind::Dot));
        a.on_key(key(KeyCode::Char('f')));
        assert_eq!(a.view().kind, Some(EndpointKind::Obfs4));
        a.on_key(key(KeyCode::Char('f')));
        assert_eq!(a.view().kind, None);
        assert_eq!(labels(&a).len(), 4);
        assert!(!a.view().is_active());
    }

    #[test]
    fn status_filter_and_sort_keep_selection_valid() {
        let mut a = mixed();
        a.on_key(key(KeyCode::Home));
        a.on_key(key(KeyCode::Down));
        a.on_key(key(KeyCode::Down));
        assert_eq!(
            a.selected_row().map(|r| r.info.label.as_str()),
            Some("obfs4-c")
        );
        a.on_key(key(KeyCode::Char('s')));
        assert_eq!(a.view().status, StatusFilter::Working);
        assert_eq!(labels(&a), ["Dot-b", "doh-a"]);
        assert_eq!(a.selected_position(), Some(0));
        a.on_key(key(KeyCode::Char('s')));
        assert_eq!(labels(&a), ["obfs4-c"]);
        a.on_key(key(KeyCode::Char('s')));
        assert_eq!(a.view().status, StatusFilter::All);
        a.on_key(key(KeyCode::Char('o')));
        assert_eq!(a.view().sort, SortBy::Latency);
        assert_eq!(labels(&a), ["Dot-b", "doh-a", "obfs4-c", "doh-d"]);
        a.on_key(key(KeyCode::Char('o')));
        assert_eq!(labels(&a), ["doh-a", "doh-d", "Dot-b", "obfs4-c"]);
        a.on_key(key(KeyCode::Char('o')));
        assert_eq!(a.view().sort, SortBy::Rank);
        // A filter that hides everything leaves no selection, and keys cope.
        a.on_key(key(KeyCode::Char('/')));
        for c in "zzz".chars() {
            a.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(a.selected_id(), None);
        a.on_key(key(KeyCode::Enter));
        for code in [KeyCode::Down, KeyCode::End, KeyCode::PageUp, KeyCode::Enter] {
            a.on_key(key(code));
        }
        assert_eq!(a.selected_id(), None);
    }

    #[test]
    fn search_captures_keys_until_enter_or_esc() {
        let mut a = mixed();
        assert_eq!(a.on_key(key(KeyCode::Char('/'))), Action::None);
        assert!(a.searching());
        // `q` and `c` are text while searching, not quit and copy.
        for c in "DOH-q".chars() {
            assert_eq!(a.on_key(key(KeyCode::Char(c))), Action::None);
        }
        assert_eq!(a.view().search, "DOH-q");
        assert!(labels(&a).is_empty());
        a.on_key(key(KeyCode::Backspace));
        a.on_key(key(KeyCode::Backspace));
        assert_eq!(labels(&a), ["doh-a", "doh-d"]);
        a.on_key(key(KeyCode::Enter));
        assert!(!a.searching());
        assert_eq!(a.view().search, "DOH");
        // Esc while searching clears the text; Ctrl-C still quits.
        a.on_key(key(KeyCode::Char('/')));
        a.on_key(key(KeyCode::Esc));
        assert_eq!(a.view().search, "");
        assert_eq!(labels(&a).len(), 4);
        a.on_key(key(KeyCode::Char('/')));
        assert_eq!(
            a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Action::Quit
        );
    }

    #[test]
    fn help_closes_on_any_key_and_privacy_toggles() {
        let mut a = mixed();
        a.on_key(key(KeyCode::Char('?')));
        assert!(a.help_open());
        // The closing key does nothing else, even `q`.
        assert_eq!(a.on_key(key(KeyCode::Char('q'))), Action::None);
        assert!(!a.help_open());
        assert!(!a.mask());
        a.on_key(key(KeyCode::Char('p')));
        assert!(a.mask());
        assert!(a.status().is_some_and(|s| s.contains("privacy mode on")));
        let (user, builtin) = (a.rows()[2].clone(), a.rows()[0].clone());
        assert!(a.masks(&user) && !a.masks(&builtin));
        a.on_key(key(KeyCode::Char('p')));
        assert!(!a.masks(&user));
    }

    #[test]
    fn display_label_hides_address_words_of_user_endpoints() {
        let mut info = kinded(EndpointKind::Obfs4, "x", Origin::User);
        info.address = "obfs4 192.0.2.1:443 0123456789ABCDEF cert=x".into();
        info.label = "obfs4 192.0.2.1:443".into();
        assert_eq!(display_label(&info, true), "obfs4 •••");
        assert_eq!(display_label(&info, false), "obfs4 192.0.2.1:443");
        info.label = "Friend's bridge".into();
        assert_eq!(display_label(&info, true), "Friend's bridge");
        info.origin = Origin::Builtin;
        info.label = "obfs4 192.0.2.1:443".into();
        assert_eq!(display_label(&info, true), "obfs4 192.0.2.1:443");
    }

    #[test]
    fn add_prompt_captures_text_until_enter_or_esc() {
        let mut a = mixed();
        assert_eq!(a.on_key(key(KeyCode::Char('a'))), Action::None);
        assert_eq!(a.adding(), Some(""));
        // Keys that mean something elsewhere are text here.
        for c in "tls://q.example".chars() {
            assert_eq!(a.on_key(key(KeyCode::Char(c))), Action::None);
        }
        a.on_key(key(KeyCode::Backspace));
        assert_eq!(a.adding(), Some("tls://q.exampl"));
        a.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(a.adding(), Some(""));
        for c in " tls://dns.example ".chars() {
            a.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(a.on_key(key(KeyCode::Enter)), Action::Add);
        assert_eq!(a.adding(), None);
        assert_eq!(a.take_submitted().as_deref(), Some("tls://dns.example"));
        assert_eq!(a.take_submitted(), None);
        // Esc cancels; an empty line submits nothing; Ctrl-C still quits.
        a.on_key(key(KeyCode::Char('a')));
        a.on_key(key(KeyCode::Char('x')));
        assert_eq!(a.on_key(key(KeyCode::Esc)), Action::None);
        assert_eq!(a.adding(), None);
        assert_eq!(a.take_submitted(), None);
        a.on_key(key(KeyCode::Char('a')));
        assert_eq!(a.on_key(key(KeyCode::Enter)), Action::None);
        a.on_key(key(KeyCode::Char('a')));
        assert_eq!(
            a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Action::Quit
        );
    }

    #[test]
    fn pastes_never_become_key_presses() {
        let mut a = mixed();
        // A paste outside any prompt opens the add prompt with its first line.
        a.on_paste("\n  obfs4 192.0.2.1:443 FP cert=x iat-mode=0\r\nsecond line\n");
        assert_eq!(a.adding(), Some("obfs4 192.0.2.1:443 FP cert=x iat-mode=0"));
        assert_eq!(a.on_key(key(KeyCode::Enter)), Action::Add);
        // Into the search while searching.
        a.on_key(key(KeyCode::Char('/')));
        a.on_paste("doh");
        assert!(a.adding().is_none());
        assert_eq!(a.view().search, "doh");
        a.on_key(key(KeyCode::Esc));
        // A runaway paste is capped.
        a.on_paste(&"x".repeat(ADD_MAX_CHARS * 2));
        assert_eq!(a.adding().map(|t| t.chars().count()), Some(ADD_MAX_CHARS));
    }

    #[test]
    fn retest_and_settings_keys() {
        let mut a = mixed();
        assert_eq!(a.on_key(key(KeyCode::Char('r'))), Action::Retest);
        assert_eq!(
            a.on_key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT)),
            Action::RetestAll
        );
        a.on_key(key(KeyCode::Char('i')));
        assert!(a.settings_open());
        // Any key closes it and does nothing else.
        assert_eq!(a.on_key(key(KeyCode::Char('r'))), Action::None);
        assert!(!a.settings_open());
    }

    #[test]
    fn restart_all_and_added_rows() {
        let mut a = mixed();
        a.on_event(Event::Done { cancelled: false });
        a.restart_all();
        assert_eq!(a.scan_state(), ScanState::Running);
        assert!(a.rows().iter().all(|r| r.state == RowState::Pending));
        assert_eq!(a.progress().done, 0);
        // An added row gets the next id and the selection, even when the
        // filter would hide it.
        a.on_key(key(KeyCode::Char('/')));
        a.on_key(key(KeyCode::Char('z')));
        a.on_key(key(KeyCode::Enter));
        let id = a.add_row(kinded(EndpointKind::Dot, "added", Origin::User));
        assert_eq!(id, 4);
        assert_eq!(a.selected_id(), Some(4));
        assert!(a.ranked().any(|r| r.id == 4));
        a.restart(id);
        assert_eq!(a.rows()[4].state, RowState::Running);
    }

    #[test]
    fn controls_reach_the_app() {
        use crate::controls::{Control, ControlResult, Reading, Scope};
        let mut a = mixed();
        assert_eq!(a.control_reading(), None);
        let c = Control::tcp(Scope::Foreign, "192.0.2.1:443".parse().unwrap());
        a.set_controls(vec![c.clone()]);
        assert_eq!(a.control_reading(), None);
        let result = ControlResult {
            control: c,
            ok: true,
            latency_ms: Some(9.0),
            failure: None,
            detail: None,
        };
        a.on_control(5, result.clone());
        assert_eq!(a.control_reading(), None);
        a.on_control(0, result);
        assert_eq!(a.control_reading(), Some(Reading::InternetUp));
    }
}
