//! The summary: per method (endpoint kind) how many were tested, how many
//! work and the best latency, and one plain recommendation sentence.
//!
//! Recommendation rules, in order (see [`recommend_in`]):
//! 1. Nothing finished yet: say so.
//! 2. Something works: name every working method with "working of tested",
//!    best first; then every method where nothing works, with its most
//!    common diagnosis.
//! 3. Nothing works and some failure is clock skew: fix the clock first,
//!    since it breaks every TLS and Tor handshake.
//! 4. Nothing works and every failure is silent (timeout, host
//!    unreachable): a general shutdown, or this device is offline.
//! 5. Nothing works and some failures are active interference (reset, SNI,
//!    DNS poisoning, identity mismatch, ...): targeted blocking.
//! 6. Otherwise: nothing works, see each row.
//!
//! Control results ([`crate::controls`]), when there are any, replace the
//! guesswork of rules 4 and 5 (see [`recommend_with`]): all controls
//! silent → the network is down; a domestic host answers, no foreign one →
//! international traffic is cut; foreign hosts reset or intercepted →
//! filtered; a foreign host works → the internet is up, so failing methods
//! are blocked on purpose (also said after rule 2's list of failures).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::catalog::EndpointKind;
use crate::controls::{Control, ControlResult, Reading, Scope};
use crate::measurement::{Diagnosis, Measurement, Verdict};

use super::app::{App, RowState};
use super::i18n::{Lang, Msg, diagnosis_phrase, fill, kind_name, tr};
use super::text::{fit, millis, wrap_spans};
use super::theme::Theme;

/// From this size the summary is a bordered panel; below it, two lines.
pub const PANEL_MIN_WIDTH: u16 = 80;
pub const PANEL_MIN_HEIGHT: u16 = 24;
/// Below this height the summary takes one line; below the next, none.
const TWO_LINES_MIN_HEIGHT: u16 = 12;
/// From this height a narrow screen wraps the recommendation onto up to
/// `NARROW_REC_MAX` lines: its conclusion comes last and must not be cut.
const WRAP_MIN_HEIGHT: u16 = 18;
const NARROW_REC_MAX: usize = 3;
const ONE_LINE_MIN_HEIGHT: u16 = 7;
/// The panel never grows past this many lines of text.
const PANEL_TEXT_MAX: usize = 5;

/// One method's tally.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MethodStats {
    pub kind: EndpointKind,
    /// Endpoints of this kind in the scan.
    pub listed: usize,
    /// Finished measurements.
    pub tested: usize,
    pub working: usize,
    /// Lowest latency among the working ones.
    pub best_ms: Option<f64>,
}

/// Stats for each kind that appears in `listed` kinds or measurements,
/// in kind order.
pub fn method_stats(listed: &[EndpointKind], measurements: &[Measurement]) -> Vec<MethodStats> {
    let mut kinds: Vec<EndpointKind> = listed
        .iter()
        .copied()
        .chain(measurements.iter().map(|m| m.endpoint.kind))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
        .into_iter()
        .map(|kind| {
            let mine = measurements.iter().filter(|m| m.endpoint.kind == kind);
            let working = mine.clone().filter(|m| m.is_reachable());
            MethodStats {
                kind,
                listed: listed.iter().filter(|&&k| k == kind).count(),
                tested: mine.count(),
                working: working.clone().count(),
                best_ms: working
                    .filter_map(|m| m.latency_ms)
                    .filter(|l| l.is_finite())
                    .min_by(f64::total_cmp),
            }
        })
        .collect()
}

/// The recommendation in English.
pub fn recommend(measurements: &[Measurement]) -> String {
    recommend_in(Lang::En, measurements)
}

/// How a failure bears on the recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    /// Nothing answered: fits an outage as well as a block.
    Silent,
    /// Someone interfered on the path: fits only deliberate blocking.
    Active,
    Other,
}

fn evidence(d: Diagnosis) -> Evidence {
    match d {
        // No answer to a signed VPN request fits an outage as well.
        Diagnosis::Timeout | Diagnosis::HostUnreachable | Diagnosis::NoResponse => Evidence::Silent,
        Diagnosis::ConnectionReset
        | Diagnosis::SniFiltered
        | Diagnosis::DnsPoisoned
        | Diagnosis::IpBlocked
        | Diagnosis::CertificateInvalid
        | Diagnosis::LyingResolver
        | Diagnosis::IdentityMismatch
        | Diagnosis::Stalled => Evidence::Active,
        _ => Evidence::Other,
    }
}

/// The recommendation sentence in `lang` without control results; the
/// rules are in the module docs.
pub fn recommend_in(lang: Lang, measurements: &[Measurement]) -> String {
    recommend_with(lang, measurements, None)
}

/// The recommendation sentence in `lang`, using what the controls say
/// (`None`: no controls, or not settled yet).
pub fn recommend_with(
    lang: Lang,
    measurements: &[Measurement],
    controls: Option<Reading>,
) -> String {
    if measurements.is_empty() {
        return tr(lang, Msg::RecNoResults).to_string();
    }
    let stats = method_stats(&[], measurements);
    let mut working: Vec<&MethodStats> = stats.iter().filter(|s| s.working > 0).collect();
    if !working.is_empty() {
        // Most working first; equal counts by speed, then kind order.
        working.sort_by(|a, b| {
            b.working
                .cmp(&a.working)
                .then_with(|| match (a.best_ms, b.best_ms) {
                    (Some(x), Some(y)) => x.total_cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
        });
        let list: Vec<String> = working
            .iter()
            .map(|s| {
                fill(
                    tr(lang, Msg::RecCount),
                    &[
                        ("name", kind_name(lang, s.kind)),
                        ("ok", &s.working.to_string()),
                        ("n", &s.tested.to_string()),
                    ],
                )
            })
            .collect();
        let mut out = fill(tr(lang, Msg::RecWorks), &[("list", &list.join(", "))]);
        let broken: Vec<String> = stats
            .iter()
            .filter(|s| s.working == 0 && s.tested > 0)
            // Kinds whose fronts answer get their own sentence.
            .filter(|s| {
                !measurements
                    .iter()
                    .any(|m| m.endpoint.kind == s.kind && m.verdict == Verdict::Unverified)
            })
            .map(|s| {
                let cause = dominant(measurements.iter().filter(|m| m.endpoint.kind == s.kind));
                match cause {
                    Some(d) => format!(
                        "{} ({})",
                        kind_name(lang, s.kind),
                        diagnosis_phrase(lang, d, true)
                    ),
                    None => kind_name(lang, s.kind).to_string(),
                }
            })
            .collect();
        if !broken.is_empty() {
            out.push_str(&fill(
                tr(lang, Msg::RecNotWorking),
                &[("list", &broken.join(", "))],
            ));
            if controls == Some(Reading::InternetUp) {
                out.push_str(tr(lang, Msg::RecCtlBlockedSome));
            }
        }
        out.push_str(&fronts_sentence(lang, measurements));
        return out;
    }
    let fronts = fronts_sentence(lang, measurements);
    if !fronts.is_empty() {
        return format!("{}{fronts}", tr(lang, Msg::RecNothing));
    }
    let diagnoses: Vec<Diagnosis> = measurements.iter().map(|m| m.diagnosis).collect();
    if diagnoses.contains(&Diagnosis::ClockSkew) {
        return tr(lang, Msg::RecClock).to_string();
    }
    match controls {
        Some(Reading::NetworkDown) => return tr(lang, Msg::RecCtlDown).to_string(),
        Some(Reading::InternationalCut) => return tr(lang, Msg::RecCtlCut).to_string(),
        Some(Reading::Filtered) => return tr(lang, Msg::RecCtlFiltered).to_string(),
        Some(Reading::InternetUp) => {
            return fill(
                tr(lang, Msg::RecCtlUp),
                &[("causes", &common_causes(lang, measurements).join(", "))],
            );
        }
        None => {}
    }
    if diagnoses.iter().all(|&d| evidence(d) == Evidence::Silent) {
        return tr(lang, Msg::RecShutdown).to_string();
    }
    let active: Vec<Diagnosis> = diagnoses
        .iter()
        .copied()
        .filter(|&d| evidence(d) == Evidence::Active)
        .collect();
    if active.is_empty() {
        return tr(lang, Msg::RecNothing).to_string();
    }
    let mut causes: Vec<&str> = Vec::new();
    for &d in &active {
        let phrase = diagnosis_phrase(lang, d, true);
        if !causes.contains(&phrase) {
            causes.push(phrase);
        }
    }
    fill(
        tr(lang, Msg::RecTargeted),
        &[
            ("k", &active.len().to_string()),
            ("n", &diagnoses.len().to_string()),
            ("causes", &causes.join(", ")),
        ],
    )
}

/// " Servers answer but their login is unchecked: VLESS links (2)…", or
/// nothing when no proxy front answered.
fn fronts_sentence(lang: Lang, measurements: &[Measurement]) -> String {
    let mut kinds: Vec<(EndpointKind, usize)> = Vec::new();
    for m in measurements
        .iter()
        .filter(|m| m.verdict == Verdict::Unverified)
    {
        match kinds.iter_mut().find(|(k, _)| *k == m.endpoint.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((m.endpoint.kind, 1)),
        }
    }
    if kinds.is_empty() {
        return String::new();
    }
    kinds.sort();
    let list: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!("{} ({n})", kind_name(lang, *k)))
        .collect();
    fill(tr(lang, Msg::RecFronts), &[("list", &list.join(", "))])
}

/// The short phrases of the failures' diagnoses, most common first (at
/// most three).
fn common_causes(lang: Lang, ms: &[Measurement]) -> Vec<&'static str> {
    let mut counts: Vec<(Diagnosis, usize)> = Vec::new();
    for m in ms.iter().filter(|m| m.verdict == Verdict::Failed) {
        match counts.iter_mut().find(|(d, _)| *d == m.diagnosis) {
            Some((_, n)) => *n += 1,
            None => counts.push((m.diagnosis, 1)),
        }
    }
    // Stable: equal counts keep the order first seen.
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let mut out: Vec<&'static str> = Vec::new();
    for (d, _) in counts {
        let phrase = diagnosis_phrase(lang, d, true);
        if !out.contains(&phrase) && out.len() < 3 {
            out.push(phrase);
        }
    }
    out
}

/// "Controls: domestic ✔ 12 ms · foreign ✘ timeout", one item per scope
/// that has controls: ✔ and the best latency when one works, ✘ and the
/// most common failure when all failed, … while any is still running.
pub fn controls_text(lang: Lang, controls: &[(Control, Option<ControlResult>)]) -> Option<String> {
    if controls.is_empty() {
        return None;
    }
    let mut items = Vec::new();
    for scope in [Scope::Domestic, Scope::Foreign] {
        let mine: Vec<Option<&ControlResult>> = controls
            .iter()
            .filter(|(c, _)| c.scope == scope)
            .map(|(_, r)| r.as_ref())
            .collect();
        if mine.is_empty() {
            continue;
        }
        let name = tr(
            lang,
            match scope {
                Scope::Domestic => Msg::ScopeDomestic,
                Scope::Foreign => Msg::ScopeForeign,
            },
        );
        let best = mine
            .iter()
            .flatten()
            .filter(|r| r.ok)
            .filter_map(|r| r.latency_ms)
            .filter(|l| l.is_finite())
            .min_by(f64::total_cmp);
        let any_ok = mine.iter().flatten().any(|r| r.ok);
        let item = if any_ok {
            match best {
                Some(ms) => format!("{name} ✔ {}", whole_ms(ms)),
                None => format!("{name} ✔"),
            }
        } else if mine.iter().any(Option::is_none) {
            format!("{name} …")
        } else {
            let mut counts: Vec<(Diagnosis, usize)> = Vec::new();
            for r in mine.iter().flatten() {
                let d = r.diagnosis();
                match counts.iter_mut().find(|(x, _)| *x == d) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((d, 1)),
                }
            }
            let max = counts.iter().map(|&(_, n)| n).max().unwrap_or(0);
            match counts.into_iter().find(|&(_, n)| n == max) {
                Some((d, _)) => format!("{name} ✘ {}", diagnosis_phrase(lang, d, true)),
                None => format!("{name} ✘"),
            }
        };
        items.push(item);
    }
    Some(format!(
        "{} {}",
        tr(lang, Msg::ControlsLegend),
        items.join(" · ")
    ))
}

/// "12 ms": controls are a yes/no signal, tenths would be noise.
fn whole_ms(ms: f64) -> String {
    format!("{} ms", ms.round())
}

/// The most common diagnosis among failures; ties go to the first seen.
fn dominant<'a>(ms: impl Iterator<Item = &'a Measurement>) -> Option<Diagnosis> {
    let mut counts: Vec<(Diagnosis, usize)> = Vec::new();
    for m in ms.filter(|m| m.verdict == Verdict::Failed) {
        match counts.iter_mut().find(|(d, _)| *d == m.diagnosis) {
            Some((_, n)) => *n += 1,
            None => counts.push((m.diagnosis, 1)),
        }
    }
    let max = counts.iter().map(|&(_, n)| n).max()?;
    counts.into_iter().find(|&(_, n)| n == max).map(|(d, _)| d)
}

/// "✔ DoH 1/2 23.4 ms": symbol and numbers, so it reads without colour.
/// `✔` some work, `✘` tested and none work, `…` nothing finished yet.
pub fn method_item(s: &MethodStats) -> String {
    let symbol = if s.working > 0 {
        "✔"
    } else if s.tested > 0 {
        "✘"
    } else {
        "…"
    };
    let mut out = format!(
        "{symbol} {} {}/{}",
        s.kind.display_name(),
        s.working,
        s.tested
    );
    if let Some(ms) = s.best_ms {
        out.push(' ');
        out.push_str(&millis(ms));
    }
    out
}

/// The app's stats: listed kinds from every row, finished measurements.
fn app_stats(app: &App) -> (Vec<MethodStats>, Vec<Measurement>) {
    let listed: Vec<EndpointKind> = app.rows().iter().map(|r| r.info.kind).collect();
    let ms: Vec<Measurement> = app
        .rows()
        .iter()
        .filter_map(|r| match &r.state {
            RowState::Finished(m) => Some((**m).clone()),
            _ => None,
        })
        .collect();
    (method_stats(&listed, &ms), ms)
}

/// What the summary shows, worked out once per frame: both the layout
/// ([`height`]) and the drawing ([`render`]) need it.
#[derive(Debug, Clone)]
pub struct Digest {
    stats: Vec<MethodStats>,
    rec: String,
}

pub fn digest(app: &App) -> Digest {
    let (stats, ms) = app_stats(app);
    let rec = recommend_with(app.lang(), &ms, app.control_reading());
    Digest { stats, rec }
}

/// Lines the summary takes in a terminal of `area`, given the content.
pub fn height(area: Rect, app: &App, d: &Digest) -> u16 {
    if app.rows().is_empty() || area.height < ONE_LINE_MIN_HEIGHT {
        return 0;
    }
    if area.width >= PANEL_MIN_WIDTH && area.height >= PANEL_MIN_HEIGHT {
        let inner = usize::from(area.width.saturating_sub(4));
        let n = panel_lines(app, d, inner, &Theme::plain())
            .len()
            .min(PANEL_TEXT_MAX);
        return u16::try_from(n).unwrap_or(0).saturating_add(2);
    }
    if area.height >= WRAP_MIN_HEIGHT {
        let width = usize::from(area.width);
        let n = narrow_rec_lines(&d.rec, width, NARROW_REC_MAX, &Theme::plain()).len();
        let controls = u16::from(!app.controls().is_empty());
        return u16::try_from(n)
            .unwrap_or(0)
            .saturating_add(1)
            .saturating_add(controls);
    }
    if area.height >= TWO_LINES_MIN_HEIGHT {
        2
    } else {
        1
    }
}

/// The recommendation wrapped for a narrow screen onto at most `max`
/// lines, the last one cut with an ellipsis.
fn narrow_rec_lines(rec: &str, width: usize, max: usize, theme: &Theme) -> Vec<Line<'static>> {
    let wrapped = wrap_spans(&[Span::raw(rec.to_string())], width, 0);
    let texts: Vec<String> = wrapped.iter().map(ToString::to_string).collect();
    let keep = max.max(1).min(texts.len());
    let mut lines: Vec<Line<'static>> = texts[..keep.saturating_sub(1)]
        .iter()
        .map(|t| Line::styled(t.clone(), theme.label()))
        .collect();
    // Wrapping drops only the space at each break, so joining with one
    // restores the text of everything that did not fit.
    let last = texts[keep.saturating_sub(1)..].join(" ");
    lines.push(Line::styled(fit(&last, width), theme.label()));
    lines
}

fn panel_lines(app: &App, d: &Digest, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let lang = app.lang();
    let mut lines = wrap_spans(&[Span::styled(d.rec.clone(), theme.label())], width, 0);
    let mut spans = vec![Span::styled(
        tr(lang, Msg::MethodsLegend).to_string(),
        theme.muted(),
    )];
    for s in &d.stats {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(method_item(s), method_style(s, theme)));
    }
    lines.extend(wrap_spans(&spans, width, 2));
    if let Some(text) = controls_text(lang, app.controls()) {
        lines.extend(wrap_spans(&[Span::styled(text, theme.muted())], width, 2));
    }
    lines
}

fn method_style(s: &MethodStats, theme: &Theme) -> ratatui::style::Style {
    if s.working > 0 {
        theme.reachable()
    } else if s.tested > 0 {
        theme.failed()
    } else {
        theme.pending()
    }
}

/// Draws the summary into `area` (sized by [`height`]).
pub fn render(frame: &mut Frame, area: Rect, app: &App, d: &Digest, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    if area.height >= 3 && area.width >= PANEL_MIN_WIDTH {
        let block = Block::bordered()
            .title(tr(app.lang(), Msg::SummaryTitle))
            .padding(ratatui::widgets::Padding::horizontal(1));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let lines = panel_lines(app, d, usize::from(inner.width), theme);
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let width = usize::from(area.width);
    // From three lines up, the last one is the controls' line (if any).
    let controls = (area.height >= 3)
        .then(|| controls_text(app.lang(), app.controls()))
        .flatten();
    // Then the method tally; a one-line area shows only the (cut)
    // recommendation.
    let room = usize::from(area.height)
        .saturating_sub(1 + usize::from(controls.is_some()))
        .max(1);
    let mut lines = narrow_rec_lines(&d.rec, width, room.min(NARROW_REC_MAX), theme);
    let mut spans = Vec::new();
    for s in &d.stats {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", theme.muted()));
        }
        spans.push(Span::styled(method_item(s), method_style(s, theme)));
    }
    lines.push(Line::from(spans));
    if let Some(text) = controls {
        lines.push(Line::styled(fit(&text, width), theme.muted()));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Origin;
    use crate::measurement::{EndpointInfo, SCHEMA_VERSION, Verdict};

    fn m(kind: EndpointKind, diagnosis: Diagnosis, latency: Option<f64>) -> Measurement {
        let ok = diagnosis == Diagnosis::Ok;
        Measurement {
            schema_version: SCHEMA_VERSION,
            id: 0,
            endpoint: EndpointInfo {
                kind,
                label: "x".into(),
                address: "x".into(),
                origin: Origin::Builtin,
            },
            start_time: String::new(),
            runtime: 0.1,
            steps: Vec::new(),
            verdict: if ok {
                Verdict::Reachable
            } else {
                Verdict::Failed
            },
            diagnosis,
            failure: None,
            failed_operation: None,
            latency_ms: latency,
            notes: Vec::new(),
            data_test: None,
            clock_skew_s: None,
            bootstrap: None,
        }
    }

    use Diagnosis as D;
    use EndpointKind as K;

    #[test]
    fn working_methods_first_then_what_fails_and_why() {
        let mut ms = vec![m(K::Tor, D::ConnectionReset, None); 2];
        ms.push(m(K::Tor, D::Timeout, None));
        ms.extend([
            m(K::Obfs4, D::Ok, Some(80.0)),
            m(K::Obfs4, D::Ok, Some(40.0)),
            m(K::Obfs4, D::Ok, None),
            m(K::Obfs4, D::PtHandshakeFailed, None),
            m(K::Doh, D::ConnectionReset, None),
            m(K::Dot, D::Ok, Some(10.0)),
        ]);
        assert_eq!(
            recommend(&ms),
            "Works here: obfs4 bridges (3 of 4), DoT (1 of 1). \
             Not working: DoH (reset), vanilla Tor bridges (reset)."
        );
        // Equal counts: the faster method first.
        let ms = [m(K::Doh, D::Ok, Some(50.0)), m(K::Dot, D::Ok, Some(5.0))];
        assert_eq!(recommend(&ms), "Works here: DoT (1 of 1), DoH (1 of 1).");
    }

    #[test]
    fn nothing_works_shutdown_versus_targeted() {
        assert_eq!(recommend(&[]), "No results yet: testing…");
        let silent = [
            m(K::Doh, D::Timeout, None),
            m(K::Obfs4, D::HostUnreachable, None),
        ];
        assert!(recommend(&silent).contains("general shutdown"));
        let targeted = [
            m(K::Doh, D::Timeout, None),
            m(K::Dot, D::SniFiltered, None),
            m(K::Tor, D::IdentityMismatch, None),
            m(K::Tor, D::IdentityMismatch, None),
        ];
        assert_eq!(
            recommend(&targeted),
            "Nothing tested works from here: 3 of 4 were actively blocked \
             (SNI blocked, wrong identity) — this looks like targeted blocking; \
             try other bridges or transports."
        );
        let clock = [m(K::Tor, D::ClockSkew, None), m(K::Doh, D::Timeout, None)];
        assert!(recommend(&clock).contains("clock is wrong"));
        let other = [m(K::Obfs4, D::PtMissing, None), m(K::Doh, D::Timeout, None)];
        assert_eq!(
            recommend(&other),
            "Nothing tested works from here; each row says why."
        );
    }

    #[test]
    fn recommendation_in_other_languages() {
        let ms = [
            m(K::Obfs4, D::Ok, Some(1.0)),
            m(K::Tor, D::ConnectionReset, None),
        ];
        assert_eq!(
            recommend_in(Lang::Ru, &ms),
            "Здесь работают: мосты obfs4 (1 из 1). Не работают: обычные мосты Tor (сброс)."
        );
        assert!(
            recommend_in(Lang::Kk, &ms).starts_with("Мұнда істейді: obfs4 көпірлері (1 ішінен 1).")
        );
    }

    #[test]
    fn stats_per_kind() {
        let ms = [
            m(K::Doh, D::Ok, Some(30.0)),
            m(K::Doh, D::Ok, Some(f64::NAN)),
            m(K::Doh, D::Timeout, None),
            m(K::Obfs4, D::Timeout, None),
        ];
        let stats = method_stats(&[K::Doh, K::Doh, K::Doh, K::Obfs4, K::Snowflake], &ms);
        assert_eq!(stats.len(), 3);
        assert_eq!(
            stats[0],
            MethodStats {
                kind: K::Doh,
                listed: 3,
                tested: 3,
                working: 2,
                best_ms: Some(30.0)
            }
        );
        assert_eq!(method_item(&stats[0]), "✔ DoH 2/3 30.0 ms");
        assert_eq!(method_item(&stats[1]), "✘ obfs4 0/1");
        assert_eq!(method_item(&stats[2]), "… snowflake 0/0");
    }

    fn control(
        scope: Scope,
        ok: bool,
        failure: Option<crate::measurement::Failure>,
    ) -> (Control, Option<ControlResult>) {
        let c = Control::tcp(scope, "192.0.2.1:443".parse().unwrap());
        let r = ControlResult {
            control: c.clone(),
            ok,
            latency_ms: ok.then_some(12.3),
            failure,
            detail: None,
        };
        (c, Some(r))
    }

    #[test]
    fn controls_line_per_scope() {
        use crate::measurement::Failure as F;
        assert_eq!(controls_text(Lang::En, &[]), None);
        let mut cs = vec![
            control(Scope::Domestic, true, None),
            control(Scope::Foreign, false, Some(F::GenericTimeout)),
            control(Scope::Foreign, false, Some(F::GenericTimeout)),
        ];
        assert_eq!(
            controls_text(Lang::En, &cs).as_deref(),
            Some("Controls: domestic ✔ 12 ms · foreign ✘ timeout")
        );
        cs[1].1 = None;
        assert_eq!(
            controls_text(Lang::En, &cs).as_deref(),
            Some("Controls: domestic ✔ 12 ms · foreign …")
        );
        assert_eq!(
            controls_text(Lang::Ru, &cs[..1]).as_deref(),
            Some("Контроль: внутри страны ✔ 12 ms")
        );
    }

    #[test]
    fn controls_decide_outage_versus_blocking() {
        let silent = [m(K::Doh, D::Timeout, None), m(K::Obfs4, D::Timeout, None)];
        // Without controls: the old guess.
        assert!(recommend_with(Lang::En, &silent, None).contains("general shutdown"));
        let down = recommend_with(Lang::En, &silent, Some(Reading::NetworkDown));
        assert!(
            down.contains(
                "the network itself looks down here (even the control hosts do not answer)"
            ),
            "{down}"
        );
        let cut = recommend_with(Lang::En, &silent, Some(Reading::InternationalCut));
        assert!(
            cut.contains(
                "international traffic looks cut — a domestic host answers, foreign ones do not"
            ),
            "{cut}"
        );
        // Timeouts everywhere while the internet works: deliberate.
        let up = recommend_with(Lang::En, &silent, Some(Reading::InternetUp));
        assert_eq!(
            up,
            "Nothing tested works, but the internet works here (a foreign control host \
             answers), so the failing methods are blocked on purpose (timeout); try other \
             bridges or transports."
        );
        let filtered = recommend_with(Lang::En, &silent, Some(Reading::Filtered));
        assert!(filtered.contains("blocked on purpose"), "{filtered}");
        // Something works: the per-method sentence, and why the rest fail.
        let mixed = [
            m(K::Obfs4, D::Ok, Some(1.0)),
            m(K::Tor, D::ConnectionReset, None),
        ];
        assert_eq!(
            recommend_with(Lang::En, &mixed, Some(Reading::InternetUp)),
            "Works here: obfs4 bridges (1 of 1). Not working: vanilla Tor bridges (reset). \
             The internet works here, so the failing methods are blocked on purpose."
        );
        assert_eq!(
            recommend_with(Lang::En, &mixed, Some(Reading::NetworkDown)),
            recommend(&mixed)
        );
        // A wrong clock still comes first: it breaks the controls' TLS too.
        let clock = [m(K::Tor, D::ClockSkew, None)];
        assert!(recommend_with(Lang::En, &clock, Some(Reading::Filtered)).contains("clock"));
        for lang in [Lang::Ru, Lang::Kk] {
            for r in [
                Reading::NetworkDown,
                Reading::InternationalCut,
                Reading::Filtered,
                Reading::InternetUp,
            ] {
                let text = recommend_with(lang, &silent, Some(r));
                assert!(
                    !text.is_ascii() && !text.contains('{'),
                    "{lang:?} {r:?}: {text}"
                );
            }
        }
    }
}
