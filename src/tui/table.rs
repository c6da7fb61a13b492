//! The ranked endpoint table.
//!
//! Column widths are computed here rather than left to ratatui's layout so
//! cells can be cut with an ellipsis at exactly the width they get.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row as TableRow, Table, TableState};

use super::app::{App, Row, RowState, display_label};
use super::i18n::{Lang, Msg, tr};
use super::text::{fit, millis, pad, pad_left, status_width, status_word, why, width};
use super::theme::Theme;
use crate::measurement::Verdict;

/// Marks the selected row even without colour or reverse video.
const HIGHLIGHT: &str = "> ";
const HIGHLIGHT_W: u16 = 2;
/// The status column's width in English; other languages size it to
/// their words.
const STATUS_W: u16 = 9;
const KIND_W: u16 = 4;
const LATENCY_W: u16 = 9;
const SPACING: u16 = 1;
/// Below this width the Kind column goes and Why uses short phrases.
pub const WIDE_MIN: u16 = 80;
/// The Name column never grows past this, so Why keeps room.
const NAME_MAX: usize = 32;

/// Exact widths of the visible columns; `kind` is `None` when dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    pub status: u16,
    pub kind: Option<u16>,
    pub name: u16,
    pub latency: u16,
    pub why: u16,
}

impl Columns {
    /// Splits `width` columns, giving Name what the longest label needs
    /// (within bounds) and the rest to Why.
    pub fn for_width(width: u16, longest_label: usize) -> Columns {
        Columns::sized(width, longest_label, STATUS_W, KIND_W)
    }

    /// As [`Columns::for_width`] with status and kind columns of the
    /// given widths (they depend on the language and the kinds listed).
    pub fn sized(width: u16, longest_label: usize, status: u16, kind_w: u16) -> Columns {
        let wide = width >= WIDE_MIN;
        let avail = width.saturating_sub(HIGHLIGHT_W);
        let kind = wide.then_some(kind_w);
        let gaps = if wide { 4 } else { 3 } * SPACING;
        let fixed = status + LATENCY_W + kind.unwrap_or(0) + gaps;
        let rest = usize::from(avail.saturating_sub(fixed));
        // Name gets the label width but leaves Why at least half of the
        // rest; on very narrow screens both shrink together.
        let name = longest_label
            .clamp(4, NAME_MAX)
            .min(rest.div_ceil(2).max(rest.min(12)));
        let why = rest.saturating_sub(name);
        Columns {
            status,
            kind,
            name: u16::try_from(name).unwrap_or(u16::MAX),
            latency: LATENCY_W,
            why: u16::try_from(why).unwrap_or(u16::MAX),
        }
    }

    fn constraints(&self) -> Vec<Constraint> {
        let mut c = vec![Constraint::Length(self.status)];
        if let Some(k) = self.kind {
            c.push(Constraint::Length(k));
        }
        c.extend([
            Constraint::Length(self.name),
            Constraint::Length(self.latency),
            Constraint::Length(self.why),
        ]);
        c
    }
}

/// How many endpoint rows fit in `area` (one line goes to the header).
pub fn visible_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(1))
}

/// Draws the ranked table of `app` into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let lang = app.lang();
    if app.ranked().next().is_none() {
        let msg = if app.rows().is_empty() {
            Msg::NoEndpoints
        } else {
            Msg::NoMatches
        };
        frame.render_widget(
            Paragraph::new(Line::styled(tr(lang, msg), theme.muted())),
            area,
        );
        return;
    }
    let longest = app
        .rows()
        .iter()
        .map(|r| width(&display_label(&r.info, app.mask())))
        .max()
        .unwrap_or(0);
    let status_w = u16::try_from(status_width(lang)).unwrap_or(STATUS_W);
    // "snowflake" and "webtunnel" need 9 columns; DoH-only scans keep 4.
    let kind_w = app
        .rows()
        .iter()
        .map(|r| width(r.info.kind.display_name()))
        .max()
        .unwrap_or(0)
        .clamp(usize::from(KIND_W), 9);
    let kind_w = u16::try_from(kind_w).unwrap_or(KIND_W);
    let cols = Columns::sized(area.width, longest, status_w, kind_w);
    let short = area.width < WIDE_MIN;
    let ctx = RowCtx {
        lang,
        mask: app.mask(),
        short,
    };

    let height = visible_rows(area).max(1);
    let (offset, selected) = window(app.offset(), app.selected_position(), height);
    let rows: Vec<TableRow> = app
        .ranked()
        .skip(offset)
        .take(height)
        .map(|row| table_row(row, &cols, ctx, theme))
        .collect();

    let t = |m| tr(lang, m);
    let mut header = vec![Cell::from(pad(t(Msg::ColStatus), cols.status.into()))];
    if let Some(k) = cols.kind {
        header.push(Cell::from(pad(t(Msg::ColKind), k.into())));
    }
    header.extend([
        Cell::from(pad(t(Msg::ColName), cols.name.into())),
        Cell::from(pad_left(t(Msg::ColLatency), cols.latency.into())),
        Cell::from(pad(t(Msg::ColWhy), cols.why.into())),
    ]);

    let table = Table::new(rows, cols.constraints())
        .header(TableRow::new(header).style(theme.header()))
        .column_spacing(SPACING)
        .highlight_symbol(HIGHLIGHT)
        .highlight_spacing(HighlightSpacing::Always)
        .row_highlight_style(theme.selected());
    let mut state = TableState::new().with_selected(selected.map(|s| s.saturating_sub(offset)));
    frame.render_stateful_widget(table, area, &mut state);
}

/// The first visible position and the selection, adjusted so the
/// selection is visible even if the app's page size is stale (it is set
/// from the previous frame's layout).
fn window(offset: usize, selected: Option<usize>, height: usize) -> (usize, Option<usize>) {
    let offset = match selected {
        Some(pos) if pos < offset => pos,
        Some(pos) if pos >= offset.saturating_add(height) => pos + 1 - height,
        _ => offset,
    };
    (offset, selected)
}

/// What every row is drawn with.
#[derive(Clone, Copy)]
struct RowCtx {
    lang: Lang,
    mask: bool,
    short: bool,
}

fn table_row<'a>(row: &Row, cols: &Columns, ctx: RowCtx, theme: &Theme) -> TableRow<'a> {
    let state_style = state_style(row, theme);
    let status = status_word(ctx.lang, row);
    let mut cells = vec![Cell::from(pad(status, cols.status.into())).style(state_style)];
    if let Some(k) = cols.kind {
        cells.push(Cell::from(pad(row.info.kind.display_name(), k.into())));
    }
    let latency = match &row.state {
        RowState::Finished(m) if m.verdict != Verdict::Failed => {
            m.latency_ms.map(millis).unwrap_or_default()
        }
        _ => String::new(),
    };
    let why_style = match &row.state {
        RowState::Finished(m) if !m.is_reachable() => state_style,
        _ => Style::new(),
    };
    cells.extend([
        Cell::from(pad(&display_label(&row.info, ctx.mask), cols.name.into())),
        Cell::from(pad_left(&latency, cols.latency.into())),
        Cell::from(fit(&why(ctx.lang, row, ctx.short), cols.why.into())).style(why_style),
    ]);
    let row_style = match row.state {
        RowState::Pending => theme.pending(),
        _ => Style::new(),
    };
    TableRow::new(cells).style(row_style)
}

/// The colour of a row's state; shared with the detail pane.
pub fn state_style(row: &Row, theme: &Theme) -> Style {
    match &row.state {
        RowState::Pending => theme.pending(),
        RowState::Running => theme.running(),
        RowState::Finished(m) if m.is_reachable() => theme.reachable(),
        RowState::Finished(m) if m.verdict == Verdict::Unverified => theme.unverified(),
        RowState::Finished(_) => theme.failed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fill_the_width_exactly() {
        for width in 0..=300u16 {
            for label in [0, 5, 14, 40, 200] {
                let c = Columns::for_width(width, label);
                let total = HIGHLIGHT_W
                    + c.status
                    + c.kind.unwrap_or(0)
                    + c.name
                    + c.latency
                    + c.why
                    + if c.kind.is_some() { 4 } else { 3 } * SPACING;
                if width >= 40 {
                    assert_eq!(total, width, "width {width} label {label}: {c:?}");
                } else {
                    // Too narrow for the fixed columns; ratatui clips.
                    assert!(c.name + c.why <= width, "width {width}: {c:?}");
                }
                assert_eq!(c.kind.is_some(), width >= WIDE_MIN);
            }
        }
    }

    #[test]
    fn name_column_fits_label_when_room() {
        let c = Columns::for_width(120, 14);
        assert_eq!(c.name, 14);
        let c = Columns::for_width(120, 100);
        assert_eq!(usize::from(c.name), NAME_MAX);
    }

    #[test]
    fn window_keeps_selection_visible() {
        assert_eq!(window(0, Some(15), 10), (6, Some(15)));
        assert_eq!(window(8, Some(3), 10), (3, Some(3)));
        assert_eq!(window(2, Some(5), 10), (2, Some(5)));
        assert_eq!(window(2, None, 10), (2, None));
    }
}
