//! The detail pane: everything known about the selected endpoint, step by
//! step, with a bar placing each step on the measurement's timeline.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::catalog::Origin;
use crate::measurement::Step;

use super::app::{App, MASK, Row, RowState, display_label};
use super::i18n::{Lang, Msg, explain, fill, tr};
use super::table::state_style;
use super::text::{fit, millis, pad, pad_left, status_word, width as text_width, wrap_spans};
use super::theme::Theme;

/// Least width of the field names on the left (English needs 11).
const FIELD_W: usize = 11;
const FIELDS: [Msg; 8] = [
    Msg::FieldName,
    Msg::FieldAddress,
    Msg::FieldVerdict,
    Msg::FieldDiagnosis,
    Msg::FieldStarted,
    Msg::FieldDataTest,
    Msg::FieldClock,
    Msg::FieldBootstrap,
];
/// Longest operation name (`tls_handshake_control`).
const OP_W: usize = 21;
/// "12345.6–12345.6 ms" fits.
const TIMING_W: usize = 18;
const BAR_MAX: usize = 40;
/// Where a step's target and outcome start.
const STEP_INDENT: &str = "      ";
/// Columns a step line spends before its bar.
const BAR_START: usize = 2 + OP_W + 1 + TIMING_W + 2;

/// Draws the detail pane for the selected row into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let lang = app.lang();
    let block = Block::bordered().title(tr(lang, Msg::DetailsTitle));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match app.selected_row() {
        Some(row) => lines_in(lang, row, app.masks(row), inner.width, theme),
        None => vec![Line::styled(tr(lang, Msg::NothingSelected), theme.muted())],
    };
    // Lines come pre-wrapped (with hanging indents); wider ones are clipped.
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The pane's content for `row` at `width` columns, in English.
pub fn lines(row: &Row, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    lines_in(Lang::En, row, false, width, theme)
}

/// The pane's content in `lang`; `masked` hides the address, step
/// targets, resolved addresses and step details (they name the host).
pub fn lines_in(
    lang: Lang,
    row: &Row,
    masked: bool,
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let t = |m| tr(lang, m);
    let field_w = FIELDS
        .iter()
        .map(|&m| text_width(t(m)) + 1)
        .max()
        .unwrap_or(0)
        .max(FIELD_W);
    let origin = match row.info.origin {
        Origin::Builtin => t(Msg::OriginBuiltin),
        Origin::User => t(Msg::OriginUser),
    };
    let mut out = Vec::new();
    let mut field = |name: Msg, mut value: Vec<Span<'static>>| {
        value.insert(0, Span::styled(pad(t(name), field_w), theme.muted()));
        out.extend(wrap_spans(&value, width, field_w));
    };
    field(
        Msg::FieldName,
        vec![
            Span::styled(fit(&display_label(&row.info, masked), 200), theme.label()),
            Span::raw(format!(" ({}, {origin})", row.info.kind.display_name())),
        ],
    );
    let address = if masked {
        MASK.to_string()
    } else {
        fit(&row.info.address, 512)
    };
    field(Msg::FieldAddress, vec![Span::raw(address)]);

    let status = Span::styled(status_word(lang, row), state_style(row, theme));
    let verdict = match &row.state {
        RowState::Pending => vec![status, Span::raw(t(Msg::ForFreeSlot))],
        RowState::Running => {
            let after = match row.last_step() {
                Some(s) => fill(t(Msg::AfterOpParen), &[("op", s.operation.as_str())]),
                None => t(Msg::StartingParen).to_string(),
            };
            vec![status, Span::raw(after)]
        }
        RowState::Finished(m) if m.is_reachable() => {
            let latency = m
                .latency_ms
                .map(|l| fill(t(Msg::LatencyIs), &[("ms", &millis(l))]))
                .unwrap_or_default();
            vec![status, Span::raw(latency)]
        }
        RowState::Finished(m) => {
            let mut rest = String::new();
            if let Some(op) = m.failed_operation {
                rest.push_str(&fill(t(Msg::AtOp), &[("op", op.as_str())]));
            }
            if let Some(f) = &m.failure {
                rest.push_str(&format!(": {}", fit(&f.to_string(), 200)));
            }
            vec![status, Span::raw(rest)]
        }
    };
    field(Msg::FieldVerdict, verdict);

    if let Some(m) = row.measurement() {
        field(
            Msg::FieldDiagnosis,
            vec![
                Span::styled(m.diagnosis.as_str(), theme.label()),
                Span::raw(format!(" — {}", explain(lang, m.diagnosis))),
            ],
        );
        let took = fill(
            t(Msg::Took),
            &[
                ("start", &fit(&m.start_time, 40)),
                ("time", &millis(m.runtime * 1000.0)),
            ],
        );
        field(Msg::FieldStarted, vec![Span::raw(took)]);
        if let Some(d) = &m.data_test {
            field(
                Msg::FieldDataTest,
                vec![Span::raw(data_summary_in(lang, d))],
            );
        }
        if let Some(skew) = m.clock_skew_s {
            let s = format!("{skew:+.0}");
            field(
                Msg::FieldClock,
                vec![Span::raw(fill(t(Msg::ClockDiffers), &[("s", &s)]))],
            );
        }
        if let Some(b) = &m.bootstrap {
            let done = b
                .seconds_to_100
                .map(|s| fill(t(Msg::BootstrapDone), &[("s", &format!("{s:.1}"))]))
                .unwrap_or_default();
            field(
                Msg::FieldBootstrap,
                vec![Span::raw(format!("{} %{done}", b.percent))],
            );
        }
    }

    let steps = row.steps();
    if !steps.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled(t(Msg::Steps), theme.label()));
        let total = timeline_end(row);
        let bar_w = width.saturating_sub(BAR_START).min(BAR_MAX);
        for step in steps {
            out.extend(step_lines(step, total, width, bar_w, masked, theme));
        }
    }

    if let Some(m) = row.measurement()
        && !m.notes.is_empty()
    {
        out.push(Line::raw(""));
        out.push(Line::styled(t(Msg::Notes), theme.label()));
        for note in &m.notes {
            let spans = [Span::raw("  • "), Span::raw(fit(note, 500))];
            out.extend(wrap_spans(&spans, width, 4));
        }
    }
    out
}

/// "67480 of 65536 bytes in 0.86 s (76.8 KiB/s)", or where it stalled.
pub fn data_summary(d: &crate::measurement::DataTest) -> String {
    data_summary_in(Lang::En, d)
}

pub fn data_summary_in(lang: Lang, d: &crate::measurement::DataTest) -> String {
    let target = d.target_bytes.to_string();
    match d.stalled_after {
        Some(n) => fill(
            tr(lang, Msg::DataStalled),
            &[
                ("n", &n.to_string()),
                ("target", &target),
                ("s", &format!("{:.1}", d.seconds)),
            ],
        ),
        None => fill(
            tr(lang, Msg::DataRate),
            &[
                ("bytes", &d.bytes.to_string()),
                ("target", &target),
                ("s", &format!("{:.2}", d.seconds)),
                ("rate", &format!("{:.1}", d.kib_per_s)),
            ],
        ),
    }
}

/// Seconds the timeline spans: the runtime, or the latest step end while
/// running (steps may also outlast a rounded runtime).
fn timeline_end(row: &Row) -> f64 {
    let last = row.steps().iter().map(|s| s.t).fold(0.0, f64::max);
    let runtime = row.measurement().map_or(0.0, |m| m.runtime);
    runtime.max(last)
}

/// Two lines per step: name, timing and bar; then target and outcome,
/// wrapped under an indent.
fn step_lines(
    step: &Step,
    total: f64,
    width: usize,
    bar_w: usize,
    masked: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let timing = format!("{:.1}–{}", step.t0 * 1000.0, millis(step.t * 1000.0));
    let ok_style = if step.failure.is_some() {
        theme.failed()
    } else {
        theme.reachable()
    };
    let mut first = vec![
        Span::raw("  "),
        Span::raw(pad(step.operation.as_str(), OP_W)),
        Span::raw(" "),
        Span::raw(pad_left(&timing, TIMING_W)),
    ];
    if bar_w >= 4 {
        let (before, filled, after) = bar(step.t0, step.t, total, bar_w);
        first.extend([
            Span::raw("  "),
            Span::styled("·".repeat(before), theme.muted()),
            Span::styled("█".repeat(filled), ok_style),
            Span::styled("·".repeat(after), theme.muted()),
        ]);
    }
    let mut lines = vec![Line::from(first)];

    let mut second: Vec<Span<'static>> = Vec::new();
    let mut push = |span: Span<'static>| {
        second.push(Span::raw(if second.is_empty() {
            STEP_INDENT
        } else {
            " · "
        }));
        second.push(span);
    };
    if let Some(target) = &step.target {
        push(Span::raw(if masked {
            MASK.to_string()
        } else {
            fit(target, 200)
        }));
    }
    if let Some(f) = &step.failure {
        push(Span::styled(
            format!("✘ {}", fit(&f.to_string(), 200)),
            theme.failed(),
        ));
    }
    // Details can name the server (SNI, answers); the masked view drops them.
    if let Some(detail) = step.detail.as_ref().filter(|_| !masked) {
        push(Span::raw(fit(detail, 300)));
    }
    if masked && !step.addresses.is_empty() {
        push(Span::raw(format!("→ {MASK}")));
    } else if !step.addresses.is_empty() {
        push(Span::raw(format!(
            "→ {}",
            fit(&step.addresses.join(", "), 300)
        )));
    }
    if !second.is_empty() {
        lines.extend(wrap_spans(&second, width, STEP_INDENT.len()));
    }
    lines
}

/// Cells before, during and after a step on a `w`-cell timeline of
/// `total` seconds. Every step gets at least one cell so it stays visible;
/// bad numbers (NaN, negative, zero total) clamp instead of panicking.
fn bar(t0: f64, t: f64, total: f64, w: usize) -> (usize, usize, usize) {
    if w == 0 {
        return (0, 0, 0);
    }
    let scale = if total.is_finite() && total > 0.0 {
        w as f64 / total
    } else {
        0.0
    };
    let cell = |x: f64, round: fn(f64) -> f64| -> usize {
        let v = round(x * scale);
        // `as` saturates and maps NaN to 0; the clamp keeps it in range.
        (v.max(0.0) as usize).min(w)
    };
    let start = cell(t0, f64::floor).min(w - 1);
    let end = cell(t, f64::ceil).max(start + 1);
    (start, end - start, w - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_summary_says_where_it_stalled() {
        let mut d = crate::measurement::DataTest {
            target_bytes: 65536,
            bytes: 49152,
            seconds: 10.5,
            kib_per_s: 4.6,
            stalled_after: Some(49152),
            samples: Vec::new(),
        };
        assert_eq!(
            data_summary(&d),
            "stalled after 49152 of 65536 bytes (10.5 s)"
        );
        d.stalled_after = None;
        d.bytes = 67480;
        d.seconds = 0.86;
        d.kib_per_s = 76.8;
        assert_eq!(
            data_summary(&d),
            "67480 of 65536 bytes in 0.86 s (76.8 KiB/s)"
        );
    }

    #[test]
    fn bar_is_proportional_and_safe() {
        assert_eq!(bar(0.0, 0.5, 1.0, 10), (0, 5, 5));
        assert_eq!(bar(0.5, 1.0, 1.0, 10), (5, 5, 0));
        // A zero-length step still shows one cell.
        assert_eq!(bar(0.5, 0.5, 1.0, 10), (5, 1, 4));
        assert_eq!(bar(1.0, 1.0, 1.0, 10), (9, 1, 0));
        for (t0, t, total) in [
            (f64::NAN, f64::NAN, f64::NAN),
            (-1.0, 5.0, 1.0),
            (2.0, 1.0, 0.0),
            (f64::INFINITY, f64::INFINITY, 1.0),
        ] {
            let (a, b, c) = bar(t0, t, total, 10);
            assert_eq!(a + b + c, 10, "{t0} {t} {total}");
            assert!(b >= 1);
        }
        assert_eq!(bar(0.0, 1.0, 1.0, 0), (0, 0, 0));
    }
}
