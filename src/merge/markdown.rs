//! The workshop report as Markdown (GitHub-flavoured tables).

use std::fmt::Write as _;

use super::{MergedReport, Tally, fmt_latency, fmt_working};

/// Makes text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn typical(t: &Tally) -> String {
    t.typical_failure
        .map(|d| format!("`{}` — {}", d.as_str(), d.explain()))
        .unwrap_or_else(|| "—".into())
}

pub fn render_markdown(r: &MergedReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Which ways out work, by network\n");
    let _ = write!(
        s,
        "Merged from {} file(s): {} run(s) on {} network(s)",
        r.files, r.runs, r.networks
    );
    if r.duplicate_runs > 0 {
        let _ = write!(s, "; {} duplicate run(s) counted once", r.duplicate_runs);
    }
    let _ = writeln!(
        s,
        ".\n\n**Total:** {} working ({} tested), median latency {}.\n",
        fmt_working(&r.total),
        r.total.tested,
        fmt_latency(r.total.median_latency_ms)
    );
    let _ = writeln!(s, "## By network and method\n");
    let _ = writeln!(
        s,
        "| Network | Method | Tested | Working | Median latency | Typical failure |\n\
         |---|---|---:|---:|---:|---|"
    );
    for row in &r.rows {
        let net = match &row.as_name {
            Some(n) => format!("{} ({n})", row.network.display()),
            None => row.network.display(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&net),
            row.kind.display_name(),
            row.tally.tested,
            fmt_working(&row.tally),
            fmt_latency(row.tally.median_latency_ms),
            cell(&typical(&row.tally)),
        );
    }
    let _ = writeln!(
        s,
        "| **All networks** | all | {} | {} | {} | {} |\n",
        r.total.tested,
        fmt_working(&r.total),
        fmt_latency(r.total.median_latency_ms),
        cell(&typical(&r.total)),
    );
    let _ = writeln!(s, "## By method\n");
    let _ = writeln!(
        s,
        "| Method | Tested | Working | Median latency | Typical failure |\n|---|---:|---:|---:|---|"
    );
    for (kind, t) in &r.by_method {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            kind.display_name(),
            t.tested,
            fmt_working(t),
            fmt_latency(t.median_latency_ms),
            cell(&typical(t)),
        );
    }
    s
}
