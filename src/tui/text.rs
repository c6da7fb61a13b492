//! Small text helpers shared by the widgets: display width, truncation and
//! the plain-language words for states and diagnoses.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::measurement::{Diagnosis, Measurement, Verdict};

use super::app::{Row, RowState};
use super::i18n::{Lang, Msg, diagnosis_phrase, fill, tr};

/// Terminal columns `s` takes, measured the way ratatui renders it.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` cut to at most `max` columns, ending in `…` when cut. Control
/// characters become spaces: labels and error messages come from user
/// files and remote servers and must not move the cursor.
pub fn fit(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if width(&clean) <= max {
        return clean;
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    let mut buf = [0u8; 4];
    for c in clean.chars() {
        let w = width(c.encode_utf8(&mut buf));
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `s` fitted to `max` columns and padded with spaces to exactly `max`.
pub fn pad(s: &str, max: usize) -> String {
    let mut out = fit(s, max);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', max.saturating_sub(w)));
    out
}

/// `s` fitted to `max` columns and right-aligned in exactly `max`.
pub fn pad_left(s: &str, max: usize) -> String {
    let fitted = fit(s, max);
    let w = width(&fitted);
    let mut out: String = std::iter::repeat_n(' ', max.saturating_sub(w)).collect();
    out.push_str(&fitted);
    out
}

/// Word-wraps styled text to `width` columns. Continuation lines start
/// with `indent` spaces, and lines never break inside the first `indent`
/// columns (where a field name or bullet sits), so wrapped values stay in
/// their column instead of running back to the left edge.
pub fn wrap_spans(spans: &[Span<'_>], width: usize, indent: usize) -> Vec<Line<'static>> {
    let mut buf = [0u8; 4];
    let cells: Vec<(char, Style, usize)> = spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .map(|(c, style)| {
            let c = if c.is_control() { ' ' } else { c };
            (c, style, width_of_char(c, &mut buf))
        })
        .collect();
    if width <= indent + 1 {
        // No room for a value column: let the caller's area clip it.
        return vec![styled_line(&cells)];
    }
    let blank = || vec![(' ', Style::new(), 1); indent];
    let mut lines = Vec::new();
    let mut cur: Vec<(char, Style, usize)> = Vec::new();
    let mut cur_w = 0;
    for (c, style, w) in cells {
        while cur_w + w > width && cur_w > indent {
            // Break after the last space past the indent, else mid-word.
            // A space that overflows is itself the break: end the line here.
            let mut before = 0;
            let mut space = None;
            for (i, &(ch, _, cw)) in cur.iter().enumerate() {
                if ch == ' ' && before >= indent && c != ' ' {
                    space = Some(i);
                }
                before += cw;
            }
            let rest = match space {
                Some(i) => {
                    let rest = cur.split_off(i + 1);
                    cur.pop();
                    rest
                }
                None => Vec::new(),
            };
            lines.push(styled_line(&cur));
            cur = blank();
            cur.extend(rest);
            cur_w = cur.iter().map(|&(_, _, cw)| cw).sum();
        }
        // A continuation line does not start with the space it broke at.
        if c == ' ' && !lines.is_empty() && cur_w == indent {
            continue;
        }
        cur.push((c, style, w));
        cur_w += w;
    }
    lines.push(styled_line(&cur));
    lines
}

fn width_of_char(c: char, buf: &mut [u8; 4]) -> usize {
    width(c.encode_utf8(buf))
}

/// Groups runs of equally styled characters back into spans.
fn styled_line(cells: &[(char, Style, usize)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for &(c, s, _) in cells {
        if style.is_some_and(|st| st != s) {
            spans.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(s);
        text.push(c);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, style.unwrap_or_default()));
    }
    Line::from(spans)
}

/// Milliseconds for people: one decimal while it matters.
pub fn millis(ms: f64) -> String {
    if !ms.is_finite() {
        "?".to_string()
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The status cell: a symbol and a word, readable without colour.
pub fn status_word(lang: Lang, row: &Row) -> &'static str {
    let msg = match &row.state {
        RowState::Pending => Msg::StatusWaiting,
        RowState::Running => Msg::StatusTesting,
        RowState::Finished(m) if m.is_reachable() => Msg::StatusWorks,
        RowState::Finished(m) if m.verdict == Verdict::Unverified => Msg::StatusFront,
        RowState::Finished(_) => Msg::StatusFailed,
    };
    tr(lang, msg)
}

/// Columns the widest status word of `lang` takes.
pub fn status_width(lang: Lang) -> usize {
    [
        Msg::StatusWaiting,
        Msg::StatusTesting,
        Msg::StatusWorks,
        Msg::StatusFront,
        Msg::StatusFailed,
    ]
    .iter()
    .map(|&m| width(tr(lang, m)))
    .max()
    .unwrap_or(0)
}

/// The Why cell: why a failure failed and where, what a success noted,
/// how far a running probe got.
pub fn why(lang: Lang, row: &Row, short: bool) -> String {
    match &row.state {
        RowState::Pending => String::new(),
        RowState::Running => match row.last_step() {
            Some(step) => fill(tr(lang, Msg::AfterOp), &[("op", step.operation.as_str())]),
            None => tr(lang, Msg::Starting).to_string(),
        },
        RowState::Finished(m) => why_finished(lang, m, short),
    }
}

fn why_finished(lang: Lang, m: &Measurement, short: bool) -> String {
    if m.is_reachable() {
        return m.notes.first().cloned().unwrap_or_default();
    }
    if m.verdict == Verdict::Unverified {
        return diagnosis_phrase(lang, m.diagnosis, short).to_string();
    }
    // A failed verdict should never carry `ok`; fall back to the raw
    // failure string rather than claim it works.
    let phrase = match (m.diagnosis, &m.failure) {
        (Diagnosis::Ok, Some(f)) => f.to_string(),
        (Diagnosis::Ok, None) => tr(lang, Msg::Failed).to_string(),
        (d, _) => diagnosis_phrase(lang, d, short).to_string(),
    };
    match (short, m.failed_operation) {
        (false, Some(op)) => fill(
            tr(lang, Msg::PhraseAtOp),
            &[("phrase", &phrase), ("op", op.as_str())],
        ),
        _ => phrase,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_truncates_by_width() {
        assert_eq!(fit("hello", 5), "hello");
        assert_eq!(fit("hello", 4), "hel…");
        assert_eq!(fit("hello", 1), "…");
        assert_eq!(fit("hello", 0), "");
        assert_eq!(fit("a\u{1b}[2Jb", 10), "a [2Jb");
        // Wide characters are two columns each.
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad_left("ab", 4), "  ab");
        assert_eq!(pad_left("abcdef", 4), "abc…");
    }

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wrap_keeps_indent_and_words() {
        let spans = [
            Span::raw("Why  "),
            Span::styled("sni", Style::new().bold()),
            Span::raw(" blocked by server name here"),
        ];
        let lines = wrap_spans(&spans, 16, 5);
        assert_eq!(
            plain(&lines),
            ["Why  sni blocked", "     by server", "     name here"]
        );
        // Styles survive the regrouping.
        assert_eq!(lines[0].spans[1].style, Style::new().bold());
        // Words longer than the line break mid-word; nothing is lost.
        let lines = wrap_spans(&[Span::raw("ab abcdefghijkl")], 6, 2);
        assert_eq!(plain(&lines), ["ab", "  abcd", "  efgh", "  ijkl"]);
        // No room: one line, left for the area to clip.
        assert_eq!(wrap_spans(&[Span::raw("abc def")], 2, 2).len(), 1);
        assert_eq!(plain(&wrap_spans(&[], 10, 2)), [""]);
    }

    #[test]
    fn millis_formats() {
        assert_eq!(millis(23.44), "23.4 ms");
        assert_eq!(millis(1234.6), "1235 ms");
        assert_eq!(millis(f64::NAN), "?");
    }
}
