//! The detail pane: everything known about the selected endpoint, step by
//! step, with a bar placing each step on the measurement's timeline.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::catalog::Origin;
use crate::measurement::Step;

use super::app::{App, Row, RowState};
use super::table::state_style;
use super::text::{fit, millis, pad, pad_left, status_word, wrap_spans};
use super::theme::Theme;

/// Width of the field names on the left.
const FIELD_W: usize = 11;
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
    let block = Block::bordered().title(" Details ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match app.selected_row() {
        Some(row) => lines(row, inner.width, theme),
        None => vec![Line::styled("Nothing selected.", theme.muted())],
    };
    // Lines come pre-wrapped (with hanging indents); wider ones are clipped.
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The pane's content for `row` at `width` columns.
pub fn lines(row: &Row, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let origin = match row.info.origin {
        Origin::Builtin => "built-in list",
        Origin::User => "user-supplied",
    };
    let mut out = Vec::new();
    let mut field = |name: &str, mut value: Vec<Span<'static>>| {
        value.insert(0, Span::styled(pad(name, FIELD_W), theme.muted()));
        out.extend(wrap_spans(&value, width, FIELD_W));
    };
    field(
        "Name",
        vec![
            Span::styled(fit(&row.info.label, 200), theme.label()),
            Span::raw(format!(" ({}, {origin})", row.info.kind.display_name())),
        ],
    );
    field("Address", vec![Span::raw(fit(&row.info.address, 512))]);

    let status = Span::styled(status_word(row), state_style(row, theme));
    let verdict = match &row.state {
        RowState::Pending => vec![status, Span::raw(" for a free slot")],
        RowState::Running => {
            let after = match row.last_step() {
                Some(s) => format!(" (after {})", s.operation),
                None => " (starting)".to_string(),
            };
            vec![status, Span::raw(after)]
        }
        RowState::Finished(m) if m.is_reachable() => {
            let latency = m
                .latency_ms
                .map(|l| format!(" · latency {}", millis(l)))
                .unwrap_or_default();
            vec![status, Span::raw(latency)]
        }
        RowState::Finished(m) => {
            let mut rest = String::new();
            if let Some(op) = m.failed_operation {
                rest.push_str(&format!(" at {op}"));
            }
            if let Some(f) = &m.failure {
                rest.push_str(&format!(": {}", fit(&f.to_string(), 200)));
            }
            vec![status, Span::raw(rest)]
        }
    };
    field("Verdict", verdict);

    if let Some(m) = row.measurement() {
        field(
            "Diagnosis",
            vec![
                Span::styled(m.diagnosis.as_str(), theme.label()),
                Span::raw(format!(" — {}", m.diagnosis.explain())),
            ],
        );
        field(
            "Started",
            vec![Span::raw(format!(
                "{} · took {}",
                fit(&m.start_time, 40),
                millis(m.runtime * 1000.0)
            ))],
        );
        if let Some(d) = &m.data_test {
            field("Data test", vec![Span::raw(data_summary(d))]);
        }
        if let Some(skew) = m.clock_skew_s {
            field(
                "Clock",
                vec![Span::raw(format!("peer clock differs by {skew:+.0} s"))],
            );
        }
        if let Some(b) = &m.bootstrap {
            let done = b
                .seconds_to_100
                .map(|s| format!(" in {s:.1} s"))
                .unwrap_or_default();
            field(
                "Bootstrap",
                vec![Span::raw(format!("{} %{done}", b.percent))],
            );
        }
    }

    let steps = row.steps();
    if !steps.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled("Steps", theme.label()));
        let total = timeline_end(row);
        let bar_w = width.saturating_sub(BAR_START).min(BAR_MAX);
        for step in steps {
            out.extend(step_lines(step, total, width, bar_w, theme));
        }
    }

    if let Some(m) = row.measurement()
        && !m.notes.is_empty()
    {
        out.push(Line::raw(""));
        out.push(Line::styled("Notes", theme.label()));
        for note in &m.notes {
            let spans = [Span::raw("  • "), Span::raw(fit(note, 500))];
            out.extend(wrap_spans(&spans, width, 4));
        }
    }
    out
}

/// "67480 of 65536 bytes in 0.86 s (76.8 KiB/s)", or where it stalled.
pub fn data_summary(d: &crate::measurement::DataTest) -> String {
    match d.stalled_after {
        Some(n) => format!(
            "stalled after {n} of {} bytes ({:.1} s)",
            d.target_bytes, d.seconds
        ),
        None => format!(
            "{} of {} bytes in {:.2} s ({:.1} KiB/s)",
            d.bytes, d.target_bytes, d.seconds, d.kib_per_s
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
        push(Span::raw(fit(target, 200)));
    }
    if let Some(f) = &step.failure {
        push(Span::styled(
            format!("✘ {}", fit(&f.to_string(), 200)),
            theme.failed(),
        ));
    }
    if let Some(detail) = &step.detail {
        push(Span::raw(fit(detail, 300)));
    }
    if !step.addresses.is_empty() {
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
