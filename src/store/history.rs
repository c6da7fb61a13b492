//! Output of the `history` command: the runs list and, per endpoint, how it
//! fared run after run.

use std::collections::HashMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{EndpointHistoryRow, RunSummary};
use crate::measurement::Verdict;
use crate::run::RunMeta;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryFormat {
    Table,
    Json,
    Csv,
}

/// Longest timeline shown in the table; older runs are elided.
const TIMELINE_MAX: usize = 40;
const LABEL_MAX: usize = 32;
const NETWORK_MAX: usize = 40;

/// CSV column names; changing them is a format change.
pub const CSV_COLUMNS: [&str; 11] = [
    "kind",
    "label",
    "run_id",
    "run_started_at",
    "network_label",
    "country",
    "asn",
    "start_time",
    "verdict",
    "diagnosis",
    "latency_ms",
];

/// Writes `runs` (from [`super::Store::run_summaries`]) and `rows` (from
/// [`super::Store::endpoint_history`]) in `format`.
pub fn render_history(
    runs: &[RunSummary],
    rows: &[EndpointHistoryRow],
    format: HistoryFormat,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        HistoryFormat::Table => table(runs, rows, out),
        HistoryFormat::Json => json(runs, rows, out),
        HistoryFormat::Csv => csv(runs, rows, out),
    }
}

fn json(runs: &[RunSummary], rows: &[EndpointHistoryRow], out: &mut impl Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        runs: &'a [RunSummary],
        endpoints: &'a [EndpointHistoryRow],
    }
    serde_json::to_writer_pretty(
        &mut *out,
        &Doc {
            runs,
            endpoints: rows,
        },
    )
    .map_err(io::Error::other)?;
    writeln!(out)
}

fn csv(runs: &[RunSummary], rows: &[EndpointHistoryRow], out: &mut impl Write) -> io::Result<()> {
    let by_id: HashMap<i64, &RunMeta> = runs
        .iter()
        .filter_map(|r| Some((r.meta.id?, &r.meta)))
        .collect();
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for row in rows {
        for p in &row.results {
            let run = by_id.get(&p.run_id);
            let net = run.map(|r| &r.network);
            w.write_record([
                row.kind.as_str(),
                &row.label,
                &p.run_id.to_string(),
                run.map(|r| r.started_at.as_str()).unwrap_or(""),
                net.and_then(|n| n.label.as_deref()).unwrap_or(""),
                net.and_then(|n| n.country.as_deref()).unwrap_or(""),
                &net.and_then(|n| n.asn)
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                &p.start_time,
                verdict_code(p.verdict),
                p.diagnosis.as_str(),
                &p.latency_ms.map(|l| format!("{l:.1}")).unwrap_or_default(),
            ])?;
        }
    }
    w.flush()
}

fn verdict_code(v: Verdict) -> &'static str {
    match v {
        Verdict::Reachable => "reachable",
        Verdict::Unverified => "unverified",
        Verdict::Failed => "failed",
    }
}

fn table(runs: &[RunSummary], rows: &[EndpointHistoryRow], out: &mut impl Write) -> io::Result<()> {
    if runs.is_empty() {
        return writeln!(out, "No runs recorded (for this filter).");
    }
    writeln!(out, "Runs")?;
    let networks: Vec<String> = runs.iter().map(|r| network_text(&r.meta)).collect();
    let net_width = networks
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max("NETWORK".len());
    let id_width = runs
        .iter()
        .map(|r| r.meta.id.unwrap_or(0).to_string().len())
        .max()
        .unwrap_or(0)
        .max(2);
    writeln!(
        out,
        "  {:>id_width$}  {:<16}  {:<net_width$}  {:>6}  {:>9}",
        "ID", "STARTED (UTC)", "NETWORK", "TESTED", "REACHABLE"
    )?;
    for (r, net) in runs.iter().zip(&networks) {
        writeln!(
            out,
            "  {:>id_width$}  {:<16}  {:<net_width$}  {:>6}  {:>9}",
            r.meta.id.map(|i| i.to_string()).unwrap_or_default(),
            short_time(&r.meta.started_at),
            net,
            r.tested,
            r.reachable
        )?;
    }
    if rows.is_empty() {
        return Ok(());
    }

    // Timeline columns follow the runs list; older runs beyond the limit
    // are elided so a long history still fits a terminal.
    let shown = &runs[runs.len().saturating_sub(TIMELINE_MAX)..];
    let elided = runs.len() > shown.len();
    let column: HashMap<i64, usize> = shown
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((r.meta.id?, i)))
        .collect();
    let labels: Vec<String> = rows.iter().map(|r| clip(&r.label, LABEL_MAX)).collect();
    let label_width = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max("ENDPOINT".len());
    let timeline_width = (shown.len() + usize::from(elided)).max("HISTORY".len());

    writeln!(out)?;
    writeln!(
        out,
        "Endpoints (runs oldest to newest: ✔ reachable, ✘ failed, · not tested)"
    )?;
    writeln!(
        out,
        "  {:<4}  {:<label_width$}  {:<timeline_width$}  {:>7}  LAST",
        "KIND", "ENDPOINT", "HISTORY", "WORKED"
    )?;
    for (row, label) in rows.iter().zip(&labels) {
        let mut cells: Vec<Option<bool>> = vec![None; shown.len()];
        for p in &row.results {
            if let Some(&i) = column.get(&p.run_id) {
                // One endpoint tested twice in a run counts as working if
                // either attempt did.
                let ok = p.verdict == Verdict::Reachable;
                cells[i] = Some(cells[i].unwrap_or(false) || ok);
            }
        }
        let mut timeline = String::new();
        if elided {
            timeline.push('…');
        }
        timeline.extend(cells.iter().map(|c| match c {
            Some(true) => '✔',
            Some(false) => '✘',
            None => '·',
        }));
        let worked = row
            .results
            .iter()
            .filter(|p| p.verdict == Verdict::Reachable)
            .count();
        let last = row
            .results
            .last()
            .map(|p| match p.latency_ms {
                Some(ms) if p.verdict == Verdict::Reachable => {
                    format!("{} {ms:.0} ms", p.diagnosis)
                }
                _ => p.diagnosis.to_string(),
            })
            .unwrap_or_default();
        let pad = timeline_width.saturating_sub(timeline.chars().count());
        writeln!(
            out,
            "  {:<4}  {:<label_width$}  {timeline}{:pad$}  {:>7}  {last}",
            row.kind.display_name(),
            label,
            "",
            format!("{worked}/{}", row.results.len()),
        )?;
    }
    Ok(())
}

/// `2024-05-01T10:00:00.000Z` as `2024-05-01 10:00`; anything else as is.
fn short_time(t: &str) -> String {
    match (t.get(..10), t.get(11..16)) {
        (Some(date), Some(hm)) if t.as_bytes().get(10) == Some(&b'T') => format!("{date} {hm}"),
        _ => clip(t, 16),
    }
}

fn network_text(meta: &RunMeta) -> String {
    let n = &meta.network;
    let mut parts: Vec<String> = Vec::new();
    if let Some(l) = &n.label {
        parts.push(l.clone());
    }
    if let Some(c) = &n.country {
        parts.push(c.clone());
    }
    match (n.asn, &n.as_name) {
        (Some(asn), Some(name)) => parts.push(format!("AS{asn} {name}")),
        (Some(asn), None) => parts.push(format!("AS{asn}")),
        (None, Some(name)) => parts.push(name.clone()),
        (None, None) => {}
    }
    if parts.is_empty() {
        return "-".to_string();
    }
    clip(&parts.join(", "), NETWORK_MAX)
}

/// At most `max` characters, control characters blanked so stored text
/// cannot drive the terminal.
fn clip(s: &str, max: usize) -> String {
    let clean = s.chars().map(|c| if c.is_control() { ' ' } else { c });
    if s.chars().count() <= max {
        clean.collect()
    } else {
        let mut out: String = clean.take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
